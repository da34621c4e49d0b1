#!/usr/bin/env bash
# Pub/Sub push deliveries end to end: a push subscription's envelope (not a CloudEvent) carrying
# a Cloud Storage notification, signed by the emulator's OIDC issuer, through nginx over TLS to
# the pool running "retrain" with a train rule and the strict Vertex AI emulator. The envelope
# starts one CustomJob; its redelivery (deliveryAttempt 2) is a duplicate of the same message
# id, still one job; a plain Pub/Sub message matching no rule is ignored; envelopes refused
# (malformed, or without a valid token) create nothing. What each is answered is a case
# (tests/data/deliveries/push-*.case, tests/data/tokens/push-*.case).
. "$(dirname "$0")/lib.sh"
e2e_init
AUD="https://retrain.test/"
SA="push-invoker@test-project.iam.gserviceaccount.com"
e2e_start_emulator --audience "$AUD" --service-account "$SA" --job-clock-ms 300
e2e_use_emulator
stats() { curl -sS "$EMU/emulator/stats" | jq -r "$1"; }

e2e_start_pool "{\"function\":\"retrain\",\"workers\":2,\"request_timeout_s\":20,
  \"auth\":{\"audiences\":[\"$AUD\"],\"service_accounts\":[\"$SA\"],
            \"jwks_url\":\"$EMU/oauth2/v3/certs\",\"jwks_cache\":\"$E2E_DIR/jwks-cache.json\"},
  \"ledger\":{\"url\":\"sqlite://$E2E_DIR/ledger.db\",\"lease_s\":5},
  \"vertex\":{\"project\":\"test-project\",\"region\":\"us-central1\",\"deadline_ms\":5000},
  \"rules\":[{\"name\":\"churn\",\"action\":\"train\",
   \"match\":{\"type\":\"google.cloud.storage.object.v1.finalized\",\"bucket\":\"acme-data\",\"name\":\"datasets/churn/*.csv\"},
   \"job\":{\"displayName\":\"churn-\${event_id}\",
    \"jobSpec\":{\"workerPoolSpecs\":[{\"machineSpec\":{\"machineType\":\"n1-standard-4\"},\"replicaCount\":\"1\",
     \"containerSpec\":{\"imageUri\":\"us-docker.pkg.dev/test-project/retrain/train:1\",
      \"args\":[\"--input=\${gcs_uri}\",\"--generation=\${generation}\"]}}]}}}]}"
e2e_start_nginx

mint() { curl -sS -X POST "$EMU/emulator/oidc/mint" -d '{}' | jq -r .token; }
TOKEN=$(mint)
push() { # BODY [TOKEN]: one push delivery, as Pub/Sub sends it
  http POST / -H "Authorization: Bearer ${2-$TOKEN}" -H 'Content-Type: application/json' --data "$1"
}
# gcs_envelope ATTEMPT [MESSAGE_ID]: a push of a Cloud Storage OBJECT_FINALIZE notification.
object='{"kind":"storage#object","id":"acme-data/datasets/churn/a.csv/1732600000000000",
 "name":"datasets/churn/a.csv","bucket":"acme-data","generation":"1732600000000000",
 "metageneration":"1","contentType":"text/csv","size":"52311","storageClass":"STANDARD",
 "timeCreated":"2026-11-26T07:00:00.000Z","updated":"2026-11-26T07:00:00.000Z"}'
gcs_envelope() {
  jq -nc --arg data "$(printf '%s' "$object" | base64 -w0)" --argjson attempt "$1" \
    --arg id "${2:-1234567890}" '{message: {attributes: {bucketId: "acme-data",
      objectId: "datasets/churn/a.csv", objectGeneration: "1732600000000000",
      eventType: "OBJECT_FINALIZE", eventTime: "2026-11-26T07:00:00.000Z",
      notificationConfig: "projects/_/buckets/acme-data/notificationConfigs/1",
      payloadFormat: "JSON_API_V1"}, data: $data, messageId: $id, message_id: $id,
      publishTime: "2026-11-26T07:00:01.123Z", publish_time: "2026-11-26T07:00:01.123Z"},
    subscription: "projects/test-project/subscriptions/retrain-push", deliveryAttempt: $attempt}'
}

echo "a Cloud Storage notification pushed by Pub/Sub starts one CustomJob"
push "$(gcs_envelope 1)"
expect "push: 200 submitted" "$STATUS/$(json_get status)" 200/submitted
expect "push: the rule and action" "$(json_get rule)/$(json_get action)" churn/train
job=$(json_get resource)
expect_match "push: names the CustomJob" "$job" "^$P/customJobs/[0-9]+$"
got=$(vx "$EMU/v1/$job")
expect "job: displayName from the message id" "$(jq -r .displayName <<<"$got")" churn-1234567890
expect "job: args filled in from the object" "$(jq -c '.jobSpec.workerPoolSpecs[0].containerSpec.args' <<<"$got")" \
  '["--input=gs://acme-data/datasets/churn/a.csv","--generation=1732600000000000"]'
expect "one job created" "$(stats .created.customJobs)" 1

echo "the same message redelivered (deliveryAttempt 2): a duplicate, still one job"
push "$(gcs_envelope 2)"
expect "redelivery: 200 duplicate naming the same job" "$STATUS/$(json_get status)/$(json_get resource)" \
  "200/duplicate/$job"
expect "redelivery: still one job" "$(stats .created.customJobs)" 1

# What each envelope is answered (the event made of it, 400 naming a bad field, 401 without a
# valid token) is a delivery or token case (tests/data/deliveries/push-*.case,
# tests/data/tokens/push-*.case, run by test_delivery_cases.sh); here, that none of those
# refused creates anything in Vertex AI. Their bodies are read through the cases' runner.
"$BUILD/tests/test_delivery_cases" --emit-all "$E2E_DIR/cases" "$E2E_ROOT"/tests/data/deliveries/push-*.case \
  "$E2E_ROOT"/tests/data/tokens/push-*.case || fail "the push cases read"
case_body() { cat "$E2E_DIR/cases/$1/body"; }
echo "malformed envelopes create nothing"
for c in push-no-message-id push-bad-data push-payload-none; do push "$(case_body "$c")"; done
expect "malformed envelopes created nothing" "$(stats .created.customJobs)" 1

echo "a plain Pub/Sub message that matches no rule: ignored"
push '{"message":{"attributes":{"origin":"scheduler"},"data":"aGVsbG8=","messageId":"555",
  "publishTime":"2026-11-26T08:00:00Z"},"subscription":"projects/test-project/subscriptions/nightly",
  "deliveryAttempt":1}'
expect "plain message: 200 ignored" "$STATUS/$(json_get status)" 200/ignored
expect "plain message: nothing created" "$(stats .created.customJobs)" 1

echo "an envelope without a valid token creates nothing"
push "$(gcs_envelope 1 99)" ""
push "$(gcs_envelope 1 99)" "$(curl -sS -X POST "$EMU/emulator/oidc/mint" -d '{"claims":{"aud":"https://other/"}}' | jq -r .token)"
expect "refused envelopes created nothing" "$(stats .created.customJobs)" 1

# shellcheck disable=SC2119 # no files named: the default logs, those this test made
e2e_check_logs
e2e_finish
