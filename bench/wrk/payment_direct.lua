-- wrk load script for the payment direct interface: replays pre-signed
-- Create_AppPay_Info calls (each with its own nonce and notice number, made by
-- bench/payment_direct.py) from the file named by WRK_REQUESTS, one
-- "<path?query>\t<body>" per line, each thread taking every n-th line. Counts
-- replies that are not IS_SUCCESS CODE="00".
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
        {["Content-Type"] = "text/xml; charset=utf-8"}, line:sub(tab + 1)))
    end
  end
  next_request = 1
end

function request()
  local r = requests[next_request]
  if r == nil then
    -- Out of pre-signed calls: a repeat (refused as a replay) would skew the rate.
    wrk.thread:stop()
    return requests[1]
  end
  next_request = next_request + 1
  return r
end

function response(status, headers, body)
  if status ~= 200 or not body:find('CODE="00"', 1, true) then
    failures = failures + 1
  end
end

function done(summary, latency, requests)
  local failed = 0
  for _, t in ipairs(threads) do failed = failed + t:get("failures") end
  io.write(string.format("payment direct: %d requests, %d not CODE 00\n",
                         summary.requests, failed))
end
