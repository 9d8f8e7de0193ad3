"""A push receiver as an app would run one: an HTTP server on a free loopback
port that records every push tongban POSTs, checks its signature with the
app's servicepwd, and answers as its `policy` says (to fail on purpose)."""
import hashlib
import http.server
import json
import threading
import time
import urllib.parse
import xml.etree.ElementTree as ET

from tongban_harness import run_admin

OK_REPLY = (200, '{"result":"0","errmsg":"成功"}')


class Push:
    """One request as received."""

    def __init__(self, form, acked):
        self.form = form
        self.acked = acked

    @property
    def method(self):
        return self.form.get("method")

    def args(self):
        text = self.form["args"]
        if self.form.get("datatype") == "xml":
            root = ET.fromstring(text.encode("utf-8"))
            return {child.tag: child.text or "" for child in root}
        return json.loads(text)


class PushReceiver:
    def __init__(self, policy=None):
        """policy(index, form) -> (status, body); index counts requests from 0."""
        self.policy = policy or (lambda index, form: OK_REPLY)
        self.servicepwd = None  # set once the app exists, to check signatures
        self.pushes = []
        self.cond = threading.Condition()
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length).decode("utf-8")
                form = dict(urllib.parse.parse_qsl(body, keep_blank_values=True))
                form["_content_type"] = self.headers.get("Content-Type", "")
                with receiver.cond:
                    index = len(receiver.pushes)
                status, reply = receiver.policy(index, form)
                acked = status == 200 and reply == OK_REPLY[1]
                with receiver.cond:
                    receiver.pushes.append(Push(form, acked))
                    receiver.cond.notify_all()
                data = reply.encode("utf-8")
                self.send_response(status)
                self.send_header("Content-Type", "application/json;charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self):
        return "http://127.0.0.1:%d/push" % self.httpd.server_address[1]

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()

    def snapshot(self):
        with self.cond:
            return list(self.pushes)

    def acked(self):
        return [p for p in self.snapshot() if p.acked]

    def wait_until(self, predicate, timeout=60):
        """Waits (bounded) until predicate(list of pushes) holds; returns it."""
        with self.cond:
            return self.cond.wait_for(lambda: predicate(list(self.pushes)), timeout)

    def wait_for_acked(self, count, timeout=60):
        return self.wait_until(lambda pushes: sum(p.acked for p in pushes) >= count, timeout)

    def sign_ok(self, push):
        form = push.form
        expected = hashlib.md5((form["servicecode"] + self.servicepwd + form["time"])
                               .encode("utf-8")).hexdigest()
        return form.get("sign") == expected


def outbox(data_dir, state, destination):
    """The outbox messages of `destination` in `state`, from `tongban admin outbox list`."""
    out = run_admin(data_dir, "outbox", "list", "--state", state, "--limit", "1000").stdout
    rows = [line.split("\t") for line in out.splitlines()[1:] if line]
    return [{"id": r[0], "method": r[2], "attempts": int(r[4]), "last_error": r[5]}
            for r in rows if r[1] == destination]


def wait_for_outbox(data_dir, state, destination, predicate, timeout=30):
    """Polls the outbox (bounded) until predicate(messages) holds; returns the
    messages. The server records an outcome just after the app answered, so a
    receiver's view runs a moment ahead of the outbox."""
    deadline = time.monotonic() + timeout
    while True:
        messages = outbox(data_dir, state, destination)
        if predicate(messages) or time.monotonic() > deadline:
            return messages
