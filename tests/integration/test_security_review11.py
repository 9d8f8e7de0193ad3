"""Session 11: the low-severity leftovers of the session-10 review
(docs/security.md "Leftovers fixed (session 11)"), against the real binary:

- a refresh (commnetAuth refAccessToken, OIDC refresh_token) did not re-check
  that the user still holds a role in a closed app: a user whose role was
  withdrawn kept refreshing;
- a console CSV import in upsert mode that set `loginpwd`, or disabled a
  user, and organduser synchronizeUser setting a password, left the user's
  sessions alive."""
import json
import unittest
import urllib.parse

import requests

from approval_fixture import admin_login, browser_login
from signed_client import SignedClient, create_app
from tongban_harness import TongbanServer, main

PASSWORD = "Sec11-Pass-1"
CB = "http://127.0.0.1:9/rp11/cb"
COMM_CB = "http://127.0.0.1:9/comm11/cb"


def query_of(url):
    return dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query))


class SecurityReview11(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = TongbanServer().start()
        try:
            cls.base = cls.server.base_url
            cls.issuer = cls.base + "/sso/oidc"
            data_dir = cls.server.data_dir
            # Closed apps (not open to all): a user needs a role in them.
            cls.rp = create_app(data_dir, "rp11", "--protocols", "oidc", "--callback", CB)
            cls.comm_pwd = create_app(data_dir, "comm11", "--callback", COMM_CB)
            cls.writer_pwd = create_app(data_dir, "writer11", "--directory-write")
            cls.comm = SignedClient(cls.base, "comm11", cls.comm_pwd, "/sso/servlet/ssoauth")
            cls.writer = SignedClient(cls.base, "writer11", cls.writer_pwd)
            cls.admin = admin_login(cls.server)
            for app in ("rp11", "comm11"):
                cls.admin.ok("PUT", "apps/%s/roles/clerk" % app, {"rolename": "窗口"})
            cls.users = {}
            for name in ("role11", "oidc11", "imp11", "off11", "keep11", "sync11",
                         "same11", "resend11"):
                created = cls.admin.ok("POST", "users", {
                    "loginname": name, "username": "测试" + name, "orgcoding": "001",
                    "password": PASSWORD})
                cls.users[name] = created["user"]["userid"]
        except BaseException:
            cls.server.cleanup()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.server.cleanup()

    def login(self, name, password=PASSWORD):
        b = browser_login(self.base, name, password)
        self.addCleanup(b.close)
        return b

    def logged_in(self, browser):
        """Whether the browser's SSO session is alive (the personal centre
        answers its page, not the login page)."""
        r = browser.get(self.base + "/sso/usp.do", params={"action": "editPwd"},
                        allow_redirects=True, timeout=10)
        return 'name="oldpassword"' in r.text

    def grant(self, name, app):
        self.admin.ok("POST", "users/%s/roles" % self.users[name],
                      {"app": app, "rolecode": "clerk"})

    def withdraw(self, name, app):
        self.admin.ok("DELETE", "users/%s/roles/%s/clerk" % (self.users[name], app))

    # ---- refreshes re-check the user's role in a closed app ----

    def test_commnetauth_refresh_after_the_role_was_withdrawn_is_refused_and_revoked(self):
        self.grant("role11", "comm11")
        b = self.login("role11")
        r = b.get(self.base + "/sso/usp.do", params={"action": "ssoLogin",
                                                     "servicecode": "comm11"},
                  allow_redirects=False, timeout=10)
        self.assertEqual(r.status_code, 302, r.text[:300])
        ticket = query_of(r.headers["Location"])["ticket"]
        auth = self.comm.json("ticketValidation", st=ticket)
        self.assertEqual(auth["result"], "0", auth)
        tokens = self.comm.json("getToken", authcode=auth["authcode"])
        self.assertEqual(tokens["result"], "0", tokens)
        refreshed = self.comm.json("refAccessToken", refreshtoken=tokens["refreshtoken"])
        self.assertEqual(refreshed["result"], "0", refreshed)

        self.withdraw("role11", "comm11")
        refused = self.comm.json("refAccessToken", refreshtoken=tokens["refreshtoken"])
        self.assertEqual(refused["result"], "3202", refused)
        # Revoked, not only refused: the role given back does not revive the
        # refresh token, nor the access token it had issued.
        self.grant("role11", "comm11")
        again = self.comm.json("refAccessToken", refreshtoken=tokens["refreshtoken"])
        self.assertEqual(again["result"], "3202", again)
        info = self.comm.json("getUserInfo", accesstoken=refreshed["accesstoken"])
        self.assertEqual(info["result"], "3502", info)
        # The user's SSO session itself lives on.
        self.assertTrue(self.logged_in(b))

    def test_oidc_refresh_after_the_role_was_withdrawn_is_invalid_grant(self):
        self.grant("oidc11", "rp11")
        b = self.login("oidc11")
        r = b.get(self.issuer + "/authorize", params={
            "response_type": "code", "client_id": "rp11", "redirect_uri": CB,
            "scope": "openid"}, allow_redirects=False, timeout=10)
        self.assertEqual(r.status_code, 302, r.text[:300])
        code = query_of(r.headers["Location"])["code"]
        r = requests.post(self.issuer + "/token", auth=("rp11", self.rp),
                          data={"grant_type": "authorization_code", "code": code,
                                "redirect_uri": CB}, timeout=10)
        self.assertEqual(r.status_code, 200, r.text)
        tokens = r.json()
        r = requests.post(self.issuer + "/token", auth=("rp11", self.rp),
                          data={"grant_type": "refresh_token",
                                "refresh_token": tokens["refresh_token"]}, timeout=10)
        self.assertEqual(r.status_code, 200, r.text)
        rotated = r.json()

        self.withdraw("oidc11", "rp11")
        r = requests.post(self.issuer + "/token", auth=("rp11", self.rp),
                          data={"grant_type": "refresh_token",
                                "refresh_token": rotated["refresh_token"]}, timeout=10)
        self.assertEqual(r.status_code, 400, r.text)
        self.assertEqual(r.json()["error"], "invalid_grant")
        r = requests.get(self.issuer + "/userinfo", timeout=10,
                         headers={"Authorization": "Bearer " + rotated["access_token"]})
        self.assertEqual(r.status_code, 401, r.text)

    # ---- every path that sets a password (or disables) ends the sessions ----

    def upsert(self, csv_text):
        r = self.admin.send("POST", "users/import?mode=upsert", data=csv_text.encode("utf-8"),
                            headers={"Content-Type": "text/csv; charset=utf-8"})
        self.assertEqual(r.status_code, 200, r.text)
        self.assertEqual(r.json()["modified"], 1, r.text)

    def test_an_upsert_import_that_sets_a_password_ends_every_session(self):
        intruder = self.login("imp11")
        self.assertTrue(self.logged_in(intruder))
        self.upsert("loginname,username,orgcoding,loginpwd\nimp11,测试imp11,001,Sec11-New-1\n")
        self.assertFalse(self.logged_in(intruder))
        self.login("imp11", "Sec11-New-1")
        ended = self.admin.ok("GET", "audit", event="user_sessions_ended", size=100)["items"]
        self.assertTrue(any(e.get("userid") == self.users["imp11"] and
                            "password_reset" in e.get("detail", "") for e in ended), ended)

    def test_an_upsert_import_that_disables_a_user_ends_every_session(self):
        b = self.login("off11")
        self.upsert("loginname,username,orgcoding,useable\noff11,测试off11,001,2\n")
        self.assertFalse(self.logged_in(b))

    def test_an_upsert_import_that_keeps_the_password_leaves_the_sessions(self):
        b = self.login("keep11")
        self.upsert("loginname,username,orgcoding,loginpwd\nkeep11,改名keep11,001,\n")
        self.assertTrue(self.logged_in(b))

    def test_synchronize_user_setting_a_password_ends_every_session(self):
        intruder = self.login("sync11")
        r = self.writer.json("synchronizeUser", args=json.dumps({
            "userid": self.users["sync11"], "loginpwd": "Sec11-Sync-1"}))
        self.assertEqual(r["result"], "0", r)
        self.assertEqual(r["operation"], "modify", r)
        self.assertFalse(self.logged_in(intruder))
        self.login("sync11", "Sec11-Sync-1")

    # Session 12 (review11's open medium): many apps sync every field every
    # time, the password too; re-sending the user's own password must not log
    # the user out everywhere.
    def test_synchronize_user_resending_the_same_password_keeps_the_sessions(self):
        b = self.login("same11")
        for _ in range(2):
            r = self.writer.json("synchronizeUser", args=json.dumps({
                "userid": self.users["same11"], "loginpwd": PASSWORD, "usertitle": "科员"}))
            self.assertEqual(r["result"], "0", r)
            self.assertEqual(r["operation"], "modify", r)
        self.assertTrue(self.logged_in(b))
        ended = self.admin.ok("GET", "audit", event="user_sessions_ended", size=100)["items"]
        self.assertFalse(any(e.get("userid") == self.users["same11"] for e in ended), ended)
        # A different one still ends them.
        r = self.writer.json("synchronizeUser", args=json.dumps({
            "userid": self.users["same11"], "loginpwd": "Sec12-Other-1"}))
        self.assertEqual(r["result"], "0", r)
        self.assertFalse(self.logged_in(b))

    def test_an_upsert_import_resending_the_same_password_keeps_the_sessions(self):
        b = self.login("resend11")
        self.upsert("loginname,username,orgcoding,loginpwd\nresend11,测试resend11,001,%s\n"
                    % PASSWORD)
        self.assertTrue(self.logged_in(b))
        self.login("resend11")


if __name__ == "__main__":
    main()
