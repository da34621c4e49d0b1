#!/usr/bin/env bash
# The emulator's ModelEvaluations, training outcomes and alias rules
# (tests/emulator/test_evaluations.sh, a TAP script of its own), counted with the other
# end-to-end checks: each "ok" line a pass, each "not ok" a fail.
. "$(dirname "$0")/lib.sh"
e2e_init

out=$(EMU_BIN="$BUILD/gcp-emulator" bash "$E2E_ROOT/tests/emulator/test_evaluations.sh" 2>&1)
rc=$?
while IFS= read -r line; do
  case $line in
  "not ok "*) fail "${line#not ok }" ;;
  "ok "*) pass "${line#ok }" ;;
  esac
done <<<"$out"
expect "tests/emulator/test_evaluations.sh exits 0" "$rc" 0
e2e_finish
