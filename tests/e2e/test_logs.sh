#!/usr/bin/env bash
# Logs a log pipeline can read: deliveries an attacker shapes (bytes that are not UTF-8, control
# characters, quotes and backslashes, bidi overrides, in headers, paths, bodies and tokens;
# over HTTP/1.1 and HTTP/2, and raw over TLS for what curl will not send), clients that go
# away before the answer, through real nginx and the pool (echo, then retrain for storage
# data). Afterwards every line of nginx's access log and of the pool's log must be one strict
# JSON object (build/jsonl-check), and the access log says what it could not log faithfully.
. "$(dirname "$0")/lib.sh"
e2e_init
AUD="https://retrain.test/"
SA="eventarc-trigger@test-project.iam.gserviceaccount.com"
e2e_start_emulator --audience "$AUD" --service-account "$SA" --job-clock-ms 300
export RETRAIN_TEST_HOOKS=1 RETRAIN_VERTEX_ENDPOINT="$EMU/v1" GCE_METADATA_HOST="${EMU#http://}"
pool_config() { # FUNCTION
  cat <<EOF
{"function":"$1","workers":2,"request_timeout_s":20,
 "auth":{"audiences":["$AUD"],"service_accounts":["$SA"],
         "jwks_url":"$EMU/oauth2/v3/certs","jwks_cache":"$E2E_DIR/jwks-cache.json"},
 "ledger":{"url":"sqlite://$E2E_DIR/ledger.db"},
 "vertex":{"project":"test-project","region":"us-central1","deadline_ms":5000},
 "rules":[{"name":"churn","action":"train",
   "match":{"type":"google.cloud.storage.object.v1.finalized","name":"datasets/**"},
   "job":{"displayName":"churn-\${event_id}",
    "jobSpec":{"workerPoolSpecs":[{"machineSpec":{"machineType":"n1-standard-4"},"replicaCount":"1",
     "containerSpec":{"imageUri":"us-docker.pkg.dev/test-project/retrain/train:1",
      "args":["--input=\${gcs_uri}"]}}]}}}]}
EOF
}
e2e_start_pool "$(pool_config echo)"
e2e_start_nginx
PORT=${BASE##*:}
ACCESS="$E2E_DIR/nginx/access.log"

mint() { curl -sS -X POST "$EMU/emulator/oidc/mint" -d "${1:-{\}}" | jq -r .token; }
TOKEN=$(mint)
n=0
# send PROTO [curl args...]: a binary-mode delivery with a valid token and a fresh id; the
# caller's headers come after ours, so a second ce-id or ce-source is the attacker's.
send() {
  local proto=$1
  shift
  n=$((n + 1))
  "${CURL[@]}" "--$proto" -o /dev/null -w '%{http_code}\n' -X POST \
    -H "Authorization: Bearer $TOKEN" -H 'ce-specversion: 1.0' -H 'ce-type: t.v1' \
    -H 'Content-Type: application/json' "$@" --data '{}' "$BASE${P:-/}" 2>&1 || true
}
# raw REQUEST_BYTES: written as is over TLS (HTTP/1.1), for bytes curl refuses to send.
raw() {
  { printf '%b' "$1"; sleep 0.3; } |
    timeout 5 openssl s_client -quiet -connect "127.0.0.1:$PORT" -alpn http/1.1 \
      -CAfile "$BUILD/tls/cert.pem" 2>/dev/null | head -n 1 | tr -d '\r'
}
bad=(
  $'\xff\xfe'                        # not UTF-8
  $'..\xc0\xaf..\xc0\xaf'            # overlong '/'
  $'\xed\xa0\x80'                    # a surrogate
  $'a\xe2\x82'                       # truncated
  $'\x01\x07\x1b[31mred\x1b[0m'      # C0 controls, a terminal escape
  $'del\x7f c1\xc2\x85\xc2\x9b'      # DEL, C1 controls
  $'\xe2\x80\xaebidi\xe2\x81\xa6'    # bidi override and isolate
  'quote" back\ slash\\ {"x":1}'     # JSON's own characters
  $'caf\xc3\xa9 \xf0\x9f\x98\x80'    # valid UTF-8, not ASCII
)

echo "attacker bytes in every logged header, over HTTP/1.1 and HTTP/2"
for proto in http1.1 http2; do
  for v in "${bad[@]}"; do
    send "$proto" -H "ce-id: $v" -H "ce-source: $v" -H "traceparent: $v" -A "$v" >/dev/null
    send "$proto" -H "ce-id: log-$proto-$n" -H "ce-source: //s" -H "ce-type: $v" \
      -H "ce-subject: $v" -H "ce-$v: x" >/dev/null
  done
done
got=$(send http2 -H "ce-id: log-ok-h2" -H 'ce-source: //s' -H 'traceparent: 00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01')
expect "a plain delivery over HTTP/2: 200" "$got" 200

echo "attacker bytes in paths"
for p in '/%ff%fe' '/%c0%af..%c0%af' '/%1b%5b2J' '/a%0ab%0d' '/%e2%80%ae' '/%22%5c' \
  '/x/../../%2e%2e/y' '/caf%c3%a9'; do
  for proto in http1.1 http2; do P=$p send "$proto" -H "ce-id: p-$n" -H 'ce-source: //s' >/dev/null; done
done
P='/?token=secret%ff' send http2 -H 'ce-id: p-query' -H 'ce-source: //s' >/dev/null
P=$'/\xff\xfe/raw' send http2 --path-as-is -H "ce-id: p-raw2" -H 'ce-source: //s' >/dev/null

echo "raw HTTP/1.1 over TLS: bytes in the request line and header values"
expect_match "raw bytes in the path: an answer" "$(raw 'POST /\xff\xc0\xaf HTTP/1.1\r\nHost: x\r\nce-id: raw-path\r\nContent-Length: 0\r\n\r\n')" '^HTTP/1.1 '
expect_match "raw bytes in the method: 400" "$(raw '\xff\xfe / HTTP/1.1\r\nHost: x\r\n\r\n')" '^HTTP/1.1 400'
expect_match "raw bytes in the protocol: 400" "$(raw 'GET / HTTP/1.\xff\r\nHost: x\r\n\r\n')" '^HTTP/1.1 400'
expect_match "raw control bytes in header values: an answer" \
  "$(raw "POST / HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer $TOKEN\r\nce-specversion: 1.0\r\nce-type: t\r\nce-source: //s\r\nce-id: \x01\x7f\xff\x1b\r\nUser-Agent: \x08\xfe\r\nContent-Length: 2\r\n\r\n{}")" '^HTTP/1.1 '

echo "attacker text in bodies and tokens"
# shellcheck disable=SC1003 # the backslashes are JSON's escapes, kept literal on purpose
for v in '\u001b[2J' '\u202e' '\u0085' '\"\\' '\ud83d\ude00'; do
  "${CURL[@]}" -o /dev/null -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/cloudevents+json' \
    --data "{\"specversion\":\"1.0\",\"id\":\"$v\",\"source\":\"$v\",\"type\":\"$v\",\"subject\":\"$v\",\"x$v\":1}" "$BASE/" || true
  "${CURL[@]}" -o /dev/null -H "Authorization: Bearer $(mint "{\"header\":{\"kid\":\"$v\"},\"claims\":{\"iss\":\"$v\",\"aud\":\"$v\",\"email\":\"$v\"}}")" \
    -H 'ce-specversion: 1.0' -H 'ce-type: t' -H 'ce-source: //s' -H "ce-id: tok-$v" --data '{}' "$BASE/" || true
  "${CURL[@]}" -o /dev/null -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
    --data "{\"message\":{\"messageId\":\"$v\",\"attributes\":{\"eventType\":\"$v\",\"bucketId\":\"$v\",\"objectId\":\"$v\"},\"data\":\"$v\"},\"subscription\":\"$v\"}" "$BASE/" || true
done
"${CURL[@]}" -o /dev/null -H $'Authorization: Bearer \xff\x1b.\xc0\xaf.\x01' -H 'ce-id: tok-raw' "$BASE/" || true

echo "clients that go away before the answer"
for proto in http1.1 http2; do
  "${CURL[@]}" "--$proto" --max-time 0.3 -o /dev/null -H "Authorization: Bearer $TOKEN" \
    -H 'ce-specversion: 1.0' -H 'ce-type: t' -H 'ce-source: //s' -H "ce-id: gone-$proto" \
    -H 'ce-testsleepms: 1500' --data '{}' "$BASE/" 2>/dev/null
  sleep 1 | "${CURL[@]}" "--$proto" --max-time 0.3 -o /dev/null -H "Authorization: Bearer $TOKEN" \
    -H 'ce-specversion: 1.0' -H 'ce-type: t' -H 'ce-source: //s' -H "ce-id: gone-body-$proto" \
    -T - "$BASE/" 2>/dev/null
done
head -c 1100000 /dev/zero >"$E2E_DIR/big"
"${CURL[@]}" -o /dev/null -H 'ce-id: big' --data-binary @"$E2E_DIR/big" "$BASE/" || true

echo "storage data through the retrain function"
e2e_stop_group "$POOL_PID"
e2e_start_pool "$(pool_config retrain)"
e2e_wait_for 10 e2e_nginx_up
# shellcheck disable=SC1003 # the backslashes are JSON's escapes, kept literal on purpose
for v in '\u001b[2J' '\u202e' '\u0085' '\"\\' 'datasets/\u0000x' 'datasets/a/../../\u007f'; do
  "${CURL[@]}" -o /dev/null -H "Authorization: Bearer $TOKEN" -H 'ce-specversion: 1.0' \
    -H 'ce-type: google.cloud.storage.object.v1.finalized' -H "ce-source: //storage.googleapis.com/projects/_/buckets/b" \
    -H "ce-id: st-$n-$RANDOM" -H 'Content-Type: application/json' \
    --data "{\"bucket\":\"$v\",\"name\":\"$v\",\"generation\":\"$v\",\"size\":\"$v\"}" "$BASE/" || true
done

sleep 1.5 # the slow requests finish in the pool and log their lines
echo "every line of every log is strict JSON"
# shellcheck disable=SC2119 # no files named: the default logs, those this test made
e2e_check_logs
echo "the access log"
expect "a line per request, not fewer" "$([ "$(wc -l <"$ACCESS")" -ge 80 ] && echo yes)" yes
expect "what cannot be logged faithfully says so" \
  "$(jq -r 'select(.ce_id == "(invalid)") | .ce_id' "$ACCESS" 2>/dev/null | head -n 1)" "(invalid)"
expect "a valid id is logged as sent" "$(jq -r 'select(.ce_id == "log-ok-h2") | .status' "$ACCESS" 2>/dev/null)" 200
expect "a valid traceparent is logged as sent" \
  "$(jq -r 'select(.ce_id == "log-ok-h2") | .traceparent' "$ACCESS" 2>/dev/null)" \
  00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01
expect "JSON's own characters are escaped, not dropped" \
  "$(jq -r 'select(.user_agent == "quote\" back\\ slash\\\\ {\"x\":1}") | .ce_id == .user_agent' "$ACCESS" 2>/dev/null | sort -u | tr '\n' ' ')" "true "
