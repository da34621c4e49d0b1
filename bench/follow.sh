# The follower's figures for bench/run.sh: Vertex reads per open run per hour, and the pool's CPU
# time, with FOLLOW_RUNS (1,000) runs open, beside their baselines from the same run.
# Sourced after tests/e2e/lib.sh and bench/lib.sh (their processes and cleanup trap), by run.sh,
# which starts the pool "follow" (function retrain, follow settings from follow_settings) behind
# its nginx before the rows and calls bench_follow after them.
#
# An hour at the default settings (follow.first_s 30, max_s 300, reads_per_minute 120) is too
# long for a bench, so the pool runs them sped up FOLLOW_SCALE (15) times: first_s 2, max_s 20,
# and the budget 120 x 15 = 1800 reads a minute where it should bind as the default one does,
# 6000 (the most the config takes) where it should not. A figure counted in a window of W
# seconds then stands for W x FOLLOW_SCALE seconds at the defaults:
#   reads per open run per hour (defaults) = reads / open runs / W x 3600 / FOLLOW_SCALE.
# The emulator's job clock is an hour for these runs, so every job stays pending at Google for
# the whole measurement: nothing changes, which is what the backoff answers to.
#
# The phases, each bounded in time (about 115 s in all) and count:
#   idle    FOLLOW_IDLE_S (10) with 0 open runs: the pool's CPU, the reads (none)
#   submit  FOLLOW_RUNS new events through nginx to /follow, 8 at a time, in 10 batches over a
#           max_s: that many runs, coming due spread over a max_s
#   settle  until every run waits max_s between looks (first_s x (1 + 2 + 4 + 8) + 1 s after
#           the last was submitted)
#   free    FOLLOW_WINDOW_S (20, one max_s: every run looked at once) at 6000 reads a minute
#   bound   SIGHUP with 1800 reads a minute, until its burst is spent (12 s), FOLLOW_WINDOW_S again
# bench_follow writes $E2E_DIR/follower.json; bench_follow_print prints it.

# shellcheck shell=bash disable=SC2034 # the variables set here are read by run.sh
FOLLOW_SCALE=15
FOLLOW_FIRST_S=$((30 / FOLLOW_SCALE)) FOLLOW_MAX_S=$((300 / FOLLOW_SCALE))
FOLLOW_RPM_DEFAULT=120
FOLLOW_RPM_FREE=6000 FOLLOW_RPM_BOUND=$((FOLLOW_RPM_DEFAULT * FOLLOW_SCALE))
FOLLOW_RUNS=${BENCH_FOLLOW_RUNS:-1000}
FOLLOW_BATCHES=10
FOLLOW_IDLE_S=10
FOLLOW_WINDOW_S=$FOLLOW_MAX_S
FOLLOW_JOB_CLOCK_MS=3600000

# The pool's follow section for READS_PER_MINUTE (and run.sh's CREATE_BUDGET: a build with a
# create budget makes the 1,000 jobs at 6000 a minute, the rest queued a moment for the follower).
follow_settings() {
  printf '{"first_s":%d,"max_s":%d,"reads_per_minute":%d%s}' "$FOLLOW_FIRST_S" "$FOLLOW_MAX_S" "$1" "${CREATE_BUDGET:-}"
}

bench_follow_reads() { # customJobs.get the emulator answered so far
  curl -sS --max-time 5 "$EMU/emulator/stats" | jq '.requests["customJobs.get"] // 0'
}

bench_follow_ticks() { # the pool's CPU ticks so far: master, workers, follower, reaped ones
  local pids
  mapfile -t pids < <(echo "${POOL_PIDS[follow]}"; bench_children "${POOL_PIDS[follow]}")
  bench_cpu_ticks "${pids[@]}"
}

bench_follow_open() { # [STATE]: the pool's open runs (or those in STATE), from its ledger
  local list
  list=$(RETRAIN_LEDGER=sqlite://$E2E_DIR/ledger-follow.db timeout 20 "$BUILD/retrainctl" runs list --limit 100000) ||
    { bench_note "follower: retrainctl runs list: $list"; return 1; }
  jq -s --arg s "${1:-}" 'map(select(if $s != "" then .state == $s
    else .state == "queued" or .state == "submitted" or .state == "running" end)) | length' <<<"$list"
}

bench_follow_sleep_until() { # EPOCH: sleeps until then (at once when it has passed)
  sleep "$(jq -n --argjson t "$1" '[$t - now, 0] | max')"
}

