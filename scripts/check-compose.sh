#!/usr/bin/env bash
# Checks docker-compose.yml and fcgi/Dockerfile without a Docker engine:
#   - `docker-compose config -q` for the default services and each profile (emulator with its
#     env file, postgres with a PostgreSQL ledger URL, both at once);
#   - every Debian package the Dockerfile installs exists in this machine's Debian release
#     (the image is bookworm; so is the build host);
#   - every COPY source of the Dockerfile exists and is not excluded by .dockerignore's
#     top-level entries;
#   - the repo's nginx template renders with the nginx service's environment.
# Prints one line per check; exits 1 when any fails.
set -u
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here" || exit 2
failed=0
ok() { echo "  ok   $*"; }
bad() { echo "  FAIL $*"; failed=$((failed + 1)); }
command -v docker-compose >/dev/null || { echo "check-compose: docker-compose is not installed" >&2; exit 2; }

compose_ok() { # NAME ARGS...: docker-compose ARGS config -q
  local name=$1 out
  shift
  if out=$(env -u RETRAIN_LEDGER docker-compose -f docker-compose.yml "$@" config -q 2>&1); then
    ok "docker-compose config: $name"
  else
    bad "docker-compose config: $name: $out"
  fi
}
compose_ok "default services"
compose_ok "profile emulator" --env-file deploy/emulator.env --profile emulator
RETRAIN_LEDGER=postgres://retrain:retrain-local@postgres:5432/ledger \
  compose_ok "profile postgres" --profile postgres
compose_ok "profiles emulator and postgres" --env-file deploy/emulator.env --profile emulator --profile postgres

# Packages: the names after `apt-get install ... --no-install-recommends` in the Dockerfile.
pkgs=$(sed -e ':a' -e '/\\$/N; s/\\\n//; ta' fcgi/Dockerfile | grep -o 'apt-get install[^&]*' |
  sed -e 's/apt-get install//' -e 's/-y//' -e 's/--no-install-recommends//' | tr -s ' ' '\n' | grep -v '^$' | sort -u)
missing=()
for p in $pkgs; do apt-cache show "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ -n "$pkgs" ] && [ ${#missing[@]} -eq 0 ]; then
  ok "Dockerfile: $(echo "$pkgs" | wc -l) Debian packages exist ($(. /etc/os-release; echo "$VERSION_CODENAME"))"
else
  bad "Dockerfile: unknown Debian packages: ${missing[*]:-none found}"
fi

# COPY sources (not --from=): present, and not ignored by a top-level .dockerignore entry.
copy_bad=()
while read -r src; do
  [ -e "$src" ] || copy_bad+=("$src (missing)")
  top=${src%%/*}
  grep -qx "$top" .dockerignore 2>/dev/null && [ "$src" != . ] && copy_bad+=("$src (in .dockerignore)")
done < <(grep -E '^COPY ' fcgi/Dockerfile | grep -v -- '--from=' | awk '{for (i = 2; i < NF; i++) print $i}')
if [ ${#copy_bad[@]} -eq 0 ]; then ok "Dockerfile: COPY sources are in the build context"; else bad "Dockerfile: ${copy_bad[*]}"; fi

# The nginx service's command renders the repo's template: do the same with its environment.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
if RUN_DIR="$tmp" LISTEN_ADDR=0.0.0.0 HTTPS_PORT=8443 FCGI_ADDR=pool:9000 \
  TLS_CERT=/etc/retrain/tls/cert.pem TLS_KEY=/etc/retrain/tls/key.pem ACCESS_LOG=/dev/stdout \
  ERROR_LOG=/dev/stderr NGINX_USER=nginx WORKER_PROCESSES=auto REQUEST_TIMEOUT=30 \
  scripts/render-nginx.sh && grep -q 'server pool:9000;' "$tmp/nginx.conf" &&
  grep -q 'listen 0.0.0.0:8443 ssl' "$tmp/nginx.conf"; then
  ok "nginx template renders for compose (FastCGI to pool:9000, TLS on 0.0.0.0:8443)"
else
  bad "nginx template does not render with the compose environment"
fi

echo "check-compose: $failed failed"
[ "$failed" -eq 0 ]
