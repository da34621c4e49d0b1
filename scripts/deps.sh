#!/usr/bin/env bash
# Installs the Debian packages the project needs — only those missing, quietly when none is.
#
#   scripts/deps.sh [GROUP...]          install the base group and the groups named
#   scripts/deps.sh --list [GROUP...]   print those packages, one a line (apt is not asked)
#
# base: building, `make test`, `make run`, `make fuzz`, `make chaos`. bench: what only
# `make bench` adds. scripts/check-deps.sh (part of `make test`) reads these lists and fails
# when a script runs a program that none of them provides.
set -euo pipefail
base=(
  # the build
  gcc make binutils pkg-config clang libclang-rt-14-dev clang-format cppcheck shellcheck
  libfcgi-dev libcurl4-openssl-dev libjansson-dev libssl-dev libsodium-dev
  libcmocka-dev libsqlite3-dev libpq-dev libmicrohttpd-dev
  # what the tests, `make run` and the chaos run start or call
  nginx postgresql curl openssl sqlite3 jq procps util-linux mawk
  # test_compose: docker-compose config, the image's HEALTHCHECK probe (cgi-fcgi), its YAML
  docker-compose libfcgi-bin python3-minimal python3-yaml
  # promtool (check metrics, test rules) and the /ui/ page's headless-browser test
  prometheus chromium
  # scripts/deps.sh itself
  apt
)
bench=(wrk nodejs npm linux-perf)

list=0
if [ "${1:-}" = --list ]; then
  list=1
  shift
fi
pkgs=("${base[@]}")
for g in "$@"; do
  case $g in
  base) ;;
  bench) pkgs+=("${bench[@]}") ;;
  *) echo "deps: unknown group '$g' (groups: base, bench)" >&2; exit 2 ;;
  esac
done
if [ "$list" -eq 1 ]; then
  printf '%s\n' "${pkgs[@]}"
  exit 0
fi

# Installed, or provided by an installed package (a nodejs that bundles npm, say).
declare -A have
while read -r status name provides; do
  [ "$status" = ii ] || continue
  have[${name%%:*}]=1
  for p in ${provides//,/ }; do [[ $p == [a-z0-9]* ]] && have[$p]=1; done
done < <(dpkg-query -W -f='${db:Status-Abbrev} ${Package} ${Provides}\n' 2>/dev/null)
missing=()
for p in "${pkgs[@]}"; do
  [ -n "${have[$p]:-}" ] || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "deps: installing ${missing[*]}" >&2
if [ "$(id -u)" -ne 0 ]; then sudo=sudo; else sudo=; fi
export DEBIAN_FRONTEND=noninteractive
log=$(mktemp)
trap 'rm -f "$log"' EXIT
# Debian starts services on install; none of ours should run outside the tests.
if ! { $sudo apt-get update -qq && $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"; } >"$log" 2>&1; then
  cat "$log" >&2
  echo "deps: installing ${missing[*]} failed" >&2
  exit 1
fi