# bench_follow_window NAME SECONDS [RPM]: counts the reads at the emulator and the pool's CPU
# over SECONDS; appends {NAME: {...}} to $E2E_DIR/follow-windows.jsonl.
bench_follow_window() {
  local name=$1 secs=$2 rpm=${3:-null} r0 r1 c0 c1 t0 t1
  r0=$(bench_follow_reads) c0=$(bench_follow_ticks) t0=$(date +%s.%N)
  sleep "$secs"
  r1=$(bench_follow_reads) c1=$(bench_follow_ticks) t1=$(date +%s.%N)
  jq -nc --arg n "$name" --argjson r $((r1 - r0)) --argjson c $((c1 - c0)) --argjson hz "$CLK_TCK" \
    --argjson t0 "$t0" --argjson t1 "$t1" --argjson rpm "$rpm" \
    '{($n): {seconds: ($t1 - $t0), reads: $r, cpu_s: ($c / $hz), reads_per_minute: $rpm}}' \
    >>"$E2E_DIR/follow-windows.jsonl"
}

# bench_follow TOKEN: the phases above; returns 1 when the runs could not be made.
bench_follow() {
  local tok=$1 pid=${POOL_PIDS[follow]} out=$E2E_DIR/follower.json answers=$E2E_DIR/follow-answers.txt
  local t_sub0 t_sub1 t_ready submitted open open_after started deadline b per drain due refill
  : >"$E2E_DIR/follow-windows.jsonl"
  curl -sS --max-time 5 -X POST "$EMU/emulator/config" -d "{\"job_clock_ms\":$FOLLOW_JOB_CLOCK_MS}" >/dev/null
  echo "== follower: ${FOLLOW_IDLE_S}s idle, $FOLLOW_RUNS new events over ${FOLLOW_MAX_S}s, then 2 windows of ${FOLLOW_WINDOW_S}s (about $((FOLLOW_IDLE_S + FOLLOW_MAX_S + 15 * FOLLOW_FIRST_S + 1 + 2 * FOLLOW_WINDOW_S + 14))s)"
  bench_follow_window idle "$FOLLOW_IDLE_S"
  # In FOLLOW_BATCHES batches max_s / FOLLOW_BATCHES apart: the runs then come due spread over a
  # max_s, as runs begun over time do, and not all in the same second (whose reads would wait for
  # the budget's burst and shift later each time).
  t_sub0=$(date +%s.%N)
  per=$((FOLLOW_RUNS / FOLLOW_BATCHES))
  for ((b = 0; b < FOLLOW_BATCHES; b++)); do
    [ "$b" -eq $((FOLLOW_BATCHES - 1)) ] && per=$((FOLLOW_RUNS - per * (FOLLOW_BATCHES - 1)))
    bench_follow_sleep_until "$(jq -n --argjson t "$t_sub0" --argjson d "$((b * FOLLOW_MAX_S))" --argjson n "$FOLLOW_BATCHES" '$t + $d / $n')"
    bench_post_many /follow "$tok" "follow-$b" "$per" "$answers.$b"
  done
  t_sub1=$(date +%s.%N)
  for ((b = 0; b < FOLLOW_BATCHES; b++)); do cat "$answers.$b"; done >"$answers"
  # Submitted, or (a create budget spent) queued for the follower, which submits it soon.
  submitted=$(grep -oE '"status":"(submitted|queued)"' "$answers" | wc -l)
  open=$(bench_follow_open) || open=0
  if [ "$submitted" -ne "$FOLLOW_RUNS" ] || [ "${open:-0}" -lt "$FOLLOW_RUNS" ]; then
    bench_note "follower: $submitted of $FOLLOW_RUNS events submitted, $open runs open; e.g. $(grep -vE '"status":"(submitted|queued)"' "$answers" | head -n 1 | cut -c1-200) $(cat "$answers".*.err | head -c 200)"
    return 1
  fi
  deadline=$((SECONDS + 60))
  while [ "$(bench_follow_open queued || echo 0)" -gt 0 ] && [ $SECONDS -lt $deadline ]; do sleep 0.5; done
  [ "$(bench_follow_open queued || echo 1)" -eq 0 ] || { bench_note "follower: runs still queued after 60 s"; return 1; }
  t_ready=$(date +%s.%N)
  # Every run past its last doubling: looked at first_s, 2, 4 and 8 x first_s after the one
  # before, each wait from then on max_s.
  bench_follow_sleep_until "$(jq -n --argjson t "$t_ready" --argjson s $((15 * FOLLOW_FIRST_S + 1)) '$t + $s')"
  bench_follow_window free "$FOLLOW_WINDOW_S" "$FOLLOW_RPM_FREE"
  # The budget that binds: the pool reloaded (its follower is started again on the new config).
  started=$(grep -c 'follower started' "$E2E_DIR/pool-follow.log")
  printf '%s\n' "$(pool_config follow retrain "$AUTH_ON" "$RETRAIN_MEMBERS,\"follow\":$(follow_settings "$FOLLOW_RPM_BOUND")")" \
    >"$E2E_DIR/follow.json"
  kill -HUP "$pid"
  deadline=$((SECONDS + 10))
  while [ "$(grep -c 'follower started' "$E2E_DIR/pool-follow.log")" -le "$started" ] && [ $SECONDS -lt $deadline ]; do
    sleep 0.1
  done
  # Until the budget's burst (1800 / 12 = 150 reads) is spent: runs come due at open runs /
  # max_s a second, tokens at reads_per_minute / 60, so it empties in burst / (due - refill) s.
  drain=5
  due=$((open / FOLLOW_MAX_S)) refill=$((FOLLOW_RPM_BOUND / 60))
  [ "$due" -gt "$refill" ] && drain=$((FOLLOW_RPM_BOUND / 12 / (due - refill) + 5))
  [ "$drain" -gt 30 ] && drain=30
  sleep "$drain"
  bench_follow_window bound "$FOLLOW_WINDOW_S" "$FOLLOW_RPM_BOUND"
  open_after=$(bench_follow_open) || open_after=
  bench_follow_summary "$E2E_DIR/follow-windows.jsonl" "$open" "${open_after:-null}" "$submitted" \
    "$(jq -n --argjson a "$t_sub0" --argjson b "$t_sub1" '$b - $a')" \
    "$(grep -o '"status":"queued"' "$answers" | wc -l)" >"$out"
}

