#!/usr/bin/env bash
# The pool under operations, through nginx over TLS: kill -9 of a busy worker under load,
# SIGHUP under load, SIGTERM under load, a stuck request, recycling, a crash loop's backoff,
# SIGHUP with rules check-config refuses and with a first new worker that cannot start (the
# running generation stays), and bad options and config.
. "$(dirname "$0")/lib.sh"
e2e_init
export RETRAIN_TEST_HOOKS=1
REQUEST_TIMEOUT=2
config="{\"function\":\"echo\",\"workers\":3,\"request_timeout_s\":2,\"shutdown_timeout_s\":10,
  \"auth\":{\"disabled\":true},\"ledger\":{\"url\":\"sqlite://$E2E_DIR/ledger.db\"}}"
e2e_start_pool "$config"
e2e_start_nginx

# load ID_PREFIX REQUESTS [extra loadgen args]: events that each keep a worker busy for 10 ms.
load() {
  "$BUILD/loadgen" --url "$BASE/" --cacert "$BUILD/tls/cert.pem" --connections 16 \
    --requests "$2" --max-seconds 60 -H 'ce-specversion: 1.0' -H 'ce-type: t' \
    -H 'ce-source: //ops' -H "ce-id: $1-{n}" -H 'ce-testsleepms: 10' --body '{}' "${@:3}"
}
worker_pids() { "${CURL[@]}" "$BASE/status" | jq -r '.workers[] | select(.pid > 0) | .pid' | sort; }
status_field() { "${CURL[@]}" "$BASE/status" | jq -r ".$1"; }
worker_count() { worker_pids | wc -l; }
# is VALUE COMMAND...: COMMAND prints VALUE now (e2e_wait_for runs it again until it does).
is() { [ "$("${@:2}")" = "$1" ]; }
at_least() { [ "$("${@:2}")" -ge "$1" ] 2>/dev/null; }

echo "kill -9 of a busy worker under load"
load kill 600 >"$E2E_DIR/kill.json" &
loader=$!
sleep 1
victim=$("${CURL[@]}" "$BASE/status" | jq -r '[.workers[] | select(.state == "busy")][0].pid')
[ "$victim" = null ] && victim=$(worker_pids | head -n 1)
kill -9 "$victim"
wait $loader
report=$(cat "$E2E_DIR/kill.json")
echo "  load: $report"
ok=$(json_get http.\"200\" "$report")
expect "all but the killed worker's request answered 200 (at most 1 lost)" \
  "$([ "${ok:-0}" -ge 599 ] && echo yes)" yes
e2e_wait_for 5 is 3 worker_count
expect "the master replaced it: 3 workers" "$(worker_pids | wc -l)" 3
expect "the victim is gone" "$(worker_pids | grep -cx "$victim")" 0
expect "a crash is counted" "$(status_field crashes)" 1

echo "SIGHUP under load: workers replaced one by one, nothing refused"
before=$(worker_pids | tr '\n' ' ')
load hup 800 >"$E2E_DIR/hup.json" &
loader=$!
sleep 0.5
kill -HUP "$POOL_PID"
wait $loader
report=$(cat "$E2E_DIR/hup.json")
expect "every request during the reload answered 200" "$(json_get http.\"200\" "$report")" 800
e2e_wait_for 10 is 3 status_field '[.workers[] | select(.pid > 0 and .generation == 2)] | length'
expect "generation 2 after the reload" "$(status_field generation)" 2
after=$(worker_pids | tr '\n' ' ')
common=$(comm -12 <(echo "$before" | tr ' ' '\n' | sort) <(echo "$after" | tr ' ' '\n' | sort) | grep -c .)
expect "every worker was replaced" "$common" 0
expect "no retirement was counted as a crash" "$(status_field crashes)" 1

echo "a request stuck past request_timeout_s"
t0=$SECONDS
http POST / -H 'ce-specversion: 1.0' -H 'ce-type: t' -H 'ce-source: //ops' -H 'ce-id: stuck-1' \
  -H 'ce-testsleepms: 60000' --data '{}'
expect "the client gets 504 from nginx" "$STATUS" 504
expect "504 is JSON" "$(json_get error)" timeout
expect "within the timeout (+2 s)" "$([ $((SECONDS - t0)) -le 4 ] && echo yes)" yes
e2e_wait_for 5 at_least 1 status_field timeouts
expect "the stuck worker was killed" "$(status_field timeouts)" 1
e2e_wait_for 5 is 3 worker_count
expect "and replaced" "$(worker_pids | wc -l)" 3

echo "SIGTERM under load: what was accepted completes"
load term 3000 --max-seconds 20 >"$E2E_DIR/term.json" &
loader=$!
sleep 1
kill -TERM "$POOL_PID"
t0=$SECONDS
for _ in $(seq 200); do kill -0 "$POOL_PID" 2>/dev/null || break; sleep 0.05; done
wait "$POOL_PID" 2>/dev/null
pool_rc=$?
wait $loader
expect "the pool exited 0" "$pool_rc" 0
expect "within the shutdown timeout" "$([ $((SECONDS - t0)) -le 10 ] && echo yes)" yes
report=$(cat "$E2E_DIR/term.json")
# Once stopping, the pool reads no new request: nginx cannot hand one over any more and answers
# 503 with Retry-After (Eventarc redelivers later). Every request a worker did read was
# processed and answered: the 200s equal the events the function processed.
expect "answers are only 200 (served) or 503 (refused, to be redelivered)" \
  "$(printf '%s' "$report" | jq -r '.http | keys - ["200","503"] | length')" 0
processed=$(grep -c '"event_id":"term-' "$E2E_DIR/pool.log")
expect "every request the pool read was answered" "$processed" "$(json_get http.\"200\" "$report")"
expect "requests were served before the stop" "$([ "$(json_get http.\"200\" "$report")" -gt 0 ] && echo yes)" yes
expect "no worker is left" "$(pgrep -g "$POOL_PID" | wc -l)" 0
expect "the socket is gone" "$([ -e "$E2E_SOCK" ] && echo present || echo gone)" gone

