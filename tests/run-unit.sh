#!/usr/bin/env bash
# Runs every cmocka test binary in DIR (default build/tests) and prints "N passed, N failed".
# A temporary PostgreSQL server is started for the ledger's backend table when tests/lib/pg.sh
# exists and RETRAIN_TEST_PG_URL is not already set; it is stopped on exit, even on failure.
set -u
dir=${1:-build/tests}
cd "$(dirname "$0")/.." || exit 2
if [ -z "${RETRAIN_TEST_PG_URL:-}" ] && [ -x tests/lib/pg.sh ]; then
  pg_env=$(tests/lib/pg.sh start) || { echo "run-unit: could not start PostgreSQL" >&2; exit 1; }
  eval "$pg_env"
  trap 'tests/lib/pg.sh stop "$RETRAIN_TEST_PG_DIR"' EXIT
fi
passed=0 failed=0 failures=()
for t in "$dir"/test_*; do
  [ -x "$t" ] || continue
  if "$t"; then passed=$((passed + 1)); else failed=$((failed + 1)); failures+=("$(basename "$t")"); fi
done
echo
[ ${#failures[@]} -gt 0 ] && echo "failed test binaries: ${failures[*]}"
echo "unit: $passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
