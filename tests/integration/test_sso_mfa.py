"""Second factors through the real binary, played as browsers: TOTP enrolment
from the personal centre (codes computed here with RFC 6238, pyotp when it is
installed), login with a code, a replayed code refused, recovery codes that
work once, the administrator forced to enrol (mfa.admin_required, on here),
an app requiring a second factor, step-up by OIDC acr_values / max_age and by
CAS renew, the amr/acr claims, administrator reset (console API and CLI), and
no code in any log."""
import base64
import concurrent.futures
import hashlib
import hmac
import html.parser
import itertools
import json
import os
import re
import secrets
import shutil
import sqlite3
import struct
import tempfile
import threading
import time
import unittest
import urllib.parse

import requests

from signed_client import SignedClient, create_app, demo_credentials
from stores import PrivatePostgres, missing_binaries
from tongban_harness import TongbanServer, main, run_admin

try:
    import pyotp
except ImportError:  # Debian: python3-pyotp (scripts/install-deps.sh)
    pyotp = None

PASSWORD = "Mfa-Passw0rd"
USERS = ["alice", "bob", "carol", "dave", "erin", "frank", "gina", "henry", "ivan", "jack", "kate",
         "rita"]
ADMIN_RE = re.compile(r"admin user:\s+(\S+) / (\S+)")
ACR_MFA = "urn:tongban:acr:mfa"
_ips = itertools.count(1)


def totp(secret_b32, at=None):
    """RFC 6238 (SHA-1, 30 s, 6 digits), as an authenticator app computes it."""
    at = time.time() if at is None else at
    if pyotp is not None:
        return pyotp.TOTP(secret_b32).at(int(at))
    key = base64.b32decode(secret_b32 + "=" * (-len(secret_b32) % 8))
    mac = hmac.new(key, struct.pack(">Q", int(at) // 30), hashlib.sha1).digest()
    offset = mac[-1] & 15
    value = struct.unpack(">I", mac[offset:offset + 4])[0] & 0x7fffffff
    return "%06d" % (value % 1000000)


class Fields(html.parser.HTMLParser):
    def __init__(self, text):
        super().__init__()
        self.fields = {}
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "input" and a.get("name") and a.get("type") == "hidden":
            self.fields[a["name"]] = a.get("value", "")


def secret_of(page):
    m = re.search(r'<code id="totp-secret">([A-Z2-7]+)</code>', page)
    assert m, page[:2000]
    return m.group(1)


def recovery_codes_of(page):
    return re.findall(r"<li><code>([a-z2-7]{5}-[a-z2-7]{5})</code></li>", page)


def query_of(url):
    return dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query))


def jwt_claims(token):
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


class Browser:
    def __init__(self, test):
        self.test = test
        self.base = test.server.base_url
        self.s = requests.Session()
        n = next(_ips)
        self.s.headers["X-Forwarded-For"] = "10.9.%d.%d" % (n >> 8, n & 255)
        test.addCleanup(self.s.close)

    def get(self, url, **params):
        if url.startswith("/"):
            url = self.base + url
        return self.s.get(url, params=params, allow_redirects=False, timeout=30)

    def post_form(self, page, **values):
        fields = Fields(page.text).fields
        fields.update(values)
        return self.s.post(self.base + "/sso/usp.do", data=fields, allow_redirects=False,
                           timeout=30)

    def follow(self, r, stop="http://127.0.0.1:9/"):
        """Follows tongban's redirects until a page or a redirect to an app."""
        for _ in range(10):
            if r.status_code != 302 or r.headers["Location"].startswith(stop):
                return r
            r = self.get(r.headers["Location"])
        raise AssertionError("too many redirects")

    def password(self, page, loginname, password=PASSWORD):
        assert 'name="password"' in page.text, page.text[:1000]
        return self.post_form(page, loginname=loginname, password=password)


