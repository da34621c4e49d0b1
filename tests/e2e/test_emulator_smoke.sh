#!/usr/bin/env bash
# emulator_smoke — starts build/gcp-emulator on a free loopback port and checks each service
# through its REST surface with curl: the OIDC issuer (JWKS, mint, rotate, down), the metadata
# server, the OAuth JWT-bearer grant (an assertion signed here with openssl), Vertex customJobs,
# strict validation, uploads and operations, faults (by rate, path, method and route, counted per
# route), runs cancelled on the clock and by :cancel, and the notice sink (binary-mode CloudEvents
# stored, refused, failed on purpose, listed and cleared). The emulator is stopped on exit, even on
# failure (tests/e2e/lib.sh).
. "$(dirname "$0")/lib.sh"
e2e_init
EMU_BIN=$BUILD/gcp-emulator
[ -x "$EMU_BIN" ] || { echo "emulator-smoke: $EMU_BIN not built (make $EMU_BIN)" >&2; exit 2; }
work=$E2E_DIR

check() { # check NAME COMMAND... : passes when the command succeeds
  local name=$1
  shift
  if "$@" >/dev/null 2>&1; then pass "$name"; else fail "$name"; fi
}
eq() { [ "$1" = "$2" ] || { echo "  got '$1', want '$2'" >&2; return 1; }; }

# ---- command line ----------------------------------------------------------------------------
"$EMU_BIN" --help >"$work/help" 2>&1
check "--help exits 0 with usage" eq "$?/$(grep -c '^usage: gcp-emulator' "$work/help")" "0/1"
timeout 10 "$EMU_BIN" --port 0 --bind 0.0.0.0 >/dev/null 2>&1
check "non-loopback bind refused" eq "$?" 2
timeout 10 "$EMU_BIN" --port 0 --bind 192.168.1.1 >/dev/null 2>&1
check "LAN bind refused" eq "$?" 2

EMULATOR_STATIC_TOKEN=smoke-static-token e2e_start_emulator --job-clock-ms 200 --jwks-max-age 120
U=$EMU

