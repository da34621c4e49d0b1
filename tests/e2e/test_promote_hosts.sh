#!/usr/bin/env bash
# Promotion on two hosts sharing one PostgreSQL ledger, each its own nginx and pool (with its
# follower): eight runs of one model end at the same moment of the emulator's clock, their
# evaluations in a shuffled order, every event delivered to both hosts, Google slow to answer the
# gate's calls. Both followers decide at once, each under the model's lock in the ledger, so
# whatever the order:
#   - every run is decided once, and the best version serves;
#   - production is on exactly one version;
#   - the audit is one chain: each move starts from the version the move before ended on, and
#     there is one move per promoted run.
. "$(dirname "$0")/lib.sh"
e2e_init

eval "$("$E2E_ROOT/tests/lib/pg.sh" start)"
e2e_pg_dir=$RETRAIN_TEST_PG_DIR
trap '"$E2E_ROOT/tests/lib/pg.sh" stop "$e2e_pg_dir" >/dev/null 2>&1; e2e_cleanup' EXIT
e2e_start_emulator --job-clock-ms 3000
e2e_use_emulator
curl -sS -X POST "$EMU/emulator/vertex/models" -d '{"project":"test-project",
  "location":"us-central1","modelId":"churn","model":{"displayName":"churn"}}' >/dev/null

# shellcheck disable=SC2016 # the placeholders are the service's, not the shell's
cat >"$E2E_DIR/config.json" <<EOF
{"function":"retrain","workers":2,"request_timeout_s":20,"auth":{"disabled":true},
 "ledger":{"url":"$RETRAIN_TEST_PG_URL","lease_s":5},
 "vertex":{"project":"test-project","region":"us-central1","deadline_ms":3000},
 "storage":{"endpoint":"$EMU","timeout_ms":2000},
 "follow":{"first_s":1,"max_s":1,"reads_per_minute":6000,"creates_per_minute":6000},
 "rules":[{"name":"churn","action":"train_and_register",
  "match":{"type":"google.cloud.storage.object.v1.finalized","bucket":"acme-data","name":"churn/*.csv"},
  "job":{"displayName":"churn-\${event_id}",
   "jobSpec":{"workerPoolSpecs":[{"machineSpec":{"machineType":"n1-standard-4"},"replicaCount":"1",
    "containerSpec":{"imageUri":"us-docker.pkg.dev/test-project/retrain/train:1","args":["--data=\${gcs_uri}"]}}]}},
  "model":{"parent":"$P/models/churn","container_image":"us-docker.pkg.dev/test-project/retrain/serve:1"},
  "promote":{"alias":"production","metric":"auRoc","goal":"maximize"}}]}
EOF
root=$E2E_DIR
e2e_host a "$E2E_DIR/config.json"
e2e_host b "$E2E_DIR/config.json"
# shellcheck disable=SC2154 # set by e2e_host
echo "hosts: a $BASE_a, b $BASE_b"
export RETRAIN_LEDGER="$RETRAIN_TEST_PG_URL" RETRAIN_CONFIG="$E2E_DIR/config.json"
ce=(-H 'ce-specversion: 1.0' -H 'ce-type: google.cloud.storage.object.v1.finalized'
  -H 'Content-Type: application/json' -H 'ce-source: //storage.googleapis.com/projects/_/buckets/acme-data')
send() { # BASE ID OBJECT
  curl -sS --cacert "$BUILD/tls/cert.pem" -o /dev/null -w '%{http_code}\n' "${ce[@]}" \
    -H "ce-id: $2" -H "ce-subject: objects/$3" \
    --data "{\"bucket\":\"acme-data\",\"name\":\"$3\",\"generation\":\"1\"}" "$1/"
}

echo "eight runs of one model, evaluated in a shuffled order, each event sent to both hosts"
values=(0.71 0.78 0.64 0.83 0.69 0.80 0.75 0.66) # the best, 0.83, is the fourth
for i in "${!values[@]}"; do
  curl -sS -X POST "$EMU/emulator/vertex/outcomes" \
    -d "{\"display_name_contains\":\"churn-h$i\",\"metrics\":{\"auRoc\":${values[$i]}}}" >/dev/null
