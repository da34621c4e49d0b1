#!/usr/bin/env bash
# One trace joins a delivery and the job it started: the W3C traceparent an event arrives with
# goes on the Vertex AI create the worker makes (as sent: we record no span of our own), into
# the run record, onto the follower's reads of that job, and onto the notice of the run's end;
# the worker's and the follower's log lines name the trace. A delivery without one starts calls
# that carry none, and a malformed one is ignored.
. "$(dirname "$0")/lib.sh"
e2e_init
e2e_start_emulator --job-clock-ms 300
e2e_use_emulator
LEDGER_URL="sqlite://$E2E_DIR/ledger.db"
cat >"$E2E_DIR/retrain.json" <<EOF
{"function":"retrain","workers":2,"request_timeout_s":20,"auth":{"disabled":true},"project":"test-project",
 "ledger":{"url":"$LEDGER_URL","lease_s":5},
 "vertex":{"project":"test-project","region":"us-central1","deadline_ms":5000},
 "follow":{"first_s":1,"max_s":1,"reads_per_minute":600,"creates_per_minute":6000},
 "notify":{"url":"$EMU/emulator/sink/runs"},
 "rules":[{"name":"good","action":"train",
  "match":{"type":"google.cloud.storage.object.v1.finalized","bucket":"acme-data","name":"good/*.csv"},
  "job":{"displayName":"good-\${event_id}",
   "jobSpec":{"workerPoolSpecs":[{"machineSpec":{"machineType":"n1-standard-4"},"replicaCount":"1",
    "containerSpec":{"imageUri":"us-docker.pkg.dev/test-project/retrain/train:1"}}]}}}]}
EOF
e2e_start_pool "$(cat "$E2E_DIR/retrain.json")"
e2e_start_nginx
export RETRAIN_LEDGER="$LEDGER_URL" RETRAIN_CONFIG="$E2E_DIR/retrain.json"

send() { # ID OBJECT [HEADER...]: one storage event in binary mode
  local id=$1 name=$2
  shift 2
  http POST / -H 'ce-specversion: 1.0' -H 'ce-type: google.cloud.storage.object.v1.finalized' \
    -H 'ce-source: //storage.googleapis.com/projects/_/buckets/acme-data' -H "ce-id: $id" \
    -H "ce-subject: objects/$name" -H 'Content-Type: application/json' "$@" \
    --data "{\"bucket\":\"acme-data\",\"name\":\"$name\",\"generation\":\"1\"}"
}
# The traceparents the emulator saw on calls of ROUTE (a jq regex), one a line.
seen() { curl -sS "$EMU/emulator/traces" | jq -r --arg r "$1" '.traces[] | select(.route | test($r)) | .traceparent'; }
run_of() { "$BUILD/retrainctl" runs show "$1"; }
succeeded() { [ "$(run_of "$1" | jq -r .state)" = succeeded ]; }
noticed() { curl -sS "$EMU/emulator/sink" | jq -e --arg id "$1" '.received[] | select(.headers["ce-id"] == $id)' >/dev/null; }

TP=00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01
TRACE=4bf92f3577b34da6a3ce929d0e0e4736

echo "a delivery with a traceparent"
send t-1 good/a.csv -H "traceparent: $TP"
expect "submitted" "$STATUS/$(json_get status)" 200/submitted
RUN=$(json_get run)
expect "the create carried the delivery's traceparent, as sent" "$(seen '^customJobs.create$' | head -n 1)" "$TP"
expect "the run records it" "$(run_of "$RUN" | jq -r .trace)" "$TP"
if e2e_wait_for 20 succeeded "$RUN"; then pass "the follower followed the run to its end"; else fail "run $RUN did not succeed"; fi
expect "the follower's reads of the job carried it" \
  "$(seen '^customJobs.get$' | sort -u | tr '\n' ' ')" "$TP "
if e2e_wait_for 20 noticed "$RUN"; then pass "the notice of the end arrived"; else fail "no notice for $RUN"; fi
expect "the notice carries it" \
  "$(curl -sS "$EMU/emulator/sink" | jq -r --arg id "$RUN" '.received[] | select(.headers["ce-id"] == $id) | .headers.traceparent')" "$TP"
expect_match "the worker's log line for the event names the trace" \
  "$(grep '"event_id":"t-1"' "$E2E_DIR/pool.log" | head -n 1)" \
  "\"logging.googleapis.com/trace\":\"projects/test-project/traces/$TRACE\""
expect_match "the follower's log line for the run names it too" \
  "$(grep "\"component\":\"follower\"" "$E2E_DIR/pool.log" | grep "$RUN" | head -n 1)" \
  "\"logging.googleapis.com/trace\":\"projects/test-project/traces/$TRACE\""

echo "a delivery without one, and one with a malformed one"
before=$(seen '^customJobs.create$' | wc -l)
send t-2 good/b.csv
RUN2=$(json_get run)
send t-3 good/c.csv -H 'traceparent: 00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01'
RUN3=$(json_get run)
expect "their creates carried none" "$(seen '^customJobs.create$' | tail -n +$((before + 1)) | tr '\n' '|')" "||"
expect "the runs record none" "$(run_of "$RUN2" | jq -r .trace)/$(run_of "$RUN3" | jq -r .trace)" "null/null"
expect "the traced run is not touched" "$(run_of "$RUN" | jq -r .trace)" "$TP"

e2e_finish
