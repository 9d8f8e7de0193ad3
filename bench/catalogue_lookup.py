#!/usr/bin/env python3
"""The base query service over HTTP (issue 17): POST
/catalogue/api/base/person/query with an OIDC client's access token, each call
a different one of N loaded persons (default 10,000,000), against the same
server's fixed-body baseline GET /livez measured in the same run, both with
wrk (bench/wrk/catalogue_lookup.lua). Reports req/s and the ratio (target
>= 50%), wrk's p50/p99 at few connections (target p99 <= 2 ms) and at many,
server CPU per request from /proc (utime+stime; the least load-dependent
figure; /livez's too, so the ratio can also be read by CPU), audit rows
against answers, and the load average. PERF_OUT=<file> records a flat perf
profile of the server during the lookups at the largest concurrency (PERF_CALLGRAPH=1: with call
stacks).

--ceiling adds, at each concurrency and in the same minutes, the nginx
fixed-body baseline (bench/nginx_baseline.py) and bench/lookup_ceiling.c — the
least any server of this query must do (token hash lookup, live grant and
record from this same database, masked JSON, the audit row committed before
the answer, one COMMIT per epoll round) — in its three modes: audit in SQLite,
no audit, audit rows appended to a journal file (one write() per round); each
with the same wrk script, its req/s, p50/p99 and server CPU per request from
/proc (nginx: its worker's), and their ratios to /livez and to nginx.

The data directory (--dir; default a fresh temp dir, removed at the end) keeps
the loaded persons between runs when named: the first run starts tongban
there, makes the app and the grant (apply -> approve, as a department would),
loads the persons into catalogue_base_persons in key order and records what
it made in <dir>/bench.json; later runs reuse all of it. Delete the directory
when done (10M persons are about 1.5 GB).

    python3 bench/catalogue_lookup.py [--dir /work/scratch/me/lookup] [--persons 10000000]
        [--duration 10s] [--blocking-threads 0] [--load-only] [--ceiling]
        [--connections 4,64]
"""
import argparse
import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))
import requests  # noqa: E402
from approval_fixture import Client, admin_login, browser_login  # noqa: E402
from tongban_harness import TongbanServer  # noqa: E402
sys.path.insert(0, HERE)
import nginx_baseline  # noqa: E402

API = "/catalogue/api/"
ACCOUNT_RE = re.compile(r"catalogue (\w+) \(org (\S+)\): login=(\S+) password=(\S+)")
WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]