done
# Each alias move takes 400 ms at Google: a decision holds the model's lock that long, so the
# other host's follower, deciding at the same time, finds it held and waits its turn.
curl -sS -X POST "$EMU/emulator/faults" \
  -d '{"latency_ms":400,"routes":["models.mergeVersionAliases","models.evaluations.list"]}' >/dev/null
codes=$(for i in "${!values[@]}"; do
  send "$BASE_a" "h$i" "churn/$i.csv" &
  send "$BASE_b" "h$i" "churn/$i.csv" &
done; wait)
# The second of a pair is a duplicate (200), or 503 while the first still holds the event (a
# sender retries it, then gets the duplicate).
expect "sent: every answer 200, or 503 while the pair's other delivery holds it" \
  "$(grep -cv '^\(200\|503\)$' <<<"$codes") $(grep -c '^200$' <<<"$codes")" "0 $(grep -c '^200$' <<<"$codes")"
expect_match "sent: at least eight 200s" "$(grep -c '^200$' <<<"$codes")" '^(8|9|1[0-6])$'

decided_all() {
  [ "$("$BUILD/retrainctl" runs list --rule churn --limit 100 |
    jq -s '[.[] | select(.promotion.decision == "promoted" or .promotion.decision == "held")] | length')" -eq 8 ]
}
e2e_wait_for 60 decided_all
runs=$("$BUILD/retrainctl" runs list --rule churn --limit 100)
expect "runs: eight, each decided once" \
  "$(jq -s '[.[] | .promotion.decision] | map(select(. == "promoted" or . == "held")) | length' <<<"$runs")" 8
best=$(jq -rs 'map(select(.promotion.details.candidate.value == 0.83)) | .[0].model_version_id' <<<"$runs")
expect "serving: the best version holds production" \
  "$(vx "$EMU/v1/$P/models/churn@production" | jq -r .versionId)" "$best"
expect "serving: production is on exactly one version" \
  "$(vx "$EMU/v1/$P/models/churn:listVersions" | jq '[.models[] | select(.versionAliases // [] | index("production"))] | length')" 1
hist=$("$BUILD/retrainctl" models history churn)
moves=$(jq -s '[.[].moves[] | select(.alias == "production")] | sort_by(.at)' <<<"$hist")
promoted=$(jq -s '[.[] | select(.promotion.decision == "promoted")] | length' <<<"$runs")
expect "audit: one move per promoted run, at least one" "$(jq length <<<"$moves") $((promoted > 0))" "$promoted 1"
# Each move's "from" is the version the move before it ended on: rebuilt from the history.
chain=$(jq -s -r '[.[] | .version as $v | .moves[] | select(.alias == "production") | {at, from, to: $v}]
  | sort_by(.at) | reduce .[] as $m ({prev: null, ok: true}; {prev: $m.to, ok: (.ok and $m.from == .prev)}) | .ok' <<<"$hist")
expect "audit: the moves form one chain" "$chain" true
expect "audit: the last move is onto the best version" \
  "$(jq -s -r --arg b "$best" '[.[] | .version as $v | .moves[] | select(.alias == "production") | {at, to: $v}] | sort_by(.at) | .[-1].to' <<<"$hist")" "$best"
held_values=$(jq -rs '[.[] | select(.promotion.decision == "held") | .promotion.details.candidate.value] | (length > 0) and (map(. < 0.83) | all)' <<<"$runs")
expect "decisions: some held, every held version worse than the best" "$held_values" true
decided_on() { grep -c '"message":"run [0-9a-f]*: \(promoted\|held\) ' "$root/$1/pool.log"; }
echo "  (decided on a: $(decided_on a), on b: $(decided_on b); waits for the model's lock:" \
  "$(cat "$root"/a/pool.log "$root"/b/pool.log | grep -c 'deciding later: another decision')" ")"
expect "decisions: every one logged once, by one host's follower or the other's" \
  "$(($(decided_on a) + $(decided_on b)))" 8

e2e_finish
