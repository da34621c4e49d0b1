#!/usr/bin/env bash
# /metrics says what happened, end to end: real tokens from the emulator's issuer, the retrain
# function against the emulator's Vertex AI, nginx over TLS and two workers. Each kind of
# delivery moves its own counter (submitted, duplicate, ignored, malformed, refused by reason),
# the Vertex call, the token and key-set fetches and the ledger calls are counted, /status lists
# the live workers only, and `promtool check metrics` finds nothing to say about the page.
. "$(dirname "$0")/lib.sh"
e2e_init
AUD="https://retrain.test/"
SA="eventarc-trigger@test-project.iam.gserviceaccount.com"
e2e_start_emulator --audience "$AUD" --service-account "$SA" --jwks-max-age 300
e2e_use_emulator
e2e_start_pool "$(
  cat <<EOF
{"function":"retrain","workers":2,"request_timeout_s":20,
 "auth":{"audiences":["$AUD"],"service_accounts":["$SA"],
  "jwks_url":"$EMU/oauth2/v3/certs","jwks_cache":"$E2E_DIR/jwks-cache.json"},
 "ledger":{"url":"sqlite://$E2E_DIR/ledger.db"},
 "vertex":{"project":"test-project","region":"us-central1","deadline_ms":5000},
 "follow":{"first_s":3600,"max_s":3600},
 "rules":[{"name":"churn","action":"train",
  "match":{"type":"google.cloud.storage.object.v1.finalized","bucket":"acme-data","name":"churn/*.csv"},
  "job":{"displayName":"churn-\${event_id}",
   "jobSpec":{"workerPoolSpecs":[{"machineSpec":{"machineType":"n1-standard-4"},"replicaCount":"1",
    "containerSpec":{"imageUri":"us-docker.pkg.dev/test-project/retrain/train:1","args":["--data=\${gcs_uri}"]}}]}}},
  {"name":"broken","action":"train",
  "match":{"type":"google.cloud.storage.object.v1.finalized","bucket":"acme-data","name":"broken/*.csv"},
  "job":{"displayName":"broken-\${event_id}",
   "jobSpec":{"persistentResourceId":"no-such-resource",
    "workerPoolSpecs":[{"machineSpec":{"machineType":"n1-standard-4"},"replicaCount":"1",
    "containerSpec":{"imageUri":"us-docker.pkg.dev/test-project/retrain/train:1"}}]}}}]}
EOF
)"
e2e_start_nginx

mint() { curl -sS -X POST "$EMU/emulator/oidc/mint" -d "${1:-{\}}" | jq -r .token; }
deliver() { # ID NAME [TOKEN]: a storage event for gs://acme-data/NAME
  local auth=()
  [ -n "${3-x}" ] && auth=(-H "Authorization: Bearer ${3-$TOKEN}")
  http POST / "${auth[@]}" -H 'ce-specversion: 1.0' \
    -H 'ce-type: google.cloud.storage.object.v1.finalized' \
    -H 'ce-source: //storage.googleapis.com/projects/_/buckets/acme-data' -H "ce-id: $1" \
    -H "ce-subject: objects/$2" -H 'Content-Type: application/json' \
    --data "{\"bucket\":\"acme-data\",\"name\":\"$2\",\"generation\":\"1\"}"
}
# The value of one series (the exact text before the value), or "absent".
series() { awk -v s="$1" '$1 == s { print $2; found = 1; exit } END { if (!found) print "absent" }' "$E2E_DIR/metrics.txt"; }
scrape() { "${CURL[@]}" -o "$E2E_DIR/metrics.txt" "$BASE/metrics"; }
TOKEN=$(mint)

echo "deliveries of each kind"
deliver m-1 churn/a.csv
expect "an event of the rule: submitted" "$STATUS/$(json_get status)" 200/submitted
for i in 1 2 3; do deliver m-1 churn/a.csv; done
expect "its copies: duplicate" "$STATUS/$(json_get status)" 200/duplicate
deliver m-2 other/b.txt
expect "an event no rule wants: ignored" "$STATUS/$(json_get status)" 200/ignored
http POST / -H "Authorization: Bearer $TOKEN" -H 'ce-specversion: 1.0' -H 'ce-type: t' \
  -H 'ce-source: //x' -H 'Content-Type: application/json' --data '{}'
