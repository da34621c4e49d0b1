#!/usr/bin/env bash
# test_vertex_client — gauth and the Vertex AI client against the local Google emulator.
#
# Builds build/gcp-emulator and libretrain.a, compiles tests/e2e/vertex_live.c into
# build/e2e/vertex_live, starts the emulator on a free loopback port (--port 0) with a state
# directory for its service-account key and a static token, and runs the live tests with
# RETRAIN_TEST_EMULATOR, RETRAIN_TEST_KEY_FILE and RETRAIN_TEST_STATIC_TOKEN set. The emulator
# is stopped on exit, even on failure. Exits non-zero when any case fails.
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}

make -s "$BUILD/gcp-emulator" "$BUILD/libretrain.a" || exit 2
mkdir -p "$BUILD/e2e"
cc -D_GNU_SOURCE -Isrc -std=c17 -Wall -Wextra -Werror -g -O2 tests/e2e/vertex_live.c \
  "$BUILD/libretrain.a" -lcmocka -lcurl -ljansson -lsodium -lssl -lcrypto -lpthread -lm \
  -o "$BUILD/e2e/vertex_live" || exit 2

work=$(mktemp -d /tmp/vertex-client.XXXXXX)
emu_pid=
cleanup() {
  if [ -n "$emu_pid" ] && kill -0 "$emu_pid" 2>/dev/null; then
    kill -TERM "$emu_pid" 2>/dev/null
    for _ in $(seq 50); do kill -0 "$emu_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$emu_pid" 2>/dev/null
  fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

static_token="static-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
EMULATOR_STATIC_TOKEN=$static_token "$BUILD/gcp-emulator" --port 0 --state-dir "$work" \
  --job-clock-ms 100 >"$work/stdout" 2>"$work/stderr" &
emu_pid=$!
for _ in $(seq 100); do grep -q 'listening on' "$work/stdout" && break; sleep 0.1; done
url=$(sed -n 's/^gcp-emulator listening on //p' "$work/stdout")
if [ -z "$url" ] || [ ! -s "$work/sa-key.json" ]; then
  echo "vertex_client: the emulator did not start" >&2
  cat "$work/stderr" >&2
  exit 1
fi

RETRAIN_TEST_EMULATOR=$url RETRAIN_TEST_KEY_FILE=$work/sa-key.json \
  RETRAIN_TEST_STATIC_TOKEN=$static_token "$BUILD/e2e/vertex_live" >"$work/test-stdout" 2>"$work/test-stderr"
rc=$?
cat "$work/test-stdout"
grep '^\[' "$work/test-stderr" >&2 # cmocka's verdicts; the client's JSON log lines stay there
if [ $rc -ne 0 ]; then
  echo "vertex_client: FAILED (rc $rc); the client's log:" >&2
  tail -n 40 "$work/test-stderr" >&2
fi
ok=$(cat "$work/test-stdout" "$work/test-stderr" | grep -c '^\[       OK \]')
bad=$(cat "$work/test-stdout" "$work/test-stderr" | grep -c '^\[  FAILED  \] [a-z_]')
[ $rc -ne 0 ] && [ "$bad" -eq 0 ] && bad=1
echo "test_vertex_client: $ok passed, $bad failed"
exit $rc
