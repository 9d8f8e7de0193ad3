"""TOTP enrolment in a real browser: headless Chromium at a phone's width logs
in to an app that requires a second factor, sees the enrolment page with the
server-rendered QR code (an SVG that fits the screen and passes the page's
CSP), types the authenticator's code, keeps the recovery codes, continues to
the app, which gets a ticket that validates; the next login asks for a code.
Skipped when chromium is not installed."""
import json
import os
import unittest
import urllib.parse

from signed_client import SignedClient, create_app
import test_sso_login_browser as login_browser
from test_sso_mfa import totp
from tongban_harness import TongbanServer, main, run_admin

PASSWORD = "Mfa-Passw0rd"


@unittest.skipUnless(login_browser.CHROMIUM, "chromium is not installed")
class TotpEnrolmentInChromiumTest(unittest.TestCase):
    navigate = login_browser.LoginPageInChromiumTest.navigate
    wait_for = login_browser.LoginPageInChromiumTest.wait_for
    js = login_browser.LoginPageInChromiumTest.js
    console_problems = login_browser.LoginPageInChromiumTest.console_problems

    @classmethod
    def setUpClass(cls):
        cls.server = TongbanServer(admin_second_factor=True).start()
        cls.app = login_browser.CallbackApp()
        cls.pwd = create_app(cls.server.data_dir, "strict", "--callback", cls.app.base + "/cb",
                             "--callback", cls.app.base + "/", "--open-to-all")
        run_admin(cls.server.data_dir, "app", "second-factor", "strict", "--required", "true")
        path = os.path.join(cls.server.data_dir, "users.csv")
        with open(path, "w", encoding="utf-8") as f:
            f.write("loginname,username,orgcoding,loginpwd\nalice,李丽,001001,%s\n" % PASSWORD)
        run_admin(cls.server.data_dir, "user", "import", path)

    @classmethod
    def tearDownClass(cls):
        cls.app.close()
        cls.server.cleanup()

    def setUp(self):
        self.browser = login_browser.Chromium()
        target = self.browser.send("Target.createTarget", url="about:blank")["targetId"]
        self.tab = self.browser.send("Target.attachToTarget", targetId=target,
                                     flatten=True)["sessionId"]
        for domain in ("Page.enable", "Runtime.enable", "Log.enable"):
            self.browser.send(domain, self.tab)

    def tearDown(self):
        self.browser.close()

    def submit(self, fields):
        script = "".join("document.getElementById(%s).value = %s;" % (json.dumps(k), json.dumps(v))
                         for k, v in fields.items())
        self.js(script + "document.querySelector('button[type=submit]').click(); true")

    def test_enrol_with_the_qr_page_then_log_in_with_a_code(self):
        self.navigate(self.server.url("/sso/usp.do?action=ssoLogin&servicecode=strict"))
        self.submit({"loginname": "alice", "password": PASSWORD})
        self.wait_for("document.readyState == 'complete' && "
                      "document.title.startsWith('绑定身份验证器')")
        # The QR code is drawn: a visible SVG of a scannable size that fits the phone.
        box = self.js("(() => { const r = document.querySelector('.qr svg')"
                      ".getBoundingClientRect(); return [r.width, r.height]; })()")
        self.assertGreaterEqual(box[0], 120)
        self.assertEqual(box[0], box[1])
        self.assertLessEqual(self.js("document.documentElement.scrollWidth"),
                             self.js("window.innerWidth"))
        self.assertEqual(self.js("document.cookie"), "")  # TBMFA is HttpOnly
        secret = self.js("document.getElementById('totp-secret').innerText")
        self.assertRegex(secret, r"^[A-Z2-7]{32}$")
        self.submit({"code": totp(secret)})
        self.wait_for("document.readyState == 'complete' && !!document.getElementById('continue')")
        codes = self.js("[...document.querySelectorAll('.recovery-codes code')]"
                        ".map(e => e.innerText)")
        self.assertEqual(len(codes), 10)
        self.js("document.getElementById('continue').click(); true")
        hits = self.app.wait_for_hit()
        self.assertEqual(len(hits), 1, hits)
        ticket = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(hits[0]).query))["ticket"]
        easy = SignedClient(self.server.base_url, "strict", self.pwd, "/sso/servlet/simpleauth")
        v = easy.json("ticketValidation", st=ticket)
        self.assertEqual((v["result"], v["loginname"]), ("0", "alice"))
        self.assertEqual(self.console_problems(), [])

        # Log out; the next login asks for a code after the password.
        self.navigate(self.server.url("/sso/usp.do?action=logout"))
        self.navigate(self.server.url("/sso/usp.do?action=ssoLogin&servicecode=strict"))
        self.submit({"loginname": "alice", "password": PASSWORD})
        self.wait_for("document.readyState == 'complete' && "
                      "document.title.startsWith('双因素认证')")
        self.assertEqual(self.js("document.getElementById('code').autocomplete"), "one-time-code")
        self.submit({"code": codes[0]})
        with self.app.cond:
            self.app.cond.wait_for(lambda: len(self.app.hits) >= 2, 30)
        self.assertEqual(len(self.app.hits), 2)
        self.assertEqual(self.console_problems(), [])


if __name__ == "__main__":
    main()
