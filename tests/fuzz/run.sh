#!/usr/bin/env bash
# Builds and runs the libFuzzer targets: every tests/fuzz/fuzz_NAME.c with its seed corpus
# tests/fuzz/corpus/NAME/ (and, when present, the dictionary tests/fuzz/NAME.dict).
#
#   tests/fuzz/run.sh regress          every corpus file executed once (make test); fails on a crash
#   tests/fuzz/run.sh fuzz [SECONDS]   each target fuzzed for SECONDS (default 60) (make fuzz);
#                                      new inputs go to build/fuzz/corpus/NAME/, crashes to
#                                      build/fuzz/crashes/NAME/
#
# FUZZ_TARGETS="cloudevent jwt" limits the run to those targets; FUZZ_CC picks the compiler
# (default clang). A target links itself with every src/*.c except src/retrainctl.c and
# src/cmd_*.c (the programs' mains). The src/ objects are compiled once into build/fuzz/obj and
# shared by all targets; an object or a binary is rebuilt only when a source is newer.
set -u
cd "$(dirname "$0")/../.." || exit 2

cc=${FUZZ_CC:-clang}
cflags=(-std=c17 -g -O1 -D_GNU_SOURCE -Isrc "-fsanitize=fuzzer,address,undefined"
        -fno-sanitize-recover=all)
libs=(-lcurl -ljansson -lsodium -lsqlite3 -lpq -lssl -lcrypto -lpthread -lm)
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

mkdir -p "$out/obj" "$out/logs"

lib_sources() {
  for f in src/*.c; do
    case "$f" in src/retrainctl.c | src/cmd_*.c) continue ;; esac
    echo "$f"
  done
}

# True when FILE is missing or any later argument is newer than it.
stale() {
  local file=$1
  shift
  [ -e "$file" ] || return 0
  for s in "$@"; do
    [ "$s" -nt "$file" ] && return 0
  done
  return 1
}

# Compiles the shared src/ objects, in parallel; any header change recompiles them all.
build_objects() {
  local headers=(src/*.h) pids=() failed=0
  objects=()
  for src in $(lib_sources); do
    local obj
    obj="$out/obj/$(basename "${src%.c}").o"
    objects+=("$obj")
    if stale "$obj" "$src" "${headers[@]}"; then
      rm -f "$obj"
      "$cc" "${cflags[@]}" -c "$src" -o "$obj.tmp" >"$obj.log" 2>&1 && mv "$obj.tmp" "$obj" &
      pids+=($!)
      if [ ${#pids[@]} -ge "$jobs" ]; then
        wait "${pids[0]}" || failed=1
        pids=("${pids[@]:1}")
      fi
    fi
  done
  for p in "${pids[@]}"; do wait "$p" || failed=1; done
  if [ "$failed" -ne 0 ]; then
    for obj in "${objects[@]}"; do
      [ -e "$obj" ] || { echo "fuzz: compiling for $obj failed:" >&2; cat "$obj.log" >&2; }
    done
    return 1
  fi
}

build_target() {
  local name=$1 bin="$out/fuzz_$1" src="tests/fuzz/fuzz_$1.c"
  if stale "$bin" "$src" "${objects[@]}" src/*.h; then
    if ! "$cc" "${cflags[@]}" -o "$bin" "$src" "${objects[@]}" "${libs[@]}" \
      >"$out/logs/$name.build.log" 2>&1; then
      rm -f "$bin"
      echo "fuzz: building $name failed:" >&2
      tail -n 30 "$out/logs/$name.build.log" >&2
      return 1
    fi
  fi
}


label=fuzz
[ "$mode" = regress ] && label=fuzz-regress

objects=()
if ! build_objects; then
  echo "$label: 0 passed, ${#targets[@]} failed"
  exit 1
fi

passed=0 failed=0
for name in "${targets[@]}"; do
  if ! build_target "$name"; then
    echo "$label: $name FAILED (build)"
    failed=$((failed + 1))
    continue
  fi
  bin="$out/fuzz_$name"
  seeds="tests/fuzz/corpus/$name"
  log="$out/logs/$name.$mode.log"
  if [ ! -d "$seeds" ]; then # no seeds yet: libFuzzer then starts from the empty input
    seeds="$out/empty/$name"
    mkdir -p "$seeds"
  fi
  if [ "$mode" = regress ]; then
    n=$(find "$seeds" -type f | wc -l)
    # -runs=0: read and execute every corpus file once, then stop without mutating.
    mkdir -p "$out/crashes/$name"
    if "$bin" -runs=0 -timeout=25 -rss_limit_mb=2048 -artifact_prefix="$out/crashes/$name/" \
      "$seeds" >"$log" 2>&1; then
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
    # The first corpus directory receives the new inputs; the seed corpus is only read.
    "$bin" -max_total_time="$seconds" -timeout=25 -rss_limit_mb=2048 -print_final_stats=1 \
      -artifact_prefix="$crashes/" "${dict[@]}" "$scratch" "$seeds" >"$log" 2>&1
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
