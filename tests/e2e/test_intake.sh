#!/usr/bin/env bash
# CloudEvents intake through real nginx over TLS and real pool workers, with the echo function:
# what only the transport shows (nginx's body limit, readiness, the scoreboard's status and
# metrics, the socket, TLS and HTTP/2, logs without secrets, 200 concurrent requests). The
# answer to each kind of request is a delivery case (tests/data/deliveries/, run end to end by
# test_delivery_cases.sh).
. "$(dirname "$0")/lib.sh"
e2e_init
e2e_start_pool "{\"function\":\"echo\",\"workers\":2,\"auth\":{\"disabled\":true},
  \"ledger\":{\"url\":\"sqlite://$E2E_DIR/ledger.db\"}}"
e2e_start_nginx

ce=(-H 'ce-specversion: 1.0' -H 'ce-type: google.cloud.storage.object.v1.finalized'
  -H 'ce-source: //storage.googleapis.com/projects/_/buckets/acme-data')

# What each request must be answered (both content modes, every malformed event, the routes)
# is a delivery case (tests/data/deliveries/, run through nginx by test_delivery_cases.sh). Here:
# what only the transport shows.
echo "nginx's body limit"
head -c 1100000 /dev/zero | tr '\0' 'a' >"$E2E_DIR/big"
http POST / "${ce[@]}" -H 'ce-id: big' --data-binary @"$E2E_DIR/big"
expect "body over 1 MiB: 413" "$STATUS" 413
expect "413 is JSON" "$(json_get error)" too_large

echo "logs"
http POST / "${ce[@]}" -H 'ce-id: log-1' -H 'Authorization: Bearer SECRET-TOKEN-e2e' \
  -H 'traceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' --data '{}'
expect "request with a token: 200" "$STATUS" 200
sleep 0.2
if grep -rq 'SECRET-TOKEN-e2e' "$E2E_DIR/nginx" "$E2E_DIR/pool.log"; then
  fail "token absent from every log"
else pass "token absent from every log"; fi
expect_match "access log is JSON with the event id" "$(grep '"ce_id":"log-1"' "$E2E_DIR/nginx/access.log" | jq -r .status)" '^200$'
expect_match "pool log carries the trace" "$(grep 'log-1' "$E2E_DIR/pool.log" | head -n 1)" \
  '"logging.googleapis.com/trace":"4bf92f3577b34da6a3ce929d0e0e4736"'
expect "pool log lines are JSON" "$(jq -c 'select(.severity == null)' "$E2E_DIR/pool.log" 2>&1 | wc -l)" 0

echo "readiness, status and metrics"
http GET /readyz
expect "readyz" "$STATUS/$(json_get status)" 200/ready
http GET /status
expect "status: 200" "$STATUS" 200
expect "status: two workers" "$(json_get '.workers | map(select(.pid > 0)) | length' | sed 's/^$/x/')" 2
http GET /metrics
expect_match "metrics: requests by route and status" "$BODY" 'retrain_requests_total\{route="event",status="200"\} [0-9]+'
expect_match "metrics: latency histogram" "$BODY" 'retrain_request_duration_seconds_bucket\{route="event",le="\+Inf"\}'
expect_match "metrics: worker states" "$BODY" 'retrain_workers\{state="idle"\}'
expect "socket: mode and group" "$(stat -c %a "$E2E_SOCK")$( [ "$(id -u)" -eq 0 ] && stat -c :%G "$E2E_SOCK")" \
  "660$( [ "$(id -u)" -eq 0 ] && echo :www-data)"

echo "TLS and HTTP/2"
v=$("${CURL[@]}" -o /dev/null -w '%{http_version}' --http2 "$BASE/healthz")
expect "HTTP/2 negotiated" "$v" 2
if "${CURL[@]}" -o /dev/null --tlsv1.1 --tls-max 1.1 "$BASE/healthz" 2>/dev/null; then
  fail "TLS 1.1 refused"
else pass "TLS 1.1 refused"; fi
v=$("${CURL[@]}" -o /dev/null -w '%{http_code}' --tlsv1.2 --tls-max 1.2 "$BASE/healthz")
expect "TLS 1.2 accepted" "$v" 200

echo "200 concurrent requests"
report=$("$BUILD/loadgen" --url "$BASE/" --cacert "$BUILD/tls/cert.pem" --connections 200 \
  --requests 200 --max-seconds 60 -H 'ce-specversion: 1.0' -H 'ce-type: t' \
  -H 'ce-source: //load' -H 'ce-id: c-{n}' --body '{}')
expect "200 concurrent: all answered 200" "$(json_get http.\"200\" "$report")" 200
expect "200 concurrent: all processed" "$(json_get answers.echoed "$report")" 200

# shellcheck disable=SC2119 # no files named: the default logs, those this test made
e2e_check_logs
e2e_finish
