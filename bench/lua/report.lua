-- Shared by every bench script: counts failed answers and writes wrk's summary as JSON.
--
-- An answer counts as an error when its status is 400 or above (wrk counts those) or when
-- a 200 answer carries a GraphQL "errors" list, or ``also`` (a plain substring) if given.
-- Each thread's count is the global failed_answers; wrk's setup() gives each thread its
-- global thread_index (1-based). The summary goes to the file named by BENCH_WRK_OUT.

local threads = {}

function setup(thread)
  table.insert(threads, thread)
  thread:set("thread_index", #threads)
end

failed_answers = 0
error_samples = "" -- the first few failed answers, as JSON strings separated by commas
local samples = 0

local function json_string(text)
  local escaped = text:gsub('[%c"\\]', function(c)
    return string.format("\\u%04x", c:byte())
  end)
  return '"' .. escaped .. '"'
end

local function sample(status, body)
  if samples < 3 then
    samples = samples + 1
    local text = status .. " " .. (body or ""):sub(1, 300)
    error_samples = error_samples .. (error_samples == "" and "" or ",") .. json_string(text)
  end
end

function count_answer(status, body, also)
  if status >= 400 then
    sample(status, body)
    return false
  end
  if body and (body:find('"errors":', 1, true) or (also and body:find(also, 1, true))) then
    failed_answers = failed_answers + 1
    sample(status, body)
    return false
  end
  return true
end

function done(summary, latency, requests)
  local bad_bodies = 0
  local examples = {}
  for _, thread in ipairs(threads) do
    bad_bodies = bad_bodies + (thread:get("failed_answers") or 0)
    local text = thread:get("error_samples")
    if text and text ~= "" then
      table.insert(examples, text)
    end
  end
  local e = summary.errors
  local out = io.open(os.getenv("BENCH_WRK_OUT"), "w")
  out:write(string.format(
    '{"requests": %d, "duration_us": %d, "bytes": %d, '
      .. '"errors": {"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d, '
      .. '"body": %d}, '
      .. '"latency_us": {"min": %d, "mean": %.1f, "max": %d, "stdev": %.1f, '
      .. '"p50": %d, "p75": %d, "p90": %d, "p99": %d, "p999": %d}, '
      .. '"error_samples": [%s]}\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout, bad_bodies,
    latency.min, latency.mean, latency.max, latency.stdev,
    latency:percentile(50), latency:percentile(75), latency:percentile(90),
    latency:percentile(99), latency:percentile(99.9), table.concat(examples, ",")))
  out:close()
end
