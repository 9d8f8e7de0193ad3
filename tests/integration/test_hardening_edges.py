"""Issue 12, items 9 and 10 against the real binary: form bodies in GBK, bad
bytes answered with a result code, multipart calls; URLs that a spoofed Host
header cannot move; HSTS behind an https public URL; formula cells defused in
the user export; lost audit rows showing in /healthz and, with
audit.required, refusing logins; connections capped per client address (an
IPv6 client as its /64)."""
import csv
import io
import json
import os
import re
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import unittest
import urllib.parse

import requests

from signed_client import SignedClient, create_app, demo_credentials
from tongban_harness import TongbanServer, main

ORGANDUSER = "/sso/servlet/organduser"
EASY = "/sso/servlet/simpleauth"
ADMIN_RE = re.compile(r"admin user:\s+admin / (\S+)")
FORMULA = "=cmd|' /C calc'!A0"


def admin_password(server):
    for line in server.stdout_lines:
        m = ADMIN_RE.search(line)
        if m:
            return m.group(1)
    raise AssertionError("no admin password in %r" % server.stdout_lines)


def write_config(directory, text):
    path = os.path.join(directory, "tongban.toml")
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    return path


def raw_get(port, path, host="127.0.0.1", source="127.0.0.1"):
    """One GET on a fresh socket from `source`; (socket, status)."""
    s = socket.create_connection((host, port), timeout=10, source_address=(source, 0))
    s.sendall(("GET %s HTTP/1.1\r\nHost: t\r\n\r\n" % path).encode())
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = s.recv(4096)
        if not chunk:
            return s, 0
        head += chunk
    return s, int(head.split(b" ", 2)[1])


class WireEncodingTest(unittest.TestCase):
    """GBK forms, bad bytes and multipart on the signed interfaces."""

    @classmethod
    def setUpClass(cls):
        cls.server = TongbanServer().start()
        cls.writer = SignedClient(cls.server.base_url, "gbkapp", create_app(
            cls.server.data_dir, "gbkapp", "--directory-write", "--org-scope", "001"))

    @classmethod
    def tearDownClass(cls):
        cls.server.cleanup()

    def post_gbk(self, **params):
        fields = dict(self.writer.auth(), datatype="json", **params)
        body = urllib.parse.urlencode(fields, encoding="gbk")
        return requests.post(self.writer.url, data=body.encode("ascii"), timeout=30, headers={
            "Content-Type": "application/x-www-form-urlencoded; charset=GBK"})

    def test_gbk_form_with_a_chinese_username_is_decoded(self):
        args = json.dumps({"loginname": "gbk_zhang", "username": "张三丰", "orgcoding": "001001",
                           "loginpwd": "Gbk-Passw0rd"}, ensure_ascii=False)
        r = self.post_gbk(method="synchronizeUser", args=args)
        self.assertEqual(r.status_code, 200, r.text)
        self.assertEqual(r.json()["result"], "0", r.text)
        found = self.writer.json("getUserByLoginname", loginname="gbk_zhang")
        self.assertEqual(found["result"], "0", found)
        self.assertEqual(found["username"], "张三丰")

    def test_invalid_utf8_gets_a_result_code_not_an_http_400(self):
        fields = dict(self.writer.auth(), method="getUserByLoginname", datatype="json")
        body = urllib.parse.urlencode(fields) + "&loginname=%D5%C5"  # GBK bytes, no charset
        r = requests.post(self.writer.url, data=body, timeout=30, headers={
            "Content-Type": "application/x-www-form-urlencoded"})
        self.assertEqual(r.status_code, 200, r.text)
        reply = r.json()
        self.assertEqual(reply["result"], "9908", reply)
        self.assertIn("loginname", reply["errmsg"])

    def test_bad_gbk_bytes_get_a_result_code_in_xml_by_default(self):
        fields = dict(self.writer.auth(), method="getUserByLoginname")
        body = urllib.parse.urlencode(fields) + "&loginname=%D5"
        r = requests.post(self.writer.url, data=body, timeout=30, headers={
            "Content-Type": "application/x-www-form-urlencoded; charset=gbk"})
        self.assertEqual(r.status_code, 200, r.text)
        self.assertIn("<result>9908</result>", r.text)

    def test_multipart_form_data_call_is_read(self):
        fields = dict(self.writer.auth(), method="getUserByLoginname", loginname="admin",
                      datatype="json")
        r = requests.post(self.writer.url, files={k: (None, v) for k, v in fields.items()},
                          timeout=30)
        self.assertEqual(r.status_code, 200, r.text)
        self.assertTrue(r.request.headers["Content-Type"].startswith("multipart/form-data"))
        self.assertEqual(r.json()["result"], "0", r.text)
        self.assertEqual(r.json()["loginname"], "admin")

    def test_other_routes_still_answer_unreadable_parameters_with_400(self):
        r = requests.get(self.server.url("/sso/usp.do?action=ssoLogin&goto=%FF"), timeout=10)
        self.assertEqual(r.status_code, 400)


