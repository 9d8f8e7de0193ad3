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
body as a Redis 7 function). The arguments are a ticketValidation's, replay
protection off, as bench/tickets.sh."""
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
    print("%-16s %12s %16s" % ("variant", "cpu us/call", "usec_per_call"))
    for v in chosen:
        body, how = VARIANTS[v]
        cli("flushall")
        pipe(b"".join(resp("SET", "tb:v:g:s:ST-%040d" % i,
                           "1|s|bench|u123456789|sess0001|%d||" % exp, "PX", 600000) for i in range(n)))
        if how == "fcall":
            lib = "#!lua name=tbcost\nredis.register_function('x', function(KEYS, ARGV) %s end)" % body
            cli("function", "load", "replace", lib, check=True)
            data = b"".join(resp("FCALL", "x", 0, *args(i)) for i in range(n))
        else:
            sha = cli("script", "load", body).stdout.decode().strip()
            data = b"".join(resp("EVALSHA", sha, 0, *args(i)[:how or 99]) for i in range(n))
        cli("config", "resetstat")
        c0 = cpu(); pipe(data); c1 = cpu()
        stats = cli("info", "commandstats").stdout.decode()
        per = re.search(r"cmdstat_(?:evalsha|fcall):.*?usec_per_call=([0-9.]+)", stats)
        print("%-16s %12.2f %16s" % (v, (c1 - c0) * 1e6 / n, per.group(1) if per else "-"), flush=True)
finally:
    server.terminate(); server.wait(); shutil.rmtree(work, ignore_errors=True)
