#!/usr/bin/env bash
# Checks, without running anything or asking apt, that every program the project's scripts run
# comes from a Debian package that scripts/deps.sh installs, or from Debian's essential set
# (which every Debian system has). A program missing from deps.sh's list works on a machine
# where someone once installed it by hand, and fails on a fresh one.
#
#   scripts/check-deps.sh [--root DIR]
#
# Read (scripts/cmdwords.awk finds the programs): every shell script under tests/, scripts/,
# bench/ and .ci/, the Makefile's recipes, the HEALTHCHECK of fcgi/Dockerfile (test_compose.sh
# runs it on this host), and the C files under tests/ and bench/ (system(), popen(), execlp()).
# Each program is looked for in /usr/sbin:/usr/bin:/sbin:/bin (what a package installs; a
# copy in /usr/local or a home directory does not count), its symlinks followed (alternatives
# too), and each file mapped to its package with dpkg. A program is accepted when one of those
# packages is in `scripts/deps.sh --list` or is Essential; a script under bench/ may also use
# `scripts/deps.sh --list bench`. On a machine without the bench group installed, programs
# only bench/ runs and that are not installed are reported as not checked, not as errors.
#
# Prints one line per problem, naming the program and the FILE:LINE that runs it, and exits 1;
# otherwise one summary line, exit 0.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
here=$root
if [ "${1:-}" = --root ]; then
  root=$(cd "${2:?--root needs a directory}" && pwd)
fi
export LC_ALL=C

# ---- what the scripts run ------------------------------------------------------------------
files=()
while IFS= read -r -d '' f; do
  case $f in
  *.sh | */.ci/run) files+=("$f") ;;
  *.c | *.h) [[ $f == */src/* || $f == */fcgi/* ]] || files+=("$f") ;;
  *) head -c 64 "$f" 2>/dev/null | grep -qE '^#!.*\b(ba|da)?sh\b' && files+=("$f") ;;
  esac
done < <(find "$root/tests" "$root/scripts" "$root/bench" "$root/.ci" -type f \
  -not -path '*/corpus/*' -not -path '*/node_modules/*' -print0 2>/dev/null)
[ -f "$root/Makefile" ] && files+=("$root/Makefile")
[ -f "$root/fcgi/Dockerfile" ] && files+=("$root/fcgi/Dockerfile")
[ ${#files[@]} -gt 0 ] || { echo "check-deps: nothing to read under $root" >&2; exit 2; }

uses=$(awk -v builtins="$(compgen -b | tr '\n' ' ')" -f "$here/scripts/cmdwords.awk" "${files[@]}" |
  sed "s|^$root/||" | sort -u)

# ---- the packages that may provide them ----------------------------------------------------
deps=$root/scripts/deps.sh
[ -x "$deps" ] || deps=$here/scripts/deps.sh
declare -A listed bench_only essential installed
for p in $("$deps" --list); do listed[$p]=1; done
for p in $("$deps" --list bench); do [ -n "${listed[$p]:-}" ] || bench_only[$p]=1; done
while read -r status p ess; do
  p=${p%%:*}
  [ "$status" = ii ] || continue
  installed[$p]=1
  [ "$ess" = yes ] && essential[$p]=1
done < <(dpkg-query -W -f='${db:Status-Abbrev} ${Package} ${Essential}\n' 2>/dev/null)
bench_missing=()
for p in "${!bench_only[@]}"; do [ -n "${installed[$p]:-}" ] || bench_missing+=("$p"); done

find_program() { # NAME: its path in a package's directories, or nothing
  local d
  case $1 in
  /*) [ -x "$1" ] && echo "$1"; return ;;
  esac
  for d in /usr/sbin /usr/bin /sbin /bin; do
    [ -x "$d/$1" ] && [ ! -d "$d/$1" ] && { echo "$d/$1"; return; }
  done
  return 0
}

# add_name FILE: FILE, and the same file under its /usr-merged name (dpkg knows /bin/bash,
# PATH finds /usr/bin/bash), onto NAMES.
add_name() {
  NAMES+=("$1")
  case $1 in
  /usr/bin/* | /usr/sbin/* | /usr/lib/* | /usr/lib64/*) NAMES+=("${1#/usr}") ;;
  /bin/* | /sbin/* | /lib/* | /lib64/*) NAMES+=("/usr$1") ;;
  esac
}
# leads_to PROG: sets NAMES to every file name under which dpkg may know what runs: each step
# of its symlink chain and where it ends, and for an alternative (awk, cc) each of its choices,
# any of which may be the one a machine has.
leads_to() {
  local f=${progpath[$1]} next i a
  NAMES=()
  for ((i = 0; i < 16; i++)); do
    add_name "$f"
    [ -L "$f" ] || break
    next=$(readlink "$f")
    [[ $next == /* ]] || next=${f%/*}/$next
    f=$next
  done
  add_name "$(readlink -f "${progpath[$1]}")"
  if [ -e "/etc/alternatives/${1##*/}" ]; then
    while read -r a; do add_name "$a"; done < <(update-alternatives --list "${1##*/}" 2>/dev/null)
  fi
}

