#!/usr/bin/env bash
# Every file that arrives gets trained on, and no event is lost to an outage, end to end: nginx
# over TLS, the pool running "retrain" with its follower, the SQLite ledger (or
# RETRAIN_E2E_LEDGER) and the strict emulator.
#   - 1,000 uploads within 10 s for a rule with min_interval_s: one run at the start, then
#     exactly one follow-up covering the other 999, submitted by the follower when the first
#     run ends, its body expanded with the batch's placeholders; nothing left pending.
#   - Vertex answering 503 for OUTAGE_S seconds (default 90) under a steady load: every event
#     acknowledged with 202 "queued", all submitted by the follower once Vertex is back, within
#     the creates budget (counted at the emulator), the first creates losing their answer so
#     that the label adoption is exercised; one job per run, none lost.
. "$(dirname "$0")/lib.sh"
e2e_init

OUTAGE_S=${OUTAGE_S:-90}
LEDGER_URL=${RETRAIN_E2E_LEDGER:-sqlite://$E2E_DIR/ledger.db}
e2e_start_emulator --job-clock-ms 6000
e2e_use_emulator
V="$EMU/v1/$P"
stats() { curl -sS "$EMU/emulator/stats" | jq -r "$1"; }
faults() { curl -sS -X POST "$EMU/emulator/faults" -d "$1" >/dev/null; }

rule() { # NAME GLOB EXTRA-MEMBERS
  cat <<EOF
{"name":"$1","action":"train",$3
 "match":{"type":"google.cloud.storage.object.v1.finalized","bucket":"acme-data","name":"$2"},
 "job":{"displayName":"$1-\${event_id}",
  "jobSpec":{"workerPoolSpecs":[{"machineSpec":{"machineType":"n1-standard-4"},"replicaCount":"1",
   "containerSpec":{"imageUri":"us-docker.pkg.dev/test-project/retrain/train:1",
    "args":["--batch=\${batch_size}","--first=\${batch_first_name}","--last=\${batch_last_name}",
            "--prefix=\${batch_prefix}","--run=\${run_id}","--input=\${gcs_uri}"]}}]}}}
EOF
}
cat >"$E2E_DIR/retrain.json" <<EOF
{"function":"retrain","workers":4,"request_timeout_s":20,"auth":{"disabled":true},
 "ledger":{"url":"$LEDGER_URL","lease_s":10},
 "vertex":{"project":"test-project","region":"us-central1","deadline_ms":2000},
 "follow":{"first_s":1,"max_s":2,"reads_per_minute":600,"creates_per_minute":300},
 "notify":{"url":"$EMU/emulator/sink/runs?token=notice-secret-42","timeout_ms":2000},
 "rules":[
  $(rule burst 'burst/*.csv' '"min_interval_s":600,'),
  $(rule steady 'steady/*.csv' ''),
  {"name":"imports","action":"register",
   "match":{"type":"google.cloud.storage.object.v1.finalized","bucket":"acme-data","name":"models/**/saved_model.pb"},
   "model":{"parent":"projects/test-project/locations/us-central1/models/imported",
            "container_image":"us-docker.pkg.dev/vertex-ai/prediction/tf2-cpu.2-15:latest"}}]}
EOF
curl -sS -X POST "$EMU/emulator/vertex/models" -d '{"project":"test-project",
  "location":"us-central1","modelId":"imported","model":{"displayName":"imported"}}' >/dev/null
curl -sS -X POST "$EMU/emulator/sink/config" -d '{"fail_next":2}' >/dev/null # the first two notices
e2e_start_pool "$(cat "$E2E_DIR/retrain.json")"
e2e_start_nginx
export RETRAIN_LEDGER="$LEDGER_URL" RETRAIN_CONFIG="$E2E_DIR/retrain.json"
ce=(-H 'ce-specversion: 1.0' -H 'ce-type: google.cloud.storage.object.v1.finalized'
  -H 'Content-Type: application/json' -H 'ce-source: //storage.googleapis.com/projects/_/buckets/acme-data')
