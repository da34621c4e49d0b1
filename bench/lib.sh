# Pieces of bench/run.sh: the backends (trivial responder, pools, Node baseline), one nginx in
# front of all of them, token minting, a bounded wrk run whose figures land in a JSON file, the
# serving processes' CPU time and memory, and the table.
# Sourced after tests/e2e/lib.sh, whose process-group spawning and cleanup trap it reuses:
# everything started here is in e2e_pgids and is stopped on any exit.

# shellcheck shell=bash disable=SC2034 # the variables set here are read by run.sh
BENCH_DIR=$E2E_ROOT/bench

bench_note() { printf '%s\n' "$*" >&2; }

# Starts build/fcgi-trivial on $E2E_DIR/trivial.sock with N workers; sets TRIVIAL_PID.
bench_start_trivial() {
  TRIVIAL_SOCK=$E2E_DIR/trivial.sock
  e2e_spawn "$E2E_DIR/trivial.log" "$BUILD/fcgi-trivial" "$TRIVIAL_SOCK" "$1"
  TRIVIAL_PID=$LAST_PID
  e2e_wait_for 10 test -S "$TRIVIAL_SOCK" || { bench_note "fcgi-trivial did not start"; return 1; }
}

# Installs the Node baseline's packages (bench/node/package-lock.json) from the npm registry
# into $E2E_DIR/node. Sets NODE_DIR, or NODE_SKIP to the reason it cannot run.
bench_node_install() {
  NODE_DIR='' NODE_SKIP=''
  if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    NODE_SKIP="node or npm is not installed"
    return 1
  fi
  local dir=$E2E_DIR/node
  mkdir -p "$dir"
  cp "$BENCH_DIR"/node/{package.json,package-lock.json,index.js,serve.js} "$dir/"
  if ! (cd "$dir" && timeout 300 npm ci --no-audit --no-fund --loglevel=error) >"$E2E_DIR/npm.log" 2>&1; then
    NODE_SKIP="npm ci failed: $(grep -m1 -iE 'err|fail' "$E2E_DIR/npm.log" | cut -c1-150)"
    return 1
  fi
  NODE_DIR=$dir
}

# Starts N Functions Framework processes (one per core), each on its own free loopback port;
# sets NODE_PIDS and NODE_PORTS. Needs EMU, AUD and SA.
bench_start_node() {
  local n=$1 i port attempt
  NODE_PIDS=() NODE_PORTS=()
  for ((i = 0; i < n; i++)); do
    # A port taken between choosing and binding (other tests run too) is retried on another.
    for attempt in 1 2 3 4 5; do
      port=$(e2e_free_port)
      : >"$E2E_DIR/node-$i.log"
      e2e_spawn "$E2E_DIR/node-$i.log" env NODE_ENV=production BENCH_JWKS_URL="$EMU/oauth2/v3/certs" \
        BENCH_AUDIENCE="$AUD" BENCH_SERVICE_ACCOUNT="$SA" node "$NODE_DIR/serve.js" "$port"
      # Listening before the next port is chosen, so no two pick the same one.
      if e2e_wait_for 20 grep -q "serving dedup" "$E2E_DIR/node-$i.log"; then
        NODE_PIDS+=("$LAST_PID")
        NODE_PORTS+=("$port")
        continue 2
      fi
      e2e_stop_group "$LAST_PID"
    done
    bench_note "node baseline did not start: $(tail -n 3 "$E2E_DIR/node-$i.log")"
    return 1
  done
}

# Inserts the contents of FILE before the one line of CONF matching REGEX (fails otherwise).
bench_insert_before() {
  local conf=$1 regex=$2 file=$3
  [ "$(grep -cE "$regex" "$conf")" -eq 1 ] || { bench_note "nginx template: no single /$regex/"; return 1; }
  awk -v re="$regex" -v f="$file" '$0 ~ re { while ((getline l < f) > 0) print l } { print }' \
    "$conf" >"$conf.new" && mv "$conf.new" "$conf"
}

