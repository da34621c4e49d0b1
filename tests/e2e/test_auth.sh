#!/usr/bin/env bash
# OIDC verification end to end: tokens minted by the emulator's test issuer, keys fetched from
# its JWKS by the pool's workers through the shared cache file, requests through nginx over TLS.
# A valid token reaches the function and the workers share one fetch of the key set; a key
# rotation is picked up without a restart; no token reaches a log; with the issuer down, cached
# keys keep working; floods of forged kids neither hammer the issuer nor hold a rotation back.
# Each attack's answer is a token case (tests/data/tokens/, run by test_delivery_cases.sh).
. "$(dirname "$0")/lib.sh"
e2e_init
AUD="https://retrain.test/"
SA="eventarc-trigger@test-project.iam.gserviceaccount.com"
e2e_start_emulator --audience "$AUD" --service-account "$SA" --jwks-max-age 300
e2e_start_pool "{\"function\":\"echo\",\"workers\":2,
  \"auth\":{\"audiences\":[\"$AUD\"],\"service_accounts\":[\"$SA\"],
            \"jwks_url\":\"$EMU/oauth2/v3/certs\",\"jwks_cache\":\"$E2E_DIR/jwks-cache.json\"},
  \"ledger\":{\"url\":\"sqlite://$E2E_DIR/ledger.db\"}}"
e2e_start_nginx

# mint JSON: a token from the issuer ({"claims":..,"header":..,"sign":..} overrides).
mint() { curl -sS -X POST "$EMU/emulator/oidc/mint" -d "${1:-{\}}" | jq -r .token; }
n=0
deliver() { # TOKEN: POSTs a fresh binary-mode event with that bearer token
  n=$((n + 1))
  http POST / -H "Authorization: Bearer $1" -H 'ce-specversion: 1.0' -H 'ce-type: t.v1' \
    -H 'ce-source: //auth' -H "ce-id: a-$n" -H 'Content-Type: application/json' --data '{}'
}
jwks_hits() { curl -sS "$EMU/emulator/oidc/jwks-hits" | jq -r .hits; }

echo "valid tokens"
deliver "$(mint)"
expect "a valid token reaches the function" "$STATUS/$(json_get status)" 200/echoed
for i in 1 2 3 4 5 6; do deliver "$(mint)"; done
expect "more deliveries, both workers" "$STATUS" 200
expect "the workers share one fetch of the key set" "$(jwks_hits)" 1

echo "key rotation at the issuer"
curl -sS -X POST "$EMU/emulator/oidc/rotate" >/dev/null
deliver "$(mint)"
expect "a token from the new key is accepted without a restart" "$STATUS/$(json_get status)" 200/echoed

# Every attack, with its reason code and its log line, is a token case (tests/data/tokens/, sent
# through nginx by test_delivery_cases.sh); here what needs the issuer's state or many requests.
echo "logs"
refused=$(mint '{"claims":{"aud":"https://other/"}}')
deliver "$refused"
expect "a refused token (its claims are logged)" "$STATUS/$(json_get error)" 401/wrong_audience
s=${refused##*.}
sleep 0.2
tokens_in_logs=0
grep -qF "$s" "$E2E_DIR/pool.log" "$E2E_DIR/nginx/access.log" && tokens_in_logs=1
expect "no token (nor its signature) in any log" "$tokens_in_logs" 0

echo "the issuer down: cached keys keep serving"
curl -sS -X POST "$EMU/emulator/oidc/down" -d '{"down":true}' >/dev/null
deliver "$(mint)"
expect "a valid token still accepted" "$STATUS/$(json_get status)" 200/echoed
curl -sS -X POST "$EMU/emulator/oidc/down" -d '{"down":false}' >/dev/null

echo "a flood of forged kids does not hammer the issuer"
before=$(jwks_hits)
flood_start=$SECONDS
"$BUILD/loadgen" --url "$BASE/" --cacert "$BUILD/tls/cert.pem" --connections 16 --requests 300 \
  -H "Authorization: Bearer $(mint '{"header":{"kid":"forged-kid"}}')" -H 'ce-specversion: 1.0' \
  -H 'ce-type: t' -H 'ce-source: //flood' -H 'ce-id: f-{n}' --body '{}' >"$E2E_DIR/flood.json"
expect "300 forged deliveries all 401" "$(json_get 'http."401"' "$(cat "$E2E_DIR/flood.json")")" 300
# One unknown-kid refetch per 5 s at most, pool-wide (the workers share the cache file).
allowed=$(((SECONDS - flood_start) / 5 + 1))
expect "at most one refetch per 5 s for them" "$([ $(($(jwks_hits) - before)) -le $allowed ] && echo yes)" yes
lines=$(grep -c '"kid":"forged-kid"' "$E2E_DIR/pool.log")
expect "the flood's log lines are rate-limited (some, not 300)" \
  "$([ "$lines" -ge 1 ] && [ "$lines" -lt 300 ] && echo yes)" yes

echo "a rotation right after a flood of forged kids is picked up within seconds"
# The flood spends the unknown-kid allowance and goes on (about 100 a second for 20 s); the
# issuer then publishes a new key, drops the old one and signs with the new one at once.
forged=$(mint '{"header":{"kid":"forged-before-rotation"}}')
deliver "$forged"
expect "a forged kid: 401 unknown_key" "$STATUS/$(json_get error)" 401/unknown_key
e2e_spawn "$E2E_DIR/flood2.json" "$BUILD/loadgen" --url "$BASE/" --cacert "$BUILD/tls/cert.pem" \
  --connections 4 --requests 2000 --rate 100 --max-seconds 20 \
  -H "Authorization: Bearer $forged" -H 'ce-specversion: 1.0' -H 'ce-type: t' \
  -H 'ce-source: //flood' -H 'ce-id: g-{n}' --body '{}'
flood_pid=$LAST_PID
sleep 1
hits_before=$(jwks_hits)
curl -sS -X POST "$EMU/emulator/oidc/rotate" >/dev/null
ms() { date +%s%3N; }
rotated_at=$(ms)
genuine=$(mint)
deliver "$genuine"
while [ "$STATUS" != 200 ] && [ $(($(ms) - rotated_at)) -lt 20000 ]; do
  sleep 0.2
  deliver "$genuine"
done
waited=$(($(ms) - rotated_at))
echo "  (accepted $waited ms after the rotation)"
expect "a genuine token with the new key accepted" "$STATUS/$(json_get status)" 200/echoed
# The allowance is one refetch per 5 s: 5 s, plus room for a loaded machine.
expect "accepted within a few seconds of the rotation" "$([ "$waited" -lt 8000 ] && echo yes)" yes
e2e_stop_group "$flood_pid"
allowed=$((($(ms) - rotated_at) / 5000 + 2))
expect "the flood cost at most one fetch per 5 s" \
  "$([ $(($(jwks_hits) - hits_before)) -le $allowed ] && echo yes)" yes

# shellcheck disable=SC2119 # no files named: the default logs, those this test made
e2e_check_logs
e2e_finish