class PublicUrlTest(unittest.TestCase):
    """Without public_url, URLs are made of the bind address and port."""

    @classmethod
    def setUpClass(cls):
        cls.server = TongbanServer().start()

    @classmethod
    def tearDownClass(cls):
        cls.server.cleanup()

    def test_spoofed_host_does_not_move_the_issuer(self):
        r = requests.get(self.server.url("/sso/oidc/.well-known/openid-configuration"),
                         headers={"Host": "evil.example"}, timeout=10)
        self.assertEqual(r.status_code, 200, r.text)
        doc = r.json()
        self.assertTrue(doc["issuer"].startswith(self.server.base_url), doc["issuer"])
        self.assertNotIn("evil.example", json.dumps(doc))

    def test_spoofed_host_does_not_move_cas_redirects_or_the_wsdl(self):
        r = requests.get(self.server.url("/sso/cas/login"),
                         params={"service": "http://127.0.0.1/app/"},
                         headers={"Host": "evil.example"}, allow_redirects=False, timeout=10)
        self.assertNotIn("evil.example", r.headers.get("Location", "") + r.text)
        wsdl = requests.get(self.server.url("/sso/service/OrgAndUserService?wsdl"),
                            headers={"Host": "evil.example"}, timeout=10)
        self.assertEqual(wsdl.status_code, 200)
        self.assertNotIn("evil.example", wsdl.text)
        self.assertIn(self.server.base_url, wsdl.text)

    def test_no_hsts_over_plain_http(self):
        r = requests.get(self.server.url("/livez"), timeout=10)
        self.assertNotIn("Strict-Transport-Security", r.headers)


class HstsTest(unittest.TestCase):
    def test_https_public_url_sends_strict_transport_security(self):
        with TongbanServer("--public-url", "https://sso.example.gov.cn") as server:
            r = requests.get(server.url("/livez"), timeout=10)
            self.assertEqual(r.headers.get("Strict-Transport-Security"), "max-age=31536000")
            doc = requests.get(server.url("/sso/oidc/.well-known/openid-configuration"),
                               timeout=10).json()
            self.assertTrue(doc["issuer"].startswith("https://sso.example.gov.cn"))


class UserExportTest(unittest.TestCase):
    def test_user_export_defuses_formula_cells(self):
        with TongbanServer() as server:
            writer = SignedClient(server.base_url, "csvapp", create_app(
                server.data_dir, "csvapp", "--directory-write", "--org-scope", "001"))
            reply = writer.json("synchronizeUser", args=json.dumps({
                "loginname": "formula_user", "username": "公式", "orgcoding": "001001",
                "loginpwd": "Csv-Passw0rd", "usertitle": FORMULA, "officeaddress": "+1 street",
                "telephone": "-5"}))
            self.assertEqual(reply["result"], "0", reply)
            browser = requests.Session()
            page = browser.get(server.url("/sso/usp.do?action=ssoLogin"))
            csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
            r = browser.post(server.url("/sso/usp.do"), data={
                "action": "ssoLogin", "csrf": csrf, "loginname": "admin",
                "password": admin_password(server)}, allow_redirects=False)
            self.assertEqual(r.status_code, 302, r.text[:300])
            r = browser.get(server.url("/sso/admin/api/users/export"))
            self.assertEqual(r.status_code, 200, r.text[:300])
            rows = {row["loginname"]: row
                    for row in csv.DictReader(io.StringIO(r.content.decode("utf-8")))}
            row = rows["formula_user"]
            self.assertEqual(row["usertitle"], "'" + FORMULA)
            self.assertEqual(row["officeaddress"], "'+1 street")
            self.assertEqual(row["telephone"], "'-5")
            for value in row.values():
                self.assertFalse(value[:1] in ("=", "+", "-", "@"), row)


