#!/usr/bin/env bash
# Runs every end-to-end test (tests/e2e/test_*.sh, or those named in E2E_TESTS) and prints
# "e2e: N passed, N failed" over all their checks. Each test starts and stops its own
# processes on loopback.
set -u
cd "$(dirname "$0")" || exit 2
passed=0 failed=0 broken=()
for t in test_*.sh; do
  name=${t%.sh}
  if [ -n "${E2E_TESTS:-}" ] && ! [[ " $E2E_TESTS " == *" ${name#test_} "* ]]; then continue; fi
  echo "== $name"
  start=$SECONDS
  # Own session: nothing a test signals can reach the caller.
  out=$(setsid -w bash "$t" 2>&1 </dev/null); rc=$?
  printf '%s\n' "$out"
  echo "-- $name: $((SECONDS - start)) s"
  line=$(printf '%s\n' "$out" | grep -E "^$name: [0-9]+ passed, [0-9]+ failed$" | tail -n 1)
  if [ -n "$line" ]; then
    p=$(echo "$line" | sed -E 's/.*: ([0-9]+) passed.*/\1/'); f=$(echo "$line" | sed -E 's/.* ([0-9]+) failed/\1/')
    passed=$((passed + p)); failed=$((failed + f))
  fi
  # A test that exits non-zero, prints no summary, or checked nothing has failed.
  if [ $rc -ne 0 ] || [ -z "$line" ] || [ "${p:-0}" -eq 0 ]; then
    broken+=("$name")
    [ -z "$line" ] && failed=$((failed + 1))
  fi
  p=0
done
[ ${#broken[@]} -gt 0 ] && echo "failing e2e tests: ${broken[*]}"
echo "e2e: $passed passed, $failed failed"
[ ${#broken[@]} -eq 0 ] && [ "$passed" -gt 0 ]
