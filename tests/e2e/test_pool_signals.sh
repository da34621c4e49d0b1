#!/usr/bin/env bash
# retrain-fcgi under repeated signals, as supervisors send them: every signal twice (GNU make
# forwards SIGTERM to its recipe, a supervisor signals the whole process group, a terminal's
# Ctrl-C sends SIGINT to the group), and the master SIGKILLed after a stop timeout or on its
# own. Each round starts the pool behind nginx, puts a slow request in flight, signals, and
# then checks that nothing of the round is left: no process of the pool (the master, any worker
# it had, anything in its process group) and no socket file. A request in flight during a
# graceful stop is answered; when the master is SIGKILLed its workers must not live on.
. "$(dirname "$0")/lib.sh"
e2e_init
export RETRAIN_TEST_HOOKS=1
ROUNDS=${SIGNAL_ROUNDS:-8}
config="{\"function\":\"echo\",\"workers\":2,\"request_timeout_s\":10,\"shutdown_timeout_s\":8,
  \"auth\":{\"disabled\":true},\"ledger\":{\"url\":\"sqlite://$E2E_DIR/ledger.db\"}}"
e2e_start_pool "$config"
e2e_start_nginx

# alive PID...: those of the PIDs still running (a zombie is dead: it only waits to be reaped).
alive() {
  local pid stat
  for pid in "$@"; do
    stat=$(cat "/proc/$pid/stat" 2>/dev/null) || continue
    stat=${stat##*) }
    [ "${stat%% *}" = Z ] || echo "$pid"
  done
}
# pool_pids: the master and every process in its group (workers, a collection child).
pool_pids() { { echo "$POOL_PID"; pgrep -g "$POOL_PID"; } | sort -u; }
master_gone() { [ -z "$(alive "$POOL_PID")" ]; }
# leftovers: what still runs of the round: a pid seen before the signals, or one in the group
# (workers orphaned by a SIGKILLed master stay in it).
leftovers() { alive "${pids[@]}" $(pgrep -g "$POOL_PID") | sort -u | paste -sd ' '; }
nothing_left() { [ -z "$(leftovers)" ]; }

# signal KIND: what a supervisor sends, each signal twice, the second while the pool drains.
signal() {
  local gap=0.$((RANDOM % 3))$((RANDOM % 10))
  case $1 in
  term-term) kill -TERM "$POOL_PID"; sleep "$gap"; kill -TERM "$POOL_PID" ;;
  int-int) kill -INT "$POOL_PID"; sleep "$gap"; kill -INT "$POOL_PID" ;;
  group-term-term) kill -TERM -- "-$POOL_PID"; sleep "$gap"; kill -TERM -- "-$POOL_PID" ;;
  group-int-int) kill -INT -- "-$POOL_PID"; sleep "$gap"; kill -INT -- "-$POOL_PID" ;;
  group-term-int) kill -TERM -- "-$POOL_PID"; sleep "$gap"; kill -INT -- "-$POOL_PID" ;;
  # A supervisor's stop timeout, or an operator's kill -9, aimed at the master alone.
  term-kill) kill -TERM "$POOL_PID"; sleep "$gap"; kill -KILL "$POOL_PID" ;;
  kill) kill -KILL "$POOL_PID" ;;
  esac 2>/dev/null
}

