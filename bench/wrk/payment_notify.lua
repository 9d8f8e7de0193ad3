-- wrk load script for the payment channel's asynchronous notifications:
-- replays signed sandbox notifications (one per order, made by
-- bench/payment_notify.py) from the file named by WRK_REQUESTS, one
-- "<path>\t<form body>" per line. Counts replies that are not 200 "success".
local file = os.getenv("WRK_REQUESTS")
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
        {["Content-Type"] = "application/x-www-form-urlencoded"}, line:sub(tab + 1)))
    end
  end
  next_request = 1
end

function request()
  local r = requests[next_request]
  if r == nil then
    -- Out of notifications: a repeat is answered cheaply and would flatter the rate.
    wrk.thread:stop()
    return requests[1]
  end
  next_request = next_request + 1
  return r
end

function response(status, headers, body)
  if status ~= 200 or body ~= "success" then
    failures = failures + 1
  end
end

function done(summary, latency, requests)
  local failed = 0
  for _, t in ipairs(threads) do failed = failed + t:get("failures") end
  io.write(string.format("payment notify: %d requests, %d not success\n",
                         summary.requests, failed))
end
