"""The approval workbench (web/approval, /approval/) and the public hall
(web/hall, /hall/) in a real browser against the real binary: the flow of
issue 15. web/approval/e2e/workbench.e2e.mjs drives headless Chromium through
the staff's day (matter with three steps, a case registered from the keyboard
with an uploaded PDF, acceptance, three handlers agreeing with a 常用意见, a
refusal and a correction with their PDF notices, a user without a role who
sees nothing and gets 403, supervision and statistics); then
web/hall/e2e/hall.e2e.mjs on a phone screen (guide, lookup with a wrong and
the right password, the 好差评 rating, an online application). Screenshots of
every step go to build/test-artifacts/approval-web/{workbench,hall} (or
$TONGBAN_ARTIFACTS).

Skipped when the apps are not built (scripts/build-web.sh) or node/chromium
are missing, unless CI=true, where that is a failure."""
import json
import os
import shutil
import subprocess
import tempfile
import time
import unittest

from signed_client import create_app
from tongban_harness import TongbanServer, main, run_admin

SOURCE_DIR = os.path.abspath(os.environ.get("TONGBAN_SOURCE_DIR") or
                             os.path.join(os.path.dirname(__file__), "..", ".."))
WORKBENCH_DIR = os.path.join(SOURCE_DIR, "web", "approval")
HALL_DIR = os.path.join(SOURCE_DIR, "web", "hall")
CHROMIUM = "/usr/bin/chromium"
NODE = shutil.which("node")

# The config that makes the binary serve the two apps. ASSUMED key names: the
# server side is wired by the approval API's work (docs/configuration.md).
WEB_CONFIG = "[approval]\nworkbench_dir = %s\nhall_dir = %s\n"

APP = "approval"
ORG = "001001"                       # a demo org of a fresh data dir
DIVISION = "110105"
# 实施编码: the implementing body's USCC (18) + 1 + the 12-character 基本编码.
IMPLEMENT_CODE = "91350100M000100Y43" + "1" + "000117009000"
PASSWORD = "Appr0val-e2e-Pass"
USERS = [  # loginname, name, approval roles
    ("e2e_clerk", "收件员甲", ["intake"]),
    ("e2e_acceptor", "受理员乙", ["accept"]),
    ("e2e_h1", "承办人丙", ["undertake"]),
    ("e2e_h2", "审核人丁", ["review"]),
    ("e2e_h3", "批准人戊", ["approve"]),
    ("e2e_manager", "监察员己", ["matters", "supervise"]),
    ("e2e_nobody", "无角色庚", []),
    ("e2e_citizen", "申请人辛", []),
]
ROLES = {"intake": "收件", "accept": "受理", "undertake": "承办", "review": "审核",
         "approve": "批准", "supervise": "监察", "matters": "事项管理"}


def missing_pieces():
    missing = []
    for app_dir in (WORKBENCH_DIR, HALL_DIR):
        name = os.path.relpath(app_dir, SOURCE_DIR)
        if not os.path.isfile(os.path.join(app_dir, "dist", "index.html")):
            missing.append("%s/dist (run scripts/build-web.sh)" % name)
        if not os.path.isdir(os.path.join(app_dir, "node_modules", "playwright-core")):
            missing.append("%s/node_modules (run scripts/build-web.sh)" % name)
    if not NODE:
        missing.append("node")
    if not os.path.exists(CHROMIUM):
        missing.append(CHROMIUM)
    return missing


MISSING = missing_pieces()
IN_CI = os.environ.get("CI") == "true"


def artifacts_dir():
    return (os.environ.get("TONGBAN_ARTIFACTS") or
            os.path.join(SOURCE_DIR, "build", "test-artifacts", "approval-web"))


