#!/usr/bin/env bash
# Chaos: a steady load of signed storage events through nginx into the retrain function on a
# PostgreSQL ledger, for rules of all three actions (train: a CustomJob; train_and_register: a
# TrainingPipeline that uploads a model version; register: models.upload), while we kill -9 random workers, restart PostgreSQL, make Google answer 30 %
# 503s with 2 s of latency, take the JWKS endpoint down, and SIGTERM the whole stack and start
# it again. The sender redelivers anything that was not acknowledged, as a push subscription
# does. Then: every distinct event sent is acknowledged (200, or 202 when Google's trouble left
# its run queued) and final in the ledger (done, coalesced or failed), no run is left queued
# once the follower has submitted them, and for each action, per event recorded done, exactly one resource carrying the
# event's label exists at Google (the job, the pipeline and its model version, the uploaded
# version), none doubled, none for an event not done; and no worker is stuck.
#
#   tests/chaos/chaos.sh short   (~45 s, part of make test)
#   tests/chaos/chaos.sh long    (~3 min, make chaos)
MODE=${1:-short}
export E2E_NAME=${E2E_NAME:-chaos}
. "$(dirname "$0")/../e2e/lib.sh"
e2e_init
case $MODE in
short) EVENTS=300 PIPES=30 UPLOADS=8 DUPS=2 ROUNDS=1 RATE=25 ;;
long) EVENTS=1500 PIPES=150 UPLOADS=24 DUPS=3 ROUNDS=3 RATE=60 ;;
*) echo "usage: chaos.sh short|long" >&2; exit 2 ;;
esac
export RETRAIN_TEST_HOOKS=1

AUD="https://retrain.test/"
SA="eventarc-trigger@test-project.iam.gserviceaccount.com"
e2e_start_emulator --audience "$AUD" --service-account "$SA" --job-clock-ms 200 --jwks-max-age 5
P=projects/test-project/locations/us-central1
eval "$("$E2E_ROOT/tests/lib/pg.sh" start)"
pg_dir=$RETRAIN_TEST_PG_DIR
trap '"$E2E_ROOT/tests/lib/pg.sh" stop "$pg_dir" >/dev/null 2>&1; e2e_cleanup' EXIT
export RETRAIN_VERTEX_ENDPOINT="$EMU/v1" GCE_METADATA_HOST="${EMU#http://}"
export RETRAIN_LEDGER=$RETRAIN_TEST_PG_URL

SERVE=us-docker.pkg.dev/vertex-ai/prediction/tf2-cpu.2-15:latest
JOB_SPEC="{\"workerPoolSpecs\":[{
     \"machineSpec\":{\"machineType\":\"n1-standard-4\"},\"replicaCount\":\"1\",
     \"containerSpec\":{\"imageUri\":\"us-docker.pkg.dev/test-project/retrain/train:1\",
                        \"args\":[\"--data=\${gcs_uri}\"]}}]}"
