#!/usr/bin/env bash
# The operator's page, end to end: real deliveries (tokens from the emulator's issuer) through
# nginx over TLS to the pool running "retrain" with its follower and the emulator's Vertex AI,
# seeding the ledger with three versions of a gated model (promoted, promoted, held), a run
# that fails at Google and an object whose name is markup. Then, through nginx:
#   - GET /ui/ answers 200 HTML with a CSP that allows no script, nosniff, no-store and
#     no-referrer; every answer under /ui/ (errors too) carries them; POST is 405, an unknown
#     page 404; /ui/ is refused (403) to an address that is not loopback;
#   - the raw HTML holds the escaped forms of the markup an object name and Google's error
#     message carried, never the markup;
#   - headless Chromium's DOM of the page: the rules, their runs, the dead letter, the model's
#     versions table with decisions and aliases, an <svg> chart with one point per evaluated
#     version; no <script> element, no on* attribute anywhere; the injected text shown as text;
#   - the event page finds an event by id and by object name and shows its path: received →
#     run → version → decision;
#   - a screenshot (a PNG, copied to build/ui-screenshot.png);
#   - the same on two hosts sharing a PostgreSQL ledger: both show the same tables.
. "$(dirname "$0")/lib.sh"
e2e_init

AUD="https://retrain.test/"
SA="eventarc-trigger@test-project.iam.gserviceaccount.com"
e2e_start_emulator --audience "$AUD" --service-account "$SA" --jwks-max-age 300 --job-clock-ms 300
e2e_use_emulator
curl -sS -X POST "$EMU/emulator/vertex/models" -d '{"project":"test-project",
  "location":"us-central1","modelId":"churn","model":{"displayName":"churn"}}' >/dev/null
outcome() { # DISPLAY-NAME-PART METRICS-JSON
  curl -sS -X POST "$EMU/emulator/vertex/outcomes" \
    -d "{\"display_name_contains\":\"$1\",\"metrics\":$2,\"write\":\"evaluation\"}" >/dev/null
}

config() { # LEDGER-URL
  cat <<EOF
{"function":"retrain","workers":2,"request_timeout_s":20,
 "auth":{"audiences":["$AUD"],"service_accounts":["$SA"],
  "jwks_url":"$EMU/oauth2/v3/certs","jwks_cache":"$E2E_DIR/jwks-cache.json"},
 "ledger":{"url":"$1","lease_s":10},
 "vertex":{"project":"test-project","region":"us-central1","deadline_ms":3000},
 "storage":{"endpoint":"$EMU","timeout_ms":2000},
 "follow":{"first_s":1,"max_s":1,"reads_per_minute":6000,"creates_per_minute":6000},
 "rules":[{"name":"churn","action":"train_and_register",
   "match":{"type":"google.cloud.storage.object.v1.finalized","bucket":"acme-data","name":"churn/**.csv"},
   "job":{"displayName":"churn-\${event_id}",
    "jobSpec":{"workerPoolSpecs":[{"machineSpec":{"machineType":"n1-standard-4"},"replicaCount":"1",
     "containerSpec":{"imageUri":"us-docker.pkg.dev/test-project/retrain/train:1","args":["--data=\${gcs_uri}"]}}]}},
   "model":{"parent":"$P/models/churn","container_image":"us-docker.pkg.dev/test-project/retrain/serve:1"},
   "promote":{"alias":"production","metric":"auRoc","goal":"maximize","min_delta":0.01}},
  {"name":"bad","action":"train",
   "match":{"type":"google.cloud.storage.object.v1.finalized","bucket":"acme-data","name":"bad/*.csv"},
   "job":{"displayName":"fail-\${event_id}",
    "jobSpec":{"workerPoolSpecs":[{"machineSpec":{"machineType":"n1-standard-4"},"replicaCount":"1",
     "containerSpec":{"imageUri":"us-docker.pkg.dev/test-project/retrain/train:1"}}]}}}]}
EOF
}

