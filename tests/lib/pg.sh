#!/usr/bin/env bash
# A throw-away PostgreSQL server for tests and benchmarks, on 127.0.0.1 only.
#
#   tests/lib/pg.sh start            prints `export RETRAIN_TEST_PG_URL=...; export RETRAIN_TEST_PG_DIR=...`
#   tests/lib/pg.sh stop DIR         stops the server and removes DIR
#   tests/lib/pg.sh restart DIR [S]  fast stop, S seconds of outage (default 0), start on the same port
#
# We run as root and PostgreSQL refuses root, so the server runs as the `postgres` user in a temp
# directory it owns; its unix socket lives there too. fsync is off (a test server starts in
# seconds); set RETRAIN_PG_FSYNC=on to measure with durable commits.
set -euo pipefail

die() { echo "pg.sh: $*" >&2; exit 1; }

bindir() {
  local d
  d=$(pg_config --bindir 2>/dev/null || true)
  [ -x "$d/pg_ctl" ] || d=$(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
  [ -x "$d/pg_ctl" ] || die "no PostgreSQL server binaries found"
  echo "$d"
}

as_pg() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

server_start() { # DIR: starts with the options saved in DIR/opts
  as_pg "$(bindir)/pg_ctl" -D "$1/data" -l "$1/server.log" -o "$(cat "$1/opts")" -w -t 30 \
    start >/dev/null
}

cmd_start() {
  local bin dir port pass opts
  bin=$(bindir)
  dir=$(mktemp -d /tmp/retrain-pg.XXXXXX)
  touch "$dir/.retrain-pg"
  chmod 0755 "$dir"
  [ "$(id -u)" -eq 0 ] && chown postgres: "$dir"
  as_pg "$bin/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --no-instructions \
    >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; rm -rf "$dir"; die "initdb failed"; }
  # Password logins over TCP; the socket (root's tool access) stays trusted.
  printf 'local all all trust\nhost all all 127.0.0.1/32 scram-sha-256\n' \
    | as_pg tee "$dir/data/pg_hba.conf" >/dev/null
  for _ in 1 2 3 4 5; do
    port=$((20000 + RANDOM % 40000))
    port_free "$port" || continue
    echo "$port" >"$dir/port"
    opts="-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=${RETRAIN_PG_FSYNC:-off}"
    [ "${RETRAIN_PG_FSYNC:-off}" = off ] && opts="$opts -c synchronous_commit=off -c full_page_writes=off"
    echo "$opts -c max_connections=100" >"$dir/opts"
    chmod a+r "$dir/opts" "$dir/port"
    if server_start "$dir" 2>>"$dir/start.err"; then break; fi
    port=""
  done
  [ -n "$port" ] || { cat "$dir/server.log" >&2 2>/dev/null; rm -rf "$dir"; die "could not start"; }
  pass=$(head -c 18 /dev/urandom | od -An -tx1 | tr -d ' \n')
  as_pg "$bin/psql" -h "$dir" -p "$port" -U postgres -d postgres -qAt -v ON_ERROR_STOP=1 \
    -c "CREATE ROLE retrain LOGIN PASSWORD '$pass'" -c "CREATE DATABASE retrain OWNER retrain" \
    >/dev/null || { cmd_stop "$dir"; die "could not create the test database"; }
  echo "export RETRAIN_TEST_PG_URL=postgres://retrain:$pass@127.0.0.1:$port/retrain;"
  echo "export RETRAIN_TEST_PG_DIR=$dir"
}

check_dir() {
  if [ -z "${1:-}" ] || [ ! -f "$1/.retrain-pg" ]; then die "not a pg.sh directory: ${1:-}"; fi
}

cmd_stop() {
  check_dir "${1:-}"
  if [ -f "$1/data/postmaster.pid" ]; then
    as_pg "$(bindir)/pg_ctl" -D "$1/data" -m immediate -w stop >/dev/null 2>&1 || true
  fi
  rm -rf "$1"
}

cmd_restart() {
  check_dir "${1:-}"
  as_pg "$(bindir)/pg_ctl" -D "$1/data" -m fast -w stop >/dev/null
  sleep "${2:-0}"
  server_start "$1"
}

case "${1:-}" in
start) cmd_start ;;
stop) cmd_stop "${2:-}" ;;
restart) cmd_restart "${2:-}" "${3:-0}" ;;
*) die "usage: pg.sh start | stop DIR | restart DIR [PAUSE_S]" ;;
esac