# Starts a retrain-fcgi pool named NAME on $E2E_DIR/NAME.sock with the config JSON given (as
# tests/e2e/lib.sh's e2e_start_pool does for its one pool); sets POOL_PIDS[NAME].
declare -A POOL_PIDS
bench_start_pool() {
  local name=$1 json=$2 group=()
  printf '%s\n' "$json" >"$E2E_DIR/$name.json"
  [ "$(id -u)" -eq 0 ] && group=(--socket-group www-data)
  e2e_spawn "$E2E_DIR/pool-$name.log" "$BUILD/retrain-fcgi" --config "$E2E_DIR/$name.json" \
    --listen "unix:$E2E_DIR/$name.sock" "${group[@]}"
  POOL_PIDS[$name]=$LAST_PID
  e2e_wait_for 10 test -S "$E2E_DIR/$name.sock" ||
    { bench_note "pool $name did not start: $(tail -n 3 "$E2E_DIR/pool-$name.log")"; return 1; }
}

# Renders nginx's template exactly as `make run` and the e2e tests do, its location / passing
# to the pool on $E2E_DIR/MAIN.sock, then adds to the same server one exact location per other
# backend, each with its own upstream: /trivial and /POOL (FastCGI: the same fastcgi.conf with
# another upstream, the URI rewritten to / since the pool routes on it) and /node (an HTTP/1.1
# proxy with kept-alive upstream connections, when NODE_PORTS is set). Starts it; sets BASE.
# bench_start_nginx MAIN [POOL...]
bench_start_nginx() {
  local main=$1 port dir=$E2E_DIR/nginx name addr attempt
  shift
  for attempt in 1 2 3 4 5; do
    port=$(e2e_free_port)
    rm -f "$dir/nginx.pid"
    bench_render_nginx "$main" "$port" "$@" || return 1
    e2e_spawn "$E2E_DIR/nginx.log" nginx -c "$dir/nginx.conf" -p "$dir" -e "$dir/error.log"
    NGINX_PID=$LAST_PID
    BASE="https://127.0.0.1:$port"
    # Ours is up (its pid file written, a port taken meanwhile by another test is retried).
    if e2e_wait_for 10 e2e_nginx_up; then return 0; fi
    e2e_stop_group "$NGINX_PID"
  done
  bench_note "nginx did not start: $(tail -n 5 "$dir/error.log")"
  return 1
}