runs_of() { "$BUILD/retrainctl" runs list --rule "$1" --limit 5000; }
open_runs() { runs_of "$1" | jq -r 'select(.state | IN("succeeded","failed","cancelled") | not) | .id' | wc -l; }
none_open() { [ "$(open_runs "$1")" = 0 ]; }
jobs_of() { e2e_rule_jobs "$@"; }

echo "1,000 uploads within 10 s: one run, then one follow-up covering the other 999"
report=$("$BUILD/loadgen" --url "$BASE/" --cacert "$BUILD/tls/cert.pem" --connections 32 \
  --requests 1000 --retry-503 50 --max-seconds 30 "${ce[@]}" -H 'ce-id: burst-{n}' \
  --body '{"bucket":"acme-data","name":"burst/part-{n}.csv"}')
echo "  loadgen: $report"
expect "burst: 1000 answered 200" "$(json_get '.http."200"' "$report")" 1000
expect "burst: one submitted, 999 coalesced" \
  "$(json_get .answers.submitted "$report")/$(json_get .answers.coalesced "$report")" 1/999
expect "burst: within 10 s" "$(jq -r '.seconds < 10' <<<"$report")" true
first=$(runs_of burst | jq -r 'select(.after_run == null) | .id')
follow_up=$(runs_of burst | jq -r 'select(.after_run != null) | .id')
expect "burst: the follow-up waits for the first run, covering 999" \
  "$(runs_of burst | jq -r 'select(.after_run != null) | [.state, .after_run, .events] | map(tostring) | join(" ")')" \
  "queued $first 999"
e2e_wait_for 60 none_open burst
expect "burst: both runs followed to their end" \
  "$(runs_of burst | jq -r '.state' | sort | uniq -c | awk '{print $1, $2}')" "2 succeeded"
jobs_of burst >"$E2E_DIR/burst-jobs.jsonl"
expect "burst: two jobs at Google, one per run" "$(wc -l <"$E2E_DIR/burst-jobs.jsonl")" 2
fjob=$(runs_of burst | jq -r --arg f "$follow_up" 'select(.id == $f) | .resource')
fargs=$(jq -r --arg j "$fjob" 'select(.name == $j) | .jobSpec.workerPoolSpecs[0].containerSpec.args | join(" ")' \
  "$E2E_DIR/burst-jobs.jsonl")
expect_match "burst: the follow-up's body: \${batch_size} 999, its names, prefix and run" "$fargs" \
  "^--batch=999 --first=burst/part-[0-9]+\\.csv --last=burst/part-[0-9]+\\.csv --prefix=burst/ --run=$follow_up --input=gs://acme-data/burst/part-[0-9]+\\.csv\$"
