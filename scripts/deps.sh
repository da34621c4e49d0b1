#!/usr/bin/env bash
# Installs the Debian packages the build, the tests and `make run` need — only those missing.
set -euo pipefail
pkgs=(
  gcc make pkg-config clang libclang-rt-14-dev clang-format cppcheck
  libfcgi-dev libcurl4-openssl-dev libjansson-dev libssl-dev libsodium-dev
  libcmocka-dev libsqlite3-dev libpq-dev libmicrohttpd-dev
  nginx postgresql curl openssl sqlite3 wrk docker-compose procps jq util-linux
)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "deps: installing ${missing[*]}" >&2
if [ "$(id -u)" -ne 0 ]; then sudo=sudo; else sudo=; fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
# Debian starts services on install; none of ours should run outside the tests.
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