CONFIG="{\"function\":\"retrain\",\"workers\":4,\"request_timeout_s\":15,
 \"auth\":{\"audiences\":[\"$AUD\"],\"service_accounts\":[\"$SA\"],
   \"jwks_url\":\"$EMU/oauth2/v3/certs\",\"jwks_cache\":\"$E2E_DIR/jwks.json\"},
 \"ledger\":{\"url\":\"$RETRAIN_TEST_PG_URL\",\"lease_s\":3},
 \"vertex\":{\"project\":\"test-project\",\"region\":\"us-central1\",\"deadline_ms\":6000},
 \"follow\":{\"first_s\":1,\"max_s\":2,\"creates_per_minute\":6000,\"reads_per_minute\":6000},
 \"rules\":[{\"name\":\"chaos\",\"action\":\"train\",
   \"match\":{\"type\":\"google.cloud.storage.object.v1.finalized\",\"bucket\":\"chaos-data\",
              \"name\":\"in/*.csv\"},
   \"job\":{\"displayName\":\"chaos-\${event_id}\",\"jobSpec\":$JOB_SPEC}},
  {\"name\":\"chaos-pipe\",\"action\":\"train_and_register\",
   \"match\":{\"type\":\"google.cloud.storage.object.v1.finalized\",\"bucket\":\"chaos-data\",
              \"name\":\"pipe/*.csv\"},
   \"job\":{\"displayName\":\"pipe-\${event_id}\",\"jobSpec\":$JOB_SPEC},
   \"model\":{\"parent\":\"$P/models/chaos-pipe\",\"container_image\":\"$SERVE\"}},
  {\"name\":\"chaos-reg\",\"action\":\"register\",
   \"match\":{\"type\":\"google.cloud.storage.object.v1.finalized\",\"bucket\":\"chaos-data\",
              \"name\":\"reg/**/saved_model.pb\"},
   \"model\":{\"parent\":\"$P/models/chaos-reg\",\"container_image\":\"$SERVE\"}}]}"
for m in chaos-pipe chaos-reg; do # Vertex adds versions only to models that exist
  curl -sS -X POST "$EMU/emulator/vertex/models" -d "{\"project\":\"test-project\",
    \"location\":\"us-central1\",\"modelId\":\"$m\",\"model\":{\"displayName\":\"$m\"}}" >/dev/null
done

E2E_HTTPS_PORT=$(e2e_free_port)
export E2E_HTTPS_PORT
start_stack() {
  e2e_start_pool "$CONFIG" && e2e_start_nginx
}
start_stack || { fail "the stack starts"; e2e_finish; exit 1; }
TOKEN=$(curl -sS -X POST "$EMU/emulator/oidc/mint" -d '{"ttl_s":3600}' | jq -r .token)

# The load: for each rule, distinct events delivered DUPS times each, redelivered until
# acknowledged, the three loads side by side.
load() { # NAME EVENTS RATE OBJECT-NAME ({d}: the event's index)
  "$BUILD/loadgen" --url "$BASE/" --cacert "$BUILD/tls/cert.pem" --connections 8 \
    --requests $(($2 * DUPS)) --distinct "$2" --rate "$3" --redeliver 400 --retry-delay-ms 250 \
    --max-seconds 240 -H "Authorization: Bearer $TOKEN" -H 'ce-specversion: 1.0' \
    -H 'ce-type: google.cloud.storage.object.v1.finalized' \
    -H 'ce-source: //storage.googleapis.com/projects/_/buckets/chaos-data' \
    -H "ce-id: $1-{d}" -H "ce-subject: objects/$4" -H 'ce-bucket: chaos-data' \
    -H 'Content-Type: application/json' \
    --body "{\"bucket\":\"chaos-data\",\"name\":\"$4\",\"generation\":\"1\"}" \
    --log "$E2E_DIR/load-$1.log" >"$E2E_DIR/load-$1.json"
}
load chaos "$EVENTS" "$RATE" 'in/f-{d}.csv' &
loaders=($!)
load pipe "$PIPES" $((RATE / 8 + 1)) 'pipe/f-{d}.csv' &
loaders+=($!)
load reg "$UPLOADS" 1 'reg/m-{d}/saved_model.pb' & # uploads are spaced 2 s apart per project
loaders+=($!)

worker_pids() { "${CURL[@]}" "$BASE/status" 2>/dev/null | jq -r '.workers[] | select(.pid > 0) | .pid'; }
faults() { curl -sS -X POST "$EMU/emulator/faults" -d "$1" >/dev/null; }
step() { echo "  chaos: $*"; }

killed=0
for round in $(seq "$ROUNDS"); do
  sleep 2
  for _ in 1 2 3; do
    victim=$(worker_pids | shuf -n 1)
    [ -n "$victim" ] && kill -9 "$victim" && step "kill -9 worker $victim" && killed=$((killed + 1))
    sleep 0.7
  done
  step "Google answers 30 % 503 with 2 s latency"
  faults '{"rate_503":0.3,"latency_ms":2000,"paths":"/v1/","seed":'"$round"'}'
  sleep 6
  faults '{}'
  step "restart PostgreSQL"
  "$E2E_ROOT/tests/lib/pg.sh" restart "$pg_dir" >/dev/null 2>&1
  sleep 2
  step "JWKS endpoint down"
  curl -sS -X POST "$EMU/emulator/oidc/down" -d '{"down":true}' >/dev/null
  sleep 6
  curl -sS -X POST "$EMU/emulator/oidc/down" -d '{"down":false}' >/dev/null
  step "SIGTERM the whole stack, start it again"
  e2e_stop_group "$NGINX_PID"
  e2e_stop_group "$POOL_PID"
  start_stack || fail "the stack restarts"
done

wait "${loaders[@]}"
for name in chaos pipe reg; do echo "  load $name: $(cat "$E2E_DIR/load-$name.json")"; done
report=$(cat "$E2E_DIR/load-chaos.json")
for name in chaos pipe reg; do
  n=$(case $name in chaos) echo "$EVENTS" ;; pipe) echo "$PIPES" ;; reg) echo "$UPLOADS" ;; esac)
  expect "$name: every delivery was finally acknowledged (none lost)" \
    "$(jq -r '(.http."200" // 0) + (.http."202" // 0)' "$E2E_DIR/load-$name.json")" "$((n * DUPS))"
