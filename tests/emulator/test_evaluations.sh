#!/usr/bin/env bash
# test_evaluations — the emulator's ModelEvaluations and training outcomes (vx_evals.c)
# and the alias rules of mergeVersionAliases (vx_models.c), through curl: import, list (paging,
# by version and by alias, newest first) and get; strict import bodies (400); unknown versions
# (404); the outcome knob (an evaluation, a metrics.json in Cloud Storage, nothing; consumed in
# order, by display name); an alias moving off its holder, "-default" refused, numeric aliases
# refused; reset clearing it all.
#
# Starts build/gcp-emulator (or $EMU_BIN) on a free loopback port and stops it on exit, even on
# failure. Prints "ok N - what" / "not ok N - what", then "1..N"; exits 1 when a check failed,
# 2 when the emulator cannot be started. Needs curl and jq.
set -u

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
EMU_BIN=${EMU_BIN:-$ROOT/${BUILD:-build}/gcp-emulator}
STATIC=evals-test-static-token
P=projects/test-project/locations/us-central1

[ -x "$EMU_BIN" ] || { echo "test_evaluations: $EMU_BIN not built (make build/gcp-emulator)" >&2; exit 2; }
for tool in curl jq; do
  command -v "$tool" >/dev/null || { echo "test_evaluations: $tool is needed" >&2; exit 2; }
done

work=$(mktemp -d "${TMPDIR:-/tmp}/test_evaluations.XXXXXX")
pid=
cleanup() {
  if [ -n "$pid" ]; then
    kill "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
  fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

: >"$work/emu.out" # before the child opens it, so the loop below never reads a missing file
EMULATOR_STATIC_TOKEN=$STATIC "$EMU_BIN" --port 0 --bind 127.0.0.1 --job-clock-ms 0 >"$work/emu.out" 2>"$work/emu.err" &
pid=$!
U=
for _ in $(seq 100); do
  U=$(sed -n 's/^gcp-emulator listening on //p' "$work/emu.out")
  [ -n "$U" ] && break
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.1
done
if [ -z "$U" ]; then
  echo "test_evaluations: the emulator did not start" >&2
  cat "$work/emu.err" >&2
  exit 2
fi

# ---- helpers ---------------------------------------------------------------------------------
n=0
failed=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1"; }
check() { # check WHAT COMMAND...: passes when the command succeeds
  local what=$1
  shift
  if "$@"; then ok "$what"; else not_ok "$what"; fi
}
eq() { [ "$1" = "$2" ] || { echo "#   got '$1', want '$2'" >&2; return 1; }; }
# req ARGS...: curl with the static token; the status on stdout, the body in $work/body.
req() { curl -s --max-time 30 -o "$work/body" -w '%{http_code}' -H "Authorization: Bearer $STATIC" "$@"; }
body() { jq -r "$1" "$work/body" 2>/dev/null; }
post() { req -X POST -H 'Content-Type: application/json' -d "$2" "$U$1"; } # PATH JSON
V=$U/v1/$P
seed() { post /emulator/vertex/models "{\"project\":\"test-project\",\"location\":\"us-central1\",\"modelId\":\"$1\",\"model\":{\"displayName\":\"$1\"}}" >/dev/null; }
pipeline() { # DISPLAY-NAME MODEL [ARTIFACT-URI]: a pipeline that makes a version of MODEL (the clock is 0: at once)
  post "/v1/$P/trainingPipelines" "{\"displayName\":\"$1\",\"trainingTaskDefinition\":\"gs://google-cloud-aiplatform/schema/trainingjob/definition/custom_task_1.0.0.yaml\",\"trainingTaskInputs\":{},\"parentModel\":\"$P/models/$2\",\"modelToUpload\":{\"displayName\":\"$2\",\"containerSpec\":{\"imageUri\":\"i\"}${3:+,\"artifactUri\":\"$3\"}}}" >/dev/null
  req "$V/$(body .name | sed "s|^$P/||")" >/dev/null
  body .modelToUpload.versionId
}

# ---- import, list, get ------------------------------------------------------------------------
seed m1
code=$(post "/v1/$P/models/m1@1/evaluations:import" '{"modelEvaluation":{"displayName":"first","metrics":{"auRoc":0.8}}}')
check "import: 200" eq "$code" 200
e1=$(body .name)
check "import: named under the model, with a numeric id" eq "$(grep -cE "^$P/models/m1/evaluations/[0-9]+\$" <<<"$e1")" 1
check "import: createTime set" eq "$(body '.createTime | test("^20[0-9-]+T")')" true
sleep 0.01
post "/v1/$P/models/m1/evaluations:import" '{"modelEvaluation":{"displayName":"second","metrics":{"auRoc":0.9}}}' >/dev/null
code=$(req "$V/models/m1@1/evaluations")
check "list: both, newest first" eq "$code $(body '[.modelEvaluations[].displayName] | join(",")')" "200 second,first"
code=$(req "$V/models/m1@default/evaluations")
check "list: by alias" eq "$code $(body '.modelEvaluations | length')" "200 2"
code=$(req "$V/models/m1/evaluations?pageSize=1")
token=$(body .nextPageToken)
check "list: a page of one, with a token" eq "$code $(body '.modelEvaluations | length') ${token:+set}" "200 1 set"
code=$(req "$V/models/m1/evaluations?pageSize=1&pageToken=$token")
check "list: the next page" eq "$code $(body '.modelEvaluations[0].displayName')" "200 first"
code=$(req "$V/models/m1/evaluations?filter=displayName%3Dx")
check "list: a filter is refused" eq "$code $(body .error.status)" "400 INVALID_ARGUMENT"
code=$(req "$U/v1/$e1")
check "get: by name" eq "$code $(body .metrics.auRoc)" "200 0.8"
code=$(req "$V/models/m1/evaluations/123")
check "get: unknown: 404" eq "$code $(body .error.status)" "404 NOT_FOUND"
code=$(req "$V/models/m1@7/evaluations")
check "list: an unknown version: 404" eq "$code $(body .error.status)" "404 NOT_FOUND"
code=$(req "$V/models/nope/evaluations")
check "list: an unknown model: 404" eq "$code" 404
code=$(post "/v1/$P/models/m1@1/evaluations:import" '{"modelEvaluation":{"metrics":{},"score":1}}')
check "import: an unknown field: 400" eq "$code $(body '.error.message | test("Unknown name \"score\"")')" "400 true"
code=$(post "/v1/$P/models/m1@1/evaluations:import" '{}')
check "import: no modelEvaluation: 400" eq "$code $(body '.error.message | test("model_evaluation")')" "400 true"
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H "Authorization: Bearer wrong" \
  -d '{"modelEvaluation":{}}' "$V/models/m1@1/evaluations:import")