first_args=$(jq -r --arg f "$follow_up" 'select(.jobSpec.workerPoolSpecs[0].containerSpec.args | index("--run=" + $f) | not)
  | .jobSpec.workerPoolSpecs[0].containerSpec.args | [.[0], .[4]] | join(" ")' "$E2E_DIR/burst-jobs.jsonl")
expect "burst: the first run's body has \${batch_size} 1 and its own run id" "$first_args" "--batch=1 --run=$first"
"$BUILD/retrainctl" events list --limit 5000 | jq -r 'select(.outcome.rule == "burst") | .run' | sort | uniq -c |
  awk '{print $1}' | sort -n | tr '\n' ' ' >"$E2E_DIR/burst-runs.txt"
expect "burst: every event names one of the two runs (1 and 999)" "$(cat "$E2E_DIR/burst-runs.txt")" "1 999 "
expect "burst: nothing left queued" "$("$BUILD/retrainctl" runs list --state queued | wc -l)" 0
expect_match "burst: the follower logged the follow-up's submission" \
  "$(grep -c "run $follow_up: queued -> submitted ($fjob; 999 events)" "$E2E_DIR/pool.log")" '^1$'

echo "Vertex answers 503 for ${OUTAGE_S} s under a steady load: every event 202 queued, none lost"
faults '{"rate_503":1,"paths":"/v1/"}'
for i in 1 2 3; do # uploads meet the outage too
  http POST / "${ce[@]}" -H "ce-id: up-$i" --data "{\"bucket\":\"acme-data\",\"name\":\"models/v$i/saved_model.pb\"}"
  expect "outage: upload $i answered 202 queued" "$STATUS/$(json_get status)/$(json_get action)" 202/queued/register
done
rate=1
n=$((OUTAGE_S * rate))
report=$("$BUILD/loadgen" --url "$BASE/" --cacert "$BUILD/tls/cert.pem" --connections 8 \
  --rate "$rate" --requests "$n" --max-seconds $((OUTAGE_S + 30)) --redeliver 5 "${ce[@]}" \
  -H 'ce-id: steady-{n}' --body '{"bucket":"acme-data","name":"steady/part-{n}.csv"}')
echo "  loadgen: $report"
expect "outage: every event answered 202" "$(json_get '.http."202"' "$report")" "$n"
expect "outage: each one queued" "$(json_get .answers.queued "$report")" "$n"
expect "outage: nothing created meanwhile" "$(jobs_of steady | wc -l)" 0
expect "outage: $n runs queued" "$(runs_of steady | jq -r .state | sort | uniq -c | awk '{print $1, $2}')" "$n queued"
# Back, and the first creates lose their answer: the follower finds those by label. The
# follower submits the queued runs within the creates budget (300 a minute: a burst of 25, then
# 5 a second), counted at the emulator every second while it does.
faults '{"drop_after_rate":1,"limit":3,"routes":["customJobs.create"]}'
creates0=$(stats '.attempts["customJobs.create"] // 0') t0=$SECONDS over=""
all_submitted() { [ "$(runs_of steady | jq -r 'select(.resource == null) | .id' | wc -l)" = 0 ]; }
while ! all_submitted && [ $((SECONDS - t0)) -lt 150 ]; do
  made=$(($(stats '.attempts["customJobs.create"] // 0') - creates0))
  [ "$made" -le $((25 + 5 * (SECONDS - t0) + 5)) ] || over="$made creates in $((SECONDS - t0)) s"
  sleep 1
done
secs=$((SECONDS - t0)) made=$(($(stats '.attempts["customJobs.create"] // 0') - creates0))
echo "  (recovery: $made creates in ${secs} s)"
faults '{}'
expect "recovery: every run submitted" "$(runs_of steady | jq -r 'select(.resource == null) | .id' | wc -l)" 0
expect "recovery: the creates stayed within 25 + 5 a second" "${over:-within}" within
expect "recovery: and the budget was what paced them (not done at once)" \
  "$([ "$secs" -ge $(((n - 25) / 5 - 2)) ] && echo paced)" paced
jobs_of steady >"$E2E_DIR/steady-jobs.jsonl"
expect "recovery: one job per run" "$(wc -l <"$E2E_DIR/steady-jobs.jsonl")" "$n"
expect "recovery: each run names its own job" "$(runs_of steady | jq -r .resource | sort -u | wc -l)" "$n"
expect "recovery: every job is one of the runs'" \
  "$(comm -3 <(jq -r .name "$E2E_DIR/steady-jobs.jsonl" | sort) <(runs_of steady | jq -r .resource | sort) | wc -l)" 0
expect "recovery: three creates lost their answer" "$(stats '.requests["fault.dropped_after"] // 0')" 3
expect_match "recovery: the follower adopted them by label" \
  "$(grep -c 'queued -> submitted ([^;]*, adopted; 1 events)' "$E2E_DIR/pool.log")" '^[1-9]'
expect "recovery: every event names its run, done" \
  "$("$BUILD/retrainctl" events list --limit 5000 | jq -r 'select(.outcome.rule == "steady") | select(.status == "done" and (.run | length) == 24) | .key' | wc -l)" "$n"
e2e_wait_for 60 none_open steady
expect "recovery: all followed to their end" "$(open_runs steady)" 0
e2e_wait_for 60 none_open imports
expect "recovery: the three uploads registered a version each" \
  "$(runs_of imports | jq -r 'select(.state == "succeeded" and (.model_version | test("/models/imported@[0-9]+$"))) | .model_version' | sort -u | wc -l)" 3
expect "recovery: uploads spaced as Google asks (none refused)" "$(stats .created.uploadsRefused)" 0
expect "recovery: one version per upload" \
  "$(vx -G "$V/models/imported:listVersions" --data-urlencode 'filter=labels.retrain-rule="imports"' | jq '.models | length')" 3

echo "the token endpoint down (tokens revoked, the metadata server answering 503): queued too"
creates_before=$(stats '.requests["customJobs.create"] // 0')
curl -sS -X POST "$EMU/emulator/oauth/revoke-all" >/dev/null
faults '{"rate_503":1,"routes":["metadata.token"]}'
for i in 1 2; do
  http POST / "${ce[@]}" -H "ce-id: tok-$i" --data "{\"bucket\":\"acme-data\",\"name\":\"steady/tok-$i.csv\"}"
  expect "token down: event $i answered 202 queued" "$STATUS/$(json_get status)" 202/queued
  expect_match "token down: says why" "$(json_get reason)" "access token"
done
expect "token down: nothing created" "$(stats '.requests["customJobs.create"] // 0')" "$creates_before"
faults '{}'
e2e_wait_for 60 none_open steady
expect "token back: both submitted and followed to their end" \
  "$(runs_of steady | jq -r 'select(.state == "succeeded") | .id' | wc -l)" $((n + 2))
expect "token back: two creates, one per run" "$(($(stats '.requests["customJobs.create"] // 0') - creates_before))" 2

echo "notices: each run that ended POSTed to notify.url as a CloudEvent, until taken"
ended=$("$BUILD/retrainctl" runs list --limit 5000 | jq -r 'select(.state | IN("succeeded","failed","cancelled")) | .id' | sort)
n_ended=$(wc -l <<<"$ended")
sink_has_all() { [ "$(curl -sS "$EMU/emulator/sink" | jq '[.received[].headers["ce-id"]] | unique | length')" -ge "$n_ended" ]; }
e2e_wait_for 60 sink_has_all
curl -sS "$EMU/emulator/sink" >"$E2E_DIR/sink.json"
expect "notices: one for every ended run ($n_ended)" \
  "$(jq -r '.received[].headers["ce-id"]' "$E2E_DIR/sink.json" | sort -u)" "$ended"
expect "notices: the two refused were sent again" "$(jq -r .failed "$E2E_DIR/sink.json")" 2
expect "notices: binary mode, typed by the end, the run as data" \
  "$(jq -r '.received[] | select(.headers["ce-specversion"] == "1.0"
      and .headers["ce-type"] == "dev.eventarc-retrain.run.v1." + .data.state
      and .headers["ce-source"] == "//eventarc-retrain/projects/test-project/locations/us-central1"
      and .headers["ce-subject"] == "rules/" + .data.rule + "/runs/" + .data.id
      and .data.id == .headers["ce-id"] and (.headers["content-type"] | startswith("application/json"))
      and (.path | startswith("/emulator/sink/runs"))) | .data.id' "$E2E_DIR/sink.json" | sort -u)" "$ended"
