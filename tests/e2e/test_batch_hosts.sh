#!/usr/bin/env bash
# Batches on two hosts sharing one PostgreSQL ledger, each its own nginx and pool (with its
# follower) on loopback, every event sent to both (Pub/Sub may deliver one event to either, and
# twice): a batch is submitted exactly once whichever host's worker or follower closes it.
#   - min_events 50 and a quiet period under 120 events: runs of 50, 50 and 20, each event in
#     exactly one of them, one job each;
#   - the marker delivered to both hosts at once: one run covering its directory;
#   - host a SIGKILLed (master, workers, follower) with a batch open: host b closes it.
. "$(dirname "$0")/lib.sh"
e2e_init

eval "$("$E2E_ROOT/tests/lib/pg.sh" start)"
e2e_pg_dir=$RETRAIN_TEST_PG_DIR
trap '"$E2E_ROOT/tests/lib/pg.sh" stop "$e2e_pg_dir" >/dev/null 2>&1; e2e_cleanup' EXIT
e2e_start_emulator --job-clock-ms 60000
e2e_use_emulator
stats() { curl -sS "$EMU/emulator/stats" | jq -r "$1"; }

rule() { # NAME GLOB BATCH
  cat <<EOF
{"name":"$1","action":"train","batch":$3,
 "match":{"type":"google.cloud.storage.object.v1.finalized","bucket":"acme-data","name":"$2"},
 "job":{"displayName":"$1-\${run_id}",
  "jobSpec":{"workerPoolSpecs":[{"machineSpec":{"machineType":"n1-standard-4"},"replicaCount":"1",
   "containerSpec":{"imageUri":"us-docker.pkg.dev/test-project/retrain/train:1","args":["--n=\${batch_size}"]}}]}}}
EOF
}
# shellcheck disable=SC2016 # the placeholders are the service's, not the shell's
cat >"$E2E_DIR/config.json" <<EOF
{"function":"retrain","workers":2,"request_timeout_s":20,"auth":{"disabled":true},
 "ledger":{"url":"$RETRAIN_TEST_PG_URL","lease_s":5},
 "vertex":{"project":"test-project","region":"us-central1","deadline_ms":3000},
 "follow":{"first_s":1,"max_s":1,"reads_per_minute":6000,"creates_per_minute":6000},
 "rules":[$(rule shards 'shards/*' '{"min_events":50,"quiet_period_s":2,"max_wait_s":300}'),
  $(rule marked 'm/**' '{"marker":"**/_SUCCESS","key":"${rule}/${name_dir}"}'),
  $(rule late 'late/*' '{"quiet_period_s":3}')]}
EOF
root=$E2E_DIR
e2e_host a "$E2E_DIR/config.json"
e2e_host b "$E2E_DIR/config.json"
# shellcheck disable=SC2154 # set by e2e_host
echo "hosts: a $BASE_a, b $BASE_b"
ce=(-H 'ce-specversion: 1.0' -H 'ce-type: google.cloud.storage.object.v1.finalized'
  -H 'Content-Type: application/json' -H 'ce-source: //storage.googleapis.com/projects/_/buckets/acme-data')
export RETRAIN_LEDGER="$RETRAIN_TEST_PG_URL"
load() { # BASE ID-PREFIX NAME-TEMPLATE N LOG
  "$BUILD/loadgen" --url "$1/" --cacert "$BUILD/tls/cert.pem" --requests "$4" --connections 4 \
    --retry-503 50 --max-seconds 60 "${ce[@]}" -H "ce-id: $2-{n}" \
    --body "{\"bucket\":\"acme-data\",\"name\":\"$3\"}" >"$5"
}
runs_of() { "$BUILD/retrainctl" runs list --rule "$1" --limit 5000; }
at_least() { [ "$(runs_of "$1" | jq -r 'select(.resource != null) | .id' | wc -l)" -ge "$2" ]; }
jobs_of() { e2e_rule_jobs "$1" | wc -l; }
events_per_run() { # RULE: how many events name each of its runs, sorted
  "$BUILD/retrainctl" events list --limit 5000 | jq -r --arg r "$1" 'select(.outcome.rule == $r) | .run' |
    sort | uniq -c | awk '{print $1}' | sort -n | tr '\n' ' '
}

echo "120 events, each delivered to both hosts at once"
load "$BASE_a" s 'shards/part-{n}.csv' 120 "$root/sa.json" &
pa=$!
load "$BASE_b" s 'shards/part-{n}.csv' 120 "$root/sb.json"
wait "$pa"
expect "every delivery acknowledged (2xx)" \
  "$(jq -s '[.[] | .http | to_entries[] | select(.key | test("^2")) | .value] | add' "$root/sa.json" "$root/sb.json")" 240
expect "each event batched once, its second delivery a duplicate" \
  "$(jq -rs '[(map(.answers.batched // 0) | add), (map(.answers.duplicate // 0) | add)] | map(tostring) | join(" ")' "$root/sa.json" "$root/sb.json")" \
  "120 120"
e2e_wait_for 20 at_least shards 3
sleep 2
expect "three runs: 50, 50 and 20 (the last by its quiet period)" \
  "$(runs_of shards | jq -r '[.events, .batch.closed_by] | map(tostring) | join(":")' | sort | paste -sd' ')" \
  "20:quiet_period 50:min_events 50:min_events"
expect "each event in exactly one run" "$(events_per_run shards)" "20 50 50 "
expect "one job per run" "$(jobs_of shards)" 3

echo "30 shards in m/d1/ over both hosts, then the marker to both at once"
load "$BASE_a" ma 'm/d1/a-{n}.csv' 15 "$root/ma.json" &
pa=$!
load "$BASE_b" mb 'm/d1/b-{n}.csv' 15 "$root/mb.json"
wait "$pa"
load "$BASE_a" marker 'm/d1/_SUCCESS' 1 "$root/ka.json" &
pa=$!
load "$BASE_b" marker 'm/d1/_SUCCESS' 1 "$root/kb.json"
wait "$pa"
e2e_wait_for 20 at_least marked 1
sleep 2
expect "one run of 31, closed by the marker" \
  "$(runs_of marked | jq -r '[.events, .batch.closed_by, .batch.key] | map(tostring) | join(" ")')" "31 marker marked/m/d1"
expect "one job" "$(jobs_of marked)" 1

echo "host a killed with a batch open: host b closes it"
load "$BASE_a" l 'late/part-{n}.csv' 10 "$root/la.json"
# shellcheck disable=SC2154 # set by e2e_host
e2e_stop_group "$POOL_a" KILL
expect "host a is gone" "$(kill -0 -- "-$POOL_a" 2>/dev/null && echo alive || echo gone)" gone
e2e_wait_for 20 at_least late 1
expect "one run of 10, submitted by host b's follower" \
  "$(runs_of late | jq -r '[.events, .batch.closed_by] | map(tostring) | join(" ")')/$(grep -c 'queued -> submitted (.*; 10 events)' "$root/b/pool.log")" \
  "10 quiet_period/1"
expect "one job" "$(jobs_of late)" 1
expect "creates at Google: one per run" "$(stats '.created.customJobs')" 5

e2e_check_logs "$root/a/pool.log" "$root/b/pool.log" "$root/b/nginx/access.log"
e2e_finish
