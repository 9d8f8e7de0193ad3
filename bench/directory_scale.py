#!/usr/bin/env python3
"""The directory at provincial size (issue 19), through the real binary, on
SQLite and on a private PostgreSQL 15 it starts (tests/integration/stores.py:
fsync=off, so the figures compare SQL and code paths, not disks).

    bench/directory_scale.py [build-dir]        (USERS=1000000 DURATION=10)

For each database: a fresh data dir; `tongban serve` once for the demo seed;
100 orgs and USERS users imported with `tongban admin user import --no-hash`
(timed, the CLI's own progress lines kept); the server started again (cold
caches); then wrk rows against it, each set against two fixed-body baselines
measured just before it in the same run with the same wrk command: a private
nginx answering the same 15-byte body (bench/nginx_baseline.py; the baseline
issue 19 names; NGINX_BASELINE=0 leaves it out) and GET /livez (the machine
is shared: read the ratios):
  - getUserByLoginname, random users, cold: every request names a different
    user (a shuffled pool, each name once), so every call misses the caches;
  - getUserByLoginname, one user, hot: the same call repeated (memory only).
  - admin search by name (GET /sso/admin/api/users?q=…&field=username, the
    console's search: a page of 20 and the total capped at 10,000), SEARCHES
    sequential calls on one keep-alive connection from an administrator's
    session, a third each by surname (1 character), surname + one (2) and full
    name (3); p50/p99 of the client-side latency and the CPU per search of the
    server and of the database (PostgreSQL backends) from /proc.
One server I/O thread, 64 connections, one wrk thread. ROWS=lookup,search
(default both) picks the rows. DATABASES=sqlite or
=postgresql runs one of them; BEFORE_BIN=/path/to/an/older/tongban runs every
database with that binary too, in the same run (a before/after comparison).
CPU seconds of the import (the CLI, and PostgreSQL's backends) are printed
besides the wall time: on a shared machine they are the steadier figure.
KEEP_DIR=dir (SQLite only) keeps the imported data dir there and reuses it
in later runs with the same USERS (A/B of binaries without re-importing);
EXTRA_CONFIG adds TOML lines to the server's config; PERF_DIR=dir records a
call-graph profile of the server (perf, dwarf) over each wrk row; SCHEDSTAT=1
prints, per server thread, its CPU and its run-queue wait (runnable, no CPU
free) per request over each wrk row, from /proc/PID/task/*/schedstat.
PostgreSQL runs in a session of its own (setsid: its own sched_autogroup, as
a deployment has it); PG_SETSID=0 keeps it in the bench's. PIN=1: the server
and nginx on core 0, wrk on core 1 (PostgreSQL is not pinned).
"""
import os
import random
import resource
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import hashlib
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))
import stores  # noqa: E402
import nginx_baseline  # noqa: E402

BUILD = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "..", "build"))
BIN = os.path.join(BUILD, "tongban")
USERS = int(os.environ.get("USERS", "1000000"))
DURATION = int(os.environ.get("DURATION", "10"))
SEARCHES = int(os.environ.get("SEARCHES", "600"))
ROWS = os.environ.get("ROWS", "lookup,search").split(",")
CONNS = int(os.environ.get("CONNECTIONS", "64"))
# Blocking-pool threads (cold lookups run there; hot ones on the I/O thread).
BLOCKING = int(os.environ.get("BLOCKING_THREADS", "1"))
ORGS = 100
PIN = os.environ.get("PIN", "0") == "1"
# The nginx baseline's URL, set by main() when NGINX_BASELINE is not 0.
NGINX_URL = None
NGINX_PID = None
SURNAMES = "张王李赵刘陈杨黄周吴徐孙胡朱高林何郭马罗"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀华平"


if os.environ.get("PG_SETSID", "1") != "0":
    # PostgreSQL in a session (and so a scheduler autogroup) of its own, as a
    # deployment runs it: with sched_autogroup on, the bench's session would
    # otherwise share one fair CPU slot among wrk, the server and the
    # database. PG_SETSID=0 keeps it in the bench's session.
    _as_user = stores.PrivatePostgres._as_user

    def _own_session(self):
        inner = _as_user(self)

        def run():
            os.setsid()
            inner()
        return run
    stores.PrivatePostgres._as_user = _own_session


