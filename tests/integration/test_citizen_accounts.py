"""Citizen and company self-service accounts (issue 20) against the real
binary: registration on usp.do (personal and legal person) with the mobile
proven by a one-time code from the sandbox SMS channel, login, password
recovery that never tells whether a number has an account, real-name levels
raised by a counter check (console API and CLI) or the sandbox verifier, an
app requiring level 2, the OIDC `acr` claim, and the refusals: wrong,
replayed and flooded codes, bad check digits, someone else's ID number. The
server log must never carry a code."""
import base64
import json
import os
import re
import tempfile
import time
import unittest
import urllib.parse

import requests

import stores
from signed_client import SignedClient
from test_admin_api import Admin, admin_credentials, browser_login
from tongban_harness import TongbanServer, main, run_admin

CODE_RE = re.compile(r"(?<!\d)(\d{6})(?!\d)")
NOTICE_RE = re.compile(r'role="alert" data-code="([^"]*)">([^<]*)<')


def resident_id(region="110101", birth="19900307", seq="123"):
    body = region + birth + seq
    weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    total = sum(int(c) * w for c, w in zip(body, weights))
    return body + "10X98765432"[total % 11]


USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"


def org_code(body8):
    weights = [3, 7, 9, 10, 5, 8, 4, 2]
    values = [int(c) if c.isdigit() else ord(c) - 55 for c in body8]
    c = 11 - sum(v * w for v, w in zip(values, weights)) % 11
    return body8 + ("X" if c == 10 else "0" if c == 11 else str(c))


def uscc(body8="MA01B2C3"):
    body = "91" + "110108" + org_code(body8)
    total = sum(USCC_CHARS.index(ch) * pow(3, i, 31) for i, ch in enumerate(body))
    check = (31 - total % 31) % 31
    return body + USCC_CHARS[check]


def wrong_check(s):
    last = s[-1]
    return s[:-1] + ("1" if last != "1" else "2")


def notice(response):
    m = NOTICE_RE.search(response.text)
    return (m.group(1), m.group(2)) if m else (None, response.text[:300])


def jwt_claims(token):
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