c() { curl -s --max-time 10 "$@"; }
code() { curl -s --max-time 10 -o /dev/null -w '%{http_code}' "$@"; }
b64url() { base64 -w0 | tr '+/' '-_' | tr -d '='; }
b64url_decode() {
  local s=$1
  while [ $((${#s} % 4)) -ne 0 ]; do s="$s="; done
  printf '%s' "$s" | tr '_-' '/+' | base64 -d
}

# ---- OIDC issuer ---------------------------------------------------------------------------
hdrs=$(curl -s -D - -o "$work/jwks" "$U/oauth2/v3/certs")
check "jwks cache-control" grep -qi '^cache-control: public, max-age=120' <<<"$hdrs"
check "jwks has one RS256 key" eq "$(jq -r '.keys|length' "$work/jwks")/$(jq -r '.keys[0].alg' "$work/jwks")" "1/RS256"
kid=$(jq -r '.keys[0].kid' "$work/jwks")

tok=$("$EMU_BIN" mint --url "$U" --claims '{"aud":"https://svc.example/"}')
check "mint CLI prints a token" test -n "$tok"
claims=$(b64url_decode "$(cut -d. -f2 <<<"$tok")")
header=$(b64url_decode "$(cut -d. -f1 <<<"$tok")")
check "minted header carries kid" eq "$(jq -r .kid <<<"$header")" "$kid"
check "minted claims" eq "$(jq -r '[.iss,.aud,.email_verified]|join(" ")' <<<"$claims")" \
  "https://accounts.google.com https://svc.example/ true"
c "$U/emulator/oidc/public-key.pem" >"$work/pub.pem"
printf '%s' "${tok%.*}" >"$work/signed"
b64url_decode "${tok##*.}" >"$work/sig"
check "minted signature verifies with openssl" \
  openssl dgst -sha256 -verify "$work/pub.pem" -signature "$work/sig" "$work/signed"

none=$(c -X POST "$U/emulator/oidc/mint" -d '{"sign":"none","claims":{"email":null}}' | jq -r .token)
check "alg none token has no signature" eq "${none##*.}" ""
check "null claim removes it" eq "$(b64url_decode "$(cut -d. -f2 <<<"$none")" | jq -r 'has("email")')" "false"
small=$("$EMU_BIN" mint --url "$U" --sign small-key)
check "small-key token verifies under its own published kid" eq \
  "$(c "$U/oauth2/v3/certs" | jq -r --arg k "$(b64url_decode "${small%%.*}" | jq -r .kid)" \
  '[.keys[]|select(.kid==$k)]|length')" 1
check "mint rejects unknown sign mode" eq "$(code -X POST "$U/emulator/oidc/mint" -d '{"sign":"rot13"}')" 400

new_kid=$(c -X POST "$U/emulator/oidc/rotate" | jq -r .kid)
kids=$(c "$U/oauth2/v3/certs" | jq -r '[.keys[].kid]|join(",")')
check "rotate publishes the new key" grep -q "$new_kid" <<<"$kids"
check "rotate removes the old key" bash -c "! grep -q '$kid' <<<'$kids'"
check "rotated kid differs" test "$new_kid" != "$kid"
c -X POST "$U/emulator/oidc/down" -d '{"down":true}' >/dev/null
check "jwks down answers 503" eq "$(code "$U/oauth2/v3/certs")" 503
c -X POST "$U/emulator/oidc/down" -d '{"down":false}' >/dev/null
check "jwks back up" eq "$(code "$U/oauth2/v3/certs")" 200
check "jwks hits counted (served only)" eq "$(c "$U/emulator/oidc/jwks-hits" | jq -c .)" '{"hits":4,"attempts":5}'

# ---- metadata server -----------------------------------------------------------------------
md=$U/computeMetadata/v1
check "metadata without header is 403" eq "$(code "$md/instance/service-accounts/default/token")" 403
mt=$(c -H 'Metadata-Flavor: Google' "$md/instance/service-accounts/default/token")
check "metadata token shape" eq "$(jq -r '[.token_type,.expires_in,(.access_token|startswith("ya29.emu-"))]|join(" ")' <<<"$mt")" "Bearer 3599 true"
check "metadata project-id" eq "$(c -H 'Metadata-Flavor: Google' "$md/project/project-id")" "test-project"
check "metadata email" eq "$(c -H 'Metadata-Flavor: Google' "$md/instance/service-accounts/default/email")" \
  "$(jq -r .client_email "$work/emulator/sa-key.json")"

# ---- OAuth JWT-bearer grant ----------------------------------------------------------------
kf=$work/emulator/sa-key.json
check "key file is 0600" eq "$(stat -c %a "$kf")" 600
jq -r .private_key "$kf" >"$work/sa.pem"
assertion() { # assertion SCOPE [EXP_OFFSET]
  local now h p s
  now=$(date +%s)
  h=$(jq -nc --arg k "$(jq -r .private_key_id "$kf")" '{alg:"RS256",typ:"JWT",kid:$k}' | b64url)
  p=$(jq -nc --arg iss "$(jq -r .client_email "$kf")" --arg aud "$(jq -r .token_uri "$kf")" \
    --arg scope "$1" --argjson now "$now" --argjson ttl "${2:-3600}" \
    '{iss:$iss,aud:$aud,scope:$scope,iat:$now,exp:($now+$ttl)}' | b64url)
  s=$(printf '%s.%s' "$h" "$p" | openssl dgst -sha256 -sign "$work/sa.pem" -binary | b64url)
  printf '%s.%s.%s' "$h" "$p" "$s"
}
grant() { c "$(jq -r .token_uri "$kf")" --data-urlencode \
  'grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer' --data-urlencode "assertion=$1"; }
ok=$(grant "$(assertion https://www.googleapis.com/auth/cloud-platform)")
AT=$(jq -r .access_token <<<"$ok")
check "jwt-bearer grant issues a token" eq "$(jq -r .token_type <<<"$ok")" Bearer
check "jwt-bearer without cloud-platform scope refused" \
  eq "$(grant "$(assertion https://www.googleapis.com/auth/devstorage.read_only)" | jq -r .error)" invalid_scope
check "jwt-bearer with a 2 h lifetime refused" \
  eq "$(grant "$(assertion https://www.googleapis.com/auth/cloud-platform 7200)" | jq -r .error)" invalid_grant
forged=$(assertion https://www.googleapis.com/auth/cloud-platform)
forged="${forged%.*}.$(printf 'x%.0s' $(seq 342) | b64url)"
check "jwt-bearer with a bad signature refused" eq "$(grant "$forged" | jq -r .error_description)" \
  "Invalid JWT Signature."

# ---- Vertex AI -----------------------------------------------------------------------------
P=$U/v1/projects/test-project/locations/us-central1
A="Authorization: Bearer $AT"
job='{"displayName":"smoke-train","labels":{"team":"ml","run":"smoke-1"},
  "jobSpec":{"workerPoolSpecs":[{"machineSpec":{"machineType":"n1-standard-4"},"replicaCount":"1",
  "containerSpec":{"imageUri":"us-docker.pkg.dev/p/r/train:1","args":["--epochs","2"]}}],
  "scheduling":{"timeout":"3600s"}}}'
check "vertex without token is 401" eq "$(code -X POST "$P/customJobs" -d "$job")" 401
created=$(c -H "$A" -X POST "$P/customJobs" -d "$job")
name=$(jq -r .name <<<"$created")
check "customJob created PENDING" eq "$(jq -r .state <<<"$created")" JOB_STATE_PENDING
check "customJob name shape" grep -Eq '^projects/test-project/locations/us-central1/customJobs/[0-9]+$' <<<"$name"
check "customJob get" eq "$(c -H "$A" "$U/v1/$name" | jq -r .name)" "$name"
check "customJob list by label" eq "$(c -H "$A" -G "$P/customJobs" \
  --data-urlencode 'filter=labels.team="ml" AND labels.run=smoke-1' | jq -r '.customJobs[0].name')" "$name"
check "customJob list by other label is empty" eq "$(c -H "$A" -G "$P/customJobs" \
  --data-urlencode 'filter=labels.team="nope"' | jq -c .)" '{}'
state=
for _ in $(seq 30); do
  state=$(c -H "$A" "$U/v1/$name" | jq -r .state)
  [ "$state" = JOB_STATE_SUCCEEDED ] && break
  sleep 0.1
done
check "customJob reaches SUCCEEDED" eq "$state" JOB_STATE_SUCCEEDED
bad=$(c -H "$A" -X POST "$P/customJobs" -d '{"displayName":"x","jobSpec":{"workerPoolSpecs":[
  {"machineSpec":{"machineType":"n1-standard-4"},"containerSpec":{"imageUri":"i","imageUrl":"j"}}]}}')
check "unknown field is 400 naming it" eq "$(jq -r '.error.code,.error.message' <<<"$bad" | tr '\n' ' ')" \
  "400 Invalid JSON payload received. Unknown name \"imageUrl\" at 'custom_job.job_spec.worker_pool_specs[0].container_spec': Cannot find field. "
missing=$(c -H "$A" -X POST "$P/customJobs" -d '{"jobSpec":{"workerPoolSpecs":[{"machineSpec":{"machineType":"a"},"containerSpec":{"imageUri":"i"}}]}}')
check "missing displayName is 400 naming it" grep -q 'custom_job.display_name' <<<"$missing"

c -X POST "$U/emulator/vertex/models" \
  -d '{"project":"test-project","location":"us-central1","modelId":"churn","model":{"displayName":"churn"}}' >/dev/null
up='{"model":{"displayName":"churn","artifactUri":"gs://b/m","containerSpec":{"imageUri":"us-docker.pkg.dev/p/r/serve:1"},"versionAliases":["candidate"]},"parentModel":"projects/test-project/locations/us-central1/models/churn"}'
op=$(c -H "$A" -X POST "$P/models:upload" -d "$up" | jq -r .name)
check "upload returns an operation" grep -Eq '/operations/[0-9]+$' <<<"$op"
check "second upload within 2 s is 429" eq "$(code -H "$A" -X POST "$P/models:upload" -d "$up")" 429
done_=false
for _ in $(seq 30); do
  opj=$(c -H "$A" "$U/v1/$op")
  done_=$(jq -r .done <<<"$opj")
  [ "$done_" = true ] && break
  sleep 0.1
done
check "upload operation completes" eq "$(jq -r '[.done,.response.modelVersionId]|join(" ")' <<<"$opj")" "true 2"
check "model alias resolves to the new version" eq "$(c -H "$A" "$P/models/churn@candidate" | jq -r .versionId)" 2

c -X POST "$U/emulator/config" -d '{"upload_min_interval_ms":0}' >/dev/null
badalias='{"model":{"displayName":"m","containerSpec":{"imageUri":"i"},"versionAliases":["Bad_alias"]},"parentModel":"projects/test-project/locations/us-central1/models/churn"}'
check "bad version alias on upload is 400 naming it" eq \
  "$(c -H "$A" -X POST "$P/models:upload" -d "$badalias" | jq -r '.error.details[0].fieldViolations[0].field')" \
  "upload_model_request.model.version_aliases[0]"
tp='{"displayName":"smoke-pipeline","trainingTaskDefinition":"gs://google-cloud-aiplatform/schema/trainingjob/definition/custom_task_1.0.0.yaml",
  "trainingTaskInputs":{"workerPoolSpecs":[]},"parentModel":"projects/test-project/locations/us-central1/models/churn",
  "modelToUpload":{"displayName":"churn","containerSpec":{"imageUri":"i"},"versionAliases":["prod"]},"labels":{"run":"smoke-1"}}'
tpname=$(c -H "$A" -X POST "$P/trainingPipelines" -d "$tp" | jq -r .name)
for _ in $(seq 30); do
  tpj=$(c -H "$A" "$U/v1/$tpname")
  [ "$(jq -r .state <<<"$tpj")" = PIPELINE_STATE_SUCCEEDED ] && break
  sleep 0.1
done
check "pipeline succeeds with a new model version" eq "$(jq -r .modelToUpload.name <<<"$tpj")" \
  "projects/test-project/locations/us-central1/models/churn@3"
check "pipeline alias applied" eq "$(c -H "$A" "$P/models/churn@prod" | jq -r .versionId)" 3
check "pipeline list by label" eq "$(c -H "$A" -G "$P/trainingPipelines" \
  --data-urlencode 'filter=labels.run="smoke-1"' | jq -r '.trainingPipelines|length')" 1

# Versions carry their labels and are found by them (listVersions' filter, paging, orderBy).
lab='{"model":{"displayName":"churn","containerSpec":{"imageUri":"i"},"labels":{"retrain-event":"ev-4"}},"parentModel":"projects/test-project/locations/us-central1/models/churn"}'
op4=$(c -H "$A" -X POST "$P/models:upload" -d "$lab" | jq -r .name)
check "an upload in flight is listed under its model's operations" eq \
  "$(c -H "$A" "$P/models/churn/operations" | jq -r --arg o "$op4" '.operations[] | select(.name == $o) | .done')" false
check "operations.list takes no filter" eq "$(code -H "$A" -G "$P/models/churn/operations" --data-urlencode 'filter=done=false')" 400
for _ in $(seq 30); do
  [ "$(c -H "$A" "$U/v1/$op4" | jq -r .done)" = true ] && break
  sleep 0.1
done
vl=$(c -H "$A" -G "$P/models/churn:listVersions" --data-urlencode 'filter=labels.retrain-event="ev-4"')
check "listVersions by label: the one version, named with its id" eq \
  "$(jq -r '[.models[].name] | join(" ")' <<<"$vl")" "projects/test-project/locations/us-central1/models/churn@4"
check "listVersions by another label: none" eq "$(c -H "$A" -G "$P/models/churn:listVersions" \
  --data-urlencode 'filter=labels.retrain-event="ev-5"' | jq -c .)" '{}'
check "listVersions filters on labels only" eq "$(code -H "$A" -G "$P/models/churn:listVersions" \
  --data-urlencode 'filter=state=JOB_STATE_SUCCEEDED')" 400
check "listVersions pages" eq "$(c -H "$A" "$P/models/churn:listVersions?pageSize=3" | jq -r '[(.models|length), .nextPageToken] | join(" ")')" "3 emu-3"
check "listVersions orderBy create_time (oldest first)" eq \
  "$(c -H "$A" -G "$P/models/churn:listVersions" --data-urlencode 'orderBy=create_time asc' | jq -r '[.models[].versionId] | join(",")')" 1,2,3,4
check "listVersions readMask keeps the fields named" eq \
  "$(c -H "$A" -G "$P/models/churn:listVersions" --data-urlencode 'readMask=versionId,labels' --data-urlencode 'filter=labels:retrain-event' | jq -c '.models')" \
  '[{"versionId":"4","labels":{"retrain-event":"ev-4"}}]'
check "listVersions refuses an orderBy field it does not sort on" eq \
  "$(code -H "$A" -G "$P/models/churn:listVersions" --data-urlencode 'orderBy=display_name')" 400
check "customJobs.list takes no orderBy" eq "$(code -H "$A" -G "$P/customJobs" --data-urlencode 'orderBy=create_time')" 400
check "models.list by model id" eq "$(c -H "$A" -G "$P/models" --data-urlencode 'filter=model=churn' | jq -r '.models[0].versionId')" 1
check "models.list by model id !=" eq "$(c -H "$A" -G "$P/models" --data-urlencode 'filter=model!=churn' | jq -c .)" '{}'
check "a model id starting with a digit is refused" eq \
  "$(c -H "$A" -X POST "$P/models:upload" -d '{"model":{"displayName":"x","containerSpec":{"imageUri":"i"}},"modelId":"9lives"}' | jq -r '.error.details[0].fieldViolations[0].field')" \
  upload_model_request.model_id

# ---- faults, stats, token revocation -------------------------------------------------------
c -X POST "$U/emulator/faults" -d '{"rate_503":1.0,"seed":7,"paths":"/v1/"}' >/dev/null
check "fault 503 applies to /v1/" eq "$(code -H "$A" "$U/v1/$name")" 503
check "faults spare other paths" eq "$(code "$U/oauth2/v3/certs")" 200
c -X POST "$U/emulator/faults" -d '{"drop_after_rate":1.0,"paths":"/v1/projects/test-project/locations/us-central1/customJobs"}' >/dev/null
check "a request dropped after handling gets no answer" eq "$(code -H "$A" -X POST "$P/customJobs" -d "$job")" 000
c -X POST "$U/emulator/faults" -d '{}' >/dev/null
check "... and took effect" eq "$(c "$U/emulator/stats" | jq -r '[.created.customJobs, .faults.dropped_after] | join(" ")')" "2 1"
check "stats count the created jobs" eq "$(c "$U/emulator/stats" | jq -r .created.customJobs)" 2

# ---- faults limited to methods and routes: reads refused while creates pass, and back --------
faults() { c -X POST "$U/emulator/faults" -d "$1" -o /dev/null -w '%{http_code}'; }
c -X POST "$U/emulator/config" -d '{"job_clock_ms":1000}' >/dev/null # no run ends under a check
before=$(c "$U/emulator/stats")
since() { # JQ over the stats' change since $before: d(PATH) is the increase of a counter
  jq -rn --argjson a "$before" --argjson b "$(c "$U/emulator/stats")" \
    "def d(p): ((\$b | p) // 0) - ((\$a | p) // 0); $1"
}
check "faults limited to GET accepted" eq "$(faults '{"rate_429":1,"methods":"GET"}')" 200
r429=$(c -H "$A" "$U/v1/$name" -w '\n%{http_code}')
check "a read gets 429" eq "$(tail -n1 <<<"$r429")" 429
check "... in Google's shape" eq "$(head -n -1 <<<"$r429" | jq -r '[.error.code, .error.status,
  (.error.message | startswith("Quota exceeded for aiplatform.googleapis.com/")),
  .error.details[0].reason] | join(" ")')" "429 RESOURCE_EXHAUSTED true RATE_LIMIT_EXCEEDED"
check "a list gets 429" eq "$(code -H "$A" "$P/customJobs")" 429
check "operations.get gets 429" eq "$(code -H "$A" "$U/v1/$op")" 429
j2=$(c -H "$A" -X POST "$P/customJobs" -d "$job" | jq -r .name)
check "a create goes through" grep -Eq '/customJobs/[0-9]+$' <<<"$j2"
check "faults limited to creates accepted" eq \
  "$(faults '{"rate_429":1,"methods":"POST","routes":["customJobs.create","trainingPipelines.create"]}')" 200
check "a create gets 429" eq "$(code -H "$A" -X POST "$P/customJobs" -d "$job")" 429
check "a pipeline create gets 429" eq "$(code -H "$A" -X POST "$P/trainingPipelines" -d "$tp")" 429
check "a read goes through" eq "$(code -H "$A" "$U/v1/$j2")" 200
check "a cancel goes through (not a create)" eq "$(code -H "$A" -X POST "$U/v1/$j2:cancel" -d '{}')" 200
check "a limited fault accepted" eq "$(faults '{"rate_429":1,"routes":"customJobs.get","limit":1}')" 200
check "limit 1: the first read gets 429" eq "$(code -H "$A" "$U/v1/$j2")" 429
check "limit 1: the next read goes through" eq "$(code -H "$A" "$U/v1/$j2")" 200
check "routes alone reach beyond /v1/" eq "$(faults '{"rate_503":1,"routes":["oidc.jwks"]}')/$(code "$U/oauth2/v3/certs")" 200/503
check "an unknown route is refused" eq "$(faults '{"rate_429":1,"routes":["customJobs.delete"]}')" 400
check "an unknown method is refused" eq "$(faults '{"rate_429":1,"methods":"get"}')" 400
check "{} turns faults off" eq "$(faults '{}')/$(code -H "$A" "$U/v1/$j2")/$(code "$U/oauth2/v3/certs")" 200/200/200
check "stats: reads made, answered and refused, per route" eq "$(since '[d(.attempts["customJobs.get"]),
  d(.requests["customJobs.get"]), d(.faults_by_route["customJobs.get"])] | join(" ")')" "5 3 2"
check "stats: the other refusals, per route" eq "$(since '[d(.faults_by_route["customJobs.list"]),
  d(.faults_by_route["operations.get"]), d(.faults_by_route["customJobs.create"]),
  d(.faults_by_route["trainingPipelines.create"]), d(.faults_by_route["oidc.jwks"])] | join(" ")')" "1 1 1 1 1"