expect "an event without ce-id: 400" "$STATUS" 400
deliver m-3 churn/c.csv "$(mint '{"claims":{"aud":"https://other/"}}')"
expect "a token for another audience: 401" "$STATUS/$(json_get error)" 401/wrong_audience
deliver m-4 churn/d.csv ""
deliver m-5 churn/e.csv ""
expect "no token: 401" "$STATUS/$(json_get error)" 401/missing_token

echo "what /metrics says of them"
scrape
expect "submitted, by rule" "$(series 'retrain_events_total{rule="churn",outcome="submitted"}')" 1
expect "duplicates, by rule (from the ledger and from a worker's memory)" \
  "$(series 'retrain_events_total{rule="churn",outcome="duplicate"}')" 3
expect "ignored: no rule" "$(series 'retrain_events_total{rule="",outcome="ignored"}')" 1
expect "malformed" "$(series 'retrain_events_total{rule="",outcome="malformed"}')" 1
expect "refused: wrong audience" "$(series 'retrain_auth_refusals_total{reason="wrong_audience"}')" 1
expect "refused: missing token" "$(series 'retrain_auth_refusals_total{reason="missing_token"}')" 2
expect "a refusal reason that did not happen is 0" "$(series 'retrain_auth_refusals_total{reason="expired"}')" 0
expect "the Vertex create, by method, call and status" \
  "$(series 'retrain_vertex_calls_total{method="POST",call="customJobs",code="200"}')" 1
expect_match "access tokens fetched from the metadata server" \
  "$(series 'retrain_token_refreshes_total{result="ok"}')" '^[1-9][0-9]*$'
expect "no failed token fetch" "$(series 'retrain_token_refreshes_total{result="failed"}')" 0
expect "the signing keys fetched once (the workers share the cache file)" \
  "$(series 'retrain_jwks_refreshes_total{result="ok"}')" 1
expect_match "keys in the set in use" "$(series retrain_jwks_keys)" '^[1-9][0-9]*$'
expect_match "age of the set in use" "$(series retrain_jwks_age_seconds)" '^[0-9]+$'
# Claims: 6 deliveries reach the ledger (the copies the answer cache answers do not).
expect_match "ledger claims timed" \
  "$(series 'retrain_ledger_call_duration_seconds_count{call="claim"}')" '^[2-6]$'
expect "ledger finishes timed" "$(series 'retrain_ledger_call_duration_seconds_count{call="finish"}')" 2
expect "no ledger error" "$(series 'retrain_ledger_errors_total{call="claim"}')" 0
expect "the ledger answered" "$(series retrain_ledger_up)" 1
expect "no dead letter" "$(series retrain_dead_letters)" 0
expect "one run queued or submitted" "$(series 'retrain_runs{rule="churn",state="submitted"}')" 1
expect "requests by route" "$(series 'retrain_requests_total{route="event",status="401"}')" 3

echo "promtool check metrics"
if out=$(promtool check metrics <"$E2E_DIR/metrics.txt" 2>&1); then
  pass "promtool check metrics: clean"
else
  fail "promtool check metrics: $out"
fi

echo "a dead letter"
deliver m-6 broken/f.csv
expect "Google's 400: a dead letter" "$STATUS/$(json_get status)" 200/failed
scrape
expect "counted as failed" "$(series 'retrain_events_total{rule="broken",outcome="failed"}')" 1
expect "the ledger's dead letters" "$(series retrain_dead_letters)" 1
expect "the Vertex 400" "$(series 'retrain_vertex_calls_total{method="POST",call="customJobs",code="400"}')" 1

echo "/status: the live workers"
http GET /status
expect "two workers listed" "$(json_get '.workers | length')" 2
expect "each with a process" "$(json_get '.workers | map(select(.pid > 0)) | length')" 2

e2e_finish