# What an event sender controls: an object name and an event id that are markup. The id goes
# into the job's displayName, which Google's error message quotes.
EVIL_NAME='churn/"><script>alert(1)</script><img src=x onerror=alert(2)>.csv'
EVIL_ID='b1<img src=x onerror=alert(3)>'
TOKEN=$(curl -sS -X POST "$EMU/emulator/oidc/mint" -d '{}' | jq -r .token)
deliver() { # ID NAME: a storage event for gs://acme-data/NAME, with a real token
  http POST / -H "Authorization: Bearer $TOKEN" -H 'ce-specversion: 1.0' \
    -H 'ce-type: google.cloud.storage.object.v1.finalized' \
    -H 'ce-source: //storage.googleapis.com/projects/_/buckets/acme-data' -H "ce-id: $1" \
    -H "ce-subject: objects/$2" -H 'Content-Type: application/json' \
    --data "$(jq -cn --arg n "$2" '{bucket:"acme-data",name:$n,generation:"1"}')"
}
run_field() { "$BUILD/retrainctl" runs show "$1" | jq -r "$2"; }
decided() { [ "$(run_field "$1" '.promotion.decision | IN("promoted", "held")')" = true ]; }
failed() { [ "$(run_field "$1" .state)" = failed ]; }
train() { # ID OBJECT: delivers it and waits for its run's decision; sets RUN
  deliver "$1" "$2"
  RUN=$(json_get run)
  e2e_wait_for 40 decided "$RUN" || echo "  (run $RUN: $(run_field "$RUN" '.state + " " + (.promotion | tostring)'))"
}

# Seeds the ledger behind $BASE: three versions (0.80 promoted, 0.90 promoted, 0.70 held, the
# last one made from the object named markup) and a run that fails at Google.
seed() {
  outcome churn-u1 '{"auRoc":0.80}'
  train u1 churn/a.csv
  expect "seed: the first version promoted" "$(run_field "$RUN" .promotion.decision)" promoted
  outcome churn-u2 '{"auRoc":0.90}'
  train u2 churn/b.csv
  expect "seed: the better one promoted" "$(run_field "$RUN" .promotion.decision)" promoted
  outcome churn-u3 '{"auRoc":0.70}'
  train u3 "$EVIL_NAME"
  expect "seed: the worse one, named markup, held" "$(run_field "$RUN" .promotion.decision)" held
  deliver "$EVIL_ID" bad/x.csv
  BAD_RUN=$(json_get run)
  expect "seed: the failing rule's event submitted" "$STATUS/$(json_get status)" 200/submitted
  e2e_wait_for 30 failed "$BAD_RUN" || echo "  (run $BAD_RUN: $(run_field "$BAD_RUN" .state))"
  expect_match "seed: Google's error quotes the markup" "$(run_field "$BAD_RUN" .error.message)" \
    'emulated failure of fail-b1<img src=x onerror=alert\(3\)>'
}

CHROME=(timeout 60 chromium --headless=new --no-sandbox --disable-gpu --ignore-certificate-errors
  --no-first-run --disable-extensions --user-data-dir="$E2E_DIR/chrome")
# dom URL FILE: the DOM Chromium built of the page (scripts off or on makes no difference: the
# page has none and the CSP forbids them).
dom() { "${CHROME[@]}" --dump-dom "$1" >"$2" 2>>"$E2E_DIR/chrome.log"; }