def write_inputs(work):
    orgs = os.path.join(work, "orgs.csv")
    with open(orgs, "w", encoding="utf-8") as f:
        f.write("orgcoding,orgname\n")
        for i in range(ORGS):
            f.write("001%03d,机构%d\n" % (i + 2, i))
    users = os.path.join(work, "users.csv")
    rnd = random.Random(19)
    with open(users, "w", encoding="utf-8") as f:
        f.write("loginname,username,orgcoding,loginpwd,mobile,idnum\n")
        for i in range(USERS):
            name = rnd.choice(SURNAMES) + rnd.choice(GIVEN) + rnd.choice(GIVEN)
            f.write("u%07d,%s,001%03d,pw%d,13%09d,\n" % (i, name, i % ORGS + 2, i, i))
    return orgs, users


def start_server(data, db_args, config, binary=None):
    binary = binary or BIN
    out = open(os.path.join(data, "out.log"), "w")
    err = open(os.path.join(data, "err.log"), "w")
    pin = ["taskset", "-c", "0"] if PIN else []
    proc = subprocess.Popen([*pin, binary, "serve", "--config", config, "--data-dir", data,
                             "--port", "0", *db_args], stdout=out, stderr=err,
                            preexec_fn=stores.die_with_parent)
    deadline = time.time() + 60
    while time.time() < deadline:
        text = open(os.path.join(data, "out.log")).read()
        m = re.search(r"listening on (http://[0-9.]+:\d+)", text)
        if m:
            return proc, m.group(1), text
        if proc.poll() is not None:
            raise SystemExit("server died: " + open(os.path.join(data, "err.log")).read()[-2000:])
        time.sleep(0.1)
    proc.kill()
    raise SystemExit("server did not start")


def stop(proc):
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def signed_body(pwd, **params):
    t = time.strftime("%Y%m%d%H%M%S", time.gmtime(time.time() + 8 * 3600))
    sign = hashlib.md5(("demo" + pwd + t).encode()).hexdigest()
    fields = dict(servicecode="demo", time=t, sign=sign, datatype="json", **params)
    return urllib.parse.urlencode(fields)


def wrk(url, seconds, env):
    full = dict(os.environ, **env)
    pin = ["taskset", "-c", "1"] if PIN else []
    r = subprocess.run([*pin, "wrk", "-t1", "-c%d" % CONNS, "-d%ds" % seconds, "--timeout", "10s",
                        "--latency", "-s", os.path.join(HERE, "wrk", "call.lua"), url],
                       env=full, capture_output=True, text=True)
    line = next((l for l in r.stdout.splitlines() if l.startswith("RESULT")), None)
    if line is None:
        raise SystemExit("wrk: " + r.stdout + r.stderr)
    f = dict(re.findall(r"(\w+)=(\d+)", line))
    dur = int(f["active_us"]) if int(f.get("active_us", 0)) > 0 else int(f["duration_us"])
    return {"rps": int(f["requests"]) * 1e6 / dur, "p50": int(f["p50_us"]) / 1000,
            "p99": int(f["p99_us"]) / 1000,
            "failed": int(f.get("failed", 0)) + int(f.get("errors", 0))}


def proc_cpu(pid):
    """CPU seconds (user + system) of a live process, 0 when it is gone."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def tree_cpu(pid):
    """CPU seconds of a process and its live children (PostgreSQL's backends)."""
    total = proc_cpu(pid)
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % entry) as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        if ppid == pid:
            total += proc_cpu(int(entry))
    return total


def thread_sched(pid):
    """Per thread of PID: (name, ns on a CPU, ns runnable but waiting for one,
    timeslices), from /proc/PID/task/TID/schedstat."""
    out = {}
    try:
        tids = os.listdir("/proc/%d/task" % pid)
    except OSError:
        return out
    for tid in tids:
        try:
            with open("/proc/%d/task/%s/comm" % (pid, tid)) as f:
                comm = f.read().strip()
            with open("/proc/%d/task/%s/schedstat" % (pid, tid)) as f:
                run, wait, slices = (int(x) for x in f.read().split())
        except (OSError, ValueError):
            continue
        out[tid] = ("io" if tid == str(pid) else comm, run, wait, slices)
    return out


def print_sched(before, after, requests):
    """SCHEDSTAT=1: where a row's threads spent the row, per request: on a
    CPU, and runnable but waiting for one (the run queue: on two cores shared
    by wrk, the I/O thread and the pool thread, the hop's cost in latency)."""
    for tid, (comm, run, wait, slices) in sorted(after.items()):
        b = before.get(tid, (comm, 0, 0, 0))
        d_run, d_wait, d_slices = run - b[1], wait - b[2], slices - b[3]
        if d_run < 1e6:  # idle threads (timers, the audit writer) say nothing
            continue
        print("    thread %-22s on CPU %6.1f us/req  waiting for a CPU %6.1f us/req  "
              "%5.2f times scheduled/req  mean wait %6.1f us" %
              ("%s (%s)" % (comm, tid), d_run / 1e3 / requests, d_wait / 1e3 / requests, d_slices / requests,
               d_wait / 1e3 / max(1, d_slices)), flush=True)


