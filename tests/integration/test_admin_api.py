"""The console's JSON admin API (/sso/admin/api/, docs/api/admin.md) against
the real binary: only platform admins with an SSO browser session get in,
mutations need the CSRF header, every endpoint does what the doc says, and
every change lands in the audit log."""
import csv
import io
import os
import re
import socket
import tempfile
import time
import unittest

import requests

from signed_client import RequestSignedClient, SignedClient, create_app, demo_credentials
from tongban_harness import TongbanServer, main, run_admin

API = "/sso/admin/api/"
ADMIN_RE = re.compile(r"admin user:\s+(\S+) / (\S+)")


def admin_credentials(server):
    for line in server.stdout_lines:
        m = ADMIN_RE.search(line)
        if m:
            return m.group(1), m.group(2)
    raise AssertionError("no admin credentials in %r" % server.stdout_lines)


def closed_port():
    """A loopback port nobody listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def browser_login(server, loginname, password):
    """Logs in through the SSO login page; returns the browser's Session."""
    b = requests.Session()
    page = b.get(server.url("/sso/usp.do?action=ssoLogin"))
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    r = b.post(server.url("/sso/usp.do"), data={
        "action": "ssoLogin", "csrf": csrf, "loginname": loginname, "password": password},
        allow_redirects=False)
    assert r.status_code == 302, (r.status_code, r.text[:300])
    assert b.cookies.get("TBSSO"), "no session cookie"
    return b


class Admin:
    """An admin browser session speaking the API."""

    def __init__(self, server, browser):
        self.server = server
        self.b = browser
        me = self.b.get(server.url(API + "me"))
        assert me.status_code == 200, me.text
        self.csrf = me.json()["csrf"]

    def get(self, path, **params):
        return self.b.get(self.server.url(API + path), params=params)

    def send(self, method, path, body=None, **kw):
        headers = {"X-CSRF-Token": self.csrf}
        headers.update(kw.pop("headers", {}))
        return self.b.request(method, self.server.url(API + path), json=body,
                              headers=headers, **kw)

    def ok(self, method, path, body=None, **params):
        r = self.get(path, **params) if method == "GET" else self.send(method, path, body)
        assert r.status_code == 200, "%s %s -> %d %s" % (method, path, r.status_code, r.text)
        return r.json()


class AdminApiTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.config = tempfile.NamedTemporaryFile("w", suffix=".toml", delete=False)
        cls.config.write("[push]\nmax_attempts = 1\nbase_backoff_s = 1\n"
                         "[console]\nenabled = true\n")
        cls.config.close()
        cls.server = TongbanServer("--config", cls.config.name).start()
        cls.data_dir = cls.server.data_dir
        cls.admin_login = admin_credentials(cls.server)
        cls.demo = demo_credentials(cls.server)
        cls.admin = Admin(cls.server, browser_login(cls.server, *cls.admin_login))
        # A plain user with a session: must learn nothing from the API.
        created = cls.admin.ok("POST", "users", {
            "loginname": "plainuser", "username": "普通用户", "orgcoding": "001001",
            "password": "Plain-Pass-1"})
        cls.plain_id = created["user"]["userid"]
        cls.plain = browser_login(cls.server, "plainuser", "Plain-Pass-1")

    @classmethod
    def tearDownClass(cls):
        cls.server.cleanup()
        os.unlink(cls.config.name)

    def audit_events(self, prefix):
        return self.admin.ok("GET", "audit", event=prefix, size=100)["items"]

    # ---- who may call it ----

    def test_without_a_session_every_path_answers_401_with_a_login_url(self):
        for method, path in [("GET", "me"), ("GET", "users"), ("POST", "orgs"),
                             ("DELETE", "sessions/x"), ("GET", "no/such/path")]:
            r = requests.request(method, self.server.url(API + path))
            self.assertEqual(r.status_code, 401, path)
            err = r.json()["error"]
            self.assertEqual(err["code"], 401)
            self.assertIn("/sso/usp.do?action=ssoLogin", err["login"])
            self.assertIn("goto=", err["login"])

    def test_a_user_without_the_admin_role_gets_403_and_no_data(self):
        for path in ["me", "users", "users/" + self.plain_id, "apps", "sessions", "audit",
                     "outbox", "dashboard", "users/export", "no/such/path"]:
            r = self.plain.get(self.server.url(API + path))
            self.assertEqual(r.status_code, 403, path)
            self.assertEqual(r.json(), {"error": {"code": 403, "message": "需要平台管理员权限"}})
        r = self.plain.post(self.server.url(API + "orgs"), json={"parent": "001", "orgname": "x"})
        self.assertEqual(r.status_code, 403)
        self.assertEqual(self.admin.ok("GET", "orgs/search", q="x")["total"], 0)

    def test_a_forged_or_missing_csrf_token_is_refused_and_changes_nothing(self):
        for headers in [{}, {"X-CSRF-Token": "0" * 32}]:
            r = self.admin.b.post(self.server.url(API + "orgs"), headers=headers,
                                  json={"parent": "001", "orgname": "伪造机构"})
            self.assertEqual(r.status_code, 403)
            self.assertEqual(r.json()["error"]["code"], 4031)
        r = self.admin.send("POST", "orgs", {"parent": "001", "orgname": "伪造机构"},
                            headers={"Origin": "http://evil.example"})
        self.assertEqual(r.status_code, 403)
        self.assertEqual(self.admin.ok("GET", "orgs/search", q="伪造")["total"], 0)

    def test_a_session_ended_by_logout_no_longer_opens_the_api(self):
        b = browser_login(self.server, *self.admin_login)
        self.assertEqual(b.get(self.server.url(API + "me")).status_code, 200)
        b.get(self.server.url("/sso/usp.do?action=logout"))
        self.assertEqual(b.get(self.server.url(API + "me")).status_code, 401)

    def test_malformed_json_and_unknown_paths_get_clear_errors(self):
        r = self.admin.send("POST", "orgs", data="{not json",
                            headers={"Content-Type": "application/json"})
        self.assertEqual(r.status_code, 400)
        self.assertIn("JSON", r.json()["error"]["message"])
        r = self.admin.get("no/such/path")
        self.assertEqual(r.status_code, 404)
        r = self.admin.send("PUT", "sessions")
        self.assertEqual(r.status_code, 405)
        self.assertEqual(self.admin.get("users", size="5000").status_code, 400)

    # ---- orgs ----

    def test_org_lifecycle_create_rename_move_and_delete_with_refusal_reasons(self):
        a = self.admin.ok("POST", "orgs", {"parent": "001", "orgname": "生命周期局"})
        self.assertTrue(a["orgcoding"].startswith("001") and len(a["orgcoding"]) == 6)
        child = self.admin.ok("POST", "orgs", {"parent": a["orgcoding"], "orgname": "下属处"})
        self.assertEqual(child["parent"], a["orgcoding"])
        listing = self.admin.ok("GET", "orgs", parent="001", size=100)["items"]
        self.assertTrue([o for o in listing if o["orgcoding"] == a["orgcoding"]][0]["has_children"])
        renamed = self.admin.ok("PUT", "orgs/" + a["orgcoding"], {"orgname": "生命周期局（新）"})
        self.assertEqual(renamed["orgname"], "生命周期局（新）")
        r = self.admin.send("DELETE", "orgs/" + a["orgcoding"])
        self.assertEqual(r.status_code, 400)
        self.assertEqual(r.json()["error"]["code"], 1105)
        self.assertIn("下级机构", r.json()["error"]["message"])
        # Move the child (with a user in it) under 001001: code and user follow.
        u = self.admin.ok("POST", "users", {"loginname": "mover1", "username": "移动者",
                                            "orgcoding": child["orgcoding"]})["user"]
        moved = self.admin.ok("POST", "orgs/%s/move" % child["orgcoding"], {"parent": "001001"})
        self.assertTrue(moved["orgcoding"].startswith("001001"))
        self.assertEqual(moved["orgname"], "下属处")
        self.assertEqual(self.admin.get("orgs/" + child["orgcoding"]).status_code, 404)
        self.assertEqual(self.admin.ok("GET", "users/" + u["userid"])["orgcoding"],
                         moved["orgcoding"])
        r = self.admin.send("POST", "orgs/%s/move" % moved["orgcoding"],
                            {"parent": moved["orgcoding"]})
        self.assertEqual(r.status_code, 400)
        r = self.admin.send("DELETE", "orgs/" + moved["orgcoding"])
        self.assertEqual(r.json()["error"]["code"], 1106)
        self.admin.ok("DELETE", "users/" + u["userid"])
        self.admin.ok("DELETE", "orgs/" + moved["orgcoding"])
        self.admin.ok("DELETE", "orgs/" + a["orgcoding"])
        self.assertEqual(self.admin.get("orgs/" + a["orgcoding"]).status_code, 404)
        events = [e["event"] for e in self.audit_events("admin.org.")]
        for e in ["admin.org.create", "admin.org.update", "admin.org.move", "admin.org.delete"]:
            self.assertIn(e, events)

    def test_org_search_finds_by_name_and_code_prefix(self):
        self.admin.ok("POST", "orgs", {"parent": "001", "orgname": "搜索测试局"})
        self.assertEqual(self.admin.ok("GET", "orgs/search", q="搜索测试")["total"], 1)
        self.assertGreaterEqual(self.admin.ok("GET", "orgs/search", q="001")["total"], 3)

    def test_a_duplicate_sibling_name_is_a_409_with_the_spec_code(self):
        self.admin.ok("POST", "orgs", {"parent": "001", "orgname": "同名局"})
        r = self.admin.send("POST", "orgs", {"parent": "001", "orgname": "同名局"})
        self.assertEqual(r.status_code, 409)
        self.assertEqual(r.json()["error"]["code"], 1012)

    # ---- users ----

    def test_user_create_search_edit_lock_reset_and_delete(self):
        created = self.admin.ok("POST", "users", {
            "loginname": "zhangsan9", "username": "张三九", "orgcoding": "001001",
            "mobile": "13900001234", "idnum": "11010519491231002X"})
        user, password = created["user"], created["password"]
        self.assertTrue(password)
        self.assertNotIn("loginpwd", user)
        for field, q in [("username", "张三九"), ("loginname", "zhangsan9"),
                         ("mobile", "1390000"), ("idnum", "110105194912"), ("any", "zhangsan")]:
            found = self.admin.ok("GET", "users", q=q, field=field)["items"]
            self.assertIn(user["userid"], [u["userid"] for u in found], field)
        self.assertEqual(self.admin.ok("GET", "users", q="1390000", field="username")["total"], 0)
        by_org = self.admin.ok("GET", "users", org="001001", size=1000)["items"]
        self.assertIn(user["userid"], [u["userid"] for u in by_org])
        # The generated password logs in.
        browser_login(self.server, "zhangsan9", password)
        edited = self.admin.ok("PUT", "users/" + user["userid"], {"usertitle": "科长"})
        self.assertEqual(edited["usertitle"], "科长")
        self.assertEqual(self.admin.send("PUT", "users/" + user["userid"],
                                         {"loginpwd": "x"}).status_code, 400)
        self.assertTrue(self.admin.ok("POST", "users/%s/lock" % user["userid"])["locked"])
        self.assertFalse(self.admin.ok("POST", "users/%s/unlock" % user["userid"])["locked"])
        new_pw = self.admin.ok("POST", "users/%s/reset-password" % user["userid"])["password"]
        self.assertNotEqual(new_pw, password)
        browser_login(self.server, "zhangsan9", new_pw)
        self.assertEqual(self.admin.ok("POST", "users/%s/reset-password" % user["userid"],
                                       {"password": "Chosen-Pass-9"})["password"], "")
        browser_login(self.server, "zhangsan9", "Chosen-Pass-9")
        deleted = self.admin.ok("DELETE", "users/" + user["userid"])["deleted"]
        self.assertEqual(deleted["userid"], user["userid"])
        self.assertEqual(self.admin.get("users/" + user["userid"]).status_code, 404)
        events = [e["event"] for e in self.audit_events("admin.user.")]
        for e in ["admin.user.create", "admin.user.update", "admin.user.lock",
                  "admin.user.unlock", "admin.user.reset_password", "admin.user.delete"]:
            self.assertIn(e, events)
        for e in self.audit_events("admin.user."):
            self.assertNotIn(new_pw, e["detail"])
            self.assertNotIn("Chosen-Pass-9", e["detail"])

    def test_a_user_moves_between_orgs_of_one_domain_only(self):
        self.admin.ok("POST", "orgs", {"parent": "", "orgname": "另一个省", "orgcoding": "777"})
        u = self.admin.ok("POST", "users", {"loginname": "moveme", "username": "移动",
                                            "orgcoding": "001001"})["user"]
        moved = self.admin.ok("PUT", "users/" + u["userid"], {"orgcoding": "001"})
        self.assertEqual(moved["orgcoding"], "001")
        r = self.admin.send("PUT", "users/" + u["userid"], {"orgcoding": "777"})
        self.assertEqual(r.status_code, 400)
        self.assertEqual(r.json()["error"]["code"], 2016)

    def test_a_duplicate_login_name_is_a_409_with_code_2010(self):
        body = {"loginname": "dupname", "username": "重名", "orgcoding": "001001"}
        self.admin.ok("POST", "users", body)
        r = self.admin.send("POST", "users", body)
        self.assertEqual(r.status_code, 409)
        self.assertEqual(r.json()["error"]["code"], 2010)

    def test_csv_import_reports_each_bad_row_and_keeps_the_good_ones(self):
        text = ("loginname,username,orgcoding,mobile,loginpwd\n"
                "csv_a,导入甲,001001,13700000001,Csv-Pass-1\n"
                "csv_b,导入乙,999999,13700000002,Csv-Pass-2\n"
                "csv_c,导入丙,001001,13700000003,Csv-Pass-3\n")
        r = self.admin.send("POST", "users/import", data=text.encode("utf-8"),
                            headers={"Content-Type": "text/csv; charset=utf-8"})
        self.assertEqual(r.status_code, 200, r.text)
        report = r.json()
        self.assertEqual((report["rows"], report["added"], report["failed"]), (3, 2, 1), report)
        self.assertEqual(report["errors"][0]["row"], 3)
        self.assertEqual(report["errors"][0]["code"], 2005)
        self.assertIn("机构不存在", report["errors"][0]["message"])
        browser_login(self.server, "csv_c", "Csv-Pass-3")
        self.assertEqual(self.admin.ok("GET", "users", q="csv_", field="loginname")["total"], 2)
        r = self.admin.send("POST", "users/import", {"not": "csv"})
        self.assertEqual(r.status_code, 400)
        upsert = ("loginname,username,orgcoding,loginpwd\n"
                  "csv_a,导入甲改,001001,\n"
                  "csv_d,导入丁,001001,Csv-Pass-4\n")
        r = self.admin.send("POST", "users/import?mode=upsert", data=upsert.encode("utf-8"),
                            headers={"Content-Type": "text/csv"})
        self.assertEqual(r.status_code, 200, r.text)
        self.assertEqual((r.json()["added"], r.json()["modified"]), (1, 1))
        renamed = self.admin.ok("GET", "users", q="csv_a", field="loginname")["items"][0]
        self.assertEqual(renamed["username"], "导入甲改")
        browser_login(self.server, "csv_a", "Csv-Pass-1")  # the password stayed
        r = self.admin.send("POST", "users/import?mode=merge", data=upsert.encode("utf-8"),
                            headers={"Content-Type": "text/csv"})
        self.assertEqual(r.status_code, 400)

    def test_export_is_csv_of_every_user_without_passwords(self):
        r = self.admin.get("users/export")
        self.assertEqual(r.status_code, 200)
        self.assertTrue(r.headers["Content-Type"].startswith("text/csv"))
        rows = list(csv.DictReader(io.StringIO(r.content.decode("utf-8"))))
        self.assertIn("admin", [row["loginname"] for row in rows])
        self.assertNotIn("loginpwd", rows[0])
        self.assertFalse([k for k in rows[0] if "password" in k])

    def test_role_grants_and_bindings_of_a_user(self):
        self.admin.ok("PUT", "apps/demo/roles/clerk", {"rolename": "窗口人员", "memo": ""})
        roles = self.admin.ok("GET", "apps/demo/roles")["items"]
        self.assertIn("clerk", [r["rolecode"] for r in roles])
        granted = self.admin.ok("POST", "users/%s/roles" % self.plain_id,
                                {"app": "demo", "rolecode": "clerk"})["items"]
        self.assertEqual([(r["app"], r["rolecode"]) for r in granted], [("demo", "clerk")])
        left = self.admin.ok("DELETE", "users/%s/roles/demo/clerk" % self.plain_id)["items"]
        self.assertEqual(left, [])
        bound = self.admin.ok("POST", "users/%s/bindings" % self.plain_id,
                              {"app": "demo", "account": "plain@demo"})["items"]
        self.assertEqual(bound, [{"app": "demo", "account": "plain@demo"}])
        c = SignedClient(self.server.base_url, *self.demo)
        reply = c.json("getSsoUserByMap", account="plain@demo")
        self.assertEqual(reply.get("userid"), self.plain_id, reply)
        self.assertEqual(self.admin.ok("DELETE", "users/%s/bindings/demo" % self.plain_id)["items"],
                         [])
        self.admin.ok("DELETE", "apps/demo/roles/clerk")
        self.admin.ok("PUT", "apps/demo/positions/kz", {"positionname": "科长"})
        self.assertEqual([p["positioncode"] for p in
                          self.admin.ok("GET", "apps/demo/positions")["items"]], ["kz"])
        self.admin.ok("DELETE", "apps/demo/positions/kz")

    # ---- apps ----

    def test_app_register_shows_the_secret_once_and_it_signs_calls(self):
        created = self.admin.ok("POST", "apps", {
            "servicecode": "consoleapp", "name": "控制台应用",
            "callback_urls": ["http://127.0.0.1:9/cb"], "protocols": {"zj": True, "cas": True}})
        pwd = created["servicepwd"]
        self.assertTrue(pwd)
        self.assertTrue(created["app"]["protocols"]["cas"])
        shown = self.admin.ok("GET", "apps/consoleapp")
        self.assertNotIn("servicepwd", shown)
        self.assertNotIn(pwd, self.admin.get("apps").text)
        self.assertEqual(SignedClient(self.server.base_url, "consoleapp", pwd)
                         .json("getOrgInfo", orgcoding="001")["result"], "0")
        rotated = self.admin.ok("POST", "apps/consoleapp/rotate-secret")["servicepwd"]
        self.assertNotEqual(rotated, pwd)
        self.assertEqual(SignedClient(self.server.base_url, "consoleapp", rotated)
                         .json("getOrgInfo", orgcoding="001")["result"], "0")
        updated = self.admin.ok("PUT", "apps/consoleapp", {"proxy_right": True,
                                                            "push_url": "http://127.0.0.1:9/p"})
        self.assertTrue(updated["proxy_right"])
        self.assertEqual(updated["push_url"], "http://127.0.0.1:9/p")
        self.assertFalse(self.admin.ok("POST", "apps/consoleapp/disable")["enabled"])
        self.assertEqual(SignedClient(self.server.base_url, "consoleapp", rotated)
                         .json("getOrgInfo", orgcoding="001")["result"], "9904")
        self.assertTrue(self.admin.ok("POST", "apps/consoleapp/enable")["enabled"])
        self.assertEqual(shown["sign_mode"], "spec")
        required = self.admin.ok("PUT", "apps/consoleapp", {"sign_mode": "hmac-sm3"})
        self.assertEqual(required["sign_mode"], "hmac-sm3")
        self.assertEqual(SignedClient(self.server.base_url, "consoleapp", rotated)
                         .json("getOrgInfo", orgcoding="001")["result"], "9901")
        self.assertEqual(RequestSignedClient(self.server.base_url, "consoleapp", rotated,
                                             signmethod="hmac-sm3")
                         .json("getOrgInfo", orgcoding="001")["result"], "0")
        self.assertEqual(self.admin.ok("PUT", "apps/consoleapp", {"sign_mode": "spec"})["sign_mode"],
                         "spec")
        r = self.admin.send("PUT", "apps/consoleapp", {"sign_mode": "md5"})
        self.assertEqual(r.status_code, 400)
        r = self.admin.send("PUT", "apps/consoleapp", {"signtype": "rot13"})
        self.assertEqual(r.status_code, 400)
        r = self.admin.send("PUT", "apps/consoleapp", {"colour": "red"})
        self.assertEqual(r.status_code, 400)
        r = self.admin.send("PUT", "apps/consoleapp", {"push_enabled": True, "push_url": ""})
        self.assertEqual(r.status_code, 400)
        self.assertTrue(r.json()["error"]["message"].startswith("请求不合法（"), r.text)
        self.assertEqual(self.admin.get("apps/nosuchapp").status_code, 404)
        for e in self.audit_events("admin.app."):
            self.assertNotIn(pwd, e["detail"])
            self.assertNotIn(rotated, e["detail"])

    # ---- sessions ----

    def test_live_sessions_are_listed_and_revoking_one_logs_that_browser_out(self):
        u = self.admin.ok("POST", "users", {"loginname": "sessuser", "username": "会话",
                                            "orgcoding": "001001", "password": "Sess-Pass-1"})
        browser = browser_login(self.server, "sessuser", "Sess-Pass-1")
        sessions = self.admin.ok("GET", "sessions", user="sessuser")["items"]
        self.assertEqual(len(sessions), 1)
        session = sessions[0]
        self.assertEqual(session["userid"], u["user"]["userid"])
        self.assertEqual(session["origin"], "browser")
        self.assertNotEqual(session["id"], browser.cookies.get("TBSSO"))
        everyone = self.admin.ok("GET", "sessions", size=1000)["items"]
        self.assertIn(session["id"], [s["id"] for s in everyone])
        ended = self.admin.ok("DELETE", "sessions/" + session["id"])
        self.assertTrue(ended["ended"])
        self.assertEqual(self.admin.ok("GET", "sessions", user="sessuser")["total"], 0)
        page = browser.get(self.server.url("/sso/usp.do?action=ssoLogin"))
        self.assertIn('name="password"', page.text)
        self.assertEqual(self.admin.send("DELETE", "sessions/" + session["id"]).status_code, 404)

    # ---- outbox ----

    def test_a_dead_push_is_listed_and_retried(self):
        create_app(self.data_dir, "deadpush", "--push-url",
                   "http://127.0.0.1:%d/push" % closed_port())
        self.admin.ok("POST", "users", {"loginname": "pushme", "username": "推送",
                                        "orgcoding": "001001"})
        deadline = time.monotonic() + 30
        dead = []
        while time.monotonic() < deadline:
            dead = [m for m in self.admin.ok("GET", "outbox", state="dead", size=100)["items"]
                    if m["destination"] == "deadpush"]
            if dead:
                break
            time.sleep(0.1)
        self.assertTrue(dead, "no dead push for deadpush within 30 s")
        self.assertNotIn("payload", dead[0])
        self.assertEqual(self.admin.ok("POST", "outbox/%d/retry" % dead[0]["id"])["retried"], 1)
        pending = self.admin.ok("GET", "outbox", state="pending", size=100)["items"]
        dead_now = self.admin.ok("GET", "outbox", state="dead", size=100)["items"]
        self.assertTrue(dead[0]["id"] in [m["id"] for m in pending] or
                        [m for m in dead_now if m["id"] == dead[0]["id"]
                         and m["attempts"] >= 1])
        self.assertEqual(self.admin.send("POST", "outbox/999999999/retry").status_code, 404)
        self.assertGreaterEqual(self.admin.ok("POST", "outbox/retry-dead",
                                              {"destination": "deadpush"})["retried"], 0)

    # ---- audit and dashboard ----

    def test_audit_filters_by_event_and_user_and_exports_csv(self):
        login_events = self.admin.ok("GET", "audit", event="login", user="plainuser")["items"]
        self.assertTrue(login_events)
        self.assertTrue(all(e["event"].startswith("login") for e in login_events))
        self.assertTrue(all(e["loginname"] == "plainuser" for e in login_events))
        future = self.admin.ok("GET", "audit", since_ms=str(int(time.time() * 1000) + 3600_000))
        self.assertEqual(future["total"], 0)
        self.assertEqual(self.admin.get("audit", since_ms="yesterday").status_code, 400)
        r = self.admin.get("audit/export", event="admin.")
        self.assertEqual(r.status_code, 200)
        rows = list(csv.DictReader(io.StringIO(r.content.decode("utf-8"))))
        self.assertTrue(rows)
        self.assertTrue(all(row["event"].startswith("admin.") for row in rows))

    def test_dashboard_counts_logins_validations_and_totals(self):
        before = self.admin.ok("GET", "dashboard", minutes=5)
        self.assertEqual(len(before["minutes"]), 5)
        browser = browser_login(self.server, "plainuser", "Plain-Pass-1")
        # The live session gets a ticket for the demo app, which validates it.
        r = browser.get(self.server.url("/sso/usp.do?action=ssoLogin&servicecode=demo"),
                        allow_redirects=False)
        self.assertEqual(r.status_code, 302)
        st = re.search(r"ticket=([^&]+)", r.headers["Location"]).group(1)
        c = SignedClient(self.server.base_url, *self.demo, path="/sso/servlet/simpleauth")
        self.assertEqual(c.json("ticketValidation", st=st)["result"], "0")
        after = self.admin.ok("GET", "dashboard", minutes=5)
        self.assertGreater(sum(after["logins"]), sum(before["logins"]))
        self.assertEqual(sum(after["validations"]), sum(before["validations"]) + 1)
        self.assertGreaterEqual(after["totals"]["users"], 2)
        self.assertGreaterEqual(after["totals"]["sessions"], 1)
        self.assertEqual(set(after["push"]), {"pending", "retrying", "dead", "delivered"})
        self.assertEqual(self.admin.get("dashboard", minutes="0").status_code, 400)

if __name__ == "__main__":
    main()
