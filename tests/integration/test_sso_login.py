"""Single sign-on against the real binary, played as a browser (a
requests.Session) and as the apps behind it: login page -> callback with
ticket -> ticketValidation -> token -> getUserInfo -> proxy ticket -> logout,
for easyAuth and commnetAuth, in both datatypes, over HTTP and SOAP (zeep
reading our WSDL), plus js.do, the personal centre, back-channel logout and
every failure code a client can reach."""
import base64
import hashlib
import itertools
import json
import os
import re
import shutil
import sqlite3
import tempfile
import time
import unittest
import urllib.parse
import xml.etree.ElementTree as ET

import requests
import zeep

from push_receiver import PushReceiver, outbox
from signed_client import SignedClient, create_app, demo_credentials, md5_sign, spec_time
from tongban_harness import TongbanServer, main, run_admin

PASSWORD = "Alice-Passw0rd"
# loginname, username, extra CSV fields
USERS = [
    ("alice", "李丽", {"mobile": "13900000001", "email": "alice@example.cn"}),
    ("bob", "王博", {}),
    ("carol", "陈卡", {}),       # locked by an administrator
    ("dave", "赵大", {}),        # account throttling
    ("erin", "钱尔", {}),        # password changes (web)
    ("frank", "孙凡", {}),       # profile changes (web)
    ("grace", "周格", {}),       # updatePassword (API)
    ("henry", "吴恒", {}),       # updateUserInfo (API)
    ("ivy", "郑艾", {}),         # idValidation throttling
]

_ips = itertools.count(1)


def fresh_ip():
    """A client address of its own for each browser, so that per-IP
    throttling in one test never touches another (the server trusts
    127.0.0.1 as a proxy and reads X-Forwarded-For)."""
    n = next(_ips)
    return "10.%d.%d.%d" % ((n >> 16) & 255, (n >> 8) & 255, n & 255)


def write_config(directory, **sso):
    path = os.path.join(directory, "tongban.toml")
    with open(path, "w", encoding="utf-8") as f:
        f.write('[server]\ntrusted_proxies = ["127.0.0.1"]\n[sso]\n')
        for key, value in sso.items():
            f.write("%s = %s\n" % (key, value))
    return path


def import_users(data_dir, users):
    path = os.path.join(data_dir, "users.csv")
    with open(path, "w", encoding="utf-8") as f:
        f.write("loginname,username,orgcoding,loginpwd,mobile,email\n")
        for login, name, extra in users:
            f.write("%s,%s,001001,%s,%s,%s\n" % (login, name, PASSWORD, extra.get("mobile", ""),
                                                 extra.get("email", "")))
    run_admin(data_dir, "user", "import", path)


def parse_reply(r, datatype):
    """A reply as a dict; XML lists (<role a=".."/>...) become lists of dicts."""
    assert r.status_code == 200, r.text
    if datatype == "json":
        assert r.headers["Content-Type"].startswith("application/json"), r.headers
        return r.json()
    assert r.headers["Content-Type"].startswith("text/xml"), r.headers
    return parse_xml(r.content)


def parse_xml(content):
    root = ET.fromstring(content)
    assert root.tag == "SSO", content
    out = {}
    for child in root:
        if child.attrib:
            out.setdefault(child.tag, []).append(dict(child.attrib))
        else:
            out[child.tag] = child.text or ""
    return out


def query_of(location):
    return dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(location).query))


def set_cookies(r):
    return r.raw.headers.getlist("Set-Cookie")


class Api:
    """An app calling one signed interface."""

    def __init__(self, server, code, pwd, path):
        self.client = SignedClient(server.base_url, code, pwd, path)
        self.code = code

    def __call__(self, method, datatype="json", **params):
        return parse_reply(self.client.request(method, datatype=datatype, **params), datatype)


class Browser:
    """One browser: its cookies, and its own client IP."""

    opened = []

    @classmethod
    def close_all(cls):
        for b in cls.opened:
            b.s.close()
        cls.opened.clear()

    def __init__(self, server, ip=None):
        Browser.opened.append(self)
        self.server = server
        self.s = requests.Session()
        self.s.headers["X-Forwarded-For"] = ip or fresh_ip()
        self.url = server.url("/sso/usp.do")

    def get(self, action=None, **params):
        if action is not None:
            params["action"] = action
        return self.s.get(self.url, params=params, allow_redirects=False, timeout=30)

    def post(self, action, **data):
        return self.s.post(self.url, data={"action": action, **data}, allow_redirects=False,
                           timeout=30)

    def form(self, **params):
        r = self.get("ssoLogin", **params)
        assert r.status_code == 200, (r.status_code, r.text)
        return r, csrf_of(r.text)

    def login(self, loginname="alice", password=PASSWORD, **params):
        _, csrf = self.form(**params)
        return self.post("ssoLogin", csrf=csrf, loginname=loginname, password=password, **params)

    def ticket(self, servicecode="demo", loginname="alice", password=PASSWORD, **params):
        """Logs in (or reuses the session) and returns the ticket the app's callback got."""
        r = self.get("ssoLogin", servicecode=servicecode, **params)
        if r.status_code == 200:
            r = self.post("ssoLogin", csrf=csrf_of(r.text), loginname=loginname,
                          password=password, servicecode=servicecode, **params)
        assert r.status_code == 302, (r.status_code, r.text)
        return query_of(r.headers["Location"])["ticket"]

    def personal_csrf(self, action):
        r = self.get(action)
        assert r.status_code == 200, (r.status_code, r.text)
        return csrf_of(r.text)


def csrf_of(html):
    m = re.search(r'name="csrf" value="([0-9a-f]+)"', html)
    assert m, html
    return m.group(1)


def error_code(html):
    m = re.search(r'class="error" role="alert" data-code="([^"]*)"', html)
    return m.group(1) if m else None


class SsoLoginTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.config_dir = tempfile.mkdtemp(prefix="tongban-sso-")
        cls.server = TongbanServer("--config", write_config(cls.config_dir)).start()
        cls.data_dir = cls.server.data_dir
        code, pwd = demo_credentials(cls.server)
        cls.easy = Api(cls.server, code, pwd, "/sso/servlet/simpleauth")
        cls.comm = Api(cls.server, code, pwd, "/sso/servlet/ssoauth")
        import_users(cls.data_dir, USERS)
        run_admin(cls.data_dir, "user", "lock", "carol")
        cls.receiver = PushReceiver()
        cls.receiver2 = PushReceiver()
        cls.apps = {}
        for name, flags in [
            ("proxyapp", ["--callback", "http://proxy.test/sso", "--proxy", "--open-to-all"]),
            # The first callback receives tickets; further prefixes admit goto pages.
            ("target", ["--callback", "http://target.test/cb", "--callback", "http://target.test/",
                        "--open-to-all"]),
            ("closed", ["--callback", "http://closed.test/cb"]),
            ("offline", ["--callback", "http://offline.test/cb", "--open-to-all"]),
            ("logoutapp", ["--callback", "http://lo.test/cb", "--open-to-all",
                           "--logout-url", cls.receiver.url]),
            ("logoutapp2", ["--callback", "http://lo2.test/cb", "--open-to-all",
                            "--logout-url", cls.receiver2.url]),
        ]:
            cls.apps[name] = create_app(cls.data_dir, name, *flags)
        cls.receiver.servicepwd = cls.apps["logoutapp"]
        cls.receiver2.servicepwd = cls.apps["logoutapp2"]
        run_admin(cls.data_dir, "app", "disable", "offline")

    @classmethod
    def tearDownClass(cls):
        cls.receiver.close()
        cls.receiver2.close()
        cls.server.cleanup()
        shutil.rmtree(cls.config_dir, ignore_errors=True)

    def tearDown(self):
        Browser.close_all()

    def api(self, servicecode, interface="easy"):
        path = "/sso/servlet/simpleauth" if interface == "easy" else "/sso/servlet/ssoauth"
        return Api(self.server, servicecode, self.apps[servicecode], path)

    # ------------------------------------------------------------ login page

    def test_the_login_page_is_chinese_mobile_friendly_and_carries_a_csrf_token(self):
        b = Browser(self.server)
        r = b.get("ssoLogin", servicecode="demo")
        self.assertEqual(r.status_code, 200)
        self.assertTrue(r.headers["Content-Type"].startswith("text/html"))
        self.assertIn('<html lang="zh-CN">', r.text)
        self.assertIn('name="viewport"', r.text)
        self.assertIn("用户登录", r.text)
        self.assertIn("演示应用", r.text)
        self.assertNotIn("<script", r.text)
        csrf = csrf_of(r.text)
        cookie = [c for c in set_cookies(r) if c.startswith("TBCSRF=")][0]
        self.assertIn("TBCSRF=" + csrf, cookie)
        self.assertIn("HttpOnly", cookie)
        self.assertIn("SameSite=Lax", cookie)
        self.assertEqual(r.headers["X-Frame-Options"], "DENY")
        self.assertEqual(r.headers["Cache-Control"], "no-store")
        self.assertIn("frame-ancestors 'none'", r.headers["Content-Security-Policy"])

    def test_login_sends_the_browser_to_the_registered_callback_with_ticket_and_sp(self):
        b = Browser(self.server)
        r = b.login(servicecode="target", goto="http://target.test/page?x=1&y=二")
        self.assertEqual(r.status_code, 302, r.text)
        location = r.headers["Location"]
        self.assertTrue(location.startswith("http://target.test/cb?ticket="), location)
        q = query_of(location)
        self.assertRegex(q["ticket"], r"^[0-9a-f]{32}-ticket$")
        self.assertEqual(q["sp"], "http://target.test/page?x=1&y=二")
        session = [c for c in set_cookies(r) if c.startswith("TBSSO=")][0]
        self.assertRegex(session, r"^TBSSO=[0-9a-f]{64}; ")
        # Path=/: the platform's own apps (/approval/, /hall/) share the session.
        for attribute in ("; Path=/;", "HttpOnly", "SameSite=Lax"):
            self.assertIn(attribute, session)
        self.assertNotIn("Secure", session)  # plain http here; Secure with an https public_url

    def test_without_goto_the_callback_gets_no_sp(self):
        r = Browser(self.server).login(servicecode="target")
        self.assertEqual(r.status_code, 302, r.text)
        self.assertNotIn("sp", query_of(r.headers["Location"]))

    def test_redirect_url_is_accepted_as_goto(self):
        r = Browser(self.server).login(servicecode="target", redirectUrl="http://target.test/h5")
        self.assertEqual(query_of(r.headers["Location"])["sp"], "http://target.test/h5")

    def test_a_logged_in_user_is_sent_on_at_once_with_a_fresh_ticket(self):
        b = Browser(self.server)
        first = b.ticket("demo")
        r = b.get("ssoLogin", servicecode="target", goto="http://target.test/next")
        self.assertEqual(r.status_code, 302)
        q = query_of(r.headers["Location"])
        self.assertNotEqual(q["ticket"], first)
        self.assertEqual(q["sp"], "http://target.test/next")

    def test_mobile_oauth_entry_works_like_the_login_page(self):
        b = Browser(self.server)
        b.ticket("demo")
        r = b.s.get(self.server.url("/sso/mobile.do"),
                    params={"action": "oauth", "scope": "1", "servicecode": "target"},
                    allow_redirects=False, timeout=30)
        self.assertEqual(r.status_code, 302)
        self.assertTrue(r.headers["Location"].startswith("http://target.test/cb?ticket="))

    def test_a_goto_outside_the_apps_registered_urls_is_refused(self):
        b = Browser(self.server)
        for bad in ["http://evil.test/", "http://target.test.evil.test/", "http://target.test@evil.test/",
                    "javascript:alert(1)", "//evil.test/"]:
            r = b.get("ssoLogin", servicecode="target", goto=bad)
            self.assertEqual(r.status_code, 400, bad)
            self.assertNotIn("Location", r.headers)
            self.assertEqual(error_code(r.text), "goto")
        b.ticket("demo")  # logged in: still refused, no ticket handed out
        r = b.get("ssoLogin", servicecode="target", goto="http://evil.test/")
        self.assertEqual(r.status_code, 400)
        self.assertNotIn("Location", r.headers)

    def test_an_unknown_app_is_refused(self):
        r = Browser(self.server).get("ssoLogin", servicecode="nosuchapp")
        self.assertEqual(r.status_code, 400)
        self.assertEqual(error_code(r.text), "9900")

    def test_a_disabled_app_is_refused(self):
        r = Browser(self.server).get("ssoLogin", servicecode="offline")
        self.assertEqual(r.status_code, 403)
        self.assertEqual(error_code(r.text), "9904")

    def test_a_login_without_the_csrf_token_is_refused(self):
        b = Browser(self.server)
        b.form(servicecode="demo")
        r = b.post("ssoLogin", servicecode="demo", loginname="alice", password=PASSWORD)
        self.assertEqual(r.status_code, 403)
        self.assertEqual(error_code(r.text), "csrf")
        self.assertFalse([c for c in set_cookies(r) if c.startswith("TBSSO=")])

    def test_a_csrf_token_from_another_browser_is_refused(self):
        _, stolen = Browser(self.server).form(servicecode="demo")
        b = Browser(self.server)
        b.form(servicecode="demo")
        r = b.post("ssoLogin", csrf=stolen, servicecode="demo", loginname="alice",
                   password=PASSWORD)
        self.assertEqual(r.status_code, 403)
        self.assertEqual(error_code(r.text), "csrf")

    def test_wrong_password_and_unknown_user_get_the_same_answer(self):
        wrong = Browser(self.server).login("bob", "Not-the-passw0rd", servicecode="demo")
        unknown = Browser(self.server).login("nobody", "Not-the-passw0rd", servicecode="demo")
        for r in (wrong, unknown):
            self.assertEqual(r.status_code, 401)
            self.assertEqual(error_code(r.text), "credentials")
            self.assertIn("用户名或密码错误", r.text)
        self.assertIn('value="bob"', wrong.text)  # the login name is kept, the password is not
        self.assertNotIn("Not-the-passw0rd", wrong.text)

    def test_an_account_locked_by_an_administrator_cannot_log_in(self):
        r = Browser(self.server).login("carol", PASSWORD, servicecode="demo")
        self.assertEqual(r.status_code, 403)
        self.assertEqual(error_code(r.text), "6407")

    def test_repeated_failures_lock_the_account_and_say_for_how_long(self):
        ip = fresh_ip()
        for i in range(5):
            r = Browser(self.server, ip).login("dave", "Wrong-passw0rd", servicecode="demo")
            self.assertEqual(r.status_code, 401)
        self.assertIn("分钟后再试", r.text)  # the fifth failure announces the lockout
        r = Browser(self.server, ip).login("dave", PASSWORD, servicecode="demo")  # even the right one
        self.assertEqual(r.status_code, 429)
        self.assertEqual(error_code(r.text), "6409")
        self.assertRegex(r.text, r"账号登录失败次数过多，已临时锁定，请 1[05] 分钟后再试")
        # Only from that address (docs/security.md, "Password guessing"): the
        # same account through the apps' password login and from elsewhere works.
        self.assertEqual(self.easy("idValidation", loginname="dave", password=PASSWORD,
                                   encryptiontype="1")["result"], "0")
        self.assertEqual(Browser(self.server).login("dave", PASSWORD, servicecode="demo")
                         .status_code, 302)

    def test_many_failures_from_one_address_lock_that_address(self):
        ip = fresh_ip()
        for i in range(20):
            Browser(self.server, ip).login("guess%d" % i, "Wrong-passw0rd", servicecode="demo")
        r = Browser(self.server, ip).login("alice", PASSWORD, servicecode="demo")
        self.assertEqual(r.status_code, 429)
        self.assertIn("该网络登录失败次数过多", r.text)
        self.assertEqual(Browser(self.server).login("alice", PASSWORD, servicecode="demo")
                         .status_code, 302)

    def test_a_user_who_may_not_open_the_app_is_told_so_and_stays_logged_in(self):
        b = Browser(self.server)
        r = b.login(servicecode="closed")
        self.assertEqual(r.status_code, 403)
        self.assertEqual(error_code(r.text), "6405")
        self.assertIn("应用closed", r.text)
        self.assertEqual(b.get("index").status_code, 200)

    def test_failed_and_successful_logins_are_audited_without_secrets(self):
        Browser(self.server).login("bob", "Audit-secret-9", servicecode="demo")
        b = Browser(self.server)
        ticket = b.ticket("demo", "bob")
        with sqlite3.connect(os.path.join(self.data_dir, "tongban.db")) as db:
            rows = db.execute("SELECT event, servicecode FROM sso_audit "
                              "WHERE loginname = 'bob' AND ip LIKE '10.%'").fetchall()
        self.assertIn(("login_failed", "demo"), rows)
        self.assertIn(("login", "demo"), rows)
        log = self.server.read_log()
        self.assertIn("[audit] login_failed", log)
        for secret in ("Audit-secret-9", PASSWORD, ticket):
            self.assertNotIn(secret, log)

    # ------------------------------------------------------------ easyAuth

    def check_easyauth_flow(self, datatype):
        b = Browser(self.server)
        st = b.ticket("demo")
        v = self.easy("ticketValidation", datatype, st=st)
        self.assertEqual(v["result"], "0", v)
        self.assertEqual(v["errmsg"], "成功")
        self.assertRegex(v["token"], r"^[0-9a-f]{32}-commonToken$")
        self.assertRegex(v["userid"], r"^[0-9a-f]{32}$")
        self.assertEqual((v["loginname"], v["username"]), ("alice", "李丽"))

        info = self.easy("getUserInfo", datatype, token=v["token"])
        self.assertEqual(info["result"], "0", info)
        self.assertEqual((info["userid"], info["loginname"], info["username"]),
                         (v["userid"], "alice", "李丽"))
        self.assertEqual(info["mobile"], "13900000001")
        for field in ("idnum", "authlevel", "sex", "email", "useable", "orgcoding", "headpicture"):
            self.assertIn(field, info)
        self.assertNotIn("loginpwd", info)

        sys = self.easy("getUserSys", datatype, token=v["token"])
        self.assertEqual(sys["result"], "0", sys)
        codes = [s["servicecode"] for s in sys["system"]]
        self.assertIn("demo", codes)
        self.assertNotIn("closed", codes)
        self.assertEqual(int(sys["total"]), len(codes))

        roles = self.easy("getUserRole", datatype, token=v["token"])
        self.assertEqual((roles["result"], int(roles["total"])), ("0", 0))  # a number in JSON

        out = self.easy("logout", datatype, token=v["token"])
        self.assertEqual(out["result"], "0", out)
        self.assertEqual(self.easy("getUserInfo", datatype, token=v["token"])["result"], "6502")
        self.assertEqual(b.get("ssoLogin", servicecode="demo").status_code, 200)  # logged out

    def test_easyauth_flow_with_json(self):
        self.check_easyauth_flow("json")

    def test_easyauth_flow_with_xml(self):
        self.check_easyauth_flow("xml")

    def test_easyauth_xml_is_the_default_datatype(self):
        st = Browser(self.server).ticket("demo")
        r = self.easy.client.request("ticketValidation", st=st)
        self.assertTrue(r.headers["Content-Type"].startswith("text/xml"))
        self.assertTrue(r.text.startswith('<?xml version="1.0" encoding="UTF-8"?><SSO><result>0'))

    def test_a_ticket_is_single_use(self):
        st = Browser(self.server).ticket("demo")
        self.assertEqual(self.easy("ticketValidation", st=st)["result"], "0")
        again = self.easy("ticketValidation", st=st)
        self.assertEqual(again["result"], "6002", again)

    def test_a_replayed_validation_fails_because_its_ticket_is_used_up(self):
        # ticketValidation sets no replay mark (docs/security.md): the very same
        # signed request again finds its ticket redeemed, on either interface.
        for api, used_up in ((self.easy, "6002"), (self.comm, "3002")):
            st = Browser(self.server).ticket("demo")
            once = api.client.auth()
            first = parse_reply(api.client.request("ticketValidation", auth=once,
                                                   datatype="json", st=st), "json")
            self.assertEqual(first["result"], "0", first)
            again = parse_reply(api.client.request("ticketValidation", auth=once,
                                                   datatype="json", st=st), "json")
            self.assertEqual(again["result"], used_up, again)
            self.assertNotIn("token", again)
            self.assertNotIn("authcode", again)

    def test_a_ticket_for_another_app_is_refused_and_used_up(self):
        st = Browser(self.server).ticket("demo")
        self.assertEqual(self.api("proxyapp")("ticketValidation", st=st)["result"], "6003")
        self.assertEqual(self.easy("ticketValidation", st=st)["result"], "6002")

    def test_unknown_and_malformed_tickets(self):
        self.assertEqual(self.easy("ticketValidation", st="0" * 32 + "-ticket")["result"], "6002")
        self.assertEqual(self.easy("ticketValidation", st="x" * 51)["result"], "6004")
        self.assertEqual(self.easy("ticketValidation", st="")["result"], "6004")

    def test_token_errors_of_get_user_info(self):
        token = self.easy("idValidation", loginname="bob", password=PASSWORD,
                          encryptiontype="1")["token"]
        self.assertEqual(self.easy("getUserInfo", token="0" * 32 + "-commonToken")["result"],
                         "6502")
        self.assertEqual(self.easy("getUserInfo", token="bad token!")["result"], "6505")
        self.assertEqual(self.api("target")("getUserInfo", token=token)["result"], "6504")

    def test_id_validation_returns_a_token_for_each_encryption_type(self):
        plain = self.easy("idValidation", loginname="bob", orgcoding="001001",
                          password=PASSWORD, encryptiontype="1")
        self.assertEqual(plain["result"], "0", plain)
        self.assertEqual(plain["loginname"], "bob")
        self.assertEqual(self.easy("getUserInfo", token=plain["token"])["username"], "王博")
        b64 = base64.b64encode(PASSWORD.encode()).decode()
        self.assertEqual(self.easy("idValidation", loginname="bob", password=b64,
                                   encryptiontype="2")["result"], "0")
        # No MD5-capable hash is kept for this user; types 4/5 need an app key.
        md5 = hashlib.md5(PASSWORD.encode()).hexdigest()
        self.assertEqual(self.easy("idValidation", loginname="bob", password=md5,
                                   encryptiontype="3")["result"], "6404")
        self.assertEqual(self.easy("idValidation", loginname="bob", password="x",
                                   encryptiontype="4")["result"], "6404")
        self.assertEqual(self.easy("idValidation", loginname="bob", password=PASSWORD,
                                   encryptiontype="9")["result"], "6404")

    def test_id_validation_failures(self):
        self.assertEqual(self.easy("idValidation", loginname="nobody", password="Whatever-1",
                                   encryptiontype="1")["result"], "6401")
        self.assertEqual(self.easy("idValidation", loginname="bob", password="Wrong-passw0rd",
                                   encryptiontype="1")["result"], "6402")
        self.assertEqual(self.easy("idValidation", loginname="bob", orgcoding="abc",
                                   password=PASSWORD, encryptiontype="1")["result"], "6403")
        self.assertEqual(self.api("closed")("idValidation", loginname="bob", password=PASSWORD,
                                            encryptiontype="1")["result"], "6405")
        self.assertEqual(self.easy("idValidation", loginname="carol", password=PASSWORD,
                                   encryptiontype="1")["result"], "6407")
        self.assertEqual(self.comm("idValidation", loginname="bob", password="Wrong-passw0rd",
                                   encryptiontype="1")["result"], "3402")

    def test_id_validation_failures_lock_the_account(self):
        for _ in range(5):
            self.assertEqual(self.easy("idValidation", loginname="ivy", password="Wrong-1x",
                                       encryptiontype="1")["result"], "6402")
        r = self.easy("idValidation", loginname="ivy", password=PASSWORD, encryptiontype="1")
        self.assertEqual(r["result"], "6409")
        self.assertIn("分钟后再试", r["errmsg"])

    def test_easyauth_proxy_ticket_reaches_the_proxied_app(self):
        proxy, target = self.api("proxyapp"), self.api("target")
        b = Browser(self.server)
        token = proxy("ticketValidation", st=b.ticket("proxyapp"))["token"]
        for datatype in ("json", "xml"):
            g = proxy("generateST", datatype, proxyapp="target", token=token)
            self.assertEqual(g["result"], "0", g)
            v = target("ticketValidation", datatype, st=g["st"])
            self.assertEqual((v["result"], v["loginname"]), ("0", "alice"))
        # The proxied ticket belongs to the same session: logout ends it too.
        proxy_target_token = target("ticketValidation", st=proxy(
            "generateST", proxyapp="target", token=token)["st"])["token"]
        self.assertEqual(proxy("logout", token=token)["result"], "0")
        self.assertEqual(target("getUserInfo", token=proxy_target_token)["result"], "6502")

    def test_easyauth_proxy_ticket_failures(self):
        proxy = self.api("proxyapp")
        token = proxy("idValidation", loginname="bob", password=PASSWORD,
                      encryptiontype="1")["token"]
        demo_token = self.easy("idValidation", loginname="bob", password=PASSWORD,
                               encryptiontype="1")["token"]
        self.assertEqual(self.easy("generateST", proxyapp="target", token=demo_token)["result"],
                         "6305")
        self.assertEqual(proxy("generateST", proxyapp="nosuchapp", token=token)["result"], "6302")
        self.assertEqual(proxy("generateST", proxyapp="closed", token=token)["result"], "6303")
        self.assertEqual(proxy("generateST", proxyapp="offline", token=token)["result"], "6307")
        self.assertEqual(proxy("generateST", proxyapp="target", token=demo_token)["result"],
                         "6306")
        self.assertEqual(proxy("generateST", proxyapp="target",
                               token="0" * 32 + "-commonToken")["result"], "6304")
        self.assertEqual(proxy("generateST", proxyapp="target", token="no good")["result"],
                         "6308")

    # ------------------------------------------------------------ commnetAuth

    def check_commnetauth_flow(self, datatype):
        b = Browser(self.server)
        v = self.comm("ticketValidation", datatype, st=b.ticket("demo"))
        self.assertEqual(v["result"], "0", v)
        self.assertRegex(v["authcode"], r"^[0-9a-f]{32}$")
        self.assertEqual(v["loginname"], "alice")
        t = self.comm("getToken", datatype, authcode=v["authcode"])
        self.assertEqual(t["result"], "0", t)
        self.assertRegex(t["accesstoken"], r"^[0-9a-f]{32}-accessToken$")
        self.assertRegex(t["refreshtoken"], r"^[0-9a-f]{32}-refreshToken$")
        self.assertEqual(t["accvalidtime"], "7200")
        self.assertEqual(t["refreshvalidtime"], "604800")
        self.assertEqual((t["proxytoken"], t["proxyvalidtime"]), ("", "0"))  # demo: no proxy right

        info = self.comm("getUserInfo", datatype, accesstoken=t["accesstoken"])
        self.assertEqual((info["result"], info["loginname"], info["userid"]),
                         ("0", "alice", v["userid"]))
        self.assertEqual(self.comm("getUserRole", datatype,
                                   accesstoken=t["accesstoken"])["result"], "0")
        sys = self.comm("getUserSys", datatype, accesstoken=t["accesstoken"])
        self.assertIn("demo", [s["servicecode"] for s in sys["system"]])

        st = self.comm("getST", datatype, accesstoken=t["accesstoken"])
        self.assertEqual(st["result"], "0", st)
        self.assertEqual(self.easy("ticketValidation", st=st["st"])["result"], "0")

        r = self.comm("refAccessToken", datatype, refreshtoken=t["refreshtoken"])
        self.assertEqual(r["result"], "0", r)
        self.assertNotEqual(r["accesstoken"], t["accesstoken"])
        self.assertEqual(r["accvalidtime"], "7200")
        self.assertEqual(self.comm("getUserInfo", accesstoken=t["accesstoken"])["result"], "3502")
        self.assertEqual(self.comm("getUserInfo", accesstoken=r["accesstoken"])["result"], "0")

        self.assertEqual(self.comm("logout", datatype, accesstoken=r["accesstoken"])["result"], "0")
        self.assertEqual(self.comm("getUserInfo", accesstoken=r["accesstoken"])["result"], "3502")
        self.assertEqual(self.comm("refAccessToken", refreshtoken=t["refreshtoken"])["result"],
                         "3202")
        self.assertEqual(b.get("ssoLogin", servicecode="demo").status_code, 200)

    def test_commnetauth_flow_with_json(self):
        self.check_commnetauth_flow("json")

    def test_commnetauth_flow_with_xml(self):
        self.check_commnetauth_flow("xml")

    def test_commnetauth_ticket_failures(self):
        st = Browser(self.server).ticket("demo")
        self.assertEqual(self.api("target", "comm")("ticketValidation", st=st)["result"], "3003")
        self.assertEqual(self.comm("ticketValidation", st=st)["result"], "3002")
        self.assertEqual(self.comm("ticketValidation", st="~~")["result"], "3004")

    def test_an_authcode_is_single_use_and_bound_to_its_app(self):
        code = self.comm("idValidation", loginname="bob", password=PASSWORD,
                         encryptiontype="1")["authcode"]
        self.assertEqual(self.api("target", "comm")("getToken", authcode=code)["result"], "3103")
        self.assertEqual(self.comm("getToken", authcode=code)["result"], "3102")  # used up
        code = self.comm("idValidation", loginname="bob", password=PASSWORD,
                         encryptiontype="1")["authcode"]
        self.assertEqual(self.comm("getToken", authcode=code)["result"], "0")
        self.assertEqual(self.comm("getToken", authcode=code)["result"], "3102")
        self.assertEqual(self.comm("getToken", authcode="a b")["result"], "3104")

    def test_commnetauth_token_errors(self):
        t = self.comm("getToken", authcode=self.comm(
            "idValidation", loginname="bob", password=PASSWORD, encryptiontype="1")["authcode"])
        other = self.api("target", "comm")
        self.assertEqual(other("getUserInfo", accesstoken=t["accesstoken"])["result"], "3504")
        self.assertEqual(self.comm("getUserInfo", accesstoken="!")["result"], "3505")
        self.assertEqual(other("refAccessToken", refreshtoken=t["refreshtoken"])["result"], "3203")
        self.assertEqual(self.comm("refAccessToken", refreshtoken="!")["result"], "3204")
        self.assertEqual(self.comm("refAccessToken", refreshtoken=t["accesstoken"])["result"],
                         "3202")
        self.assertEqual(self.comm("getST", accesstoken="0" * 32 + "-accessToken")["result"],
                         "3702")
        self.assertEqual(other("getST", accesstoken=t["accesstoken"])["result"], "3703")
        self.assertEqual(self.comm("getST", accesstoken="")["result"], "3704")

    def test_commnetauth_proxy_token_reaches_the_proxied_app(self):
        proxy = self.api("proxyapp", "comm")
        code = proxy("ticketValidation", st=Browser(self.server).ticket("proxyapp"))["authcode"]
        t = proxy("getToken", authcode=code)
        self.assertRegex(t["proxytoken"], r"^[0-9a-f]{32}-proxyToken$")
        self.assertEqual(t["proxyvalidtime"], "7200")
        g = proxy("generateST", proxyapp="target", proxytoken=t["proxytoken"])
        self.assertEqual(g["result"], "0", g)
        v = self.api("target", "comm")("ticketValidation", st=g["st"])
        self.assertEqual((v["result"], v["loginname"]), ("0", "alice"))
        self.assertEqual(proxy("generateST", proxyapp="target",
                               proxytoken=t["accesstoken"])["result"], "3304")
        self.assertEqual(proxy("generateST", proxyapp="closed",
                               proxytoken=t["proxytoken"])["result"], "3303")
        self.assertEqual(proxy("generateST", proxyapp="nosuchapp",
                               proxytoken=t["proxytoken"])["result"], "3302")
        self.assertEqual(proxy("generateST", proxyapp="offline",
                               proxytoken=t["proxytoken"])["result"], "3307")
        refreshed = proxy("refAccessToken", refreshtoken=t["refreshtoken"])
        self.assertNotEqual(refreshed["proxytoken"], t["proxytoken"])
        self.assertEqual(proxy("generateST", proxyapp="target",
                               proxytoken=t["proxytoken"])["result"], "3304")
        self.assertEqual(self.comm("generateST", proxyapp="target",
                                   proxytoken=refreshed["proxytoken"])["result"], "3305")

    def test_update_password_through_the_api(self):
        code = self.comm("idValidation", loginname="grace", password=PASSWORD,
                         encryptiontype="1")["authcode"]
        token = self.comm("getToken", authcode=code)["accesstoken"]
        self.assertEqual(self.comm("updatePassword", accesstoken=token, oldpassword="Wrong-1x",
                                   newpassword="Grace-New-2024", encryptiontype="1")["result"],
                         "3606")
        self.assertEqual(self.comm("updatePassword", accesstoken=token, oldpassword=PASSWORD,
                                   newpassword="short", encryptiontype="1")["result"], "3607")
        self.assertEqual(self.comm("updatePassword", accesstoken=token, oldpassword=PASSWORD,
                                   newpassword="Grace-New-2024", encryptiontype="3")["result"],
                         "3608")
        self.assertEqual(self.comm("updatePassword", accesstoken=token, oldpassword="%%%",
                                   newpassword="Grace-New-2024", encryptiontype="2")["result"],
                         "3609")
        new_b64 = base64.b64encode(b"Grace-New-2024").decode()
        old_b64 = base64.b64encode(PASSWORD.encode()).decode()
        ok = self.comm("updatePassword", accesstoken=token, oldpassword=old_b64,
                       newpassword=new_b64, encryptiontype="2")
        self.assertEqual(ok["result"], "0", ok)
        self.assertEqual(self.easy("idValidation", loginname="grace", password="Grace-New-2024",
                                   encryptiontype="1")["result"], "0")
        self.assertEqual(self.easy("idValidation", loginname="grace", password=PASSWORD,
                                   encryptiontype="1")["result"], "6402")

    def test_update_user_info_through_the_api(self):
        code = self.comm("idValidation", loginname="henry", password=PASSWORD,
                         encryptiontype="1")["authcode"]
        token = self.comm("getToken", authcode=code)["accesstoken"]
        r = self.comm("updateUserInfo", accesstoken=token, args=json.dumps(
            {"email": "henry@example.cn", "officeaddress": "杭州市", "username": "吴恒"},
            ensure_ascii=False))
        self.assertEqual(r["result"], "0", r)
        self.assertEqual(r["email"], "henry@example.cn")
        info = self.comm("getUserInfo", accesstoken=token)
        self.assertEqual((info["email"], info["officeaddress"]), ("henry@example.cn", "杭州市"))
        self.assertEqual(self.comm("updateUserInfo", accesstoken=token,
                                   args="<SSO><homephone>0571-1</homephone></SSO>")["result"], "0")
        # The mobile recovers the password and receives SMS login codes: an app
        # holding the user's token must not move it (3807, nothing changes).
        before = self.comm("getUserInfo", accesstoken=token)["mobile"]
        refused = self.comm("updateUserInfo", accesstoken=token,
                            args="<SSO><mobile>13900000088</mobile><email>h2@example.cn</email>"
                                 "</SSO>")
        self.assertEqual(refused["result"], "3807", refused)
        self.assertIn("手机号码", refused["errmsg"])
        info = self.comm("getUserInfo", accesstoken=token)
        self.assertEqual((info["mobile"], info["email"]), (before, "henry@example.cn"))
        # The record sent back whole (mobile unchanged) is still accepted.
        self.assertEqual(self.comm("updateUserInfo", accesstoken=token, args=json.dumps(
            {"mobile": before, "email": "h3@example.cn"}))["result"], "0")
        self.assertEqual(self.comm("updateUserInfo", accesstoken=token,
                                   args='{"username":"别人"}')["result"], "3807")
        self.assertEqual(self.comm("updateUserInfo", accesstoken=token,
                                   args='{"email":"not an email"}')["result"], "3808")
        self.assertEqual(self.comm("updateUserInfo", accesstoken=token,
                                   args="not json")["result"], "3806")
        self.assertEqual(self.comm("updateUserInfo", accesstoken="x!",
                                   args='{"email":"a@b.cn"}')["result"], "3805")

    # ------------------------------------------------------------ signed calls

    def test_signed_calls_outside_the_window_replayed_or_badly_signed_are_refused(self):
        c = self.easy.client
        t = spec_time(time.time() - 3600)
        old = {"servicecode": c.servicecode, "time": t, "sign": md5_sign(c.servicecode,
                                                                        c.servicepwd, t)}
        self.assertEqual(parse_reply(c.request("getUserInfo", auth=old, datatype="json",
                                               token="x"), "json")["result"], "9902")
        bad = dict(c.auth(), sign="0" * 32)
        self.assertEqual(parse_reply(c.request("getUserInfo", auth=bad, datatype="json",
                                               token="x"), "json")["result"], "9901")
        once = c.auth()
        first = parse_reply(c.request("getUserInfo", auth=once, datatype="json", token="y"), "json")
        self.assertEqual(first["result"], "6502")
        # An identical read is harmless and answered again; an identical write is a replay.
        again = parse_reply(c.request("getUserInfo", auth=once, datatype="json", token="y"), "json")
        self.assertEqual(again["result"], "6502")
        first = parse_reply(c.request("logout", auth=once, datatype="json", token="y"), "json")
        self.assertNotEqual(first["result"], "9906")
        again = parse_reply(c.request("logout", auth=once, datatype="json", token="y"), "json")
        self.assertEqual(again["result"], "9906")
        unknown = parse_reply(c.request("noSuchMethod", datatype="json"), "json")
        self.assertEqual(unknown["result"], "9800")

    # ------------------------------------------------------------ SOAP

    def zeep_service(self, name):
        return zeep.Client(self.server.url("/sso/service/%s?wsdl" % name)).service

    def test_the_wsdls_list_every_operation_with_the_spec_parameter_order(self):
        wsdl = "{http://schemas.xmlsoap.org/wsdl/}"
        xsd = "{http://www.w3.org/2001/XMLSchema}"
        for service, ops in [
            ("SimpleAuthService", ["ticketValidation", "idValidation", "getUserInfo",
                                   "generateST", "logout", "getUserSys", "getUserRole"]),
            ("SsoAuthService", ["ticketValidation", "idValidation", "getToken", "refAccessToken",
                                "generateST", "getST", "getUserInfo", "getUserRole",
                                "getUserSys", "logout", "updatePassword", "updateUserInfo"]),
        ]:
            r = requests.get(self.server.url("/sso/service/%s?wsdl" % service), timeout=10)
            root = ET.fromstring(r.content)
            names = [op.get("name") for op in root.find(wsdl + "portType").findall(
                wsdl + "operation")]
            self.assertEqual(names, ops)
            self.assertIn(service + "HttpPort", zeep.Client(
                self.server.url("/sso/service/%s?wsdl" % service)).wsdl.services[service].ports)
            if service == "SimpleAuthService":
                element = [e for e in root.iter(xsd + "element") if e.get("name") == "generateST"][0]
                params = [e.get("name") for e in element.iter(xsd + "element")][1:]
                # The spec's order, then the request signature's optional two.
                self.assertEqual(params, ["servicecode", "time", "sign", "proxyapp", "token",
                                          "datatype", "signmethod", "nonce"])

    def test_easyauth_over_soap_in_both_datatypes(self):
        service = self.zeep_service("SimpleAuthService")
        for datatype in ("json", "xml"):
            st = Browser(self.server).ticket("demo")
            out = service.ticketValidation(**self.easy.client.auth(), st=st, datatype=datatype)
            v = json.loads(out) if datatype == "json" else parse_xml(out.encode("utf-8"))
            self.assertEqual((v["result"], v["loginname"]), ("0", "alice"))
            out = service.getUserInfo(**self.easy.client.auth(), token=v["token"],
                                      datatype=datatype)
            info = json.loads(out) if datatype == "json" else parse_xml(out.encode("utf-8"))
            self.assertEqual((info["result"], info["username"]), ("0", "李丽"))
        out = json.loads(service.ticketValidation(**self.easy.client.auth(), st=st,
                                                  datatype="json"))
        self.assertEqual(out["result"], "6002")

    def test_commnetauth_over_soap(self):
        service = self.zeep_service("SsoAuthService")
        auth = self.comm.client.auth
        v = json.loads(service.ticketValidation(**auth(), st=Browser(self.server).ticket("demo"),
                                                datatype="json"))
        self.assertEqual(v["result"], "0", v)
        t = json.loads(service.getToken(**auth(), authcode=v["authcode"], datatype="json"))
        self.assertEqual(t["result"], "0", t)
        info = parse_xml(service.getUserInfo(**auth(), accesstoken=t["accesstoken"],
                                             datatype="xml").encode("utf-8"))
        self.assertEqual((info["result"], info["loginname"]), ("0", "alice"))
        out = json.loads(service.logout(**auth(), accesstoken=t["accesstoken"], datatype="json"))
        self.assertEqual(out["result"], "0")

    # ------------------------------------------------------------ js.do

    def js_ticket(self, browser, servicecode="demo", referer="http://127.0.0.1:8080/page",
                  callback="cb"):
        headers = {"Referer": referer} if referer else {}
        r = browser.s.get(self.server.url("/sso/js.do"), headers=headers, timeout=10, params={
            "action": "ticket", "servicecode": servicecode, "callback": callback})
        return r

    def jsonp(self, r):
        self.assertEqual(r.status_code, 200, r.text)
        self.assertTrue(r.headers["Content-Type"].startswith("application/javascript"))
        m = re.fullmatch(r"/\*\*/cb\((.*)\);", r.text)
        self.assertTrue(m, r.text)
        return json.loads(m.group(1))

    def test_js_sdk_defines_auto_login_and_its_callbacks(self):
        r = requests.get(self.server.url("/sso/js.do"), params={"servicecode": "demo"}, timeout=10)
        self.assertEqual(r.status_code, 200)
        self.assertTrue(r.headers["Content-Type"].startswith("application/javascript"))
        for name in ("YH.method.autoLogin", "YH.callback.loginAppForJs", "YH.callback.showErrcode",
                     'var servicecode = "demo"'):
            self.assertIn(name, r.text)

    def test_js_sdk_hands_a_logged_in_user_a_ticket_for_the_app(self):
        b = Browser(self.server)
        b.ticket("demo")
        reply = self.jsonp(self.js_ticket(b))
        self.assertEqual(reply["result"], "0", reply)
        self.assertEqual(self.easy("ticketValidation", st=reply["ticket"])["loginname"], "alice")

    def test_js_sdk_failures(self):
        anonymous = Browser(self.server)
        self.assertEqual(self.jsonp(self.js_ticket(anonymous))["result"], "7001")
        b = Browser(self.server)
        b.ticket("demo")
        self.assertEqual(self.jsonp(self.js_ticket(b, referer="http://evil.test/"))["result"],
                         "7002")
        self.assertEqual(self.jsonp(self.js_ticket(b, referer=None))["result"], "7002")
        self.assertEqual(self.jsonp(self.js_ticket(b, "closed", "http://closed.test/x"))["result"],
                         "7003")
        self.assertEqual(self.jsonp(self.js_ticket(b, "nosuchapp"))["result"], "9900")
        self.assertEqual(self.js_ticket(b, callback="alert(1)//").status_code, 400)

    # ------------------------------------------------------------ logout

    def test_logout_ends_the_session_and_notifies_every_app_that_got_a_ticket(self):
        b = Browser(self.server)
        lo = self.api("logoutapp")
        token = lo("ticketValidation", st=b.ticket("logoutapp"))["token"]
        demo_token = self.easy("ticketValidation", st=b.ticket("demo"))["token"]
        r = b.get("logout", goto="http://lo.test/bye")
        self.assertEqual(r.status_code, 302)
        self.assertEqual(r.headers["Location"], "http://lo.test/bye")
        self.assertTrue([c for c in set_cookies(r) if c.startswith("TBSSO=;")])
        self.assertEqual(lo("getUserInfo", token=token)["result"], "6502")
        self.assertEqual(self.easy("getUserInfo", token=demo_token)["result"], "6502")
        self.assertTrue(self.receiver.wait_until(lambda pushes: any(
            p.method == "logout" and token in p.form.get("token", "") for p in pushes)),
            self.receiver.snapshot())
        notice = [p for p in self.receiver.snapshot() if token in p.form.get("token", "")][0]
        self.assertTrue(self.receiver.sign_ok(notice))
        self.assertEqual(notice.form["loginname"], "alice")
        self.assertEqual(notice.args()["token"], token)
        self.assertRegex(notice.form["sessionid"], r"^[0-9a-f]{32}$")
        self.assertEqual(b.get("ssoLogin", servicecode="demo").status_code, 200)

    def test_an_apps_logout_call_notifies_the_other_apps_but_not_itself(self):
        b = Browser(self.server)
        token1 = self.api("logoutapp")("ticketValidation", st=b.ticket("logoutapp"))["token"]
        token2 = self.api("logoutapp2")("ticketValidation", st=b.ticket("logoutapp2"))["token"]
        self.assertEqual(self.api("logoutapp")("logout", token=token1)["result"], "0")
        self.assertTrue(self.receiver2.wait_until(lambda pushes: any(
            token2 in p.form.get("token", "") for p in pushes)))
        self.assertFalse([p for p in self.receiver.snapshot()
                          if token1 in p.form.get("token", "")])

    def test_logout_does_not_follow_an_unregistered_goto(self):
        b = Browser(self.server)
        b.ticket("demo")
        r = b.get("logout", goto="http://evil.test/")
        self.assertEqual(r.status_code, 200)
        self.assertNotIn("Location", r.headers)
        self.assertIn("您已安全退出", r.text)
        self.assertEqual(error_code(r.text), "goto")

    def test_a_new_login_in_the_same_browser_ends_the_previous_session(self):
        b = Browser(self.server)
        token = self.easy("ticketValidation", st=b.ticket("demo"))["token"]
        self.assertEqual(b.get("ssoLogin", servicecode="demo").status_code, 302)
        r = b.login("bob", PASSWORD, servicecode="demo", renew="true")  # renew: form despite session
        self.assertEqual(r.status_code, 302)
        self.assertEqual(self.easy("getUserInfo", token=token)["result"], "6502")

    # ------------------------------------------------------------ personal centre

    def test_the_launcher_lists_the_apps_the_user_may_open(self):
        b = Browser(self.server)
        b.ticket("demo")
        r = b.get("index")
        self.assertEqual(r.status_code, 200)
        self.assertIn("李丽", r.text)
        self.assertIn("servicecode=demo", r.text)
        self.assertIn("servicecode=target", r.text)
        self.assertNotIn("servicecode=closed", r.text)
        r = b.get("zfRedirect", servicecode="target")
        self.assertEqual(r.status_code, 302)
        self.assertTrue(r.headers["Location"].startswith("http://target.test/cb?ticket="))

    def test_personal_pages_send_an_anonymous_browser_to_log_in_first(self):
        b = Browser(self.server)
        for action in ("index", "editPwd", "editUser"):
            r = b.get(action)
            self.assertEqual(r.status_code, 302)
            q = query_of(r.headers["Location"])
            self.assertEqual(q["action"], "ssoLogin")
            self.assertTrue(q["goto"].endswith("/sso/usp.do?action=" + action))
        r = b.login(goto=self.server.url("/sso/usp.do?action=editPwd"))
        self.assertEqual(r.headers["Location"], self.server.url("/sso/usp.do?action=editPwd"))

    def test_zf_redirect_needs_a_servicecode_and_logs_in_first(self):
        b = Browser(self.server)
        self.assertEqual(b.get("zfRedirect").status_code, 400)
        r = b.get("zfRedirect", servicecode="target")
        self.assertEqual(r.status_code, 200)
        self.assertIn('name="servicecode" value="target"', r.text)

    def test_an_unknown_action_is_404(self):
        self.assertEqual(Browser(self.server).get("register").status_code, 404)

    def test_change_password_on_the_web(self):
        b = Browser(self.server)
        b.ticket("demo", "erin")
        csrf = b.personal_csrf("editPwd")
        r = b.post("editPwd", oldpassword=PASSWORD, newpassword="Erin-New-2024",
                   confirmpassword="Erin-New-2024")
        self.assertEqual((r.status_code, error_code(r.text)), (403, "csrf"))
        r = b.post("editPwd", csrf=csrf, oldpassword=PASSWORD, newpassword="Erin-New-2024",
                   confirmpassword="Erin-Other-2024")
        self.assertEqual((r.status_code, error_code(r.text)), (400, "confirm"))
        r = b.post("editPwd", csrf=csrf, oldpassword="Wrong-passw0rd",
                   newpassword="Erin-New-2024", confirmpassword="Erin-New-2024")
        self.assertEqual((r.status_code, error_code(r.text)), (403, "6402"))
        r = b.post("editPwd", csrf=csrf, oldpassword=PASSWORD, newpassword="alllowercase",
                   confirmpassword="alllowercase")
        self.assertEqual(r.status_code, 400)
        self.assertIn("至少两类", r.text)
        r = b.post("editPwd", csrf=csrf, oldpassword=PASSWORD, newpassword="Erin-New-2024",
                   confirmpassword="Erin-New-2024")
        self.assertEqual(r.status_code, 200, r.text)
        self.assertIn("密码已修改", r.text)
        self.assertEqual(Browser(self.server).login("erin", "Erin-New-2024",
                                                    servicecode="demo").status_code, 302)
        self.assertEqual(Browser(self.server).login("erin", PASSWORD,
                                                    servicecode="demo").status_code, 401)

    def test_edit_own_information_on_the_web(self):
        b = Browser(self.server)
        token = self.easy("ticketValidation", st=b.ticket("demo", "frank"))["token"]
        csrf = b.personal_csrf("editUser")
        r = b.post("editUser", email="frank@example.cn", homeaddress="宁波市<b>")
        self.assertEqual((r.status_code, error_code(r.text)), (403, "csrf"))
        r = b.post("editUser", csrf=csrf, email="frank@example.cn", homeaddress="宁波市<b>")
        self.assertEqual(r.status_code, 200, r.text)
        self.assertIn("个人信息已保存", r.text)
        self.assertIn('value="宁波市&lt;b&gt;"', r.text)
        info = self.easy("getUserInfo", token=token)  # the cached user was refreshed
        self.assertEqual((info["email"], info["homeaddress"]), ("frank@example.cn", "宁波市<b>"))
        r = b.post("editUser", csrf=csrf, email="not an email")
        self.assertEqual(r.status_code, 400)
        self.assertIn('value="not an email"', r.text)


