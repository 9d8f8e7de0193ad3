-- wrk script for whole approval case lifecycles through the HTTP API:
-- 收件 (POST cases) → 受理 (accept) → one agree per step → 办结 (the last agree),
-- each transition a real request with its own transaction. Every connection
-- takes the next due transition of any case in flight (a case's next action
-- is queued only when its previous one succeeded, so each case still goes
-- in order), or registers a new case when none is due.
--   WRK_PREFIX     the API prefix (default /approval/api/)
--   WRK_COOKIE     the staff session cookie ("TBSSO=...")
--   WRK_CSRF       the session's CSRF token
--   WRK_MATTER     the implement code to register under
--   WRK_APPLICANT  a JSON applicant object
-- Prints one RESULT line: lifecycles completed, requests, failures, seconds.
local prefix = os.getenv("WRK_PREFIX") or "/approval/api/"
local matter = os.getenv("WRK_MATTER")
local applicant = os.getenv("WRK_APPLICANT")
local headers = {
  ["Content-Type"] = "application/json",
  ["Cookie"] = os.getenv("WRK_COOKIE"),
  ["X-CSRF-Token"] = os.getenv("WRK_CSRF"),
}
local register_body = '{"implement_code":"' .. matter .. '","applicant":' .. applicant ..
                      ',"materials":[],"channel":"0"}'

-- Cases whose next transition may be sent, oldest first. A case is queued
-- again only when the reply to its previous transition arrived, so each case
-- goes in order whichever connection carries it; the reply (the case as JSON)
-- says what comes next.
local due = {}
local due_head, due_tail = 1, 0
lifecycles, failed = 0, 0
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function request()
  if due_head <= due_tail then
    local entry = due[due_head]
    due[due_head] = nil
    due_head = due_head + 1
    return wrk.format("POST", prefix .. "cases/" .. entry.number .. "/actions", headers,
                      '{"action":"' .. entry.action .. '","opinion":"同意"}')
  end
  return wrk.format("POST", prefix .. "cases", headers, register_body)
end

function response(status, hdrs, body)
  local number = status == 200 and body:match('"number":"(%w+)"')
  if not number then
    failed = failed + 1
    if failed == 1 then io.stderr:write("first failure: ", status, " ", body:sub(1, 300), "\n") end
    return
  end
  local state = body:match('"state":"([%w_]+)"')
  if state == "completed" then
    lifecycles = lifecycles + 1
    return
  end
  due_tail = due_tail + 1
  due[due_tail] = {number = number, action = state == "registered" and "accept" or "agree"}
end

function done(summary, latency, reqs)
  local total, total_failed = 0, 0
  for _, thread in ipairs(threads) do
    total = total + (thread:get("lifecycles") or 0)
    total_failed = total_failed + (thread:get("failed") or 0)
  end
  io.write(string.format(
      "RESULT lifecycles=%d requests=%d failed=%d seconds=%.3f p50_us=%d p99_us=%d\n",
      total, summary.requests, total_failed, summary.duration / 1e6,
      latency:percentile(50), latency:percentile(99)))
end
