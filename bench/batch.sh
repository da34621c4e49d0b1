# Pieces of bench/run.sh: batches, measured on their own pool (`batchlat`: the retrain function,
# its own ledger, auth on, behind the same nginx, location /batchlat) — the time from a batch's
# condition holding to its run's submission by the pool's follower.
#
# The pool has four rules over the same bucket, told apart by the object's directory:
#   quiet     bq/**  key ${rule}/${name_dir}, quiet_period_s 1 (max_wait_s 600)
#   count     bc/**  key ${rule}/${name_dir}, min_events BATCH_EVENTS
#   marker    bm/**  key ${rule}/${name_dir}, marker **/_SUCCESS (max_wait_s 600), its manifest
#                    written to the emulator's Cloud Storage before the create
#   unbatched bu/**  no batch: the request path submits (the baseline)
# BENCH_BATCHES (10) batches of each condition, taking turns (quiet, count, marker, ...), each of
# BATCH_EVENTS (5) new events through nginx one after the other (the marker's last is
# DIR/_SUCCESS), each batch in its own directory; before each batch one new event for the
# unbatched rule. Between batches a gap of 0.3 s + frac(i x 0.618) s (0.3 to 1.3 s): the
# conditions then hold at moments spread over the follower's idle sleep (IDLE_MS, 1000 ms),
# not at one phase of it. Then until every batch's run is submitted (at most 30 s).
#
# From `retrainctl runs list` of the pool's ledger, per run: batched runs
# `submitted - batch.closed` (when its condition held: the closing event's join for min_events
# and the marker, the last event + quiet_period_s for the quiet period), unbatched runs
# `submitted - queued` (the run begun on the request path, then the create), in ms. Printed:
# median, p90 and max (nearest rank), for all batches and per condition, beside the follower's
# idle poll period and the unbatched path's figures, as ratios.
# bench_batch writes $E2E_DIR/batch.json; bench_batch_print prints it from results.json.

# shellcheck shell=bash disable=SC2034 # the variables set here are read by run.sh
BATCH_PER_KIND=${BENCH_BATCHES:-10}
BATCH_EVENTS=5
BATCH_KINDS=(quiet count marker)
BATCH_QUIET_S=1
BATCH_WAIT_S=30
# The follower's idle poll period, as the code has it (retrain_follow.c's IDLE_MS).
BATCH_IDLE_MS=$(sed -n 's/^#define IDLE_MS \([0-9][0-9]*\).*/\1/p' "$E2E_ROOT/src/retrain_follow.c" 2>/dev/null)
BATCH_IDLE_MS=${BATCH_IDLE_MS:-1000}

# The batches' pool's members for pool_config (after the emulator started: needs EMU). The
# follower takes a read and a create from budgets that do not bind (6000 a minute, the most),
# and looks at a submitted run only after a day: it is busy with the batches alone.
bench_batch_members() {
  # shellcheck disable=SC2016 # the rules' placeholders
  printf ',"project":"test-project","vertex":{"endpoint":"%s/v1","project":"test-project","region":"us-central1","deadline_ms":20000},"storage":{"endpoint":"%s","timeout_ms":10000},"follow":{"first_s":86400,"max_s":86400,"reads_per_minute":6000,"creates_per_minute":6000},"rules":[%s,%s,%s,%s]' \
    "$EMU" "$EMU" \
    "$(bench_batch_rule quiet bq '{"key":"${rule}/${name_dir}","quiet_period_s":'"$BATCH_QUIET_S"',"max_wait_s":600}')" \
    "$(bench_batch_rule count bc '{"key":"${rule}/${name_dir}","min_events":'"$BATCH_EVENTS"'}')" \
    "$(bench_batch_rule marker bm '{"key":"${rule}/${name_dir}","marker":"**/_SUCCESS","max_wait_s":600,"manifest":"gs://acme-data/manifests"}' ',"--manifest=${batch_manifest_uri}"')" \
    "$(bench_batch_rule unbatched bu)"
}

bench_batch_rule() { # NAME DIR [BATCH [EXTRA_ARGS]]: one rule for the objects under DIR/
  # shellcheck disable=SC2016 # the rules' placeholders
  printf '{"name":"%s","match":{"type":"google.cloud.storage.object.v1.finalized","bucket":"acme-data","name":"%s/**"},"action":"train"%s,"job":{"displayName":"bench-${run_id}","jobSpec":{"workerPoolSpecs":[{"machineSpec":{"machineType":"n1-standard-4"},"replicaCount":"1","containerSpec":{"imageUri":"us-docker.pkg.dev/test-project/retrain/train:latest","args":["--batch=${batch_size}","--prefix=${batch_prefix}"%s]}}]}}}' \
    "$1" "$2" "${3:+,\"batch\":$3}" "${4:-}"
}