echo "recycling after max_requests"
e2e_start_pool "$config" --max-requests 20 --workers 2
for i in $(seq 100); do
  "${CURL[@]}" -o /dev/null -w '%{http_code}\n' -X POST "$BASE/" -H 'ce-specversion: 1.0' \
    -H 'ce-type: t' -H 'ce-source: //ops' -H "ce-id: rec-$i" --data '{}'
done | sort | uniq -c >"$E2E_DIR/recycle.txt"
expect "100 requests across recycling all answered 200" "$(awk '$2 == 200 {print $1}' "$E2E_DIR/recycle.txt")" 100
expect "workers were recycled" "$([ "$(status_field recycled)" -ge 3 ] && echo yes)" yes
expect "recycling is no crash" "$(status_field crashes)" 0
e2e_stop_group "$POOL_PID"

echo "a crash loop backs off"
RETRAIN_TEST_WORKER_EXIT=3 e2e_start_pool "$config" --workers 1
sleep 3
starts=$(grep -c 'exited with status 3' "$E2E_DIR/pool.log")
expect "restarts are spaced out (≤ 6 in 3 s, not hundreds)" "$([ "$starts" -ge 2 ] && [ "$starts" -le 6 ] && echo yes)" yes
expect_match "the delay doubles" "$(grep 'exited with status 3' "$E2E_DIR/pool.log" | grep -o 'restarting in [0-9]* ms' | head -n 3 | tr '\n' ' ')" \
  'restarting in 100 ms restarting in 200 ms restarting in 400 ms'
e2e_stop_group "$POOL_PID"

