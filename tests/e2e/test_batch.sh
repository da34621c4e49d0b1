#!/usr/bin/env bash
# Batches end to end: nginx over TLS, the pool running "retrain" with its follower, the SQLite
# ledger (or RETRAIN_E2E_LEDGER) and the strict emulator, its Cloud Storage included.
#   - 200 shards and then _SUCCESS in ds/2026-12-03/ and, interleaved, 50 shards in
#     ds/2026-12-04/ without a marker, for a rule keyed by directory with a marker and
#     max_wait_s: one run for the 201 events of the first directory at the marker, one for the
#     second after max_wait_s, each manifest (written through the JSON API) listing exactly its
#     events, and each job naming its manifest;
#   - a quiet period of 3 s under 1,000 events arriving over 5 s: one run, after the last event;
#   - min_events 100 with 250 events: two runs of 100 and a batch of 50 still open, listed by
#     `retrainctl batches list` with what it waits for, and counted on /metrics;
#   - on_timeout expire: the batch ends cancelled, its events `expired`, listed and replayable;
#   - the follower killed right after Google accepted a batch's create (before it recorded the
#     run): the next follower adopts the job by its label, one run and one job;
#   - Cloud Storage failing (503): the batch stays queued, and is submitted once a write of its
#     manifest succeeds.
. "$(dirname "$0")/lib.sh"
e2e_init

