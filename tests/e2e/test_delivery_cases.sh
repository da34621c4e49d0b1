#!/usr/bin/env bash
# The delivery and token cases (tests/data/deliveries/*.case, tests/data/tokens/*.case; see
# tests/data/README.md) end to end: each one sent through nginx over TLS to the pool (function
# echo, auth on, keys from the emulator's issuer), with the token the case describes minted by
# the emulator and mutated as the case says, must get the status, answer fields and headers it
# names, and the pool must log the line it names for that request (found by the request's own
# trace). The unit runner (build/tests/test_delivery_cases) reads the files, makes each token
# into its Authorization line (--emit-all, --authorize-all) and checks what came back
# (--check-all) with its own parser and checker, so both runners send the same requests and hold
# the answers to the same rules; this script only carries them to nginx and back.
#
# The pool logs at most 20 rejections a second per worker: the cases go at 18 a second.
. "$(dirname "$0")/lib.sh"
e2e_init

AUD="https://retrain.test/" AUD2="https://second.retrain.test/"
SA="eventarc-trigger@test-project.iam.gserviceaccount.com"
SA2="second-trigger@test-project.iam.gserviceaccount.com"
RUNNER="$BUILD/tests/test_delivery_cases"
e2e_start_emulator --audience "$AUD" --service-account "$SA" --jwks-max-age 300
e2e_start_pool "{\"function\":\"echo\",\"workers\":2,
  \"auth\":{\"audiences\":[\"$AUD\",\"$AUD2\"],\"service_accounts\":[\"$SA\",\"$SA2\"],
            \"jwks_url\":\"$EMU/oauth2/v3/certs\",\"jwks_cache\":\"$E2E_DIR/jwks-cache.json\"},
  \"ledger\":{\"url\":\"sqlite://$E2E_DIR/ledger.db\"}}"
e2e_start_nginx

echo "reading the cases"
cases="$E2E_DIR/cases"
mkdir -p "$cases"
"$RUNNER" --emit-all "$cases" "$E2E_ROOT"/tests/data/deliveries/*.case \
  "$E2E_ROOT"/tests/data/tokens/*.case || fail "every case read"

echo "minting the tokens"
# One curl for every mint request; then the runner mutates each token as its case says.
mints="$E2E_DIR/mints.cfg"
: >"$mints"
sep=""
for dir in "$cases"/*/; do
  [ -e "$dir/mint.json" ] || continue
  printf '%surl = "%s/emulator/oidc/mint"\nmax-time = 20\nheader = "Content-Type: application/json"\ndata-binary = "@%smint.json"\noutput = "%sminted.json"\n' \
    "$sep" "$EMU" "$dir" "$dir" >>"$mints"
  sep=$'next\n'
done
curl -sS -K "$mints" || fail "the emulator minted every token"
"$RUNNER" --authorize-all "$cases" || fail "every token made into its Authorization line"

# Every case from one curl, on kept-alive connections, at most 18 a second; each request carries
# a traceparent of its own, by which its log lines are found.
cfg="$E2E_DIR/curl.cfg" n=0 skipped=0
printf 'rate = "18/s"\n' >"$cfg"
sep=""
for dir in "$cases"/*/; do
  dir=${dir%/}
  if [ -e "$dir/skip-e2e" ]; then skipped=$((skipped + 1)); continue; fi
  n=$((n + 1))
  trace=$(printf '%032x' "$n")
  printf '%s\n' "$trace" >"$dir/trace"
  { printf '%s\n' "$(<"$dir/headers")"; printf '%s' "$(<"$dir/authorization")"
    printf '\ntraceparent: 00-%s-%016x-01\n' "$trace" "$n"; } >"$dir/send-headers"
  read -r method path <"$dir/request"
  repeat=$(<"$dir/repeat") data=""
  [ -s "$dir/body" ] && data="data-binary = \"@$dir/body\""
  for ((i = 1; i <= repeat; i++)); do
    out=/dev/null heads=/dev/null
    [ "$i" -eq "$repeat" ] && out="$dir/answer" heads="$dir/answer-headers"
    # --next resets every option: each transfer names all of its own.
    printf '%scacert = "%s"\nmax-time = 20\npath-as-is\nurl = "%s%s"\nrequest = "%s"\nheader = "@%s/send-headers"\n%s\noutput = "%s"\ndump-header = "%s"\n' \
      "$sep" "$BUILD/tls/cert.pem" "$BASE" "$path" "$method" "$dir" "$data" "$out" "$heads" >>"$cfg"
    sep=$'next\n'
  done
done
echo "sending $n cases ($skipped kept out: their e2e: no line, or a known bug)"
curl -sS -K "$cfg" || fail "curl sent every case"

echo "checking the answers and the pool's log lines of each request"
sleep 0.3
checked=0
while IFS= read -r line; do
  checked=$((checked + 1))
  if [[ $line == *" ok" ]]; then e2e_passed=$((e2e_passed + 1)); else fail "$line"; fi
done < <("$RUNNER" --check-all "$cases" "$E2E_DIR/pool.log")
expect "every case checked" "$checked" "$n"

# shellcheck disable=SC2119 # no files named: the default logs, those this test made
e2e_check_logs
e2e_finish