declare -A owner    # file -> packages (space separated)
declare -A progpath # program -> where it was found
declare -A names    # program -> the file names it leads to (newline separated)
mapfile -t progs < <(printf '%s\n' "$uses" | cut -f3 | sort -u)
for prog in "${progs[@]}"; do
  [ -n "$prog" ] || continue
  progpath[$prog]=$(find_program "$prog")
  [ -n "${progpath[$prog]}" ] || continue
  leads_to "$prog"
  names[$prog]=$(printf '%s\n' "${NAMES[@]}")
done
while IFS= read -r line; do
  [[ $line == diversion* ]] && continue
  pk=${line%%: /*}
  file=/${line#*: /}
  pk=${pk//,/ }
  for q in $pk; do owner[$file]="${owner[$file]:-} ${q%%:*}"; done
done < <(printf '%s\n' "${names[@]}" | sort -u | grep . | xargs -r -d '\n' dpkg-query -S 2>/dev/null || true)

# PKGS: the packages owning any file PROG leads to (space separated, each once).
packages_of() {
  local a q
  declare -A seen=()
  PKGS=""
  while read -r a; do
    for q in ${owner[$a]:-}; do
      [ -n "${seen[$q]:-}" ] || PKGS="$PKGS${PKGS:+ }$q"
      seen[$q]=1
    done
  done <<<"${names[$1]:-}"
}

# Where each program runs: under bench/ the bench group may provide it, elsewhere only the
# base list may. FILE:LINE lines.
declare -A in_base in_bench seenfile
while IFS=$'\t' read -r file line prog; do
  seenfile[$file]=1
  if [[ $file == bench/* ]]; then in_bench[$prog]+="$file:$line"$'\n'; else in_base[$prog]+="$file:$line"$'\n'; fi
done <<<"$uses"

# report PROG WHERE MESSAGE: one line, at the first place that runs it, counting the others.
report() {
  local where=() more=""
  mapfile -t where <<<"${2%$'\n'}"
  if [ ${#where[@]} -gt 1 ]; then
    more=" (and $((${#where[@]} - 1)) more: ${where[*]:1:3}"
    [ ${#where[@]} -gt 4 ] && more="$more ..."
    more="$more)"
  fi
  echo "check-deps: ${where[0]} runs $1$3$more"
  problems=$((problems + 1))
}

problems=0
unchecked=()
for prog in "${progs[@]}"; do
  [ -n "$prog" ] || continue
  base_at=${in_base[$prog]:-} bench_at=${in_bench[$prog]:-}
  if [ -z "${progpath[$prog]}" ]; then
    if [ -z "$base_at" ] && [ ${#bench_missing[@]} -gt 0 ]; then
      unchecked+=("$prog")
      continue
    fi
    report "$prog" "${base_at:-$bench_at}" ", which is not installed from any Debian package here; add the package that provides it to scripts/deps.sh"
    continue
  fi
  packages_of "$prog"
  pkgs=$PKGS
  ok_base="" ok_bench=""
  for p in $pkgs; do
    if [ -n "${listed[$p]:-}" ] || [ -n "${essential[$p]:-}" ]; then ok_base=$p ok_bench=$p; fi
    [ -n "${bench_only[$p]:-}" ] && ok_bench=$p
  done
  if [ -z "$pkgs" ]; then
    report "$prog" "$base_at$bench_at" " (${progpath[$prog]}), which no Debian package provides; install it from a package listed in scripts/deps.sh"
    continue
  fi
  first_pkg=${pkgs%% *}
  pkgs=${pkgs// /, }
  if [ -n "$base_at" ] && [ -z "$ok_base" ]; then
    hint="add $first_pkg to scripts/deps.sh's base list"
    [ -n "$ok_bench" ] && hint="$hint (it is in the bench group, which make test does not install)"
    report "$prog" "$base_at" " (${progpath[$prog]}, package $pkgs), which no package in 'scripts/deps.sh --list' provides and is not essential; $hint"
  elif [ -n "$bench_at" ] && [ -z "$ok_bench" ]; then
    report "$prog" "$bench_at" " (${progpath[$prog]}, package $pkgs), which no package in 'scripts/deps.sh --list bench' provides and is not essential; add $first_pkg to scripts/deps.sh"
  fi
done

if [ "$problems" -gt 0 ]; then
  echo "check-deps: $problems programs not provided by scripts/deps.sh"
  exit 1
fi
note=""
[ ${#unchecked[@]} -gt 0 ] &&
  note="; not checked (the bench group is not installed: scripts/deps.sh bench): ${unchecked[*]}"
echo "check-deps: ${#progs[@]} programs run by ${#seenfile[@]} files, each from a package scripts/deps.sh installs or an essential one$note"
