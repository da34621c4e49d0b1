#!/usr/bin/env bash
# The alerts and the dashboard that ship (deploy/) work on what the pool really serves:
# promtool checks and unit-tests the alert rules and the Prometheus config; every metric the
# alerts and the dashboard name is on a real /metrics page (a misspelt name is caught); and a
# real Prometheus scraping the pool through nginx over TLS loads the alerts, evaluates every
# rule and every dashboard query without error, and has RetrainDeadLetters pending once a
# dead letter is in the ledger.
. "$(dirname "$0")/lib.sh"
e2e_init
DEPLOY=$E2E_ROOT/deploy
ALERTS=$DEPLOY/prometheus/alerts.yml
DASH=$DEPLOY/grafana/dashboard.json

echo "promtool on what ships"
check_cmd() { # NAME COMMAND...: passes when COMMAND succeeds, else fails with its output
  local name=$1 out
  shift
  if out=$("$@" 2>&1); then pass "$name"; else fail "$name: $(printf '%s' "$out" | tail -n 20)"; fi
}
check_cmd "promtool check rules alerts.yml" promtool check rules "$ALERTS"
check_cmd "promtool test rules alerts_test.yml" promtool test rules "$DEPLOY/prometheus/alerts_test.yml"
check_cmd "promtool check config prometheus.yml" promtool check config "$DEPLOY/prometheus/prometheus.yml"
expect "nine alerts" "$(grep -c '^      - alert: ' "$ALERTS")" 9
# Every alert has a unit test that expects it to fire.
while read -r a; do
  expect_match "alert $a has a firing test" \
    "$(grep -A2 "alertname: $a\$" "$DEPLOY/prometheus/alerts_test.yml")" 'exp_labels'
done < <(sed -n 's/^      - alert: //p' "$ALERTS")
# The unit tests can fail: a raised threshold breaks them.
mkdir -p "$E2E_DIR/mutant"
sed 's/max(retrain_dead_letters) > 0/max(retrain_dead_letters) > 5/' "$ALERTS" >"$E2E_DIR/mutant/alerts.yml"
cp "$DEPLOY/prometheus/alerts_test.yml" "$E2E_DIR/mutant/"
if promtool test rules "$E2E_DIR/mutant/alerts_test.yml" >/dev/null 2>&1; then
  fail "a broken alert fails its unit test"
else
  pass "a broken alert fails its unit test"
fi

echo "the dashboard"
check_cmd "dashboard.json is JSON" jq -e . "$DASH"
expect "one datasource input, Prometheus" \
  "$(jq -r '[.__inputs[] | .pluginId] | join(",")' "$DASH")" prometheus
DS_INPUT='["$'"{DS_PROMETHEUS}\"]" # Grafana's input variable, not the shell's
expect "every panel and query on that datasource" \
  "$(jq '[.panels[] | select(.type != "row") | .datasource.uid, .targets[].datasource.uid] | unique' -c "$DASH")" \
  "$DS_INPUT"
expect "panel ids unique" "$(jq '[.panels[].id] | (length == (unique | length))' "$DASH")" true
expect "panels inside the 24-column grid" \
  "$(jq '[.panels[].gridPos | select(.x + .w > 24)] | length' "$DASH")" 0
expect_match "panels with queries" "$(jq '[.panels[].targets[]?] | length' "$DASH")" '^[1-9][0-9]+$'
# Each query, with Grafana's variables given values, is PromQL that Prometheus parses.
DASH_EXPRS=$E2E_DIR/dash-exprs.txt
jq -r '.panels[].targets[]?.expr' "$DASH" |
  sed -e "s/\\\$__rate_interval/1m/g" -e "s/\\\$rule/.*/g" >"$DASH_EXPRS"
{
  echo "groups: [{name: dashboard, rules: ["
  n=0
  while IFS= read -r e; do
    n=$((n + 1))
    printf '  {record: "dashboard:q%d", expr: %s},\n' "$n" "$(jq -Rn --arg e "$e" '$e')"
  done <"$DASH_EXPRS"
  echo "]}]"
} >"$E2E_DIR/dash-rules.yml"
check_cmd "every dashboard query parses as PromQL" promtool check rules "$E2E_DIR/dash-rules.yml"

echo "a real pool's /metrics"
AUD="https://retrain.test/"
SA="eventarc-trigger@test-project.iam.gserviceaccount.com"
e2e_start_emulator --audience "$AUD" --service-account "$SA"
e2e_use_emulator
e2e_start_pool "$(
  cat <<JSON
{"function":"retrain","workers":2,"request_timeout_s":20,
 "auth":{"audiences":["$AUD"],"service_accounts":["$SA"],
  "jwks_url":"$EMU/oauth2/v3/certs","jwks_cache":"$E2E_DIR/jwks-cache.json"},
 "ledger":{"url":"sqlite://$E2E_DIR/ledger.db"},
 "vertex":{"project":"test-project","region":"us-central1","deadline_ms":5000},
 "follow":{"first_s":3600,"max_s":3600},
 "rules":[{"name":"broken","action":"train",
  "match":{"type":"google.cloud.storage.object.v1.finalized","bucket":"acme-data","name":"broken/*.csv"},
  "job":{"displayName":"broken-\${event_id}",
   "jobSpec":{"persistentResourceId":"no-such-resource",
    "workerPoolSpecs":[{"machineSpec":{"machineType":"n1-standard-4"},"replicaCount":"1",
    "containerSpec":{"imageUri":"us-docker.pkg.dev/test-project/retrain/train:1"}}]}}}]}
