"""The admin web console in a real browser: the real binary serves the built
console (web/admin/dist), and web/admin/e2e/console.e2e.mjs drives headless
Chromium through it (log in through the SSO page, create an org, a user and
an app, import users with a bad row, revoke a live session, retry a dead push),
with a screenshot per step.

Skipped when the console is not built (scripts/build-web.sh) or node/chromium
are missing, unless CI=true, where that is a failure."""
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
import unittest
import zipfile
from xml.sax.saxutils import escape as xml_escape

from push_receiver import PushReceiver, wait_for_outbox
from signed_client import SignedClient, create_app, demo_credentials
from tongban_harness import TongbanServer, main, run_admin

SOURCE_DIR = os.path.abspath(os.environ.get("TONGBAN_SOURCE_DIR") or
                             os.path.join(os.path.dirname(__file__), "..", ".."))
WEB_DIR = os.path.join(SOURCE_DIR, "web", "admin")
DIST_DIR = os.path.join(WEB_DIR, "dist")
E2E_SCRIPT = os.path.join(WEB_DIR, "e2e", "console.e2e.mjs")
CHROMIUM = "/usr/bin/chromium"
NODE = shutil.which("node")
ADMIN_RE = re.compile(r"admin user:\s+(\S+) / (\S+)")
DEAD_APP = "deadpush"
DEAD_ORG = "001900"


def missing_pieces():
    missing = []
    if not os.path.isfile(os.path.join(DIST_DIR, "index.html")):
        missing.append("web/admin/dist (run scripts/build-web.sh)")
    if not os.path.isdir(os.path.join(WEB_DIR, "node_modules", "playwright-core")):
        missing.append("web/admin/node_modules (run scripts/build-web.sh)")
    if not NODE:
        missing.append("node")
    if not os.path.exists(CHROMIUM):
        missing.append(CHROMIUM)
    return missing


MISSING = missing_pieces()
IN_CI = os.environ.get("CI") == "true"


def artifacts_dir():
    return (os.environ.get("TONGBAN_ARTIFACTS") or
            os.path.join(SOURCE_DIR, "build", "test-artifacts", "admin-console"))


def refused(index, form):
    return 503, "Service Unavailable"


@unittest.skipIf(MISSING and not IN_CI, "console e2e needs: " + ", ".join(MISSING))
def write_xlsx(path, rows):
    """A minimal Excel workbook (Office Open XML) of one sheet: text cells as
    inline strings, numbers as numbers, as Excel itself would store a mobile
    number typed into a General cell."""
    def cell(ref, value):
        if isinstance(value, int):
            return '<c r="%s"><v>%d</v></c>' % (ref, value)
        return '<c r="%s" t="inlineStr"><is><t>%s</t></is></c>' % (ref, xml_escape(value))

    sheet_rows = []
    for r, row in enumerate(rows, start=1):
        cells = "".join(cell("%s%d" % (chr(ord("A") + c), r), v) for c, v in enumerate(row))
        sheet_rows.append('<row r="%d">%s</row>' % (r, cells))
    parts = {
        "[Content_Types].xml":
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/'
            'vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" ContentType="application/'
            'vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
            '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/'
            'vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>',
        "_rels/.rels":
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/'
            '2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>',
        "xl/workbook.xml":
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
            'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
            '<sheets><sheet name="users" sheetId="1" r:id="rId1"/></sheets></workbook>',
        "xl/_rels/workbook.xml.rels":
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/'
            '2006/relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>',
        "xl/worksheets/sheet1.xml":
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
            '<sheetData>%s</sheetData></worksheet>' % "".join(sheet_rows),
    }
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, text in parts.items():
            z.writestr(name, text)


