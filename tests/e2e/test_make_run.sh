#!/usr/bin/env bash
# `make run` end to end: scripts/run.sh on free ports with a private var directory; a CSV
# dropped into its inbox is signed, delivered through nginx and recorded in the ledger, and —
# when this build has the retrain function — becomes a training pipeline in the emulator that
# registers a new model version. Dotfiles and partial files are not sent. SIGTERM to run.sh
# stops every process it started and frees its ports.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/run_lib.sh"
e2e_init

VAR="$E2E_DIR/var"
run_free_ports
HTTPS_PORT=$RUN_HTTPS EMU_PORT=$RUN_EMU
BASE="https://127.0.0.1:$HTTPS_PORT"
EMU="http://127.0.0.1:$EMU_PORT"
LOG="$E2E_DIR/run.log"
LEDGER="sqlite://$VAR/ledger.db"

# The groups run.sh started; the trap stops any it left behind (run.sh itself is in e2e_pgids).
run_groups=()
stop_leftovers() {
  local g
  for g in "${run_groups[@]}"; do e2e_stop_group "$g" KILL; done
  e2e_cleanup
}
trap stop_leftovers EXIT

# A clean environment: only what the test chooses reaches run.sh (its access log: var.access.log).
run_spawn "$VAR" "$HTTPS_PORT" "$EMU_PORT" "$LOG" "$E2E_ROOT/scripts/run.sh"

# run.sh makes its own certificate in var/tls.
if e2e_wait_for 30 run_healthy "$VAR" "$HTTPS_PORT" && e2e_wait_for 10 grep -q 'is up' "$LOG"; then
  pass "run.sh serves $BASE/healthz"
else
  fail "run.sh did not come up"
  tail -n 40 "$LOG"
  e2e_finish
  exit 1
fi
mapfile -t run_groups < <(run_pgids "$VAR")
expect "run.sh started emulator, pool, nginx and sender" "${#run_groups[@]}" 4
expect "the inbox shows where CSVs go" "$([ -d "$VAR/inbox/datasets/churn" ] && echo yes)" yes
expect "the certificate is in var/tls" "$([ -s "$VAR/tls/cert.pem" ] && echo yes)" yes
if grep -q 'is up (function: retrain)' "$LOG"; then MODE="retrain"; else MODE="echo"; fi
echo "  (function: $MODE)"
if [ "$MODE" = echo ]; then
  expect_match "the echo fallback is said out loud" "$(cat "$LOG")" 'falling back to "echo"'
fi

# A dotfile and a partial download first: neither may become an event.
printf 'id,churn\n' >"$VAR/inbox/datasets/churn/.hidden.csv"
printf 'id,churn\n' >"$VAR/inbox/datasets/churn/big.csv.part"
# The real file, written in two halves a little apart: one event, for the whole file.
f="$VAR/inbox/datasets/churn/a.csv"
printf 'id,tenure,churn\n' >"$f"
sleep 0.2
printf '1,12,0\n2,3,1\n' >>"$f"
SIZE=$(stat -c %s "$f")
MD5=$(openssl md5 -binary "$f" | base64)

events() { RETRAIN_LEDGER="$LEDGER" "$BUILD/retrainctl" events list 2>/dev/null; }
one_done() { events | jq -e 'select(.subject=="objects/datasets/churn/a.csv" and .status=="done")'; }
if e2e_wait_for 20 one_done; then pass "the event is in the ledger, done"; else fail "no done event in the ledger: $(events)"; fi
sleep 1 # time for a second (wrong) delivery to show up
expect "exactly one event: no dotfile, no partial file, no half file" "$(events | jq -s length)" 1
rec=$(events | jq -c 'select(.subject=="objects/datasets/churn/a.csv")')
expect "ce-type" "$(json_get .type "$rec")" google.cloud.storage.object.v1.finalized
expect "ce-source names the bucket" "$(json_get .source "$rec")" //storage.googleapis.com/projects/_/buckets/acme-data
expect_match "the sender logged the delivery and the answer" "$(grep '"component":"sender"' "$LOG")" \
  '"message":"delivered datasets/churn/a.csv: 200 [a-z]+"'
expect "the token never reaches the log" "$(grep -c 'eyJ' "$LOG" "$VAR.access.log" | awk -F: '{s+=$2} END {print s}')" 0

AT=$(curl -sS --max-time 10 -H 'Metadata-Flavor: Google' \
  "$EMU/computeMetadata/v1/instance/service-accounts/default/token" | jq -r .access_token)
