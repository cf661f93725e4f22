-- POSTs one body over and over and prints the run's figures as one JSON line (latencies in µs).
-- Usage: wrk -t1 -c32 -d8s --latency -H 'content-type: application/json' -s post.lua <url> -- <body file> [count]
-- With "count", every response is read: non-2xx answers are counted exactly and the "version" field
-- of each 2xx body is tallied (slower, so only where versions matter). Without it wrk does not parse
-- responses and counts statuses >= 400 only.
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  local file = assert(io.open(args[1], "rb"))
  wrk.method = "POST"
  wrk.body = file:read("*a")
  file:close()
  counting = args[2] == "count"
  non2xx = 0
  versions = {}
  if not counting then response = nil end
end

function response(status, headers, body)
  if status < 200 or status > 299 then
    non2xx = non2xx + 1
    return
  end
  local version = body:match('"version"%s*:%s*(%d+)')
  if version then versions[version] = (versions[version] or 0) + 1 end
end

function done(summary, latency, requests)
  local counting, non2xx, tally = false, 0, {}
  for _, thread in ipairs(threads) do
    counting = thread:get("counting")
    non2xx = non2xx + thread:get("non2xx")
    for version, answers in pairs(thread:get("versions")) do
      tally[#tally + 1] = string.format('"%s":%d', version, answers)
    end
  end
  local errors = summary.errors
  io.write(string.format(
    '{"requests":%d,"durationMicros":%d,"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
    '"latencyMicros":{"p50":%d,"p90":%d,"p99":%d,"p999":%d,"mean":%.1f,"max":%d},"non2xx":%s,"versions":{%s}}\n',
    summary.requests, summary.duration, errors.connect, errors.read, errors.write, errors.status, errors.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency:percentile(99.9), latency.mean, latency.max,
    counting and tostring(non2xx) or "null", table.concat(tally, ",")))
end
