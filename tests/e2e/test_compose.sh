#!/usr/bin/env bash
# docker-compose.yml and fcgi/Dockerfile, checked without a Docker engine: scripts/check-compose.sh
# (docker-compose config for every profile, Debian package names, COPY sources, the nginx
# template), then what the resolved configuration says: which services each profile starts,
# that nginx speaks FastCGI to pool:9000, the pool's listener, ledger and health check, the
# emulator profile pointing the pool at 127.0.0.1:8090 in a shared network namespace, and the
# postgres profile's ledger URL.
. "$(dirname "$0")/lib.sh"
e2e_init
cd "$E2E_ROOT" || exit 2

out=$(scripts/check-compose.sh 2>&1)
rc=$?
printf '%s\n' "$out" | sed 's/^/    /'
expect "scripts/check-compose.sh passes" "$rc" 0

# The resolved configuration as JSON (docker-compose prints YAML; PyYAML comes with it).
# Only what a check sets reaches the substitution.
unset RETRAIN_LEDGER RETRAIN_AUDIENCE RETRAIN_SERVICE_ACCOUNTS RETRAIN_FUNCTION RETRAIN_WORKERS \
  RETRAIN_JWKS_URL RETRAIN_VERTEX_ENDPOINT GOOGLE_CLOUD_PROJECT GCE_METADATA_HOST \
  GOOGLE_APPLICATION_CREDENTIALS RETRAIN_TLS_DIR RETRAIN_CONFIG_FILE RETRAIN_HTTPS_PUBLISH
resolved() { # ARGS...: docker-compose ARGS config | json
  docker-compose -f docker-compose.yml "$@" config 2>/dev/null |
    python3 -c 'import json, sys, yaml; print(json.dumps(yaml.safe_load(sys.stdin)))'
}
base=$(resolved)
expect "services without a profile" \
  "$(json_get '.services | to_entries | map(select(.value.profiles == null) | .key) | sort | join(",")' "$base")" nginx,pool
expect "the emulator profile" \
  "$(json_get '.services | to_entries | map(select((.value.profiles // []) | index("emulator")) | .key) | sort | join(",")' "$base")" \
  emulator,seed,sender
expect "the postgres profile" \
  "$(json_get '.services | to_entries | map(select((.value.profiles // []) | index("postgres")) | .key) | join(",")' "$base")" postgres
expect "nginx is the official image" "$(json_get .services.nginx.image "$base")" nginx:1.25
expect "nginx sends FastCGI to pool:9000" "$(json_get .services.nginx.environment.FCGI_ADDR "$base")" pool:9000
expect_match "nginx renders the repo's template" "$(json_get '.services.nginx.command | join(" ")' "$base")" \
  'render-nginx.sh && exec nginx -c /tmp/nginx/nginx.conf'
expect_match "nginx mounts the certificate" "$(json_get '.services.nginx.volumes | join(" ")' "$base")" \
  '/var/tls:/etc/retrain/tls:ro'
expect "nginx waits for a healthy pool" "$(json_get .services.nginx.depends_on.pool.condition "$base")" service_healthy
expect "the pool is built by fcgi/Dockerfile" "$(json_get .services.pool.build.dockerfile "$base")" fcgi/Dockerfile
expect "the pool listens on 0.0.0.0:9000" "$(json_get .services.pool.environment.RETRAIN_LISTEN "$base")" 0.0.0.0:9000
expect_match "the SQLite ledger is on the named volume" \
  "$(json_get '.services.pool.volumes | join(" ")' "$base")" '(^| )ledger:/var/lib/retrain(:rw)?( |$)'
expect "by default the ledger is SQLite in that volume" "$(json_get .services.pool.environment.RETRAIN_LEDGER "$base")" \
  sqlite:///var/lib/retrain/ledger.db
expect "the pool publishes no port of its own" "$(json_get '.services.pool.ports // [] | length' "$base")" 0
expect "only nginx publishes 8443" "$(json_get '.services.nginx.ports[0].target' "$base")" 8443

emu=$(resolved --env-file deploy/emulator.env --profile emulator)
expect "emulator profile: the pool's JWKS is the emulator's" \
  "$(json_get .services.pool.environment.RETRAIN_JWKS_URL "$emu")" http://127.0.0.1:8090/oauth2/v3/certs
expect "emulator profile: tokens from the emulator's metadata server" \
  "$(json_get .services.pool.environment.GCE_METADATA_HOST "$emu")" 127.0.0.1:8090
expect "emulator profile: the emulator shares the pool's network namespace" \
  "$(json_get .services.emulator.network_mode "$emu")" service:pool
expect_match "emulator profile: the sender connects to nginx, verifying 127.0.0.1" \
  "$(json_get '.services.sender.command | join(" ")' "$emu")" \
  '^send --inbox /inbox --target https://127.0.0.1:8443/ --connect-to 127.0.0.1:8443:nginx:8443 '

pg=$(RETRAIN_LEDGER=postgres://retrain:retrain-local@postgres:5432/ledger resolved --profile postgres)
expect "postgres profile: the pool's ledger" "$(json_get .services.pool.environment.RETRAIN_LEDGER "$pg")" \
  postgres://retrain:retrain-local@postgres:5432/ledger
expect "postgres profile: postgres:15 with a ledger database" \
  "$(json_get '.services.postgres.image + " " + .services.postgres.environment.POSTGRES_DB' "$pg")" "postgres:15 ledger"

# The validator can fail: a service with an unknown key is refused.
sed 's/^  pool:$/  pool:\n    no_such_key: 1/' docker-compose.yml >"$E2E_DIR/broken.yml"
docker-compose -f "$E2E_DIR/broken.yml" config -q >/dev/null 2>&1
expect "docker-compose config refuses a broken file" "$?" 1

# The image's health check is a real FastCGI request: run the same probe against a real pool.
probe=$(sed -e ':a' -e '/\\$/N; s/\\\n//; ta' fcgi/Dockerfile | grep -o 'CMD env -i.*' | sed 's/^CMD //')
port=$(e2e_free_port)
printf '{"auth":{"audiences":["https://x/"],"service_accounts":["a@b.c"]},"ledger":{"url":"sqlite://%s/l.db"},"workers":1,"function":"echo"}\n' \
  "$E2E_DIR" >"$E2E_DIR/pool.json"
e2e_spawn "$E2E_DIR/pool.log" "$BUILD/retrain-fcgi" --config "$E2E_DIR/pool.json" --listen "127.0.0.1:$port"
probe_at() { bash -c "${probe//127.0.0.1:9000/127.0.0.1:$port}" 2>/dev/null; }
if e2e_wait_for 10 probe_at; then pass "the HEALTHCHECK probe passes against a live pool"; else fail "HEALTHCHECK probe: $probe"; fi
e2e_stop_group "$LAST_PID"
if probe_at; then fail "the HEALTHCHECK probe passes with no pool"; else pass "the HEALTHCHECK probe fails with no pool"; fi

e2e_finish
