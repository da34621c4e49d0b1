#!/usr/bin/env bash
# `make run`: the whole service on one machine, in the foreground.
#
#   the Google emulator (OIDC issuer, metadata server, Vertex AI)   http://127.0.0.1:8090
#   the retrain-fcgi pool (examples/config.json)                   unix:var/run/fcgi.sock
#   nginx over TLS (self-signed certificate in var/tls)            https://127.0.0.1:8443/
#   the local Eventarc: each file dropped under var/inbox/ becomes a signed
#   google.cloud.storage.object.v1.finalized event for bucket acme-data
#
# Logs (JSON lines) of every process come to this terminal. SIGTERM, SIGINT (Ctrl-C) or SIGHUP
# stops everything this script started — so does any of them dying — and then "run: stopped"
# is printed and the script dies of the signal it got, as a supervisor expects.
#
# Each process runs in its own session and process group, so a signal to our group (systemd's
# SIGTERM, `kill -- -PGID`, a terminal's Ctrl-C; make passes SIGTERM on too, so it comes twice)
# reaches this script and never the services directly: they are stopped here, in order, the
# sender first, then nginx, then the pool (which finishes its in-flight requests while the
# emulator still answers them), then the emulator; each group gets SIGTERM, and SIGKILL if it is
# still there after 10 s. The stop runs once, to the end, however many signals come and
# whenever they come (during start-up, during the stop itself).
#
# Settings (environment): RUN_HTTPS_PORT (8443), RUN_EMULATOR_PORT (8090), RUN_VAR_DIR (var/),
# RUN_BUCKET (acme-data), RUN_ACCESS_LOG (the terminal; a path to keep it in a file),
# RUN_JOB_CLOCK_MS (the emulator's Vertex state step, 2000), RUN_SCORES (what its training
# runs score, in turn, for the promotion gate), RETRAIN_CONFIG
# (examples/config.json), RETRAIN_FUNCTION (retrain, or echo when this build has no retrain
# function), and the pool's own RETRAIN_* variables, which win over what is set here.
# shellcheck disable=SC2317 # stop, stop_group, on_signal: reached through the traps
set -euo pipefail

# ---- stopping ---------------------------------------------------------------------------
# Set before anything is started: a signal at any moment from here on stops what exists.
pgids=()
names=()
stopping=0
stop_signal=""
VAR="" SOCK="" SOCK_DIR="" PIDS="" NOW_MS=0
say() { printf 'run: %s\n' "$*" >&2; }