LEDGER_URL=${RETRAIN_E2E_LEDGER:-sqlite://$E2E_DIR/ledger.db}
e2e_start_emulator --job-clock-ms 60000
e2e_use_emulator
stats() { curl -sS "$EMU/emulator/stats" | jq -r "$1"; }
faults() { curl -sS -X POST "$EMU/emulator/faults" -d "$1" >/dev/null; }

rule() { # NAME GLOB BATCH
  cat <<EOF
{"name":"$1","action":"train","batch":$3,
 "match":{"type":"google.cloud.storage.object.v1.finalized","bucket":"acme-data","name":"$2"},
 "job":{"displayName":"$1-\${run_id}",
  "jobSpec":{"workerPoolSpecs":[{"machineSpec":{"machineType":"n1-standard-4"},"replicaCount":"1",
   "containerSpec":{"imageUri":"us-docker.pkg.dev/test-project/retrain/train:1",
    "args":["--batch=\${batch_size}","--prefix=\${batch_prefix}","--run=\${run_id}"${4:-}]}}]}}}
EOF
}
# shellcheck disable=SC2016 # the placeholders are the service's, not the shell's
cat >"$E2E_DIR/retrain.json" <<EOF
{"function":"retrain","workers":4,"request_timeout_s":20,"auth":{"disabled":true},
 "ledger":{"url":"$LEDGER_URL","lease_s":10},
 "vertex":{"project":"test-project","region":"us-central1","deadline_ms":2000},
 "storage":{"endpoint":"$EMU","timeout_ms":2000},
 "follow":{"first_s":1,"max_s":2,"reads_per_minute":600,"creates_per_minute":300},
 "rules":[
  $(rule dirs 'ds/**' '{"key":"${rule}/${name_dir}","marker":"**/_SUCCESS","max_wait_s":12,"manifest":"gs://acme-data/manifests"}' ',"--manifest=${batch_manifest_uri}","--dir=${name_dir}"'),
  $(rule quiet 'quiet/*.csv' '{"quiet_period_s":3,"max_wait_s":600}'),
  $(rule count 'count/*.csv' '{"min_events":100}'),
  $(rule expiring 'exp/*' '{"marker":"**/_DONE","max_wait_s":3,"on_timeout":"expire"}'),
  $(rule stored 'stored/*' '{"min_events":2,"manifest":"gs://acme-data/manifests"}' ',"--manifest=${batch_manifest_uri}"'),
  $(rule crashy 'crash/*' '{"min_events":3,"manifest":"gs://acme-data/manifests"}' ',"--manifest=${batch_manifest_uri}"')]}
EOF
export RETRAIN_TEST_HOOKS=1 RETRAIN_TEST_CRASH_AFTER_CREATE=crashy
e2e_start_pool "$(cat "$E2E_DIR/retrain.json")"
e2e_start_nginx
export RETRAIN_LEDGER="$LEDGER_URL" RETRAIN_CONFIG="$E2E_DIR/retrain.json"
ce=(-H 'ce-specversion: 1.0' -H 'ce-type: google.cloud.storage.object.v1.finalized'
  -H 'Content-Type: application/json' -H 'ce-source: //storage.googleapis.com/projects/_/buckets/acme-data')
runs_of() { "$BUILD/retrainctl" runs list --rule "$1" --limit 5000; }
submitted_of() { runs_of "$1" | jq -r 'select(.resource != null) | .id' | wc -l; }
jobs_of() { e2e_rule_jobs "$@"; }
load() { # ID-PREFIX NAME-TEMPLATE N [loadgen options...]: N events, answers 202 batched
  local id=$1 name=$2 n=$3
  shift 3
  "$BUILD/loadgen" --url "$BASE/" --cacert "$BUILD/tls/cert.pem" --requests "$n" --retry-503 50 \
    --max-seconds 60 "$@" "${ce[@]}" -H "ce-id: $id-{n}" --body "{\"bucket\":\"acme-data\",\"name\":\"$name\"}"
}
at_least() { [ "$(submitted_of "$1")" -ge "$2" ]; } # RULE N: N runs of RULE reached Google
expired_at_least() { [ "$("$BUILD/retrainctl" events list --status expired | wc -l)" -ge "$1" ]; }
jobs_at_least() { [ "$(jobs_of "$1" | wc -l)" -ge "$2" ]; }
manifest_of() { # RUN RULE: the run's manifest as the emulator's Cloud Storage holds it
  vx "$EMU/storage/v1/b/acme-data/o/manifests%2F$2%2F$1.jsonl?alt=media"
}

echo "200 shards, then _SUCCESS, in ds/2026-12-03/; 50 shards in ds/2026-12-04/ meanwhile"
load d3 'ds/2026-12-03/part-{n}.csv' 200 --connections 8 >"$E2E_DIR/d3.json" &
d3=$!
load d4 'ds/2026-12-04/part-{n}.csv' 50 --connections 2 --rate 25 >"$E2E_DIR/d4.json"
wait "$d3"
t_marker=$(date +%s%3N)
for f in d3 d4; do
  expect "$f: every shard answered 202 batched" \
    "$(jq -r '[.http."202", .answers.batched] | map(tostring) | join(" ")' "$E2E_DIR/$f.json")" \
    "$(jq -r '.requests | "\(.) \(.)"' "$E2E_DIR/$f.json")"
done
expect "no run submitted before the marker" "$(submitted_of dirs)" 0
http POST / "${ce[@]}" -H "ce-id: d3-success" --data '{"bucket":"acme-data","name":"ds/2026-12-03/_SUCCESS"}'
expect "the marker: 202 batched, closing its batch of 201" \
  "$STATUS/$(json_get status)/$(json_get batch)/$(json_get batch_events)/$(json_get closed)" \
  "202/batched/dirs/ds/2026-12-03/201/true"
run3=$(json_get run)
e2e_wait_for 15 at_least dirs 1
t_sub=$(date +%s%3N)
expect "the marker's batch submitted at once (within 5 s)" "$(((t_sub - t_marker) < 5000))" 1
r3=$(runs_of dirs | jq -c --arg r "$run3" 'select(.id == $r)')
expect "its run covers 201 events, closed by the marker" \
  "$(jq -r '[.events, .batch.key, .batch.closed_by] | map(tostring) | join(" ")' <<<"$r3")" \
  "201 dirs/ds/2026-12-03 marker"
expect "the 12-04 batch still open" \
  "$("$BUILD/retrainctl" batches list --rule dirs | jq -r '[.key, .events, .state, .waits_for.marker, .waits_for.on_timeout] | map(tostring) | join(" ")')" \
  "dirs/ds/2026-12-04 50 open **/_SUCCESS submit"
manifest_of "$run3" dirs >"$E2E_DIR/m3.jsonl"
expect "its manifest: 201 lines" "$(wc -l <"$E2E_DIR/m3.jsonl")" 201
expect "its manifest lists exactly its events" \
  "$(jq -r '.name' "$E2E_DIR/m3.jsonl" | sort | md5sum)" \
  "$({ seq 0 199 | sed 's|^|ds/2026-12-03/part-|; s|$|.csv|'; echo ds/2026-12-03/_SUCCESS; } | sort | md5sum)"
expect "each line: bucket, name, event_id" \
  "$(jq -r 'select(.bucket == "acme-data" and (.event_id | startswith("d3-"))) | .name' "$E2E_DIR/m3.jsonl" | wc -l)" 201
jobs_of dirs >"$E2E_DIR/dirs-jobs.jsonl"
args3=$(jq -r --arg r "$run3" 'select(.displayName == "dirs-" + $r) | .jobSpec.workerPoolSpecs[0].containerSpec.args | join(" ")' "$E2E_DIR/dirs-jobs.jsonl")
expect "its job names the batch and the manifest" "$args3" \
  "--batch=201 --prefix=ds/2026-12-03/ --run=$run3 --manifest=gs://acme-data/manifests/dirs/$run3.jsonl --dir=ds/2026-12-03"
echo "the 12-04 batch after max_wait_s (12 s)"
e2e_wait_for 30 at_least dirs 2
r4=$(runs_of dirs | jq -c --arg r "$run3" 'select(.id != $r)')
run4=$(jq -r .id <<<"$r4")
expect "one more run: 50 events, closed by max_wait" \
  "$(jq -r '[.events, .batch.key, .batch.closed_by] | map(tostring) | join(" ")' <<<"$r4")" \
  "50 dirs/ds/2026-12-04 max_wait"
first4=$(jq -r .queued <<<"$r4")
sub4=$(jq -r .submitted <<<"$r4")
expect "not before its deadline" "$(jq -rn --arg a "$first4" --arg b "$sub4" \
  '(($b | sub("\\.[0-9]+Z$"; "Z") | fromdate) - ($a | sub("\\.[0-9]+Z$"; "Z") | fromdate)) >= 11')" true
manifest_of "$run4" dirs >"$E2E_DIR/m4.jsonl"
expect "its manifest lists exactly its 50 events" \
  "$(jq -r '.name' "$E2E_DIR/m4.jsonl" | sort | md5sum)" \
  "$(seq 0 49 | sed 's|^|ds/2026-12-04/part-|; s|$|.csv|' | sort | md5sum)"
expect "two jobs for the rule" "$(jobs_of dirs | wc -l)" 2
expect "every dirs event names one of the two runs (50 and 201)" \
  "$("$BUILD/retrainctl" events list --limit 5000 | jq -r 'select(.outcome.rule == "dirs") | .run' | sort | uniq -c | awk '{print $1}' | sort -n | tr '\n' ' ')" \
  "50 201 "

echo "a quiet period of 3 s under 1,000 events over 5 s: one run, after the last"
report=$(load q 'quiet/part-{n}.csv' 1000 --connections 8 --rate 200)
t_last=$(date +%s%3N)
expect "quiet: 1000 answered 202 batched" "$(json_get .answers.batched "$report")" 1000
expect "quiet: nothing submitted during the load" "$(submitted_of quiet)" 0
e2e_wait_for 20 at_least quiet 1
t_q=$(date +%s%3N)
sleep 1
expect "quiet: one run, 1000 events, closed by its quiet period" \
  "$(runs_of quiet | jq -r '[.events, .batch.closed_by] | map(tostring) | join(" ")')" "1000 quiet_period"
expect "quiet: submitted 3 s or more after the last event" "$(((t_q - t_last) >= 2900))" 1
expect "quiet: one job" "$(jobs_of quiet | wc -l)" 1

echo "min_events 100 with 250 events: two runs of 100, a batch of 50 open"
report=$(load c 'count/part-{n}.csv' 250 --connections 8)
expect "count: 250 answered 202 batched" "$(json_get .answers.batched "$report")" 250
e2e_wait_for 20 at_least count 2
sleep 2
expect "count: two runs of 100 submitted, closed by min_events" \
  "$(runs_of count | jq -r 'select(.resource != null) | [.events, .batch.closed_by] | map(tostring) | join(" ")' | sort | uniq -c | awk '{$1=$1; print}')" \
  "2 100 min_events"
expect "count: one batch of 50 open, 50 to go" \
  "$("$BUILD/retrainctl" batches list --rule count | jq -r '[.events, .state, .waits_for.events_to_go] | map(tostring) | join(" ")')" \
  "50 open 50"
expect "count: two jobs" "$(jobs_of count | wc -l)" 2
metrics=$(curl -sS --cacert "$BUILD/tls/cert.pem" "$BASE/metrics")
expect "metrics: the open batch and its events" \
  "$(grep -E '^retrain_(batches_open|batch_events)\{rule="count"\}' <<<"$metrics" | awk '{print $2}' | tr '\n' ' ')" "1 50 "
expect_match "metrics: its age" "$(grep '^retrain_batch_oldest_age_seconds{rule="count"}' <<<"$metrics")" ' [0-9]+\.[0-9]+$'

echo "on_timeout expire: nothing submitted, the events expired and replayable"
report=$(load x 'exp/part-{n}.csv' 5 --connections 1)
expect "expire: 5 answered 202 batched" "$(json_get .answers.batched "$report")" 5
e2e_wait_for 15 expired_at_least 5
expect "expire: the run cancelled, closed as expired, nothing at Google" \
  "$(runs_of expiring | jq -r '[.state, .batch.closed_by, .error.code, .resource] | map(tostring) | join(" ")')" \
  "cancelled expired 4 null"
expect "expire: no job" "$(jobs_of expiring | wc -l)" 0
key=$("$BUILD/retrainctl" events list --status expired | jq -r 'select(.id == "x-0") | .key')
out=$("$BUILD/retrainctl" replay "$key")
expect "expire: a replay joins a new batch" "$?/$(jq -r '[.status, .batch_events] | map(tostring) | join(" ")' <<<"$out")" "0/batched 1"

echo "Cloud Storage failing: the batch stays queued until its manifest is written"
faults '{"rate_503":1,"routes":["storage.objects.insert"],"limit":3}'
report=$(load s 'stored/part-{n}.csv' 2 --connections 1)
expect "storage: 2 answered 202 batched" "$(json_get .answers.batched "$report")" 2
e2e_wait_for 30 at_least stored 1
expect "storage: three writes refused, then the run submitted" \
  "$(stats '.faults_by_route["storage.objects.insert"] // 0')/$(submitted_of stored)/$(jobs_of stored | wc -l)" "3/1/1"
expect_match "storage: each refusal logged, the batch still queued" \
  "$(grep -c 'writing its manifest: gs://acme-data/manifests/stored/.*HTTP 503.*still queued' "$E2E_DIR/pool.log")" '^3$'
srun=$(runs_of stored | jq -r .id)
expect "storage: its manifest, written once Cloud Storage took it" "$(manifest_of "$srun" stored | wc -l)" 2
faults '{}'

echo "the follower killed right after Google accepted a batch's create"
report=$(load k 'crash/part-{n}.csv' 3 --connections 1)
expect "crash: 3 answered 202 batched" "$(json_get .answers.batched "$report")" 3
e2e_wait_for 10 jobs_at_least crashy 1
expect "crash: the job is made, the run not yet recorded" "$(submitted_of crashy)" 0
e2e_wait_for 40 at_least crashy 1
expect "crash: one run, adopted: one job" "$(submitted_of crashy)/$(jobs_of crashy | wc -l)" 1/1
expect_match "crash: the next follower adopted it" "$(grep -c 'queued -> submitted (.*, adopted; 3 events)' "$E2E_DIR/pool.log")" '^1$'

expect "no secret in the pool's log" "$(grep -c 'ya29\.' "$E2E_DIR/pool.log")" 0
e2e_stop_group "$POOL_PID"
# shellcheck disable=SC2119 # no files named: the default logs, those this test made
e2e_check_logs
e2e_finish
