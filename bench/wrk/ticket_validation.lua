-- wrk script for ticket validation, which needs a fresh single-use ticket per
-- call: each connection alternates commnetAuth getST(accesstoken), which
-- issues a ticket, and ticketValidation(st), which redeems it. So half the
-- requests are validations; RESULT counts both.
-- Environment (bench/prepare.py style, sso.replay_protection = false):
--   WRK_PATH         /sso/servlet/ssoauth
--   WRK_AUTH         servicecode=demo&time=...&sign=...   (a valid signature)
--   WRK_ACCESSTOKEN  an access token of that app (idValidation + getToken)
--   wrk -t1 -c64 -d10s --latency -s bench/wrk/ticket_validation.lua http://127.0.0.1:8080
local path = os.getenv("WRK_PATH") or "/sso/servlet/ssoauth"
local auth = os.getenv("WRK_AUTH") or ""
local accesstoken = os.getenv("WRK_ACCESSTOKEN") or ""
local headers = {["Content-Type"] = "application/x-www-form-urlencoded"}

local tickets = {}   -- issued by getST, not yet validated (this thread)
local failed = 0

request = function()
  local st = table.remove(tickets)
  if st then
    return wrk.format("POST", path, headers,
      auth .. "&method=ticketValidation&datatype=json&st=" .. st)
  end
  return wrk.format("POST", path, headers,
    auth .. "&method=getST&datatype=json&accesstoken=" .. accesstoken)
end

response = function(status, headers, body)
  if status ~= 200 or not string.find(body, '"result":"0"', 1, true) then
    failed = failed + 1
    if failed == 1 then io.stderr:write("first failed reply: " .. status .. " " .. body .. "\n") end
    return
  end
  local st = string.match(body, '"st":"([^"]+)"')
  if st then table.insert(tickets, st) end
end

done = function(summary, latency, requests)
  io.write(string.format("RESULT requests=%d duration_us=%d p50_us=%d p99_us=%d errors=%d\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    summary.errors.connect + summary.errors.read + summary.errors.write +
    summary.errors.timeout + summary.errors.status))
end