# bench_batch_post TOKEN ID NAME: one new event for gs://acme-data/NAME through nginx to
# /batchlat; prints its answer's body and status on one line (BODY<tab>STATUS).
bench_batch_post() {
  local body answer
  body=$(jq -nc --arg n "$3" '{bucket: "acme-data", name: $n, generation: "1"}')
  answer=$("${CURL[@]}" -X POST -H "Authorization: Bearer $1" -H 'Content-Type: application/json' \
    -H 'ce-specversion: 1.0' -H 'ce-type: google.cloud.storage.object.v1.finalized' -H "ce-id: $2" \
    -H 'ce-source: //storage.googleapis.com/projects/_/buckets/acme-data' \
    -H "ce-subject: objects/$3" -H 'ce-bucket: acme-data' \
    -w '\t%{http_code}' --data "$body" "$BASE/batchlat" 2>&1)
  printf '%s\n' "${answer//$'\n'/ }"
}

bench_batch_runs() { # the pool's runs, one JSON object a line
  RETRAIN_LEDGER=sqlite://$E2E_DIR/ledger-batchlat.db timeout 20 "$BUILD/retrainctl" runs list --limit 100000
}

bench_batch_submitted() { # how many of the batched rules' runs were submitted
  bench_batch_runs | jq -s 'map(select(.batch != null and .submitted != null)) | length'
}