echo "SIGHUP with a configuration the workers cannot run: the running generation stays"
# The retrain function, so rules matter: a reload whose rules fail check-config is refused by the
# master itself; one that passes the check but whose first new worker cannot start (a ledger URL
# only the worker refuses) is rolled back. Either way the workers that replace the old ones (here
# killed, as a crash or recycling would) run the old rules, and deliveries keep their answers.
e2e_start_emulator --job-clock-ms 300
export RETRAIN_VERTEX_ENDPOINT="$EMU/v1" GCE_METADATA_HOST="${EMU#http://}"
retrain_config() { # RULE_NAME OBJECT_GLOB [DISPLAY_NAME [LEDGER_URL]]
  local display=${3:-"$1-\${event_id}"} # ${event_id}: the rule's placeholder
  cat <<EOF
{"function":"retrain","workers":2,"request_timeout_s":10,"shutdown_timeout_s":5,"auth":{"disabled":true},
 "ledger":{"url":"${4:-sqlite://$E2E_DIR/reload.db}"},
 "vertex":{"project":"test-project","region":"us-central1","deadline_ms":5000},
 "rules":[{"name":"$1","action":"train",
  "match":{"type":"google.cloud.storage.object.v1.finalized","bucket":"acme-data","name":"$2"},
  "job":{"displayName":"$display","jobSpec":{"workerPoolSpecs":[{"machineSpec":{"machineType":"n1-standard-4"},
   "replicaCount":"1","containerSpec":{"imageUri":"us-docker.pkg.dev/test-project/retrain/train:1"}}]}}}]}
EOF
}
deliver() { # ID OBJECT: one storage event; sets STATUS and BODY (at most 10 s: no 30 s wait)
  http POST / --max-time 10 -H 'ce-specversion: 1.0' -H 'ce-type: google.cloud.storage.object.v1.finalized' \
    -H 'Content-Type: application/json' -H "ce-id: $1" \
    -H 'ce-source: //storage.googleapis.com/projects/_/buckets/acme-data' \
    --data "{\"bucket\":\"acme-data\",\"name\":\"$2\"}"
}
answer() { echo "$STATUS/$(json_get status)/$(json_get rule)"; }
ready_workers() { # [JQ_CONDITION]: how many workers serve (idle or busy), and meet it
  "${CURL[@]}" "$BASE/status" |
    jq "[.workers[] | select(.pid > 0 and (.state == \"idle\" or .state == \"busy\") ${1:-})] | length" 2>/dev/null
}
serving_pids() {
  "${CURL[@]}" "$BASE/status" |
    jq -r '.workers[] | select(.pid > 0 and (.state == "idle" or .state == "busy")) | .pid' 2>/dev/null
}
# shellcheck disable=SC2086 # OLD_PIDS is a list
replaced() { # OLD_PIDS: two workers serve, none of them one of OLD_PIDS
  local now
  now=$(serving_pids)
  [ "$(printf '%s\n' "$now" | grep -c .)" -eq 2 ] && ! printf '%s\n' "$now" | grep -qxF -f <(printf '%s\n' $1)
}
kill_workers() { # kill -9 of every worker, then at most 10 s for two others to serve
  local pid pids
  pids=$(worker_pids)
  for pid in $pids; do kill -9 "$pid"; done
  e2e_wait_for 10 replaced "$pids"
}
check_config() { "$BUILD/retrainctl" check-config "$E2E_DIR/config.json" >/dev/null 2>&1; echo $?; }
hup_until() { # WORDS: SIGHUP, at most 10 s for the pool to log WORDS; prints that message
  kill -HUP "$POOL_PID"
  e2e_wait_for 10 grep -q "$1" "$E2E_DIR/pool.log"
  grep "$1" "$E2E_DIR/pool.log" | tail -n 1 | jq -r .message
}
reload_failures() {
  "${CURL[@]}" "$BASE/metrics" | awk '$1 == "retrain_config_reload_failures_total" { print $2 }'
}
e2e_start_pool "$(retrain_config old 'old/*.csv')" # the pool reads $E2E_DIR/config.json
e2e_wait_for 10 is 2 ready_workers
deliver rl-1 old/1.csv
expect "before: the old rule trains" "$(answer)" 200/submitted/old
gen0=$(status_field generation)