class AuditFailureTest(unittest.TestCase):
    """The audit table refuses rows (as a full disk does) via a trigger that
    raises SQLite's own error; the server's real INSERT path fails."""

    def break_audit(self, server):
        db = sqlite3.connect(os.path.join(server.data_dir, "tongban.db"), timeout=30)
        db.execute("CREATE TRIGGER audit_full BEFORE INSERT ON sso_audit "
                   "BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END")
        db.commit()
        db.close()

    def mend_audit(self, server):
        db = sqlite3.connect(os.path.join(server.data_dir, "tongban.db"), timeout=30)
        db.execute("DROP TRIGGER audit_full")
        db.commit()
        db.close()

    def login(self, server):
        code, pwd = demo_credentials(server)
        c = SignedClient(server.base_url, code, pwd, path=EASY)
        return c.json("idValidation", loginname="admin", password=admin_password(server),
                      encryptiontype="1")

    def test_lost_audit_rows_degrade_healthz_and_logins_go_on(self):
        with TongbanServer() as server:
            self.assertEqual(requests.get(server.url("/healthz")).json()["status"], "ok")
            self.break_audit(server)
            self.assertEqual(self.login(server)["result"], "0")
            r = requests.get(server.url("/healthz"), timeout=10)
            self.assertEqual(r.status_code, 200)  # still serving logins
            self.assertEqual(r.json()["status"], "degraded", r.text)
            self.assertIn("full", r.json()["audit"])
            self.assertGreaterEqual(r.json()["audit_rows_lost"], 1)
            self.mend_audit(server)
            self.assertEqual(self.login(server)["result"], "0")
            self.assertEqual(requests.get(server.url("/healthz")).json()["status"], "ok")

    def test_audit_required_refuses_logins_it_cannot_record(self):
        directory = tempfile.mkdtemp(prefix="tongban-it-audit-")
        config = write_config(directory, "[audit]\nrequired = true\n")
        with TongbanServer("--config", config) as server:
            self.assertEqual(self.login(server)["result"], "0")
            self.break_audit(server)
            reply = self.login(server)
            self.assertNotEqual(reply["result"], "0", reply)
            self.assertNotIn("token", reply)
            r = requests.get(server.url("/healthz"), timeout=10)
            self.assertEqual(r.status_code, 503)
            self.assertEqual(r.json()["status"], "degraded")
            self.mend_audit(server)
            self.assertEqual(self.login(server)["result"], "0")
        os.unlink(config)
        os.rmdir(directory)


class ConnectionCapTest(unittest.TestCase):
    def test_one_address_is_capped_while_another_is_served(self):
        directory = tempfile.mkdtemp(prefix="tongban-it-caps-")
        config = write_config(directory, "[server]\nmax_connections_per_ip = 3\n")
        with TongbanServer("--config", config) as server:
            port = int(server.base_url.rsplit(":", 1)[1])
            held = []
            for _ in range(3):
                s, status = raw_get(port, "/livez", source="127.0.0.2")
                held.append(s)
                self.assertEqual(status, 200)
            extra, status = raw_get(port, "/livez", source="127.0.0.2")
            held.append(extra)
            self.assertEqual(status, 503)
            other, status = raw_get(port, "/livez", source="127.0.0.1")
            held.append(other)
            self.assertEqual(status, 200)
            for s in held:
                s.close()
        os.unlink(config)
        os.rmdir(directory)

    def test_every_address_of_one_ipv6_slash64_counts_as_one_client(self):
        # Addresses of a /64 besides ::1 need a network of the test's own: the
        # test runs itself again in a user and network namespace.
        if os.environ.get("TONGBAN_IT_NETNS") != "1":
            if shutil.which("unshare") is None or shutil.which("ip") is None:
                self.skipTest("needs unshare and ip")
            if subprocess.run(["unshare", "-rn", "true"], capture_output=True).returncode != 0:
                self.skipTest("no user and network namespace here")
            name = "ConnectionCapTest.test_every_address_of_one_ipv6_slash64_counts_as_one_client"
            proc = subprocess.run(["unshare", "-rn", sys.executable, os.path.abspath(__file__),
                                   name], env=dict(os.environ, TONGBAN_IT_NETNS="1"),
                                  capture_output=True, text=True, timeout=300)
            self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)
            return
        subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
        sources = ["2001:db8::%x" % (0x101 + i) for i in range(4)] + ["2001:db8:0:1::1"]
        for source in sources:
            subprocess.run(["ip", "-6", "addr", "add", source + "/128", "dev", "lo", "nodad"],
                           check=True)
        directory = tempfile.mkdtemp(prefix="tongban-it-caps6-")
        config = write_config(directory, "[server]\nmax_connections_per_ip = 3\n")
        server = TongbanServer("--config", config)
        server.args[server.args.index("--bind") + 1] = "::"
        with server:
            self.assertTrue(server.base_url.startswith("http://[::]:"), server.base_url)
            port = int(server.base_url.rsplit(":", 1)[1])
            held = []
            for source in sources[:3]:
                s, status = raw_get(port, "/livez", host="::1", source=source)
                held.append(s)
                self.assertEqual(status, 200)
            # A fourth address of the same /64 is the same client.
            extra, status = raw_get(port, "/livez", host="::1", source=sources[3])
            held.append(extra)
            self.assertEqual(status, 503)
            # The next /64 is another client.
            other, status = raw_get(port, "/livez", host="::1", source=sources[4])
            held.append(other)
            self.assertEqual(status, 200)
            for s in held:
                s.close()
        os.unlink(config)
        os.rmdir(directory)


if __name__ == "__main__":
    main()
