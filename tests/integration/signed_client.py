"""A client for the SSO specification's signed server-to-server interfaces,
as an app would write one: every call carries servicecode, time
(yyyyMMddHHmmss, China Standard Time) and sign = md5(servicecode + servicepwd + time).
RequestSignedClient signs with tongban's request signature instead
(docs/integrate-zj.md §2a: an HMAC over the method, every parameter and a nonce).

Also helpers to read the demo app's credentials from a first start and to
register more apps with `tongban admin app create`.
"""
import hashlib
import hmac
import re
import secrets
import threading
import time as _time
import urllib.parse

import requests

from tongban_harness import run_admin

DEMO_RE = re.compile(r"servicecode=(\S+) servicepwd=(\S+)")
_used_times = {}
_used_lock = threading.Lock()


CST_OFFSET_S = 8 * 3600  # the spec's callers write China Standard Time, whatever their host's TZ


def spec_time(t=None):
    return _time.strftime("%Y%m%d%H%M%S",
                          _time.gmtime((_time.time() if t is None else t) + CST_OFFSET_S))


def md5_sign(servicecode, servicepwd, t):
    return hashlib.md5((servicecode + servicepwd + t).encode("utf-8")).hexdigest()


def fresh_time(servicecode):
    """A `time` within a few minutes of now that this app has not used yet.

    The server refuses a replayed (servicecode, time, sign, parameters) inside
    its window; tests that repeat an identical call on purpose would otherwise
    trip over that within one second. The replay test reuses a time itself.
    """
    now = int(_time.time())
    with _used_lock:
        used = _used_times.setdefault(servicecode, set())
        # Within the server's default 300 s window, with room for a slow test.
        for delta in range(0, 240):
            for t in (now - delta, now + delta):
                if t not in used:
                    used.add(t)
                    return spec_time(t)
    raise RuntimeError("no unused time left for " + servicecode)


def demo_credentials(server):
    for line in server.stdout_lines:
        m = DEMO_RE.search(line)
        if m:
            return m.group(1), m.group(2)
    raise AssertionError("no demo credentials in %r" % server.stdout_lines)


def create_app(data_dir, servicecode, *flags):
    """Registers an app; returns its servicepwd."""
    out = run_admin(data_dir, "app", "create", "--name", "应用" + servicecode,
                    "--servicecode", servicecode, *flags).stdout
    m = re.search(r"servicepwd=(\S+)", out)
    assert m, out
    return m.group(1)


class SignedClient:
    def __init__(self, base_url, servicecode, servicepwd, path="/sso/servlet/organduser"):
        self.url = base_url + path
        self.servicecode = servicecode
        self.servicepwd = servicepwd

    def auth(self, t=None):
        t = t or fresh_time(self.servicecode)
        return {"servicecode": self.servicecode, "time": t,
                "sign": md5_sign(self.servicecode, self.servicepwd, t)}

    def request(self, method, how="post", auth=None, **params):
        """Sends one call. how: "post" (form body), "get" (query) or "mixed"
        (method and auth in the query, the rest in the form)."""
        fields = dict(auth or self.auth())
        fields["method"] = method
        if how == "get":
            return requests.get(self.url, params={**fields, **params}, timeout=30)
        if how == "mixed":
            return requests.post(self.url, params=fields, data=params, timeout=30)
        return requests.post(self.url, data={**fields, **params}, timeout=30)

    def json(self, method, **params):
        r = self.request(method, datatype="json", **params)
        assert r.status_code == 200, r.text
        assert r.headers["Content-Type"].startswith("application/json"), r.headers
        return r.json()


def canonical_request(method, params):
    """The string a request signature covers: TB1, the method, then every
    parameter but sign and method, sorted by name, percent-encoded (RFC 3986
    unreserved characters kept, UTF-8, %XX upper case) and joined by '&'."""
    pairs = sorted((k, v) for k, v in params.items() if k not in ("sign", "method"))
    query = "&".join(urllib.parse.quote(k, safe="") + "=" + urllib.parse.quote(v, safe="")
                     for k, v in pairs)
    return "TB1\n" + method + "\n" + query


def request_sign(servicepwd, method, params, signmethod="hmac-sha256"):
    digest = {"hmac-sha256": "sha256", "hmac-sm3": "sm3"}[signmethod]
    return hmac.new(servicepwd.encode("utf-8"), canonical_request(method, params).encode("utf-8"),
                    digest).hexdigest()


class RequestSignedClient(SignedClient):
    """Signs every call with the request signature (a fresh nonce per call)."""

    def __init__(self, base_url, servicecode, servicepwd, path="/sso/servlet/organduser",
                 signmethod="hmac-sha256"):
        super().__init__(base_url, servicecode, servicepwd, path)
        self.signmethod = signmethod

    def fields(self, method, params, nonce=None):
        fields = {"servicecode": self.servicecode, "time": spec_time(),
                  "signmethod": self.signmethod, "nonce": nonce or secrets.token_hex(16),
                  **params}
        fields["sign"] = request_sign(self.servicepwd, method, fields, self.signmethod)
        fields["method"] = method
        return fields

    def request(self, method, how="post", auth=None, **params):
        fields = self.fields(method, params)
        if how == "get":
            return requests.get(self.url, params=fields, timeout=30)
        return requests.post(self.url, data=fields, timeout=30)
