#!/usr/bin/env bash
# The SQLite ledger's files changed under the running pool, as an unlucky operator or another
# program changes them: nginx over TLS, two real workers running "retrain", the emulator's
# Vertex AI (every event of the rule becomes a CustomJob labelled with its key).
#  - The -shm made read-only (which binds no root process) and then truncated, as a program
#    that rewrites it does: SQLite's mapping of it raises SIGBUS in every worker that reads it.
#    No worker dies of that signal; a delivery answers 503 or 200, never an error page, and
#    each event still makes one CustomJob.
#  - The ledger deleted (the file, its -wal and -shm) after a backup: new deliveries answer 503
#    with Retry-After, never 200 (work recorded in a file nobody will read again); /readyz says
#    why; a worker that held the file exits to be replaced (status 4), and nothing creates an
#    empty ledger in its place: not the workers, however often they restart, nor the gc child,
#    nor retrainctl. Once the backup is restored, the events finished before are duplicates
#    and those refused meanwhile run: one CustomJob each, none twice.
#  - A pool whose SQLite ledger cannot be opened at its start exits 1 with the reason.
. "$(dirname "$0")/lib.sh"
e2e_init

DB="$E2E_DIR/ledger.db"
e2e_start_emulator --job-clock-ms 300
e2e_use_emulator
jobs_for() { e2e_jobs_labelled "$(key_of "$1")"; } # ID: customJobs labelled with ID's key
e2e_start_pool "{\"function\":\"retrain\",\"workers\":2,\"auth\":{\"disabled\":true},
 \"ledger\":{\"url\":\"sqlite://$DB\",\"lease_s\":5,\"gc_interval_s\":1},
 \"vertex\":{\"project\":\"test-project\",\"region\":\"us-central1\",\"deadline_ms\":5000},
 \"follow\":{\"creates_per_minute\":6000},
 \"rules\":[{\"name\":\"churn\",\"action\":\"train\",
  \"match\":{\"type\":\"google.cloud.storage.object.v1.finalized\",\"bucket\":\"acme-data\",\"name\":\"churn/*.csv\"},
  \"job\":{\"displayName\":\"churn-\${event_id}\",\"jobSpec\":{\"workerPoolSpecs\":[{
   \"machineSpec\":{\"machineType\":\"n1-standard-4\"},\"replicaCount\":\"1\",
   \"containerSpec\":{\"imageUri\":\"us-docker.pkg.dev/test-project/retrain/train:1\",
    \"args\":[\"--input=\${gcs_uri}\"]}}]}}}]}"
e2e_start_nginx

declare -A KEYS
key_of() { echo "${KEYS[$1]}"; }
send() { # ID: one delivery of the storage event ID (its object churn/ID.csv)
  http POST / -H 'ce-specversion: 1.0' -H 'ce-type: google.cloud.storage.object.v1.finalized' \
    -H 'ce-source: //storage.googleapis.com/projects/_/buckets/acme-data' -H "ce-id: $1" \
    -H 'Content-Type: application/json' \
    --data "{\"bucket\":\"acme-data\",\"name\":\"churn/$1.csv\",\"generation\":\"1\"}"
  local key
  key=$(json_get event.key)
  [ -n "$key" ] && KEYS[$1]=$key
  return 0
}
# Redelivers ID as Eventarc does after a 503, at most 60 times 0.25 s apart, until it is
# acknowledged; SEEN gets every status answered on the way.
redeliver() {
  local i
  SEEN=""
  for _ in $(seq 60); do
    send "$1"
    SEEN="$SEEN $STATUS"
    [ "$STATUS" = 503 ] || return 0
    sleep 0.25
  done
}
retry_after() { printf '%s' "$HEADERS" | tr -d '\r' | grep -i '^retry-after:' | cut -d' ' -f2; }
worker_pids() { "${CURL[@]}" "$BASE/status" | jq -r '.workers[] | select(.pid > 0) | .pid' | sort; }
log_count() { grep -c -- "$1" "$E2E_DIR/pool.log"; }

echo "the -shm made read-only, then truncated under the pool"
send c-1
expect "c-1: trained" "$STATUS/$(json_get status)" 200/submitted
signals_before=$(log_count 'died on signal')
chmod 0444 "$DB-shm"
truncate -s 0 "$DB-shm"
statuses=""
for id in c-2 c-3 c-4 c-5; do
  redeliver "$id"
  statuses="$statuses$SEEN"
  expect "$id: acknowledged in the end, trained" "$STATUS/$(json_get status)" 200/submitted
