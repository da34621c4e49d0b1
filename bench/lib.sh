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

# Installs the Node baselines' packages (bench/node/package-lock.json) from the npm registry
# into $E2E_DIR/node. Sets NODE_DIR, or NODE_SKIP to the reason it cannot run; SQLITE_SKIP to the
# reason row e2 cannot run when better-sqlite3 (an optional dependency: row e goes on without
# it) did not install or does not load.
#
# better-sqlite3 is a native addon: its install script tries a prebuilt binary from GitHub
# (prebuild-install) and otherwise compiles it with node-gyp (about a minute on two cores, most
# of it SQLite's amalgamation). node-gyp is pointed at the headers installed with node
# (PREFIX/include/node) so it downloads none. The addon it built is kept in
# $BUILD/node-cache, named by its version, the lock file's integrity for it and node's
# version, platform and arch: a later run with the same ones installs with --ignore-scripts and
# puts the kept addon in place (BENCH_NODE_REBUILD=1 builds it again).
bench_node_install() {
  NODE_DIR='' NODE_SKIP='' SQLITE_SKIP=''
  if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    NODE_SKIP="node or npm is not installed"
    SQLITE_SKIP=$NODE_SKIP
    return 1
  fi
  local dir=$E2E_DIR/node prefix npm_env=() ci=() key integrity cache=$BUILD/node-cache addon
  mkdir -p "$dir"
  cp "$BENCH_DIR"/node/{package.json,package-lock.json,index.js,serve.js} "$dir/"
  prefix=$(dirname "$(dirname "$(readlink -f "$(command -v node)")")")
  [ -f "$prefix/include/node/common.gypi" ] && npm_env+=("npm_config_nodedir=$prefix")
  integrity=$(jq -r '.packages["node_modules/better-sqlite3"].integrity // empty' "$dir/package-lock.json")
  key=better_sqlite3-$(jq -r '.packages["node_modules/better-sqlite3"].version // "none"' "$dir/package-lock.json")
  key=$key-$(printf '%s' "$integrity" | sha256sum | cut -c1-16)-$(node -p 'process.version + "-" + process.platform + "-" + process.arch')
  if [ -n "$integrity" ] && [ -z "${BENCH_NODE_REBUILD:-}" ] && [ -s "$cache/$key.node" ]; then
    ci=(--ignore-scripts) # the only install script in the lock file is better-sqlite3's
  fi
  if ! (cd "$dir" && env "${npm_env[@]}" timeout 300 npm ci --no-audit --no-fund --loglevel=warn --foreground-scripts "${ci[@]}") \
    >"$E2E_DIR/npm.log" 2>&1; then
    NODE_SKIP="npm ci failed: $(grep -m1 -iE 'err|fail' "$E2E_DIR/npm.log" | cut -c1-150)"
    SQLITE_SKIP=$NODE_SKIP
    return 1
  fi
  NODE_DIR=$dir
  addon=$dir/node_modules/better-sqlite3/build/Release/better_sqlite3.node
  if [ ${#ci[@]} -gt 0 ] && [ -d "$dir/node_modules/better-sqlite3" ]; then
    mkdir -p "$(dirname "$addon")" && cp "$cache/$key.node" "$addon"
  fi
  # Loads and works (a build for another node ABI would not; 13.x crashes on node 20).
  if (cd "$dir" && timeout 20 node -e '
      const db = new (require("better-sqlite3"))(":memory:");
      if (db.prepare("SELECT sqlite_version() AS v").get().v === undefined) process.exit(1);') \
    >>"$E2E_DIR/npm.log" 2>&1; then
    if [ ${#ci[@]} -eq 0 ] && mkdir -p "$cache" && cp "$addon" "$cache/$key.node.tmp"; then
      mv "$cache/$key.node.tmp" "$cache/$key.node"
    fi
  else
    # Why: the build's first error (its output is in npm.log), else what loading it said.
    SQLITE_SKIP="better-sqlite3 did not install or does not load: $({ grep -m1 -E '^gyp ERR! (stack Error|configure error|build error)|error:' "$E2E_DIR/npm.log" ||
      grep -m1 -E 'Error|Segmentation|Aborted' "$E2E_DIR/npm.log"; } | cut -c1-150)"
  fi
  return 0
}

# bench_start_node N NAME TARGET [VAR=VALUE...]: starts N Functions Framework processes (one per
# core) serving index.js's function TARGET, each on its own free loopback port, with the VARs in
# their environment; sets NODE_PIDS_OF[NAME] and NODE_PORTS_OF[NAME] (space-separated), which
# bench_start_nginx makes the location /NAME. Needs EMU, AUD and SA. On failure it stops those
# it started.
declare -A NODE_PIDS_OF NODE_PORTS_OF
bench_start_node() {
  local n=$1 name=$2 target=$3 i port attempt log pids=() ports=() p
  shift 3
  for ((i = 0; i < n; i++)); do
    # A port taken between choosing and binding (other tests run too) is retried on another.
    for attempt in 1 2 3 4 5; do
      port=$(e2e_free_port)
      log=$E2E_DIR/$name-$i.log
      : >"$log"
      e2e_spawn "$log" env NODE_ENV=production BENCH_JWKS_URL="$EMU/oauth2/v3/certs" \
        BENCH_AUDIENCE="$AUD" BENCH_SERVICE_ACCOUNT="$SA" "$@" node "$NODE_DIR/serve.js" "$port" "$target"
      # Listening before the next port is chosen, so no two pick the same one.
      if e2e_wait_for 20 grep -q "serving $target" "$log"; then
        pids+=("$LAST_PID")
        ports+=("$port")
        continue 2
      fi
      e2e_stop_group "$LAST_PID"
    done
    bench_note "node baseline $name did not start: $(tail -n 3 "$log")"
    for p in "${pids[@]}"; do e2e_stop_group "$p"; done
    return 1
  done
  NODE_PIDS_OF[$name]="${pids[*]}" NODE_PORTS_OF[$name]="${ports[*]}"
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
# another upstream, the URI rewritten to / since the pool routes on it) and /NAME for each Node
# baseline bench_start_node started (an HTTP/1.1 proxy with kept-alive upstream connections).
# Starts it; sets BASE.
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
  local main=$1 port=$2 dir=$E2E_DIR/nginx name addr p
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
  for name in "${!NODE_PORTS_OF[@]}"; do
    {
      echo "    upstream bench_$name {"
      for p in ${NODE_PORTS_OF[$name]}; do printf '        server 127.0.0.1:%s;\n' "$p"; done
      echo "        keepalive ${UPSTREAM_KEEPALIVE:-32};"
      echo "        keepalive_requests 100000;"
      echo "    }"
    } >>"$dir/bench-upstreams.conf"
    {
      echo "        location = /$name {"
      echo "            proxy_pass http://bench_$name/;"
      echo "            proxy_http_version 1.1;"
      echo "            proxy_set_header Connection \"\";"
      echo "            proxy_set_header Host \$host;"
      echo "        }"
    } >>"$dir/bench-locations.conf"
  done
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

# bench_post_many PATH TOKEN PREFIX N OUT: N new events (ce-id PREFIX-1 ... PREFIX-N) through
# nginx, 8 at a time on one HTTP/2 connection (curl --parallel, at most 120 s); every answer's
# body and status in OUT (answers arriving together may share a line: count, do not split).
bench_post_many() {
  local path=$1 tok=$2 prefix=$3 n=$4 out=$5 cfg=$E2E_DIR/$3.curl i
  printf '%s' '{"bucket":"acme-data","name":"datasets/churn/bench.csv","generation":"1"}' >"$E2E_DIR/$prefix.body"
  for ((i = 1; i <= n; i++)); do
    [ "$i" -gt 1 ] && echo next
    printf 'url = "%s"\ncacert = "%s"\nmax-time = 20\nsilent\nshow-error\noutput = "-"\n' "$BASE$path" "$BUILD/tls/cert.pem"
    printf 'header = "%s"\n' "Authorization: Bearer $tok" 'Content-Type: application/json' \
      'ce-specversion: 1.0' 'ce-type: google.cloud.storage.object.v1.finalized' \
      'ce-source: //storage.googleapis.com/projects/_/buckets/acme-data' \
      'ce-subject: objects/datasets/churn/bench.csv' 'ce-bucket: acme-data' "ce-id: $prefix-$i"
    printf 'data-binary = "@%s"\nwrite-out = " %%{http_code}\\n"\n' "$E2E_DIR/$prefix.body"
  done >"$cfg"
  timeout 120 curl -sS --parallel --parallel-max 8 -K "$cfg" >"$out" 2>"$out.err"
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
        (if $x.wrong > 0 then "  (\($x.wrong) wrong answers)" else "" end) +
        (if ($x.also // 0) > 0 then "  (\($x.also) of \($x.ok) right answers: \($x.also_answer // "the other right one"))" else "" end) +
        (if $x.extra then "  (\($x.extra))" else "" end)
      end),
    "",
    (.targets[] | "target  " + (.claim | l(26)) + (f(.value; 2) | r(6)) + "  " +
      (if .met == null then "not measured" elif .met then "met" else "MISSED" end) +
      (if .by_cpu then "  (from CPU time per request: \(f(.by_cpu; 2)))" else "" end))
  ' "$1"
}

# Prints results.json's comparisons: a row beside its baseline from the same run, as ratios.
bench_compare() {
  jq -r '
    def f(n; d): if n == null then "-" else (n * pow(10; d) | round | tostring) as $i |
      if d == 0 then $i else ("0" * (d + 1 - ($i | length)) + $i) | .[0:length - d] + "." + .[length - d:] end end;
    def r(w): tostring | " " * (w - length) + .;
    "new events, each row beside its baseline (same run, median rounds): row / baseline = ratio",
    (.comparisons[] | "  \(.row | . + " " * (4 - length)) / \(.baseline | . + " " * (4 - length))" +
      (if .rps == null or .baseline_rps == null then "  not measured (a row was skipped)" else
        "  req/s \(f(.rps; 0) | r(6)) / \(f(.baseline_rps; 0) | r(6)) = \(f(.rps_ratio; 2) | r(5))x" +
        "   p99 ms \(f(.p99_ms; 1) | r(7)) / \(f(.baseline_p99_ms; 1) | r(7)) = \(f(.p99_ratio; 2) | r(5))x" +
        "   CPU us/req \(f(.cpu_us_per_req; 0) | r(5)) / \(f(.baseline_cpu_us_per_req; 0) | r(5)) = \(f(.cpu_ratio; 2) | r(5))x" end) +
      "  (\(.what))")
  ' "$1"
}