# shellcheck disable=SC2016 # a placeholder no rule knows
retrain_config new 'new/*.csv' 'new-${no_such_placeholder}' >"$E2E_DIR/config.json"
expect "the bad rules fail check-config" "$(check_config)" 2
expect_match "the master refuses the reload, naming the rule's problem" "$(hup_until 'reload refused')" \
  'rules\[0\]\.job'
expect "bad rules: the generation is unchanged" "$(status_field generation)" "$gen0"
kill_workers
expect "bad rules: the replacements of killed workers serve" "$(ready_workers)" 2
expect "bad rules: every worker runs the running generation" "$(ready_workers "and .generation == $gen0")" 2
deliver rl-2 old/2.csv
expect "bad rules: a delivery answers promptly; the old rule still trains" "$(answer)" 200/submitted/old
deliver rl-3 new/1.csv
expect "bad rules: the refused rule does not apply" "$(answer)" 200/ignored/
deliver rl-1 old/1.csv
expect "bad rules: a redelivery is a duplicate" "$(answer)" 200/duplicate/old

retrain_config new 'new/*.csv' '' 'sqlite://relative/ledger.db' >"$E2E_DIR/config.json"
expect "a ledger URL only a worker refuses passes check-config" "$(check_config)" 0
expect_match "the first new worker cannot start: the master rolls back" "$(hup_until 'reload rolled back')" \
  "keeping generation $gen0"
kill_workers
expect "rolled back: the replacements of killed workers serve" "$(ready_workers "and .generation == $gen0")" 2
deliver rl-4 old/4.csv
expect "rolled back: the old rule still trains" "$(answer)" 200/submitted/old
expect "both failed reloads are counted" "$(reload_failures)" 2

retrain_config new 'new/*.csv' >"$E2E_DIR/config.json"
kill -HUP "$POOL_PID"
all_new() { is 2 ready_workers "and .generation != $gen0" && is 0 ready_workers "and .generation == $gen0"; }
e2e_wait_for 15 all_new # the last old worker serves until the second new one is ready
expect "a good reload after them takes effect: every worker replaced" \
  "$(ready_workers "and .generation != $gen0")/$(ready_workers "and .generation == $gen0")" 2/0
deliver rl-5 new/5.csv
expect "good reload: the new rule trains" "$(answer)" 200/submitted/new
deliver rl-6 old/6.csv
expect "good reload: the old rule is gone" "$(answer)" 200/ignored/
expect "good reload: no failure counted" "$(reload_failures)" 2
e2e_stop_group "$POOL_PID"

echo "options and configuration"
out=$("$BUILD/retrain-fcgi" --help)
expect "--help exits 0" $? 0
for opt in --config --listen --socket-group --socket-mode --backlog --workers --max-requests \
  --request-timeout --shutdown-timeout --function --log-level --check; do
  expect_match "--help documents $opt" "$out" -- "$opt"
done
err=$("$BUILD/retrain-fcgi" --workers lots 2>&1)
expect "bad option value exits 2" $? 2
expect_match "and names it" "$err" -- '--workers'
printf '{"auth":{"disabled":true,"audience":"x"},"workers":"2"}' >"$E2E_DIR/bad.json"
err=$("$BUILD/retrain-fcgi" --config "$E2E_DIR/bad.json" --check 2>&1)
expect "bad config exits 2" $? 2
expect_match "names the unknown key" "$err" 'auth\.audience: unknown key'
expect_match "names the bad value" "$err" 'workers: must be an integer'
printf '{"listen":"0.0.0.0:9000","auth":{"disabled":true}}' >"$E2E_DIR/open.json"
err=$("$BUILD/retrain-fcgi" --config "$E2E_DIR/open.json" --check 2>&1)
expect "auth.disabled on a public listener exits 2" $? 2
expect_match "and says why" "$err" 'auth\.disabled: .*loopback'
"$BUILD/retrain-fcgi" --config "$E2E_DIR/nope.json" --check >/dev/null 2>&1
expect "a missing config file exits 2" $? 2

e2e_finish
