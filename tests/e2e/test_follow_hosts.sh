#!/usr/bin/env bash
# Two hosts on one PostgreSQL ledger, each its own nginx and pool (with its follower) on
# loopback, deliveries spread across both, and one host SIGKILLed (its master, workers and
# follower at once) while the runs are open: the other host follows every run to its end, one
# job per run, and each run's end is recorded once (a run two followers looked at together
# would be logged by both).
. "$(dirname "$0")/lib.sh"
e2e_init

eval "$("$E2E_ROOT/tests/lib/pg.sh" start)"
e2e_pg_dir=$RETRAIN_TEST_PG_DIR
trap '"$E2E_ROOT/tests/lib/pg.sh" stop "$e2e_pg_dir" >/dev/null 2>&1; e2e_cleanup' EXIT
e2e_start_emulator --job-clock-ms 3000 # a job runs about 6 s
e2e_use_emulator
stats() { curl -sS "$EMU/emulator/stats" | jq -r "$1"; }

cat >"$E2E_DIR/config.json" <<EOF
{"function":"retrain","workers":2,"request_timeout_s":20,"auth":{"disabled":true},
 "ledger":{"url":"$RETRAIN_TEST_PG_URL","lease_s":5},
 "vertex":{"project":"test-project","region":"us-central1","deadline_ms":3000},
 "follow":{"first_s":1,"max_s":1,"reads_per_minute":6000,"creates_per_minute":6000},
 "rules":[{"name":"good","action":"train",
  "match":{"type":"google.cloud.storage.object.v1.finalized","bucket":"acme-data","name":"good/*.csv"},
  "job":{"displayName":"good-\${event_id}",
   "jobSpec":{"workerPoolSpecs":[{"machineSpec":{"machineType":"n1-standard-4"},"replicaCount":"1",
    "containerSpec":{"imageUri":"us-docker.pkg.dev/test-project/retrain/train:1","args":["--input=\${gcs_uri}"]}}]}}}]}
EOF
root=$E2E_DIR
e2e_host a "$E2E_DIR/config.json"
e2e_host b "$E2E_DIR/config.json"
# shellcheck disable=SC2154 # set by e2e_host
echo "hosts: a $BASE_a, b $BASE_b"

ce=(-H 'ce-specversion: 1.0' -H 'ce-type: google.cloud.storage.object.v1.finalized'
  -H 'Content-Type: application/json')
send() { # ID OBJECT
  http POST / "${ce[@]}" -H "ce-id: $1" -H "ce-source: //storage.googleapis.com/projects/_/buckets/acme-data" \
    -H "ce-subject: objects/$2" --data "{\"bucket\":\"acme-data\",\"name\":\"$2\"}"
}
export RETRAIN_LEDGER="$RETRAIN_TEST_PG_URL"
runs() { "$BUILD/retrainctl" runs list --rule good --limit 1000; }

echo "20 deliveries spread over both hosts"
ok=0 ids=()
for i in $(seq 20); do
  if [ $((i % 2)) -eq 0 ]; then BASE=$BASE_a; else BASE=$BASE_b; fi
  send "h-$i" "good/$i.csv"
  [ "$STATUS/$(json_get status)" = 200/submitted ] && ok=$((ok + 1))
  ids+=("$(json_get run)")
done
expect "all 20 submitted" "$ok" 20
sleep 1.5 # both followers are looking at the runs now
# shellcheck disable=SC2154 # set by e2e_host
e2e_stop_group "$POOL_a" KILL
expect "host a is gone" "$(kill -0 -- "-$POOL_a" 2>/dev/null && echo alive || echo gone)" gone
open_runs() { runs | jq -r 'select(.state == "submitted" or .state == "running") | .id' | wc -l; }
none_open() { [ "$(open_runs)" -eq 0 ]; }
e2e_wait_for 60 none_open
expect "no run left open" "$(open_runs)" 0
expect "every run succeeded" "$(runs | jq -r .state | sort | uniq -c | awk '{print $2 "=" $1}' | paste -sd,)" succeeded=20
expect "one job per run" "$(stats .created.customJobs)" 20
twice=0 never=0
for r in "${ids[@]}"; do
  n=$(cat "$root/a/pool.log" "$root/b/pool.log" | grep -c "run $r: [a-z]* -> succeeded")
  [ "$n" -gt 1 ] && twice=$((twice + 1))
  [ "$n" -eq 0 ] && never=$((never + 1))
done
expect "each run's end recorded by one follower, once" "$twice/$never" 0/0
expect_match "host b followed runs after a died" "$(grep -c -- '-> succeeded' "$root/b/pool.log")" '^[1-9][0-9]*$'

e2e_check_logs "$root/a/pool.log" "$root/b/pool.log" "$root/b/nginx/access.log"
e2e_finish
