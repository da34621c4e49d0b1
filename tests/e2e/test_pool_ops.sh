#!/usr/bin/env bash
# The pool under operations, through nginx over TLS: kill -9 of a busy worker under load,
# SIGHUP under load, SIGTERM under load, a stuck request, recycling, a crash loop's backoff,
# and bad options and config.
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
e2e_wait_for 5 test "$(worker_pids | wc -l)" -eq 3
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
e2e_wait_for 10 test "$(status_field '[.workers[] | select(.pid > 0 and .generation == 2)] | length')" -eq 3
expect "generation 2 after the reload" "$(status_field generation)" 2
after=$(worker_pids | tr '\n' ' ')
common=$(comm -12 <(echo "$before" | tr ' ' '\n' | sort) <(echo "$after" | tr ' ' '\n' | sort) | grep -c .)
expect "every worker was replaced" "$common" 0
expect "no retirement was counted as a crash" "$(status_field crashes)" 1

echo "a request stuck past request_timeout_s"
stuck_before=$(worker_pids | tr '\n' ' ')
t0=$SECONDS
http POST / -H 'ce-specversion: 1.0' -H 'ce-type: t' -H 'ce-source: //ops' -H 'ce-id: stuck-1' \
  -H 'ce-testsleepms: 60000' --data '{}'
expect "the client gets 504 from nginx" "$STATUS" 504
expect "504 is JSON" "$(json_get error)" timeout
expect "within the timeout (+2 s)" "$([ $((SECONDS - t0)) -le 4 ] && echo yes)" yes
e2e_wait_for 5 test "$(status_field timeouts)" -ge 1
expect "the stuck worker was killed" "$(status_field timeouts)" 1
e2e_wait_for 5 test "$(worker_pids | wc -l)" -eq 3
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