def minimal_pdf(text):
    """A one-page PDF with a valid xref table, as a scanner would give."""
    stream = "BT /F1 18 Tf 72 720 Td (%s) Tj ET" % text
    objects = [
        "<< /Type /Catalog /Pages 2 0 R >>",
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        "/Resources << /Font << /F1 5 0 R >> >> >>",
        "<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = b"%PDF-1.4\n"
    offsets = []
    for n, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += ("%d 0 obj\n%s\nendobj\n" % (n, body)).encode("latin-1")
    xref = len(out)
    out += ("xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)).encode()
    for off in offsets:
        out += ("%010d 00000 n \n" % off).encode()
    out += ("trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" %
            (len(objects) + 1, xref)).encode()
    return out


@unittest.skipIf(MISSING and not IN_CI, "approval web e2e needs: " + ", ".join(MISSING))
class ApprovalWebInChromiumTest(unittest.TestCase):
    def setUp(self):
        self.assertEqual(MISSING, [], "CI=true but the approval web e2e is missing pieces")
        self.tmp = tempfile.mkdtemp(prefix="tongban-approval-web-")
        self.addCleanup(shutil.rmtree, self.tmp, True)
        config = os.path.join(self.tmp, "tongban.toml")
        with open(config, "w", encoding="utf-8") as f:
            f.write(WEB_CONFIG % (json.dumps(os.path.join(WORKBENCH_DIR, "dist")),
                                  json.dumps(os.path.join(HALL_DIR, "dist"))))
        self.server = TongbanServer("--config", config).start()
        self.addCleanup(self.server.cleanup)
        self.make_staff()

    def make_staff(self):
        """The users of the flow, each with the approval roles of USERS."""
        data = self.server.data_dir
        if APP not in run_admin(data, "app", "list").stdout:
            create_app(data, APP)
        for code, name in ROLES.items():
            run_admin(data, "role", "save", "--app", APP, "--code", code, "--name", name)
        csv_path = os.path.join(self.tmp, "users.csv")
        with open(csv_path, "w", encoding="utf-8") as f:
            f.write("loginname,username,orgcoding,loginpwd\n")
            for loginname, name, _ in USERS:
                f.write("%s,%s,%s,%s\n" % (loginname, name, ORG, PASSWORD))
        run_admin(data, "user", "import", csv_path)
        for loginname, _, roles in USERS:
            for code in roles:
                run_admin(data, "role", "grant", "--app", APP, "--code", code, "--user", loginname)

    def run_node(self, app_dir, script, env, timeout):
        proc = subprocess.run([NODE, os.path.join(app_dir, "e2e", script)], cwd=app_dir,
                              env=env, capture_output=True, text=True, timeout=timeout)
        print(proc.stdout, end="")
        self.assertEqual(proc.returncode, 0, "%s failed:\n%s\n%s\nserver log:\n%s" % (
            script, proc.stdout, proc.stderr, self.server.read_log()[-4000:]))

    def test_staff_and_applicant_work_through_the_browser(self):
        artifacts = artifacts_dir()
        os.makedirs(artifacts, exist_ok=True)
        pdf = os.path.join(self.tmp, "application.pdf")
        with open(pdf, "wb") as f:
            f.write(minimal_pdf("application form %d" % time.time()))
        case_file = os.path.join(self.tmp, "case.json")
        env = dict(os.environ, BASE_URL=self.server.base_url, PASSWORD=PASSWORD,
                   ARTIFACTS=os.path.join(artifacts, "workbench"), ORG=ORG, DIVISION=DIVISION,
                   IMPLEMENT_CODE=IMPLEMENT_CODE, PDF_FILE=pdf, OUT_FILE=case_file,
                   CLERK="e2e_clerk", ACCEPTOR="e2e_acceptor",
                   HANDLERS="e2e_h1,e2e_h2,e2e_h3", MANAGER="e2e_manager",
                   NOROLE="e2e_nobody")
        self.run_node(WORKBENCH_DIR, "workbench.e2e.mjs", env, 600)

        with open(case_file, encoding="utf-8") as f:
            cases = json.load(f)
        self.assertEqual(len(cases["completed"]["number"]), 43)

        env.update(CASE_FILE=case_file, APPLICANT="e2e_citizen",
                   ARTIFACTS=os.path.join(artifacts, "hall"))
        self.run_node(HALL_DIR, "hall.e2e.mjs", env, 300)
        for name in ("01-guide.png", "05-rating.png"):
            self.assertTrue(os.path.isfile(os.path.join(artifacts, "hall", name)), name)


if __name__ == "__main__":
    main()