P="$EMU/v1/projects/test-project/locations/us-central1"
if [ "$MODE" = retrain ]; then
  expect "the emulator created one training pipeline" \
    "$(curl -sS "$EMU/emulator/stats" | jq -r .created.trainingPipelines)" 1
  pipeline_done() { vx "$P/trainingPipelines" | jq -e '.trainingPipelines[0].state == "PIPELINE_STATE_SUCCEEDED"'; }
  if e2e_wait_for 20 pipeline_done; then pass "the pipeline succeeded"; else fail "pipeline: $(vx "$P/trainingPipelines")"; fi
  tp=$(vx "$P/trainingPipelines" | jq -c '.trainingPipelines[0]')
  expect_match "the pipeline trains on the dropped object" "$tp" 'gs://acme-data/datasets/churn/a.csv'
  expect_match "its model goes to the churn model" "$(json_get .modelToUpload.name "$tp")" \
    '^projects/test-project/locations/us-central1/models/churn@2$'
  versions=$(vx "$P/models/churn:listVersions")
  expect "a second version of churn is registered" "$(json_get '.models | length' "$versions")" 2
  # The example rule's gate: the emulator scored the run (RUN_SCORES' first, 0.81) and nothing
  # served "production" yet, so the gate moves it to the new version, which keeps "candidate".
  aliases_of_2() { vx "$P/models/churn:listVersions" | jq -r '.models | map(select(.versionId == "2") | .versionAliases[]) | sort | join(",")'; }
  promoted() { [ "$(aliases_of_2)" = candidate,production ]; }
  if e2e_wait_for 20 promoted; then pass "the gate promoted it: it serves as production"; else fail "aliases of version 2: $(aliases_of_2)"; fi
  # The operator's page shows the dropped file's run, the version it made and the chart.
  "${CURL[@]}" --cacert "$VAR/tls/cert.pem" -o "$E2E_DIR/ui.html" "$BASE/ui/"
  expect_match "/ui/ shows the dropped file" "$(cat "$E2E_DIR/ui.html")" 'datasets/churn/a\.csv'
  expect_match "/ui/ shows the model's chart" "$(cat "$E2E_DIR/ui.html")" '<svg'
  expect_match "/ui/ shows version 2 promoted" "$(tr -d '\n' <"$E2E_DIR/ui.html")" '>2<.*promoted'