# bench_batch TOKEN: the batches above; writes $E2E_DIR/batch.json. Returns 1 when an answer was
# not the expected one or not every batch was submitted in time (batch.json then says why).
bench_batch() {
  local tok=$1 out=$E2E_DIR/batch.json answers=$E2E_DIR/batch-answers.txt unbatched=$E2E_DIR/batch-unbatched.txt
  local n=$((BATCH_PER_KIND * ${#BATCH_KINDS[@]})) i e kind dir name gap t0 t1 deadline done_n runs
  : >"$answers"
  : >"$unbatched"
  echo "== batches: $n batches of $BATCH_EVENTS events (quiet period ${BATCH_QUIET_S} s, min_events $BATCH_EVENTS, a marker; $BATCH_PER_KIND of each) and $n unbatched events, about $((n + 5)) s"
  t0=$(date +%s.%N)
  for ((i = 0; i < n; i++)); do
    kind=${BATCH_KINDS[i % ${#BATCH_KINDS[@]}]}
    bench_batch_post "$tok" "batch-u$i" "bu/u$i.csv" >>"$unbatched"
    case $kind in quiet) dir=bq/b$i ;; count) dir=bc/b$i ;; marker) dir=bm/b$i ;; esac
    for ((e = 1; e <= BATCH_EVENTS; e++)); do
      name=$dir/part-$e.csv
      [ "$kind" = marker ] && [ "$e" -eq "$BATCH_EVENTS" ] && name=$dir/_SUCCESS
      bench_batch_post "$tok" "batch-$i-$e" "$name" >>"$answers"
    done
    gap=$(awk -v i="$i" 'BEGIN { x = i * 0.6180339887; printf "%.3f", 0.3 + x - int(x) }')
    sleep "$gap"
  done
  t1=$(date +%s.%N)
  # Every batch's run submitted: the last quiet period ends, the follower's next look comes.
  deadline=$((SECONDS + BATCH_WAIT_S))
  done_n=0
  while [ $SECONDS -lt $deadline ]; do
    done_n=$(bench_batch_submitted) || done_n=0
    [ "${done_n:-0}" -ge "$n" ] && break
    sleep 0.5
  done
  runs=$E2E_DIR/batch-runs.jsonl
  bench_batch_runs >"$runs" || { bench_note "batches: retrainctl runs list failed: $(head -c 200 "$runs")"; return 1; }
  jq -s --argjson n "$n" --argjson per "$BATCH_PER_KIND" --argjson events "$BATCH_EVENTS" \
    --argjson quiet "$BATCH_QUIET_S" --argjson idle "$BATCH_IDLE_MS" --argjson secs "$(jq -n --argjson a "$t0" --argjson b "$t1" '$b - $a')" \
    --rawfile answers "$answers" --rawfile base "$unbatched" '
    # RFC3339 with milliseconds (retrainctl: 2026-12-04T21:57:02.123Z) -> ms since the epoch
    def ms: if . == null then null else
      (.[0:19] + "Z" | fromdate) * 1000 + ((capture("\\.(?<f>[0-9]+)Z$") | .f) // "0" | (. + "00")[0:3] | tonumber) end;
    def nearest(p): sort as $s | if ($s | length) == 0 then null
      else $s[([((p * ($s | length)) | ceil) - 1, 0] | max)] end;
    def stats: {runs: length, median_ms: nearest(0.5), p90_ms: nearest(0.9), max_ms: (max // null), min_ms: (min // null)};
    def lines(t): t | split("\n") | map(select(length > 0));
    (lines($answers)) as $a | (lines($base)) as $u |
    map(select(.rule != "unbatched" and .batch != null)) as $b |
    map(select(.rule == "unbatched")) as $ub |
    ($b | map(select(.submitted != null and .batch.closed != null)
      | {rule, closed_by: .batch.closed_by, events, ms: ((.submitted | ms) - (.batch.closed | ms))})) as $lat |
    {batches: $n, per_condition: $per, events_per_batch: $events, quiet_period_s: $quiet,
     idle_poll_ms: $idle, send_seconds: $secs,
     answers: {batched: ($a | map(select(test("\"status\":\"batched\"") and test("\t202$"))) | length),
               expected: ($n * $events),
               closed_true: ($a | map(select(test("\"closed\":true"))) | length),
               unbatched_submitted: ($u | map(select(test("\"status\":\"submitted\"") and test("\t200$"))) | length),
               first_wrong: ((($a | map(select((test("\"status\":\"batched\"") and test("\t202$")) | not))) +
                              ($u | map(select((test("\"status\":\"submitted\"") and test("\t200$")) | not))))[0] // null)},
     runs: {batched: ($b | length), submitted: ($lat | length),
            closed_by: ($b | group_by(.batch.closed_by) | map({(.[0].batch.closed_by // "open"): length}) | add // {}),
            events_wrong: ($b | map(select(.events != $events)) | length),
            unbatched: ($ub | length)},
     latency: ($lat | map(.ms) | stats),
     by_condition: ($lat | group_by(.closed_by) | map({(.[0].closed_by): (map(.ms) | stats)}) | add // {}),
     unbatched: ($ub | map(select(.submitted != null and .queued != null) | (.submitted | ms) - (.queued | ms)) | stats),
     samples_ms: ($lat | map(.ms))}
    | . + {ok: (.answers.batched == .answers.expected and .answers.closed_true == 2 * $per
                and .answers.unbatched_submitted == $n and .runs.batched == $n and .runs.submitted == $n
                and .runs.events_wrong == 0 and .runs.unbatched == $n
                and (.runs.closed_by.quiet_period // 0) == $per and (.runs.closed_by.min_events // 0) == $per
                and (.runs.closed_by.marker // 0) == $per)}' \
    "$runs" >"$out"
  if [ "$(jq .ok "$out")" != true ]; then
    bench_note "batches: $(jq -rc '"answers \(.answers | del(.first_wrong)), runs \(.runs); e.g. \(.answers.first_wrong // "-")"' "$out" | cut -c1-400)"
    return 1
  fi
}

# bench_batch_print FILE: the batches' figures in results.json (.batch).
bench_batch_print() {
  jq -r '
    def f(n; d): if n == null then "-" else (n * pow(10; d) | round | tostring) as $i |
      if d == 0 then $i else ("0" * (d + 1 - ($i | length)) + $i) | .[0:length - d] + "." + .[length - d:] end end;
    def x(a; b): if a != null and b != null and b != 0 then f(a / b; 2) + "x" else "-" end;
    def l(w): tostring | . + " " * w | .[0:w];
    def r(w): tostring | " " * (w - length) + .;
    def s: "median \(f(.median_ms; 0) | r(5))  p90 \(f(.p90_ms; 0) | r(5))  max \(f(.max_ms; 0) | r(5))  (\(.runs) runs)";
    .batch | if . == null then empty elif .skipped then "batches: skipped: \(.skipped)" else
    . as $b |
    "batches: \(.batches) batches of \(.events_per_batch) new events through nginx (\(.per_condition) closed by each condition, one at a time, 0.3-1.3 s apart, \(f(.send_seconds; 1)) s), each its own directory, on its own pool;",
    "  the follower polls the ledger every \(.idle_poll_ms) ms when idle, budgets not binding",
    "  condition held -> run submitted (retrainctl runs list: submitted - batch.closed), ms:",
    "    \("all batches" | l(44)) \(.latency | s)",
    (.by_condition | to_entries[] | .key as $k |
      ({quiet_period: "quiet_period (\($b.quiet_period_s) s after the last event)",
        min_events: "min_events (the \($b.events_per_batch)th event)",
        marker: "marker (_SUCCESS; and its manifest written)"} | .[$k] // $k) as $what |
      "    \($what | l(44)) \(.value | s)"),
    "  beside the follower'"'"'s idle poll period (\(.idle_poll_ms) ms; a condition holding at a random moment of its sleep waits 0-\(.idle_poll_ms) ms, median \(.idle_poll_ms / 2)):",
    "    median \(x(.latency.median_ms; .idle_poll_ms))  p90 \(x(.latency.p90_ms; .idle_poll_ms))  max \(x(.latency.max_ms; .idle_poll_ms)) of the poll period",
    "  beside the unbatched path (same pool, a rule without batch, \(.unbatched.runs) new events: submitted - queued, the create on the request path), ms:",
    "    \("unbatched" | l(44)) \(.unbatched | s)",
    "    batched / unbatched: median \(x(.latency.median_ms; .unbatched.median_ms))  p90 \(x(.latency.p90_ms; .unbatched.p90_ms))  max \(x(.latency.max_ms; .unbatched.max_ms))"
    end' "$1"
}
