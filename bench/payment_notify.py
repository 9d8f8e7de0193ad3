#!/usr/bin/env python3
"""The payment channel's asynchronous notifications (issue 18: notification
handling >= 5,000/s), end to end: `tongban paysim` as the sandbox channel,
tongban pinned to one core, N notices created by the demo clerk and an order
placed for each through the public pay call (the channel records it), then N
distinct signed "paid" notifications (the sandbox protocol: order_no,
channel_serial, amount_fen, paid_at, status, HMAC-SHA256 sign) replayed with
wrk (bench/wrk/replay_signed.lua, on another core). Each one verifies the
signature, checks the order and amount, records the payment, marks the notice
paid and queues the unit's GetPay_Info, in one transaction (delivered to a
listening unit endpoint beside the run, as in production). Prints req/s,
replies that were not "success", the server's CPU per notification from
/proc and the same server's /livez baseline.

    python3 bench/payment_notify.py [--notices 20000] [--connections 32]
        [--payment-option unit_notify_linger_ms=0]
"""
import argparse
import concurrent.futures
import os
import re
import secrets
import subprocess
import sys
import tempfile
import time
import urllib.parse

import requests

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))
from payment_fixture import (API, CHANNEL_KEY, Paysim, UnitEndpoint, clerk_client,  # noqa: E402
                             link_unit, notice_body, sandbox_sign)
from tongban_harness import TongbanServer  # noqa: E402


