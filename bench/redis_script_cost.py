#!/usr/bin/env python3
"""Redis's own CPU per ticket-exchange script call, and how it builds up
(issue 19, session 9): a private redis-server gets N ticket records of one
session, then N pipelined calls (redis-cli --pipe) of each variant; the CPU
of redis-server (utime + stime from /proc) per call is printed next to its
COMMANDSTATS usec_per_call (wall time inside the command: inflated on a busy
machine, the CPU column is the one to read).

    bench/redis_script_cost.py [N] [VARIANT ...]

Variants (default all): noop3 / noop (an empty script with 3 / the real 20
arguments), getdel, +exists, +set, +sadd, +pexpire (the script's Redis
commands without its Lua logic, each adding one), exchange (the store's
script, read from src/store/redis_ticket_store.cc), exchange-fcall (the same
body as a Redis 7 function), exchange-marked (the same with a replay
mark, SET NX PX, as a validation with replay protection on sent before
session 11), exchange-shaped (session 11: the script the
store writes for a validation's shape, ShapedExchangeScript in that file,
mirrored here, with its 8 arguments), exchange-lean (session 15: the lean
form the store now writes for it, LeanExchangeScript, mirrored, 9 arguments). The arguments are a ticketValidation's,
replay protection off, as bench/tickets.sh. A variant may be named more than
once (alternated runs in one go)."""
import os, re, shutil, socket, subprocess, sys, tempfile, time

here = os.path.dirname(os.path.abspath(__file__))
n = int(sys.argv[1]) if len(sys.argv) > 1 else 100000
source = open(os.path.join(here, "..", "src", "store", "redis_ticket_store.cc")).read()
EXCHANGE = re.search(r'kExchangeScript = R"lua\((.*?)\)lua"', source, re.S).group(1)
steps = ["local r = redis.call('GETDEL', a[3])",
         "redis.call('EXISTS', a[7] .. 'sess0001')",
         "redis.call('SET', a[8], '1|a|bench|u123456789|sess0001|1||', 'PX', a[10])",
         "redis.call('SADD', a[11] .. 'sess0001', a[12])",
         "redis.call('PEXPIRE', a[11] .. 'sess0001', a[13])"]
VARIANTS = {"noop3": ("return 1", 3), "noop": ("return 1", None)}
for i, name in enumerate(["getdel", "+exists", "+set", "+sadd", "+pexpire"]):
    VARIANTS[name] = ("local a = ARGV " + " ".join(steps[:i + 1]) + " return {4, r}", None)
VARIANTS["exchange"] = (EXCHANGE, None)
VARIANTS["exchange-fcall"] = (EXCHANGE, "fcall")
# ShapedExchangeScript for a validation (no mark, consumed, fields 0 1 2
# required, expiry 5, owner 4, guard "ended:", token 1 h, set 24 h).
SHAPED = """local a = ARGV
local rec = redis.call('GET', a[1])
if not rec then return {1} end
redis.call('DEL', a[1])
local f = {}
for x in string.gmatch(rec .. '|', '([^|]*)|') do f[#f + 1] = x end
if f[1] ~= a[6] or f[2] ~= a[7] or f[3] ~= a[8] then return {2, rec} end
local exp = f[6]
local owner = f[5]
if not exp or not string.match(exp, '^%-?%d+$') or tonumber(exp) <= tonumber(a[2])
   or not owner or owner == '' then return {2, rec} end
if redis.call('EXISTS', 'tb:v:ended:' .. owner) == 1 then return {3, rec} end
local v = string.gsub(a[4], '{(%d)}', function(d) return f[tonumber(d) + 1] or '' end)
redis.call('SET', a[3], v, 'PX', '3600000')
local s = 'tb:s:issued:' .. owner
redis.call('SADD', s, a[5])
redis.call('PEXPIRE', s, '86400000')
return {4, rec}
"""
VARIANTS["exchange-shaped"] = (SHAPED, "shaped")
# Session 15: the lean form the store writes for such a shape
# (LeanExchangeScript in that file, mirrored here): the record is not split,
# the required fields (a prefix) are compared at once, the owner and expiry
# found by position, the new record the template's head and tail around the
# ticket's own fields 2..4. ARGV: redeem key, now, put key, head, member,
# tail, the three required texts.
LEAN = """local a = ARGV
local rec = redis.call('GET', a[1])
if not rec then return {1} end
redis.call('DEL', a[1])
local n = 0 + #a[7] + 1 + #a[8] + 1 + #a[9] + 1
if string.sub(rec, 1, n) ~= a[7] .. '|' .. a[8] .. '|' .. a[9] .. '|' then return {2, rec} end
local b3 = n + 1
local z3 = b3 and (string.find(rec, '|', b3, true) or #rec + 1)
local b4 = z3 and z3 <= #rec and z3 + 1
local z4 = b4 and (string.find(rec, '|', b4, true) or #rec + 1)
local b5 = z4 and z4 <= #rec and z4 + 1
local z5 = b5 and (string.find(rec, '|', b5, true) or #rec + 1)
local exp = b5 and string.sub(rec, b5, z5 - 1)
local owner = b4 and string.sub(rec, b4, z4 - 1)
if not exp or not string.match(exp, '^%-?%d+$') or tonumber(exp) <= tonumber(a[2])
   or not owner or owner == '' then return {2, rec} end
if redis.call('EXISTS', 'tb:v:ended:' .. owner) == 1 then return {3, rec} end
local v = a[4] .. string.sub(rec, 1 + #a[7] + 1 + #a[8] + 1, z4 - 1) .. a[6]
redis.call('SET', a[3], v, 'PX', '3600000')
local s = 'tb:s:issued:' .. owner
redis.call('SADD', s, a[5])
redis.call('PEXPIRE', s, '86400000')
return {4, rec}
"""
VARIANTS["exchange-lean"] = (LEAN, "lean")
# The store's script with a replay mark (replay protection on, as before
# session 11 for ticketValidation; since then only calls that are not a
# single-use redemption carry one).
VARIANTS["exchange-marked"] = (EXCHANGE, "marked")
chosen = sys.argv[2:] or list(VARIANTS)