expect "a client gone before the answer: a numeric status" \
  "$(jq -r 'select(.ce_id == "gone-http1.1" or .ce_id == "gone-http2") | .status | numbers' "$ACCESS" 2>/dev/null | sort -u | tr '\n' ' ')" "499 "
expect "the path as sent, without the query" "$(jq -r 'select(.ce_id == "p-query") | .uri' "$ACCESS" 2>/dev/null)" /
expect "a path of raw bytes: (invalid)" "$(jq -r 'select(.ce_id == "raw-path") | .uri' "$ACCESS" 2>/dev/null)" "(invalid)"
expect "a percent-encoded path: as sent" "$(jq -r 'select(.ce_id == "p-raw2") | .uri' "$ACCESS" 2>/dev/null)" /%ff%fe/raw
expect "an HTTP/2 request nginx refuses for its header name: status a number" \
  "$(jq -r 'select(.protocol == "HTTP/2.0" and (.ce_id | startswith("log-http2-"))) | .status | numbers' "$ACCESS" 2>/dev/null | sort -un | tr '\n' ' ')" "0 400 "
expect "never the query (a push endpoint's shared secret can live there)" "$(grep -c 'secret' "$ACCESS")" 0
expect "never the token" "$(grep -cF "${TOKEN##*.}" "$ACCESS" "$E2E_DIR/pool.log" | awk -F: '{s+=$2} END {print s}')" 0
e2e_finish
