#!/usr/bin/env bash
# Promotion end to end: nginx over TLS, the pool running "retrain" with its follower, the SQLite
# ledger (or RETRAIN_E2E_LEDGER) and the strict emulator, whose training pipelines produce the
# evaluation each step asks for (POST /emulator/vertex/outcomes). A train_and_register rule with
# a promote section uploads every version with "candidate" only; the follower moves
# "production" when the version's auRoc wins by more than 0.01:
#   - the first evaluated version of a model no version serves yet is promoted;
#   - a better one is promoted, a worse one held and production stays, a tie inside min_delta
#     held, a version without an evaluation held with its reason;
#   - an evaluation the training wrote as metrics.json is imported into the Model Registry, then
#     compared (and wins);
#   - a metrics.json that is not JSON, or lacks the metric, is held saying so; Google failing
#     while the gate reads leaves the decision for a later pass;
#   - two runs ending together leave the better one serving;
#   - `retrainctl rollback` restores the previous holder, `retrainctl promote` moves by hand,
#     both audited; `retrainctl models history` shows every version, its run, metric, decision
#     and aliases;
#   - the follower killed after the decision and before the move converges when it restarts:
#     one decision, one move, the alias on one version;
#   - a register rule's upload decided by the metrics.json beside the model (goal minimize);
#   - a gated run's notice (notify.url) waits for its decision and carries it;
#   - /metrics counts the decisions by rule and outcome and shows the serving version's metric.
. "$(dirname "$0")/lib.sh"
e2e_init

