"""Shared by the payment channel tests: `tongban paysim` as its own process,
a collecting unit's endpoint receiving GetPay_Info (signature checked with
the unit's servicepwd, PAYNO deduplicated as the spec asks of units), a
tongban config naming the sandbox, the clerk's console client, and waiting
for a state with a deadline (never a sleep as synchronisation)."""
import hashlib
import hmac
import os
import re
import select
import subprocess
import tempfile
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import requests

from approval_fixture import Client, admin_login, browser_login
from tongban_harness import BIN

API = "/payment/api/"
CLERK_RE = re.compile(r"payment clerk .*login=(\S+) password=(\S+)")
PAYSIM_RE = re.compile(r"paysim listening on (http://[0-9.]+:\d+)")
CHANNEL_KEY = "it-channel-key-" + hashlib.sha256(os.urandom(8)).hexdigest()[:12]


def sandbox_sign(key, pairs):
    """The sandbox protocol's signature (docs/api/payment-channels.md)."""
    canonical = "&".join("%s=%s" % (k, v) for k, v in sorted(pairs) if k != "sign" and v != "")
    return hmac.new(key.encode(), canonical.encode(), hashlib.sha256).hexdigest()


def wait_for(what, probe, timeout=20.0, interval=0.05):
    """Polls probe() until it returns a truthy value; fails after the deadline."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = probe()
        if last:
            return last
        time.sleep(interval)  # a poll interval, not synchronisation: the state is re-read
    raise AssertionError("timed out waiting for %s (last: %r)" % (what, last))


class Paysim:
    """`tongban paysim` on a free port; stop() ends it."""

    def __init__(self, key=CHANNEL_KEY, port=0):
        self.log = tempfile.TemporaryFile()
        self.proc = subprocess.Popen([BIN, "paysim", "--key", key, "--port", str(port),
                                      "--retry-ms", "100"],
                                     stdout=subprocess.PIPE, stderr=self.log)
        buf = b""
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            ready, _, _ = select.select([self.proc.stdout], [], [], 0.5)
            if ready:
                chunk = os.read(self.proc.stdout.fileno(), 4096)
                if not chunk:
                    break
                buf += chunk
                m = PAYSIM_RE.search(buf.decode())
                if m:
                    self.base_url = m.group(1)
                    return
        self.stop()
        raise RuntimeError("paysim did not start: %r" % buf)

    def url(self, path):
        return self.base_url + path

    def switches(self, **values):
        r = requests.post(self.url("/paysim/admin/switches"), data=values, timeout=10)
        assert r.status_code == 200, r.text
        return r.json()

    def pay(self, order_no, amount_fen=None):
        data = {"order_no": order_no}
        if amount_fen is not None:
            data["amount_fen"] = amount_fen
        r = requests.post(self.url("/paysim/api/pay"), data=data, timeout=10)
        assert r.status_code == 200, r.text
        return r.json()

    def order(self, order_no):
        return requests.get(self.url("/paysim/admin/orders"), params={"order_no": order_no},
                            timeout=10).json()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc.stdout.close()
        self.log.close()


class UnitEndpoint:
    """A collecting unit's system receiving GetPay_Info. Checks the signature,
    keeps every delivery, answers `success`, or HTTP 500 to the first
    `fail_first` deliveries of each PAYNO (to show retries)."""

    def __init__(self):
        self.key = None
        self.lock = threading.Lock()
        self.deliveries = []  # every accepted form, in arrival order
        self.bad_signatures = 0
        self.fail_first = 0
        self.failed = {}
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            # Keep-alive, as a unit's web server would: tongban's notifier
            # sends a burst over one connection.
            protocol_version = "HTTP/1.1"
            # Headers and body go out in two writes: without this, Nagle holds
            # the body until the client's delayed ACK (40 ms a message).
            disable_nagle_algorithm = True

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
                form = dict(urllib.parse.parse_qsl(body, keep_blank_values=True))
                status, answer = endpoint.receive(form)
                self.send_response(status)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = "http://127.0.0.1:%d/notify" % self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def receive(self, form):
        with self.lock:
            if form.get("sign") != sandbox_sign(self.key or "", form.items()):
                self.bad_signatures += 1
                return 403, b"bad sign"
            pay_no = form.get("PAYNO", "")
            if self.failed.get(pay_no, 0) < self.fail_first:
                self.failed[pay_no] = self.failed.get(pay_no, 0) + 1
                return 500, b"busy"
            self.deliveries.append(form)
            return 200, b"success"

    def by_pay_no(self):
        """PAYNO -> deliveries (the unit deduplicates on PAYNO)."""
        with self.lock:
            out = {}
            for d in self.deliveries:
                out.setdefault(d["PAYNO"], []).append(d)
            return out

    def notices(self):
        with self.lock:
            return [d["NOTICENO"] for d in self.deliveries]

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def write_config(paysim, extra=""):
    """A tongban config naming the sandbox channel with quick sweeps."""
    f = tempfile.NamedTemporaryFile("w", suffix=".toml", delete=False)
    f.write("""[payment]
channel = "sandbox"
sandbox = true
channel_url = "%s"
channel_key = "%s"
query_after_ms = 1500
query_backoff_ms = 500
query_sweep_interval_ms = 200
unit_notify_poll_ms = 200
unit_notify_timeout_ms = 3000
unit_notify_backoff_ms = 100
%s
""" % (paysim.base_url, CHANNEL_KEY, extra))
    f.close()
    return f.name


def payment_login(base, loginname, password):
    """An SSO login whose session cookie also reaches /payment/ (see test_payment_direct)."""
    b = browser_login(base, loginname, password)
    for c in list(b.cookies):
        if c.path == "/sso":
            b.cookies.set(c.name, c.value, domain=c.domain, path="/payment")
    return b


def clerk_client(server):
    found = [m for m in (CLERK_RE.search(l) for l in server.stdout_lines) if m]
    assert found, server.stdout_lines
    return Client(server.base_url,
                  payment_login(server.base_url, found[0].group(1), found[0].group(2)), API)


def link_unit(server, clerk, unit):
    """A direct-interface app for the demo unit 000368, whose servicepwd signs
    the unit's GetPay_Info, and the unit's notify_url."""
    admin = admin_login(server)
    servicecode = "payunit%s" % hashlib.sha256(os.urandom(8)).hexdigest()[:6]
    created = admin.ok("POST", "apps", {"servicecode": servicecode, "name": "执收单位业务系统",
                                        "orgcoding": "001"})
    unit.key = created["servicepwd"]
    clerk.ok("PUT", "units/000368/links", {"app_code": servicecode, "notify_url": unit.url})
    return servicecode


def notice_body(original, amount="37.34"):
    return {"entercode": "000368", "original_notice_no": original, "ywcode": "YW-" + original,
            "payer": {"name": "赵六", "id_number": "11010519491231002X",
                      "mobile": "13700137000"},
            "true_name": True,
            "lines": [{"chitcode": "00034003", "amount": amount}]}


def china_date(t=None):
    return time.strftime("%Y%m%d", time.gmtime((time.time() if t is None else t) + 8 * 3600))
