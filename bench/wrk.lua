-- wrk script for bench/run.sh: POSTs one CloudEvent (binary mode) per request and checks every
-- answer, so a figure never counts requests that did the wrong thing.
--
-- Environment (read by each of wrk's thread states):
--   BENCH_TOKENS   file of bearer tokens, one a line, used in turn (unset: no Authorization)
--   BENCH_ID       the ce-id of every request (a redelivery); unset: a distinct id per request,
--                  BENCH_ID_PREFIX-<thread>-<n>, so each request is a new event
--   BENCH_EXPECT   the status every answer must have (default 200)
--   BENCH_BODY     a substring every answer's body must contain (default: none)
--   BENCH_ALSO_EXPECT, BENCH_ALSO_BODY
--                  another answer that is right too (a status, and a substring of its body):
--                  counted among the right ones and also on its own ("also" in the figures)
--   BENCH_OUT      file the figures are written to as one JSON object
-- The CloudEvent is a google.cloud.storage.object.v1.finalized of gs://acme-data/
-- datasets/churn/bench.csv, which the bench's rules match.

local threads = {}
local next_thread = 1

function setup(thread)
  thread:set("tid", next_thread)
  next_thread = next_thread + 1
  table.insert(threads, thread)
end

local tokens = {}
local fixed_id, prefix
local expect_status, expect_body, also_status, also_body
local n = 0
ok, bad, also, first_bad = 0, 0, 0, ""

function init(args)
  local path = os.getenv("BENCH_TOKENS")
  if path and path ~= "" then
    for line in io.lines(path) do
      if line ~= "" then tokens[#tokens + 1] = "Bearer " .. line end
    end
  end
  fixed_id = os.getenv("BENCH_ID")
  if fixed_id == "" then fixed_id = nil end
  prefix = (os.getenv("BENCH_ID_PREFIX") or "bench") .. "-" .. tid .. "-"
  expect_status = tonumber(os.getenv("BENCH_EXPECT") or "200")
  expect_body = os.getenv("BENCH_BODY")
  if expect_body == "" then expect_body = nil end
  also_status = tonumber(os.getenv("BENCH_ALSO_EXPECT") or "")
  also_body = os.getenv("BENCH_ALSO_BODY")
  if also_body == "" then also_body = nil end
  wrk.method = "POST"
  wrk.body = '{"bucket":"acme-data","name":"datasets/churn/bench.csv","generation":"1"}'
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["ce-specversion"] = "1.0"
  wrk.headers["ce-type"] = "google.cloud.storage.object.v1.finalized"
  wrk.headers["ce-source"] = "//storage.googleapis.com/projects/_/buckets/acme-data"
  wrk.headers["ce-subject"] = "objects/datasets/churn/bench.csv"
  wrk.headers["ce-bucket"] = "acme-data"
end

function request()
  n = n + 1
  if #tokens > 0 then wrk.headers["Authorization"] = tokens[n % #tokens + 1] end
  wrk.headers["ce-id"] = fixed_id or (prefix .. n)
  return wrk.format()
end

function response(status, headers, body)
  if status == expect_status and (not expect_body or string.find(body, expect_body, 1, true)) then
    ok = ok + 1
  elseif also_status and status == also_status and (not also_body or string.find(body, also_body, 1, true)) then
    ok = ok + 1
    also = also + 1
  else
    bad = bad + 1
    if first_bad == "" then first_bad = status .. " " .. string.sub(body or "", 1, 160) end
  end
end

local function json_string(s)
  return '"' .. string.gsub(s, '[%c"\\]', function(c) return string.format("\\u%04x", string.byte(c)) end) .. '"'
end

function done(summary, latency, requests)
  local good, wrong, other, sample = 0, 0, 0, ""
  for _, t in ipairs(threads) do
    good = good + t:get("ok")
    wrong = wrong + t:get("bad")
    other = other + t:get("also")
    if sample == "" then sample = t:get("first_bad") end
  end
  local e = summary.errors
  local out = string.format(
    '{"requests":%d,"duration_s":%.3f,"rps":%.1f,"p50_ms":%.3f,"p99_ms":%.3f,"max_ms":%.3f,' ..
    '"ok":%d,"also":%d,"wrong":%d,"socket_errors":%d,"first_wrong":%s}\n',
    summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000,
    good, other, wrong, e.connect + e.read + e.write + e.timeout, json_string(sample))
  local path = os.getenv("BENCH_OUT")
  if path and path ~= "" then
    local f = assert(io.open(path, "w"))
    f:write(out)
    f:close()
  else
    io.write(out)
  end
end