class AdminConsoleInChromiumTest(unittest.TestCase):
    def setUp(self):
        self.assertEqual(MISSING, [], "CI=true but the console e2e is missing pieces")
        self.config_dir = tempfile.mkdtemp(prefix="tongban-console-")
        self.addCleanup(shutil.rmtree, self.config_dir, True)
        config = os.path.join(self.config_dir, "tongban.toml")
        with open(config, "w", encoding="utf-8") as f:
            # One failed attempt dead-letters a push, so the test has one to retry.
            f.write("[push]\nmax_attempts = 1\nbase_backoff_s = 1\n\n")
            f.write("[console]\ndir = %s\n" % json.dumps(DIST_DIR))
        self.server = TongbanServer("--config", config).start()
        self.addCleanup(self.server.cleanup)
        self.receiver = PushReceiver(refused)
        self.addCleanup(self.receiver.close)

    def admin_credentials(self):
        for line in self.server.stdout_lines:
            m = ADMIN_RE.search(line)
            if m:
                return m.group(1), m.group(2)
        raise AssertionError("no demo admin in %r" % self.server.stdout_lines)

    def make_dead_push(self):
        """An app whose receiver refuses every push, and one push to it, dead."""
        demo = SignedClient(self.server.base_url, *demo_credentials(self.server))
        org = {"orgcoding": DEAD_ORG, "orgname": "推送死信区"}
        reply = demo.json("synchronizeOrg", args=json.dumps(org, ensure_ascii=False))
        self.assertEqual(reply["result"], "0", reply)
        create_app(self.server.data_dir, DEAD_APP, "--push-url", self.receiver.url,
                   "--org-scope", DEAD_ORG)
        user = {"loginname": "deadletter", "username": "死信", "orgcoding": DEAD_ORG,
                "loginpwd": "Dead-Passw0rd"}
        reply = demo.json("synchronizeUser", args=json.dumps(user, ensure_ascii=False))
        self.assertEqual(reply["result"], "0", reply)
        dead = wait_for_outbox(self.server.data_dir, "dead", DEAD_APP, lambda m: len(m) == 1,
                               timeout=60)
        self.assertEqual(len(dead), 1, "the push to %s never dead-lettered" % DEAD_APP)

    def test_an_admin_works_through_the_console_in_a_browser(self):
        self.make_dead_push()
        attempts_before = len(self.receiver.snapshot())
        admin_user, admin_password = self.admin_credentials()
        artifacts = artifacts_dir()
        os.makedirs(artifacts, exist_ok=True)
        # An Excel sheet as offices keep them: the browser converts it to CSV.
        suffix = str(int(time.time() * 1000) % 100000000)
        xlsx = os.path.join(artifacts, "users.xlsx")
        write_xlsx(xlsx, [["loginname", "username", "orgcoding", "loginpwd", "mobile"],
                          ["xl1_" + suffix, "表格甲", "001001", "Xlsx-Passw0rd1", 13912340001],
                          ["xl2_" + suffix, "表格乙", "001001", "Xlsx-Passw0rd2", 13912340002]])
        env = dict(os.environ, BASE_URL=self.server.base_url, ADMIN_USER=admin_user,
                   ADMIN_PASSWORD=admin_password, ARTIFACTS=artifacts, DEAD_PUSH_APP=DEAD_APP,
                   XLSX_FILE=xlsx)
        proc = subprocess.run([NODE, E2E_SCRIPT], cwd=WEB_DIR, env=env, capture_output=True,
                              text=True, timeout=420)
        print(proc.stdout, end="")
        self.assertEqual(proc.returncode, 0,
                         "console e2e failed:\n%s\n%s\nserver log:\n%s" %
                         (proc.stdout, proc.stderr, self.server.read_log()[-4000:]))
        # The sheet's users arrived with every digit of their mobile numbers.
        for n in (1, 2):
            found = run_admin(self.server.data_dir, "user", "export").stdout
            self.assertIn("xl%d_%s" % (n, suffix), found)
            self.assertIn("1391234000%d" % n, found)
        # The retry clicked in the console really sent the dead push again.
        self.assertTrue(self.receiver.wait_until(lambda p: len(p) > attempts_before),
                        "the retried push never reached the app")


if __name__ == "__main__":
    main()
