#!/usr/bin/env python3
"""Notice creation through the signed direct interface, end to end: starts
tongban (pinned to one core with taskset when there are two or more), takes the
demo unit's linked app, pre-signs N Create_AppPay_Info calls (XML, unique
notice numbers and nonces, replay protection on), replays them with wrk
(bench/wrk/replay_signed.lua, on another core) and prints the rate and the
count of replies that were not CODE 00. Target of issue 18: >= 5,000/s on one
core. The server's CPU per request (utime + stime of its process over the run,
from /proc, divided by the replies wrk counted) is printed too: on a shared,
loaded machine it is the figure that does not move with the load (one core
serves 1e6 / (µs per request) requests a second). --bin runs another build
(an A/B in the same run: e.g. the previous binary, then this one).

    python3 bench/payment_direct.py [--requests 60000] [--duration 10s] [--connections 32]
        [--bin build/tongban]
"""
import argparse
import hashlib
import hmac
import os
import re
import secrets
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))
from tongban_harness import BIN, TongbanServer  # noqa: E402
from signed_client import canonical_request, spec_time  # noqa: E402

BODY = ('<?xml version="1.0" encoding="UTF-8"?><ROOT><REQUEST>'
        '<PARAM NAME="ORIGINALNOTICENO">%s</PARAM><PARAM NAME="YWCODE">BENCH</PARAM>'
        '<PARAM NAME="PAYER">张三</PARAM><PARAM NAME="PAYERSFZ">11010519491231002X</PARAM>'
        '<PARAM NAME="PAYERMOBILE">13900139000</PARAM><PARAM NAME="ISTRUENAME">1</PARAM>'
        '<PARAM NAME="EXPIREDPAYDATE">20991231</PARAM>'
        '<PROJECT><PARAM NAME="CHITCODE">00034002</PARAM><PARAM NAME="CHCOUNT">2.5</PARAM>'
        '</PROJECT><PROJECT><PARAM NAME="CHITCODE">00034003</PARAM>'
        '<PARAM NAME="CHMONEY">12.34</PARAM></PROJECT></REQUEST></ROOT>')


def server_cpu_s(pid):
    """utime + stime of the process (all its threads), in seconds."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=60000)
    ap.add_argument("--duration", default="10s")
    ap.add_argument("--connections", type=int, default=32)
    ap.add_argument("--bin", default=BIN)
    ap.add_argument("--postgres", action="store_true",
                    help="store in a private PostgreSQL (tests/integration/stores.py), "
                         "which runs unpinned beside wrk")
    args = ap.parse_args()
    cores = os.cpu_count() or 1
    pin_server = ["taskset", "-c", "0"] if cores >= 2 else []
    pin_wrk = ["taskset", "-c", "1"] if cores >= 2 else []
    pg = None
    extra = []
    if args.postgres:
        import stores  # noqa: E402 (tests/integration)
        pg = stores.PrivatePostgres().start()
        config = tempfile.NamedTemporaryFile("w", suffix=".toml", delete=False)
        config.write('[storage]\ndatabase = "%s"\n' % pg.new_database_url())
        config.close()
        extra = ["--config", config.name]
    server = TongbanServer(*extra, env=None)
    server.args = pin_server + [args.bin] + server.args[1:]
    server.start()
    try:
        demo = [re.search(r"servicecode=(\S+) servicepwd=(\S+)", l) for l in server.stdout_lines]
        demo = [m for m in demo if m][0]
        servicecode, servicepwd = demo.group(1), demo.group(2)
        path = "direct/Create_AppPay_Info"
        run = secrets.token_hex(3)
        with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as f:
            t = spec_time()
            for i in range(args.requests):
                body = BODY % ("BN%s%07d" % (run, i))
                fields = {"servicecode": servicecode, "time": t, "signmethod": "hmac-sha256",
                          "nonce": secrets.token_hex(16),
                          "body_sha256": hashlib.sha256(body.encode()).hexdigest()}
                fields["sign"] = hmac.new(servicepwd.encode(),
                                          canonical_request(path, fields).encode(),
                                          hashlib.sha256).hexdigest()
                query = "&".join("%s=%s" % kv for kv in fields.items())
                f.write("/payment/api/%s?%s\t%s\n" % (path, query, body))
            requests_file = f.name
        # The same server's fixed-body baseline, as bench/README.md reports rows.
        base = subprocess.run(pin_wrk + ["wrk", "-t1", "-c%d" % args.connections, "-d3s",
                                         server.base_url + "/livez"],
                              capture_output=True, text=True, timeout=60).stdout
        base_rate = float(re.search(r"Requests/sec:\s+([0-9.]+)", base).group(1))
        env = dict(os.environ, WRK_REQUESTS=requests_file, WRK_THREADS="1",
                   WRK_CONTENT_TYPE='text/xml; charset=utf-8', WRK_OK='CODE="00"')
        cpu_before = server_cpu_s(server.proc.pid)
        load_before = os.getloadavg()[0]
        started = time.monotonic()
        # PERF_OUT=file: the server recorded with perf (cpu-clock, call graphs)
        # during the run; perf takes CPU too, so that run's figures are not comparable.
        perf = (subprocess.Popen(["perf", "record", "-e", "cpu-clock", "-g", "-p",
                                  str(server.proc.pid), "-o", os.environ["PERF_OUT"]],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                if os.environ.get("PERF_OUT") else None)
        out = subprocess.run(pin_wrk + ["wrk", "-t1", "-c%d" % args.connections,
                                        "-d" + args.duration, "--latency", "-s",
                                        os.path.join(HERE, "wrk", "replay_signed.lua"),
                                        server.base_url], env=env, capture_output=True,
                             text=True, timeout=600)
        cpu = server_cpu_s(server.proc.pid) - cpu_before
        if perf:
            perf.send_signal(2)
            perf.wait(60)
        print(out.stdout, out.stderr, sep="")
        rate = float(re.search(r"Requests/sec:\s+([0-9.]+)", out.stdout).group(1))
        done = int(re.search(r"(\d+) requests in", out.stdout).group(1))
        us = 1e6 * cpu / max(done, 1)
        print("server CPU: %.1f s for %d requests = %.0f µs/request = %.0f/s per core "
              "(load average %.1f before, %.1f after)"
              % (cpu, done, us, 1e6 / us if us else 0, load_before, os.getloadavg()[0]))
        print("GET /livez baseline: %.0f/s; Create_AppPay_Info: %.0f/s = %.1f%% of it"
              % (base_rate, rate, 100 * rate / base_rate))
        print("(%.1f s; server %s, wrk %s)" % (time.monotonic() - started,
                                              "core 0" if pin_server else "unpinned",
                                              "core 1" if pin_wrk else "unpinned"))
        os.unlink(requests_file)
    finally:
        server.cleanup()
        if pg:
            pg.close()
            os.unlink(extra[1])


if __name__ == "__main__":
    main()
