# shellcheck shell=bash disable=SC2034 # RUN_PID and the others are read by the tests
# Helpers for the tests of `make run` (scripts/run.sh): sourced after lib.sh by test_make_run.sh
# and test_stop.sh. Not a test itself (tests/e2e/run.sh runs only test_*.sh).

# run_spawn VAR HTTPS_PORT EMU_PORT LOG COMMAND...: starts COMMAND (scripts/run.sh, or make
# run) in its own session with a clean environment, only what the test chooses reaching it,
# and SIGINT handled as in a terminal (a background job of a script inherits it ignored, and a
# signal ignored at start cannot even be trapped); sets RUN_PID (also its process group).
run_spawn() {
  local var=$1 https=$2 emu=$3 log=$4
  shift 4
  e2e_spawn "$log" env --default-signal=INT,QUIT -u RETRAIN_CONFIG -u RETRAIN_LEDGER -u RETRAIN_LISTEN -u RETRAIN_AUDIENCE \
    -u RETRAIN_FUNCTION -u RETRAIN_JWKS_URL -u RETRAIN_VERTEX_ENDPOINT -u MAKEFLAGS -u MAKELEVEL \
    RUN_VAR_DIR="$var" RUN_HTTPS_PORT="$https" RUN_EMULATOR_PORT="$emu" \
    RUN_JOB_CLOCK_MS=200 RUN_ACCESS_LOG="$var.access.log" BUILD="$BUILD" "$@"
  RUN_PID=$LAST_PID
}

# run_free_ports: sets RUN_HTTPS and RUN_EMU to two distinct free loopback ports.
run_free_ports() {
  RUN_HTTPS=$(e2e_free_port)
  RUN_EMU=$(e2e_free_port)
  while [ "$RUN_EMU" = "$RUN_HTTPS" ]; do RUN_EMU=$(e2e_free_port); done
}

# run_healthy VAR HTTPS_PORT: nginx answers /healthz with the certificate run.sh made.
run_healthy() {
  curl -fsS --max-time 5 --cacert "$1/tls/cert.pem" "https://127.0.0.1:$2/healthz"
}

# run_pgids VAR: the process groups run.sh started (var/run/run.pids, run.sh itself left out).
run_pgids() {
  local name pgid
  while read -r name pgid; do
    [ "$name" = run.sh ] || echo "$pgid"
  done <"$1/run/run.pids" 2>/dev/null
}

# run_listening PORT: something listens on 127.0.0.1:PORT (read from /proc/net/tcp: a socket
# that is bound and listening, whether or not it would accept).
run_listening() {
  local hex
  hex=$(printf '%04X' "$1")
  awk -v p=":$hex" 'NR > 1 && $4 == "0A" && substr($2, length($2) - 4) == p { found = 1 } END { exit !found }' \
    /proc/net/tcp /proc/net/tcp6 2>/dev/null
}
