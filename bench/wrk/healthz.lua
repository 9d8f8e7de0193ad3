-- wrk load script for GET /healthz on a running tongban (keep-alive, one
-- request in flight per connection). Run it with bench/wrk/run.sh, or:
--   wrk -t2 -c64 -d15s --latency -s bench/wrk/healthz.lua http://127.0.0.1:8080
-- Turn the access log off (server.access_log = false) when measuring
-- throughput: a synchronous stderr line per request dominates otherwise.
wrk.method = "GET"
wrk.path = "/healthz"
wrk.headers["User-Agent"] = "wrk-tongban"

local non_200 = 0

response = function(status, headers, body)
  if status ~= 200 then
    non_200 = non_200 + 1
  end
end

done = function(summary, latency, requests)
  io.write(string.format("requests: %d  errors(connect/read/write/timeout): %d/%d/%d/%d  non-2xx: %d\n",
    summary.requests, summary.errors.connect, summary.errors.read, summary.errors.write,
    summary.errors.timeout, summary.errors.status))
  io.write(string.format("latency p50/p90/p99/max (us): %d/%d/%d/%d\n",
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