done
expect_match "every answer meanwhile a 503 or a 200 (${statuses# })" "$statuses" '^( (200|503))+$'
expect "no worker died of a signal" "$(log_count 'died on signal')" "$signals_before"
expect_match "the fault was SQLite's SIGBUS, turned into an error" \
  "$(log_count 'faulted (SIGBUS)')" '^[1-9]'
for id in c-1 c-2 c-3 c-4 c-5; do
  expect "$id: one CustomJob" "$(jobs_for "$id")" 1
done
expect "the ledger is intact" "$(sqlite3 -cmd '.timeout 5000' "$DB" 'PRAGMA integrity_check')" ok

echo "three events, then a backup of the ledger"
for id in a-1 a-2 a-3; do
  send "$id"
  expect "$id: trained" "$STATUS/$(json_get status)" 200/submitted
done
sqlite3 -cmd '.timeout 5000' "$DB" ".backup '$E2E_DIR/backup.db'"

echo "the ledger deleted under the pool"
rm -f "$DB" "$DB-wal" "$DB-shm"
for id in b-1 b-2 b-3; do
  send "$id"
  expect "$id while the ledger is gone: 503, with Retry-After" "$STATUS/$(retry_after)" 503/10
done
send a-1
expect_match "a-1 again: a duplicate (remembered) or 503, never run again" \
  "$STATUS/$(json_get status)" '^(200/duplicate|503/)$'
http GET /readyz
expect_match "/readyz: not ready, saying why" "$STATUS $(json_get message)" \
  '^503 ledger unavailable: .*ledger\.db(-wal|-shm)? was deleted|^503 ledger unavailable: .*no ledger at'
if e2e_wait_for 10 test "$(log_count 'exited with status 4')" -ge 1; then
  pass "a worker that held the deleted file exited with status 4 to be replaced"
else
  fail "no worker exited with status 4: $(grep -c 'worker' "$E2E_DIR/pool.log") worker lines"
fi

echo "the workers restart (as when recycled): none creates an empty ledger"
before=$(worker_pids | tr '\n' ' ')
# shellcheck disable=SC2086 # one pid a word
kill -TERM $before
e2e_wait_for 10 test "$(comm -12 <(echo "$before" | tr ' ' '\n' | sort) <(worker_pids) | grep -c .)" -eq 0
e2e_wait_for 10 test "$(worker_pids | wc -l)" -eq 2
send b-1
expect "b-1 with fresh workers and no ledger: 503" "$STATUS" 503
http GET /readyz
expect_match "/readyz names the missing ledger" "$(json_get message)" "no ledger at $DB"
out=$(RETRAIN_LEDGER="sqlite://$DB" "$BUILD/retrainctl" events list 2>&1)
expect "retrainctl events list: exit 2" "$?" 2
expect_match "retrainctl says there is no ledger" "$out" "no ledger at $DB"
e2e_wait_for 5 grep -q 'gc: ledger unavailable' "$E2E_DIR/pool.log"
expect "no ledger created at the path (workers, gc, retrainctl)" "$(test -e "$DB" && echo created)" ""

echo "the backup restored"
mv "$E2E_DIR/backup.db" "$DB"
for id in b-1 b-2 b-3; do
  redeliver "$id"
  expect "$id redelivered: trained once the ledger is back" "$STATUS/$(json_get status)" 200/submitted
done
for id in a-1 a-2 a-3; do
  send "$id"
  expect "$id redelivered: a duplicate" "$STATUS/$(json_get status)" 200/duplicate
done
for id in a-1 a-2 a-3 b-1 b-2 b-3; do
  expect "$id: one CustomJob" "$(jobs_for "$id")" 1
done

expect "the ledger is intact" "$(sqlite3 -cmd '.timeout 5000' "$DB" 'PRAGMA integrity_check')" ok

echo "a pool whose SQLite ledger cannot be opened does not start"
printf '{"function":"echo","workers":1,"auth":{"disabled":true},"ledger":{"url":"sqlite://%s"}}\n' \
  "$E2E_DIR/backup.db.d/not-a-dir/ledger.db" >"$E2E_DIR/bad.json"
: >"$E2E_DIR/backup.db.d" # a file where the ledger's directory should be
out=$(timeout 20 "$BUILD/retrain-fcgi" --config "$E2E_DIR/bad.json" --listen "unix:$E2E_DIR/bad.sock" 2>&1)
expect "exit 1, not a pool that answers 503 forever" "$?" 1
expect_match "the reason on stderr" "$out" 'cannot create the directory of .*ledger\.db'
expect "no socket left behind" "$(test -e "$E2E_DIR/bad.sock" && echo left)" ""

# shellcheck disable=SC2119 # no arguments: the test's own nginx and pool logs
e2e_check_logs
e2e_finish