JSON
)"
e2e_start_nginx
TOKEN=$(curl -sS -X POST "$EMU/emulator/oidc/mint" -d '{}' | jq -r .token)
http POST / -H "Authorization: Bearer $TOKEN" -H 'ce-specversion: 1.0' \
  -H 'ce-type: google.cloud.storage.object.v1.finalized' \
  -H 'ce-source: //storage.googleapis.com/projects/_/buckets/acme-data' -H 'ce-id: mon-1' \
  -H 'ce-subject: objects/broken/a.csv' -H 'Content-Type: application/json' \
  --data '{"bucket":"acme-data","name":"broken/a.csv","generation":"1"}'
expect "a delivery Google refuses: a dead letter" "$STATUS/$(json_get status)" 200/failed
"${CURL[@]}" -o "$E2E_DIR/metrics.txt" "$BASE/metrics"
expect_match "scraped" "$(grep -c '^# TYPE retrain_' "$E2E_DIR/metrics.txt")" '^[1-9][0-9]+$'

# missing_names FILE...: the retrain_* names FILEs use that the scraped page does not declare
# (a histogram's _bucket, _sum and _count belong to its name).
missing_names() {
  local declared
  declared=$(sed -n 's/^# TYPE \(retrain_[a-z_]*\) .*/\1/p' "$E2E_DIR/metrics.txt")
  grep -ohE 'retrain_[a-z_]+' "$@" | sort -u | while read -r name; do
    base=$name
    for s in _bucket _sum _count; do
      [[ $name == *"$s" ]] && grep -qx "${name%"$s"}" <<<"$declared" && base=${name%"$s"}
    done
    grep -qx "$base" <<<"$declared" || echo "$name"
  done
}
# The alerts' expressions: from each expr: up to the alert's for: or labels:.
awk '/^ +expr:/ { on = 1 } /^ +(for|labels):/ { on = 0 } on' "$ALERTS" >"$E2E_DIR/alert-exprs.txt"
expect "every metric the alerts name is served" "$(missing_names "$E2E_DIR/alert-exprs.txt")" ""
expect "every metric the dashboard names is served" "$(missing_names "$DASH_EXPRS")" ""
echo 'sum(rate(retrain_evnets_total[5m]))' >"$E2E_DIR/typo.txt"
expect "a misspelt name is caught" "$(missing_names "$E2E_DIR/typo.txt")" retrain_evnets_total

echo "a real Prometheus scraping it"
PROM_PORT=$(e2e_free_port)
mkdir -p "$E2E_DIR/prom"
cp "$ALERTS" "$E2E_DIR/prom/alerts.yml"
cp "$E2E_DIR/dash-rules.yml" "$E2E_DIR/prom/dash-rules.yml"
cat >"$E2E_DIR/prom/prometheus.yml" <<YAML
global: {scrape_interval: 1s, evaluation_interval: 1s}
rule_files: [alerts.yml, dash-rules.yml]
scrape_configs:
  - job_name: retrain
    scheme: https
    tls_config: {ca_file: $BUILD/tls/cert.pem}
    static_configs: [{targets: ["${BASE#https://}"]}]
YAML
e2e_spawn "$E2E_DIR/prometheus.log" prometheus --config.file="$E2E_DIR/prom/prometheus.yml" \
  --storage.tsdb.path="$E2E_DIR/prom/data" --web.listen-address="127.0.0.1:$PROM_PORT"
PROM=http://127.0.0.1:$PROM_PORT
prom_q() { curl -sS --max-time 5 -G "$PROM/api/v1/$1" "${@:2}"; }
target_up() { [ "$(prom_q targets | jq -r '.data.activeTargets[0].health')" = up ]; }
if e2e_wait_for 30 target_up; then pass "Prometheus scrapes the pool over TLS"; else
  fail "Prometheus scrapes the pool: $(prom_q targets | jq -c '.data.activeTargets[0] | {health, lastError}')"
fi
# Every rule has been evaluated at least twice (rates need two samples) without error.
rules_ok() {
  prom_q rules | jq -e '[.data.groups[].rules[]] | length > 0 and
    all(.health == "ok" and .lastEvaluation != "0001-01-01T00:00:00Z")' >/dev/null
}
e2e_wait_for 20 rules_ok
sleep 3
expect "the nine alerts loaded" \
  "$(prom_q rules --data-urlencode type=alert | jq '[.data.groups[].rules[]] | length')" 9
expect "every alert and dashboard query evaluates without error" \
  "$(prom_q rules | jq -c '[.data.groups[].rules[] | select(.health != "ok") | {name, lastError}]')" "[]"
expect "the dead letter: RetrainDeadLetters pending" \
  "$(prom_q rules --data-urlencode type=alert |
    jq -r '.data.groups[].rules[] | select(.name == "RetrainDeadLetters") | .state')" pending
expect "no other alert active" \
  "$(prom_q alerts | jq -r '[.data.alerts[].labels.alertname] | unique | join(",")')" RetrainDeadLetters
expect "the runs panel has data" \
  "$(prom_q query --data-urlencode 'query=max by (rule, state) (retrain_runs)' |
    jq -r '.data.result[] | select(.metric.state == "failed") | .metric.rule')" broken

e2e_finish