read -r -a kinds <<<"${SIGNAL_KINDS:-term-term group-term-term kill int-int group-int-int term-kill group-term-int kill}"
clean=0
for ((r = 1; r <= ROUNDS; r++)); do
  kind=${kinds[$(((r - 1) % ${#kinds[@]}))]}
  [ "$r" -gt 1 ] && { e2e_start_pool "$config" || { fail "round $r: the pool did not start"; continue; }; }
  problem=""
  e2e_wait_for 10 "${CURL[@]}" -f -o /dev/null "$BASE/healthz" || problem="not serving"
  # A slow request in flight: a worker busy for 1.5 s when the signals come.
  "${CURL[@]}" -o "$E2E_DIR/slow.$r" -w '%{http_code}' -X POST "$BASE/" -H 'ce-specversion: 1.0' \
    -H 'ce-type: t' -H 'ce-source: //signals' -H "ce-id: slow-$r" -H 'ce-testsleepms: 1500' \
    --data '{}' >"$E2E_DIR/slow.$r.code" 2>/dev/null &
  slow=$!
  busy() { "${CURL[@]}" --max-time 1 "$BASE/status" | jq -e '[.workers[] | select(.state == "busy" and .busy_ms >= 100)] | length > 0'; }
  e2e_wait_for 5 busy || problem="$problem; no worker became busy"
  mapfile -t pids < <(pool_pids)
  signal "$kind"
  e2e_wait_for 15 master_gone || problem="$problem; the master still runs after 15 s"
  wait "$slow" 2>/dev/null
  e2e_wait_for 3 nothing_left
  left=$(leftovers)
  [ -n "$left" ] && problem="$problem; processes left: $left (of ${pids[*]})"
  case $kind in
  *kill)
    # A SIGKILLed master unlinks nothing; what counts is that nothing answers on the socket.
    # (curl exits 7 when it cannot connect; anything else means something accepted.)
    curl -s --max-time 2 --unix-socket "$E2E_SOCK" -o /dev/null http://pool/ 2>/dev/null
    rc=$?
    [ -S "$E2E_SOCK" ] && [ $rc -ne 7 ] && problem="$problem; something still accepts on the socket (curl exit $rc)"
    rm -f "$E2E_SOCK"
    ;;
  *)
    [ -e "$E2E_SOCK" ] && problem="$problem; the socket is left"
    code=$(cat "$E2E_DIR/slow.$r.code" 2>/dev/null)
    [ "$code" = 200 ] || problem="$problem; the request in flight got '$code', not 200"
    ;;
  esac
  problem=${problem#; }
  if [ -z "$problem" ]; then
    clean=$((clean + 1))
    pass "round $r ($kind): nothing left"
  else
    fail "round $r ($kind): $problem"
    for p in $left; do kill -KILL "$p" 2>/dev/null; done # must not spoil the next rounds
    rm -f "$E2E_SOCK"
  fi
  wait "$POOL_PID" 2>/dev/null
done
expect "clean rounds" "$clean of $ROUNDS" "$ROUNDS of $ROUNDS"

# A stop while the ledger collection waits for a lock another process holds (an operator's
# sqlite3, a backup): the collection is told to stop too, and the pool neither waits for it
# nor has to be killed.
gcdb=$E2E_DIR/ledger-gc.db
gc_config="{\"function\":\"echo\",\"workers\":1,\"shutdown_timeout_s\":8,\"auth\":{\"disabled\":true},
  \"ledger\":{\"url\":\"sqlite://$gcdb\",\"gc_interval_s\":1}}"
if e2e_start_pool "$gc_config"; then
  e2e_spawn "$E2E_DIR/locker.log" sqlite3 "$gcdb" 'BEGIN EXCLUSIVE;' '.shell sleep 60'
  locker=$LAST_PID
  # The first collection starts a second after the pool: then the master has two children.
  collecting() { [ "$(pgrep -c -P "$POOL_PID")" -ge 2 ]; }
  if e2e_wait_for 10 collecting; then
    sleep 0.5 # inside its wait for the lock
    t0=$EPOCHREALTIME
    kill -TERM "$POOL_PID"
    e2e_wait_for 15 master_gone
    secs=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')
    if ! master_gone; then
      fail "a stop during a blocked collection: the master still runs after 15 s"
      kill -KILL -- "-$POOL_PID" 2>/dev/null
    elif awk -v s="$secs" 'BEGIN { exit !(s >= 8) }'; then
      fail "a stop during a blocked collection took $secs s (the shutdown timeout is 8 s)"
    else
      pass "a stop during a blocked collection: stopped in $secs s"
    fi
    expect "nothing of that pool is left" "$(pgrep -g "$POOL_PID" | paste -sd ' ')" ""
  else
    fail "no collection started within 10 s"
  fi
  { kill -KILL -- "-$locker"; wait "$locker"; } 2>/dev/null
  kill -KILL -- "-$POOL_PID" 2>/dev/null
  wait "$POOL_PID" 2>/dev/null
else
  fail "the pool for the collection round did not start"
fi
e2e_check_logs "$E2E_DIR/pool.log"
e2e_finish
