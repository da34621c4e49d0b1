#!/usr/bin/env bash
# make bench — every performance claim as one command, each figure beside its baseline from the
# same run. Everything runs on loopback and stops by itself; every load is wrk for a fixed time
# over TLS through one nginx (rendered from nginx/*.template exactly as `make run` does), on
# kept-alive connections. bench/README.md says how to read the output.
#
# First the micro-benchmarks build/bench/* (each prints its own baseline beside its figure),
# then the rows, all backends running side by side behind one nginx and taking turns:
#   a    the trivial FastCGI responder (build/fcgi-trivial): the ceiling
#   a2   the pool, echo function, auth off, a redelivered event: the framework's own cost
#   a3   as a2, while one worker is held by a slow request: no request waits behind it
#   b    the pool, valid token, a redelivered event (done in the ledger) -> "duplicate"
#   b1   the same with the workers' answer cache off: every duplicate is a ledger read
#   c    the pool, forged token (signed by an unpublished key) -> 401: what an attacker costs
#   d    the pool, echo function, valid token, a new event each request (fsync'd SQLite)
#   d0   the retrain function against the emulator's Vertex AI, new events (when it exists)
#   d1   the same rule batched (min_events 1000, keyed by the rule): the request path only
#        joins the batch (202 "batched"), the follower submits every 1000 events
#   d200 the same with 200 ms added to every Vertex call
#   e    the usual stack (Functions Framework for Node.js, google-auth-library, a Set), the
#        same load as b
#   e2   the usual stack for new events: the same with a durable SQLite set (better-sqlite3,
#        WAL, synchronous=FULL), the same load as d and d0
# then d0 beside d and e2 and d1 beside d0 (requests/s and p99), the follower (bench/follow.sh):
# Vertex reads per open run per hour and the pool's CPU with 1,000 runs open, beside polling
# without backoff, the design, the budget's ceiling and the idle pool; and batches
# (bench/batch.sh): the time from a batch's condition holding to its run's submission, beside the
# follower's idle poll period and the unbatched path's submission.
# Output: a table (requests/s, p50, p99, memory, ratios to a and e, targets), the comparisons,
# the follower's figures, and build/bench/results.json with the same figures and the
# micro-benchmarks'.
#
# Environment: BENCH_DURATION (seconds per load, default 2), BENCH_ROUNDS (5; the median round
# is reported), BENCH_CONNECTIONS (32), BENCH_THREADS (wrk threads, 2), BENCH_WORKERS (pool and
# trivial workers, default 2 x cores, the pool's default), BENCH_NODE_PROCS (default: cores),
# BENCH_NGINX_WORKERS (1), BENCH_SKIP_MICRO=1 (no micro-benchmarks), BENCH_JSON (default
# build/bench/results.json), BENCH_PROFILE=ROW (perf profile of that row's server after the
# rounds), BENCH_SKIP_FOLLOW=1 (no follower figures), BENCH_FOLLOW_RUNS (1000),
# BENCH_SKIP_BATCH=1 (no batch figures), BENCH_BATCHES (batches per condition, 10),
# BENCH_NODE_REBUILD=1 (build better-sqlite3 again instead of the kept addon).
# Exit status: 0 when every row ran with only expected answers (a missed target is reported,
# not an error), 1 otherwise.
set -u
# shellcheck disable=SC2034 # read by tests/e2e/lib.sh
E2E_NAME=bench
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/../tests/e2e/lib.sh"
# shellcheck source=bench/lib.sh
. "$E2E_ROOT/bench/lib.sh"
# shellcheck source=bench/follow.sh
. "$E2E_ROOT/bench/follow.sh"
# shellcheck source=bench/batch.sh
. "$E2E_ROOT/bench/batch.sh"
BUILD=$(cd "$BUILD" 2>/dev/null && pwd) || { echo "bench: no build directory; run make bench" >&2; exit 1; }

CORES=$(nproc)
CLK_TCK=$(getconf CLK_TCK)
WORKERS=${BENCH_WORKERS:-$((2 * CORES))}
NODE_PROCS=${BENCH_NODE_PROCS:-$CORES}
DURATION=${BENCH_DURATION:-2}
ROUNDS=${BENCH_ROUNDS:-5}
JSON_OUT=${BENCH_JSON:-$BUILD/bench/results.json}
AUD=https://127.0.0.1:8443/
SA=eventarc-trigger@test-project.iam.gserviceaccount.com
DUP_ID=bench-redelivered
broken=0

