#!/usr/bin/env bash
# The promotion gate's figures for make bench (after bench/run.sh): Vertex AI calls per
# promotion decision, and the time from a run's end to its decision, each beside its baseline
# from the same run.
#
# One pool (function retrain, its follower, SQLite) against the emulator (job clock 500 ms:
# a pipeline ends 1 s after its create), behind nginx over TLS, one train_and_register rule with
# promote {"alias":"production","metric":"auRoc","goal":"maximize"} on one model.
# BENCH_DECISIONS (30) runs, one new event every 0.7 s, their outcomes taking turns:
#   better   a ModelEvaluation that beats the serving version (promoted: the alias moves)
#   worse    a ModelEvaluation below it (held)
#   file     no ModelEvaluation, a metrics.json in Cloud Storage that beats it (read, imported
#            into the Model Registry, then promoted)
# (the first run, with no version serving yet, is promoted whatever it is).
# Then until every run is decided (at most 60 s).
#
# Calls: the emulator's request counts by route over the whole run (its /emulator/stats), the
# gate's (models.get, models.evaluations.list, models.evaluations.import,
# models.mergeVersionAliases; storage.objects.get apart) per decision, beside the follower's
# reads to follow the same runs to their end (trainingPipelines.get per run).
# Time: from the run's end (Google's endTime) to the decision (its details' "decided"), median,
# p90 and max (nearest rank), beside the follower's look period (follow.first_s = max_s = 1 s);
# and the gate's own share: from the follower recording the end (its "-> succeeded" log line) to
# the decision's log line, beside the end-to-recorded delay.
# Writes build/bench/promote.json and prints the figures. Exit 1 when a run was not decided or a
# decision was not the expected one.
set -u
# shellcheck disable=SC2034 # read by tests/e2e/lib.sh
E2E_NAME=bench-promote
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/../tests/e2e/lib.sh"
e2e_init
N=${BENCH_DECISIONS:-30}
OUT=${BENCH_PROMOTE_JSON:-$BUILD/bench/promote.json}
mkdir -p "$(dirname "$OUT")"

e2e_start_emulator --job-clock-ms 500
e2e_use_emulator
curl -sS -X POST "$EMU/emulator/vertex/models" -d '{"project":"test-project",
  "location":"us-central1","modelId":"churn","model":{"displayName":"churn"}}' >/dev/null
# shellcheck disable=SC2016 # the placeholders are the service's, not the shell's
cat >"$E2E_DIR/retrain.json" <<EOF
{"function":"retrain","workers":2,"request_timeout_s":20,"auth":{"disabled":true},
 "ledger":{"url":"sqlite://$E2E_DIR/ledger.db","lease_s":10},
 "vertex":{"project":"test-project","region":"us-central1","deadline_ms":5000},
 "storage":{"endpoint":"$EMU","timeout_ms":5000},
 "follow":{"first_s":1,"max_s":1,"reads_per_minute":6000,"creates_per_minute":6000},
 "rules":[{"name":"churn","action":"train_and_register",
  "match":{"type":"google.cloud.storage.object.v1.finalized","bucket":"acme-data","name":"churn/*.csv"},
  "job":{"displayName":"churn-\${event_id}",
   "jobSpec":{"workerPoolSpecs":[{"machineSpec":{"machineType":"n1-standard-4"},"replicaCount":"1",
    "containerSpec":{"imageUri":"us-docker.pkg.dev/test-project/retrain/train:1","args":["--data=\${gcs_uri}"]}}]}},
  "model":{"parent":"$P/models/churn","container_image":"us-docker.pkg.dev/test-project/retrain/serve:1",
   "artifact_uri":"gs://acme-models/churn/\${event_id}/"},
  "promote":{"alias":"production","metric":"auRoc","goal":"maximize"}}]}
EOF
e2e_start_pool "$(cat "$E2E_DIR/retrain.json")"
e2e_start_nginx
export RETRAIN_LEDGER=sqlite://$E2E_DIR/ledger.db RETRAIN_CONFIG=$E2E_DIR/retrain.json
ce=(-H 'ce-specversion: 1.0' -H 'ce-type: google.cloud.storage.object.v1.finalized'
  -H 'Content-Type: application/json' -H 'ce-source: //storage.googleapis.com/projects/_/buckets/acme-data')

kinds=(better worse file)
best=0.50
for i in $(seq 0 $((N - 1))); do
  kind=${kinds[$((i % 3))]}
  case $kind in
  better | file) best=$(awk -v b="$best" 'BEGIN { printf "%.2f", b + 0.01 }') value=$best ;;
  worse) value=0.10 ;;
  esac
  write=evaluation
  [ "$kind" = file ] && write=metrics_json
  curl -sS -X POST "$EMU/emulator/vertex/outcomes" \
    -d "{\"display_name_contains\":\"churn-pb$i-\",\"metrics\":{\"auRoc\":$value},\"write\":\"$write\"}" >/dev/null
  http POST / "${ce[@]}" -H "ce-id: pb$i-$kind" -H "ce-subject: objects/churn/$i.csv" \
    --data "{\"bucket\":\"acme-data\",\"name\":\"churn/$i.csv\",\"generation\":\"1\"}"
  [ "$STATUS" = 200 ] || echo "bench-promote: event $i answered $STATUS: $BODY" >&2
  sleep 0.7
