#!/usr/bin/env bash
# Chaos: a steady load of signed storage events through nginx into the retrain function on a
# PostgreSQL ledger, while we kill -9 random workers, restart PostgreSQL, make Google answer 30 %
# 503s with 2 s of latency, take the JWKS endpoint down, and SIGTERM the whole stack and start
# it again. The sender redelivers anything that was not acknowledged, as a push subscription
# does. Then: every distinct event sent is acknowledged and final in the ledger (done, coalesced
# or failed), exactly one Vertex job exists per submitted event, none is lost, and no worker is
# stuck.
#
#   tests/chaos/chaos.sh short   (~45 s, part of make test)
#   tests/chaos/chaos.sh long    (~3 min, make chaos)
MODE=${1:-short}
export E2E_NAME=${E2E_NAME:-chaos}
. "$(dirname "$0")/../e2e/lib.sh"
e2e_init
case $MODE in
short) EVENTS=300 DUPS=2 ROUNDS=1 RATE=25 ;;
long) EVENTS=1500 DUPS=3 ROUNDS=3 RATE=60 ;;
*) echo "usage: chaos.sh short|long" >&2; exit 2 ;;
esac
export RETRAIN_TEST_HOOKS=1

AUD="https://retrain.test/"
SA="eventarc-trigger@test-project.iam.gserviceaccount.com"
e2e_start_emulator --audience "$AUD" --service-account "$SA" --job-clock-ms 200 --jwks-max-age 5
P=projects/test-project/locations/us-central1
eval "$("$E2E_ROOT/tests/lib/pg.sh" start)"
pg_dir=$RETRAIN_TEST_PG_DIR
trap '"$E2E_ROOT/tests/lib/pg.sh" stop "$pg_dir" >/dev/null 2>&1; e2e_cleanup' EXIT
export RETRAIN_VERTEX_ENDPOINT="$EMU/v1" GCE_METADATA_HOST="${EMU#http://}"
export RETRAIN_LEDGER=$RETRAIN_TEST_PG_URL

CONFIG="{\"function\":\"retrain\",\"workers\":4,\"request_timeout_s\":15,
 \"auth\":{\"audiences\":[\"$AUD\"],\"service_accounts\":[\"$SA\"],
   \"jwks_url\":\"$EMU/oauth2/v3/certs\",\"jwks_cache\":\"$E2E_DIR/jwks.json\"},
 \"ledger\":{\"url\":\"$RETRAIN_TEST_PG_URL\",\"lease_s\":3},
 \"vertex\":{\"project\":\"test-project\",\"region\":\"us-central1\",\"deadline_ms\":6000},
 \"rules\":[{\"name\":\"chaos\",\"action\":\"train\",
   \"match\":{\"type\":\"google.cloud.storage.object.v1.finalized\",\"bucket\":\"chaos-data\",
              \"name\":\"in/*.csv\"},
   \"job\":{\"displayName\":\"chaos-\${event_id}\",\"jobSpec\":{\"workerPoolSpecs\":[{
     \"machineSpec\":{\"machineType\":\"n1-standard-4\"},\"replicaCount\":\"1\",
     \"containerSpec\":{\"imageUri\":\"us-docker.pkg.dev/test-project/retrain/train:1\",
                        \"args\":[\"--data=\${gcs_uri}\"]}}]}}}]}"

E2E_HTTPS_PORT=$(e2e_free_port)
export E2E_HTTPS_PORT
start_stack() {
  e2e_start_pool "$CONFIG" && e2e_start_nginx
}
start_stack || { fail "the stack starts"; e2e_finish; exit 1; }
TOKEN=$(curl -sS -X POST "$EMU/emulator/oidc/mint" -d '{"ttl_s":3600}' | jq -r .token)

# The load: EVENTS distinct events, each delivered DUPS times, redelivered until acknowledged.
"$BUILD/loadgen" --url "$BASE/" --cacert "$BUILD/tls/cert.pem" --connections 16 \
  --requests $((EVENTS * DUPS)) --distinct "$EVENTS" --rate "$RATE" --redeliver 400 \
  --retry-delay-ms 250 \
  --max-seconds 240 -H "Authorization: Bearer $TOKEN" -H 'ce-specversion: 1.0' \
  -H 'ce-type: google.cloud.storage.object.v1.finalized' \
  -H 'ce-source: //storage.googleapis.com/projects/_/buckets/chaos-data' \
  -H 'ce-id: chaos-{d}' -H 'ce-subject: objects/in/f-{d}.csv' -H 'ce-bucket: chaos-data' \
  -H 'Content-Type: application/json' \
  --body '{"bucket":"chaos-data","name":"in/f-{d}.csv","generation":"1"}' \
  --log "$E2E_DIR/load.log" >"$E2E_DIR/load.json" &