check "import: without a live token: 401" eq "$code" 401
check "stats: the routes are counted" eq "$(curl -s "$U/emulator/stats" | jq -r '[.requests["models.evaluations.import"], .requests["models.evaluations.list"] > 0] | map(tostring) | join(" ")')" "4 true"

# ---- outcomes ---------------------------------------------------------------------------------
seed m2
post /emulator/vertex/outcomes '{"display_name_contains":"better","metrics":{"auRoc":0.91}}' >/dev/null
post /emulator/vertex/outcomes '{"display_name_contains":"file","metrics":{"auRoc":0.5},"write":"metrics_json"}' >/dev/null
post /emulator/vertex/outcomes '{"write":"none"}' >/dev/null
code=$(post /emulator/vertex/outcomes '{"write":"somewhere"}')
check "outcomes: an unknown write is refused" eq "$code" 400
code=$(post /emulator/vertex/outcomes '{"metrics":[1]}')
check "outcomes: metrics must be an object" eq "$code" 400
req "$U/emulator/vertex/outcomes" >/dev/null
check "outcomes: three queued, in order" eq "$(body '[.outcomes[].write] | join(",")')" "evaluation,metrics_json,none"
v=$(pipeline "train-other" m2)
check "outcome: a pipeline matching none but the open one takes it (none: no evaluation)" \
  eq "$(req "$V/models/m2@$v/evaluations" >/dev/null; body '.modelEvaluations | length')" 0
v=$(pipeline "train-better-1" m2)
req "$V/models/m2@$v/evaluations" >/dev/null
check "outcome: the better pipeline's version has its evaluation" eq "$(body '.modelEvaluations[0].metrics.auRoc')" 0.91
v=$(pipeline "train-file-2" m2 "gs://models-b/m2/run-2/")
code=$(req "$U/storage/v1/b/models-b/o/m2%2Frun-2%2Fmetrics.json?alt=media")
check "outcome: metrics.json written under the artifactUri" eq "$code $(body .auRoc)" "200 0.5"
req "$U/emulator/vertex/outcomes" >/dev/null
check "outcomes: all consumed" eq "$(body '.outcomes | length')" 0
v=$(pipeline "train-later" m2)
req "$V/models/m2@$v/evaluations" >/dev/null
check "outcome: none queued: no evaluation" eq "$(body '.modelEvaluations | length')" 0

# ---- aliases -----------------------------------------------------------------------------------
code=$(post "/v1/$P/models/m2@2:mergeVersionAliases" '{"versionAliases":["production"]}')
check "merge: an alias set" eq "$code $(body '.versionAliases | index("production") != null')" "200 true"
post "/v1/$P/models/m2@3:mergeVersionAliases" '{"versionAliases":["production"]}' >/dev/null
req "$V/models/m2@production" >/dev/null
check "merge: the alias moved off its holder" eq "$(body .versionId)" 3
req "$V/models/m2@2" >/dev/null
check "merge: the old holder lost it" eq "$(body '.versionAliases // [] | index("production")')" null
code=$(post "/v1/$P/models/m2@3:mergeVersionAliases" '{"versionAliases":["-default"]}')
check "merge: -default is refused" eq "$code" 400
code=$(post "/v1/$P/models/m2@3:mergeVersionAliases" '{"versionAliases":["12"]}')
check "merge: a numeric alias is refused" eq "$code" 400
post "/v1/$P/models/m2@3:mergeVersionAliases" '{"versionAliases":["default"]}' >/dev/null
check "merge: default moves, and stays on one version" \
  eq "$(req "$V/models/m2:listVersions" >/dev/null; body '[.models[] | select(.versionAliases // [] | index("default"))] | map(.versionId) | join(",")')" 3
code=$(post "/v1/$P/models/m2@3:mergeVersionAliases" '{"versionAliases":["-production"]}')
req "$V/models/m2@production" >/dev/null
check "merge: -alias removes it" eq "$code $(body .error.code)" "200 404"

# ---- reset -------------------------------------------------------------------------------------
curl -s -X POST "$U/emulator/reset" >/dev/null
seed m1
code=$(req "$V/models/m1/evaluations")
check "reset: the evaluations are gone" eq "$code $(body '.modelEvaluations | length')" "200 0"

echo "1..$n"
[ "$failed" -eq 0 ]