# dom_facts FILE: what a test needs of a DOM, as one JSON object: the tags and on* attributes
# found anywhere, the rows of each table by class, the chart's points, the cells by class.
dom_facts() {
  python3 - "$1" <<'EOF'
import json, sys
from html.parser import HTMLParser

class Facts(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags, self.on_attrs, self.rows, self.points, self.texts = {}, [], {}, [], {}
        self.table, self.cell, self.stack = [], None, []
    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags[tag] = self.tags.get(tag, 0) + 1
        self.on_attrs += [k for k, _ in attrs if k.lower().startswith("on")]
        if tag == "table":
            self.table.append(a.get("class", ""))
        if tag == "tr" and self.table and a.get("class") is not None:
            self.rows[self.table[-1]] = self.rows.get(self.table[-1], 0) + 1
        if tag == "circle":
            self.points.append(a.get("class", ""))
        if tag in ("td", "span", "li", "p", "q", "h3"):
            self.stack.append((tag, a.get("class", ""), []))
    def handle_endtag(self, tag):
        if tag == "table" and self.table:
            self.table.pop()
        if self.stack and self.stack[-1][0] == tag:
            t, c, parts = self.stack.pop()
            text = "".join(parts)
            self.texts.setdefault(c, []).append(text)
            if self.stack:
                self.stack[-1][2].append(text)
    def handle_data(self, data):
        if self.stack:
            self.stack[-1][2].append(data)

f = Facts()
f.feed(open(sys.argv[1], encoding="utf-8").read())
print(json.dumps({"tags": f.tags, "on": f.on_attrs, "rows": f.rows, "points": f.points,
                  "text": f.texts}))
EOF
}
fact() { jq -r "$1" "$E2E_DIR/facts.json"; }

# ---- one host, SQLite ------------------------------------------------------------------------
LEDGER_URL=sqlite://$E2E_DIR/ledger.db
config "$LEDGER_URL" >"$E2E_DIR/retrain.json"
e2e_start_pool "$(cat "$E2E_DIR/retrain.json")"
e2e_start_nginx
export RETRAIN_LEDGER="$LEDGER_URL" RETRAIN_CONFIG="$E2E_DIR/retrain.json"

echo "seeding the ledger through real deliveries"
seed

echo "the page through nginx: status and headers"
http GET /ui/
expect "GET /ui/: 200" "$STATUS" 200
header() { printf '%s' "$HEADERS" | tr -d '\r' | awk -v h="$1" 'tolower($0) ~ "^" h ": " { sub(/^[^:]*: /, ""); print; exit }'; }
expect "content type" "$(header content-type)" "text/html; charset=utf-8"
csp="default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
expect "a CSP without scripts" "$(header content-security-policy)" "$csp"
expect "nosniff" "$(header x-content-type-options)" nosniff
expect "no-store" "$(header cache-control)" no-store
expect "no-referrer" "$(header referrer-policy)" no-referrer
expect_match "it reloads itself" "$BODY" '<meta http-equiv="refresh" content="5">'
http HEAD /ui/ -I
expect "HEAD /ui/: 200" "$STATUS" 200
http POST /ui/ --data x
expect "POST /ui/: 405" "$STATUS" 405
expect "405 says what is allowed" "$(header allow)" "GET, HEAD"
expect "405 has the CSP too" "$(header content-security-policy)" "$csp"
http GET /ui/nothing-here
expect "an unknown page: 404 HTML" "$STATUS $(header content-type)" "404 text/html; charset=utf-8"
expect "404 has the CSP too" "$(header content-security-policy)" "$csp"
http GET /ui/style.css
expect "the style sheet" "$STATUS $(header content-type)" "200 text/css; charset=utf-8"
http GET '/ui/event?id=%zz'
expect "a malformed query: 400" "$STATUS" 400

ip=$(hostname -I 2>/dev/null | tr ' ' '\n' | grep -E '^[0-9.]+$' | grep -v '^127\.' | head -n 1)
if [ -n "$ip" ]; then
  # A second nginx on every address, in its own directory, the same pool behind it.
  root=$E2E_DIR base=$BASE
  E2E_DIR=$root/wide
  mkdir -p "$E2E_DIR"
  chmod 711 "$E2E_DIR"
  LISTEN_ADDR=0.0.0.0 e2e_start_nginx
  wide_port=${BASE##*:}
  E2E_DIR=$root BASE=$base
  code=$(curl -sk --max-time 10 -o /dev/null -w '%{http_code}' "https://$ip:$wide_port/ui/")
  expect "/ui/ from a non-loopback address ($ip): refused" "$code" 403
  code=$(curl -sk --max-time 10 -o /dev/null -w '%{http_code}' "https://127.0.0.1:$wide_port/ui/")
  expect "the same nginx serves /ui/ to loopback" "$code" 200
else
  echo "  skip: this host has no non-loopback address to try /ui/ from"
fi

echo "the raw HTML: the markup an event sender sent is escaped"
"${CURL[@]}" -o "$E2E_DIR/ui.html" "$BASE/ui/"
raw=$(cat "$E2E_DIR/ui.html")
expect_match "the object name, escaped" "$raw" \
  '&quot;&gt;&lt;script&gt;alert\(1\)&lt;/script&gt;&lt;img src=x onerror=alert\(2\)&gt;\.csv'
expect_match "Google's error message, escaped" "$raw" 'failure of fail-b1&lt;img src=x onerror=alert\(3\)&gt;'
expect "no <script anywhere in the HTML" "$(grep -ci '<script' "$E2E_DIR/ui.html")" 0
expect "no <img anywhere in the HTML" "$(grep -ci '<img' "$E2E_DIR/ui.html")" 0

echo "headless Chromium: the DOM of /ui/"
if dom "$BASE/ui/" "$E2E_DIR/dom.html" && [ -s "$E2E_DIR/dom.html" ]; then
  pass "chromium built the page's DOM ($(wc -c <"$E2E_DIR/dom.html") bytes)"
else
  fail "chromium --dump-dom: $(tail -n 5 "$E2E_DIR/chrome.log")"
fi
dom_facts "$E2E_DIR/dom.html" >"$E2E_DIR/facts.json"
expect "no <script> element in the DOM" "$(fact '.tags.script // 0')" 0
expect "no <img> element in the DOM" "$(fact '.tags.img // 0')" 0
expect "no on* attribute in the DOM" "$(fact '.on | length')" 0
expect "both rules are shown" "$(fact '.text.name | map(select(. == "churn" or . == "bad")) | sort | join(" ")')" "bad churn"
expect "the runs: three of churn and one of bad" "$(fact '.rows.runs')" 4
expect "churn's runs in the summary" "$(fact '.text.total | join(" ")')" "1 3"
expect "the failed run's state" "$(fact '[.text.state[] | select(startswith("failed"))] | length')" 1
expect_match "Google's error shown as text" "$(fact '.text.error | join("\n")')" \
  '^13: The replica .* \(emulated failure of fail-b1<img src=x onerror=alert\(3\)>\)\.'
expect "one dead letter" "$(fact '.rows.dead')" 1
expect "the dead letter's id, as text" "$(fact '.text.id | map(select(startswith("b1"))) | first')" "$EVIL_ID"
expect "the versions table: three versions" "$(fact '.rows.versions')" 3
expect "their decisions" "$(fact '[.text.decision[] | select(IN("promoted", "held"))] | join(" ")' | awk '{print $(NF-2), $(NF-1), $NF}')" \
  "promoted promoted held"
expect "production is on the second version" "$(fact '[.text.aliases[] | select(. != "")] | join(" ")')" production
expect "the chart: one point per evaluated version" "$(fact '.points | join(",")')" \
  "point promoted,point promoted,point held"
expect "the chart is an <svg>" "$(fact '.tags.svg // 0')" 1
expect "the held version's value" "$(fact '.text.value | join(" ")')" "0.8 0.9 0.7"

echo "the event page: by id and by object name, with its path"
dom "$BASE/ui/event?id=u3" "$E2E_DIR/event-id.html"
dom_facts "$E2E_DIR/event-id.html" >"$E2E_DIR/facts.json"
expect "by id: one event" "$(fact '.text.count | first')" 1
expect "by id: the object name shown as text" "$(fact '.text.object | first')" "$EVIL_NAME"
expect_match "by id: received" "$(fact '.text["step received"] | first')" '^received 20[0-9-]+T.* \(done, rule churn\)$'
expect_match "by id: its run" "$(fact '.text["step run"] | first')" '^run [0-9a-f]{24} succeeded$'
expect_match "by id: its version" "$(fact '.text["step version"] | first')" '^version [0-9]+ of projects/test-project/locations/us-central1/models/churn$'
expect_match "by id: its decision" "$(fact '.text["step decision"] | first')" '^held \(auRoc 0\.7\): auRoc 0\.7 of version [0-9]+ does not beat 0\.9 of version [0-9]+'
expect "by id: no script, no on* attribute" "$(fact '[.tags.script // 0, .tags.img // 0, (.on | length)] | join(" ")')" "0 0 0"
name_q=$(jq -rn --arg n "$EVIL_NAME" '$n | @uri')
dom "$BASE/ui/event?name=$name_q" "$E2E_DIR/event-name.html"
dom_facts "$E2E_DIR/event-name.html" >"$E2E_DIR/facts.json"
expect "by name: one event" "$(fact '.text.count | first')" 1
expect "by name: the same event" "$(fact '.text.id | first')" u3
expect "by name: the name searched for, as text" "$(fact '.text[""] | map(select(startswith("churn/"))) | first')" "$EVIL_NAME"
expect "by name: no script, no on* attribute" "$(fact '[.tags.script // 0, .tags.img // 0, (.on | length)] | join(" ")')" "0 0 0"
dom "$BASE/ui/event?id=$(jq -rn --arg n "$EVIL_ID" '$n | @uri')" "$E2E_DIR/event-bad.html"
dom_facts "$E2E_DIR/event-bad.html" >"$E2E_DIR/facts.json"
expect_match "the dead letter's path: its run failed at Google" "$(fact '.text["step run"] | first')" \
  '^run [0-9a-f]{24} failed: 13 The replica .*fail-b1<img src=x onerror=alert\(3\)>'
expect "and no version" "$(fact '.text["step version"] // [] | length')" 0
expect "the dead letter's page: no script, no on* attribute" "$(fact '[.tags.script // 0, .tags.img // 0, (.on | length)] | join(" ")')" "0 0 0"

echo "a screenshot"
"${CHROME[@]}" --window-size=1280,1600 --screenshot="$E2E_DIR/ui.png" "$BASE/ui/" >>"$E2E_DIR/chrome.log" 2>&1
if [ "$(head -c 8 "$E2E_DIR/ui.png" 2>/dev/null | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ] &&
  [ "$(wc -c <"$E2E_DIR/ui.png")" -gt 20000 ]; then
  cp "$E2E_DIR/ui.png" "$BUILD/ui-screenshot.png"
  pass "a PNG of $(wc -c <"$E2E_DIR/ui.png") bytes: $BUILD/ui-screenshot.png"
else
  fail "no screenshot: $(tail -n 5 "$E2E_DIR/chrome.log")"
fi
e2e_check_logs "$E2E_DIR/nginx/access.log" "$E2E_DIR/pool.log"

# ---- two hosts, one PostgreSQL ledger -----------------------------------------------------
echo "two hosts on one PostgreSQL ledger show the same"
eval "$("$E2E_ROOT/tests/lib/pg.sh" start)"
e2e_pg_dir=$RETRAIN_TEST_PG_DIR
trap '"$E2E_ROOT/tests/lib/pg.sh" stop "$e2e_pg_dir" >/dev/null 2>&1; e2e_cleanup' EXIT
curl -sS -X POST "$EMU/emulator/reset" >/dev/null
curl -sS -X POST "$EMU/emulator/vertex/models" -d '{"project":"test-project",
  "location":"us-central1","modelId":"churn","model":{"displayName":"churn"}}' >/dev/null
TOKEN=$(curl -sS -X POST "$EMU/emulator/oidc/mint" -d '{}' | jq -r .token)
config "$RETRAIN_TEST_PG_URL" >"$E2E_DIR/retrain-pg.json"
export RETRAIN_LEDGER="$RETRAIN_TEST_PG_URL" RETRAIN_CONFIG="$E2E_DIR/retrain-pg.json"
e2e_host a "$E2E_DIR/retrain-pg.json"
e2e_host b "$E2E_DIR/retrain-pg.json"
# shellcheck disable=SC2154 # set by e2e_host
BASE=$BASE_a
seed
# The tables without what moves with the clock (the time read, durations so far).
tables() { dom "$1/ui/" "$2" && sed -e 's|<span class="now">[^<]*</span>||' -e 's|<td class="duration">[^<]*</td>||g' "$2" | grep -E '<tr|<td|<circle'; }
tables "$BASE_a" "$E2E_DIR/dom-a.html" >"$E2E_DIR/tables-a.txt"
# shellcheck disable=SC2154 # set by e2e_host
tables "$BASE_b" "$E2E_DIR/dom-b.html" >"$E2E_DIR/tables-b.txt"
expect "host b shows what host a does" "$(cmp -s "$E2E_DIR/tables-a.txt" "$E2E_DIR/tables-b.txt" && echo same)" same
dom_facts "$E2E_DIR/dom-b.html" >"$E2E_DIR/facts.json"
expect "host b: the runs, the versions, the chart" "$(fact '[.rows.runs, .rows.versions, (.points | length)] | join(" ")')" "4 3 3"
expect "host b: no script, no on* attribute" "$(fact '[.tags.script // 0, .tags.img // 0, (.on | length)] | join(" ")')" "0 0 0"
e2e_finish