class MfaHelpers:
    # ---- helpers ----

    def code(self, secret, offset=0):
        c = totp(secret, time.time() + offset)
        self.used_codes.append(c)
        return c

    def enrol_at_login(self, b, page):
        """Completes the forced enrolment page; returns (secret, recovery codes, next)."""
        self.assertEqual(page.status_code, 200, page.text[:1000])
        self.assertIn("绑定身份验证器", page.text)
        self.assertIn("<svg", page.text)  # the QR code, rendered by the server
        # No session before the factor; a step-up keeps the one it had.
        before = b.s.cookies.get("TBSSO")
        secret = secret_of(page.text)
        wrong = b.post_form(page, code="000000" if totp(secret) != "000000" else "111111")
        self.assertEqual(wrong.status_code, 401)
        self.assertEqual(secret_of(wrong.text), secret)  # the same secret again
        done = b.post_form(wrong, code=self.code(secret))
        self.assertEqual(done.status_code, 200, done.text[:1000])
        codes = recovery_codes_of(done.text)
        self.assertEqual(len(codes), 10)
        self.used_codes.extend(codes)
        self.assertTrue(b.s.cookies.get("TBSSO"))
        if before:
            self.assertEqual(b.s.cookies.get("TBSSO"), before)
        nxt = re.search(r'<a id="continue" href="([^"]+)"', done.text).group(1)
        return secret, codes, nxt.replace("&amp;", "&")

    def enrol_in_personal_centre(self, loginname):
        b = Browser(self)
        r = b.follow(b.password(b.get("/sso/usp.do", action="ssoLogin"), loginname))
        page = b.get("/sso/usp.do", action="mfa")
        self.assertEqual(page.status_code, 200)
        secret = secret_of(page.text)
        self.assertIn("<svg", page.text)
        again = b.get("/sso/usp.do", action="mfa")  # a reload shows the same secret
        self.assertEqual(secret_of(again.text), secret)
        done = b.post_form(again, code=self.code(secret))
        self.assertEqual(done.status_code, 200, done.text[:1000])
        codes = recovery_codes_of(done.text)
        self.assertEqual(len(codes), 10)
        self.used_codes.extend(codes)
        status = b.get("/sso/usp.do", action="mfa")
        self.assertIn('data-code="totp-on"', status.text)
        return secret, codes

    def login_to(self, b, servicecode, loginname):
        """Password step of a login to an app; returns the page after it."""
        page = b.get("/sso/usp.do", action="ssoLogin", servicecode=servicecode)
        return b.password(page, loginname)


