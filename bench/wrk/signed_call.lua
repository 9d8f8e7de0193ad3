-- wrk script for one signed SSO call, repeated: POST WRK_PATH with the form
-- body WRK_BODY (both from the environment, prepared by bench/run.sh with a
-- valid servicecode/time/sign). Counts replies whose result is not "0", so a
-- run that measured errors says so. Needs sso.replay_protection = false.
wrk.method = "POST"
wrk.path = os.getenv("WRK_PATH")
wrk.body = os.getenv("WRK_BODY")
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"

local failed = 0

response = function(status, headers, body)
  if status ~= 200 or not string.find(body, '"result":"0"', 1, true) then
    failed = failed + 1
    if failed == 1 then io.stderr:write("first failed reply: " .. status .. " " .. body .. "\n") end
  end
end

done = function(summary, latency, requests)
  io.write(string.format("RESULT requests=%d duration_us=%d p50_us=%d p99_us=%d errors=%d\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    summary.errors.connect + summary.errors.read + summary.errors.write +
    summary.errors.timeout + summary.errors.status))
end
