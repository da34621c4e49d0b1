# shellcheck shell=bash disable=SC2034 # EMU, POOL_PID, STATUS, HEADERS ... are read by the tests
# Shared harness for the end-to-end tests: a private run directory, the real processes (the
# Google emulator, the retrain-fcgi pool, nginx over TLS) on loopback, assertions, and a trap
# that stops every process it started — by process group, even when a test fails or is
# interrupted — so no nginx is left holding a port.
#
# A test script sources this file, calls e2e_init, starts what it needs, checks, and ends with
# e2e_finish (prints "NAME: N passed, N failed" and sets the exit status).

set -u
E2E_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=${BUILD:-$E2E_ROOT/build}
E2E_NAME=${E2E_NAME:-$(basename "${0%.sh}")}
e2e_passed=0
e2e_failed=0
e2e_pgids=()

e2e_init() {
  E2E_DIR=$(mktemp -d "${TMPDIR:-/tmp}/retrain-e2e.XXXXXX")
  chmod 711 "$E2E_DIR" # nginx's workers (www-data) must reach the socket inside
  trap e2e_cleanup EXIT
  trap 'exit 130' INT TERM
  "$E2E_ROOT/scripts/make-cert.sh" "$BUILD/tls" # one certificate for every test run
  CURL=(curl -sS --max-time 20 --cacert "$BUILD/tls/cert.pem")
}

# Runs a command in its own process group and remembers it for cleanup; sets $LAST_PID.
e2e_spawn() {
  local log=$1
  shift
  setsid "$@" >>"$log" 2>&1 &
  LAST_PID=$!
  e2e_pgids+=("$LAST_PID")
}

e2e_stop_group() { # PID [SIGNAL]: signal a group, wait up to 10 s, then SIGKILL it
  local pid=$1 sig=${2:-TERM} i
  kill -"$sig" -- "-$pid" 2>/dev/null || return 0
  for i in $(seq 100); do
    kill -0 -- "-$pid" 2>/dev/null || return 0
    sleep 0.1
  done
  kill -KILL -- "-$pid" 2>/dev/null
}

