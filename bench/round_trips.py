"""Counts the Redis round trips of each ticket call of a running tongban:
a MONITOR connection sees every command; the ones a script runs are marked
"lua" and are not round trips. Each operation runs N times between two ECHO
markers sent on the counting connection's sibling.

    round_trips.py BASE_URL REDIS_PORT N     (with bench/prepare.py's variables
                                              in the environment, as tickets.sh runs it)

Prints one line per operation: its name, round trips per call, and the
commands seen (top-level and inside scripts)."""
import collections
import os
import re
import socket
import sys
import threading
import time
import urllib.parse

import requests

base, redis_port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
env = os.environ
LINE = re.compile(rb'^\+\d+\.\d+ \[\d+ ([^\]]+)\] "([^"]+)"')


class Monitor:
    def __init__(self):
        self.sock = socket.create_connection(("127.0.0.1", redis_port))
        self.sock.sendall(b"MONITOR\r\n")
        self.lines = []
        self.lock = threading.Lock()
        threading.Thread(target=self.read, daemon=True).start()

    def read(self):
        buf = b""
        while True:
            chunk = self.sock.recv(65536)
            if not chunk:
                return
            buf += chunk
            *lines, buf = buf.split(b"\r\n")
            with self.lock:
                self.lines.extend(lines)

    def between(self, start, end):
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with self.lock:
                text = list(self.lines)
            marks = [i for i, l in enumerate(text) if start.encode() in l or end.encode() in l]
            if len(marks) >= 2:
                return text[marks[0] + 1:marks[1]]
            time.sleep(0.05)
        raise SystemExit("round_trips: markers not seen")


def echo(text):
    with socket.create_connection(("127.0.0.1", redis_port)) as s:
        body = text.encode()
        s.sendall(b"*2\r\n$4\r\nECHO\r\n$%d\r\n%s\r\n" % (len(body), body))
        s.recv(256)


def fields(body, value):
    """A prepare.py body with its pool value filled in (the server runs with
    sso.replay_protection = false, as bench/run.sh's server A does)."""
    return body.replace("{}", urllib.parse.quote(value, safe=""))


monitor = Monitor()
time.sleep(0.2)  # MONITOR is on before the first marker is sent


def count(name, fn, calls):
    echo("start-" + name)
    fn()
    echo("end-" + name)
    top = collections.Counter()
    inner = collections.Counter()
    for line in monitor.between("start-" + name, "end-" + name):
        m = LINE.match(line)
        if not m:
            continue
        source, command = m.group(1), m.group(2).decode().upper()
        (inner if source == b"lua" else top)[command] += 1
    rt = sum(top.values()) / calls
    print("%-34s %5.1f round trips   %s | in scripts: %s" % (
        name, rt, " ".join("%s:%g" % (k, v / calls) for k, v in sorted(top.items())),
        " ".join("%s:%g" % (k, v / calls) for k, v in sorted(inner.items())) or "-"))


def post(path, body):
    r = requests.post(base + path, data=body, timeout=10,
                      headers={"Content-Type": "application/x-www-form-urlencoded"})
    r.raise_for_status()
    return r.json()


token = env["GETST_TOKENS"].split()[0]
st = []
st2 = []


def get_st():
    for _ in range(n):
        st.append(post(env["COMM_PATH"], fields(env["GETST_BODY"], token))["st"])
    for _ in range(n):
        st2.append(post(env["COMM_PATH"], fields(env["GETST_BODY"], token))["st"])


def easy_validate():
    for t in st:
        assert post(env["EASY_PATH"], fields(env["EASY_TV_BODY"], t))["result"] == "0"


def comm_validate():
    for t in st2:
        assert post(env["COMM_PATH"], fields(env["COMM_TV_BODY"], t))["result"] == "0"


cas = []


def cas_login():
    for _ in range(n):
        r = requests.get(base + "/sso/cas/login?service=" + env["CAS_SERVICE_Q"],
                         headers={"Cookie": env["SSO_COOKIE"]}, allow_redirects=False, timeout=10)
        assert r.status_code == 302, r.status_code
        cas.append(re.search(r"ticket=([^&]+)", r.headers["Location"]).group(1))


def cas_validate():
    for t in cas:
        r = requests.get(base + "/sso/cas/p3/serviceValidate?service=%s&ticket=%s" %
                         (env["CAS_SERVICE_Q"], t), timeout=10)
        assert "authenticationSuccess" in r.text, r.text


# getST runs 2N times: it fills both validation pools.
count("commnetAuth getST", get_st, 2 * n)
count("easyAuth ticketValidation", easy_validate, n)
count("commnetAuth ticketValidation", comm_validate, n)
count("CAS /login with a session", cas_login, n)
count("CAS p3/serviceValidate", cas_validate, n)
