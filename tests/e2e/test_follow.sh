#!/usr/bin/env bash
# The follower end to end: nginx over TLS, the pool running "retrain" with its follower, the
# SQLite ledger (or RETRAIN_E2E_LEDGER) and the strict emulator, whose jobs and pipelines go
# PENDING -> RUNNING -> SUCCEEDED (or FAILED) on its clock. Every run is followed to its end: a
# job that succeeds, one whose reads meet the read quota (429s), one that fails at Google (the run keeps Google's error, its event becomes a
# replayable dead letter, and the replay is a new run), a pipeline whose model version is
# recorded, a run cancelled by hand, runs left open across a restart of the pool, and the
# follower's reads staying within their budget (counted at the emulator).
. "$(dirname "$0")/lib.sh"
e2e_init

LEDGER_URL=${RETRAIN_E2E_LEDGER:-sqlite://$E2E_DIR/ledger.db}
e2e_start_emulator --job-clock-ms 1500
e2e_use_emulator
stats() { curl -sS "$EMU/emulator/stats" | jq -r "$1"; }
curl -sS -X POST "$EMU/emulator/vertex/models" -d '{"project":"test-project",
  "location":"us-central1","modelId":"churn","model":{"displayName":"churn"}}' >/dev/null

train_rule() { # NAME GLOB DISPLAY-NAME-PREFIX
  cat <<EOF
{"name":"$1","action":"train",
 "match":{"type":"google.cloud.storage.object.v1.finalized","bucket":"acme-data","name":"$2"},
 "job":{"displayName":"$3-\${event_id}",
  "jobSpec":{"workerPoolSpecs":[{"machineSpec":{"machineType":"n1-standard-4"},"replicaCount":"1",
   "containerSpec":{"imageUri":"us-docker.pkg.dev/test-project/retrain/train:1","args":["--input=\${gcs_uri}"]}}]}}}
EOF
}
config() { # FOLLOW-SECTION
  cat <<EOF
{"function":"retrain","workers":2,"request_timeout_s":20,"auth":{"disabled":true},
 "ledger":{"url":"$LEDGER_URL","lease_s":5},
 "vertex":{"project":"test-project","region":"us-central1","deadline_ms":5000},
 "follow":$1,
 "rules":[
  $(train_rule good 'good/*.csv' good),
  $(train_rule bad 'bad/*.csv' fail),
  {"name":"churn","action":"train_and_register",
   "match":{"type":"google.cloud.storage.object.v1.finalized","bucket":"acme-data","name":"churn/*.csv"},
   "job":{"displayName":"churn-\${event_id}",
    "jobSpec":{"workerPoolSpecs":[{"machineSpec":{"machineType":"n1-standard-4"},"replicaCount":"1",
     "containerSpec":{"imageUri":"us-docker.pkg.dev/test-project/retrain/train:1","args":["--data=\${gcs_uri}"]}}]}},
   "model":{"parent":"$P/models/churn","container_image":"us-docker.pkg.dev/test-project/retrain/serve:1"}}]}
EOF
}
config '{"first_s":2,"max_s":2,"reads_per_minute":600,"creates_per_minute":6000}' >"$E2E_DIR/retrain.json"
e2e_start_pool "$(cat "$E2E_DIR/retrain.json")"
e2e_start_nginx
export RETRAIN_LEDGER="$LEDGER_URL" RETRAIN_CONFIG="$E2E_DIR/retrain.json"

ce=(-H 'ce-specversion: 1.0' -H 'ce-type: google.cloud.storage.object.v1.finalized'
  -H 'Content-Type: application/json')
send() { # ID OBJECT: one storage event in binary mode
  http POST / "${ce[@]}" -H "ce-id: $1" -H "ce-source: //storage.googleapis.com/projects/_/buckets/acme-data" \
    -H "ce-subject: objects/$2" -H 'ce-time: 2026-12-04T07:00:00Z' \
    --data "{\"bucket\":\"acme-data\",\"name\":\"$2\",\"generation\":\"1764140400000001\"}"
}
run_of() { "$BUILD/retrainctl" runs show "$1"; }
run_state() { run_of "$1" | jq -r .state; }
state_is() { [ "$(run_state "$1")" = "$2" ]; }
wait_state() { e2e_wait_for "${3:-20}" state_is "$1" "$2"; } # RUN STATE [SECONDS]