else
  expect "echo answered the event" "$(json_get .outcome.status "$rec")" echoed
  data=$(printf '%s' "$rec" | jq -c .outcome.echo.data)
  expect "the object's size" "$(json_get .size "$data")" "$SIZE"
  expect "the object's md5Hash is the file's MD5" "$(json_get .md5Hash "$data")" "$MD5"
  expect "the object name" "$(json_get .name "$data")" datasets/churn/a.csv
  if command -v python3 >/dev/null; then # an independent CRC-32C (bitwise, not table-driven)
    crc=$(python3 -c 'import sys, base64
c = 0xFFFFFFFF
for b in open(sys.argv[1], "rb").read():
    c ^= b
    for _ in range(8):
        c = (c >> 1) ^ (0x82F63B78 if c & 1 else 0)
print(base64.b64encode((c ^ 0xFFFFFFFF).to_bytes(4, "big")).decode())' "$f")
    expect "the object's crc32c is the file's CRC-32C" "$(json_get .crc32c "$data")" "$crc"
  fi
  expect "nothing was created in Vertex" "$(curl -sS "$EMU/emulator/stats" | jq -r '.created.trainingPipelines')" 0
fi

# `send --once`, through --connect-to as in docker-compose: the URL names localhost (the
# certificate's other name), the connection goes to 127.0.0.1; exit 0 once acknowledged.
mkdir -p "$E2E_DIR/once/datasets/churn"
printf 'id,churn\n3,1\n' >"$E2E_DIR/once/datasets/churn/b.csv"
timeout 30 "$BUILD/gcp-emulator" send --once --inbox "$E2E_DIR/once" \
  --target "https://localhost:$HTTPS_PORT/" --connect-to "localhost:$HTTPS_PORT:127.0.0.1:$HTTPS_PORT" \
  --audience "$BASE/" --issuer "$EMU" --cacert "$VAR/tls/cert.pem" --settle-ms 100 \
  >"$E2E_DIR/once.log" 2>&1
expect "send --once exits 0 when its delivery is acknowledged" "$?" 0
# (retrain folds it into the pipeline a.csv started: the rule's min_interval_s)
expect_match "and the ledger has its event" \
  "$(events | jq -r 'select(.subject=="objects/datasets/churn/b.csv") | .status')" '^(done|coalesced)$'
expect_match "send --once logs one delivery" "$(cat "$E2E_DIR/once.log")" '"delivered":1,"failed":0'

# A directory made after start is watched too (inotify learns it on the next scan).
mkdir -p "$VAR/inbox/models/fresh/deep"
printf 'x' >"$VAR/inbox/models/fresh/deep/x.bin"
seen() { events | jq -e "select(.subject==\"objects/$1\")"; }
if e2e_wait_for 20 seen models/fresh/deep/x.bin; then pass "a new subdirectory's file is delivered"; else fail "models/fresh/deep/x.bin never arrived"; fi

# The polling fallback: --poll, no inotify, still sees a file dropped while it runs.
mkdir -p "$E2E_DIR/polled"
e2e_spawn "$E2E_DIR/poll.log" "$BUILD/gcp-emulator" send --poll --interval-ms 200 --settle-ms 100 \
  --inbox "$E2E_DIR/polled" --target "$BASE/" --issuer "$EMU" --cacert "$VAR/tls/cert.pem"
POLL_PID=$LAST_PID
e2e_wait_for 10 grep -q '"inotify":false' "$E2E_DIR/poll.log"
printf 'id\n9\n' >"$E2E_DIR/polled/p.csv"
if e2e_wait_for 20 seen p.csv; then pass "--poll delivers a file dropped after start"; else fail "--poll: $(cat "$E2E_DIR/poll.log")"; fi
e2e_stop_group "$POLL_PID"

# Retries: a target answering 503 (the emulator with every non-control path faulted) is tried
# --max-attempts times with backoff, then given up (exit 1); a final status (404) is not retried.
curl -sS -X POST "$EMU/emulator/faults" -d '{"rate_503":1,"paths":"/push"}' >/dev/null
timeout 30 "$BUILD/gcp-emulator" send --once --inbox "$E2E_DIR/once" --target "$EMU/push" \
  --issuer "$EMU" --settle-ms 100 --max-attempts 3 >"$E2E_DIR/retry.log" 2>&1
expect "a delivery never acknowledged exits 1" "$?" 1
expect "it was retried twice, with backoff" "$(grep -c '"message":"delivery of .* retrying"' "$E2E_DIR/retry.log")" 2
expect_match "and given up after 3 attempts" "$(grep '"message":"failed' "$E2E_DIR/retry.log")" \
  '"http_status":503,"attempts":3'
curl -sS -X POST "$EMU/emulator/faults" -d '{}' >/dev/null
timeout 30 "$BUILD/gcp-emulator" send --once --inbox "$E2E_DIR/once" --target "$EMU/push" \
  --issuer "$EMU" --settle-ms 100 --max-attempts 3 >"$E2E_DIR/final.log" 2>&1
expect "a 404 is final: exit 1" "$?" 1
expect_match "after one attempt" "$(grep '"message":"failed' "$E2E_DIR/final.log")" '"http_status":404,"attempts":1'
closed=$(e2e_free_port)
timeout 30 "$BUILD/gcp-emulator" send --once --inbox "$E2E_DIR/once" --target "$BASE/" \
  --cacert "$VAR/tls/cert.pem" --issuer "http://127.0.0.1:$closed" --settle-ms 100 \
  --max-attempts 2 >"$E2E_DIR/noissuer.log" 2>&1
expect "no issuer: exit 1" "$?" 1
expect_match "no issuer: said so, and nothing was sent" "$(grep '"message":"failed' "$E2E_DIR/noissuer.log")" \
  '"http_status":0,"attempts":2,.*"error":"no ID token from the issuer"'
expect "no token in the sender's logs" "$(cat "$E2E_DIR"/*.log | grep -c 'eyJ')" 0

# A port already taken: a second run.sh refuses at once, naming it.
out=$(RUN_VAR_DIR="$E2E_DIR/var2" RUN_HTTPS_PORT="$HTTPS_PORT" RUN_EMULATOR_PORT="$(e2e_free_port)" \
  BUILD="$BUILD" timeout 20 "$E2E_ROOT/scripts/run.sh" 2>&1)
rc=$?
expect "a second run.sh on the same port exits 1" "$rc" 1
expect_match "and says which port" "$out" "port 127.0.0.1:$HTTPS_PORT is taken"

# SIGTERM to run.sh alone, twice (make passes its own SIGTERM on, an impatient user presses
# Ctrl-C again): it still stops everything it started.
kill -TERM "$RUN_PID"
sleep 0.05
kill -TERM "$RUN_PID" 2>/dev/null
if e2e_wait_for 30 bash -c "! kill -0 $RUN_PID"; then pass "run.sh exits on SIGTERM"; else fail "run.sh still running"; fi
alive=()
for g in "${run_groups[@]}"; do kill -0 -- "-$g" 2>/dev/null && alive+=("$g"); done
expect "no process group run.sh started is left" "${alive[*]}" ""
expect "port $HTTPS_PORT is free" "$(run_listening "$HTTPS_PORT" || echo yes)" yes
expect "port $EMU_PORT is free" "$(run_listening "$EMU_PORT" || echo yes)" yes
expect "the socket is gone" "$([ -e "$VAR/run/fcgi.sock" ] && echo left || echo gone)" gone
expect_match "run.sh said it stopped" "$(tail -n 3 "$LOG")" 'run: stopped'

e2e_finish
