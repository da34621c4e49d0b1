#!/usr/bin/env bash
# OIDC verification end to end: tokens minted by the emulator's test issuer, keys fetched from
# its JWKS by the pool's workers through the shared cache file, requests through nginx over TLS.
# A valid token reaches the function; every attack gets 401 with its own reason code; a key
# rotation is picked up without a restart; with the issuer down, cached keys keep working.
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
now=$(date +%s)

echo "valid tokens"
deliver "$(mint)"
expect "a valid token reaches the function" "$STATUS/$(json_get status)" 200/echoed
for i in 1 2 3 4 5 6; do deliver "$(mint)"; done
expect "more deliveries, both workers" "$STATUS" 200
expect "the workers share one fetch of the key set" "$(jwks_hits)" 1
deliver "$(mint '{"claims":{"aud":["https://other/","'"$AUD"'"]}}')"
expect "aud as an array that contains ours" "$STATUS" 200
http GET /healthz
expect "healthz needs no token" "$STATUS" 200

echo "key rotation at the issuer"
curl -sS -X POST "$EMU/emulator/oidc/rotate" >/dev/null
deliver "$(mint)"
expect "a token from the new key is accepted without a restart" "$STATUS/$(json_get status)" 200/echoed

echo "attacks, each with its reason code"
attack() { # NAME TOKEN CODE
  deliver "$2"
  expect "$1: 401 $3" "$STATUS/$(json_get error)" "401/$3"
}
attack "no Authorization header" "" missing_token
http POST / -H 'Authorization: Basic dXNlcjpwYXNz' -H 'ce-id: x' --data '{}'
expect "Basic scheme: 401 missing_token" "$STATUS/$(json_get error)" 401/missing_token
expect_match "WWW-Authenticate names invalid_token" "$HEADERS" 'www-authenticate: Bearer error="invalid_token"'
attack "alg none" "$(mint '{"sign":"none"}')" unsupported_alg
attack "HS256 keyed with the public key" "$(mint '{"sign":"hs256-pubkey"}')" unsupported_alg
attack "RS256 from another key claiming our kid" "$(mint '{"sign":"other-key"}')" bad_signature
good=$(mint)
IFS=. read -r h p s <<<"$good"
c=${s:10:1}
attack "one signature byte changed" "$h.$p.${s:0:10}$([ "$c" = A ] && echo B || echo A)${s:11}" bad_signature
p2=$(printf '%s' "$p" | tr 'a-y' 'b-z')
deliver "$h.$p2.$s"
expect_match "payload tampered: 401" "$STATUS/$(json_get error)" '^401/(bad_signature|malformed_token)$'
attack "two segments" "$h.$p" malformed_token
attack "four segments" "$h.$p.$s.$s" malformed_token
attack "padding" "$h.$p.$s==" malformed_token
attack "unknown kid" "$(mint '{"header":{"kid":"no-such-kid"}}')" unknown_key
attack "expired" "$(mint '{"claims":{"exp":'$((now - 3600))',"iat":'$((now - 7200))'}}')" expired
attack "iat in the future" "$(mint '{"claims":{"iat":'$((now + 600))',"exp":'$((now + 1200))'}}')" not_yet_valid
attack "wrong issuer" "$(mint '{"claims":{"iss":"https://evil.example"}}')" wrong_issuer
attack "wrong audience" "$(mint '{"claims":{"aud":"https://other/"}}')" wrong_audience
attack "email not allowed" "$(mint '{"claims":{"email":"intruder@evil.iam.gserviceaccount.com"}}')" unauthorized_account
attack "email_verified false" "$(mint '{"claims":{"email_verified":false}}')" unverified_email
attack "email_verified the string \"true\"" "$(mint '{"claims":{"email_verified":"true"}}')" unverified_email
attack "a 1024-bit key" "$(mint '{"sign":"small-key"}')" unknown_key
attack "crit header" "$(mint '{"header":{"crit":["exp"]}}')" malformed_token
attack "jku naming another key set" "$(mint '{"sign":"other-key","header":{"jku":"http://127.0.0.1:1/evil"}}')" bad_signature

echo "logs"
sleep 0.2
tokens_in_logs=0
for t in "$good" "$h.$p2.$s"; do grep -qF "$s" "$E2E_DIR/pool.log" "$E2E_DIR/nginx/access.log" && tokens_in_logs=1; done
expect "no token (nor its signature) in any log" "$tokens_in_logs" 0
line=$(grep '"reason":"wrong_audience"' "$E2E_DIR/pool.log" | head -n 1)
expect_match "the rejection log names reason, kid, iss, aud, email" "$line" '"kid":"[^"]+".*"iss":"https://accounts.google.com".*"aud":"https://other/".*"email":"'"$SA"'"'

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

e2e_check_logs
e2e_finish
