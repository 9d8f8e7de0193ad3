-- wrk load script that replays pre-signed calls, each once, from the file named
-- by WRK_REQUESTS: one "<path?query>\t<body>" per line, POSTed with the
-- Content-Type WRK_CONTENT_TYPE, each thread taking every n-th line (WRK_THREADS).
-- Counts replies that are not 200 or lack WRK_OK (a substring of the body).
-- Used by bench/payment_direct.py (Create_AppPay_Info, CODE="00") and
-- bench/payment_notify.py (channel notifications, "success").
local file = os.getenv("WRK_REQUESTS")
local content_type = os.getenv("WRK_CONTENT_TYPE") or "application/json"
local ok_text = os.getenv("WRK_OK") or ""
local counter = 1
local threads = {}

function setup(thread)
  thread:set("id", counter)
  table.insert(threads, thread)
  counter = counter + 1
end

function init(args)
  requests = {}
  failures = 0
  local n, total = 0, tonumber(os.getenv("WRK_THREADS") or "1")
  for line in io.lines(file) do
    n = n + 1
    if (n - 1) % total == id - 1 then
      local tab = line:find("\t", 1, true)
      table.insert(requests, wrk.format("POST", line:sub(1, tab - 1),
        {["Content-Type"] = content_type}, line:sub(tab + 1)))
    end
  end
  next_request = 1
end

function request()
  local r = requests[next_request]
  if r == nil then
    -- Out of pre-signed calls: a repeat (refused as a replay, or answered
    -- cheaply) would skew the rate.
    wrk.thread:stop()
    return requests[1]
  end
  next_request = next_request + 1
  return r
end

function response(status, headers, body)
  if status ~= 200 or not body:find(ok_text, 1, true) then
    failures = failures + 1
  end
end

function done(summary, latency, requests)
  local failed = 0
  for _, t in ipairs(threads) do failed = failed + t:get("failures") end
  io.write(string.format("replayed: %d requests, %d not ok (%s)\n",
                         summary.requests, failed, ok_text))
end
