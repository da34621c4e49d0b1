#!/usr/bin/env bash
# Runs the libFuzzer targets: every tests/fuzz/fuzz_NAME.c, built by make as build/fuzz/fuzz_NAME
# (the Makefile's fuzz-bins), with its seeds: the case files' (make fuzz-seeds writes them into
# build/fuzz/seeds/NAME/ from tests/data/) and the hand-written ones no case holds
# (tests/fuzz/corpus/NAME/), and, when present, the dictionary tests/fuzz/NAME.dict.
#
#   tests/fuzz/run.sh regress          every seed executed once (make test); fails on a crash
#   tests/fuzz/run.sh fuzz [SECONDS]   each target fuzzed for SECONDS (default 60) (make fuzz);
#                                      new inputs go to build/fuzz/corpus/NAME/, crashes to
#                                      build/fuzz/crashes/NAME/
#
# FUZZ_TARGETS="cloudevent jwt" limits the run to those targets; FUZZ_CC picks the compiler
# (default clang, passed to make).
set -u
cd "$(dirname "$0")/../.." || exit 2

out=build/fuzz
jobs=$(nproc 2>/dev/null || echo 2)

usage() {
  echo "usage: tests/fuzz/run.sh regress | fuzz [SECONDS]" >&2
  exit 2
}

mode=${1:-}
case "$mode" in
  regress) ;;
  fuzz)
    seconds=${2:-60}
    if ! [[ "$seconds" =~ ^[0-9]+$ ]] || [ "$seconds" -eq 0 ]; then usage; fi
    ;;
  *) usage ;;
esac

# The targets to run: all of them, or those named in FUZZ_TARGETS.
targets=()
if [ -n "${FUZZ_TARGETS:-}" ]; then
  for name in $FUZZ_TARGETS; do
    if [ ! -f "tests/fuzz/fuzz_$name.c" ]; then
      echo "fuzz: no target tests/fuzz/fuzz_$name.c" >&2
      exit 2
    fi
    targets+=("$name")
  done
else
  for f in tests/fuzz/fuzz_*.c; do
    [ -f "$f" ] || continue
    name=${f#tests/fuzz/fuzz_}
    targets+=("${name%.c}")
  done
fi
if [ ${#targets[@]} -eq 0 ]; then
  echo "fuzz: no targets in tests/fuzz/" >&2
  exit 1
fi

label=fuzz
[ "$mode" = regress ] && label=fuzz-regress

bins=()
for name in "${targets[@]}"; do bins+=("$out/fuzz_$name"); done
mkdir -p "$out/logs"
if ! make -s -j"$jobs" ${FUZZ_CC:+FUZZ_CC="$FUZZ_CC"} "${bins[@]}" fuzz-seeds >"$out/logs/build.log" 2>&1; then
  echo "fuzz: building the targets or the seeds failed:" >&2
  tail -n 30 "$out/logs/build.log" >&2
  echo "$label: 0 passed, ${#targets[@]} failed"
  exit 1
fi

passed=0 failed=0
for name in "${targets[@]}"; do
  bin="$out/fuzz_$name"
  seeds=()
  for d in "tests/fuzz/corpus/$name" "$out/seeds/$name"; do
    [ -d "$d" ] && seeds+=("$d")
  done
  if [ ${#seeds[@]} -eq 0 ]; then # no seeds yet: libFuzzer then starts from the empty input
    mkdir -p "$out/empty/$name"
    seeds=("$out/empty/$name")
  fi
  log="$out/logs/$name.$mode.log"
  if [ "$mode" = regress ]; then
    n=$(find "${seeds[@]}" -type f | wc -l)
    # -runs=0: read and execute every corpus file once, then stop without mutating.
    mkdir -p "$out/crashes/$name"
    if "$bin" -runs=0 -timeout=25 -rss_limit_mb=2048 -artifact_prefix="$out/crashes/$name/" \
      "${seeds[@]}" >"$log" 2>&1; then
      echo "fuzz-regress: $name ok ($n inputs)"
      passed=$((passed + 1))
    else
      echo "fuzz-regress: $name FAILED ($n inputs; log $log)"
      grep -E 'ERROR|SUMMARY' "$log" | head -n 5 | sed 's/^/  /'
      sed -n 's/.*Test unit written to \([^ ]*\).*/  crash input: \1/p' "$log"
      failed=$((failed + 1))
    fi
  else
    scratch="$out/corpus/$name" crashes="$out/crashes/$name" dict=()
    [ -f "tests/fuzz/$name.dict" ] && dict=("-dict=tests/fuzz/$name.dict")
    mkdir -p "$scratch" "$crashes"
    # The first corpus directory receives the new inputs; the seed corpora are only read.
    "$bin" -max_total_time="$seconds" -timeout=25 -rss_limit_mb=2048 -print_final_stats=1 \
      -artifact_prefix="$crashes/" "${dict[@]}" "$scratch" "${seeds[@]}" >"$log" 2>&1
    rc=$?
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    artifacts=$(sed -n 's/.*Test unit written to \([^ ]*\).*/\1/p' "$log")
    if [ "$rc" -eq 0 ] && [ -z "$artifacts" ]; then
      echo "fuzz: $name ok, ${execs:-?} executions in ${seconds}s, scratch corpus $(find "$scratch" -type f | wc -l) files"
      passed=$((passed + 1))
    else
      echo "fuzz: $name CRASHED after ${execs:-?} executions (exit $rc; log $log)"
      grep -E 'ERROR|SUMMARY' "$log" | head -n 5 | sed 's/^/  /'
      for a in $artifacts; do echo "  crash input: $a"; done
      failed=$((failed + 1))
    fi
  fi
done

echo "$label: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
