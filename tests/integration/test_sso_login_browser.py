"""The login page in a real browser: headless Chromium, driven over the
DevTools protocol (on a pipe, so no extra Python packages), loads the page at
a phone's width, types the credentials, presses 登录, and lands on the app's
callback with a ticket that validates. Skipped when chromium is not
installed (Debian package `chromium`)."""
import http.server
import json
import os
import select
import shutil
import subprocess
import tempfile
import threading
import time
import unittest
import urllib.parse

from signed_client import SignedClient, create_app, demo_credentials
from tongban_harness import TongbanServer, main, run_admin

CHROMIUM = next((p for p in ("/usr/lib/chromium/chromium", shutil.which("chromium"),
                              shutil.which("chromium-browser")) if p and os.path.exists(p)), None)
PASSWORD = "Alice-Passw0rd"


class CallbackApp:
    """The app's ticket callback: records what the browser brought."""

    def __init__(self):
        self.hits = []
        self.cond = threading.Condition()
        app = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                with app.cond:
                    if self.path.startswith("/cb"):
                        app.hits.append(self.path)
                    app.cond.notify_all()
                body = "<!DOCTYPE html><title>app</title><p>app home</p>".encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/html;charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    @property
    def base(self):
        return "http://127.0.0.1:%d" % self.httpd.server_address[1]

    def wait_for_hit(self, timeout=30):
        with self.cond:
            self.cond.wait_for(lambda: self.hits, timeout)
            return list(self.hits)

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


