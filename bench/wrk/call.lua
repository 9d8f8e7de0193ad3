-- wrk script for one SSO call, driven by bench/run.sh through the environment.
-- Either the same request is repeated (WRK_POOL_IN unset), or each request
-- takes the next value of a pool file (one per line) in place of "{}" in the
-- path and body: single-use tickets and authcodes are used exactly once each.
--   WRK_METHOD       GET or POST (default POST)
--   WRK_PATH         path and query; "{}" = the pool value
--   WRK_BODY         form body (POST); "{}" = the pool value
--   WRK_COOKIE       a Cookie header (CAS login with a TBSSO session); "{}" =
--                    the WRK_CYCLE_IN value
--   WRK_OK           a reply counts as a success when its body contains this
--                    (default "result":"0"); WRK_STATUS the expected status (200)
--   WRK_POOL_IN      file of values to use, one per request
--   WRK_CYCLE_IN     file of a few values (one per line) used in turn, over
--                    and over (getST across several sessions)
--   WRK_POOL_OUT     file to append what WRK_EXTRACT captures from each success
--   WRK_EXTRACT      Lua pattern with one capture, matched against the body, or
--                    against the header WRK_EXTRACT_HEADER when that is set
--   WRK_LIMIT        stop after this many successes (the 1M-tickets fill)
-- A run that stops early (pool used up, limit reached) reports active_us, the
-- wall time from start to stop: wrk's own duration is the full -d, however
-- long the thread worked. Prints one RESULT line that bench/run.sh parses;
-- "failed" counts replies that are not successes.
-- Run with one wrk thread (-t1): the pool is read by that thread alone.
local method = os.getenv("WRK_METHOD") or "POST"
local path = os.getenv("WRK_PATH") or "/"
local body = os.getenv("WRK_BODY")
local ok_text = os.getenv("WRK_OK") or '"result":"0"'
local ok_status = tonumber(os.getenv("WRK_STATUS") or "200")
local extract = os.getenv("WRK_EXTRACT")
local extract_header = os.getenv("WRK_EXTRACT_HEADER")
local limit = tonumber(os.getenv("WRK_LIMIT") or "0")
local pool_in = os.getenv("WRK_POOL_IN")
local pool_out = os.getenv("WRK_POOL_OUT")
local cycle_in = os.getenv("WRK_CYCLE_IN")
local cycle, cycle_next = nil, 0

local headers = {}
if method == "POST" then headers["Content-Type"] = "application/x-www-form-urlencoded" end
local cookie = os.getenv("WRK_COOKIE")
if cookie then headers["Cookie"] = cookie end

local pool = nil  -- the open pool file
local out = nil
local started_us = 0
-- Globals, so that done() can read them through thread:get.
successes, failed, active_us = 0, 0, 0

-- Lua has no sub-second clock; date(1) is called twice a run.
local function now_us()
  local p = io.popen("date +%s%6N")
  local t = p:read("*n")
  p:close()
  return t
end

local function stop()
  active_us = now_us() - started_us
  if out then out:flush() end
  wrk.thread:stop()
end
local fixed = nil

-- A template split once at its "{}": a request is then two concatenations,
-- so the wrk thread stays far from being the bottleneck.
local function split(template)
  if not template then return nil end
  local at = string.find(template, "{}", 1, true)
  if not at then return {template} end
  return {string.sub(template, 1, at - 1), string.sub(template, at + 2)}
end
local path_parts, body_parts = split(path), split(body)
local cookie_parts = cookie and string.find(cookie, "{}", 1, true) and split(cookie) or nil

local function fill(parts, value)
  if not parts then return nil end
  if #parts == 1 then return parts[1] end
  return parts[1] .. value .. parts[2]
end

init = function(args)
  if pool_in then
    -- Read a line per request, not into a table: a table of a million
    -- strings makes every garbage collection walk it, and the wrk thread,
    -- not the server, became the bottleneck.
    pool = io.open(pool_in, "r")
  elseif cycle_in then
    cycle = {}
    for line in io.lines(cycle_in) do cycle[#cycle + 1] = line end
  else
    fixed = wrk.format(method, path, headers, body)
  end
  if pool_out then out = io.open(pool_out, "a") end
  started_us = now_us()
end

request = function()
  if cycle then
    cycle_next = cycle_next % #cycle + 1
    local value = cycle[cycle_next]
    if cookie_parts then headers["Cookie"] = fill(cookie_parts, value) end
    return wrk.format(method, fill(path_parts, value), headers, fill(body_parts, value))
  end
  if not pool then return fixed end
  local value = pool:read("*l")
  if not value then
    -- Used up: stop here, so the run measures only requests with a value.
    -- The requests still in flight are not counted.
    if active_us == 0 then stop() end
    value = "pool-exhausted"
  end
  return wrk.format(method, fill(path_parts, value), headers, fill(body_parts, value))
end

response = function(status, hdrs, reply)
  if active_us ~= 0 then return end  -- stopped: the last replies in flight
  if status ~= ok_status or not string.find(reply, ok_text, 1, true) then
    failed = failed + 1
    if failed == 1 then io.stderr:write("first failed reply: " .. status .. " " .. reply .. "\n") end
    return
  end
  successes = successes + 1
  if out and extract then
    local source = extract_header and (hdrs[extract_header] or "") or reply
    local value = string.match(source, extract)
    if value then out:write(value, "\n") end
  end
  if limit > 0 and successes >= limit and active_us == 0 then stop() end
end

local threads = {}
setup = function(thread) threads[#threads + 1] = thread end

done = function(summary, latency, requests)
  local failed_total, active = 0, 0
  for _, t in ipairs(threads) do
    failed_total = failed_total + (t:get("failed") or 0)
    active = math.max(active, t:get("active_us") or 0)
  end
  io.write(string.format(
    "RESULT requests=%d duration_us=%d p50_us=%d p99_us=%d errors=%d failed=%d active_us=%d\n",
    summary.requests, active > 0 and active or summary.duration, latency:percentile(50),
    latency:percentile(99), summary.errors.connect + summary.errors.read +
    summary.errors.write + summary.errors.timeout, failed_total, active))
end