# bench_follow_summary WINDOWS OPEN OPEN_AFTER EVENTS SUBMIT_SECONDS QUEUED: the figures (JSON)
# from the windows bench_follow_window counted.
bench_follow_summary() {
  jq -s --argjson n "$2" --argjson after "$3" --argjson k "$FOLLOW_SCALE" \
    --argjson first "$FOLLOW_FIRST_S" --argjson max "$FOLLOW_MAX_S" --argjson rpm "$FOLLOW_RPM_DEFAULT" \
    --argjson events "$4" --argjson secs "$5" --argjson hz "$CLK_TCK" --argjson queued "${6:-0}" --argjson batches "$FOLLOW_BATCHES" '
    add as $w |
    # at the defaults: a window of W s at scale k stands for W x k s
    def per_run_hour: .reads / $n / .seconds * 3600 / $k;
    def cpu_min: .cpu_s / .seconds * 60;
    ($w.idle | cpu_min) as $idle_min |
    {open_runs: $n, open_runs_after: $after, scale: $k, clk_tck: $hz,
     events: $events, queued_first: $queued, batches: $batches, submit_seconds: $secs,
     settings_scaled: {first_s: $first, max_s: $max},
     settings_default: {first_s: ($first * $k), max_s: ($max * $k), reads_per_minute: $rpm},
     windows: $w,
     reads_per_run_per_hour: {
       measured_free: ($w.free | per_run_hour),
       # one look per run per max_s, when the follower keeps up
       expected_free_reads: ($n * $w.free.seconds / $max),
       measured_bound: ($w.bound | per_run_hour),
       design_backoff: (3600 / ($max * $k)),
       polling_every_first_s: (3600 / ($first * $k)),
       budget_ceiling: ($rpm * 60 / $n)},
     cpu: {
       idle_s_per_min: $idle_min,
       free_s_per_min: ($w.free | cpu_min), bound_s_per_min: ($w.bound | cpu_min),
       # the free window: its CPU above idle per read
       per_read_ms: (if $w.free.reads > 0 then
         ($w.free.cpu_s - $idle_min * $w.free.seconds / 60) / $w.free.reads * 1000 else null end),
       # the bound window is the defaults with 1,000 open runs sped up k times (backoff, budget,
       # the wait after a refused take): its CPU above idle / k, plus idle
       at_defaults_s_per_min: ($idle_min + (($w.bound | cpu_min) - $idle_min) / $k)}}' \
    "$1"
}