def row(url, name, env, rows, server=None, pg=None):
    fixed = {"WRK_METHOD": "GET", "WRK_PATH": "/livez", "WRK_OK": '"ok"'}
    n0 = tree_cpu(NGINX_PID) if NGINX_PID else 0.0
    ngx = wrk(NGINX_URL, 3, fixed) if NGINX_URL else None
    n1 = tree_cpu(NGINX_PID) if NGINX_PID else 0.0
    l0 = proc_cpu(server.pid) if server else 0.0
    base = wrk(url, 3, fixed)
    # The CPU a request of each baseline (nginx: master and worker).
    base_us = (proc_cpu(server.pid) - l0) * 1e6 / (base["rps"] * 3) if server else 0.0
    ngx_us = (n1 - n0) * 1e6 / (ngx["rps"] * 3) if ngx else 0.0
    t0 = proc_cpu(server.pid) if server else 0.0
    d0 = tree_cpu(pg.proc.pid) if pg else 0.0
    perf = None
    if os.environ.get("PERF_DIR") and server:
        # PERF_DIR=dir: a call-graph profile of the server over this row
        # (perf record --call-graph dwarf), one file per row.
        out = os.path.join(os.environ["PERF_DIR"], re.sub(r"[^a-z0-9]+", "-", name.lower()) +
                           ".data")
        perf = subprocess.Popen(["perf", "record", "-q", "-F", os.environ.get("PERF_HZ", "299"),
                                 "--call-graph", "dwarf,16384", "-p", str(server.pid), "-o", out],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    sched0 = thread_sched(server.pid) if server and os.environ.get("SCHEDSTAT") else None
    r = wrk(url, DURATION, env)
    sched1 = thread_sched(server.pid) if sched0 is not None else None
    if perf is not None:
        perf.send_signal(signal.SIGINT)
        perf.wait()
    r["base"] = base["rps"]
    r["nginx"] = ngx["rps"] if ngx else 0.0
    requests = r["rps"] * DURATION
    # CPU microseconds a request of the server (and of the database): the
    # figure a loaded machine moves least.
    r["cpu_us"] = (proc_cpu(server.pid) - t0) * 1e6 / requests if server and requests else 0.0
    r["db_us"] = (tree_cpu(pg.proc.pid) - d0) * 1e6 / requests if pg and requests else 0.0
    rows.append((name, r))
    to_nginx = "nginx %8.0f/s (%.1f us) ratio %.2f" % (r["nginx"], ngx_us, r["rps"] / r["nginx"]) \
        if ngx else "nginx        -   ratio    -"
    print("  %-44s %9.0f/s p50 %6.2f ms p99 %7.2f ms  %s  /livez %8.0f/s (%.1f us) ratio %.2f"
          "  failed %d  CPU us/req tongban %.1f database %.1f  load %s" %
          (name, r["rps"], r["p50"], r["p99"], to_nginx, r["base"], base_us,
           r["rps"] / r["base"],
           r["failed"], r["cpu_us"], r["db_us"],
           " ".join(open("/proc/loadavg").read().split()[:3])), flush=True)
    if sched1 is not None and requests:
        print_sched(sched0, sched1, requests)


def proc_cpu(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def database_cpu(pg):
    """CPU seconds of the live PostgreSQL processes (the server's backends)."""
    if pg is None:
        return 0.0
    total = 0.0
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % name) as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pg.proc.pid:
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def search_row(url, proc, admin, pg, rows, label="admin search by name"):
    """The console's search by name, SEARCHES calls one after another."""
    import requests
    b = requests.Session()
    page = b.get(url + "/sso/usp.do?action=ssoLogin")
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    r = b.post(url + "/sso/usp.do", data={"action": "ssoLogin", "csrf": csrf,
                                          "loginname": admin[0], "password": admin[1]},
               allow_redirects=False)
    if r.status_code != 302:
        raise SystemExit("admin login failed: %d %s" % (r.status_code, r.text[:300]))
    rnd = random.Random(5)
    queries = []
    for i in range(SEARCHES):
        n = i % 3 + 1
        q = rnd.choice(SURNAMES) + "".join(rnd.choice(GIVEN) for _ in range(n - 1))
        queries.append(q)
    api = url + "/sso/admin/api/users"
    for q in queries[:20]:  # warm-up: connections, kept statements
        b.get(api, params={"q": q, "field": "username"}).raise_for_status()
    cpu0, db0 = proc_cpu(proc.pid), database_cpu(pg)
    lat = []
    totals = 0
    for q in queries:
        t0 = time.perf_counter()
        r = b.get(api, params={"q": q, "field": "username"})
        lat.append(time.perf_counter() - t0)
        r.raise_for_status()
        body = r.json()
        if len(body["items"]) == 0:
            raise SystemExit("search %s found nobody" % q)
        totals += body["total"]
    cpu, db = proc_cpu(proc.pid) - cpu0, database_cpu(pg) - db0
    lat.sort()
    res = {"p50": lat[len(lat) // 2] * 1000, "p99": lat[int(len(lat) * 0.99)] * 1000,
           "max": lat[-1] * 1000, "cpu_ms": cpu * 1000 / len(lat),
           "db_ms": db * 1000 / len(lat), "total": totals / len(lat),
           "load": os.getloadavg()[0]}
    rows.append((label, res))
    print("  %-44s p50 %6.2f ms p99 %7.2f ms max %7.2f ms  CPU/search: tongban %.2f ms + "
          "database %.2f ms  (mean total %.0f, load %.1f)" %
          ("%s (%d calls)" % (label, len(lat)), res["p50"], res["p99"], res["max"],
           res["cpu_ms"], res["db_ms"], res["total"], res["load"]), flush=True)


def children_cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def postmaster_cpu(pg):
    """CPU seconds of the PostgreSQL server and its reaped backends."""
    if pg is None:
        return 0.0
    with open("/proc/%d/stat" % pg.proc.pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return sum(int(x) for x in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def write_config(config):
    with open(config, "w") as f:
        f.write("[server]\naccess_log = false\nthreads = 1\nblocking_threads = %d\n" % BLOCKING +
                "[sso]\nreplay_protection = false\n[log]\nlevel = \"warn\"\n"
                # The search row logs in as the seeded administrator, who
                # would otherwise have to enrol a second factor first.
                "[console]\nenabled = true\n[mfa]\nadmin_required = false\n" +
                # EXTRA_CONFIG: more TOML lines (e.g. "[storage]\ndb_pool_size = 8").
                os.environ.get("EXTRA_CONFIG", "").replace("\\n", "\n") + "\n")


def run_database(label, db_args, work, orgs, users, results, binary=None, pg=None):
    binary = binary or BIN
    print("== %s, %d users (%s)" % (label, USERS, binary), flush=True)
    slug = re.sub(r"[^a-z0-9]+", "-", label.lower())
    keep = os.environ.get("KEEP_DIR") if not db_args else None
    if keep:
        # SQLite only: the imported data dir is kept there and reused by the
        # next run with the same USERS (the import is minutes at 1M).
        data = os.path.join(keep, "%s-%d" % (slug.replace("-before", "").replace("-after", ""),
                                             USERS))
        if os.path.exists(os.path.join(data, "imported")):
            return rerun_database(label, data, work, results, binary)
        shutil.rmtree(data, ignore_errors=True)
    else:
        data = os.path.join(work, slug)
    os.makedirs(data)
    config = os.path.join(data, "bench.toml")
    write_config(config)
    proc, url, text = start_server(data, db_args, config, binary)
    demo_pwd = re.search(r"servicecode=demo servicepwd=(\S+)", text).group(1)
    admin_login = re.search(r"admin user:\s+(\S+) / (\S+)", text).groups()
    stop(proc)
    admin = [binary, "admin", "--data-dir", data, *db_args]
    subprocess.run(admin + ["org", "import", orgs], check=True, capture_output=True)
    t0 = time.time()
    cpu0, pg0 = children_cpu(), postmaster_cpu(pg)
    imp = subprocess.run(admin + ["user", "import", "--no-hash", users], capture_output=True,
                         text=True)
    import_s = time.time() - t0
    cli_cpu, pg_cpu = children_cpu() - cpu0, postmaster_cpu(pg) - pg0
    lines = [l for l in imp.stderr.splitlines() if l.startswith("users:")]
    print("  import: %.1f s = %.0f rows/s; CPU: tongban %.1f s + database %.1f s; load %.1f; %s" %
          (import_s, USERS / import_s, cli_cpu, pg_cpu, os.getloadavg()[0], imp.stdout.strip()),
          flush=True)
    for l in lines[:: max(1, len(lines) // 4)]:
        print("    " + l)
    if imp.returncode != 0:
        raise SystemExit(imp.stdout[-2000:] + imp.stderr[-2000:])
    results.append((label, "import", {"seconds": import_s, "rate": USERS / import_s}))
    if keep:
        with open(os.path.join(data, "imported"), "w") as f:
            f.write("%s\n%s\n%s\n" % (demo_pwd, admin_login[0], admin_login[1]))
    serve_rows(label, data, db_args, config, binary, demo_pwd, admin_login, results, pg)


def rerun_database(label, data, work, results, binary):
    """A kept SQLite data dir (KEEP_DIR): no import, the rows only."""
    demo_pwd, user, pwd = open(os.path.join(data, "imported")).read().split("\n")[:3]
    print("  (kept data dir %s: no import)" % data, flush=True)
    write_config(os.path.join(data, "bench.toml"))
    serve_rows(label, data, [], os.path.join(data, "bench.toml"), binary, demo_pwd, (user, pwd),
               results, None)


def serve_rows(label, data, db_args, config, binary, demo_pwd, admin_login, results, pg):
    proc, url, _ = start_server(data, db_args, config, binary)
    rows = []
    try:
        if "search" in ROWS:
            search_row(url, proc, admin_login, pg, rows)
            if pg is not None:
                # Right after a bulk load the visibility map is unset (every
                # index entry a count reads is checked against the table)
                # until autovacuum gets to the table; VACUUM does it now.
                t0 = time.time()
                r = pg._psql(db_args[1].rsplit("/", 1)[1], "VACUUM ANALYZE dir_users",
                             timeout=1800)
                if r.returncode != 0:
                    raise SystemExit("VACUUM failed: " + r.stderr)
                print("  VACUUM ANALYZE dir_users: %.1f s" % (time.time() - t0), flush=True)
                search_row(url, proc, admin_login, pg, rows, "admin search by name, vacuumed")
    except BaseException:
        stop(proc)
        raise
    if "lookup" not in ROWS:
        stop(proc)
        results.append((label, "rows", rows))
        return
    try:
        names = ["u%07d" % i for i in range(USERS)]
        random.Random(7).shuffle(names)
        pool = os.path.join(data, "names.pool")
        with open(pool, "w") as f:
            f.write("\n".join(names[: min(USERS, 400000)]) + "\n")
        path = "/sso/servlet/organduser"
        row(url, "getUserByLoginname, random user (cold)",
            {"WRK_PATH": path, "WRK_BODY": signed_body(demo_pwd, method="getUserByLoginname")
             + "&loginname={}", "WRK_POOL_IN": pool}, rows, proc, pg)
        row(url, "getUserByLoginname, one user (hot)",
            {"WRK_PATH": path,
             "WRK_BODY": signed_body(demo_pwd, method="getUserByLoginname", loginname="u0000001")},
            rows, proc, pg)
    finally:
        stop(proc)
    results.append((label, "rows", rows))


def main():
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is missing")
    global NGINX_URL, NGINX_PID
    work = tempfile.mkdtemp(prefix="tongban-dirscale-")
    results = []
    nginx = None
    try:
        if nginx_baseline.enabled() and "lookup" in ROWS:
            nginx, NGINX_URL = nginx_baseline.start(os.path.join(work, "nginx"),
                                                    0 if PIN else None)
            NGINX_PID = nginx.pid
        orgs, users = write_inputs(work)
        only = os.environ.get("DATABASES", "sqlite,postgresql").split(",")
        binaries = [("", BIN)]
        if os.environ.get("BEFORE_BIN"):
            binaries = [(" before", os.environ["BEFORE_BIN"]), (" after", BIN)]
        if "sqlite" in only:
            for tag, binary in binaries:
                run_database("SQLite" + tag, [], work, orgs, users, results, binary)
        why = stores.missing_binaries() if "postgresql" in only else "not asked for"
        if why:
            print("PostgreSQL skipped: " + why)
        else:
            pg = stores.PrivatePostgres().start()
            try:
                for tag, binary in binaries:
                    run_database("PostgreSQL 15" + tag, ["--db", pg.new_database_url()], work,
                                 orgs, users, results, binary, pg)
            finally:
                pg.close()
    finally:
        if nginx is not None:
            nginx.terminate()
            nginx.wait()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