class SsoExpiryTest(unittest.TestCase):
    """Lifetimes, on a server configured with very short ones."""

    @classmethod
    def setUpClass(cls):
        cls.config_dir = tempfile.mkdtemp(prefix="tongban-sso-ttl-")
        # authcodes get 2 s so that getToken right after idValidation is safe
        # on a busy machine.
        config = write_config(cls.config_dir, ticket_ttl_s=1, authcode_ttl_s=2,
                              access_token_ttl_s=1, refresh_token_ttl_s=1)
        cls.server = TongbanServer("--config", config).start()
        code, pwd = demo_credentials(cls.server)
        cls.easy = Api(cls.server, code, pwd, "/sso/servlet/simpleauth")
        cls.comm = Api(cls.server, code, pwd, "/sso/servlet/ssoauth")
        import_users(cls.server.data_dir, USERS[:1])

    @classmethod
    def tearDownClass(cls):
        cls.server.cleanup()
        shutil.rmtree(cls.config_dir, ignore_errors=True)

    def tearDown(self):
        Browser.close_all()

    def wait_past_lifetime(self):
        # The lifetimes here are 1-2 s; expiry is the server's clock passing them.
        time.sleep(2.2)

    def test_expired_tickets_codes_and_tokens_answer_their_expired_codes(self):
        b = Browser(self.server)
        st_easy = b.ticket("demo")
        st_comm = b.ticket("demo")
        token = self.easy("idValidation", loginname="alice", password=PASSWORD,
                          encryptiontype="1")["token"]
        authcode = self.comm("idValidation", loginname="alice", password=PASSWORD,
                             encryptiontype="1")["authcode"]
        tokens = self.comm("getToken", authcode=self.comm(
            "idValidation", loginname="alice", password=PASSWORD,
            encryptiontype="1")["authcode"])
        self.assertEqual(tokens["result"], "0", tokens)
        self.wait_past_lifetime()
        self.assertEqual(self.easy("ticketValidation", st=st_easy)["result"], "6001")
        self.assertEqual(self.comm("ticketValidation", st=st_comm)["result"], "3001")
        self.assertEqual(self.easy("getUserInfo", token=token)["result"], "6501")
        self.assertEqual(self.comm("getToken", authcode=authcode)["result"], "3101")
        self.assertEqual(self.comm("getUserInfo", accesstoken=tokens["accesstoken"])["result"],
                         "3501")
        self.assertEqual(self.comm("refAccessToken", refreshtoken=tokens["refreshtoken"])["result"],
                         "3201")
        self.assertEqual(self.comm("getST", accesstoken=tokens["accesstoken"])["result"], "3701")
        # An expired token may still end its session.
        self.assertEqual(self.easy("logout", token=token)["result"], "0")


if __name__ == "__main__":
    main()