# bench_follow_print FILE: the follower's figures in results.json (.follower), with how each was
# derived.
bench_follow_print() {
  jq -r '
    def f(n; d): if n == null then "-" else (n * pow(10; d) | round | tostring) as $i |
      if d == 0 then $i else ("0" * (d + 1 - ($i | length)) + $i) | .[0:length - d] + "." + .[length - d:] end end;
    def x(a; b): if a != null and b != null and b != 0 then f(a / b; 2) + "x" else "-" end;
    def pct(s): f(s / 60 * 100; 1) + " % of a core";
    def l(w): tostring | . + " " * w | .[0:w];
    def r(w): tostring | " " * (w - length) + .;
    .follower | if . == null then empty elif .skipped then "follower: skipped: \(.skipped)" else
    . as $f | .reads_per_run_per_hour as $r | .windows as $w | .settings_default as $d |
    def xi(a): if $f.cpu.idle_s_per_min > 0 then x(a; $f.cpu.idle_s_per_min) + " idle" else "vs idle: under one tick" end;
    "follower: \(.open_runs) open runs (\(.events) events through nginx in \(.batches) batches over \(f(.submit_seconds; 1)) s\(if (.queued_first // 0) > 0 then ", \(.queued_first) of them queued first by the create budget" else "" end)), jobs kept pending at the emulator;",
    "  time sped up \(.scale)x: first_s \(.settings_scaled.first_s), max_s \(.settings_scaled.max_s) stand for the defaults \($d.first_s), \($d.max_s); a window of W s for W x \(.scale) s",
    "  Vertex reads per open run per hour at the defaults = customJobs.get counted at the emulator / open runs / W x 3600 / \(.scale):",
    "    backoff, budget not binding   \(f($r.measured_free; 1) | . + " " * (6 - length))  (\($w.free.reads) reads in \(f($w.free.seconds; 1)) s at \($w.free.reads_per_minute)/min = \(($w.free.reads_per_minute / .scale)|floor)/min at the defaults)",
    "      beside polling every first_s (\($d.first_s) s) without backoff, unbudgeted: \(f($r.polling_every_first_s; 1))  ratio \(x($r.measured_free; $r.polling_every_first_s))",
    "      beside the backoff design 3600 / max_s (\($d.max_s) s): \(f($r.design_backoff; 1))  ratio \(x($r.measured_free; $r.design_backoff))",
    (if $w.free.reads < 0.95 * $r.expected_free_reads then
      "      note: the follower did not keep up with \(f($r.expected_free_reads; 0)) looks in \(f($w.free.seconds; 1)) s sped up (it looks at one run at a time, each look a few fsync\u0027d ledger writes; other load on the machine slows it); at the defaults it looks 15 times less often: this figure is a lower bound"
     else empty end),
    "    budget binding                \(f($r.measured_bound; 1) | . + " " * (6 - length))  (\($w.bound.reads) reads in \(f($w.bound.seconds; 1)) s at \($w.bound.reads_per_minute)/min = the default \($d.reads_per_minute)/min)",
    "      beside the budget ceiling reads_per_minute x 60 / open runs = \($d.reads_per_minute) x 60 / \(.open_runs): \(f($r.budget_ceiling; 1))  ratio \(x($r.measured_bound; $r.budget_ceiling))",
    "  pool CPU (master + workers + follower, reaped children included, /proc/PID/stat), CPU s per minute:",
    "    \("idle, 0 open runs" | l(36)) \(f(.cpu.idle_s_per_min; 2) | r(5)) s/min  (\(pct(.cpu.idle_s_per_min)))" +
      "  \($w.idle.cpu_s * $f.clk_tck | round) clock ticks of \(1000 / $f.clk_tck | round) ms in \(f($w.idle.seconds; 0)) s" +
      (if $w.idle.cpu_s == 0 then ": under \(f(60 / $f.clk_tck / $w.idle.seconds; 2)) s/min" else "" end),
    "    \("\(.open_runs) open runs, budget not binding" | l(36)) \(f(.cpu.free_s_per_min; 2) | r(5)) s/min  (\(pct(.cpu.free_s_per_min)))  \(xi(.cpu.free_s_per_min)); \(f($w.free.reads / $w.free.seconds; 1)) reads/s",
    "    \("\(.open_runs) open runs, budget binding" | l(36)) \(f(.cpu.bound_s_per_min; 2) | r(5)) s/min  (\(pct(.cpu.bound_s_per_min)))  \(xi(.cpu.bound_s_per_min)); \(f($w.bound.reads / $w.bound.seconds; 1)) reads/s",
    "      (bound: besides its reads, a take the budget refuses still leases a run and hands it back, at most once every \(60000 / $w.bound.reads_per_minute | floor) ms)",
    "    per read, above idle, budget not binding: \(f(.cpu.per_read_ms; 2)) ms",
    "    \("at the defaults, \(.open_runs) open runs" | l(36)) \(f(.cpu.at_defaults_s_per_min; 2) | r(5)) s/min  (\(pct(.cpu.at_defaults_s_per_min)))  \(xi(.cpu.at_defaults_s_per_min))",
    "      = idle + (budget binding - idle) / \(.scale): that window is the defaults sped up \(.scale)x (the budget binds there too: \($d.reads_per_minute)/min < \(.open_runs) x 60 / \($d.max_s) s)",
    (if .open_runs_after != null and .open_runs_after < .open_runs then "  note: only \(.open_runs_after) runs were open at the end" else empty end)
    end' "$1"
}