bench_render_nginx() { # MAIN PORT [POOL...]
  local main=$1 port=$2 dir=$E2E_DIR/nginx name addr
  shift 2
  RUN_DIR=$dir HTTPS_PORT=$port FCGI_ADDR="unix:$E2E_DIR/$main.sock" \
    TLS_CERT="$BUILD/tls/cert.pem" TLS_KEY="$BUILD/tls/key.pem" \
    WORKER_PROCESSES=${BENCH_NGINX_WORKERS:-1} "$E2E_ROOT/scripts/render-nginx.sh" || return 1
  grep -q '^fastcgi_pass retrain_pool;' "$dir/fastcgi.conf" || { bench_note "fastcgi.conf: no fastcgi_pass"; return 1; }
  : >"$dir/bench-upstreams.conf"
  : >"$dir/bench-locations.conf"
  for name in trivial "$@"; do
    addr=unix:$E2E_DIR/$name.sock
    [ "$name" = trivial ] && addr=unix:$TRIVIAL_SOCK
    sed "s/^fastcgi_pass retrain_pool;/fastcgi_pass bench_$name;/" "$dir/fastcgi.conf" >"$dir/fastcgi-$name.conf"
    printf '    upstream bench_%s {\n        server %s;\n        keepalive %s;\n        keepalive_requests 100000;\n    }\n' \
      "$name" "$addr" "${UPSTREAM_KEEPALIVE:-32}" >>"$dir/bench-upstreams.conf"
    printf '        location = /%s {\n            rewrite ^ / break;\n            include %s;\n        }\n' \
      "$name" "$dir/fastcgi-$name.conf" >>"$dir/bench-locations.conf"
  done
  if [ ${#NODE_PORTS[@]} -gt 0 ]; then
    {
      echo "    upstream bench_node {"
      printf '        server 127.0.0.1:%s;\n' "${NODE_PORTS[@]}"
      echo "        keepalive ${UPSTREAM_KEEPALIVE:-32};"
      echo "        keepalive_requests 100000;"
      echo "    }"
    } >>"$dir/bench-upstreams.conf"
    {
      echo "        location = /node {"
      echo "            proxy_pass http://bench_node/;"
      echo "            proxy_http_version 1.1;"
      echo "            proxy_set_header Connection \"\";"
      echo "            proxy_set_header Host \$host;"
      echo "        }"
    } >>"$dir/bench-locations.conf"
  fi
  bench_insert_before "$dir/nginx.conf" '^    server \{$' "$dir/bench-upstreams.conf" || return 1
  bench_insert_before "$dir/nginx.conf" '^        location @too_large \{$' "$dir/bench-locations.conf"
}

# bench_mint N FILE [SIGN]: N distinct ID tokens from the emulator (one a line), valid for the
# configured audience and service account, signed with SIGN (default rs256; "other-key" forges).
bench_mint() {
  local n=$1 file=$2 sign=${3:-rs256} i tok
  : >"$file"
  for ((i = 0; i < n; i++)); do
    # A distinct lifetime makes a distinct token (same second, same claims otherwise).
    tok=$(curl -sS --max-time 10 -X POST "$EMU/emulator/oidc/mint" \
      -d "{\"sign\":\"$sign\",\"ttl_s\":$((3000 + i))}" | jq -r '.token // empty')
    [ -n "$tok" ] || { bench_note "mint failed"; return 1; }
    printf '%s\n' "$tok" >>"$file"
  done
}

# bench_post PATH TOKEN ID: one event through nginx; prints the answer's body.
bench_post() {
  local auth=()
  [ -n "$2" ] && auth=(-H "Authorization: Bearer $2")
  "${CURL[@]}" -X POST "${auth[@]}" -H 'Content-Type: application/json' -H 'ce-specversion: 1.0' \
    -H 'ce-type: google.cloud.storage.object.v1.finalized' -H "ce-id: $3" \
    -H 'ce-source: //storage.googleapis.com/projects/_/buckets/acme-data' \
    -H 'ce-subject: objects/datasets/churn/bench.csv' -H 'ce-bucket: acme-data' \
    --data '{"bucket":"acme-data","name":"datasets/churn/bench.csv","generation":"1"}' "$BASE$1"
}

# Resident memory in MiB (one decimal) of the given PIDs, summed, from /proc/PID/status.
bench_rss() {
  local kb=0 pid v
  for pid in "$@"; do
    v=$(awk '/^VmRSS:/ {print $2}' "/proc/$pid/status" 2>/dev/null)
    kb=$((kb + ${v:-0}))
  done
  awk -v kb="$kb" 'BEGIN { printf "%.1f", kb / 1024 }'
}

# CPU time in clock ticks used so far by the given PIDs and their reaped children (utime, stime,
# cutime, cstime of /proc/PID/stat): list a master and its live workers, and a worker that was
# replaced is still counted, in its master's cutime.
bench_cpu_ticks() {
  local t=0 pid line f
  for pid in "$@"; do
    line=$(cat "/proc/$pid/stat" 2>/dev/null) || continue
    read -r -a f <<<"${line##*) }" # fields from the 3rd (state) on; comm may hold spaces
    t=$((t + f[11] + f[12] + f[13] + f[14]))
  done
  echo "$t"
}

# Proportional set size in MiB of one PID (shared pages divided among their users): what one
# more worker really costs, where VmRSS counts every shared library page in full.
bench_pss() {
  awk '/^Pss:/ { printf "%.1f", $2 / 1024 }' "/proc/$1/smaps_rollup" 2>/dev/null
}

bench_children() { ps -o pid= --ppid "$1" | tr -d ' '; }

# bench_load OUT URL SECONDS [VAR=VALUE...]: wrk for SECONDS on BENCH_CONNECTIONS kept-alive
# connections with bench/wrk.lua, the VARs in its environment; the figures land in OUT (JSON).
# Returns 1 when wrk failed or any answer was not the expected one.
bench_load() {
  local out=$1 url=$2 dur=$3
  shift 3
  # In a subshell whose `times` then reports wrk's own CPU time (its reaped descendants').
  (
    env "$@" BENCH_OUT="$out" BENCH_ID_PREFIX="$(basename "$out" .json)" \
      timeout $((dur + 30)) wrk -t "${BENCH_THREADS:-2}" -c "${BENCH_CONNECTIONS:-32}" -d "${dur}s" \
      --latency -s "$BENCH_DIR/wrk.lua" "$url" >"${out%.json}.txt" 2>&1
    times >"${out%.json}.times"
  )
  [ -s "$out" ] || { bench_note "$out: wrk failed: $(tail -n 3 "${out%.json}.txt")"; return 1; }
  local client_s
  client_s=$(awk 'NR == 2 { for (i = 1; i <= 2; i++) { split($i, t, /[ms]/); s += t[1] * 60 + t[2] } print s }' \
    "${out%.json}.times")
  jq --argjson c "${client_s:-0}" '. + {client_cpu_us_per_req: (if .requests > 0 then $c * 1e6 / .requests else null end)}' \
    "$out" >"$out.tmp" && mv "$out.tmp" "$out"
  if [ "$(jq .wrong "$out")" -gt 0 ] || [ "$(jq .ok "$out")" -eq 0 ]; then
    bench_note "$(basename "$out" .json): $(jq -r '"\(.wrong) of \(.requests) answers were not the expected one, e.g. \(.first_wrong)"' "$out")"
    return 1
  fi
}

# Prints results.json as the table a person reads: one line a row, then the targets.
bench_table() {
  jq -r '
    def f(n; d): if n == null then "-" else (n * pow(10; d) | round | tostring) as $i |
      if d == 0 then $i else ("0" * (d + 1 - ($i | length)) + $i) | .[0:length - d] + "." + .[length - d:] end end;
    def l(w): tostring | . + " " * w | .[0:w];
    def r(w): tostring | " " * (w - length) + .;
    "                                                                              CPU us/req      RSS MiB  worker MiB",
    "row  what                                        req/s   p50 ms   p99 ms   max ms  server nginx  wrk   total  RSS max PSS    x(a)    x(e)",
    (.rows[] | . as $x | (.row | l(4)) + " " + (.label | l(42)) +
      if .skipped then "  skipped: \(.skipped)" else
        ([(f(.rps; 0) | r(7)), (f(.p50_ms; 2) | r(8)), (f(.p99_ms; 2) | r(8)), (f(.max_ms; 0) | r(8)),
          (f(.backend_cpu_us_per_req; 0) | r(7)), (f(.nginx_cpu_us_per_req; 0) | r(5)),
          (f(.client_cpu_us_per_req; 0) | r(4)), (f(.rss_mib; 1) | r(7)),
          (f(.rss_per_worker_max_mib; 1) | r(7)), (f(.pss_per_worker_max_mib; 1) | r(3)),
          (f(.x_a; 2) | r(6)), (f(.x_e; 2) | r(7))] | join(" ")) +
        (if $x.wrong > 0 then "  (\($x.wrong) wrong answers)" else "" end)
      end),
    "",
    (.targets[] | "target  " + (.claim | l(26)) + (f(.value; 2) | r(6)) + "  " +
      (if .met == null then "not measured" elif .met then "met" else "MISSED" end) +
      (if .by_cpu then "  (from CPU time per request: \(f(.by_cpu; 2)))" else "" end))
  ' "$1"
}
