#!/usr/bin/env bash
# A storage event whose data the pool could not read as one delivery presented it must not be
# lost to the de-duplication: nginx over TLS, the pool running "retrain" with a rule that only
# the event's data can match (no ce-subject, no ce-bucket), the SQLite ledger, the emulator.
#  - Media types are case-insensitive: data under "Application/JSON" is read and trained on.
#  - A delivery whose data is declared as something else, or is no StorageObjectData, is
#    acknowledged and recorded as failed with its reason; the next delivery of the same event,
#    readable, is not a duplicate of it: it ends in a CustomJob, once.
. "$(dirname "$0")/lib.sh"
e2e_init

LEDGER_URL="sqlite://$E2E_DIR/ledger.db"
e2e_start_emulator --job-clock-ms 300
e2e_use_emulator
jobs_for() { e2e_jobs_labelled "$1"; } # KEY: how many customJobs carry the event's label
e2e_start_pool "{\"function\":\"retrain\",\"workers\":2,\"auth\":{\"disabled\":true},
 \"ledger\":{\"url\":\"$LEDGER_URL\",\"lease_s\":2},
 \"vertex\":{\"project\":\"test-project\",\"region\":\"us-central1\",\"deadline_ms\":5000},
 \"rules\":[{\"name\":\"fraud\",\"action\":\"train\",
  \"match\":{\"type\":\"google.cloud.storage.object.v1.finalized\",\"bucket\":\"acme-data\",\"name\":\"fraud/*.csv\"},
  \"job\":{\"displayName\":\"fraud-\${event_id}\",\"jobSpec\":{\"workerPoolSpecs\":[{
   \"machineSpec\":{\"machineType\":\"n1-standard-4\"},\"replicaCount\":\"1\",
   \"containerSpec\":{\"imageUri\":\"us-docker.pkg.dev/test-project/retrain/train:1\",
    \"args\":[\"--input=\${gcs_uri}\"]}}]}}}]}"
e2e_start_nginx
export RETRAIN_LEDGER="$LEDGER_URL"

send() { # ID CONTENT-TYPE DATA: a storage event whose bucket and name only the data carries
  http POST / -H 'ce-specversion: 1.0' -H 'ce-type: google.cloud.storage.object.v1.finalized' \
    -H 'ce-source: //storage.googleapis.com/projects/_/buckets/acme-data' -H "ce-id: $1" \
    -H "Content-Type: $2" --data "$3"
}
data='{"bucket":"acme-data","name":"fraud/2026-11-26.csv","generation":"1"}'

echo "Application/JSON is JSON"
send m-1 'Application/JSON; Charset=UTF-8' "$data"
expect "upper-case media type: the data is read and trained on" "$STATUS/$(json_get status)" 200/submitted
expect "upper-case media type: one CustomJob" "$(jobs_for "$(json_get event.key)")" 1

echo "data declared as text, then the same event as JSON"
send u-1 text/plain "$data"
expect "text/plain: acknowledged" "$STATUS" 200
expect "text/plain: a dead letter that does not shadow the event" \
  "$(json_get status)/$(json_get redeliverable)" failed/true
key=$(json_get event.key)
rec=$("$BUILD/retrainctl" events list --status failed | jq -c --arg k "$key" 'select(.key == $k)')
expect "text/plain: listed as failed" "$(jq -r .status <<<"$rec")" failed
expect_match "text/plain: with its reason" "$(jq -r .last_error <<<"$rec")" 'datacontenttype "text/plain" is not JSON'
expect "text/plain: no job" "$(jobs_for "$key")" 0
send u-1 application/json "$data"
expect "the readable redelivery runs: submitted" "$STATUS/$(json_get status)" 200/submitted
expect "the readable redelivery: one CustomJob" "$(jobs_for "$key")" 1
send u-1 application/json "$data"
expect "a third delivery is a duplicate" "$(json_get status)/$(json_get recorded_status)" duplicate/done
expect "still one CustomJob" "$(jobs_for "$key")" 1
rec=$("$BUILD/retrainctl" events show "$key")
expect "the record: done after two attempts, the first one's reason kept" \
  "$(jq -r '.status, .attempts' <<<"$rec" | paste -sd/)/$(jq -r '.last_error | test("text/plain")' <<<"$rec")" done/2/true

echo "data that is no StorageObjectData, then the same event whole"
send u-2 application/json '{"bucket":7}'
expect "bad data: a redeliverable dead letter" "$STATUS/$(json_get status)/$(json_get redeliverable)" 200/failed/true
key=$(json_get event.key)
send u-2 application/json "$data"
expect "the whole redelivery: submitted, one CustomJob" "$(json_get status)/$(jobs_for "$key")" submitted/1

echo "a dead letter of the event's own making still shadows its redeliveries"
send u-3 application/json '{"bucket":"acme-data","name":"other/x.csv"}'
expect "no rule matched a readable event: ignored" "$(json_get status)" ignored
send u-3 application/json '{"bucket":"acme-data","name":"other/x.csv"}'
expect "its redelivery: a duplicate" "$(json_get status)" duplicate

e2e_finish
