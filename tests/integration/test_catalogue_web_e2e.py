"""The catalogue pages (web/catalogue, /catalogue/) in a real browser against
the real binary: web/catalogue/e2e/catalogue.e2e.mjs drives headless Chromium
through apply → approve (fewer fields) → query (masked) → a field outside the
grant refused → revoke → refused, as the demo's 民政局 user and 公安局 provider.
Screenshots go to build/test-artifacts/catalogue-web (or $TONGBAN_ARTIFACTS).
Skipped when the app is not built (scripts/build-web.sh) or node/chromium are
missing, unless CI=true, where that is a failure."""
import json
import os
import re
import shutil
import subprocess
import tempfile
import unittest

from tongban_harness import TongbanServer, main

SOURCE_DIR = os.path.abspath(os.environ.get("TONGBAN_SOURCE_DIR") or
                             os.path.join(os.path.dirname(__file__), "..", ".."))
APP_DIR = os.path.join(SOURCE_DIR, "web", "catalogue")
CHROMIUM = "/usr/bin/chromium"
NODE = shutil.which("node")
ACCOUNT_RE = re.compile(r"catalogue (\w+) \(org (\S+)\): login=(\S+) password=(\S+)")


def missing_pieces():
    missing = []
    if not os.path.isfile(os.path.join(APP_DIR, "dist", "index.html")):
        missing.append("web/catalogue/dist (run scripts/build-web.sh)")
    if not os.path.isdir(os.path.join(APP_DIR, "node_modules", "playwright-core")):
        missing.append("web/catalogue/node_modules (run scripts/build-web.sh)")
    if not NODE:
        missing.append("node")
    if not os.path.exists(CHROMIUM):
        missing.append(CHROMIUM)
    return missing


MISSING = missing_pieces()
IN_CI = os.environ.get("CI") == "true"


@unittest.skipIf(MISSING and not IN_CI, "catalogue web e2e needs: " + ", ".join(MISSING))
class CatalogueWebInChromiumTest(unittest.TestCase):
    def setUp(self):
        self.assertEqual(MISSING, [], "CI=true but the catalogue web e2e is missing pieces")
        self.tmp = tempfile.mkdtemp(prefix="tongban-catalogue-web-")
        self.addCleanup(shutil.rmtree, self.tmp, True)
        config = os.path.join(self.tmp, "tongban.toml")
        with open(config, "w", encoding="utf-8") as f:
            f.write("[catalogue]\nweb_dir = %s\n" % json.dumps(os.path.join(APP_DIR, "dist")))
        self.server = TongbanServer("--config", config).start()
        self.addCleanup(self.server.cleanup)

    def test_apply_approve_query_revoke_refused(self):
        accounts = {}
        for line in self.server.stdout_lines:
            m = ACCOUNT_RE.search(line)
            if m:
                accounts[m.group(1)] = (m.group(3), m.group(4))
        artifacts = (os.environ.get("TONGBAN_ARTIFACTS") or
                     os.path.join(SOURCE_DIR, "build", "test-artifacts", "catalogue-web"))
        env = dict(os.environ, BASE_URL=self.server.base_url, ARTIFACTS=artifacts,
                   USER_LOGIN=accounts["user"][0], USER_PASSWORD=accounts["user"][1],
                   PROVIDER_LOGIN=accounts["provider"][0],
                   PROVIDER_PASSWORD=accounts["provider"][1])
        proc = subprocess.run([NODE, os.path.join(APP_DIR, "e2e", "catalogue.e2e.mjs")],
                              cwd=APP_DIR, env=env, capture_output=True, text=True, timeout=300)
        print(proc.stdout, end="")
        self.assertEqual(proc.returncode, 0, "catalogue.e2e.mjs failed:\n%s\n%s\nserver log:\n%s" % (
            proc.stdout, proc.stderr, self.server.read_log()[-4000:]))
        self.assertTrue(os.path.isfile(os.path.join(artifacts, "07-refused.png")))


if __name__ == "__main__":
    main()