def resp(*args):
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        a = a if isinstance(a, bytes) else str(a).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)

s = socket.socket(); s.bind(("127.0.0.1", 0)); port = s.getsockname()[1]; s.close()
work = tempfile.mkdtemp(prefix="redis-script-cost.")
server = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                           "--appendonly", "no", "--dir", work], stdout=subprocess.DEVNULL)
def cli(*args, **kw):
    return subprocess.run(["redis-cli", "-p", str(port)] + list(args), capture_output=True, **kw)
try:
    for _ in range(100):
        if cli("ping").stdout.strip() == b"PONG": break
        time.sleep(0.05)
    def cpu():
        f = open("/proc/%d/stat" % server.pid).read().rsplit(")", 1)[1].split()
        return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")
    def pipe(data):
        out = cli("--pipe", input=data).stdout
        assert b"errors: 0" in out, out
    now = int(time.time() * 1000); exp = now + 600000
    def args(i):
        t = "ST-%040d" % i; tok = "AT-%040d" % i
        return ["", 0, "tb:v:g:s:" + t, now, 5, 4, "tb:v:ended:", "tb:v:g:a:" + tok,
                "1|a|{2}|{3}|{4}|%d||" % exp, 3600000, "tb:s:issued:", "a|bench|" + tok, 86400000,
                "1", 0, "1", 1, "s", 2, "bench"]
    print("%-16s %12s %16s" % ("variant", "cpu us/call", "usec_per_call"), flush=True)
    for v in chosen:
        body, how = VARIANTS[v]
        cli("flushall")
        pipe(b"".join(resp("SET", "tb:v:g:s:ST-%040d" % i,
                           "1|s|bench|u123456789|sess0001|%d||" % exp, "PX", 600000) for i in range(n)))
        if how == "fcall":
            lib = "#!lua name=tbcost\nredis.register_function('x', function(KEYS, ARGV) %s end)" % body
            cli("function", "load", "replace", lib, check=True)
            data = b"".join(resp("FCALL", "x", 0, *args(i)) for i in range(n))
        elif how == "shaped":
            sha = cli("script", "load", body).stdout.decode().strip()
            def shaped_args(i):  # redeem key, now, put key, template, member, required texts
                a = args(i)
                return [a[j] for j in (2, 3, 7, 8, 11, 15, 17, 19)]
            data = b"".join(resp("EVALSHA", sha, 0, *shaped_args(i)) for i in range(n))
        elif how == "lean":
            sha = cli("script", "load", body).stdout.decode().strip()
            def lean_args(i):  # redeem key, now, put key, head, member, tail, required texts
                a = args(i)
                return [a[2], a[3], a[7], "1|a|", a[11], "|%d||" % exp, a[15], a[17], a[19]]
            data = b"".join(resp("EVALSHA", sha, 0, *lean_args(i)) for i in range(n))
        elif how == "marked":
            sha = cli("script", "load", body).stdout.decode().strip()
            data = b"".join(resp("EVALSHA", sha, 0, "tb:v:rp:%032x" % i, 330000, *args(i)[2:])
                            for i in range(n))
        else:
            sha = cli("script", "load", body).stdout.decode().strip()
            data = b"".join(resp("EVALSHA", sha, 0, *args(i)[:how or 99]) for i in range(n))
        cli("config", "resetstat")
        c0 = cpu(); pipe(data); c1 = cpu()
        if v.startswith("exchange"):  # every call issued (a "not found" is no error reply)
            issued = cli("exists", "tb:v:g:a:AT-%040d" % 0, "tb:v:g:a:AT-%040d" % (n - 1)).stdout
            assert issued.strip() == b"2", (v, issued)
        stats = cli("info", "commandstats").stdout.decode()
        per = re.search(r"cmdstat_(?:evalsha|fcall):.*?usec_per_call=([0-9.]+)", stats)
        print("%-16s %12.2f %16s" % (v, (c1 - c0) * 1e6 / n, per.group(1) if per else "-"), flush=True)
finally:
    server.terminate(); server.wait(); shutil.rmtree(work, ignore_errors=True)