def server_cpu_s(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def thread_cpu_s(pid):
    """CPU seconds per thread name (comm) of `pid`, from /proc/<pid>/task/*/stat."""
    out = {}
    for tid in os.listdir("/proc/%d/task" % pid):
        try:
            with open("/proc/%d/task/%s/stat" % (pid, tid)) as f:
                head, tail = f.read().rsplit(")", 1)
        except OSError:
            continue
        name = head.split("(", 1)[1]
        if not name.startswith("tb-"):  # unnamed threads (the HTTP and blocking pools): apart
            name = "thread %s" % tid
        fields = tail.split()
        out[name] = out.get(name, 0) + (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--notices", type=int, default=20000)
    ap.add_argument("--connections", type=int, default=32)
    ap.add_argument("--duration", default="3s",
                    help="wrk's run; make --notices cover it at the expected rate")
    ap.add_argument("--payment-option", action="append", default=[], metavar="KEY=VALUE",
                    help="an extra [payment] config line, e.g. unit_notify_linger_ms=0 "
                         "(repeatable; an A/B of one setting with one binary)")
    args = ap.parse_args()
    cores = os.cpu_count() or 1
    pin_server = ["taskset", "-c", "0"] if cores >= 2 else []
    pin_wrk = ["taskset", "-c", "1"] if cores >= 2 else []
    paysim = Paysim()
    # The channel with its default sweeps: the tests' quick ones would query every
    # prepared order at the channel while the notifications run.
    with tempfile.NamedTemporaryFile("w", suffix=".toml", delete=False) as f:
        f.write('[payment]\nchannel = "sandbox"\nsandbox = true\nchannel_url = "%s"\n'
                'channel_key = "%s"\n%s[server]\naccess_log = false\n[log]\nlevel = "warn"\n'
                % (paysim.base_url, CHANNEL_KEY,
                   "".join("%s\n" % o.replace("=", " = ", 1) for o in args.payment_option)))
        config = f.name
    server = TongbanServer("--config", config)
    server.args = pin_server + server.args
    server.start()
    try:
        clerk = clerk_client(server)
        # The unit listens for its GetPay_Info (the fixture's endpoint acknowledges
        # each), as a unit in production does: without one every payment's message
        # would stay pending and be retried beside the run.
        unit = UnitEndpoint()
        link_unit(server, clerk, unit)
        run = secrets.token_hex(3).upper()
        pay_url = server.url(API + "public/notices/%s/pay")

        def prepare(i):
            no = clerk.ok("POST", "notices", notice_body("NT%s%06d" % (run, i), "12.34"))["notice_no"]
            with requests.Session() as s:
                r = s.post(pay_url % no, json={}, timeout=30)
            r.raise_for_status()
            return r.json()["order"]
        started = time.monotonic()
        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            orders = list(pool.map(prepare, range(args.notices)))
        print("prepared %d notices and orders in %.0f s" % (len(orders),
                                                           time.monotonic() - started))
        paid_at = str(int(time.time() * 1000))
        with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as f:
            for i, o in enumerate(orders):
                form = [("order_no", o["order_no"]), ("channel_serial", "SIM%s%07d" % (run, i)),
                        ("amount_fen", str(o["amount_fen"])), ("paid_at", paid_at),
                        ("status", "paid")]
                form.append(("sign", sandbox_sign(CHANNEL_KEY, form)))
                f.write("%s\t%s\n" % (API + "channel/notify", urllib.parse.urlencode(form)))
            requests_file = f.name
        base = subprocess.run(pin_wrk + ["wrk", "-t1", "-c%d" % args.connections, "-d3s",
                                         server.base_url + "/livez"],
                              capture_output=True, text=True, timeout=60).stdout
        base_rate = float(re.search(r"Requests/sec:\s+([0-9.]+)", base).group(1))
        env = dict(os.environ, WRK_REQUESTS=requests_file, WRK_THREADS="1",
                   WRK_CONTENT_TYPE='application/x-www-form-urlencoded', WRK_OK='success')
        cpu_before = server_cpu_s(server.proc.pid)
        threads_before = thread_cpu_s(server.proc.pid)
        load_before = os.getloadavg()[0]
        # PERF_CALLGRAPH=dwarf for a build without frame pointers (Release).
        perf = (subprocess.Popen(["perf", "record", "-e", "cpu-clock", "--call-graph",
                                  os.environ.get("PERF_CALLGRAPH", "fp"), "-p",
                                  str(server.proc.pid), "-o", os.environ["PERF_OUT"]],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                if os.environ.get("PERF_OUT") else None)
        out = subprocess.run(pin_wrk + ["wrk", "-t1", "-c%d" % args.connections, "-d" + args.duration,
                                        "--latency", "-s",
                                        os.path.join(HERE, "wrk", "replay_signed.lua"),
                                        server.base_url], env=env, capture_output=True,
                             text=True, timeout=600)
        cpu = server_cpu_s(server.proc.pid) - cpu_before
        threads_at_end_of_run = thread_cpu_s(server.proc.pid)
        # The unit's GetPay_Info of every credited payment is part of handling
        # it: wait until the unit has them all, then count the CPU again.
        done = int(re.search(r"(\d+) requests in", out.stdout).group(1))
        failed = int(re.search(r"replayed: \d+ requests, (\d+) not ok", out.stdout).group(1))
        credited = min(done, len(orders)) - failed
        drain_started = time.monotonic()
        while len(unit.deliveries) < credited and time.monotonic() - drain_started < 300:
            time.sleep(0.05)
        drained_s = time.monotonic() - drain_started
        # wrk does not count the calls in flight when it stops; the server
        # handled them too: wait for their messages (quiet for 1.5 s).
        seen, quiet_since = len(unit.deliveries), time.monotonic()
        while time.monotonic() - quiet_since < 1.5:
            time.sleep(0.1)
            if len(unit.deliveries) != seen:
                seen, quiet_since = len(unit.deliveries), time.monotonic()
        handled = max(done, len(unit.by_pay_no()))
        cpu_drained = server_cpu_s(server.proc.pid) - cpu_before
        threads_after = thread_cpu_s(server.proc.pid)
        if perf:  # PERF_OUT=file: the server under perf (its figures are not comparable)
            perf.send_signal(2)
            perf.wait(60)
        print(out.stdout, out.stderr, sep="")
        rate = float(re.search(r"Requests/sec:\s+([0-9.]+)", out.stdout).group(1))
        us = 1e6 * cpu / max(done, 1)
        print("server CPU during the run: %.2f s for %d notifications = %.0f µs each "
              "(load average %.1f before, %.1f after)"
              % (cpu, done, us, load_before, os.getloadavg()[0]))
        us = 1e6 * cpu_drained / max(handled, 1)
        print("the unit had all %d credited payments %.1f s after the run (%d handled in all, "
              "%d deliveries); server CPU until then: %.2f s = %.0f µs per notification = "
              "%.0f/s per core"
              % (credited, drained_s, handled, len(unit.deliveries), cpu_drained, us,
                 1e6 / us if us else 0))
        # The unit notifier and the query sweeper run on named threads
        # (tb-unitnotify, tb-paysweep); everything else is the request path.
        for name in sorted(threads_after):
            spent = threads_after[name] - threads_before.get(name, 0)
            in_run = threads_at_end_of_run.get(name, 0) - threads_before.get(name, 0)
            if spent >= 0.02:
                print("  %-15s %.2f s (%.2f s during the run) = %.0f µs per notification"
                      % (name, spent, in_run, 1e6 * spent / max(handled, 1)))
        print("GET /livez baseline: %.0f/s; notifications: %.0f/s = %.1f%% of it"
              % (base_rate, rate, 100 * rate / base_rate))
        os.unlink(requests_file)
    finally:
        server.cleanup()
        paysim.stop()
        if "unit" in locals():
            unit.stop()
        os.unlink(config)


if __name__ == "__main__":
    main()