class MfaTest(MfaHelpers, unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.config_dir = tempfile.mkdtemp(prefix="tongban-mfa-")
        config = os.path.join(cls.config_dir, "tongban.toml")
        with open(config, "w") as f:
            f.write('[server]\ntrusted_proxies = ["127.0.0.1"]\n')
            # The per-role policy: holders of plain's role "approver" need a factor.
            f.write('[mfa]\nrequired_roles = ["plain:approver"]\n')
        cls.server = TongbanServer("--config", config, admin_second_factor=True).start()
        d = cls.server.data_dir
        m = next(ADMIN_RE.search(l) for l in cls.server.stdout_lines if ADMIN_RE.search(l))
        cls.admin_login, cls.admin_password = m.group(1), m.group(2)
        path = os.path.join(d, "users.csv")
        with open(path, "w", encoding="utf-8") as f:
            f.write("loginname,username,orgcoding,loginpwd\n")
            for u in USERS:
                f.write("%s,用户%s,001001,%s\n" % (u, u, PASSWORD))
        run_admin(d, "user", "import", path)
        create_app(d, "plain", "--open-to-all", "--callback", "http://127.0.0.1:9/plain/cb")
        create_app(d, "strict", "--open-to-all", "--callback", "http://127.0.0.1:9/strict/cb")
        run_admin(d, "app", "second-factor", "strict", "--required", "true")
        run_admin(d, "role", "save", "--app", "plain", "--code", "approver", "--name", "审批人")
        run_admin(d, "role", "grant", "--app", "plain", "--code", "approver", "--user", "rita")
        cls.rp_secret = create_app(d, "rp", "--protocols", "oidc", "--open-to-all",
                                   "--callback", "http://127.0.0.1:9/rp/cb")
        create_app(d, "casapp", "--protocols", "cas", "--open-to-all",
                   "--callback", "http://127.0.0.1:9/casapp/")
        cls.used_codes = []

    @classmethod
    def tearDownClass(cls):
        cls.server.cleanup()
        shutil.rmtree(cls.config_dir, ignore_errors=True)

    # ---- TOTP ----

    def test_totp_login_replay_and_recovery_codes(self):
        secret, codes = self.enrol_in_personal_centre("alice")
        # Login now asks for the code after the password, and holds no session yet.
        b = Browser(self)
        page = self.login_to(b, "plain", "alice")
        self.assertEqual(page.status_code, 200)
        self.assertIn('name="code"', page.text)
        self.assertIsNone(b.s.cookies.get("TBSSO"))
        mfa_cookie = [c for c in page.raw.headers.getlist("Set-Cookie") if c.startswith("TBMFA=")]
        self.assertTrue(mfa_cookie and "HttpOnly" in mfa_cookie[0], mfa_cookie)
        wrong = b.post_form(page, code="12345x")
        self.assertEqual(wrong.status_code, 401)
        # The enrolment used this step's code: the next step's is fresh.
        code = self.code(secret, 30)
        ok = b.post_form(wrong, code=code)
        self.assertEqual(ok.status_code, 302, ok.text[:500])
        self.assertTrue(ok.headers["Location"].startswith("http://127.0.0.1:9/plain/cb?ticket="))
        # The same code in another browser: refused (a used step never counts again).
        b2 = Browser(self)
        page2 = self.login_to(b2, "plain", "alice")
        replay = b2.post_form(page2, code=code)
        self.assertEqual(replay.status_code, 401)
        self.assertIsNone(b2.s.cookies.get("TBSSO"))
        # The pending login is bound to its browser: a third without the cookie gets nothing.
        b3 = Browser(self)
        stolen = b3.s.post(self.server.url("/sso/usp.do"),
                           data=dict(Fields(replay.text).fields, code=codes[0]),
                           allow_redirects=False, timeout=30)
        self.assertEqual(stolen.status_code, 401)
        # A recovery code works once.
        rec = b2.post_form(replay, code=codes[0].upper())
        self.assertEqual(rec.status_code, 302, rec.text[:500])
        b4 = Browser(self)
        again = b4.post_form(self.login_to(b4, "plain", "alice"), code=codes[0])
        self.assertEqual(again.status_code, 401)
        left = b.get("/sso/usp.do", action="mfa")
        self.assertIn('<span id="recovery-left">9</span>', left.text)

    def test_wrong_codes_end_the_pending_login_after_five(self):
        secret, _ = self.enrol_in_personal_centre("frank")
        b = Browser(self)
        page = self.login_to(b, "plain", "frank")
        bad = "%06d" % ((int(totp(secret)) + 500000) % 1000000)
        for _ in range(4):
            page = b.post_form(page, code=bad)
            self.assertEqual(page.status_code, 401)
            self.assertIn('data-code="code"', page.text)
        last = b.post_form(page, code=bad)
        self.assertEqual(last.status_code, 401)
        self.assertIn('data-code="attempts"', last.text)
        self.assertNotIn('name="code"', last.text)

    def test_concurrent_wrong_codes_spend_the_same_five_tries(self):
        # Posts sent together used to read the same count of tries, each
        # checking a code and writing back "one more": of nine guesses at once
        # six to nine were checked (review14b). Every post now takes one of
        # the five tries before its code is checked (a set member each,
        # counted). Two bursts (two users: each account's lockout is at 10),
        # so that a regression shows even when one burst is served in turn.
        for loginname in ("jack", "kate"):
            self.wrong_code_burst(loginname)

    def wrong_code_burst(self, loginname):
        secret, _ = self.enrol_in_personal_centre(loginname)
        b = Browser(self)
        page = self.login_to(b, "plain", loginname)
        bad = "%06d" % ((int(totp(secret)) + 500000) % 1000000)
        fields = dict(Fields(page.text).fields, code=bad)
        cookies = b.s.cookies.get_dict()
        headers = dict(b.s.headers)
        guesses = 9  # under the account's lockout (10 failures)
        barrier = threading.Barrier(guesses)

        def guess(_):
            with requests.Session() as s:
                s.headers.update(headers)
                s.cookies.update(cookies)
                barrier.wait(timeout=30)
                return s.post(b.base + "/sso/usp.do", data=fields, allow_redirects=False,
                              timeout=30)

        with concurrent.futures.ThreadPoolExecutor(guesses) as pool:
            answers = list(pool.map(guess, range(guesses)))
        self.assertTrue(all(a.status_code == 401 for a in answers),
                        [a.status_code for a in answers])
        # Each checked code leaves an mfa_failed row (written before the answer).
        userid = " " + self.userid_of(loginname)
        checked = [r for r in self.audit_rows("mfa_failed") if r[1].endswith(userid)]
        self.assertLessEqual(len(checked), 5, loginname)
        # The right code after them: the login is over, and a resent form too.
        right = b.post_form(page, code=self.code(secret))
        self.assertEqual(right.status_code, 401, right.text[:300])
        self.assertIsNone(b.s.cookies.get("TBSSO"))

    def test_id_validation_refuses_a_password_alone_once_a_factor_is_enrolled(self):
        code, pwd = demo_credentials(self.server)
        app = SignedClient(self.server.base_url, code, pwd, "/sso/servlet/simpleauth")
        before = app.json("idValidation", loginname="henry", password=PASSWORD)
        self.assertEqual(before["result"], "0", before)
        self.enrol_in_personal_centre("henry")
        after = app.json("idValidation", loginname="henry", password=PASSWORD)
        self.assertEqual(after["result"], "6499", after)
        self.assertIn("双因素", after["errmsg"])

    # ---- policy ----

    def test_the_administrator_must_enrol_and_resets_factors_in_the_console(self):
        b = Browser(self)
        console = self.server.url("/sso/admin/")
        page = b.password(b.get("/sso/usp.do", action="ssoLogin", goto=console),
                          self.admin_login, self.admin_password)
        self.assertIsNone(b.s.cookies.get("TBSSO"))
        secret, _, nxt = self.enrol_at_login(b, page)
        self.assertEqual(nxt, console)
        me = b.get("/sso/admin/api/me")
        self.assertEqual(me.status_code, 200, me.text)
        csrf = me.json()["csrf"]
        headers = {"X-CSRF-Token": csrf}
        api = self.server.url("/sso/admin/api/")
        # An app's policy through the console.
        r = b.s.put(api + "apps/plain/second-factor", json={"required": True}, headers=headers)
        self.assertEqual(r.status_code, 200, r.text)
        self.assertTrue(b.s.get(api + "apps/plain/second-factor").json()["required"])
        r = b.s.put(api + "apps/plain/second-factor", json={"required": False}, headers=headers)
        self.assertFalse(r.json()["required"])
        self.assertEqual(b.s.put(api + "apps/plain/second-factor", json={"required": "yes"},
                                 headers=headers).status_code, 400)
        # carol enrols, loses her phone, the administrator resets her factor.
        self.enrol_in_personal_centre("carol")
        carol = b.s.get(api + "users", params={"q": "carol", "field": "loginname"}).json()["items"][0]
        status = b.s.get(api + "users/%s/second-factor" % carol["userid"]).json()
        self.assertTrue(status["totp"])
        self.assertEqual(status["recovery_codes_left"], 10)
        self.assertEqual(b.s.delete(api + "users/%s/second-factor" % carol["userid"]).status_code,
                         403)  # no CSRF token
        r = b.s.delete(api + "users/%s/second-factor" % carol["userid"], headers=headers)
        self.assertEqual(r.status_code, 200, r.text)
        self.assertTrue(r.json()["removed"])
        c = Browser(self)
        direct = self.login_to(c, "plain", "carol")
        self.assertEqual(direct.status_code, 302)  # password alone again
        audit = self.audit_rows("admin.user.reset_second_factor")
        self.assertTrue(any(carol["userid"] in row[1] for row in audit), audit)
        # ivan holds a password-only session when he becomes an administrator:
        # the console sends him to step up rather than let that session in.
        iv = Browser(self)
        self.assertEqual(self.login_to(iv, "plain", "ivan").status_code, 302)
        ivan = b.s.get(api + "users", params={"q": "ivan", "field": "loginname"}).json()["items"][0]
        r = b.s.post(api + "users/%s/roles" % ivan["userid"],
                     json={"app": "tongban", "rolecode": "admin"}, headers=headers)
        self.assertEqual(r.status_code, 200, r.text)
        denied = iv.get("/sso/admin/api/me")
        self.assertEqual(denied.status_code, 401, denied.text)
        login = query_of(denied.json()["error"]["login"])
        self.assertEqual((login.get("mfa"), login.get("renew")), ("1", "true"))

    def test_the_cli_resets_a_second_factor_and_is_audited(self):
        self.enrol_in_personal_centre("erin")
        b = Browser(self)
        pending = self.login_to(b, "plain", "erin")
        self.assertIn('name="code"', pending.text)  # asks for a code
        out = run_admin(self.server.data_dir, "user", "reset-second-factor", "erin").stdout
        self.assertIn("removed", out)
        b2 = Browser(self)
        self.assertEqual(self.login_to(b2, "plain", "erin").status_code, 302)
        # The login pending from before the reset has nothing left to check.
        late = b.post_form(pending, code="123456")
        self.assertEqual(late.status_code, 409, late.text[:500])
        self.assertTrue(any("reset-second-factor erin" in row[1] for row in self.audit_rows("admin")))

    def test_a_role_in_required_roles_needs_a_second_factor_on_every_app(self):
        # rita holds plain's "approver": even "plain", which asks nothing of
        # bob, sends her to enrol after the password.
        b = Browser(self)
        page = self.login_to(b, "plain", "rita")
        self.assertEqual(page.status_code, 200, page.text[:300])
        self.assertIn('value="mfaEnrol"', page.text)
        _, _, nxt = self.enrol_at_login(b, page)
        done = b.follow(b.get(nxt))
        self.assertTrue(done.headers["Location"].startswith("http://127.0.0.1:9/plain/cb?ticket="))

    def test_an_app_requiring_a_second_factor_steps_up_a_password_session(self):
        b = Browser(self)
        first = self.login_to(b, "plain", "bob")
        self.assertEqual(first.status_code, 302)  # no factor needed for "plain"
        r = b.get("/sso/usp.do", action="zfRedirect", servicecode="strict")
        self.assertEqual(r.status_code, 302)
        q = query_of(r.headers["Location"])
        self.assertEqual((q.get("mfa"), q.get("renew")), ("1", "true"))
        page = b.password(b.get(r.headers["Location"]), "bob")
        _, _, nxt = self.enrol_at_login(b, page)
        done = b.follow(b.get(nxt))
        self.assertTrue(done.headers["Location"].startswith("http://127.0.0.1:9/strict/cb?ticket="))

    # ---- OIDC and CAS ----

    def oidc(self, b, **extra):
        params = {"response_type": "code", "client_id": "rp", "scope": "openid",
                  "redirect_uri": "http://127.0.0.1:9/rp/cb", "state": secrets.token_hex(4)}
        params.update(extra)
        return b.follow(b.get(self.server.url("/sso/oidc/authorize"), **params))

    def id_token(self, location):
        code = query_of(location)["code"]
        r = requests.post(self.server.url("/sso/oidc/token"), auth=("rp", self.rp_secret),
                          data={"grant_type": "authorization_code", "code": code,
                                "redirect_uri": "http://127.0.0.1:9/rp/cb"}, timeout=30)
        self.assertEqual(r.status_code, 200, r.text)
        return jwt_claims(r.json()["id_token"])

    def test_oidc_acr_values_and_max_age_step_up_and_amr(self):
        b = Browser(self)
        page = self.oidc(b)
        r = b.follow(b.password(page, "dave"))
        claims = self.id_token(r.headers["Location"])
        self.assertEqual(claims["amr"], ["pwd"])
        level = claims["acr"]  # the real-name level, whatever the factors
        self.assertIn(level, ("1", "2", "3"))
        # acr_values asks for two factors: the session has one, so log in again with both.
        page = self.oidc(b, acr_values=ACR_MFA)
        page = b.password(page, "dave")
        _, codes, nxt = self.enrol_at_login(b, page)
        r = b.follow(b.get(nxt))
        claims = self.id_token(r.headers["Location"])
        self.assertEqual(claims["amr"], ["pwd", "otp", "mfa"])
        self.assertEqual(claims["acr"], level)
        # The session now satisfies acr_values without a new login.
        r = self.oidc(b, acr_values=ACR_MFA)
        self.assertEqual(r.status_code, 302)
        self.assertIn("mfa", self.id_token(r.headers["Location"])["amr"])
        # max_age=0: a new login, password and second factor again.
        page = self.oidc(b, max_age="0")
        page = b.password(page, "dave")
        self.assertIn('name="code"', page.text)
        r = b.follow(b.post_form(page, code=codes[0]))
        claims = self.id_token(r.headers["Location"])
        self.assertEqual(claims["amr"], ["pwd", "otp", "mfa"])
        discovery = requests.get(self.server.url("/sso/oidc/.well-known/openid-configuration"),
                                 timeout=30).json()
        self.assertIn(ACR_MFA, discovery["acr_values_supported"])

    def test_cas_renew_asks_for_the_second_factor_again(self):
        _, codes = self.enrol_in_personal_centre("gina")
        b = Browser(self)
        service = "http://127.0.0.1:9/casapp/index"
        page = b.password(b.follow(b.get("/sso/cas/login", service=service)), "gina")
        self.assertIn('name="code"', page.text)
        r = b.follow(b.post_form(page, code=codes[0]))
        self.assertTrue(r.headers["Location"].startswith(service), r.headers.get("Location"))
        # A live session answers a plain login at once ...
        r = b.follow(b.get("/sso/cas/login", service=service))
        self.assertTrue(r.headers["Location"].startswith(service))
        # ... renew asks for both factors again.
        page = b.password(b.follow(b.get("/sso/cas/login", service=service, renew="true")), "gina")
        self.assertIn('name="code"', page.text)
        r = b.follow(b.post_form(page, code=codes[1]))
        ticket = query_of(r.headers["Location"])["ticket"]
        v = requests.get(self.server.url("/sso/cas/serviceValidate"),
                         params={"service": service, "ticket": ticket, "renew": "true"},
                         timeout=30)
        self.assertIn("authenticationSuccess", v.text)

    # ---- logs ----

    def userid_of(self, loginname):
        db = sqlite3.connect(os.path.join(self.server.data_dir, "tongban.db"))
        try:
            return db.execute("SELECT userid FROM dir_users WHERE loginname = ?",
                              (loginname,)).fetchone()[0]
        finally:
            db.close()

    def audit_rows(self, event_prefix):
        db = sqlite3.connect(os.path.join(self.server.data_dir, "tongban.db"))
        try:
            return db.execute("SELECT event, detail || ' ' || userid FROM sso_audit "
                              "WHERE event LIKE ?", (event_prefix + "%",)).fetchall()
        finally:
            db.close()

    def test_zz_no_code_in_any_log(self):
        self.assertTrue(self.used_codes)
        log = self.server.read_log()
        rows = self.audit_rows("")
        text = log + "\n".join("%s %s" % r for r in rows)
        for code in self.used_codes:
            self.assertNotIn(code, text)
        events = {r[0] for r in rows}
        self.assertIn("mfa_enrolled", events)
        self.assertIn("mfa_ok", events)
        self.assertIn("mfa_failed", events)


@unittest.skipIf(missing_binaries(), "PostgreSQL binaries missing")
class MfaOnPostgresTest(MfaHelpers, unittest.TestCase):
    """The same SQL (sso_mfa_* tables, compare-and-set of the TOTP step,
    single-use recovery codes, reset) on PostgreSQL."""

    @classmethod
    def setUpClass(cls):
        cls.pg = PrivatePostgres().start()
        db = cls.pg.new_database_url()
        cls.server = TongbanServer("--db", db, admin_second_factor=True).start()
        d = cls.server.data_dir
        path = os.path.join(d, "users.csv")
        with open(path, "w", encoding="utf-8") as f:
            f.write("loginname,username,orgcoding,loginpwd\npgu,用户,001001,%s\n" % PASSWORD)
        run_admin(d, "--db", db, "user", "import", path)
        run_admin(d, "--db", db, "app", "create", "--name", "plain", "--servicecode", "plain",
                  "--open-to-all", "--callback", "http://127.0.0.1:9/plain/cb")
        cls.db = db
        cls.used_codes = []

    @classmethod
    def tearDownClass(cls):
        cls.server.cleanup()
        cls.pg.close()

    def test_enrol_log_in_replay_recovery_and_reset(self):
        secret, codes = self.enrol_in_personal_centre("pgu")
        b = Browser(self)
        code = self.code(secret, 30)
        ok = b.post_form(self.login_to(b, "plain", "pgu"), code=code)
        self.assertEqual(ok.status_code, 302, ok.text[:500])
        b2 = Browser(self)
        page = self.login_to(b2, "plain", "pgu")
        self.assertEqual(b2.post_form(page, code=code).status_code, 401)  # replayed
        page = b2.post_form(page, code=codes[5])
        self.assertEqual(page.status_code, 302)
        b3 = Browser(self)
        self.assertEqual(b3.post_form(self.login_to(b3, "plain", "pgu"), code=codes[5]).status_code,
                         401)  # used
        run_admin(self.server.data_dir, "--db", self.db, "app", "second-factor", "plain",
                  "--required", "true")
        out = run_admin(self.server.data_dir, "--db", self.db, "user", "reset-second-factor",
                        "pgu").stdout
        self.assertIn("removed", out)
        b4 = Browser(self)
        page = self.login_to(b4, "plain", "pgu")  # the app requires a factor: enrol again
        self.assertIn("绑定身份验证器", page.text)


if __name__ == "__main__":
    main()
