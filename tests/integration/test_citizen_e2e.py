"""Citizen self-registration in a real browser (issue 20): the real binary
with [citizen] on and the sandbox SMS channel, and
web/admin/e2e/citizen.e2e.mjs driving headless Chromium: register on a
phone-sized screen (code read from the sandbox file), log in, and a counter
check on the console's 自助账号 page. Screenshots per step.

Skipped when the console is not built or node/chromium are missing, unless
CI=true, where that is a failure."""
import os
import subprocess
import unittest

from test_admin_console_e2e import DIST_DIR, IN_CI, MISSING, NODE, WEB_DIR, SOURCE_DIR
from test_admin_api import Admin, admin_credentials, browser_login
from test_citizen_accounts import resident_id, write_config
from tongban_harness import TongbanServer, main

E2E_SCRIPT = os.path.join(WEB_DIR, "e2e", "citizen.e2e.mjs")


@unittest.skipIf(MISSING and not IN_CI, "citizen e2e needs: " + ", ".join(MISSING))
class CitizenE2eTest(unittest.TestCase):
    def setUp(self):
        self.config = write_config()
        self.addCleanup(os.unlink, self.config)
        self.server = TongbanServer("--config", self.config).start()
        self.addCleanup(self.server.cleanup)

    def test_a_person_registers_in_a_browser_and_a_clerk_raises_the_level(self):
        user, password = admin_credentials(self.server)
        artifacts = os.environ.get("TONGBAN_ARTIFACTS") or os.path.join(
            SOURCE_DIR, "build", "test-artifacts", "citizen")
        os.makedirs(artifacts, exist_ok=True)
        env = dict(os.environ, BASE_URL=self.server.base_url, ADMIN_USER=user,
                   ADMIN_PASSWORD=password, ARTIFACTS=artifacts,
                   SMS_FILE=os.path.join(self.server.data_dir, "sms-sandbox.jsonl"),
                   IDNUM=resident_id(seq="301"))
        proc = subprocess.run([NODE, E2E_SCRIPT], cwd=WEB_DIR, env=env, capture_output=True,
                              text=True, timeout=300)
        print(proc.stdout, end="")
        self.assertEqual(proc.returncode, 0, "citizen e2e failed:\n%s\n%s\nserver log:\n%s" %
                         (proc.stdout, proc.stderr, self.server.read_log()[-4000:]))
        loginname = proc.stdout.strip().splitlines()[-1].split("=", 1)[1]
        # What the browser did is in the database.
        admin = Admin(self.server, browser_login(self.server, user, password))
        accounts = admin.ok("GET", "citizen/accounts", level=2)["items"]
        self.assertIn(loginname, [a["loginname"] for a in accounts])


if __name__ == "__main__":
    main()