check "stats: 429s counted" eq "$(since '[d(.requests["fault.429"]), d(.faults.exhausted_429),
  d(.attempts["customJobs.create"]), d(.created.customJobs)] | join(" ")')" "6 6 2 1"

# ---- cancelled runs: by name or label on the clock, and by :cancel through CANCELLING --------
wait_state() { # NAME STATE: polls the run (4 s at most); prints its last JSON
  local j
  for _ in $(seq 80); do
    j=$(c -H "$A" "$U/v1/$1")
    [ "$(jq -r .state <<<"$j")" = "$2" ] && break
    sleep 0.05
  done
  printf '%s' "$j"
}
create() { c -H "$A" -X POST "$P/$1" -d "$2" | jq -r .name; } # COLLECTION BODY: prints the name
cj=$(create customJobs "$(jq -c '.displayName = "smoke-cancel"' <<<"$job")")
cp=$(create trainingPipelines "$(jq -c '.displayName = "smoke-pipeline-2" |
  .labels = {"run":"smoke-2","emulator-cancel":"true"}' <<<"$tp")")
fj=$(create customJobs "$(jq -c '.displayName = "smoke-cancel-fail"' <<<"$job")")
kj=$(create customJobs "$job")
kp=$(create trainingPipelines "$(jq -c '.labels = {"run":"smoke-3"}' <<<"$tp")")
check ":cancel answers {}" eq "$(c -H "$A" -X POST "$U/v1/$kj:cancel" -d '{}' | jq -c .)" '{}'
check ":cancel: CANCELLING at once, no error yet" eq \
  "$(c -H "$A" "$U/v1/$kj" | jq -r '[.state, (.error == null)] | join(" ")')" "JOB_STATE_CANCELLING true"
check ":cancel again while CANCELLING answers {}" eq "$(c -H "$A" -X POST "$U/v1/$kj:cancel" -d '{}' | jq -c .)" '{}'
c -H "$A" -X POST "$U/v1/$kp:cancel" -d '{}' >/dev/null
check "a pipeline :cancel: CANCELLING at once" eq "$(c -H "$A" "$U/v1/$kp" | jq -r .state)" PIPELINE_STATE_CANCELLING
check ":cancel: CANCELLED one step later with code 1" eq \
  "$(wait_state "$kj" JOB_STATE_CANCELLED | jq -r '[.state, .error.code, .error.message] | join(" ")')" \
  "JOB_STATE_CANCELLED 1 CANCELED"
check ":cancel once cancelled is FAILED_PRECONDITION" eq \
  "$(c -H "$A" -X POST "$U/v1/$kj:cancel" -d '{}' | jq -r '[.error.code, .error.status] | join(" ")')" \
  "400 FAILED_PRECONDITION"
check "a pipeline :cancel ends CANCELLED and registers nothing" eq \
  "$(wait_state "$kp" PIPELINE_STATE_CANCELLED | jq -r '[.state, .error.code, (.modelToUpload.name == null)] | join(" ")')" \
  "PIPELINE_STATE_CANCELLED 1 true"
check "a job named cancel runs, then ends CANCELLED with code 1" eq \
  "$(wait_state "$cj" JOB_STATE_CANCELLED | jq -r '[.state, .error.code, .error.message, (.startTime != null), (.endTime != null)] | join(" ")')" \
  "JOB_STATE_CANCELLED 1 CANCELED true true"
check "a pipeline labelled emulator-cancel ends CANCELLED and registers nothing" eq \
  "$(wait_state "$cp" PIPELINE_STATE_CANCELLED | jq -r '[.state, .error.code, (.modelToUpload.name == null)] | join(" ")')" \
  "PIPELINE_STATE_CANCELLED 1 true"
check "... no new version" eq "$(c -H "$A" "$P/models/churn:listVersions" | jq -r '.models | length')" 4
check "fail wins over cancel" eq "$(wait_state "$fj" JOB_STATE_FAILED | jq -r .error.code)" 13
check "a list filters on CANCELLED" eq "$(c -H "$A" -G "$P/customJobs" \
  --data-urlencode 'filter=state=JOB_STATE_CANCELLED' | jq -r '.customJobs | length')" 3
c -X POST "$U/emulator/config" -d '{"job_clock_ms":200}' >/dev/null

c -X POST "$U/emulator/oauth/revoke-all" >/dev/null
check "revoked token is 401" eq "$(code -H "$A" "$U/v1/$name")" 401
check "EMULATOR_STATIC_TOKEN still accepted" \
  eq "$(code -H 'Authorization: Bearer smoke-static-token' "$U/v1/$name")" 200
check "a wrong static token is 401" \
  eq "$(code -H 'Authorization: Bearer smoke-static-tokeX' "$U/v1/$name")" 401

# ---- the notice sink: a webhook taking binary-mode CloudEvents -------------------------------
S=$U/emulator/sink
ce() { # ce ID [CURL ARGS...]: POSTs a run notice with ce-id ID to the sink; prints the status
  local id=$1
  shift
  code -X POST -H 'ce-specversion: 1.0' -H "ce-id: $id" -H 'ce-source: //retrain/smoke' \
    -H 'ce-type: dev.retrain.run.ended' -H 'ce-time: 2026-01-02T03:04:05.678Z' \
    -H 'Content-Type: application/json' "$@"
}
before=$(c "$U/emulator/stats")
check "sink: a valid delivery is stored (204)" eq \
  "$(ce n-1 -H 'ce-subject: runs%2Fsmoke-1' "$S" -d '{"run":"smoke-1","state":"SUCCEEDED"}')" 204
check "sink: any path below it takes deliveries" eq "$(ce n-2 "$S/hooks/team-a" -d '{"run":"smoke-2"}')" 204
missing_id=$(c -X POST -H 'ce-specversion: 1.0' -H 'ce-source: //retrain/smoke' -H 'ce-type: t' \
  -H 'Content-Type: application/json' "$S" -d '{}' -w '\n%{http_code}')
check "sink: missing ce-id is 400 naming it" eq "$(tail -n1 <<<"$missing_id")/$(head -n -1 <<<"$missing_id" |
  jq -r .error.message)" "400/not a binary-mode CloudEvent: missing required header ce-id"
