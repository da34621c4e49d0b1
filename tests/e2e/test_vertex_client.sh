#!/usr/bin/env bash
# gauth and the Vertex AI client against the local Google emulator: build/e2e/vertex_live (built
# by make from tests/e2e/vertex_live.c, a cmocka suite) run with the emulator's base URL, the
# service-account key file it wrote into its state directory, and the static token it was
# started with (RETRAIN_TEST_EMULATOR, RETRAIN_TEST_KEY_FILE, RETRAIN_TEST_STATIC_TOKEN). Each
# case of the suite is one check here.
. "$(dirname "$0")/lib.sh"
e2e_init

make -s -C "$E2E_ROOT" BUILD="$BUILD" "$BUILD/e2e/vertex_live" >"$E2E_DIR/make.log" 2>&1 ||
  { fail "make $BUILD/e2e/vertex_live: $(tail -n 5 "$E2E_DIR/make.log")"; e2e_finish; exit 1; }
static_token="static-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
EMULATOR_STATIC_TOKEN=$static_token e2e_start_emulator --job-clock-ms 100
expect "the emulator wrote its service-account key" "$([ -s "$E2E_DIR/emulator/sa-key.json" ] && echo yes)" yes

RETRAIN_TEST_EMULATOR=$EMU RETRAIN_TEST_KEY_FILE=$E2E_DIR/emulator/sa-key.json \
  RETRAIN_TEST_STATIC_TOKEN=$static_token "$BUILD/e2e/vertex_live" >"$E2E_DIR/live.out" 2>"$E2E_DIR/live.err"
rc=$?
# cmocka's verdicts, one a case; the client's JSON log lines stay in live.err.
while read -r verdict name; do
  case $verdict in
  OK) pass "$name" ;;
  FAILED) fail "$name" ;;
  esac
done < <(cat "$E2E_DIR/live.out" "$E2E_DIR/live.err" |
  sed -nE 's/^\[ +(OK|FAILED) +\] ([a-z_0-9]+)$/\1 \2/p' | awk '!seen[$2]++')
expect "vertex_live exits 0" "$rc" 0
[ "$rc" -eq 0 ] || tail -n 40 "$E2E_DIR/live.err"
e2e_finish