done
runs() { "$BUILD/retrainctl" runs list --rule churn --limit 1000; }
all_decided() {
  [ "$(runs | jq -s '[.[] | select(.promotion.decision == "promoted" or .promotion.decision == "held")] | length')" -ge "$N" ]
}
e2e_wait_for 60 all_decided || echo "bench-promote: not every run was decided within 60 s" >&2
runs >"$E2E_DIR/runs.jsonl"
curl -sS "$EMU/emulator/stats" >"$E2E_DIR/stats.json"
# The follower's log: when it recorded each run's end, and its decision.
jq -rc 'select(.component == "follower") | .message as $m | .time as $t
  | ($m | capture("^run (?<run>[0-9a-f]{24}): (?<what>[a-z]+ -> succeeded|promoted|held) ")?) // empty
  | {run, what, t: $t}' "$E2E_DIR/pool.log" >"$E2E_DIR/follower-times.jsonl"

jq -n --slurpfile runs "$E2E_DIR/runs.jsonl" --slurpfile stats "$E2E_DIR/stats.json" \
  --slurpfile log "$E2E_DIR/follower-times.jsonl" --argjson n "$N" '
  def ms: sub("\\.(?<f>[0-9]{3})[0-9]*Z$"; ".\(.f)Z") | sub("Z$"; "") | split(".") as $p
    | ($p[0] + "Z" | fromdateiso8601) * 1000 + (($p[1] // "0") | tonumber);
  def q($p): sort | .[((length * $p | ceil) - 1) | if . < 0 then 0 else . end];
  def summary: if length == 0 then null else {median: q(0.5), p90: q(0.9), max: max, n: length} end;
  ($stats[0].requests) as $r |
  ($runs | map(select(.promotion.decision == "promoted" or .promotion.decision == "held"))) as $d |
  ($d | map({id, kind: (.promotion.details.candidate.source // "none"), decision: .promotion.decision,
             ended: (.ended | ms), decided: (.promotion.details.decided | ms)})) as $dd |
  ($log | map(select(.what | endswith("succeeded"))) | map({key: .run, value: (.t | ms)}) | from_entries) as $seen |
  ($log | map(select(.what == "promoted" or .what == "held")) | map({key: .run, value: (.t | ms)}) | from_entries) as $logged |
  (["models.get", "models.evaluations.list", "models.evaluations.import", "models.mergeVersionAliases"]
    | map({key: ., value: ($r[.] // 0)}) | from_entries) as $gate |
  ($gate | add) as $gate_calls |
  {decisions: ($d | length), runs: ($runs | length), expected: $n,
   outcomes: ($dd | group_by(.decision) | map({key: .[0].decision, value: length}) | from_entries),
   gate_calls: $gate, gate_calls_total: $gate_calls,
   storage_reads: ($r["storage.objects.get"] // 0),
   follower_reads: ($r["trainingPipelines.get"] // 0),
   calls_per_decision: (if ($d | length) > 0 then $gate_calls / ($d | length) else null end),
   follow_reads_per_run: (if ($runs | length) > 0 then ($r["trainingPipelines.get"] // 0) / ($runs | length) else null end),
   end_to_decision_ms: ($dd | map(.decided - .ended) | summary),
   end_to_recorded_ms: ($dd | map(select($seen[.id])) | map($seen[.id] - .ended) | summary),
   gate_ms: ($dd | map(select($seen[.id] and $logged[.id])) | map($logged[.id] - $seen[.id]) | summary),
   look_period_ms: 1000}' >"$OUT"

jq -r '
  def r(a; b): if a == null or b == null or b == 0 then "n/a"
    else (a / b) as $x | if $x < 0.1 then "\(($x * 10000 | round) / 10000)x" else "\(($x * 100 | round) / 100)x" end end;
  "promotion gate (bench/promote.sh): \(.decisions) of \(.expected) runs decided (\(.outcomes | to_entries | map("\(.value) \(.key)") | join(", ")))",
  "  Vertex calls per decision: \(.calls_per_decision * 100 | round / 100) (\(.gate_calls | to_entries | map("\(.key) \(.value)") | join(", ")); and \(.storage_reads) Cloud Storage reads)",
  "    beside the follower'"'"'s reads to follow a run to its end: \(.follow_reads_per_run * 100 | round / 100) per run: \(r(.calls_per_decision; .follow_reads_per_run))",
  "  run end -> decision: median \(.end_to_decision_ms.median) ms, p90 \(.end_to_decision_ms.p90) ms, max \(.end_to_decision_ms.max) ms",
  "    beside the follower'"'"'s look period \(.look_period_ms) ms: \(r(.end_to_decision_ms.median; .look_period_ms)) / \(r(.end_to_decision_ms.p90; .look_period_ms)) / \(r(.end_to_decision_ms.max; .look_period_ms))",
  "  the gate alone (end recorded -> decision logged): median \(.gate_ms.median) ms, p90 \(.gate_ms.p90) ms, max \(.gate_ms.max) ms",
  "    beside run end -> end recorded (the look): median \(.end_to_recorded_ms.median) ms: \(r(.gate_ms.median; .end_to_recorded_ms.median))"' "$OUT"

# The worse ones (every third, from the second) are held, every other one promoted.
ok=$(jq -r --argjson n "$N" '(($n + 1) / 3 | floor) as $w
  | .decisions == $n and (.outcomes.held // 0) == $w and (.outcomes.promoted // 0) == ($n - $w)' "$OUT")
[ "$ok" = true ] || { e2e_failed=1; echo "bench-promote: the decisions were not the expected ones (see $OUT)" >&2; exit 1; }