check "sink: a non-JSON body with a JSON Content-Type is 400" eq "$(ce n-x "$S" -d 'run=smoke')" 400
check "sink: a raw space in a ce- value is 400 (must be percent-encoded)" eq \
  "$(ce n-y -H 'ce-subject: runs smoke' "$S" -d '{}')" 400
check "sink: fail_next 2 accepted" eq "$(c -X POST "$S/config" -d '{"fail_next":2}' | jq -c .)" \
  '{"fail_next":2,"status":503}'
check "sink: fail_next 2: two 503, then 204" eq \
  "$(ce n-3 "$S" -d '{"try":1}')/$(ce n-3 "$S" -d '{"try":2}')/$(ce n-3 "$S" -d '{"try":3}')" 503/503/204
check "sink: fail_next 0 turns it off" eq \
  "$(c -X POST "$S/config" -d '{"fail_next":0}' -o /dev/null -w '%{http_code}')/$(ce n-4 "$S" -d '[]')" 200/204
sink=$(c "$S")
check "sink: GET lists exactly what was stored, in order" eq \
  "$(jq -c '[.received[] | [.headers["ce-id"], .data]]' <<<"$sink")" \
  '[["n-1",{"run":"smoke-1","state":"SUCCEEDED"}],["n-2",{"run":"smoke-2"}],["n-3",{"try":3}],["n-4",[]]]'