loader=$!

worker_pids() { "${CURL[@]}" "$BASE/status" 2>/dev/null | jq -r '.workers[] | select(.pid > 0) | .pid'; }
faults() { curl -sS -X POST "$EMU/emulator/faults" -d "$1" >/dev/null; }
step() { echo "  chaos: $*"; }

killed=0
for round in $(seq "$ROUNDS"); do
  sleep 2
  for _ in 1 2 3; do
    victim=$(worker_pids | shuf -n 1)
    [ -n "$victim" ] && kill -9 "$victim" && step "kill -9 worker $victim" && killed=$((killed + 1))
    sleep 0.7
  done
  step "Google answers 30 % 503 with 2 s latency"
  faults '{"rate_503":0.3,"latency_ms":2000,"paths":"/v1/","seed":'"$round"'}'
  sleep 6
  faults '{}'
  step "restart PostgreSQL"
  "$E2E_ROOT/tests/lib/pg.sh" restart "$pg_dir" >/dev/null 2>&1
  sleep 2
  step "JWKS endpoint down"
  curl -sS -X POST "$EMU/emulator/oidc/down" -d '{"down":true}' >/dev/null
  sleep 6
  curl -sS -X POST "$EMU/emulator/oidc/down" -d '{"down":false}' >/dev/null
  step "SIGTERM the whole stack, start it again"
  e2e_stop_group "$NGINX_PID"
  e2e_stop_group "$POOL_PID"
  pool_rc=$?
  start_stack || fail "the stack restarts"
done

wait $loader
report=$(cat "$E2E_DIR/load.json")
echo "  load: $report"
total=$((EVENTS * DUPS))
expect "every delivery was finally acknowledged (none lost)" "$(json_get 'http."200"' "$report")" "$total"

# The ledger: every distinct event final; none left claimed.
"$BUILD/retrainctl" events list --limit 100000 >"$E2E_DIR/ledger.jsonl"
expect "every distinct event is in the ledger" "$(grep -c '"id":"chaos-' "$E2E_DIR/ledger.jsonl")" "$EVENTS"
expect "every one is final (submitted, coalesced or failed)" \
  "$(jq -r 'select(.status != "done" and .status != "coalesced" and .status != "failed") | .key' "$E2E_DIR/ledger.jsonl" | wc -l)" 0
submitted=$(jq -r 'select(.status == "done") | .key' "$E2E_DIR/ledger.jsonl" | sort)

# Vertex: exactly one job per submitted event, and no job for anything else.
AT=$(curl -sS -H 'Metadata-Flavor: Google' \
  "$EMU/computeMetadata/v1/instance/service-accounts/default/token" | jq -r .access_token)
: >"$E2E_DIR/jobs.raw"
page=""
for _ in $(seq 100); do # every page of the list (at most 1,000 jobs a page)
  curl -sS -H "Authorization: Bearer $AT" "$EMU/v1/$P/customJobs?pageSize=1000&pageToken=$page" \
    >"$E2E_DIR/page.json"
  jq -r '.customJobs[]?.labels["retrain-event"]' "$E2E_DIR/page.json" >>"$E2E_DIR/jobs.raw"
  page=$(jq -r '.nextPageToken // empty' "$E2E_DIR/page.json")
  [ -z "$page" ] && break
done
sort "$E2E_DIR/jobs.raw" >"$E2E_DIR/jobs.txt"
# A label value holds 63 characters: the key's first 63 hex digits name the event.
submitted=$(printf '%s\n' "$submitted" | cut -c1-63)
expect "no event has two jobs" "$(uniq -d "$E2E_DIR/jobs.txt" | wc -l)" 0
expect "exactly one job per submitted event" "$(sort -u "$E2E_DIR/jobs.txt")" "$submitted"
n_submitted=$(printf '%s\n' "$submitted" | grep -c .)
expect "as many jobs as submitted events" "$(wc -l <"$E2E_DIR/jobs.txt")" "$n_submitted"
expect "events were submitted at all" "$([ "$n_submitted" -gt 0 ] && echo yes)" yes

# The pool: alive, nobody stuck.
http GET /status
expect "the pool answers after the chaos" "$STATUS" 200
expect "no worker is stuck in a request" "$(json_get '.workers | map(select(.busy_ms > 15000)) | length')" 0
echo "  summary: $EVENTS events x $DUPS deliveries; $(printf '%s\n' "$submitted" | grep -c .) jobs;" \
  "$(json_get retries "$report") redeliveries; $killed workers killed, $ROUNDS stack restarts"
e2e_finish