done
# Runs Google's trouble or the upload spacing left queued (acknowledged 202) are the follower's
# to submit; an upload's version exists once its operation is done (the follower sees it).
none_queued() { [ "$("$BUILD/retrainctl" runs list --state queued --limit 100000 | wc -l)" = 0 ]; }
uploads_ended() {
  [ "$("$BUILD/retrainctl" runs list --rule chaos-reg --limit 1000 | jq -r 'select(.state | IN("succeeded","failed","cancelled") | not) | .id' | wc -l)" = 0 ]
}
e2e_wait_for 90 none_queued
expect "no run is left queued: the follower submitted them" \
  "$("$BUILD/retrainctl" runs list --state queued --limit 100000 | wc -l)" 0
e2e_wait_for 60 uploads_ended
expect "every upload's run ended" "$(uploads_ended && echo yes)" yes

# The ledger: every distinct event final; none left claimed.
"$BUILD/retrainctl" events list --limit 100000 >"$E2E_DIR/ledger.jsonl"
expect "every distinct event is in the ledger" "$(jq -r .id "$E2E_DIR/ledger.jsonl" | sort -u | wc -l)" \
  "$((EVENTS + PIPES + UPLOADS))"
expect "every one is final (submitted, coalesced or failed)" \
  "$(jq -r 'select(.status != "done" and .status != "coalesced" and .status != "failed") | .key' "$E2E_DIR/ledger.jsonl" | wc -l)" 0

# Google: per action, exactly one resource labelled with each event recorded done, none doubled,
# none for an event that is not done.
AT=$(curl -sS -H 'Metadata-Flavor: Google' \
  "$EMU/computeMetadata/v1/instance/service-accounts/default/token" | jq -r .access_token)
labels_of() { # URL MEMBER: the retrain-event label of every item of every page, sorted
  local page="" sep
  for _ in $(seq 100); do # at most 1,000 items a page
    case $1 in *\?*) sep='&' ;; *) sep='?' ;; esac
    curl -sS -H "Authorization: Bearer $AT" "$1${sep}pageSize=1000&pageToken=$page" >"$E2E_DIR/page.json"
    jq -r ".$2[]?.labels[\"retrain-event\"] // empty" "$E2E_DIR/page.json"
    page=$(jq -r '.nextPageToken // empty' "$E2E_DIR/page.json")
    [ -z "$page" ] && break
  done | sort
}
done_labels() { # ID-PREFIX: the label (the key's first 63 hex digits) of each event done
  jq -r --arg p "$1-" 'select(.status == "done" and (.id | startswith($p))) | .key[0:63]' \
    "$E2E_DIR/ledger.jsonl" | sort
}
check_action() { # NAME ID-PREFIX LABELS-FILE
  local want got
  want=$(done_labels "$2")
  got=$(cat "$3")
  expect "$1: no event has two" "$(uniq -d "$3" | wc -l)" 0
  expect "$1: exactly one per event done, none for any other" "$(sort -u "$3")" "$want"
  expect "$1: events were done at all" "$([ -n "$want" ] && echo yes)" yes
  echo "  $1: $(grep -c . <<<"$want") events done, $(grep -c . <<<"$got") labelled at Google"
}
labels_of "$EMU/v1/$P/customJobs" customJobs >"$E2E_DIR/jobs.txt"
check_action "train: CustomJobs" chaos "$E2E_DIR/jobs.txt"
labels_of "$EMU/v1/$P/trainingPipelines" trainingPipelines >"$E2E_DIR/pipelines.txt"
check_action "train_and_register: TrainingPipelines" pipe "$E2E_DIR/pipelines.txt"
labels_of "$EMU/v1/$P/models/chaos-pipe:listVersions" models >"$E2E_DIR/pipe-versions.txt"
check_action "train_and_register: model versions" pipe "$E2E_DIR/pipe-versions.txt"
labels_of "$EMU/v1/$P/models/chaos-reg:listVersions" models >"$E2E_DIR/versions.txt"
check_action "register: model versions" reg "$E2E_DIR/versions.txt"
expect "no failed event (nothing Google refused for good)" \
  "$(jq -r 'select(.status == "failed") | .id' "$E2E_DIR/ledger.jsonl" | wc -l)" 0

# The pool: alive, nobody stuck.
http GET /status
expect "the pool answers after the chaos" "$STATUS" 200
expect "no worker is stuck in a request" "$(json_get '.workers | map(select(.busy_ms > 15000)) | length')" 0
echo "  summary: $EVENTS + $PIPES + $UPLOADS events x $DUPS deliveries;" \
  "$(json_get retries "$report") redeliveries of the train load; $killed workers killed, $ROUNDS stack restarts"
e2e_finish