check "sink: headers kept, values percent-decoded" eq "$(jq -cS '.received[0].headers' <<<"$sink")" \
  '{"ce-id":"n-1","ce-source":"//retrain/smoke","ce-specversion":"1.0","ce-subject":"runs/smoke-1","ce-time":"2026-01-02T03:04:05.678Z","ce-type":"dev.retrain.run.ended","content-type":"application/json"}'
check "sink: path and at_ms recorded" eq "$(jq -r '[.received[1].path, (.received[1].at_ms > 0)] | join(" ")' <<<"$sink")" \
  "/emulator/sink/hooks/team-a true"
check "sink: refused and failed counted" eq "$(jq -r '[.refused, .failed] | join(" ")' <<<"$sink")" "3 2"
check "sink: counted as emulator.sink routes" eq "$(since '[d(.requests["emulator.sink"]),
  d(.requests["emulator.sink_config"]), d(.requests["emulator.sink_list"])] | join(" ")')" "9 2 1"
check "sink: DELETE clears it" eq "$(c -X DELETE "$S" | jq -c .)/$(c "$S" | jq -c .)" \
  '{"cleared":4}/{"received":[],"refused":0,"failed":0}'
n5=$(ce n-5 "$S" -d '{}')
stored=$(c "$S" | jq '.received | length')
c -X POST "$U/emulator/reset" >/dev/null
check "sink: reset clears it too" eq "$n5/$stored/$(c "$S" | jq '.received | length')" 204/1/0

kill -TERM "$EMU_PID"
wait "$EMU_PID"
check "emulator exits 0 on SIGTERM (clean under sanitizers too)" eq "$?" 0
e2e_finish