LEDGER_URL=${RETRAIN_E2E_LEDGER:-sqlite://$E2E_DIR/ledger.db}
e2e_start_emulator --job-clock-ms 300
e2e_use_emulator
seed() { # MODEL-ID
  curl -sS -X POST "$EMU/emulator/vertex/models" -d "{\"project\":\"test-project\",
    \"location\":\"us-central1\",\"modelId\":\"$1\",\"model\":{\"displayName\":\"$1\"}}" >/dev/null
}
seed churn
seed crashy
seed regm
outcome() { # DISPLAY-NAME-PART METRICS-JSON [WRITE]
  curl -sS -X POST "$EMU/emulator/vertex/outcomes" \
    -d "{\"display_name_contains\":\"$1\",\"metrics\":$2,\"write\":\"${3:-evaluation}\"}" >/dev/null
}

rule() { # NAME GLOB MODEL
  cat <<EOF
{"name":"$1","action":"train_and_register",
 "match":{"type":"google.cloud.storage.object.v1.finalized","bucket":"acme-data","name":"$2"},
 "job":{"displayName":"$1-\${event_id}",
  "jobSpec":{"workerPoolSpecs":[{"machineSpec":{"machineType":"n1-standard-4"},"replicaCount":"1",
   "containerSpec":{"imageUri":"us-docker.pkg.dev/test-project/retrain/train:1","args":["--data=\${gcs_uri}"]}}]}},
 "model":{"parent":"$P/models/$3","container_image":"us-docker.pkg.dev/test-project/retrain/serve:1",
  "artifact_uri":"gs://acme-models/$1/\${event_id}/"},
 "promote":{"alias":"production","metric":"auRoc","goal":"maximize","min_delta":0.01}}
EOF
}
# shellcheck disable=SC2016 # the placeholders are the service's, not the shell's
cat >"$E2E_DIR/retrain.json" <<EOF
{"function":"retrain","workers":2,"request_timeout_s":20,"auth":{"disabled":true},
 "ledger":{"url":"$LEDGER_URL","lease_s":10},
 "vertex":{"project":"test-project","region":"us-central1","deadline_ms":2000},
 "storage":{"endpoint":"$EMU","timeout_ms":2000},
 "notify":{"url":"$EMU/emulator/sink/promo","timeout_ms":2000},
 "follow":{"first_s":1,"max_s":2,"reads_per_minute":6000,"creates_per_minute":600},
 "rules":[$(rule churn 'churn/*.csv' churn), $(rule crashy 'crashy/*.csv' crashy),
  {"name":"reg","action":"register",
   "match":{"type":"google.cloud.storage.object.v1.finalized","bucket":"acme-data","name":"reg/**/model.bin"},
   "model":{"parent":"$P/models/regm","container_image":"us-docker.pkg.dev/test-project/retrain/serve:1"},
   "promote":{"alias":"production","metric":"logLoss","goal":"minimize"}}]}
EOF
export RETRAIN_TEST_HOOKS=1 RETRAIN_TEST_CRASH_AFTER_DECISION=crashy
e2e_start_pool "$(cat "$E2E_DIR/retrain.json")"
e2e_start_nginx
export RETRAIN_LEDGER="$LEDGER_URL" RETRAIN_CONFIG="$E2E_DIR/retrain.json"

ce=(-H 'ce-specversion: 1.0' -H 'ce-type: google.cloud.storage.object.v1.finalized'
  -H 'Content-Type: application/json' -H 'ce-source: //storage.googleapis.com/projects/_/buckets/acme-data')
send() { # ID OBJECT
  http POST / "${ce[@]}" -H "ce-id: $1" -H "ce-subject: objects/$2" \
    --data "{\"bucket\":\"acme-data\",\"name\":\"$2\",\"generation\":\"1\"}"
}
run_field() { "$BUILD/retrainctl" runs show "$1" | jq -r "$2"; }
decided() { [ "$(run_field "$1" '.promotion.decision | IN("promoted", "held")')" = true ]; }
holder() { vx "$EMU/v1/$P/models/$1@production" | jq -r '.versionId // "none"'; }
# Sends event ID for OBJECT and waits for its run's decision; sets RUN and VER.
train() { # ID OBJECT
  send "$1" "$2"
  RUN=$(json_get run)
  e2e_wait_for 40 decided "$RUN" || echo "  (run $RUN: $(run_field "$RUN" '.state + " " + (.promotion | tostring)'))"
  VER=$(run_field "$RUN" .model_version_id)
}
decision() { run_field "$1" '.promotion.decision'; }
reason() { run_field "$1" '.promotion.details.reason'; }

echo "the first evaluated version of a model that no version serves yet: promoted"
outcome churn-p1 '{"auRoc":0.80}'
train p1 churn/a.csv
r1=$RUN v1=$VER
expect "first: submitted" "$STATUS/$(json_get status)" 200/submitted
expect "first: promoted" "$(decision "$r1")" promoted
expect_match "first: the reason says nobody served" "$(reason "$r1")" "no version holds production yet"
expect "first: production is on its version" "$(holder churn)" "$v1"
expect "first: the upload carried the candidate alias only" \
  "$(vx "$EMU/v1/$P/models/churn@$v1" | jq -c '.versionAliases - ["default"] | sort')" '["candidate","production"]'

echo "a better version: promoted, production moves"
outcome churn-p2 '{"auRoc":0.90}'
train p2 churn/b.csv
r2=$RUN v2=$VER
expect "better: promoted" "$(decision "$r2")" promoted
expect_match "better: the reason compares both" "$(reason "$r2")" "auRoc 0.9 of version $v2 beats 0.8 of version $v1"
expect "better: production is on it" "$(holder churn)" "$v2"
expect "better: the details keep both values" \
  "$(run_field "$r2" '.promotion.details | [.candidate.value, .champion.value, .champion.version, .candidate.source] | map(tostring) | join(" ")')" \
  "0.9 0.8 $v1 evaluation"

echo "a worse version: held, production stays"
outcome churn-p3 '{"auRoc":0.70}'
train p3 churn/c.csv
r3=$RUN v3=$VER
expect "worse: held" "$(decision "$r3")" held
expect_match "worse: the reason" "$(reason "$r3")" "auRoc 0.7 of version $v3 does not beat 0.9 of version $v2"
expect "worse: production stays" "$(holder churn)" "$v2"
expect "worse: the version holds the candidate alias" \
  "$(vx "$EMU/v1/$P/models/churn@candidate" | jq -r .versionId)" "$v3"

echo "a tie inside min_delta: held"
outcome churn-p4 '{"auRoc":0.905}'
train p4 churn/d.csv
r4=$RUN
expect "tie: held" "$(decision "$r4")" held
expect_match "tie: by more than 0.01" "$(reason "$r4")" "does not beat 0.9 .* by more than 0.01"
expect "tie: production stays" "$(holder churn)" "$v2"

echo "no evaluation: held, with its reason"
outcome churn-p5 '{}' none
train p5 churn/e.csv
r5=$RUN v5=$VER
expect "none: held" "$(decision "$r5")" held
expect_match "none: the reason names what was looked for" "$(reason "$r5")" \
  "no ModelEvaluation of .*@$v5 has a number auRoc, and gs://acme-models/churn/p5/metrics.json does not exist; held: require_evaluation is true"
expect "none: production stays" "$(holder churn)" "$v2"

echo "an evaluation from metrics.json: imported, then compared"
outcome churn-p6 '{"auRoc":0.95,"logLoss":0.2}' metrics_json
train p6 churn/f.csv
r6=$RUN v6=$VER
expect "metrics.json: promoted" "$(decision "$r6")" promoted
expect "metrics.json: its source" "$(run_field "$r6" .promotion.details.candidate.source)" metrics_json
expect "metrics.json: imported into the Model Registry" \
  "$(vx "$EMU/v1/$P/models/churn@$v6/evaluations" | jq -c '[.modelEvaluations[].metrics.auRoc]')" '[0.95]'
expect "metrics.json: production moved" "$(holder churn)" "$v6"

echo "metrics.json that is not JSON, or lacks the metric: held, saying which"
printf 'auRoc=0.99\n' | curl -sS -o /dev/null -X POST -H "Authorization: Bearer $AT" \
  -H 'Content-Type: application/json' --data-binary @- \
  "$EMU/upload/storage/v1/b/acme-models/o?uploadType=media&name=churn/p9/metrics.json"
outcome churn-p9 '{}' none
train p9 churn/i.csv
expect "not JSON: held" "$(decision "$RUN")" held
expect_match "not JSON: the reason" "$(reason "$RUN")" "gs://acme-models/churn/p9/metrics.json is not a JSON object"
outcome churn-p10 '{"logLoss":0.1}' metrics_json
train p10 churn/j.csv
expect_match "no such metric: held" "$(decision "$RUN") $(reason "$RUN")" "^held .*metrics.json has no number auRoc"
expect "no such metric: production stays" "$(holder churn)" "$v6"

echo "Google failing while the gate reads: decided later, on the follower's backoff"
curl -sS -X POST "$EMU/emulator/faults" -d '{"rate_503":1,"routes":["models.evaluations.list"],"limit":12}' >/dev/null
outcome churn-p11 '{"auRoc":0.5}'
train p11 churn/k.csv
expect "503s: held once Google answered" "$(decision "$RUN")" held
expect_match "503s: the passes that could not finish are logged" \
  "$(grep -c "run $RUN: promotion not decided yet: models.evaluations.list" "$E2E_DIR/pool.log")" '^[1-9]'
curl -sS -X POST "$EMU/emulator/faults" -d '{}' >/dev/null

echo "two runs ending together: the better one serves"
outcome churn-p7 '{"auRoc":0.97}'
outcome churn-p8 '{"auRoc":0.96}'
send p7 churn/g.csv
r7=$(json_get run)
send p8 churn/h.csv
r8=$(json_get run)
e2e_wait_for 40 decided "$r7"
e2e_wait_for 40 decided "$r8"
v7=$(run_field "$r7" .model_version_id)
expect "together: the better one serves" "$(holder churn)" "$v7"
expect "together: the better one was promoted" "$(decision "$r7")" promoted
expect "together: production on one version" \
  "$(vx "$EMU/v1/$P/models/churn:listVersions" | jq '[.models[] | select(.versionAliases | index("production"))] | length')" 1

echo "rollback: production back to the version before"
out=$("$BUILD/retrainctl" rollback churn --alias production --reason "bad canary")
expect "rollback: exit 0" "$?" 0
expect "rollback: what moved" "$(jq -r '[.from, .to, .by] | join(" ")' <<<"$out")" "$v7 $v6 rollback"
expect "rollback: production on the previous holder" "$(holder churn)" "$v6"
"$BUILD/retrainctl" rollback churn --alias nope-alias >/dev/null 2>"$E2E_DIR/rb.err"
expect "rollback: an alias nobody holds is refused" "$?" 1
expect "rollback: a bad alias is a usage error" \
  "$("$BUILD/retrainctl" rollback churn --alias 7 >/dev/null 2>&1; echo $?)" 2

echo "promote by hand: moved and audited"
out=$("$BUILD/retrainctl" promote "churn@$v3" --alias production --reason "manual test")
expect "promote: exit 0" "$?" 0
expect "promote: production on it" "$(holder churn)" "$v3"
"$BUILD/retrainctl" promote "churn@$v3" --alias production >/dev/null 2>&1
expect "promote: again is nothing to do" "$?" 1

echo "models history: every version, its run, metric, decision and aliases"
hist=$("$BUILD/retrainctl" models history churn)
expect "history: one line per version (the seeded one too)" "$(wc -l <<<"$hist")" 12
expect "history: the better version's line" \
  "$(jq -r --arg v "$v2" 'select(.version == $v) | [.run, .value, .decision, (.events | tostring)] | map(tostring) | join(" ")' <<<"$hist")" \
  "$r2 0.9 promoted 1"
expect "history: who holds production now" \
  "$(jq -r 'select(.aliases | index("production")) | .version' <<<"$hist")" "$v3"
expect "history: the moves onto version $v6 (gate, then the rollback)" \
  "$(jq -r --arg v "$v6" 'select(.version == $v) | [.moves[].by] | join(" ")' <<<"$hist")" "gate rollback"
expect "history: the hand move's reason" \
  "$(jq -r --arg v "$v3" 'select(.version == $v) | .moves[-1].why' <<<"$hist")" "manual test"

echo "the follower killed between the decision and the move: it converges on restart"
outcome crashy-c1 '{"auRoc":0.5}'
send c1 crashy/a.csv
rc1=$(json_get run)
e2e_wait_for 40 grep -q "follower died on signal 9" "$E2E_DIR/pool.log"
expect "crash: the follower died after the decision" "$(grep -c "follower died on signal 9" "$E2E_DIR/pool.log")" 1
e2e_wait_for 40 decided "$rc1"
cv=$(run_field "$rc1" .model_version_id)
expect "crash: promoted once the next follower decided again" "$(decision "$rc1")" promoted
expect "crash: production on its version" "$(holder crashy)" "$cv"
moves=$("$BUILD/retrainctl" models history crashy | jq -s '[.[].moves[]] | length')
expect "crash: one move audited" "$moves" 1

echo "a register rule: the upload carries the candidate alias, the metrics.json beside the model decides"
printf '{"logLoss":0.25}' | curl -sS -o /dev/null -X POST -H "Authorization: Bearer $AT" \
  -H 'Content-Type: application/json' --data-binary @- \
  "$EMU/upload/storage/v1/b/acme-data/o?uploadType=media&name=reg/run1/metrics.json"
train r1 reg/run1/model.bin
expect "register: promoted from its metrics.json (minimize, nothing served yet)" \
  "$(decision "$RUN") $(run_field "$RUN" .promotion.details.candidate.source)" "promoted metrics_json"
expect "register: production on the uploaded version" "$(holder regm)" "$VER"
expect "register: the metrics imported into the Model Registry" \
  "$(vx "$EMU/v1/$P/models/regm@$VER/evaluations" | jq -c '[.modelEvaluations[].metrics.logLoss]')" '[0.25]'

echo "notices: a gated run's notice waits for its decision, and carries it"
decided_runs=$("$BUILD/retrainctl" runs list --limit 100 | jq -r 'select(.promotion != null) | .id' | sort)
sink_has() { [ "$(curl -sS "$EMU/emulator/sink" | jq '[.received[].headers["ce-id"]] | unique | length')" -ge "$(wc -l <<<"$decided_runs")" ]; }
e2e_wait_for 30 sink_has
curl -sS "$EMU/emulator/sink" >"$E2E_DIR/sink.json"
expect "notices: one per gated run, each with its final decision" \
  "$(jq -r '.received[] | select(.data.promotion.decision | IN("promoted", "held")) | .data.id' "$E2E_DIR/sink.json" | sort -u)" \
  "$decided_runs"
expect "notices: none sent before its decision" \
  "$(jq '[.received[] | select(.data.promotion.decision | IN("pending", "promoting"))] | length' "$E2E_DIR/sink.json")" 0

echo "metrics: decisions by rule and outcome, the serving version's metric"
metrics=$(curl -sS --cacert "$BUILD/tls/cert.pem" "$BASE/metrics")
m() { grep -E "^$1" <<<"$metrics" | awk '{print $2}'; }
promoted=$(m 'retrain_promotion_decisions\{rule="churn",outcome="promoted"\}')
held=$(m 'retrain_promotion_decisions\{rule="churn",outcome="held"\}')
expect "metrics: eleven churn decisions, seven held or six (p8 first, then beaten)" \
  "$((promoted + held)) $((held == 6 || held == 7))" "11 1"
expect_match "metrics: the serving metric of churn" \
  "$(grep -E '^retrain_serving_metric\{model="[^"]*/models/churn",alias="production",metric="auRoc",version="'"$v3"'"\}' <<<"$metrics")" 0.7

e2e_finish