echo "a job that succeeds: the run is followed to its end"
send g-1 good/a.csv
expect "good: submitted" "$STATUS/$(json_get status)" 200/submitted
grun=$(json_get run) gjob=$(json_get resource) gkey=$(json_get .event.key)
wait_state "$grun" succeeded
got=$(run_of "$grun")
gtimes=$(vx "$EMU/v1/$gjob" | jq -r '[.startTime, .endTime] | map(sub("\\.[0-9]*Z$"; "")) | join(" ")')
expect "good: the run succeeded, started and ended when Google says" \
  "$(jq -r '[.state, .resource, (.started | sub("\\.[0-9]*Z$"; "")), (.ended | sub("\\.[0-9]*Z$"; "")), .error] | map(tostring) | join(" ")' <<<"$got")" \
  "succeeded $gjob $gtimes null"
expect "good: Google agrees" "$(vx "$EMU/v1/$gjob" | jq -r .state)" JOB_STATE_SUCCEEDED
expect "good: the event is still done" "$("$BUILD/retrainctl" events show "$gkey" | jq -r '.status + " " + .run')" "done $grun"
expect_match "good: one log line for the change, with the run and its job" \
  "$(grep -c "run $grun: [a-z]* -> succeeded ($gjob)" "$E2E_DIR/pool.log")" '^1$'

echo "the read quota exhausted (429 to customJobs.get): the follower waits and looks again"
curl -sS -X POST "$EMU/emulator/faults" -d '{"rate_429":1,"routes":["customJobs.get"],"limit":3}' >/dev/null
send g-2 good/b.csv
expect "429: submitted (creates are not refused)" "$STATUS/$(json_get status)" 200/submitted
g2run=$(json_get run)
wait_state "$g2run" succeeded 40
expect "429: followed to its end all the same" "$(run_state "$g2run")" succeeded
expect "429: three reads were refused" "$(curl -sS "$EMU/emulator/stats" | jq -r '.faults_by_route["customJobs.get"] // 0')" 3
http GET /metrics
expect_match "429: counted in the pool's metrics" "$BODY" \
  'retrain_vertex_calls_total\{method="GET",call="customJobs",code="429"\} 3'
curl -sS -X POST "$EMU/emulator/faults" -d '{}' >/dev/null

echo "a job that fails at Google: the run keeps Google's error; the event is a dead letter"
send b-1 bad/a.csv
expect "bad: submitted first" "$STATUS/$(json_get status)" 200/submitted
brun=$(json_get run) bjob=$(json_get resource) bkey=$(json_get .event.key)
wait_state "$brun" failed
gerr=$(vx "$EMU/v1/$bjob" | jq -c '.error | {code, message}')
expect_match "bad: Google failed the job" "$gerr" '"code":[1-9]'
expect "bad: the run has Google's code and message" "$(run_of "$brun" | jq -c '.error')" "$gerr"
rec=$("$BUILD/retrainctl" events show "$bkey")
expect "bad: its event is failed and names the run" "$(jq -r '.status + " " + .run' <<<"$rec")" "failed $brun"
expect_match "bad: and says why" "$(jq -r .last_error <<<"$rec")" "^run $brun failed at Google: "
expect "bad: listed among the dead letters" \
  "$("$BUILD/retrainctl" events list --status failed | jq -r 'select(.key == "'"$bkey"'") | .key')" "$bkey"
out=$("$BUILD/retrainctl" replay "$bkey" 2>"$E2E_DIR/replay.err"); rc=$?
expect "bad: replay submits again (exit 0)" "$rc/$(json_get status "$out")" 0/submitted
rrun=$(json_get run "$out")
expect_match "bad: the replay is a new run" "$rrun" "^[0-9a-f]{24}$"
expect "bad: not the failed one" "$([ "$rrun" != "$brun" ] && echo new)" new
expect "bad: the event names the new run" "$("$BUILD/retrainctl" events show "$bkey" | jq -r .run)" "$rrun"
wait_state "$rrun" failed
expect "bad: the failed run is left as it was" "$(run_of "$brun" | jq -c '[.state, .error]')" "[\"failed\",$gerr]"

echo "a pipeline that registers a version: the run names it"
send c-1 churn/a.csv
expect "churn: submitted" "$STATUS/$(json_get status)" 200/submitted
crun=$(json_get run) cpipe=$(json_get resource)
wait_state "$crun" succeeded
want=$(vx "$EMU/v1/$cpipe" | jq -r '.modelToUpload | (.name | sub("@.*"; "")) + "@" + .versionId + " " + .versionId')
expect_match "churn: Google made a version" "$want" "^$P/models/churn@[0-9]+ [0-9]+$"
expect "churn: the run records it" "$(run_of "$crun" | jq -r '.model_version + " " + .model_version_id')" "$want"

