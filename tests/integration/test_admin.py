"""`tongban admin` against the same data dir a real server uses: app secrets
are shown once and work, imports report bad rows, exports round-trip, and a
reset password logs in through easyAuth."""
import os
import re
import subprocess
import tempfile
import unittest

from signed_client import SignedClient, create_app, demo_credentials
from tongban_harness import BIN, TongbanServer, main, run_admin

EASY = "/sso/servlet/simpleauth"


class AdminTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = TongbanServer().start()
        cls.data_dir = cls.server.data_dir
        cls.demo = demo_credentials(cls.server)

    @classmethod
    def tearDownClass(cls):
        cls.server.cleanup()

    def test_created_app_secret_signs_calls_and_list_never_shows_it(self):
        pwd = create_app(self.data_dir, "adminapp1")
        listing = run_admin(self.data_dir, "app", "list").stdout
        self.assertIn("adminapp1", listing)
        self.assertNotIn(pwd, listing)
        c = SignedClient(self.server.base_url, "adminapp1", pwd)
        self.assertEqual(c.json("getOrgInfo", orgcoding="001")["result"], "0")

    def test_rotated_secret_replaces_the_old_one_at_once(self):
        old = create_app(self.data_dir, "adminapp2")
        out = run_admin(self.data_dir, "app", "rotate-secret", "adminapp2").stdout
        new = re.search(r"servicepwd=(\S+)", out).group(1)
        self.assertNotEqual(old, new)
        # The running server's app cache learns of the change within its TTL;
        # a fresh server on the same data sees it at once (one server per
        # SQLite data dir: the class's server makes way for it, and comes back).
        self.server.stop()
        try:
            with TongbanServer(data_dir=self.data_dir) as other:
                self.assertEqual(SignedClient(other.base_url, "adminapp2", old)
                                 .json("getOrgInfo", orgcoding="001")["result"], "9901")
                self.assertEqual(SignedClient(other.base_url, "adminapp2", new)
                                 .json("getOrgInfo", orgcoding="001")["result"], "0")
        finally:
            self.server.start()

    def test_password_key_is_printed_once_with_24_characters(self):
        create_app(self.data_dir, "adminapp3")
        out = run_admin(self.data_dir, "app", "rotate-password-key", "adminapp3").stdout
        key = re.search(r"password_key=(\S+)", out).group(1)
        self.assertEqual(len(key), 24)
        self.assertNotIn(key, run_admin(self.data_dir, "app", "list").stdout)

    def test_import_reports_bad_rows_and_keeps_good_ones(self):
        with tempfile.NamedTemporaryFile("w", suffix=".csv", delete=False,
                                         encoding="utf-8") as f:
            f.write("loginname,username,orgcoding,loginpwd\n")
            f.write("imp_li,李四,001001,Secret-123\n")
            f.write("imp_bad,王五,999999,Secret-123\n")
            path = f.name
        try:
            proc = run_admin(self.data_dir, "user", "import", path, check=False)
        finally:
            os.unlink(path)
        self.assertEqual(proc.returncode, 2, proc.stdout + proc.stderr)
        self.assertIn("added=1", proc.stdout)
        self.assertIn("failed=1", proc.stdout)
        self.assertRegex(proc.stdout, r"line 3: 2005 ")
        exported = run_admin(self.data_dir, "user", "export").stdout
        self.assertIn("imp_li", exported)
        self.assertIn("李四", exported)
        self.assertNotIn("imp_bad", exported)
        self.assertNotIn("Secret-123", exported)
        self.assertNotIn("argon2id", exported)

    def test_reset_password_lets_the_user_log_in(self):
        run_admin(self.data_dir, "user", "reset-password", "admin", "--password", "N3w-pass!")
        c = SignedClient(self.server.base_url, *self.demo, path=EASY)
        reply = c.json("idValidation", loginname="admin", password="N3w-pass!",
                       encryptiontype="1")
        self.assertEqual(reply["result"], "0", reply)
        self.assertEqual(reply["loginname"], "admin")

    def test_reset_password_of_unknown_user_fails_clearly(self):
        proc = run_admin(self.data_dir, "user", "reset-password", "nobody-here",
                         "--password", "x-Y-z-123", check=False)
        self.assertEqual(proc.returncode, 1)
        self.assertIn("tongban admin:", proc.stderr)

    def test_admin_actions_are_audited_without_secrets(self):
        run_admin(self.data_dir, "user", "reset-password", "admin", "--password", "Aud1t-pass!")
        log = run_admin(self.data_dir, "audit", "list", "--limit", "20").stdout
        self.assertRegex(log, r"\tadmin\t[^\t]*\t\tcli\tuser reset-password admin")
        self.assertNotIn("Aud1t-pass!", log)
        proc = run_admin(self.data_dir, "user", "reset-password", "ghost-user", "--password",
                         "x-Y-z-123", check=False)
        self.assertNotEqual(proc.returncode, 0)
        log = run_admin(self.data_dir, "audit", "list", "--limit", "20").stdout
        self.assertIn("admin_failed", log)
        self.assertIn("user reset-password ghost-user (exit 1)", log)

    def test_migrate_is_idempotent(self):
        for _ in range(2):
            self.assertIn("up to date", run_admin(self.data_dir, "migrate").stdout)

    @staticmethod
    def serve_with_config(text):
        """`tongban serve` with a config file of `text`; the finished process."""
        with tempfile.NamedTemporaryFile("w", suffix=".toml", delete=False) as f:
            f.write(text)
            path = f.name
        try:
            return subprocess.run([BIN, "serve", "--config", path, "--port", "0"],
                                  capture_output=True, text=True, timeout=30)
        finally:
            os.unlink(path)

    def test_bad_config_file_is_refused_with_the_key_named(self):
        proc = self.serve_with_config("[server]\nprot = 1\n")
        self.assertEqual(proc.returncode, 1)
        self.assertIn("prot", proc.stderr)

    def test_negative_size_limit_is_refused_instead_of_lifting_the_limit(self):
        # -1 would wrap to 2^64-1 in the size field: no body limit at all.
        proc = self.serve_with_config("[server]\nmax_body_bytes = -1\n")
        self.assertEqual(proc.returncode, 1)
        self.assertIn("[server] max_body_bytes must be an integer from 0 to", proc.stderr)


if __name__ == "__main__":
    main()