class Sms:
    """The sandbox channel's file: the tests' phone."""

    def __init__(self, path):
        self.path = path

    def messages(self, mobile, purpose=None):
        if not os.path.exists(self.path):
            return []
        out = []
        with open(self.path, encoding="utf-8") as f:
            for line in f:
                m = json.loads(line)
                if m["mobile"] == mobile and (purpose is None or m["purpose"] == purpose):
                    out.append(m)
        return out

    def wait(self, mobile, purpose, count=1, timeout=15):
        """The `count`-th message to `mobile` (messages are sent on a thread)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.messages(mobile, purpose)
            if len(found) >= count:
                return found[count - 1]
            time.sleep(0.05)
        raise AssertionError("no %s message #%d to %s" % (purpose, count, mobile))

    def code(self, mobile, purpose, count=1):
        return CODE_RE.search(self.wait(mobile, purpose, count)["text"]).group(1)


def write_config(database=None, **citizen):
    settings = {"enabled": "true", "sms_channel": '"sandbox"', "sms_sandbox": "true",
                "verifier": '"sandbox"', "verifier_sandbox": "true"}
    settings.update({k: str(v) for k, v in citizen.items()})
    f = tempfile.NamedTemporaryFile("w", suffix=".toml", delete=False)
    f.write("[console]\nenabled = true\n")
    if database:
        f.write('[storage]\ndatabase = "%s"\n' % database)
    f.write("[citizen]\n")
    for k, v in settings.items():
        f.write("%s = %s\n" % (k, v))
    f.close()
    return f.name


class Browser:
    """A person on the usp.do pages."""

    def __init__(self, server):
        self.server = server
        self.s = requests.Session()

    def page(self, action):
        r = self.s.get(self.server.url("/sso/usp.do"), params={"action": action}, timeout=10)
        assert r.status_code == 200, r.text[:300]
        return re.search(r'name="csrf" value="([^"]+)"', r.text).group(1)

    def post(self, data):
        return self.s.post(self.server.url("/sso/usp.do"), data=data, allow_redirects=False,
                           timeout=30)


class CitizenAccounts:
    """The tests, on SQLite (database_url None) or a private server."""

    @classmethod
    def database_url(cls):
        return None

    @classmethod
    def setUpClass(cls):
        cls.config = write_config(cls.database_url(), code_per_ip=1000, code_resend_s=0)
        cls.server = TongbanServer("--config", cls.config).start()
        cls.sms = Sms(os.path.join(cls.server.data_dir, "sms-sandbox.jsonl"))
        cls.admin = Admin(cls.server, browser_login(cls.server, *admin_credentials(cls.server)))
        cls.next_mobile = 13900000000

    @classmethod
    def tearDownClass(cls):
        # No code ever reaches the server's log (the sandbox file holds them).
        log = cls.server.read_log()
        codes = set()
        if os.path.exists(cls.sms.path):
            with open(cls.sms.path, encoding="utf-8") as f:
                for line in f:
                    codes.update(CODE_RE.findall(json.loads(line)["text"]))
        cls.server.cleanup()
        os.unlink(cls.config)
        leaked = [c for c in codes if c in log]
        assert not leaked, "codes in the server log: %r" % leaked

    def admin_cli(self, *args):
        return run_admin(self.server.data_dir, "--config", self.config, *args)

    def create_app(self, servicecode, *flags):
        out = self.admin_cli("app", "create", "--name", "应用" + servicecode,
                             "--servicecode", servicecode, *flags).stdout
        return re.search(r"servicepwd=(\S+)", out).group(1)

    def mobile(self):
        type(self).next_mobile += 1
        return str(type(self).next_mobile)

    # ---- helpers ----

    def send_code(self, browser, mobile, kind="personal"):
        csrf = browser.page("register")
        r = browser.post({"action": "register", "step": "code", "csrf": csrf, "kind": kind,
                          "mobile": mobile})
        return csrf, r

    def register(self, loginname, idnum, mobile=None, kind="personal", code=None, **extra):
        """Registers through both forms; returns (response, mobile)."""
        mobile = mobile or self.mobile()
        b = Browser(self.server)
        sent_before = len(self.sms.messages(mobile, "register"))
        csrf, r = self.send_code(b, mobile, kind)
        self.assertEqual(r.status_code, 200, r.text[:500])
        self.assertEqual(notice(r)[0], "sent")
        # Waited for even when unused, so the next count starts after it.
        sent = self.sms.code(mobile, "register", count=sent_before + 1)
        if code is None:
            code = sent
        data = {"action": "register", "step": "submit", "csrf": csrf, "kind": kind,
                "mobile": mobile, "code": code, "loginname": loginname,
                "password": "Citizen-Pass1", "confirmpassword": "Citizen-Pass1",
                "username": extra.pop("username", "张三"), "idtype": "1", "idnum": idnum}
        data.update(extra)
        return b.post(data), mobile

    def login(self, loginname, password="Citizen-Pass1", servicecode=None):
        b = requests.Session()
        params = {"action": "ssoLogin"}
        if servicecode:
            params["servicecode"] = servicecode
        page = b.get(self.server.url("/sso/usp.do"), params=params, timeout=10)
        csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
        data = {"action": "ssoLogin", "csrf": csrf, "loginname": loginname,
                "password": password}
        if servicecode:
            data["servicecode"] = servicecode
        return b, b.post(self.server.url("/sso/usp.do"), data=data, allow_redirects=False,
                         timeout=30)

    def user(self, loginname):
        items = self.admin.ok("GET", "users", q=loginname, field="loginname")["items"]
        return next(u for u in items if u["loginname"] == loginname)

    # ---- registration ----

    def test_personal_registration_confirms_the_mobile_and_the_account_logs_in(self):
        r, mobile = self.register("citizen1", resident_id(seq="101"))
        self.assertEqual(r.status_code, 200, r.text[:500])
        self.assertEqual(notice(r)[0], "0")
        self.assertIn('data-loginname="citizen1"', r.text)
        u = self.user("citizen1")
        self.assertEqual((u["usertype"], u["authlevel"], u["orgcoding"], u["mobile"]),
                         ("2", "1", "900", mobile))
        self.assertEqual(u["sex"], "1")  # odd 17th digit
        _, login = self.login("citizen1")
        self.assertEqual(login.status_code, 302, login.text[:300])

    def test_legal_person_registration_lands_in_its_own_org_with_the_company(self):
        code = uscc("MA01B2C4")
        r, _ = self.register("company1", resident_id(seq="111"), kind="legal",
                             username="李经办", company_name="演示科技有限公司", uscc=code,
                             legal_rep="王法人")
        self.assertEqual(r.status_code, 200, r.text[:500])
        u = self.user("company1")
        self.assertEqual((u["usertype"], u["orgcoding"], u["username"]), ("3", "901", "李经办"))
        account = self.admin.ok("GET", "citizen/accounts/" + u["userid"])
        self.assertEqual((account["kind"], account["company_name"], account["uscc"],
                          account["legal_rep"], account["level"]),
                         ("legal", "演示科技有限公司", code, "王法人", 1))
        listed = self.admin.ok("GET", "citizen/accounts", kind="legal")["items"]
        self.assertIn("company1", [a["loginname"] for a in listed])
        self.assertNotIn("company1", [a["loginname"] for a in
                                      self.admin.ok("GET", "citizen/accounts",
                                                    kind="personal")["items"]])

    def test_invalid_check_digits_are_refused_before_the_code_is_spent(self):
        mobile = self.mobile()
        b = Browser(self.server)
        csrf, _ = self.send_code(b, mobile)
        code = self.sms.code(mobile, "register")
        base = {"action": "register", "step": "submit", "csrf": csrf, "mobile": mobile,
                "code": code, "loginname": "badid1", "password": "Citizen-Pass1",
                "confirmpassword": "Citizen-Pass1", "username": "王五"}
        r = b.post(dict(base, kind="personal", idnum=wrong_check(resident_id(seq="121"))))
        self.assertEqual((r.status_code, notice(r)[0]), (400, "7201"))
        self.assertIn("身份证号码有误", notice(r)[1])
        r = b.post(dict(base, kind="legal", idnum=resident_id(seq="121"), company_name="某公司",
                        uscc=wrong_check(uscc("MA01B2C5")), legal_rep="王法人"))
        self.assertEqual((r.status_code, notice(r)[0]), (400, "7201"))
        self.assertIn("统一社会信用代码有误", notice(r)[1])
        # Neither refusal spent the code.
        r = b.post(dict(base, kind="personal", idnum=resident_id(seq="121")))
        self.assertEqual(r.status_code, 200, r.text[:500])

    def test_wrong_and_replayed_codes_are_refused(self):
        mobile = self.mobile()
        b = Browser(self.server)
        csrf, _ = self.send_code(b, mobile)
        code = self.sms.code(mobile, "register")
        wrong = "%06d" % ((int(code) + 1) % 1000000)
        base = {"action": "register", "step": "submit", "csrf": csrf, "kind": "personal",
                "mobile": mobile, "password": "Citizen-Pass1",
                "confirmpassword": "Citizen-Pass1", "username": "赵六",
                "idnum": resident_id(seq="131")}
        r = b.post(dict(base, code=wrong, loginname="replay1"))
        self.assertEqual((r.status_code, notice(r)[0]), (401, "7102"))
        r = b.post(dict(base, code=code, loginname="replay1"))
        self.assertEqual(r.status_code, 200, r.text[:500])
        # The same code again (for another login name) is spent.
        r = b.post(dict(base, code=code, loginname="replay2"))
        self.assertEqual((r.status_code, notice(r)[0]), (401, "7102"))
        # A registration code is bound to its number.
        other = self.mobile()
        r = b.post(dict(base, code=code, mobile=other, loginname="replay3"))
        self.assertEqual((r.status_code, notice(r)[0]), (401, "7102"))

    def test_a_code_dies_after_too_many_wrong_guesses(self):
        mobile = self.mobile()
        b = Browser(self.server)
        csrf, _ = self.send_code(b, mobile)
        code = self.sms.code(mobile, "register")
        base = {"action": "register", "step": "submit", "csrf": csrf, "kind": "personal",
                "mobile": mobile, "password": "Citizen-Pass1",
                "confirmpassword": "Citizen-Pass1", "username": "钱七",
                "idnum": resident_id(seq="141"), "loginname": "guess1"}
        for i in range(5):
            wrong = "%06d" % ((int(code) + 1 + i) % 1000000)
            self.assertEqual(b.post(dict(base, code=wrong)).status_code, 401)
        r = b.post(dict(base, code=code))
        self.assertEqual((r.status_code, notice(r)[0]), (401, "7102"))

    def test_a_mobile_with_an_account_is_refused_only_after_the_code_proves_it(self):
        _, mobile = self.register("mobile1", resident_id(seq="151"))
        # A stranger without the code learns nothing about the number.
        r, _ = self.register("mobile2", resident_id(seq="153"), mobile=mobile, code="0")
        self.assertEqual((r.status_code, notice(r)[0]), (401, "7102"))
        # Its holder, with the code, is told to log in or recover instead.
        r, _ = self.register("mobile2", resident_id(seq="153"), mobile=mobile)
        self.assertEqual((r.status_code, notice(r)[0]), (409, "7202"))

    def test_someone_elses_id_is_refused_when_verified_and_flagged_otherwise(self):
        idnum = resident_id(seq="161")
        r, _ = self.register("owner1", idnum, username="孙八")
        self.assertEqual(r.status_code, 200, r.text[:500])
        # A second account with the same ID while the first is level 1: accepted, flagged.
        r, _ = self.register("shared1", idnum, username="孙八")
        self.assertEqual(r.status_code, 200, r.text[:500])
        self.assertIn('data-code="flagged"', r.text)
        pending = self.admin.ok("GET", "citizen/checks")["items"]
        shared = next(a for a in pending if a["loginname"] == "shared1")
        self.assertEqual((shared["check_state"], shared["check_reason"]),
                         ("pending", "id-shared"))
        self.assertNotIn(idnum, json.dumps(pending))  # ID numbers masked in lists
        # A flagged account cannot be raised online: the counter must see it.
        r = self.admin.send("POST", "citizen/accounts/%s/verify" % shared["userid"])
        self.assertEqual(r.status_code, 403, r.text)
        # Once the owner is real-name (counter check), the ID is refused outright.
        owner = self.user("owner1")
        self.admin.ok("POST", "citizen/accounts/%s/level" % owner["userid"],
                      {"level": 2, "note": "窗口核验身份证原件"})
        r, _ = self.register("impostor1", idnum, username="孙八")
        self.assertEqual((r.status_code, notice(r)[0]), (409, "7203"))
        with self.assertRaises(StopIteration):
            self.user("impostor1")

    # ---- levels ----

    def test_an_app_requiring_level_2_refuses_level_1_until_a_counter_check(self):
        self.create_app("lvl2", "--open-to-all", "--callback",
                   "http://127.0.0.1:9/lvl2/")
        self.admin_cli("app", "set", "lvl2",
                  "--min-authlevel", "2")
        self.register("leveluser", resident_id(seq="171"))
        b, r = self.login("leveluser", servicecode="lvl2")
        self.assertEqual(r.status_code, 403, r.text[:300])
        code, text = notice(r)
        self.assertEqual(code, "authlevel")
        self.assertIn("要求实名等级不低于 2 级", text)
        self.assertIn("政务服务窗口", text)
        # The counter check through the CLI.
        out = self.admin_cli("citizen", "level",
                        "leveluser", "2", "--note", "窗口核验", "--by", "clerk1").stdout
        self.assertIn("level 2", out)
        # The CLI is another process: the server drops its cached snapshot of
        # the user when its change follower reads the log (about once a second).
        deadline = time.monotonic() + 15
        while True:
            r = b.get(self.server.url("/sso/usp.do"),
                      params={"action": "zfRedirect", "servicecode": "lvl2"},
                      allow_redirects=False, timeout=10)
            if r.status_code != 403 or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        self.assertEqual(r.status_code, 302, r.text[:300])
        self.assertTrue(r.headers["Location"].startswith("http://127.0.0.1:9/lvl2/?ticket="))
        level2 = self.admin.ok("GET", "citizen/accounts", level=2, size=1000)["items"]
        self.assertIn("leveluser", [a["loginname"] for a in level2])
        events = self.admin.ok("GET", "audit", event="authlevel_changed", size=50)["items"]
        self.assertTrue(any(e["loginname"] == "leveluser" and "counter:clerk1" in e["detail"]
                            for e in events), events)

    def test_the_sandbox_verifier_raises_to_level_2_or_flags_a_mismatch(self):
        self.register("verified1", resident_id(seq="181"), username="周九")
        self.register("mismatch1", resident_id(seq="183"), username="冒名周十")
        good = self.user("verified1")["userid"]
        bad = self.user("mismatch1")["userid"]
        self.assertEqual(self.admin.ok("POST", "citizen/accounts/%s/verify" % good)["level"], 2)
        flagged = self.admin.ok("POST", "citizen/accounts/%s/verify" % bad)
        self.assertEqual((flagged["level"], flagged["check_state"], flagged["check_reason"]),
                         (1, "pending", "verifier-mismatch"))
        summary = self.admin.ok("GET", "citizen/summary")
        self.assertEqual(summary["sms"]["name"], "sandbox")
        self.assertTrue(summary["sms"]["sandbox"])
        self.assertGreater(summary["sms"]["sent"], 0)
        self.assertGreater(summary["pending_checks"], 0)

    def test_a_user_raises_their_own_level_online_or_is_sent_to_the_counter(self):
        self.register("selfcheck1", resident_id(seq="231"), username="吴一")
        self.register("selfcheck2", resident_id(seq="233"), username="冒名吴二")
        # Not logged in: sent to the login page first.
        r = requests.get(self.server.url("/sso/usp.do"), params={"action": "realname"},
                         allow_redirects=False, timeout=10)
        self.assertEqual(r.status_code, 302)
        self.assertIn("action%3Drealname", r.headers["Location"])
        for loginname, status, code, level in (("selfcheck1", 200, "0", "2"),
                                               ("selfcheck2", 409, "mismatch", "1")):
            b, r = self.login(loginname)
            page = b.get(self.server.url("/sso/usp.do"), params={"action": "realname"},
                         timeout=10)
            self.assertIn('data-level="1"', page.text)
            csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
            r = b.post(self.server.url("/sso/usp.do"), data={"action": "realname",
                                                             "csrf": csrf}, timeout=30)
            self.assertEqual((r.status_code, notice(r)[0]), (status, code), r.text[:300])
            self.assertIn('data-level="%s"' % level, r.text)
            self.assertEqual(self.user(loginname)["authlevel"], level)
        # Without the session's token nothing happens.
        b, _ = self.login("selfcheck2")
        r = b.post(self.server.url("/sso/usp.do"), data={"action": "realname"}, timeout=30)
        self.assertEqual((r.status_code, notice(r)[0]), (403, "csrf"))

    # Session 14 (review14b): a second handler of a registered company is
    # flagged for the counter (company-known), yet raised itself to level 2
    # online, and the flag left the counter's queue.
    def test_a_flagged_company_handler_is_not_raised_online(self):
        code = uscc("MA01B2C7")
        self.register("realco1", resident_id(seq="241"), kind="legal", username="李经办",
                      company_name="演示物流有限公司", uscc=code, legal_rep="王法人")
        r, _ = self.register("intruder1", resident_id(seq="243"), kind="legal",
                             username="赵某", company_name="演示物流有限公司", uscc=code,
                             legal_rep="王法人")
        self.assertEqual(r.status_code, 200, r.text[:300])
        uid = self.user("intruder1")["userid"]
        self.assertEqual(self.admin.ok("GET", "citizen/accounts/" + uid)["check_reason"],
                         "company-known")
        b, _ = self.login("intruder1")
        page = b.get(self.server.url("/sso/usp.do"), params={"action": "realname"}, timeout=10)
        csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
        r = b.post(self.server.url("/sso/usp.do"), data={"action": "realname", "csrf": csrf},
                   timeout=30)
        self.assertNotEqual(notice(r)[0], "0", r.text[:300])
        account = self.admin.ok("GET", "citizen/accounts/" + uid)
        self.assertEqual((account["level"], account["check_state"], account["check_reason"]),
                         (1, "pending", "company-known"))
        queue = [a["loginname"] for a in self.admin.ok("GET", "citizen/checks")["items"]]
        self.assertIn("intruder1", queue)
        self.assertEqual(self.user("intruder1")["authlevel"], "1")

    def test_oidc_acr_carries_the_level_and_min_level_is_enforced(self):
        secret = self.create_app("rpz", "--protocols", "oidc",
                            "--open-to-all", "--callback", "http://127.0.0.1:9/rpz/cb")
        self.create_app("rpz2", "--protocols", "oidc", "--open-to-all",
                   "--callback", "http://127.0.0.1:9/rpz2/cb")
        self.admin_cli("app", "set", "rpz2",
                  "--min-authlevel", "2")
        self.register("oidcz", resident_id(seq="191"))
        issuer = self.server.url("/sso/oidc")
        b, r = self.login("oidcz")
        self.assertEqual(r.status_code, 302)

        def authorize(client):
            r = b.get(issuer + "/authorize", params={
                "response_type": "code", "client_id": client, "scope": "openid profile",
                "redirect_uri": "http://127.0.0.1:9/%s/cb" % client, "state": "s1",
                "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
                "code_challenge_method": "S256"}, allow_redirects=False, timeout=10)
            self.assertEqual(r.status_code, 302, r.text[:300])
            return dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(r.headers["Location"]).query))

        def acr():
            q = authorize("rpz")
            t = requests.post(issuer + "/token", auth=("rpz", secret), data={
                "grant_type": "authorization_code", "code": q["code"],
                "redirect_uri": "http://127.0.0.1:9/rpz/cb",
                "code_verifier": "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"}, timeout=10)
            self.assertEqual(t.status_code, 200, t.text)
            info = requests.get(issuer + "/userinfo", timeout=10, headers={
                "Authorization": "Bearer " + t.json()["access_token"]}).json()
            self.assertEqual(info["acr"], jwt_claims(t.json()["id_token"])["acr"])
            return info["acr"]

        self.assertEqual(acr(), "1")
        refused = authorize("rpz2")
        self.assertEqual(refused["error"], "access_denied")
        self.assertIn("实名等级", refused["error_description"])
        userid = self.user("oidcz")["userid"]
        self.admin.ok("POST", "citizen/accounts/%s/level" % userid, {"level": 3})
        self.assertEqual(acr(), "3")
        self.assertIn("code", authorize("rpz2"))

    def test_cas_carries_the_level_and_refuses_below_the_apps_minimum(self):
        self.create_app("casz", "--protocols", "cas", "--open-to-all", "--callback",
                        "http://127.0.0.1:9/casz/")
        self.create_app("casz2", "--protocols", "cas", "--open-to-all", "--callback",
                        "http://127.0.0.1:9/casz2/")
        self.admin_cli("app", "set", "casz2", "--min-authlevel", "3")
        self.register("casuser", resident_id(seq="221"))
        b, r = self.login("casuser")
        self.assertEqual(r.status_code, 302)
        cas = self.server.url("/sso/cas")
        r = b.get(cas + "/login", params={"service": "http://127.0.0.1:9/casz/app"},
                  allow_redirects=False, timeout=10)
        self.assertEqual(r.status_code, 302, r.text[:300])
        ticket = dict(urllib.parse.parse_qsl(
            urllib.parse.urlsplit(r.headers["Location"]).query))["ticket"]
        v = requests.get(cas + "/p3/serviceValidate", params={
            "service": "http://127.0.0.1:9/casz/app", "ticket": ticket, "format": "JSON"},
            timeout=10).json()
        attributes = v["serviceResponse"]["authenticationSuccess"]["attributes"]
        self.assertEqual(attributes["authlevel"], ["1"])
        r = b.get(cas + "/login", params={"service": "http://127.0.0.1:9/casz2/app"},
                  allow_redirects=False, timeout=10)
        self.assertEqual(r.status_code, 403)
        self.assertIn("要求实名等级不低于 3 级", r.text)

    # ---- recovery ----

    def recover_code(self, mobile):
        b = Browser(self.server)
        csrf = b.page("forgotPwd")
        return b, csrf, b.post({"action": "forgotPwd", "step": "code", "csrf": csrf,
                                "mobile": mobile})

    def test_recovery_by_the_confirmed_mobile_sets_a_new_password_and_notifies(self):
        _, mobile = self.register("recover1", resident_id(seq="201"))
        b, csrf, r = self.recover_code(mobile)
        self.assertEqual(r.status_code, 200)
        code = self.sms.code(mobile, "recover")
        base = {"action": "forgotPwd", "step": "reset", "csrf": csrf, "mobile": mobile,
                "newpassword": "Recovered-Pass2", "confirmpassword": "Recovered-Pass2"}
        r = b.post(dict(base, code=code))
        self.assertEqual((r.status_code, notice(r)[0]), (200, "0"), r.text[:300])
        self.assertEqual(self.login("recover1")[1].status_code, 401)
        self.assertEqual(self.login("recover1", "Recovered-Pass2")[1].status_code, 302)
        # Notified by SMS, and audited.
        self.assertIn("密码已通过短信验证码重置", self.sms.wait(mobile, "notice")["text"])
        events = self.admin.ok("GET", "audit", event="password_recovered", size=50)["items"]
        self.assertIn("recover1", [e["loginname"] for e in events])
        # The code is spent.
        r = b.post(dict(base, code=code, newpassword="Other-Pass3", confirmpassword="Other-Pass3"))
        self.assertEqual((r.status_code, notice(r)[0]), (401, "7102"))

    def test_no_app_moves_a_self_registered_accounts_proven_mobile(self):
        # The mobile recovers the password: an app with directory_write over
        # every org (no org_scope) could otherwise take the account over.
        _, mobile = self.register("proven1", resident_id(seq="202"))
        uid = self.user("proven1")["userid"]
        app = SignedClient(self.server.base_url, "hrsync",
                           self.create_app("hrsync", "--directory-write"))
        # A staff namesake in another domain: naming the citizen by its old
        # login name and old org still reaches it, and is still refused.
        self.admin.ok("POST", "users", {"loginname": "proven1", "username": "同名职员",
                                        "orgcoding": "001001", "password": "Staff-Pass1"})
        for key in ({"userid": uid}, {"loginname": "proven1", "orgcoding": "900"},
                    {"oldloginname": "proven1", "oldorgcoding": "900", "loginname": "proven1"}):
            r = app.json("synchronizeUser", args=json.dumps(dict(key, mobile="13900009999")))
            self.assertEqual(r["result"], "2003", r)
            self.assertIn("手机号码", r["errmsg"])
        def citizen():  # the self-registered proven1, not its staff namesake
            items = self.admin.ok("GET", "users", q="proven1", field="loginname")["items"]
            return next(u for u in items if u["userid"] == uid)

        self.assertEqual(citizen()["mobile"], mobile)
        # The rest of the record, and the mobile sent back unchanged, still sync.
        r = app.json("synchronizeUser", args=json.dumps(
            {"userid": uid, "mobile": mobile, "email": "proven1@example.cn"}))
        self.assertEqual(r["result"], "0", r)
        self.assertEqual(citizen()["email"], "proven1@example.cn")

    # Session 14 (review14b): an app's synchronizeUser raised a self-registered
    # account's real-name level and rewrote its name and ID number, with no
    # counter check and no audit of the level.
    def test_no_app_changes_a_self_registered_accounts_identity_or_level(self):
        self.register("proven3", resident_id(seq="203"), username="钱三")
        before = self.user("proven3")
        app = SignedClient(self.server.base_url, "idsync",
                           self.create_app("idsync", "--directory-write"))
        for change in ({"authlevel": "3"}, {"idnum": resident_id(seq="204")},
                       {"username": "孙受害"}, {"usertype": "1"}):
            r = app.json("synchronizeUser",
                         args=json.dumps(dict(change, userid=before["userid"]), ensure_ascii=False))
            self.assertEqual(r["result"], "2003", (change, r))
            self.assertIn("实名", r["errmsg"])
        after = self.user("proven3")
        for field in ("authlevel", "idnum", "username", "usertype"):
            self.assertEqual(after[field], before[field], field)
        # The rest of the record, and the same values sent back, still sync.
        r = app.json("synchronizeUser", args=json.dumps(
            {"userid": before["userid"], "username": before["username"],
             "authlevel": before["authlevel"], "email": "proven3@example.cn"}, ensure_ascii=False))
        self.assertEqual(r["result"], "0", r)
        self.assertEqual(self.user("proven3")["email"], "proven3@example.cn")

    # review14b: an app scoped to one office made a namesake of a citizen's
    # login name in its own domain; the login page asks for no org, so the
    # citizen's login became ambiguous (403) for good.
    def test_no_app_makes_a_namesake_that_locks_a_citizen_out(self):
        self.register("victim4", resident_id(seq="205"))
        _, ok = self.login("victim4")
        self.assertEqual(ok.status_code, 302, ok.text[:300])
        app = SignedClient(self.server.base_url, "office1",
                           self.create_app("office1", "--directory-write", "--org-scope", "001001"))
        for name in ("victim4", "Victim4"):
            r = app.json("synchronizeUser", args=json.dumps(
                {"loginname": name, "username": "同名职员", "orgcoding": "001001",
                 "loginpwd": "Staff-Pass1"}, ensure_ascii=False))
            self.assertEqual(r["result"], "2010", r)
        _, still = self.login("victim4")
        self.assertEqual(still.status_code, 302, still.text[:300])

    def test_recovery_never_tells_whether_a_number_has_an_account(self):
        _, known = self.register("recover2", resident_id(seq="211"))
        unknown = self.mobile()
        # A staff account's number (typed by an administrator) does not recover by SMS either.
        staff_mobile = self.mobile()
        self.admin.ok("POST", "users", {"loginname": "staffm", "username": "职员",
                                        "orgcoding": "001001", "password": "Staff-Pass1",
                                        "mobile": staff_mobile})
        answers = []
        for mobile in (known, unknown, staff_mobile):
            _, _, r = self.recover_code(mobile)
            answers.append((r.status_code, notice(r)[0],
                            notice(r)[1].replace(mobile[:3] + "****" + mobile[-4:], "N")))
        self.assertEqual(answers[0], answers[1])
        self.assertEqual(answers[0], answers[2])
        self.sms.wait(known, "recover")
        self.assertEqual(self.sms.messages(unknown), [])
        self.assertEqual(self.sms.messages(staff_mobile), [])
        # Whatever code is tried for the unknown number, it fails like a wrong one.
        b = Browser(self.server)
        csrf = b.page("forgotPwd")
        r = b.post({"action": "forgotPwd", "step": "reset", "csrf": csrf, "mobile": unknown,
                    "code": "123456", "newpassword": "Recovered-Pass2",
                    "confirmpassword": "Recovered-Pass2"})
        self.assertEqual((r.status_code, notice(r)[0]), (401, "7102"))

    def test_an_app_requiring_a_second_factor_takes_a_code_by_sms(self):
        # A citizen has a proven mobile but no authenticator: the second-factor
        # page offers an SMS code (issue 20), single-use and bound to this login.
        _, mobile = self.register("smsfactor", resident_id(seq="401"))
        self.create_app("sms2fa", "--open-to-all", "--callback", "http://127.0.0.1:9/sms2fa/")
        self.admin_cli("app", "second-factor", "sms2fa", "--required", "true")

        def second_step():
            b, r = self.login("smsfactor", servicecode="sms2fa")
            self.assertEqual(r.status_code, 200, r.text[:300])
            self.assertIn('value="mfaSms"', r.text)  # offered beside enrolment
            csrf = re.search(r'name="csrf" value="([^"]+)"', r.text).group(1)
            sent = b.post(self.server.url("/sso/usp.do"),
                          data={"action": "mfaSms", "csrf": csrf}, timeout=30)
            self.assertEqual(sent.status_code, 200, sent.text[:300])
            self.assertIn('data-code="sms-sent"', sent.text)
            return b, csrf

        count = len(self.sms.messages(mobile, "login-2fa"))
        b, csrf = second_step()
        code = self.sms.code(mobile, "login-2fa", count=count + 1)
        verify = lambda c: b.post(self.server.url("/sso/usp.do"),
                                  data={"action": "mfaVerify", "csrf": csrf, "code": c},
                                  allow_redirects=False, timeout=30)
        wrong = "%06d" % ((int(code) + 1) % 1000000)
        self.assertEqual(verify(wrong).status_code, 401)
        ok = verify(code)
        self.assertEqual(ok.status_code, 302, notice(ok))
        self.assertIn("TBSSO", b.cookies.get_dict())
        # The code is spent: another login cannot use it.
        b2, csrf2 = second_step()
        again = b2.post(self.server.url("/sso/usp.do"),
                        data={"action": "mfaVerify", "csrf": csrf2, "code": code},
                        allow_redirects=False, timeout=30)
        self.assertEqual(again.status_code, 401, again.text[:300])

    def test_a_platform_administrator_is_never_offered_an_sms_code(self):
        # SMS is the weakest factor (SIM swap): the console's administrators must use an
        # authenticator, so neither the offer nor a forged request sends them a code.
        _, mobile = self.register("smsadmin", resident_id(seq="402"))
        self.admin_cli("role", "grant", "--app", "tongban", "--code", "admin", "--user", "smsadmin")
        self.create_app("smsadm2fa", "--open-to-all", "--callback", "http://127.0.0.1:9/smsadm2fa/")
        self.admin_cli("app", "second-factor", "smsadm2fa", "--required", "true")
        count = len(self.sms.messages(mobile, "login-2fa"))
        b, r = self.login("smsadmin", servicecode="smsadm2fa")
        self.assertEqual(r.status_code, 200, r.text[:300])
        self.assertIn('name="csrf"', r.text)  # the second-factor page, not a login
        self.assertNotIn('value="mfaSms"', r.text)
        csrf = re.search(r'name="csrf" value="([^"]+)"', r.text).group(1)
        forged = b.post(self.server.url("/sso/usp.do"),
                        data={"action": "mfaSms", "csrf": csrf}, timeout=30)
        self.assertNotIn('data-code="sms-sent"', forged.text)
        self.assertEqual(len(self.sms.messages(mobile, "login-2fa")), count)

    def test_pages_refuse_a_post_without_the_form_token(self):
        r = requests.post(self.server.url("/sso/usp.do"), data={
            "action": "register", "step": "code", "mobile": self.mobile()}, timeout=10)
        self.assertEqual(r.status_code, 403)
        self.assertEqual(notice(r)[0], "csrf")

    def test_the_app_entry_serves_the_same_pages(self):
        r = requests.get(self.server.url("/sso/mobile.do"),
                         params={"action": "mobileRegisterUser"}, timeout=10)
        self.assertEqual(r.status_code, 200)
        self.assertIn('name="mobile"', r.text)
        self.assertIn('action="/sso/mobile.do"', r.text)


class SqliteCitizenAccountsTest(CitizenAccounts, unittest.TestCase):
    pass


PG_SKIP = stores.missing_binaries()
PG = None


@unittest.skipIf(PG_SKIP is not None, PG_SKIP or "")
class PostgresCitizenAccountsTest(CitizenAccounts, unittest.TestCase):
    @classmethod
    def database_url(cls):
        global PG
        if PG is None:
            PG = stores.PrivatePostgres().start()
        return PG.new_database_url()


MARIADB_SKIP = stores.missing_mariadb()
MARIADB = None


@unittest.skipIf(MARIADB_SKIP is not None, MARIADB_SKIP or "")
class MariadbCitizenAccountsTest(CitizenAccounts, unittest.TestCase):
    @classmethod
    def database_url(cls):
        global MARIADB
        if MARIADB is None:
            MARIADB = stores.PrivateMariadb().start()
        return MARIADB.new_database_url()


def tearDownModule():
    for store in (PG, MARIADB):
        if store is not None:
            store.close()


class CodeFloodTest(unittest.TestCase):
    """Small limits, a server of its own: the flood is throttled per number,
    per client and (checks) locked out."""

    @classmethod
    def setUpClass(cls):
        cls.config = write_config(code_resend_s=0, code_per_number=2, code_per_ip=5,
                                  code_check_failures=3)
        cls.server = TongbanServer("--config", cls.config).start()
        cls.sms = Sms(os.path.join(cls.server.data_dir, "sms-sandbox.jsonl"))

    @classmethod
    def tearDownClass(cls):
        cls.server.cleanup()
        os.unlink(cls.config)

    def send(self, mobile):
        b = Browser(self.server)
        csrf = b.page("register")
        return b.post({"action": "register", "step": "code", "csrf": csrf, "mobile": mobile})

    def test_a_flood_of_code_requests_is_throttled_per_number_then_per_client(self):
        statuses = [self.send("13700000001").status_code for _ in range(4)]
        self.assertEqual(statuses, [200, 200, 429, 429])
        self.assertIn("该手机号码获取验证码次数过多", notice(self.send("13700000001"))[1])
        self.sms.wait("13700000001", "register", count=2)
        # Per client: 5 codes an hour from this address, whatever the numbers.
        statuses = [self.send("1370000001%d" % i).status_code for i in range(5)]
        self.assertEqual(statuses, [200, 200, 200, 429, 429])
        self.assertIn("该网络获取验证码次数过多", notice(self.send("13700000020"))[1])

    def test_repeated_wrong_checks_lock_the_number_out(self):
        b = Browser(self.server)
        csrf = b.page("forgotPwd")
        codes = []
        for i in range(4):
            r = b.post({"action": "forgotPwd", "step": "reset", "csrf": csrf,
                        "mobile": "13600000001", "code": "%06d" % i,
                        "newpassword": "Recovered-Pass2", "confirmpassword": "Recovered-Pass2"})
            codes.append((r.status_code, notice(r)[0]))
        self.assertEqual(codes[:3], [(401, "7102")] * 3)
        self.assertEqual(codes[3], (429, "7103"))


class ProductionConfigTest(unittest.TestCase):
    def test_the_sandbox_channel_is_refused_without_sms_sandbox(self):
        config = write_config(sms_sandbox="false")
        self.addCleanup(os.unlink, config)
        server = TongbanServer("--config", config, start_timeout=20)
        self.addCleanup(server.cleanup)
        with self.assertRaises(RuntimeError) as caught:
            server.start()
        self.assertIn("sms_sandbox = true", str(caught.exception))

    def test_no_channel_named_is_refused(self):
        config = write_config(sms_channel='""')
        self.addCleanup(os.unlink, config)
        server = TongbanServer("--config", config, start_timeout=20)
        self.addCleanup(server.cleanup)
        with self.assertRaises(RuntimeError) as caught:
            server.start()
        self.assertIn("sms_channel is not set", str(caught.exception))


if __name__ == "__main__":
    main()