echo "a run cancelled by hand"
send x-1 good/cancel.csv
xrun=$(json_get run) xjob=$(json_get resource)
out=$("$BUILD/retrainctl" runs cancel "$xrun" 2>"$E2E_DIR/cancel.err"); rc=$?
expect "cancel: exit 0" "$rc" 0
expect_match "cancel: Google is cancelling the job" "$(vx "$EMU/v1/$xjob" | jq -r .state)" "^JOB_STATE_CANCELL(ING|ED)$"
wait_state "$xrun" cancelled 10
expect "cancel: the run is cancelled" "$(run_state "$xrun")" cancelled
"$BUILD/retrainctl" runs cancel "$xrun" >/dev/null 2>"$E2E_DIR/cancel2.err"; rc=$?
expect "cancel again: exit 1, it has ended" "$rc" 1
expect_match "cancel again: says so" "$(cat "$E2E_DIR/cancel2.err")" "has ended already: cancelled"
"$BUILD/retrainctl" runs cancel 0123456789abcdef01234567 >/dev/null 2>&1; rc=$?
expect "cancel an unknown run: exit 1" "$rc" 1

echo "metrics: the runs by rule and state, from the ledger"
http GET /metrics
expect_match "metrics: the good rule's succeeded runs" "$BODY" 'retrain_runs\{rule="good",state="succeeded"\} 2'
expect_match "metrics: the bad rule's two failed runs" "$BODY" 'retrain_runs\{rule="bad",state="failed"\} 2'
expect_match "metrics: the cancelled one" "$BODY" 'retrain_runs\{rule="good",state="cancelled"\} 1'
expect_match "metrics: none open" "$BODY" 'retrain_runs_open 0'

echo "runs open across a restart of the pool are followed to their end after it"
ids=()
for i in 1 2 3; do
  send r-$i "good/restart-$i.csv"
  ids+=("$(json_get run)")
done
e2e_stop_group "$POOL_PID"
sleep 3.5 # Google finishes the jobs while no follower runs
open=0
for r in "${ids[@]}"; do [ "$(run_state "$r")" = submitted ] && open=$((open + 1)); done
expect "restart: the three runs are still open in the ledger" "$open" 3
e2e_start_pool "$(cat "$E2E_DIR/retrain.json")"
done_n=0
for r in "${ids[@]}"; do wait_state "$r" succeeded && done_n=$((done_n + 1)); done
expect "restart: all three followed to succeeded" "$done_n" 3
expect_match "restart: the follower started again" "$(grep -c 'follower started' "$E2E_DIR/pool.log")" '^[2-9]$'

echo "the follower's reads stay within their budget: 60 a minute for 20 open runs"
e2e_stop_group "$POOL_PID"
curl -sS -X POST "$EMU/emulator/config" -d '{"job_clock_ms":600000}' >/dev/null # jobs run 20 min
config '{"first_s":1,"max_s":1,"reads_per_minute":60,"creates_per_minute":6000}' >"$E2E_DIR/budget.json"
e2e_start_pool "$(cat "$E2E_DIR/budget.json")"
for i in $(seq 20); do send "q-$i" "good/budget-$i.csv"; done
expect "budget: 20 runs submitted" "$("$BUILD/retrainctl" runs list --state submitted --limit 1000 | wc -l)" 20
before=$(stats '.requests["customJobs.get"] // 0')
t0=$SECONDS
sleep 10
reads=$(($(stats '.requests["customJobs.get"] // 0') - before)) secs=$((SECONDS - t0))
# A burst of 5, then one a second: unbudgeted, 20 runs looked at every second would be ~200.
expect "budget: the follower read (at least the burst)" "$([ "$reads" -ge 5 ] && echo yes)" yes
expect "budget: at most 5 + 1/s over ${secs}s (read $reads)" "$([ "$reads" -le $((5 + secs + 1)) ] && echo within)" within
echo "  (reads in ${secs}s: $reads)"

e2e_stop_group "$POOL_PID"
# shellcheck disable=SC2119 # no files named: the default logs, those this test made
e2e_check_logs
e2e_finish