def id_number(n):
    """bench/catalogue_search_bench.cc's IdNumber: distinct below 20,160,000."""
    body = "110105%04d%02d%02d%03d" % (1950 + n % 60, 1 + (n // 60) % 12,
                                       1 + (n // 720) % 28, (n // 20160) % 1000)
    return body + "10X98765432"[sum(int(body[i]) * WEIGHTS[i] for i in range(17)) % 11]


def load_persons(db_path, persons):
    """Persons in key order (the string order of id_number), 500,000 a transaction."""
    db = sqlite3.connect(db_path, timeout=60)
    db.execute("PRAGMA synchronous=NORMAL")
    have = db.execute("SELECT COUNT(*) FROM catalogue_base_persons").fetchone()[0]
    if have >= persons:
        db.close()
        return have
    db.execute("DELETE FROM catalogue_base_persons")
    db.commit()
    started = time.monotonic()

    def rows():
        for seq in range(1000):
            for day in range(28):
                for month in range(12):
                    base = 60 * (month + 12 * (day + 28 * seq))
                    if base >= persons:
                        continue
                    for year in range(60):
                        i = base + year
                        if i < persons:
                            yield (id_number(i), "姓名%d" % i, "男" if i % 2 else "女",
                                   "1980-01-01", "汉族", "演示市演示路 %d 号" % i,
                                   "13800138000", "110105")

    batch = []
    for r in rows():
        batch.append(r)
        if len(batch) == 500000:
            db.executemany("INSERT INTO catalogue_base_persons (id_number, name, gender, "
                           "birth_date, nation, address, mobile, division) VALUES "
                           "(?, ?, ?, ?, ?, ?, ?, ?)", batch)
            db.commit()
            batch.clear()
    if batch:
        db.executemany("INSERT INTO catalogue_base_persons (id_number, name, gender, birth_date, "
                       "nation, address, mobile, division) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", batch)
        db.commit()
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    print("loaded %d persons in %.0f s" % (persons, time.monotonic() - started), flush=True)
    return persons


def first_setup(server):
    """An OIDC app of the 民政局 (org 001092) with a grant to name, mobile, address."""
    base = server.base_url
    accounts = {}
    for line in server.stdout_lines:
        m = ACCOUNT_RE.search(line)
        if m:
            accounts[m.group(1)] = (m.group(3), m.group(4))
    user = Client(base, browser_login(base, *accounts["user"]), API)
    provider = Client(base, browser_login(base, *accounts["provider"]), API)
    admin = admin_login(server)
    created = admin.ok("POST", "apps", {"servicecode": "benchsys", "name": "压测业务系统",
                                        "orgcoding": "001092", "protocols": {"oidc": True}})
    person = [r for r in user.ok("GET", "resources", q="人口")["items"]
              if r["base_kind"] == "person"][0]
    a = user.ok("POST", "applications", {
        "resource_id": person["id"], "purpose": "压测", "legal_basis": "压测",
        "fields": ["name", "mobile", "address"], "app": "benchsys"})
    d = provider.ok("POST", "applications/%d/decision" % a["id"],
                    {"approve": True, "fields": ["name", "mobile", "address"]})
    return {"code": "benchsys", "pwd": created["servicepwd"], "grant_id": d["grant_id"]}


def cpu_ticks(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime, stime


def children(pid):
    with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
        return [int(c) for c in f.read().split()]


def measure(pin, url, pid, conns, duration, script=None, env=None):
    """wrk against url with the server pid's CPU (utime+stime) per request added."""
    c0 = cpu_ticks(pid)
    r = wrk(pin, url, conns, duration, script, env)
    r["cpu_us"] = (cpu_ticks(pid) - c0) * 1e6 / os.sysconf("SC_CLK_TCK") / max(1, r["requests"])
    return r


CEILING_MODES = (("sqlite", "ceiling, audit in SQLite"), ("none", "ceiling, no audit"),
                 ("journal", "ceiling, journal file"))


def ceiling_rows(tool, db_path, data, pin_server, pin_wrk, conns, duration, env):
    """bench/lookup_ceiling.c in each mode: started, warmed, measured, stopped."""
    out = []
    for mode, label in CEILING_MODES:
        journal = os.path.join(data, "lookup_ceiling.journal")
        proc = subprocess.Popen(pin_server + [tool, db_path, env["WRK_TOKEN"], mode, journal],
                                stdout=subprocess.PIPE, text=True)
        try:
            url = "http://127.0.0.1:%d" % int(proc.stdout.readline().split()[1])
            if mode == "none":
                # The ceiling's own fixed body (GET /livez): the "same server" baseline
                # for a server built this way.
                own = measure(pin_wrk, url + "/livez", proc.pid, conns, duration)
                out.append(dict(own, label="ceiling's own /livez", tail=""))
            wrk(pin_wrk, url, 8, "2s", "catalogue_lookup.lua", env)
            r = measure(pin_wrk, url, proc.pid, conns, duration, "catalogue_lookup.lua", env)
        finally:
            proc.send_signal(signal.SIGTERM)
            r_tail = proc.stdout.read().strip()
            proc.wait(timeout=30)
        r["label"], r["tail"] = label, r_tail
        out.append(r)
        if os.path.exists(journal):
            os.unlink(journal)
    return out


def settle_audit(db_path, timeout=60):
    """Waits (bounded) until no audit row arrives for 0.6 s: with the audit
    journal the loader may still be moving the last rows into the table, and
    its CPU belongs to the lookups that made them, not to the next row."""
    deadline = time.monotonic() + timeout
    last = audit_rows(db_path)
    while time.monotonic() < deadline:
        time.sleep(0.6)  # longer than the loader's 250 ms interval
        now = audit_rows(db_path)
        if now == last:
            return now
        last = now
    return last


def audit_rows(db_path):
    db = sqlite3.connect(db_path, timeout=60)
    try:
        return db.execute("SELECT COUNT(*) FROM catalogue_audit WHERE action = "
                          "'base.query.person'").fetchone()[0]
    finally:
        db.close()


def wrk(pin, url, conns, duration, script=None, env=None):
    cmd = pin + ["wrk", "-t1", "-c%d" % conns, "-d" + duration, "--latency"]
    if script:
        cmd += ["-s", os.path.join(HERE, "wrk", script)]
    out = subprocess.run(cmd + [url], capture_output=True, text=True, timeout=600,
                         env=env).stdout
    rate = float(re.search(r"Requests/sec:\s+([0-9.]+)", out).group(1))
    reqs = int(re.search(r"(\d+) requests in", out).group(1))
    p99 = re.search(r"99%\s+([0-9.]+)(us|ms|s)\b", out)
    p99_ms = float(p99.group(1)) * {"us": 0.001, "ms": 1, "s": 1000}[p99.group(2)]
    p50 = re.search(r"50%\s+([0-9.]+)(us|ms|s)\b", out)
    p50_ms = float(p50.group(1)) * {"us": 0.001, "ms": 1, "s": 1000}[p50.group(2)]
    fails = re.search(r"failures (\d+)", out)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {"rate": rate, "requests": reqs, "p50_ms": p50_ms, "p99_ms": p99_ms,
            "failures": int(fails.group(1)) if fails else int(non2xx.group(1)) if non2xx else 0}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", default=None)
    ap.add_argument("--persons", type=int, default=10_000_000)
    ap.add_argument("--duration", default="10s")
    ap.add_argument("--blocking-threads", type=int, default=0,
                    help="server.blocking_threads (0: the server's default)")
    ap.add_argument("--load-only", action="store_true",
                    help="set up and load --dir, measure nothing (a later run measures)")
    ap.add_argument("--connections", default="4,64",
                    help="the wrk concurrencies, comma-separated (default 4,64)")
    ap.add_argument("--ceiling", action="store_true",
                    help="also nginx's fixed body and bench/lookup_ceiling.c (three modes), "
                    "same run, same wrk script")
    args = ap.parse_args()
    owns = args.dir is None
    data = args.dir or tempfile.mkdtemp(prefix="tongban-catalogue-lookup-")
    os.makedirs(data, exist_ok=True)
    config = os.path.join(data, "bench.toml")
    with open(config, "w") as f:
        f.write("[server]\naccess_log = false\nthreads = 1\nblocking_threads = %d\n"
                "[log]\nlevel = \"info\"\n" % args.blocking_threads)
    cores = os.cpu_count() or 1
    pin_server = ["taskset", "-c", "0"] if cores >= 2 else []
    pin_wrk = ["taskset", "-c", "1"] if cores >= 2 else []
    server = TongbanServer("--config", config, data_dir=data)
    server.args = pin_server + server.args
    # --threads from the harness would override the config's single I/O thread.
    i = server.args.index("--threads")
    server.args[i + 1] = "1"
    log_path = os.path.join(data, "server.log")
    log_start = os.path.getsize(log_path) if os.path.exists(log_path) else 0
    server.start()
    nginx = None
    try:
        state_path = os.path.join(data, "bench.json")
        if os.path.exists(state_path):
            with open(state_path) as f:
                state = json.load(f)
        else:
            state = first_setup(server)
        db_path = os.path.join(data, "tongban.db")
        state["persons"] = load_persons(db_path, args.persons)
        with open(state_path, "w") as f:
            json.dump(state, f)
        if args.load_only:
            return
        r = requests.post(server.url("/sso/oidc/token"),
                          data={"grant_type": "client_credentials", "client_id": state["code"],
                                "client_secret": state["pwd"]}, timeout=10)
        r.raise_for_status()
        env = dict(os.environ, WRK_TOKEN=r.json()["access_token"],
                   WRK_PERSONS=str(state["persons"]))
        pid = server.proc.pid
        tool = nginx = None
        if args.ceiling:
            tool = os.path.join(data, "lookup_ceiling")
            subprocess.run(["cc", "-O2", "-o", tool, os.path.join(HERE, "lookup_ceiling.c"),
                            "-lsqlite3", "-lcrypto"], check=True)
            nginx, nginx_url = nginx_baseline.start(os.path.join(data, "nginx"),
                                                    pin_server[-1] if pin_server else None)
            time.sleep(0.3)
            nginx_worker = children(nginx.pid)[0]
        # Warm the page cache and the kept statements, then the rows, each next
        # to its baseline in the same minute.
        wrk(pin_wrk, server.base_url, 8, "3s", "catalogue_lookup.lua", env)
        rows = []
        tick_us = 1e6 / os.sysconf("SC_CLK_TCK")
        ceilings = {}
        for conns in [int(c) for c in args.connections.split(",")]:
            if args.ceiling:
                # Re-warm: the ceilings' commits of the round before dropped tongban's caches.
                wrk(pin_wrk, server.base_url, 8, "2s", "catalogue_lookup.lua", env)
                ceilings[conns] = [dict(measure(pin_wrk, nginx_url, nginx_worker, conns,
                                                args.duration), label="nginx fixed body")]
            settle_audit(db_path)
            b0 = cpu_ticks(pid)
            base = wrk(pin_wrk, server.base_url + "/livez", conns, args.duration)
            t0, a0 = cpu_ticks(pid), audit_rows(db_path)
            # PERF_OUT=<file>: a flat perf profile of the server during the c=64 lookups.
            perf = None
            if os.environ.get("PERF_OUT") and conns == max(
                    int(c) for c in args.connections.split(",")):
                # PERF_CALLGRAPH=1: with call stacks (dwarf, 1000 Hz), for perf report -g.
                graph = (["--call-graph", "dwarf", "-F", "1000"]
                         if os.environ.get("PERF_CALLGRAPH") else [])
                perf = subprocess.Popen(["perf", "record", "-q", *graph, "-o",
                                         os.environ["PERF_OUT"], "-p", str(pid)],
                                        stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL)
            look = wrk(pin_wrk, server.base_url, conns, args.duration, "catalogue_lookup.lua", env)
            if perf:
                perf.send_signal(2)
                perf.wait(timeout=120)
            # Every answered query's row in catalogue_audit before the CPU is
            # read: with the audit journal (SQLite) the rows reach the table a
            # moment after their answers, and that work belongs to the lookups.
            deadline = time.monotonic() + 60
            a1 = audit_rows(db_path)
            while a1 - a0 < look["requests"] and time.monotonic() < deadline:
                time.sleep(0.05)  # polling the table, bounded
                a1 = audit_rows(db_path)
            a1 = settle_audit(db_path)
            t1 = cpu_ticks(pid)
            base2 = wrk(pin_wrk, server.base_url + "/livez", conns, args.duration)
            b1 = cpu_ticks(pid)
            livez_us = ((t0 - b0) + (b1 - t1)) * tick_us / max(1, base["requests"] +
                                                                base2["requests"])
            rows.append((conns, base, look, base2, (t1 - t0) * tick_us, a1 - a0, livez_us))
            if args.ceiling:
                ceilings[conns] += ceiling_rows(tool, db_path, data, pin_server, pin_wrk, conns,
                                                args.duration, env)
        load = open("/proc/loadavg").read().split()[:3]
        print("persons %d, server %s, blocking_threads %s, load average %s" % (
            state["persons"], "core 0" if pin_server else "unpinned",
            args.blocking_threads or "default", " ".join(load)))
        for conns, base, look, base2, cpu_us, audited, livez_us in rows:
            baseline = (base["rate"] + base2["rate"]) / 2
            lookup_us = cpu_us / max(1, look["requests"])
            # By CPU: what one core would serve of each, the load-independent ratio.
            print("c=%-3d /livez %.0f/s (before %.0f, after %.0f; p50 %.2f ms p99 %.2f ms; "
                  "server CPU %.1f us/req) | lookup %.0f/s = %.1f%% of /livez; p50 %.2f ms "
                  "p99 %.2f ms; server CPU %.0f us/lookup (by CPU %.1f%% of /livez); "
                  "audit rows %d for %d answers; failures %d" % (
                      conns, baseline, base["rate"], base2["rate"], base["p50_ms"],
                      base["p99_ms"], livez_us, look["rate"], 100 * look["rate"] / baseline,
                      look["p50_ms"], look["p99_ms"], lookup_us, 100 * livez_us / lookup_us,
                      audited, look["requests"], look["failures"]))
        for conns, base, look, base2, cpu_us, audited, livez_us in rows:
            if conns not in ceilings:
                continue
            baseline = (base["rate"] + base2["rate"]) / 2
            livez = {"label": "tongban /livez", "rate": baseline, "cpu_us": livez_us,
                     "p50_ms": (base["p50_ms"] + base2["p50_ms"]) / 2,
                     "p99_ms": max(base["p99_ms"], base2["p99_ms"]), "failures": 0}
            lookup = dict(look, label="tongban lookup", cpu_us=cpu_us / max(1, look["requests"]))
            table = [ceilings[conns][0], livez, lookup] + ceilings[conns][1:]
            ng = ceilings[conns][0]
            own = [r for r in table if r["label"] == "ceiling's own /livez"][0]
            # server busy: req/s x CPU/req, the share of its core the server used; well
            # under 100 %: something else set the pace (wrk, other load on the server's
            # core, the ceiling's checkpoint fdatasyncs), and the req/s ratios say less
            # than the CPU ones.
            print("c=%d, same run: server | req/s | p50 ms | p99 ms | server CPU us/req | "
                  "server busy | req/s of /livez | by CPU of /livez | req/s of nginx | "
                  "by CPU of nginx | by CPU of the ceiling's own /livez | failures" % conns)
            for r in table:
                print("  %-26s | %7.0f | %6.2f | %6.2f | %6.1f | %3.0f%% | %5.1f%% | %5.1f%% | "
                      "%5.1f%% | %5.1f%% | %s | %d%s" % (
                          r["label"], r["rate"], r["p50_ms"], r["p99_ms"], r["cpu_us"],
                          r["rate"] * r["cpu_us"] / 1e4,
                          100 * r["rate"] / livez["rate"], 100 * livez["cpu_us"] / r["cpu_us"],
                          100 * r["rate"] / ng["rate"], 100 * ng["cpu_us"] / r["cpu_us"],
                          ("%5.1f%%" % (100 * own["cpu_us"] / r["cpu_us"])
                           if r["label"].startswith("ceiling") else "     -"),
                          r["failures"], ("  [%s]" % r["tail"]) if r.get("tail") else ""))
    finally:
        server.stop()
        if nginx is not None:
            nginx.terminate()
            nginx.wait(timeout=30)
        # The audit writer's tally at shutdown (binaries since session 9).
        with open(log_path, "rb") as f:
            f.seek(log_start)
            this_run = f.read().decode("utf-8", "replace")
        tally = re.findall(r"catalogue audit: (\d+) query rows in (\d+) commits", this_run)
        if tally:
            rows_done, commits = map(int, tally[-1])
            print("audit rows per commit over the run: %.2f (%d rows, %d commits)" % (
                rows_done / max(1, commits), rows_done, commits))
        # The audit writer's batch commit times and the WAL checkpoints (since
        # session 11): what the answers waited for, and whether a checkpoint
        # ran inside a commit.
        times = re.findall(r"catalogue audit: .*batch commit time (p50 .*)", this_run)
        if times:
            print("audit writer batch commit time over the run: %s" % times[-1].strip())
        ckpt = re.findall(r"sql store: (\d+ WAL checkpoints .*)", this_run)
        if ckpt:
            print(ckpt[-1].strip())
        if owns:
            shutil.rmtree(data, ignore_errors=True)


if __name__ == "__main__":
    main()
