-- wrk load script for the base query service (issue 17): POSTs
-- {"key": <ID number>, "fields": ["name", "mobile"]} to
-- /catalogue/api/base/person/query with the OIDC access token in WRK_TOKEN,
-- each call a different person drawn from the WRK_PERSONS loaded by
-- bench/catalogue_lookup.py (the same mixed-radix numbering as
-- bench/catalogue_search_bench.cc's IdNumber). Counts replies that are not
-- code 0.
local token = os.getenv("WRK_TOKEN")
local persons = tonumber(os.getenv("WRK_PERSONS") or "1000")
local weights = {7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}
local checks = "10X98765432"
local counter = 1
local threads = {}

function setup(thread)
  thread:set("id", counter)
  table.insert(threads, thread)
  counter = counter + 1
end

function init(args)
  failures = 0
  math.randomseed(id * 7919)
end

local function id_number(n)
  local year = 1950 + n % 60
  local month = 1 + math.floor(n / 60) % 12
  local day = 1 + math.floor(n / 720) % 28
  local seq = math.floor(n / 20160) % 1000
  local body = string.format("110105%04d%02d%02d%03d", year, month, day, seq)
  local sum = 0
  for i = 1, 17 do sum = sum + (body:byte(i) - 48) * weights[i] end
  local c = (sum % 11) + 1
  return body .. checks:sub(c, c)
end

local headers = {["Content-Type"] = "application/json",
                 ["Authorization"] = "Bearer " .. (token or "")}

function request()
  local key = id_number(math.random(0, persons - 1))
  return wrk.format("POST", "/catalogue/api/base/person/query", headers,
                    '{"key":"' .. key .. '","fields":["name","mobile"]}')
end

function response(status, headers, body)
  if status ~= 200 or not body:find('"code":0', 1, true) then failures = failures + 1 end
end

function done(summary, latency, requests)
  local total = 0
  for _, t in ipairs(threads) do total = total + t:get("failures") end
  io.write(string.format("failures %d\n", total))
  io.write(string.format("p50_us %d\np99_us %d\n", latency:percentile(50), latency:percentile(99)))
end
