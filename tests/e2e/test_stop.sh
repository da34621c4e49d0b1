#!/usr/bin/env bash
# A clean stop of `make run` under any supervisor: 20 rounds of the real `make run` (everything
# already built) in its own process group on free ports, a delivery (a CSV dropped into the
# inbox and sent), then the group signalled as a supervisor does it — SIGTERM to the group
# (systemd, `kill -- -PGID`; make passes it on, so run.sh gets two), SIGINT (a terminal's
# Ctrl-C), SIGHUP (the terminal closed), two in quick succession, a storm of all three while it
# stops, or a signal during start-up. Each round: make exits within a few seconds, run.sh said
# "run: stopped", and nothing of the round is left: no process group it recorded in
# var/run/run.pids, no process in its session or theirs or with its directory in its command
# line or environment, nothing listening on its ports, no socket file; and no process group
# had to be killed, nor did run.sh hit a shell error on the way.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/run_lib.sh"
e2e_init
ROUNDS=${STOP_ROUNDS:-20}
make -s -C "$E2E_ROOT" all >/dev/null || { fail "make all"; e2e_finish; exit 1; }

# leftovers VAR SID...: "PID COMMAND" of each process of the round still alive: in one of
# the sessions given, or with VAR in its command line, or RUN_VAR_DIR=VAR in its environment.
# (The patterns go to grep in a file: its own command line must not match.)
leftovers() {
  local var=$1 pats=$E2E_DIR/.leftover-pats pid stat state
  shift
  printf '%s\n' "$var" >"$pats"
  printf 'RUN_VAR_DIR=%s\n' "$var" >"$pats.env"
  {
    grep -lzF -f "$pats" /proc/[0-9]*/cmdline 2>/dev/null
    grep -lzxF -f "$pats.env" /proc/[0-9]*/environ 2>/dev/null
    awk -v sids=" $* " '{ s = $0; sub(/.*\) /, "", s); split(s, f, " ")
                          if (index(sids, " " f[4] " ")) print FILENAME }' /proc/[0-9]*/stat 2>/dev/null
  } | cut -d/ -f3 | sort -u | while read -r pid; do
    [ "$pid" = "$$" ] || [ "$pid" = "$BASHPID" ] && continue
    # A zombie is dead: orphaned when its parent died of the signal too, it holds no port or
    # file and waits only for init to reap it.
    stat=$(cat "/proc/$pid/stat" 2>/dev/null) || continue
    state=${stat##*) }
    [ "${state%% *}" = Z ] && continue
    echo "$pid $(tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline")"
  done
}

# signal_group PGID KIND: what a supervisor sends.
signal_group() {
  local g=$1
  case $2 in
  term | startup-term) kill -TERM -- "-$g" ;;
  int) kill -INT -- "-$g" ;;
  hup) kill -HUP -- "-$g" ;;
  term-term)
    kill -TERM -- "-$g"
    sleep "0.0$((RANDOM % 10))"
    kill -TERM -- "-$g" 2>/dev/null
    ;;
  startup-int-int)
    kill -INT -- "-$g"
    sleep 0.05
    kill -INT -- "-$g" 2>/dev/null
    ;;
  storm) # one, then all three again and again while it stops
    kill -TERM -- "-$g"
    for _ in $(seq 20); do
      sleep 0.05
      kill -"$(printf '%s\n' TERM INT HUP | shuf -n 1)" -- "-$g" 2>/dev/null || break
    done
    ;;
  esac
}

# STOP_ROUNDS (20) rounds taking the kinds in turn; STOP_KINDS narrows them (e.g. "term").
read -r -a kinds <<<"${STOP_KINDS:-term int term-term storm hup startup-term startup-int-int}"
clean=0
for ((r = 1; r <= ROUNDS; r++)); do
  kind=${kinds[$(((r - 1) % ${#kinds[@]}))]}
  VAR=$E2E_DIR/r$r
  LOG=$E2E_DIR/r$r.log
  run_free_ports
  run_spawn "$VAR" "$RUN_HTTPS" "$RUN_EMU" "$LOG" make -s -C "$E2E_ROOT" --no-print-directory run
  problem=""
  if [[ $kind == startup-* ]]; then
    # run.sh has begun (its pid file), then anywhere in its start-up.
    e2e_wait_for 20 test -s "$VAR/run/run.pids" || problem="run.sh did not begin"
    sleep "$((RANDOM % 15 / 10)).$((RANDOM % 10))"
  elif ! e2e_wait_for 30 run_healthy "$VAR" "$RUN_HTTPS" || ! e2e_wait_for 10 grep -q 'is up' "$LOG"; then
    problem="make run did not come up"
  else
    printf 'id,churn\n%d,1\n' "$r" >"$VAR/inbox/datasets/churn/r$r.csv"
    e2e_wait_for 20 grep -q "\"message\":\"delivered datasets/churn/r$r.csv: 200" "$LOG" ||
      problem="the CSV was not delivered"
  fi
  mapfile -t groups < <(run_pgids "$VAR")
  t0=$EPOCHREALTIME
  signal_group "$RUN_PID" "$kind"
  e2e_wait_for 30 bash -c "! kill -0 $RUN_PID 2>/dev/null"
  secs=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')
  kill -0 "$RUN_PID" 2>/dev/null && problem="$problem; make still running after 30 s"
  awk -v s="$secs" 'BEGIN { exit !(s > 10) }' && problem="$problem; took ${secs} s to stop"
  grep -q '^run: stopped$' "$LOG" || problem="$problem; no 'run: stopped' ($(grep -E 'Error|Terminated|Interrupt' "$LOG" | tail -n 1))"
  # A stop that had to kill, or a shell error in run.sh, is not clean even if nothing is left.
  grep -q 'did not stop in' "$LOG" && problem="$problem; $(grep -m1 'did not stop in' "$LOG")"
  grep -q 'run.sh: line [0-9]*:' "$LOG" && problem="$problem; $(grep -m1 'run.sh: line [0-9]*:' "$LOG")"
  left=()
  for g in "${groups[@]}"; do kill -0 -- "-$g" 2>/dev/null && left+=("$g"); done
  [ ${#left[@]} -eq 0 ] || problem="$problem; process groups left: ${left[*]} of ${groups[*]}"
  procs=$(leftovers "$VAR" "$RUN_PID" "${groups[@]}")
  [ -z "$procs" ] || problem="$problem; processes left: $(printf '%s\n' "$procs" | cut -c1-80 | paste -sd '|')"
  for p in "$RUN_HTTPS" "$RUN_EMU"; do
    run_listening "$p" && problem="$problem; port $p still listening"
  done
  [ -e "$VAR/run/fcgi.sock" ] && problem="$problem; the pool's socket is left"
  problem=${problem#; }
  if [ -z "$problem" ]; then
    clean=$((clean + 1))
    pass "round $r ($kind): stopped in $secs s, nothing left"
  else
    fail "round $r ($kind): $problem"
    tail -n 5 "$LOG" | sed 's/^/      /'
    # Whatever it left must not spoil the next rounds.
    for g in "${groups[@]}"; do kill -KILL -- "-$g" 2>/dev/null; done
    kill -KILL -- "-$RUN_PID" 2>/dev/null
    leftovers "$VAR" | while read -r pid _; do kill -KILL "$pid" 2>/dev/null; done
  fi
done
expect "clean stops" "$clean of $ROUNDS" "$ROUNDS of $ROUNDS"
e2e_finish