e2e_cleanup() {
  local i
  for ((i = ${#e2e_pgids[@]} - 1; i >= 0; i--)); do e2e_stop_group "${e2e_pgids[$i]}"; done
  if [ "$e2e_failed" -gt 0 ] || [ -n "${E2E_KEEP:-}" ]; then
    echo "$E2E_NAME: logs kept in $E2E_DIR" >&2
    for f in "$E2E_DIR"/pool.log "$E2E_DIR"/nginx/error.log "$E2E_DIR"/emulator.log; do
      [ -s "$f" ] && { echo "--- tail $f" >&2; tail -n 30 "$f" >&2; }
    done
  else
    rm -rf "$E2E_DIR"
  fi
}

# A loopback TCP port nothing listens on, below Linux's ephemeral range (32768-60999), so no
# client connection of the tests holds it either.
e2e_free_port() {
  local p
  while :; do
    p=$((20000 + RANDOM % 12000))
    (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return; }
  done
}

e2e_wait_for() { # SECONDS COMMAND...: retries COMMAND every 50 ms
  local deadline=$((SECONDS + $1))
  shift
  until "$@" >/dev/null 2>&1; do
    [ $SECONDS -ge $deadline ] && return 1
    sleep 0.05
  done
}

# ---- the processes ---------------------------------------------------------------------

# Starts build/gcp-emulator; sets EMU (its base URL) and EMU_PID.
e2e_start_emulator() {
  local out="$E2E_DIR/emulator.out"
  mkdir -p "$E2E_DIR/emulator"
  : >"$out"
  setsid "$BUILD/gcp-emulator" --port 0 --state-dir "$E2E_DIR/emulator" "$@" \
    >"$out" 2>>"$E2E_DIR/emulator.log" &
  EMU_PID=$!
  e2e_pgids+=("$EMU_PID")
  e2e_wait_for 10 grep -q 'listening on' "$out" || { echo "emulator did not start" >&2; return 1; }
  EMU=$(grep -o 'http://127.0.0.1:[0-9]*' "$out" | head -n 1)
}

# After e2e_start_emulator, for a pool whose Google is the emulator: exports the endpoint and
# metadata server the pool's workers use, and sets P (the test project's location), AT (the
# emulator's access token) and vx (curl with that token, at most 10 s).
e2e_use_emulator() {
  P=projects/test-project/locations/us-central1
  AT=$(curl -sS --max-time 10 -H 'Metadata-Flavor: Google' \
    "$EMU/computeMetadata/v1/instance/service-accounts/default/token" | jq -r .access_token)
  export RETRAIN_VERTEX_ENDPOINT="$EMU/v1" RETRAIN_STORAGE_ENDPOINT="$EMU" GCE_METADATA_HOST="${EMU#http://}"
}
vx() { curl -sS --max-time 10 -H "Authorization: Bearer $AT" "$@"; }

# e2e_jobs_labelled KEY: how many of the emulator's customJobs carry event KEY's label.
e2e_jobs_labelled() {
  vx -G "$EMU/v1/$P/customJobs" --data-urlencode "filter=labels.retrain-event=\"${1:0:63}\"" |
    jq '.customJobs // [] | length'
}

# e2e_rule_jobs RULE: the emulator's customJobs made for RULE (its label), as JSON lines.
e2e_rule_jobs() {
  vx -G "$EMU/v1/$P/customJobs" --data-urlencode "filter=labels.retrain-rule=\"$1\"" \
    --data-urlencode pageSize=1000 | jq -c '.customJobs // [] | .[]'
}

# e2e_host NAME CONFIG: one host of several sharing a ledger: a pool (CONFIG, a file) and nginx
# under $E2E_DIR/NAME, the test's own directory kept; sets POOL_NAME and BASE_NAME.
e2e_host() {
  local root=$E2E_DIR
  E2E_DIR=$root/$1
  mkdir -p "$E2E_DIR"
  chmod 711 "$E2E_DIR"
  e2e_start_pool "$(cat "$2")"
  e2e_start_nginx
  printf -v "POOL_$1" %s "$POOL_PID"
  printf -v "BASE_$1" %s "$BASE"
  E2E_DIR=$root
}

# Writes $E2E_DIR/config.json from the JSON object given (merged over test defaults) and
# starts the pool on a unix socket reachable by nginx; extra retrain-fcgi options follow.
# Sets POOL_PID.
e2e_start_pool() {
  local json=${1:-'{}'}
  shift || true
  printf '%s\n' "$json" >"$E2E_DIR/config.json"
  E2E_SOCK="$E2E_DIR/fcgi.sock"
  local group=()
  [ "$(id -u)" -eq 0 ] && group=(--socket-group www-data)
  e2e_spawn "$E2E_DIR/pool.log" "$BUILD/retrain-fcgi" --config "$E2E_DIR/config.json" \
    --listen "unix:$E2E_SOCK" "${group[@]}" "$@"
  POOL_PID=$LAST_PID
  e2e_wait_for 10 test -S "$E2E_SOCK" || { echo "pool did not start" >&2; cat "$E2E_DIR/pool.log" >&2; return 1; }
}

# Renders nginx's config for this run and starts it; sets BASE (https://127.0.0.1:PORT).
# A port taken between choosing and binding (other tests run too) is retried on another port;
# success means *our* nginx wrote its pid file and answers, not just that something answers.
e2e_start_nginx() {
  local port _
  for _ in 1 2 3 4 5; do
    port=${E2E_HTTPS_PORT:-$(e2e_free_port)} # a fixed port: a restart keeps the clients' URL
    rm -f "$E2E_DIR/nginx/nginx.pid"
    RUN_DIR="$E2E_DIR/nginx" HTTPS_PORT=$port FCGI_ADDR="unix:$E2E_SOCK" \
      TLS_CERT="$BUILD/tls/cert.pem" TLS_KEY="$BUILD/tls/key.pem" \
      REQUEST_TIMEOUT=${REQUEST_TIMEOUT:-30} "$E2E_ROOT/scripts/render-nginx.sh"
    e2e_spawn "$E2E_DIR/nginx.log" nginx -c "$E2E_DIR/nginx/nginx.conf" -p "$E2E_DIR/nginx" \
      -e "$E2E_DIR/nginx/error.log"
    NGINX_PID=$LAST_PID
    BASE="https://127.0.0.1:$port"
    if e2e_wait_for 10 e2e_nginx_up; then return 0; fi
    e2e_stop_group "$NGINX_PID"
  done
  echo "nginx did not start" >&2
  cat "$E2E_DIR/nginx/error.log" >&2
  return 1
}

e2e_nginx_up() {
  kill -0 "$NGINX_PID" 2>/dev/null && [ -s "$E2E_DIR/nginx/nginx.pid" ] &&
    "${CURL[@]}" -f -o /dev/null "$BASE/healthz" # 200 from a worker: the pool serves too
}

# ---- requests and assertions -----------------------------------------------------------

# http METHOD PATH [curl args...]: sets STATUS, BODY and HEADERS of the answer. The answer's
# files go to E2E_HTTP_DIR (default E2E_DIR): a request sent in the background names its own.
http() {
  local method=$1 path=$2 dir=${E2E_HTTP_DIR:-$E2E_DIR}
  shift 2
  local out
  out=$("${CURL[@]}" -X "$method" -D "$dir/.headers" -o "$dir/.body" \
    -w '%{http_code}' "$@" "$BASE$path") || out=000
  STATUS=$out
  BODY=$(cat "$dir/.body" 2>/dev/null)
  HEADERS=$(cat "$dir/.headers" 2>/dev/null)
}

# json_get FIELD|FILTER [JSON]: a (dotted) field of the answer, or any jq filter starting with '.'.
json_get() {
  local f=$1
  [[ $f == .* ]] || f=".$f"
  printf '%s' "${2-$BODY}" | jq -r "$f // empty" 2>/dev/null
}

pass() { e2e_passed=$((e2e_passed + 1)); echo "  ok   $*"; }
fail() { e2e_failed=$((e2e_failed + 1)); echo "  FAIL $*"; }

# expect NAME ACTUAL EXPECTED
expect() {
  if [ "$2" = "$3" ]; then pass "$1"; else fail "$1: got '$2', want '$3'"; fi
}

# expect_match NAME TEXT REGEX
expect_match() {
  if printf '%s' "$2" | grep -Eq -- "$3"; then pass "$1"; else fail "$1: '$(printf '%s' "$2" | head -c 300)' does not match /$3/"; fi
}

# e2e_check_logs [FILE...]: one check per log, that every line of it is one strict JSON object
# (build/jsonl-check: valid UTF-8, no NUL, no duplicate key, numbers as JSON writes them), as
# a log pipeline needs. Default: nginx's access log and the pool's log, those this test made.
# nginx's error log is plain text by nginx's design, and is not checked.
e2e_check_logs() {
  local f out files=("$@")
  [ $# -gt 0 ] || for f in "$E2E_DIR/nginx/access.log" "$E2E_DIR/pool.log"; do
    [ -e "$f" ] && files+=("$f")
  done
  for f in "${files[@]}"; do
    if out=$("$BUILD/jsonl-check" "$f" 2>&1); then
      pass "log ${f#"$E2E_DIR"/}: every line strict JSON ($(wc -l <"$f") lines)"
    else
      fail "log ${f#"$E2E_DIR"/}: ${out//$'\n'/ }"
    fi
  done
}

e2e_finish() {
  echo "$E2E_NAME: $e2e_passed passed, $e2e_failed failed"
  [ "$e2e_failed" -eq 0 ]
}