# Sets NOW_MS. Not `$(now_ms)`: a signal that kills the command substitution's subshell would
# leave an empty clock, a deadline already past, and a spurious SIGKILL.
now_ms() { local t=${EPOCHREALTIME//[!0-9]/}; NOW_MS=${t:0:-3}; }
alive() { kill -0 -- "-$1" 2>/dev/null || kill -0 "$1" 2>/dev/null; }
stop_group() { # PID: its process group — or the process alone, before it made its group
  local pid=$1 grouped=1 deadline
  kill -TERM -- "-$pid" 2>/dev/null || { grouped=0; kill -TERM "$pid" 2>/dev/null; } || return 0
  now_ms
  deadline=$((NOW_MS + 10000))
  while alive "$pid"; do
    # Signalled between fork and setsid: its group exists now, and must be told too.
    [ "$grouped" -eq 0 ] && kill -TERM -- "-$pid" 2>/dev/null && grouped=1
    now_ms
    if [ "$NOW_MS" -ge "$deadline" ]; then
      say "process group $pid did not stop in 10 s; killing it; still running:"
      ps -o pid=,stat=,wchan:24=,args= -g "$pid" 2>/dev/null | sed 's/^/run:   /' >&2 || true
      kill -KILL -- "-$pid" 2>/dev/null
      kill -KILL "$pid" 2>/dev/null
      break
    fi
    # A group signal kills this sleep early; the deadline is by the clock, not by the count.
    sleep 0.05
  done
}

# The one way out once started: from the EXIT trap (an error, a child that died) or a signal.
# Entered again by a signal that arrives while it runs, it returns at once, and the first
# run carries on: a trap that only set itself to '' would come too late for a signal that is
# already there, and an `exit` in a handler would cut the stop short.
stop() {
  local rc=$? i p known
  [ "$stopping" -eq 0 ] || return 0
  stopping=1
  set +e
  # A child started just before the signal, before it was remembered: every background job
  # of this shell is one of ours.
  # `jobs -p` runs in a subshell a signal can kill: asked until it answers (a few tries).
  local jobs_out="" _
  for _ in 1 2 3 4 5; do
    if jobs_out=$(jobs -p); then break; fi
  done
  for p in $jobs_out; do
    known=0
    for i in "${pgids[@]}"; do [ "$i" = "$p" ] && known=1; done
    [ "$known" -eq 1 ] || { pgids+=("$p"); names+=("process $p"); }
  done
  for ((i = ${#pgids[@]} - 1; i >= 0; i--)); do stop_group "${pgids[$i]}"; done
  # Reap each of them by its pid: a bare `wait`, in a trap that interrupted `wait -n`, was seen
  # to hang for good after everything had stopped (1 of 40 rounds of a signal storm).
  for p in "${pgids[@]}"; do wait "$p" 2>/dev/null; done
  [ -n "$SOCK" ] && rm -f "$SOCK"
  [ -n "$PIDS" ] && rm -f "$PIDS"
  [ -n "$SOCK_DIR" ] && [ "$SOCK_DIR" != "$VAR/run" ] && rm -rf "$SOCK_DIR"
  if [ ${#pgids[@]} -gt 0 ] || [ -n "$stop_signal" ]; then say "stopped"; fi
  trap - EXIT
  if [ -n "$stop_signal" ]; then
    trap - "$stop_signal"
    kill -s "$stop_signal" $$
  fi
  exit "$rc"
}
on_signal() { # SIG: the first one names the stop; any later one changes nothing
  [ -n "$stop_signal" ] || stop_signal=$1
  stop
}
trap stop EXIT
trap 'on_signal TERM' TERM
trap 'on_signal INT' INT
trap 'on_signal HUP' HUP

here=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$here/build}
VAR=${RUN_VAR_DIR:-$here/var}
HTTPS_PORT=${RUN_HTTPS_PORT:-8443}
EMU_PORT=${RUN_EMULATOR_PORT:-8090}
BUCKET=${RUN_BUCKET:-acme-data}
CONFIG=${RETRAIN_CONFIG:-$here/examples/config.json}

die() { say "$*"; exit 1; }

for b in retrain-fcgi retrainctl gcp-emulator; do
  [ -x "$BUILD/$b" ] || die "$BUILD/$b is missing: run 'make' first (or 'make run')"
done
command -v nginx >/dev/null || die "nginx is not installed (scripts/deps.sh installs it)"
command -v jq >/dev/null || die "jq is not installed (scripts/deps.sh installs it)"
[ -r "$CONFIG" ] || die "config $CONFIG is not readable"

port_taken() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
for p in "$HTTPS_PORT" "$EMU_PORT"; do
  if port_taken "$p"; then
    die "port 127.0.0.1:$p is taken (another 'make run'?); stop it, or choose others with RUN_HTTPS_PORT / RUN_EMULATOR_PORT"
  fi
done

mkdir -p "$VAR"
VAR=$(cd "$VAR" && pwd)
mkdir -p "$VAR/tls" "$VAR/run" "$VAR/emulator" "$VAR/inbox/datasets/churn"
# nginx's workers run as www-data when we are root: they must reach var/run/fcgi.sock.
chmod 711 "$VAR" "$VAR/run"
"$here/scripts/make-cert.sh" "$VAR/tls"

BASE="https://127.0.0.1:$HTTPS_PORT"
EMU="http://127.0.0.1:$EMU_PORT"
SOCK_DIR="$VAR/run"
# A checkout under a private home directory: nginx's workers could not reach the socket there.
if [ "$(id -u)" -eq 0 ] && command -v runuser >/dev/null &&
  ! runuser -u www-data -- test -x "$SOCK_DIR" 2>/dev/null; then
  SOCK_DIR=$(mktemp -d /tmp/retrain-run.XXXXXX)
  chmod 711 "$SOCK_DIR"
  say "www-data cannot reach $VAR/run; the pool's socket goes to $SOCK_DIR"
fi
SOCK="$SOCK_DIR/fcgi.sock"
AUDIENCE=${RETRAIN_AUDIENCE:-$BASE/}
# The identity the emulator's tokens carry: the first allowed service account of the config.
SA=${RETRAIN_SERVICE_ACCOUNTS:-$(jq -r '.auth.service_accounts[0] // empty' "$CONFIG")}
SA=${SA%%,*}
SA=${SA:-eventarc-trigger@test-project.iam.gserviceaccount.com}
PROJECT=${GOOGLE_CLOUD_PROJECT:-$(jq -r '.vertex.project // .project // "test-project"' "$CONFIG")}

# ---- process groups ---------------------------------------------------------------------
# var/run/run.pids lists "NAME PGID" of each group we started, for whoever must check on them.
remember() {
  pgids+=("$2")
  names+=("$1")
  echo "$1 $2" >>"$PIDS"
}
spawn() { # NAME COMMAND...: its own session and process group, logs to our stderr
  local name=$1
  shift
  setsid "$@" &
  remember "$name" "$!"
}

wait_for() { # SECONDS NAME COMMAND...
  local deadline=$((SECONDS + $1)) name=$2
  shift 2
  until "$@" >/dev/null 2>&1; do
    [ $SECONDS -ge $deadline ] && die "$name did not start within $1 s"
    sleep 0.1
  done
}

# ---- the emulator -----------------------------------------------------------------------
PIDS=$VAR/run/run.pids
echo "run.sh $$" >"$PIDS"
rm -f "$VAR/run/emulator.out"
setsid "$BUILD/gcp-emulator" --port "$EMU_PORT" --state-dir "$VAR/emulator" \
  --audience "$AUDIENCE" --service-account "$SA" --project "$PROJECT" \
  --job-clock-ms "${RUN_JOB_CLOCK_MS:-2000}" >"$VAR/run/emulator.out" &
remember emulator "$!"
wait_for 10 "the emulator" grep -q 'listening on' "$VAR/run/emulator.out"

# The models the rules add versions to must exist: Vertex does not create a parentModel.
jq -r '.rules[]?.model.parent // empty' "$CONFIG" | sort -u | while read -r parent; do
  if [[ $parent =~ ^projects/([^/]+)/locations/([^/]+)/models/([^/@]+)$ ]]; then
    seed=$(jq -cn --arg p "${BASH_REMATCH[1]}" --arg l "${BASH_REMATCH[2]}" \
      --arg m "${BASH_REMATCH[3]}" '{project:$p, location:$l, modelId:$m, model:{displayName:$m}}')
    curl -sS --max-time 10 -o /dev/null -X POST "$EMU/emulator/vertex/models" -d "$seed" ||
      die "could not seed model $parent"
    say "seeded model $parent in the emulator"
  fi
done

# What the emulator's training runs score, in turn (RUN_SCORES): the evaluation each new version
# gets, under every metric a rule's promotion gate compares, as a real training run would write
# it. So the gate promotes some versions and holds others, and /ui/ charts them.
jq -r '.rules[]?.promote.metric // empty' "$CONFIG" | sort -u | while read -r metric; do
  for round in 1 2 3 4; do
    for score in ${RUN_SCORES:-0.81 0.79 0.84 0.86 0.83 0.88 0.85 0.90}; do
      curl -sS --max-time 10 -o /dev/null -X POST "$EMU/emulator/vertex/outcomes" \
        -d "{\"metrics\":{\"$metric\":$score}}" || die "could not queue an outcome ($round)"
    done
  done
  say "queued the emulator's scores for $metric"
done

# ---- the pool ---------------------------------------------------------------------------
export RETRAIN_CONFIG="$CONFIG"
export RETRAIN_LISTEN=${RETRAIN_LISTEN:-unix:$SOCK}
export RETRAIN_AUDIENCE="$AUDIENCE"
export RETRAIN_JWKS_URL=${RETRAIN_JWKS_URL:-$EMU/oauth2/v3/certs}
export RETRAIN_VERTEX_ENDPOINT=${RETRAIN_VERTEX_ENDPOINT:-$EMU/v1}
export RETRAIN_STORAGE_ENDPOINT=${RETRAIN_STORAGE_ENDPOINT:-$EMU} # batch manifests
export RETRAIN_LEDGER=${RETRAIN_LEDGER:-sqlite://$VAR/ledger.db}
export GCE_METADATA_HOST="127.0.0.1:$EMU_PORT"
export GOOGLE_CLOUD_PROJECT="$PROJECT"
# Locally the access token comes from the emulator's metadata server, never a real key file.
unset GOOGLE_APPLICATION_CREDENTIALS RETRAIN_ACCESS_TOKEN

"$BUILD/retrain-fcgi" --function echo --check >/dev/null 2>"$VAR/run/check.err" || {
  cat "$VAR/run/check.err" >&2
  die "the configuration $CONFIG is not valid"
}
FUNCTION=${RETRAIN_FUNCTION:-retrain}
if ! "$BUILD/retrain-fcgi" --function "$FUNCTION" --check >/dev/null 2>&1; then
  say "this build has no function \"$FUNCTION\" registered: falling back to \"echo\" (events are authenticated, de-duplicated and recorded, but nothing is trained)"
  FUNCTION="echo"
fi
export RETRAIN_FUNCTION=$FUNCTION
group=()
[ "$(id -u)" -eq 0 ] && group=(--socket-group www-data)
spawn pool "$BUILD/retrain-fcgi" "${group[@]}"
# nginx's upstream takes the listener's own syntax: unix:/path or host:port.
pool_listening() {
  case $RETRAIN_LISTEN in
  unix:*) test -S "${RETRAIN_LISTEN#unix:}" ;;
  *) (exec 3<>"/dev/tcp/${RETRAIN_LISTEN%:*}/${RETRAIN_LISTEN##*:}") 2>/dev/null ;;
  esac
}
wait_for 10 "the pool" pool_listening

# ---- nginx ------------------------------------------------------------------------------
RUN_DIR="$VAR/run/nginx" HTTPS_PORT=$HTTPS_PORT FCGI_ADDR="$RETRAIN_LISTEN" \
  TLS_CERT="$VAR/tls/cert.pem" TLS_KEY="$VAR/tls/key.pem" \
  ACCESS_LOG=${RUN_ACCESS_LOG:-/dev/stdout} ERROR_LOG=/dev/stderr "$here/scripts/render-nginx.sh"
spawn nginx nginx -c "$VAR/run/nginx/nginx.conf" -p "$VAR/run/nginx" -e /dev/stderr
wait_for 10 "nginx" curl -fsS --max-time 2 --cacert "$VAR/tls/cert.pem" "$BASE/healthz"

# ---- the local Eventarc -----------------------------------------------------------------
spawn sender "$BUILD/gcp-emulator" send --inbox "$VAR/inbox" --target "$BASE/" --issuer "$EMU" \
  --cacert "$VAR/tls/cert.pem" --bucket "$BUCKET" --audience "$AUDIENCE"

cat >&2 <<EOF

  eventarc-retrain is up (function: $FUNCTION)
    endpoint   $BASE/   (GET /healthz /readyz /status /metrics)
    page       $BASE/ui/   (runs, dead letters, model versions and their metric)
    emulator   $EMU     (GET /emulator/stats; Vertex AI under /v1/)
    ledger     $RETRAIN_LEDGER

  Drop a CSV into $VAR/inbox/datasets/churn/ (bucket $BUCKET, object datasets/churn/NAME.csv):
    cp my.csv $VAR/inbox/datasets/churn/
  Watch it on $BASE/ui/, or read the ledger:
    RETRAIN_LEDGER=$RETRAIN_LEDGER $BUILD/retrainctl events list
  Ctrl-C stops everything.

EOF

# Foreground until a signal (its trap stops everything and never returns here), or until one
# of the processes exits on its own.
set +e
wait -n
rc=$?
for i in "${!pgids[@]}"; do
  kill -0 "${pgids[$i]}" 2>/dev/null || say "${names[$i]} exited (status $rc); stopping the rest"
done
exit 1
