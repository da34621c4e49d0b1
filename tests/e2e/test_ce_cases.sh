#!/usr/bin/env bash
# The CloudEvents cases (tests/data/cloudevents/*.case) end to end: each one sent through nginx
# over TLS to the pool (function echo, auth disabled on loopback), over HTTP/1.1 and over HTTP/2,
# must get the status it names, an error naming its attribute, and, when accepted, the
# attributes it lists. The files are read through the unit runner's own parser
# (test_ce_cases --emit), so both runners see the same requests.
#
# Then the same event with optional whitespace around its header values, delivered over both
# protocols, must be one event: one ledger record, the second delivery a duplicate. Last, every
# line the pool logged under all of this must be printable ASCII and valid JSON.
. "$(dirname "$0")/lib.sh"
e2e_init

CASES="$E2E_ROOT/tests/data/cloudevents"
pool_config() { # $1: the ledger file
  printf '{"function":"echo","workers":2,"auth":{"disabled":true},"ledger":{"url":"sqlite://%s"}}' "$1"
}
e2e_start_pool "$(pool_config "$E2E_DIR/ledger-h1.db")"
e2e_start_nginx

mkdir -p "$E2E_DIR/cases"
for f in "$CASES"/*.case; do
  name=$(basename "$f" .case)
  mkdir -p "$E2E_DIR/cases/$name"
  "$BUILD/tests/test_ce_cases" --emit "$f" "$E2E_DIR/cases/$name" || fail "$name: cannot read the case"
done

# Every case over one protocol ($1: --http1.1 or --http2) from one curl, on kept-alive
# connections; then one jq checks every answer: the status and protocol, and for a 4xx a
# message that names the attribute and says the phrase, for a 200 the echoed attributes.
run_all() {
  local proto=$1 before=$e2e_failed dir name cfg="$E2E_DIR/curl-${1#--}.cfg"
  local results="$E2E_DIR/results-${1#--}.txt" all="$E2E_DIR/all-${1#--}.jsonl"
  : >"$cfg"
  local sep=""
  for dir in "$E2E_DIR"/cases/*/; do
    dir=${dir%/}
    [ -e "$dir/skip-e2e" ] && continue
    # --next resets every option: each transfer names all of its own.
    printf '%s%s\ncacert = "%s"\nmax-time = 20\nurl = "%s/"\nrequest = "POST"\nheader = "@%s/headers"\ndata-binary = "@%s/body"\noutput = "%s/answer"\nwrite-out = "%s %%{http_code} %%{http_version}\\n"\n' \
      "$sep" "${proto#--}" "$BUILD/tls/cert.pem" "$BASE" "$dir" "$dir" "$dir" "$(basename "$dir")" >>"$cfg"
    sep=$'next\n'
  done
  curl -sS -K "$cfg" >"$results"
  : >"$all"
  local x r
  while read -r name got version; do
    dir="$E2E_DIR/cases/$name"
    x=$(<"$dir/expect.json") r=$(<"$dir/answer")
    printf '%s\t{"name":"%s","got":%s,"version":"%s","x":%s,"r":%s}\n' "$name" "$name" "${got:-0}" \
      "$version" "$x" "${r:-null}" >>"$all"
  done <"$results"
  local checked=0 line
  while IFS= read -r line; do
    checked=$((checked + 1))
    if [ "$line" = ok ]; then e2e_passed=$((e2e_passed + 1)); else fail "$line"; fi
  done < <(jq -rR --arg v "${proto#--http}" '
    (index("\t")) as $t | .[:$t] as $n
    | (.[$t + 1:] | fromjson? // {name: $n, got: 0, x: {expect: "a JSON answer"}, r: null})
    | .x as $x | .r as $r
    | if .got != $x.expect then "\(.name) \($v): status \(.got), want \($x.expect): \($r)"
      elif .version != $v then "\(.name): answered over HTTP/\(.version)"
      elif ($x.expect != 200 and (
             ($r.message | type) != "string"
             or ($x.attribute != null and ($r.message | contains("\"" + $x.attribute + "\"") | not))
             or ($x.message != null and ($r.message | contains($x.message) | not))))
        then "\(.name) \($v): the message does not name \($x.attribute // $x.message): \($r)"
      elif ($x.expect == 200 and (
             $r.status != "echoed"
             or ([$x.attrs | to_entries[] | select($r.echo[.key] != .value)] | length) > 0
             or ([$x.absent[] | . as $k | select($r.echo | has($k))] | length) > 0))
        then "\(.name) \($v): attributes differ: \($r)"
      else "ok" end' "$all")
  expect "every case answered over ${proto#--}" "$checked" "$(grep -c '^url' "$cfg")"
  echo "  $checked cases over ${proto#--}: $((e2e_failed - before)) failed"
}

echo "the CloudEvents cases over HTTP/1.1"
run_all --http1.1
# The same event ids again over HTTP/2 would be duplicates: a fresh ledger for the second pass.
e2e_stop_group "$POOL_PID"
e2e_start_pool "$(pool_config "$E2E_DIR/ledger-h2.db")"
e2e_wait_for 10 e2e_nginx_up || fail "the pool came back behind nginx"
echo "the CloudEvents cases over HTTP/2"
run_all --http2

echo "one event, one key: optional whitespace around header values, HTTP/1.1 and HTTP/2"
ows=(-H 'ce-type: com.example.someevent' -H 'ce-source: /ows' --data '{}')
http POST / --http1.1 -H $'ce-specversion: 1.0\t' -H $'ce-id: \tows-1 \t' "${ows[@]}"
expect "HTTP/1.1, blanks around ce-id and ce-specversion: accepted" "$STATUS/$(json_get status)" 200/echoed
expect "HTTP/1.1: the id without its blanks" "$(json_get echo.id)" ows-1
key1=$(json_get event.key)
http POST / --http2 -H 'ce-specversion: 1.0 ' -H 'ce-id: ows-1  ' "${ows[@]}"
expect "HTTP/2, the same event with other blanks: a duplicate of it" "$STATUS/$(json_get status)" 200/duplicate
expect "HTTP/2: the same ledger key" "$(json_get event.key)" "$key1"
http POST / --http2 -H 'ce-specversion: 1.0' -H 'ce-id: ows-2 ' "${ows[@]}"
expect "HTTP/2, a trailing blank on ce-id: the id without it" "$STATUS/$(json_get echo.id)" 200/ows-2
http POST / --http1.1 -H 'ce-specversion: 1.0' -H 'ce-id: ows-2' "${ows[@]}"
expect "HTTP/1.1, the same event without blanks: a duplicate" "$(json_get status)" duplicate
records=$(RETRAIN_LEDGER="sqlite://$E2E_DIR/ledger-h2.db" "$BUILD/retrainctl" events list --limit 1000)
expect "one ledger record per event" \
  "$(jq -sc '[.[] | select(.source == "/ows")] | map(.id) | sort' <<<"$records")" '["ows-1","ows-2"]'

echo "the pool's log lines"
sleep 0.2
lines=$(wc -l <"$E2E_DIR/pool.log")
expect "every pool log line is printable ASCII" "$(LC_ALL=C grep -c '[^ -~]' "$E2E_DIR/pool.log")" 0
expect "every pool log line is one JSON object" \
  "$(jq -c 'select(type != "object" or .severity == null)' "$E2E_DIR/pool.log" 2>&1 | wc -l)/$(jq -c . "$E2E_DIR/pool.log" 2>/dev/null | wc -l)" \
  "0/$lines"
expect_match "bidirectional overrides reach the log escaped" "$(grep -ci 'invoice\\u202efdp' "$E2E_DIR/pool.log")" '^[1-9]'

e2e_finish