expect "notices: the follow-up's says it covered 999" \
  "$(jq -r --arg f "$follow_up" '.received[] | select(.data.id == $f) | .data.events' "$E2E_DIR/sink.json" | sort -u)" 999
expect_match "notices: a refused one is logged and retried" \
  "$(grep -c 'notice not taken (the endpoint answered HTTP 503); sending again in 5 s' "$E2E_DIR/pool.log")" '^[1-9]'
expect "notices: the URL's token is never logged" "$(grep -c 'notice-secret-42' "$E2E_DIR/pool.log")" 0

echo "metrics: what happened, from the ledger and the pool's counters"
http GET /metrics
expect_match "metrics: Vertex's 503s to creates counted" "$BODY" \
  'retrain_vertex_calls_total\{method="POST",call="customJobs",code="503"\} [1-9]'
expect_match "metrics: the creates that made jobs" "$BODY" \
  'retrain_vertex_calls_total\{method="POST",call="customJobs",code="200"\} [1-9]'
expect_match "metrics: every steady run ended, timed from its first event" "$BODY" \
  "retrain_run_duration_seconds_count\\{rule=\"steady\",state=\"succeeded\"\\} $((n + 2))"
expect_match "metrics: none queued any more" "$(grep -c '^retrain_queued_events{' <<<"$BODY")" '^0$'

e2e_stop_group "$POOL_PID"
# shellcheck disable=SC2119 # no files named: the default logs, those this test made
e2e_check_logs
e2e_finish