class Chromium:
    """Headless Chromium with the DevTools protocol on fds 3 and 4."""

    def __init__(self):
        self.profile = tempfile.mkdtemp(prefix="tongban-chromium-")
        to_browser_r, self.to_browser = os.pipe()
        self.from_browser, from_browser_w = os.pipe()

        def fds():
            # Chromium reads commands on fd 3 and writes on fd 4. Move both ends
            # out of the way first, so that neither dup2 clobbers the other.
            r = os.dup(to_browser_r) if to_browser_r < 5 else to_browser_r
            w = os.dup(from_browser_w) if from_browser_w < 5 else from_browser_w
            r = os.dup(r) if r < 5 else r
            w = os.dup(w) if w < 5 else w
            os.dup2(r, 3)
            os.dup2(w, 4)
            os.set_inheritable(3, True)
            os.set_inheritable(4, True)

        # close_fds=False: the fds 3 and 4 made in fds() must survive exec.
        self.proc = subprocess.Popen(
            [CHROMIUM, "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             "--disable-quic",
             "--disable-dev-shm-usage", "--remote-debugging-pipe", "--window-size=390,844",
             "--user-data-dir=" + self.profile, "about:blank"],
            close_fds=False, preexec_fn=fds,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(to_browser_r)
        os.close(from_browser_w)
        self.buf = b""
        self.next_id = 0
        self.events = []

    def send(self, method, session=None, **params):
        self.next_id += 1
        msg = {"id": self.next_id, "method": method, "params": params}
        if session:
            msg["sessionId"] = session
        os.write(self.to_browser, json.dumps(msg).encode() + b"\0")
        want = self.next_id
        while True:
            reply = self.read()
            if reply.get("id") == want:
                if "error" in reply:
                    raise AssertionError("%s failed: %s" % (method, reply["error"]))
                return reply.get("result", {})
            self.events.append(reply)

    def read(self, timeout=30):
        deadline = time.monotonic() + timeout
        while b"\0" not in self.buf:
            left = deadline - time.monotonic()
            ready, _, _ = select.select([self.from_browser], [], [], max(left, 0))
            if not ready:
                raise AssertionError("chromium did not answer")
            chunk = os.read(self.from_browser, 65536)
            if not chunk:
                raise AssertionError("chromium went away")
            self.buf += chunk
        message, self.buf = self.buf.split(b"\0", 1)
        return json.loads(message)

    def wait_event(self, method, timeout=30):
        deadline = time.monotonic() + timeout
        while True:
            for i, e in enumerate(self.events):
                if e.get("method") == method:
                    return self.events.pop(i)
            self.events.append(self.read(max(deadline - time.monotonic(), 0.1)))

    def close(self):
        try:
            os.write(self.to_browser, json.dumps({"id": 0, "method": "Browser.close"}).encode()
                     + b"\0")
            self.proc.wait(timeout=10)
        except Exception:
            self.proc.kill()
            self.proc.wait()
        os.close(self.to_browser)
        os.close(self.from_browser)
        shutil.rmtree(self.profile, ignore_errors=True)


@unittest.skipUnless(CHROMIUM, "chromium is not installed")
class LoginPageInChromiumTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = TongbanServer().start()
        cls.app = CallbackApp()
        cls.pwd = create_app(cls.server.data_dir, "webapp", "--callback", cls.app.base + "/cb",
                             "--callback", cls.app.base + "/", "--open-to-all")
        path = os.path.join(cls.server.data_dir, "users.csv")
        with open(path, "w", encoding="utf-8") as f:
            f.write("loginname,username,orgcoding,loginpwd\nalice,李丽,001001,%s\n" % PASSWORD)
        run_admin(cls.server.data_dir, "user", "import", path)

    @classmethod
    def tearDownClass(cls):
        cls.app.close()
        cls.server.cleanup()

    def setUp(self):
        self.browser = Chromium()
        target = self.browser.send("Target.createTarget", url="about:blank")["targetId"]
        self.tab = self.browser.send("Target.attachToTarget", targetId=target,
                                     flatten=True)["sessionId"]
        for domain in ("Page.enable", "Runtime.enable", "Log.enable"):
            self.browser.send(domain, self.tab)

    def tearDown(self):
        self.browser.close()

    def navigate(self, url, timeout=30):
        # A load event of the page before (the app's callback, still loading)
        # may arrive after this navigation starts, so wait for this page's own
        # state rather than for the next load event.
        self.browser.send("Page.navigate", self.tab, url=url)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            state = self.js("[document.readyState, location.href]")
            if state and state[0] == "complete" and state[1] == url:
                return
            time.sleep(0.05)  # polling a condition with a deadline, not a fixed wait
        raise AssertionError("page %s did not finish loading" % url)

    def wait_for(self, expression, timeout=30):
        """Polls a JavaScript condition until it holds; returns its value."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = self.js(expression)
            if value:
                return value
            time.sleep(0.05)
        raise AssertionError("never true: " + expression)

    def js(self, expression):
        result = self.browser.send("Runtime.evaluate", self.tab, expression=expression,
                                   returnByValue=True, awaitPromise=True)
        return result["result"].get("value")

    def console_problems(self):
        return [e["params"]["entry"]["text"] for e in self.browser.events
                if e.get("method") == "Log.entryAdded"
                and e["params"]["entry"]["level"] in ("error", "warning")]

    def test_a_user_logs_in_with_a_phone_sized_browser_and_the_app_gets_a_ticket(self):
        goto = self.app.base + "/home?x=1"
        self.navigate(self.server.url("/sso/usp.do?action=ssoLogin&servicecode=webapp&goto=" +
                                      urllib.parse.quote(goto, safe="")))
        self.assertEqual(self.js("document.title"), "用户登录 - 统一身份认证")
        # Fits a 390 px screen: no horizontal scrolling, a full-width login button.
        self.assertLessEqual(self.js("document.documentElement.scrollWidth"),
                             self.js("window.innerWidth"))
        self.assertGreater(self.js("document.querySelector('button').offsetWidth"), 300)
        self.assertEqual(self.js("document.cookie"), "")  # TBCSRF is HttpOnly
        self.assertEqual(self.console_problems(), [])  # e.g. no CSP refusal of our own styles

        self.js("document.getElementById('loginname').value = 'alice';"
                "document.getElementById('password').value = %s;"
                "document.querySelector('button[type=submit]').click(); true"
                % json.dumps(PASSWORD))
        hits = self.app.wait_for_hit()
        self.assertEqual(len(hits), 1, hits)
        query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(hits[0]).query))
        self.assertEqual(query["sp"], goto)
        easy = SignedClient(self.server.base_url, "webapp", self.pwd, "/sso/servlet/simpleauth")
        v = easy.json("ticketValidation", st=query["ticket"])
        self.assertEqual((v["result"], v["loginname"]), ("0", "alice"))

        # The session cookie works in the browser: the launcher greets the user.
        self.navigate(self.server.url("/sso/usp.do?action=index"))
        self.assertIn("李丽", self.js("document.body.innerText"))
        self.assertEqual(self.console_problems(), [])

    def test_a_wrong_password_shows_the_error_in_the_page(self):
        self.navigate(self.server.url("/sso/usp.do?action=ssoLogin&servicecode=webapp"))
        self.js("document.getElementById('loginname').value = 'alice';"
                "document.getElementById('password').value = 'Wrong-passw0rd';"
                "document.querySelector('button[type=submit]').click(); true")
        alert = self.wait_for("document.readyState == 'complete' && "
                              "document.querySelector('[role=alert]') && "
                              "document.querySelector('[role=alert]').innerText")
        self.assertEqual(alert, "用户名或密码错误")
        self.assertEqual(self.js("document.getElementById('loginname').value"), "alice")


if __name__ == "__main__":
    main()
