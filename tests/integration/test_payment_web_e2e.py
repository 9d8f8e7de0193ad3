"""The payment console (web/payment, /payment/) and the hall's payer pages
(web/hall, /hall/#/pay) in headless Chromium against the real binary, with
`tongban paysim` as the channel: web/payment/e2e/payment.e2e.mjs issues a
notice in the console, pays it as a payer on a phone through the channel's
page, follows it to 已缴 and its receipt, imports a batch (a bad row refused
by line, then a good one) and reconciles today's statement. Screenshots go to
build/test-artifacts/payment-web (or $TONGBAN_ARTIFACTS).

Skipped when the apps are not built (scripts/build-web.sh) or node/chromium
are missing, unless CI=true, where that is a failure."""
import os
import shutil
import subprocess
import unittest

from payment_fixture import CLERK_RE, Paysim, write_config
from tongban_harness import TongbanServer, main

SOURCE_DIR = os.path.abspath(os.environ.get("TONGBAN_SOURCE_DIR") or
                             os.path.join(os.path.dirname(__file__), "..", ".."))
CONSOLE_DIR = os.path.join(SOURCE_DIR, "web", "payment")
HALL_DIR = os.path.join(SOURCE_DIR, "web", "hall")
CHROMIUM = "/usr/bin/chromium"
NODE = shutil.which("node")


def missing_pieces():
    missing = []
    for app_dir in (CONSOLE_DIR, HALL_DIR):
        name = os.path.relpath(app_dir, SOURCE_DIR)
        if not os.path.isfile(os.path.join(app_dir, "dist", "index.html")):
            missing.append("%s/dist (run scripts/build-web.sh)" % name)
    if not os.path.isdir(os.path.join(CONSOLE_DIR, "node_modules", "playwright-core")):
        missing.append("web/payment/node_modules (run scripts/build-web.sh)")
    if not NODE:
        missing.append("node")
    if not os.path.exists(CHROMIUM):
        missing.append(CHROMIUM)
    return missing


MISSING = missing_pieces()
IN_CI = os.environ.get("CI") == "true"


def artifacts_dir():
    return os.path.join(os.environ.get("TONGBAN_ARTIFACTS") or
                        os.path.join(SOURCE_DIR, "build", "test-artifacts"), "payment-web")


@unittest.skipIf(MISSING and not IN_CI, "payment web e2e needs: " + ", ".join(MISSING))
class PaymentWebInChromiumTest(unittest.TestCase):
    def setUp(self):
        self.assertEqual(MISSING, [], "CI=true but the payment web e2e is missing pieces")
        self.paysim = Paysim()
        self.addCleanup(self.paysim.stop)
        config = write_config(self.paysim)
        self.addCleanup(os.unlink, config)
        self.server = TongbanServer("--config", config).start()
        self.addCleanup(self.server.cleanup)

    def test_issue_pay_import_and_reconcile_in_the_browser(self):
        found = [m for m in (CLERK_RE.search(l) for l in self.server.stdout_lines) if m]
        self.assertTrue(found, self.server.stdout_lines)
        env = dict(os.environ, BASE_URL=self.server.base_url, ARTIFACTS=artifacts_dir(),
                   CLERK=found[0].group(1), PASSWORD=found[0].group(2))
        proc = subprocess.run([NODE, os.path.join(CONSOLE_DIR, "e2e", "payment.e2e.mjs")],
                              cwd=CONSOLE_DIR, env=env, capture_output=True, text=True,
                              timeout=300)
        print(proc.stdout, end="")
        self.assertEqual(proc.returncode, 0, "payment.e2e.mjs failed:\n%s\n%s\nserver log:\n%s" % (
            proc.stdout, proc.stderr, self.server.read_log()[-4000:]))
        for name in ("02-issue-notice.png", "04-hall-pay.png"):
            self.assertTrue(os.path.isfile(os.path.join(artifacts_dir(), name)), name)


if __name__ == "__main__":
    main()
