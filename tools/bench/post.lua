-- wrk script for tools/bench/ofrep-wrk.sh: POSTs OFREP single-evaluation
-- requests with a bearer token (OFREP_TOKEN). With OFREP_VARY_KEY=1 each
-- request carries another of 1,024 targeting keys (pre-formatted in init, so
-- the client does no per-request formatting); otherwise wrk sends one static
-- request. done() prints one parseable summary line.
local token = os.getenv("OFREP_TOKEN") or ""
local vary = os.getenv("OFREP_VARY_KEY") == "1"

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. token
wrk.body = '{"context":{"targetingKey":"user-1","plan":"pro"}}'

if vary then
  local requests = {}
  local n = 0
  function init(args)
    for i = 1, 1024 do
      requests[i] = wrk.format(nil, nil, nil, string.format('{"context":{"targetingKey":"user-%d","plan":"pro"}}', i))
    end
  end
  function request()
    n = n % #requests + 1
    return requests[n]
  end
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "ofrep-wrk: requests=%d seconds=%.2f req_per_s=%.0f p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f p99.9_ms=%.3f max_ms=%.3f errors_connect=%d errors_read=%d errors_write=%d errors_timeout=%d non_2xx=%d\n",
    summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1e3, latency:percentile(90) / 1e3, latency:percentile(99) / 1e3,
    latency:percentile(99.9) / 1e3, latency.max / 1e3,
    e.connect, e.read, e.write, e.timeout, e.status))
end
