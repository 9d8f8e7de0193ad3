-- wrk script for a GET of WRK_PATH (default /livez, the fixed-body baseline).
wrk.method = "GET"
wrk.path = os.getenv("WRK_PATH") or "/livez"

done = function(summary, latency, requests)
  io.write(string.format("RESULT requests=%d duration_us=%d p50_us=%d p99_us=%d errors=%d\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    summary.errors.connect + summary.errors.read + summary.errors.write +
    summary.errors.timeout + summary.errors.status))
end
