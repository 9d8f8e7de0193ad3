"""Findings of the session-10 attack review (docs/security.md "Review of
session 10"), against the real binary:

- an OIDC authorization code redeemed after its SSO session ended gave
  tokens (and a rotating refresh token) that no logout would ever end;
- a password change in the personal centre, or an administrator's reset,
  left every other session of the account (the intruder's) alive;
- a deeply nested JSON body (1 MiB of '[') crashed the server in any handler
  that copies or serialises the body (a payer's self-entry: any account)."""
import re
import unittest
import urllib.parse

import requests

from approval_fixture import Client, admin_login, browser_login
from payment_fixture import API as PAYMENT_API, payment_login
from signed_client import create_app
from tongban_harness import TongbanServer, main

CB = "http://127.0.0.1:9/rp10/cb"


def query_of(url):
    return dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query))


class SecurityReview10(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = TongbanServer().start()
        try:
            cls.base = cls.server.base_url
            cls.issuer = cls.base + "/sso/oidc"
            cls.rp = create_app(cls.server.data_dir, "rp10", "--protocols", "oidc",
                                "--open-to-all", "--callback", CB)
            cls.admin = admin_login(cls.server)
            cls.users = {}
            for name in ("oidc10", "pwd10", "reset10", "payer10"):
                created = cls.admin.ok("POST", "users", {
                    "loginname": name, "username": "测试" + name, "orgcoding": "001",
                    "password": "Sec10-Pass-1"})
                cls.users[name] = created["user"]["userid"]
        except BaseException:
            cls.server.cleanup()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.server.cleanup()

    def login(self, name, password="Sec10-Pass-1"):
        b = browser_login(self.base, name, password)
        self.addCleanup(b.close)
        return b

    def logged_in(self, browser):
        """Whether the browser's SSO session is alive (the personal centre
        answers its page, not the login page)."""
        r = browser.get(self.base + "/sso/usp.do", params={"action": "editPwd"},
                        allow_redirects=True, timeout=10)
        return 'name="oldpassword"' in r.text

    # ---- OIDC: a code outliving its session ----

    def test_a_code_redeemed_after_its_session_ended_gives_no_tokens(self):
        b = self.login("oidc10")
        r = b.get(self.issuer + "/authorize", params={
            "response_type": "code", "client_id": "rp10", "redirect_uri": CB,
            "scope": "openid", "state": "s10"}, allow_redirects=False, timeout=10)
        self.assertEqual(r.status_code, 302, r.text[:300])
        code = query_of(r.headers["Location"])["code"]
        # The user logs out before the app redeems the code.
        b.get(self.base + "/sso/usp.do", params={"action": "logout"}, timeout=10)
        self.assertFalse(self.logged_in(b))
        r = requests.post(self.issuer + "/token", auth=("rp10", self.rp),
                          data={"grant_type": "authorization_code", "code": code,
                                "redirect_uri": CB}, timeout=10)
        self.assertEqual(r.status_code, 400, r.text)
        self.assertEqual(r.json()["error"], "invalid_grant")

    def test_a_code_of_a_live_session_still_gives_tokens_that_logout_ends(self):
        b = self.login("oidc10")
        r = b.get(self.issuer + "/authorize", params={
            "response_type": "code", "client_id": "rp10", "redirect_uri": CB,
            "scope": "openid"}, allow_redirects=False, timeout=10)
        code = query_of(r.headers["Location"])["code"]
        r = requests.post(self.issuer + "/token", auth=("rp10", self.rp),
                          data={"grant_type": "authorization_code", "code": code,
                                "redirect_uri": CB}, timeout=10)
        self.assertEqual(r.status_code, 200, r.text)
        tokens = r.json()
        b.get(self.base + "/sso/usp.do", params={"action": "logout"}, timeout=10)
        r = requests.post(self.issuer + "/token", auth=("rp10", self.rp),
                          data={"grant_type": "refresh_token",
                                "refresh_token": tokens["refresh_token"]}, timeout=10)
        self.assertEqual(r.status_code, 400, r.text)

    # ---- passwords: the other sessions end ----

    def change_password(self, browser, old, new):
        page = browser.get(self.base + "/sso/usp.do", params={"action": "editPwd"}, timeout=10)
        csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
        return browser.post(self.base + "/sso/usp.do", data={
            "action": "editPwd", "csrf": csrf, "oldpassword": old, "newpassword": new,
            "confirmpassword": new}, timeout=10)

    def test_changing_ones_password_ends_the_other_sessions_only(self):
        intruder = self.login("pwd10")
        owner = self.login("pwd10")
        self.assertTrue(self.logged_in(intruder))
        r = self.change_password(owner, "Sec10-Pass-1", "Sec10-Pass-2")
        self.assertEqual(r.status_code, 200, r.text[:500])
        self.assertIn("密码已修改", r.text)
        self.assertTrue(self.logged_in(owner))
        self.assertFalse(self.logged_in(intruder))
        ended = self.admin.ok("GET", "audit", event="user_sessions_ended", size=100)["items"]
        self.assertTrue(any(e.get("userid") == self.users["pwd10"] and
                            "password_changed" in e.get("detail", "") for e in ended), ended)

    def test_an_administrators_password_reset_ends_every_session(self):
        intruder = self.login("reset10")
        self.assertTrue(self.logged_in(intruder))
        self.admin.ok("POST", "users/%s/reset-password" % self.users["reset10"],
                      {"password": "Sec10-Reset-9"})
        self.assertFalse(self.logged_in(intruder))
        self.login("reset10", "Sec10-Reset-9")

    # ---- a deeply nested JSON body ----

    def test_a_deeply_nested_json_body_is_refused_and_the_server_lives(self):
        payer = Client(self.base, payment_login(self.base, "payer10", "Sec10-Pass-1"),
                       PAYMENT_API, me_path="payer/me")
        depth = 400_000
        body = '{"entercode":"000368","payer":' + "[" * depth + "]" * depth + "}"
        r = payer.b.post(self.base + PAYMENT_API + "payer/entries", data=body,
                         headers={"Content-Type": "application/json",
                                  "X-CSRF-Token": payer.csrf}, timeout=30)
        self.assertEqual(r.status_code, 400, r.text[:300])
        self.assertEqual(requests.get(self.base + "/livez", timeout=10).status_code, 200)
        # Ordinary nesting is still read.
        r = payer.send("POST", "payer/entries", {"entercode": "000368",
                                                 "payer": {"name": "x"}, "lines": []})
        self.assertNotEqual(r.status_code, 500, r.text)


if __name__ == "__main__":
    main()