for bin in retrain-fcgi fcgi-trivial gcp-emulator; do
  [ -x "$BUILD/$bin" ] || { echo "bench: $BUILD/$bin is missing; run make bench" >&2; exit 1; }
done
command -v wrk >/dev/null || { echo "bench: wrk is not installed (Debian package wrk)" >&2; exit 1; }
e2e_init
mkdir -p "$(dirname "$JSON_OUT")"
echo "bench: $CORES cores, $(uname -r); $ROUNDS rounds of wrk -t${BENCH_THREADS:-2} -c${BENCH_CONNECTIONS:-32} -d${DURATION}s per row over TLS (HTTP/1.1 keep-alive), nginx $(nginx -v 2>&1 | sed 's|.*/||'), $WORKERS pool workers"

# ---- micro-benchmarks (first, on a quiet machine) ------------------------------------------
micro_json=()
if [ -z "${BENCH_SKIP_MICRO:-}" ]; then
  for prog in "$BUILD"/bench/*; do
    { [ -f "$prog" ] && [ -x "$prog" ]; } || continue # programs, not the folders beside them
    name=$(basename "$prog")
    args=(--json "$E2E_DIR/micro-$name.json")
    case $name in
    bench_ledger) args+=(--seconds 1 --dir "$E2E_DIR") ;;
    bench_vertex) args+=(--emulator "$BUILD/gcp-emulator") ;;
    esac
    echo
    echo "== $name"
    if timeout 120 "$prog" "${args[@]}"; then
      [ -s "$E2E_DIR/micro-$name.json" ] && micro_json+=("$name")
    else
      echo "bench: $name failed" >&2
      broken=1
    fi
  done
fi

# ---- the processes -------------------------------------------------------------------------
# All backends run side by side behind one nginx, so the rows can take turns (ROUNDS rounds of
# every row, the median round reported): a disturbance on the machine then hits every row
# alike instead of one.
echo
echo "== setting up: npm ci of the Node baseline, emulator, trivial responder, pools, nginx"
bench_node_install
e2e_start_emulator --audience "$AUD" --service-account "$SA" || exit 1
bench_start_trivial "$WORKERS" || exit 1
if [ -n "$NODE_DIR" ]; then
  bench_start_node "$NODE_PROCS" node dedup || NODE_SKIP="the Functions Framework did not start"
  # Row e2's processes share one durable SQLite set, as the pool's workers share the ledger.
  if [ -z "$SQLITE_SKIP" ]; then
    bench_start_node "$NODE_PROCS" nodedb dedupDurable BENCH_DB="$E2E_DIR/node-seen.db" ||
      SQLITE_SKIP="the Functions Framework with better-sqlite3 did not start: $(grep -m1 -i error "$E2E_DIR/nodedb-0.log" | cut -c1-150)"
  fi
fi

pool_config() { # NAME FUNCTION AUTH_JSON [EXTRA_MEMBERS [EXTRA_LEDGER_MEMBERS]]
  printf '{"function":"%s","workers":%d,"auth":%s,"ledger":{"url":"sqlite://%s/ledger-%s.db"%s}%s}' \
    "$2" "$WORKERS" "$3" "$E2E_DIR" "$1" "${5:-}" "${4:-}"
}
AUTH_ON="{\"audiences\":[\"$AUD\"],\"service_accounts\":[\"$SA\"],\"jwks_url\":\"$EMU/oauth2/v3/certs\"}"
bench_start_pool auth "$(pool_config auth echo "$AUTH_ON")" || exit 1
bench_start_pool noauth "$(pool_config noauth echo '{"disabled":true}')" || exit 1
# As noauth, with the test hooks on, so one request can hold a worker (ce-testsleepms): row a3.
RETRAIN_TEST_HOOKS=1 bench_start_pool held "$(pool_config held echo '{"disabled":true}')" || exit 1
# The same as "auth" without the workers' answer cache, so every duplicate asks the ledger.
pools=(noauth held retrain)
NOCACHE_SKIP=
pool_config nocache echo "$AUTH_ON" "" ',"answer_cache_size":0' >"$E2E_DIR/nocache-check.json"
if "$BUILD/retrain-fcgi" --config "$E2E_DIR/nocache-check.json" --check >/dev/null 2>&1; then
  bench_start_pool nocache "$(pool_config nocache echo "$AUTH_ON" "" ',"answer_cache_size":0')" || exit 1
  pools+=(nocache)
else
  NOCACHE_SKIP="this build has no ledger.answer_cache_size"
fi
# One rule that matches the bench's event and creates one custom job on the emulator's Vertex
# AI, with access tokens from the emulator's metadata server. Whether build/retrain-fcgi has the
# retrain function is known from its first answer (below).
# shellcheck disable=SC2016 # ${event_key} and ${gcs_uri} are the rules' placeholders
RETRAIN_MEMBERS=',"project":"test-project","vertex":{"endpoint":"'"$EMU/v1"'","project":"test-project","region":"us-central1","deadline_ms":20000},"rules":[{"name":"bench","match":{"type":"google.cloud.storage.object.v1.finalized","bucket":"acme-data","name":"datasets/churn/**.csv"},"action":"train","job":{"displayName":"bench-${event_key}","jobSpec":{"workerPoolSpecs":[{"machineSpec":{"machineType":"n1-standard-4"},"replicaCount":"1","containerSpec":{"imageUri":"us-docker.pkg.dev/test-project/retrain/train:latest","args":["--data=${gcs_uri}"]}}]}}}]'
# The pool's create budget (follow.creates_per_minute) keeps a new run queued and answers 202
# "queued" once it is spent: the bench sets it to the most the config takes (6000 a minute), and
# rows d0 and d200 count such answers as right ones, shown apart. The retrain pool's follower
# waits a day before its first look, so it neither reads d0's runs nor submits the queued ones
# while the other rows run.
CREATE_BUDGET=',"creates_per_minute":6000'
GCE_METADATA_HOST=${EMU#http://} bench_start_pool retrain \
  "$(pool_config retrain retrain "$AUTH_ON" "$RETRAIN_MEMBERS,\"follow\":{\"first_s\":86400,\"max_s\":86400$CREATE_BUDGET}")" || exit 1
# Row d1: the same rule batched, one batch for the rule (key ${rule}) closed every 1000 events:
# the request path joins the batch (one write transaction) and answers 202 "batched"; the pool's
# follower submits each closed batch (one custom job per 1000 events) while the rows run, its
# reads and creates within budgets that do not bind. Its own ledger, as every pool's.
# shellcheck disable=SC2016 # ${rule} is the rules' placeholder
BATCHED_MEMBERS=${RETRAIN_MEMBERS/'"action":"train",'/'"action":"train","batch":{"key":"${rule}","min_events":1000,"max_wait_s":3600},'}
BATCHED_FOLLOW=',"follow":{"first_s":86400,"max_s":86400,"reads_per_minute":6000,"creates_per_minute":6000}'
BATCHED_SKIP=
pool_config batched retrain "$AUTH_ON" "$BATCHED_MEMBERS$BATCHED_FOLLOW" >"$E2E_DIR/batched-check.json"
if [ "$BATCHED_MEMBERS" = "$RETRAIN_MEMBERS" ]; then
  BATCHED_SKIP="the bench's rule has no \"action\":\"train\" to add a batch section to"
elif ! check=$("$BUILD/retrain-fcgi" --config "$E2E_DIR/batched-check.json" --check 2>&1); then
  BATCHED_SKIP="this build refuses the batched rule: $(printf '%s' "$check" | head -n 1 | cut -c1-150)"
else
  GCE_METADATA_HOST=${EMU#http://} bench_start_pool batched \
    "$(pool_config batched retrain "$AUTH_ON" "$BATCHED_MEMBERS$BATCHED_FOLLOW")" || exit 1
  pools+=(batched)
fi
# The follower's pool (bench/follow.sh): the same rule, its follow settings sped up; idle (no
# open run) until the rows are done.
FOLLOW_SKIP=${BENCH_SKIP_FOLLOW:+BENCH_SKIP_FOLLOW is set}
if [ -z "$FOLLOW_SKIP" ]; then
  GCE_METADATA_HOST=${EMU#http://} bench_start_pool follow \
    "$(pool_config follow retrain "$AUTH_ON" "$RETRAIN_MEMBERS,\"follow\":$(follow_settings "$FOLLOW_RPM_FREE")")" || exit 1
  pools+=(follow)
fi
# The batches' pool (bench/batch.sh): rules closed by a quiet period, a count and a marker, and
# one unbatched; idle (no open batch) until the follower's figures are done.
BATCH_SKIP=${BENCH_SKIP_BATCH:+BENCH_SKIP_BATCH is set}
if [ -z "$BATCH_SKIP" ]; then
  pool_config batchlat retrain "$AUTH_ON" "$(bench_batch_members)" >"$E2E_DIR/batchlat-check.json"
  if ! check=$("$BUILD/retrain-fcgi" --config "$E2E_DIR/batchlat-check.json" --check 2>&1); then
    BATCH_SKIP="this build refuses the batched rules: $(printf '%s' "$check" | head -n 1 | cut -c1-150)"
  else
    GCE_METADATA_HOST=${EMU#http://} bench_start_pool batchlat \
      "$(pool_config batchlat retrain "$AUTH_ON" "$(bench_batch_members)")" || exit 1
    pools+=(batchlat)
  fi
fi
bench_start_nginx auth "${pools[@]}" || exit 1
bench_mint 16 "$E2E_DIR/tokens.valid" || exit 1
bench_mint 16 "$E2E_DIR/tokens.forged" other-key || exit 1
# The redelivered event: recorded once through each pool, so every later delivery is a duplicate.
bench_post /noauth "" "$DUP_ID" >/dev/null
bench_post /held "" "$DUP_ID" >/dev/null
bench_post / "$(head -n 1 "$E2E_DIR/tokens.valid")" "$DUP_ID" >/dev/null
[ -z "$NOCACHE_SKIP" ] && bench_post /nocache "$(head -n 1 "$E2E_DIR/tokens.valid")" "$DUP_ID" >/dev/null
RETRAIN_SKIP=
answer=$(bench_post /retrain "$(head -n 1 "$E2E_DIR/tokens.valid")" bench-retrain-probe)
if [ "$(printf '%s' "$answer" | jq -r '.status // empty' 2>/dev/null)" != submitted ] &&
  { [ -z "$CREATE_BUDGET" ] || [ "$(printf '%s' "$answer" | jq -r '.status // empty' 2>/dev/null)" != queued ]; }; then
  RETRAIN_SKIP=$(grep -m1 'worker cannot start' "$E2E_DIR/pool-retrain.log" | jq -r '.message // empty' 2>/dev/null)
  RETRAIN_SKIP=${RETRAIN_SKIP:-"the retrain pool answered: $(printf '%s' "$answer" | head -c 200)"}
  e2e_stop_group "${POOL_PIDS[retrain]}" # a crash-looping pool must not take CPU from the rows
  if [ -z "$FOLLOW_SKIP" ]; then
    FOLLOW_SKIP="no retrain function: $RETRAIN_SKIP"
    e2e_stop_group "${POOL_PIDS[follow]}"
  fi
  if [ -z "$BATCHED_SKIP" ]; then
    BATCHED_SKIP="no retrain function: $RETRAIN_SKIP"
    e2e_stop_group "${POOL_PIDS[batched]}"
  fi
  if [ -z "$BATCH_SKIP" ]; then
    BATCH_SKIP="no retrain function: $RETRAIN_SKIP"
    e2e_stop_group "${POOL_PIDS[batchlat]}"
  fi
fi
# Row d1's first answer: the event joined the batch.
if [ -z "$BATCHED_SKIP" ]; then
  answer=$(bench_post /batched "$(head -n 1 "$E2E_DIR/tokens.valid")" bench-batched-probe)
  if [ "$(printf '%s' "$answer" | jq -r '.status // empty' 2>/dev/null)" != batched ]; then
    BATCHED_SKIP="the batched pool answered: $(printf '%s' "$answer" | head -c 200)"
    e2e_stop_group "${POOL_PIDS[batched]}"
  fi
fi

# ---- the rows ------------------------------------------------------------------------------
ROWS=()
declare -A LABEL URL ENV SERVER LATENCY HOLD RSS PER_WORKER PSS_WORKER NOTE ALSO EXTRA
# row ID LABEL SERVER PATH [VAR=VALUE...]: SERVER is trivial, node or a pool's name.
row() {
  local id=$1
  ROWS+=("$id")
  LABEL[$id]=$2 SERVER[$id]=$3 URL[$id]=$BASE$4
  shift 4
  ENV[$id]=$(printf '%q ' "$@")
}
skip() { ROWS+=("$1"); LABEL[$1]=$2; NOTE[$1]=$3; echo "bench: row $1 skipped: $3" >&2; }
VALID=BENCH_TOKENS=$E2E_DIR/tokens.valid
row a "trivial FastCGI responder (ceiling)" trivial /trivial BENCH_BODY='"ok"'
row a2 "pool: echo, no auth, duplicate" noauth /noauth BENCH_ID="$DUP_ID" BENCH_BODY='"duplicate"'
row a3 "pool: as a2, one worker held by a slow one" held /held BENCH_ID="$DUP_ID" BENCH_BODY='"duplicate"'
HOLD[a3]=1 HOLD_MS=500
row b "pool: valid token, duplicate" auth / "$VALID" BENCH_ID="$DUP_ID" BENCH_BODY='"duplicate"'
if [ -z "$NOCACHE_SKIP" ]; then
  row b1 "pool: as b, answer cache off (ledger read)" nocache /nocache "$VALID" BENCH_ID="$DUP_ID" BENCH_BODY='"duplicate"'
else
  skip b1 "pool: as b, answer cache off (ledger read)" "$NOCACHE_SKIP"
fi
row c "pool: forged token -> 401" auth / BENCH_TOKENS="$E2E_DIR/tokens.forged" BENCH_EXPECT=401
row d "pool: echo, new event (fsync'd)" auth / "$VALID" BENCH_BODY='"echoed"'
if [ -z "$RETRAIN_SKIP" ]; then
  queued=()
  [ -n "$CREATE_BUDGET" ] && queued=(BENCH_ALSO_EXPECT=202 BENCH_ALSO_BODY='"queued"')
  row d0 "pool: retrain, new event, Vertex +0 ms" retrain /retrain "$VALID" BENCH_BODY='"submitted"' "${queued[@]}"
  LATENCY[d0]=0
  [ -n "$CREATE_BUDGET" ] && ALSO[d0]="202 queued (the create budget, 6000/min, was spent)"
else
  skip d0 "pool: retrain, new event, Vertex +0 ms" "$RETRAIN_SKIP"
fi
# Beside d0: the same events for the same rule, batched (202 "batched": joined, not submitted).
if [ -z "$BATCHED_SKIP" ]; then
  row d1 "pool: retrain, batched rule, new event" batched /batched "$VALID" BENCH_EXPECT=202 BENCH_BODY='"batched"'
  LATENCY[d1]=0
else
  skip d1 "pool: retrain, batched rule, new event" "$BATCHED_SKIP"
fi
if [ -z "$RETRAIN_SKIP" ]; then
  row d200 "pool: retrain, new event, Vertex +200 ms" retrain /retrain "$VALID" BENCH_BODY='"submitted"' "${queued[@]}"
  LATENCY[d200]=200
  [ -n "$CREATE_BUDGET" ] && ALSO[d200]="202 queued (the create budget, 6000/min, was spent)"
else
  skip d200 "pool: retrain, new event, Vertex +200 ms" "$RETRAIN_SKIP"
fi
if [ -n "${NODE_PIDS_OF[node]:-}" ]; then
  row e "usual stack: Node FF + google-auth-library" node /node "$VALID" BENCH_ID="$DUP_ID" BENCH_BODY='"duplicate"'
else
  skip e "usual stack: Node FF + google-auth-library" "$NODE_SKIP"
fi
if [ -n "${NODE_PIDS_OF[nodedb]:-}" ]; then
  row e2 "usual stack, new event: + SQLite set" nodedb /nodedb "$VALID" BENCH_BODY='"processed"'
else
  skip e2 "usual stack, new event: + SQLite set" "${NODE_SKIP:-$SQLITE_SKIP}"
fi

server_pids() { # the serving processes of a row: master and workers, or the Node processes
  case $1 in
  node | nodedb) local p; read -ra p <<<"${NODE_PIDS_OF[$1]}"; printf '%s\n' "${p[@]}" ;;
  trivial) echo "$TRIVIAL_PID"; bench_children "$TRIVIAL_PID" ;;
  *) echo "${POOL_PIDS[$1]}"; bench_children "${POOL_PIDS[$1]}" ;;
  esac
}
# run_row ROW OUT SECONDS: one load; adds to OUT the CPU time per request of the row's serving
# processes and of nginx (less noisy than requests/s on a shared machine: it does not depend on
# what else got the cores).
run_row() {
  local r=$1 out=$2 pids nginx_pids b0 b1 n0 n1 rc=0 holder=
  [ -n "${LATENCY[$r]:-}" ] &&
    curl -sS --max-time 5 -X POST "$EMU/emulator/faults" -d "{\"latency_ms\":${LATENCY[$r]}}" >/dev/null
  if [ -n "${HOLD[$r]:-}" ]; then # one worker held all along: new events, each HOLD_MS long
    (
      for ((i = 0; i < $3 * 1000 / HOLD_MS + 1; i++)); do
        "${CURL[@]}" -o /dev/null -X POST -H 'ce-specversion: 1.0' -H 'ce-type: hold' -H 'ce-source: //bench' \
          -H "ce-id: hold-$RANDOM$RANDOM" -H "ce-testsleepms: $HOLD_MS" --data '{}' "${URL[$r]}"
      done
    ) &
    holder=$!
    sleep 0.1
  fi
  mapfile -t pids < <(server_pids "${SERVER[$r]}")
  mapfile -t nginx_pids < <(echo "$NGINX_PID"; bench_children "$NGINX_PID")
  b0=$(bench_cpu_ticks "${pids[@]}") n0=$(bench_cpu_ticks "${nginx_pids[@]}")
  eval "bench_load \"\$out\" \"\${URL[\$r]}\" \"\$3\" ${ENV[$r]}" || rc=1
  mapfile -t pids < <(server_pids "${SERVER[$r]}")
  b1=$(bench_cpu_ticks "${pids[@]}") n1=$(bench_cpu_ticks "${nginx_pids[@]}")
  [ -n "$holder" ] && wait "$holder"
  if [ -s "$out" ]; then
    jq --argjson b $((b1 - b0)) --argjson n $((n1 - n0)) --argjson hz "$CLK_TCK" \
      '. + {backend_cpu_us_per_req: (if .requests > 0 then $b * 1e6 / $hz / .requests else null end),
            nginx_cpu_us_per_req: (if .requests > 0 then $n * 1e6 / $hz / .requests else null end)}' \
      "$out" >"$out.tmp" && mv "$out.tmp" "$out"
  fi
  return $rc
}

# Warm-up: a second of each row (token caches, JWKS, kept-alive upstream connections, the
# Node processes' Sets), its answers not checked.
echo "== warm-up"
for r in "${ROWS[@]}"; do
  [ -n "${URL[$r]:-}" ] && { run_row "$r" "$E2E_DIR/warm-$r.json" 1 >/dev/null 2>&1 || true; }
done
for ((round = 1; round <= ROUNDS; round++)); do
  echo "== round $round of $ROUNDS: ${DURATION}s per row"
  for r in "${ROWS[@]}"; do
    [ -n "${URL[$r]:-}" ] || continue
    run_row "$r" "$E2E_DIR/row-$r-$round.json" "$DURATION" || broken=1
    if [ "$round" -eq "$ROUNDS" ]; then # memory right after the row's last load
      mapfile -t pids < <(server_pids "${SERVER[$r]}")
      RSS[$r]=$(bench_rss "${pids[@]}")
      if [ -n "${POOL_PIDS[${SERVER[$r]}]:-}" ]; then
        PER_WORKER[$r]=$(for p in "${pids[@]:1}"; do bench_rss "$p"; echo; done | sort -n | tail -n 1)
        PSS_WORKER[$r]=$(for p in "${pids[@]:1}"; do bench_pss "$p"; echo; done | sort -n | tail -n 1)
      fi
    fi
  done
done
curl -sS --max-time 5 -X POST "$EMU/emulator/faults" -d '{}' >/dev/null
# Row d1: how many of its batches closed (every 1000 events) and what the follower submitted.
if [ -z "$BATCHED_SKIP" ]; then
  EXTRA[d1]=$(RETRAIN_LEDGER=sqlite://$E2E_DIR/ledger-batched.db timeout 20 "$BUILD/retrainctl" runs list --limit 100000 |
    jq -rs 'map(select(.batch != null)) | "batches of 1000: \(map(select(.batch.closed_by != null)) | length) closed over all its loads, \(map(select(.submitted != null)) | length) submitted by the follower meanwhile"' 2>/dev/null)
fi

# BENCH_PROFILE=ROW: where the pool's workers spend their CPU under that row's load (perf).
if [ -n "${BENCH_PROFILE:-}" ] && [ -n "${URL[$BENCH_PROFILE]:-}" ]; then
  prow=$BENCH_PROFILE
  if ! command -v perf >/dev/null; then
    echo "bench: BENCH_PROFILE: perf is not installed" >&2
  else
    echo "== profile of row $prow: the serving processes, 3 s of perf record under load"
    run_row "$prow" "$E2E_DIR/profile-$prow.json" 5 >/dev/null 2>&1 &
    load_pid=$!
    sleep 1
    mapfile -t ppids < <(server_pids "${SERVER[$prow]}")
    perf record -q -F 999 -g -o "$E2E_DIR/perf.data" -p "$(IFS=,; echo "${ppids[*]}")" -- sleep 3 \
      >/dev/null 2>&1
    wait "$load_pid"
    perf report -i "$E2E_DIR/perf.data" --no-children --sort dso -g none 2>/dev/null | grep '%' | head -n 8
    perf report -i "$E2E_DIR/perf.data" --no-children --sort dso,sym -g none 2>/dev/null | grep '%' | head -n 15
  fi
fi

# ---- the follower ----------------------------------------------------------------------------
# On a quiet machine: the retrain pool's own follower (following the runs of d0 and d200) would
# read from the same emulator, and the Node processes are done.
[ -z "$RETRAIN_SKIP" ] && e2e_stop_group "${POOL_PIDS[retrain]}"
[ -z "$BATCHED_SKIP" ] && e2e_stop_group "${POOL_PIDS[batched]}"
for name in "${!NODE_PIDS_OF[@]}"; do
  read -ra npids <<<"${NODE_PIDS_OF[$name]}"
  for p in "${npids[@]}"; do e2e_stop_group "$p"; done
done
follower_json=$E2E_DIR/follower.json
if [ -n "$FOLLOW_SKIP" ]; then
  echo "bench: follower figures skipped: $FOLLOW_SKIP" >&2
  jq -n --arg why "$FOLLOW_SKIP" '{skipped: $why}' >"$follower_json"
elif ! bench_follow "$(head -n 1 "$E2E_DIR/tokens.valid")"; then
  broken=1
  jq -n '{skipped: "the runs could not be made (see above)"}' >"$follower_json"
fi
[ -n "${POOL_PIDS[follow]:-}" ] && e2e_stop_group "${POOL_PIDS[follow]}"

# ---- batches ---------------------------------------------------------------------------------
# On a quiet machine too, after the follower's figures (its pool stopped).
batch_json=$E2E_DIR/batch.json
if [ -n "$BATCH_SKIP" ]; then
  echo "bench: batch figures skipped: $BATCH_SKIP" >&2
  jq -n --arg why "$BATCH_SKIP" '{skipped: $why}' >"$batch_json"
elif ! bench_batch "$(head -n 1 "$E2E_DIR/tokens.valid")"; then
  broken=1
  [ -s "$batch_json" ] || jq -n '{skipped: "the batches could not be measured (see above)"}' >"$batch_json"
fi
[ -n "${POOL_PIDS[batchlat]:-}" ] && e2e_stop_group "${POOL_PIDS[batchlat]}"

# ---- the table and the JSON ----------------------------------------------------------------
rows_json=$E2E_DIR/rows.json
for row in "${ROWS[@]}"; do
  # The median round by requests/s, with its own latencies.
  median=/dev/null
  if ls "$E2E_DIR/row-$row-"*.json >/dev/null 2>&1; then
    jq -s 'sort_by(.rps) | .[(length - 1) / 2 | floor] + {rounds: map(.rps)}' \
      "$E2E_DIR/row-$row-"*.json >"$E2E_DIR/median-$row.json"
    median=$E2E_DIR/median-$row.json
  fi
  jq -n --arg row "$row" --arg what "${LABEL[$row]}" --arg rss "${RSS[$row]:-}" --arg also "${ALSO[$row]:-}" --arg extra "${EXTRA[$row]:-}" \
    --arg pw "${PER_WORKER[$row]:-}" --arg pss "${PSS_WORKER[$row]:-}" --arg note "${NOTE[$row]:-}" \
    --slurpfile m "$median" '
    {row: $row, label: $what} + ($m[0] // {skipped: $note}) +
    (if $rss != "" and ($m | length) > 0 then {rss_mib: ($rss | tonumber)} else {} end) +
    (if $pw != "" then {rss_per_worker_max_mib: ($pw | tonumber)} else {} end) +
    (if $pss != "" then {pss_per_worker_max_mib: ($pss | tonumber)} else {} end) +
    (if $also != "" then {also_answer: $also} else {} end) +
    (if $extra != "" and ($m | length) > 0 then {extra: $extra} else {} end)'
done | jq -s '
  def cpu: if .backend_cpu_us_per_req then .backend_cpu_us_per_req + .nginx_cpu_us_per_req +
    (.client_cpu_us_per_req // 0) else null end;
  (map(select(.row == "a"))[0]) as $ra | (map(select(.row == "e"))[0]) as $re |
  ($ra.rps // null) as $a | ($re.rps // null) as $e |
  map(if .rps then . + {x_a: (if $a then .rps / $a else null end),
                        x_e: (if $e then .rps / $e else null end),
                        cpu_us_per_req: cpu,
                        x_a_by_cpu: (if $ra and ($ra | cpu) and cpu then ($ra | cpu) / cpu else null end),
                        x_e_by_cpu: (if $re and ($re | cpu) and cpu then ($re | cpu) / cpu else null end)}
      else . end)' >"$rows_json"

jq -n --slurpfile rows "$rows_json" --slurpfile follower "$follower_json" --slurpfile batch "$batch_json" --arg cores "$CORES" --arg workers "$WORKERS" \
  --arg node "$NODE_PROCS" --arg conns "${BENCH_CONNECTIONS:-32}" --arg dur "$DURATION" --arg rounds "$ROUNDS" \
  --arg threads "${BENCH_THREADS:-2}" '
  {settings: {cores: ($cores|tonumber), pool_workers: ($workers|tonumber),
              node_processes: ($node|tonumber), wrk_threads: ($threads|tonumber),
              connections: ($conns|tonumber), seconds_per_round: ($dur|tonumber),
              rounds: ($rounds|tonumber), transport: "TLS, HTTP/1.1 keep-alive"},
   rows: $rows[0],
   # The new-event path with its run record (d0) beside its baselines from the same run.
   comparisons: (($rows[0] | map({(.row): .}) | add) as $r |
     [ ["d0", "d", "retrain with its run record vs echo (no Vertex call, no run record)"],
       ["d0", "e2", "retrain with its run record vs the usual stack with a durable set"],
       ["d", "e2", "echo vs the usual stack with a durable set: the same work (auth, durable de-duplication)"],
       ["d1", "d0", "the batched rule (the request path joins a batch) vs the unbatched one (a create per event)"] ]
     | map(. as [$x, $y, $what] | {row: $x, baseline: $y, what: $what,
         rps: $r[$x].rps, baseline_rps: $r[$y].rps, p99_ms: $r[$x].p99_ms, baseline_p99_ms: $r[$y].p99_ms,
         cpu_us_per_req: $r[$x].cpu_us_per_req, baseline_cpu_us_per_req: $r[$y].cpu_us_per_req}
       | . + {rps_ratio: (if .rps and .baseline_rps then .rps / .baseline_rps else null end),
              p99_ratio: (if .p99_ms and .baseline_p99_ms then .p99_ms / .baseline_p99_ms else null end),
              cpu_ratio: (if .cpu_us_per_req and .baseline_cpu_us_per_req then .cpu_us_per_req / .baseline_cpu_us_per_req else null end)})),
   follower: $follower[0],
   batch: $batch[0],
   targets: (($rows[0] | map({(.row): .}) | add) as $r |
     [ {claim: "a2 >= 0.8 x a", value: $r.a2.x_a, by_cpu: $r.a2.x_a_by_cpu},
       {claim: "a3 >= 0.8 x a2", value: (if $r.a3.rps and $r.a2.rps then $r.a3.rps / $r.a2.rps else null end),
        by_cpu: (if $r.a3.cpu_us_per_req and $r.a2.cpu_us_per_req then $r.a2.cpu_us_per_req / $r.a3.cpu_us_per_req else null end)},
       {claim: "a3 max < 250 ms", value: $r.a3.max_ms},
       {claim: "b >= 0.8 x a", value: $r.b.x_a, by_cpu: $r.b.x_a_by_cpu},
       {claim: "b >= 6 x e", value: $r.b.x_e, by_cpu: $r.b.x_e_by_cpu},
       {claim: "pool worker RSS < 8 MiB", value: ([$r[] | .rss_per_worker_max_mib // empty] | max)},
       {claim: "pool worker PSS < 8 MiB", value: ([$r[] | .pss_per_worker_max_mib // empty] | max)} ]
     | map(. + {met: (if .value == null then null
                      elif (.claim | test("SS")) then .value < 8
                      elif (.claim | test("max <")) then .value < 250
                      elif (.claim | test("6 x")) then .value >= 6 else .value >= 0.8 end)}))}' \
  >"$E2E_DIR/results.json"
for name in "${micro_json[@]}"; do
  jq --arg n "$name" --slurpfile m "$E2E_DIR/micro-$name.json" '.micro[$n] = $m[0]' \
    "$E2E_DIR/results.json" >"$E2E_DIR/results.tmp" && mv "$E2E_DIR/results.tmp" "$E2E_DIR/results.json"
done
cp "$E2E_DIR/results.json" "$JSON_OUT"

echo
bench_table "$JSON_OUT"
echo
bench_compare "$JSON_OUT"
echo
bench_follow_print "$JSON_OUT"
echo
bench_batch_print "$JSON_OUT"
echo
echo "figures: $JSON_OUT"
exit $broken
