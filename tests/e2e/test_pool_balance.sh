#!/usr/bin/env bash
# No request waits behind another while a worker is idle. Two workers; Vertex AI (the
# emulator) stalls every call of one rule for 4 s, so a delivery for that rule keeps its worker
# busy; beside it, streams of cheap requests (redeliveries of a finished event, answered as
# duplicates, and /healthz) over HTTP/1.1 and HTTP/2 at once. nginx picks one of the kept-alive
# FastCGI connections for each: when the busy worker holds idle ones, a cheap request sent on
# one must still be served by the idle worker, not after the stall. Asserted per round: every
# cheap request answered 200 and none waited 2 s (a correctness bound: the stall is 4 s, a
# cheap answer takes milliseconds), while the stalled delivery was still running.
. "$(dirname "$0")/lib.sh"
e2e_init
ROUNDS=${BALANCE_ROUNDS:-4}
BOUND_MS=2000
e2e_start_emulator --job-clock-ms 300
P=projects/test-project/locations/us-central1
curl -sS -X POST "$EMU/emulator/vertex/models" -d '{"project":"test-project","location":"us-central1",
  "modelId":"slow","model":{"displayName":"slow"}}' >/dev/null
export RETRAIN_VERTEX_ENDPOINT="$EMU/v1" GCE_METADATA_HOST="${EMU#http://}"
match() { echo "\"match\":{\"type\":\"google.cloud.storage.object.v1.finalized\",\"bucket\":\"acme-data\",\"name\":\"$1\"}"; }
spec='"jobSpec":{"workerPoolSpecs":[{"machineSpec":{"machineType":"n1-standard-4"},"replicaCount":"1",
  "containerSpec":{"imageUri":"us-docker.pkg.dev/test-project/retrain/train:1"}}]}'
# shellcheck disable=SC2016 # ${event_id} is the rules' placeholder
e2e_start_pool "{\"function\":\"retrain\",\"workers\":2,\"request_timeout_s\":20,\"auth\":{\"disabled\":true},
 \"ledger\":{\"url\":\"sqlite://$E2E_DIR/ledger.db\"},
 \"vertex\":{\"project\":\"test-project\",\"region\":\"us-central1\",\"deadline_ms\":15000},
 \"rules\":[{\"name\":\"quick\",\"action\":\"train\",$(match 'quick/*.csv'),
   \"job\":{\"displayName\":\"quick-\${event_id}\",$spec}},
  {\"name\":\"slow\",\"action\":\"train_and_register\",$(match 'slow/*.csv'),
   \"job\":{\"displayName\":\"slow-\${event_id}\",$spec},
   \"model\":{\"parent\":\"$P/models/slow\",\"container_image\":\"us-docker.pkg.dev/test-project/retrain/serve:1\"}}]}"
REQUEST_TIMEOUT=20 e2e_start_nginx

event=(-H 'ce-specversion: 1.0' -H 'ce-type: google.cloud.storage.object.v1.finalized'
  -H 'Content-Type: application/json' -H 'ce-source: //storage.googleapis.com/projects/_/buckets/acme-data')
http POST / "${event[@]}" -H 'ce-id: done-1' --data '{"bucket":"acme-data","name":"quick/1.csv"}'
expect "the cheap event's first delivery trains (the quick rule)" "$STATUS/$(json_get status)" 200/submitted
# Every Vertex call of the slow rule (a TrainingPipeline) takes 4 s; the quick rule's do not.
curl -sS -X POST "$EMU/emulator/faults" -d "{\"latency_ms\":4000,\"paths\":\"/v1/$P/trainingPipelines\"}" >/dev/null

# cheap NAME [loadgen args]: a bounded stream of cheap requests beside the stall (about 2 s).
cheap() {
  local name=$1
  shift
  "$BUILD/loadgen" --url "$BASE/" --cacert "$BUILD/tls/cert.pem" --connections 6 --rate 25 \
    --requests 50 --max-seconds 8 "$@" >"$E2E_DIR/$name.json"
}
dups=("${event[@]}" -H 'ce-id: done-1' --body '{"bucket":"acme-data","name":"quick/1.csv"}')
busy() { "${CURL[@]}" --max-time 1 "$BASE/status" | jq -e '[.workers[] | select(.state == "busy" and .busy_ms >= 100)] | length == 1' >/dev/null; }

for ((r = 1; r <= ROUNDS; r++)); do
  echo "round $r: a delivery stalled 4 s on one worker; duplicates (HTTP/1.1, HTTP/2) and /healthz beside it"
  # Spread nginx's kept connections over both workers first, as a busy hour leaves them.
  "$BUILD/loadgen" --url "$BASE/" --cacert "$BUILD/tls/cert.pem" --connections 16 --requests 96 \
    --max-seconds 10 "${dups[@]}" >/dev/null
  "${CURL[@]}" -o "$E2E_DIR/slow.$r" -w '%{http_code}' -X POST "$BASE/" "${event[@]}" -H "ce-id: slow-$r" \
    --data "{\"bucket\":\"acme-data\",\"name\":\"slow/$r.csv\"}" >"$E2E_DIR/slow.$r.code" 2>/dev/null &
  slow=$!
  e2e_wait_for 5 busy || fail "round $r: the stalled delivery did not occupy a worker"
  cheap h1 "${dups[@]}" &
  s1=$!
  cheap h2 --http2 "${dups[@]}" &
  s2=$!
  "$BUILD/loadgen" --url "$BASE/healthz" --cacert "$BUILD/tls/cert.pem" --connections 2 --rate 10 \
    --requests 20 --max-seconds 8 >"$E2E_DIR/healthz.json" &
  s3=$!
  wait $s1 $s2 $s3
  stalled=$(kill -0 $slow 2>/dev/null && echo yes || echo no)
  wait $slow
  for s in h1:duplicate h2:duplicate healthz:ok; do
    name=${s%%:*} word=${s#*:}
    report=$(cat "$E2E_DIR/$name.json")
    total=$(json_get requests "$report")
    expect "round $r $name: every request answered 200 $word" \
      "$(json_get '.http."200"' "$report")/$(json_get ".answers.$word" "$report")" "$total/$total"
    slowest=$(json_get slowest_ms "$report")
    if [ -n "$slowest" ] && [ "$slowest" -lt "$BOUND_MS" ]; then
      pass "round $r $name: none of $total waited ${BOUND_MS} ms (slowest ${slowest} ms)"
    else
      fail "round $r $name: a cheap request waited ${slowest:-?} ms behind the stalled one"
    fi
  done
  expect "round $r: the stalled delivery was still running when the streams ended" "$stalled" yes
  expect "round $r: and was then answered" "$(cat "$E2E_DIR/slow.$r.code")/$(json_get status "$(cat "$E2E_DIR/slow.$r")")" \
    200/submitted
done
curl -sS -X POST "$EMU/emulator/faults" -d '{}' >/dev/null
e2e_check_logs "$E2E_DIR/nginx/access.log" "$E2E_DIR/pool.log"
e2e_finish
