"""Session 17's review of running tongban for real (review17b, docs/security.md
"Review of session 17"), each through the real binary:

- F1: what the server writes (data dir, SQLite database and its WAL) is private
  to its user whatever the umask; a database left open to others is made private.
- F2: a node whose master key file is missing, or holds another key, refuses to
  start over a database sealed with the cluster's key (instead of making a new
  key and sealing data no other node can open).
- F4: refused logins under a lockout write one audit row, not one per post.
- F4 too: `tongban admin audit prune --older-than-days N` (N >= 180).
- F6: one `serve` per SQLite data dir.
- F7: the database URL (with its password) can come from the environment, and a
  password given on the command line is blanked in the process's argv.
"""
import os
import re
import shutil
import sqlite3
import stat
import tempfile
import time
import unittest

import requests

from tongban_harness import TongbanServer, run_admin


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def start_fails(server):
    """Starts `server`, which must refuse; returns its log."""
    try:
        server.start()
    except RuntimeError as e:
        return str(e)
    server.stop()
    raise AssertionError("the server started")


class PrivateFilesTest(unittest.TestCase):
    def test_what_the_server_writes_is_private_whatever_the_umask(self):
        base = tempfile.mkdtemp(prefix="tongban-r17-")
        old = os.umask(0o022)
        try:
            data = os.path.join(base, "var")
            os.mkdir(data)
            with TongbanServer(data_dir=data):
                for path in (os.path.join(data, "tongban.db"),
                             os.path.join(data, "tongban.db-wal"),
                             os.path.join(data, "secret.key"),
                             os.path.join(data, "approval-files"),
                             os.path.join(data, "exchange-transfers")):
                    self.assertEqual(mode(path) & 0o077, 0, "%s is %o" % (path, mode(path)))
            # What an older version left open to others is made private: the
            # database, and the data dir's directories (review17c).
            os.chmod(os.path.join(data, "tongban.db"), 0o644)
            os.chmod(os.path.join(data, "approval-files"), 0o755)
            os.chmod(os.path.join(data, "exchange-transfers"), 0o755)
            os.chmod(os.path.join(data, "exchange-transfers", "inbox"), 0o755)
            with TongbanServer(data_dir=data):
                for name in ("tongban.db", "tongban.db-wal", "approval-files",
                             "exchange-transfers", "exchange-transfers/inbox"):
                    path = os.path.join(data, name)
                    self.assertEqual(mode(path) & 0o077, 0, "%s is %o" % (path, mode(path)))
        finally:
            os.umask(old)
            shutil.rmtree(base, ignore_errors=True)


class MasterKeyTest(unittest.TestCase):
    def test_a_missing_or_other_key_refuses_to_start_over_a_sealed_database(self):
        base = tempfile.mkdtemp(prefix="tongban-r17-")
        try:
            data = os.path.join(base, "var")
            os.mkdir(data)
            first = TongbanServer(data_dir=data).start()
            first.stop()
            key = os.path.join(data, "secret.key")
            moved = os.path.join(base, "etc", "secret.key")
            os.makedirs(os.path.dirname(moved))
            shutil.copy(key, moved)

            def with_key(path):
                config = os.path.join(base, "key.toml")
                with open(config, "w") as f:
                    f.write('[storage]\nsecret_key_file = "%s"\n' % path)
                return TongbanServer("--config", config, data_dir=data)

            # A typo in the moved key's path: no new key is made over the data.
            typo = os.path.join(base, "etc", "secret-key")
            log = start_fails(with_key(typo))
            self.assertIn("is missing", log)
            self.assertFalse(os.path.exists(typo))
            # Another cluster's key (or a fresh one): refused too.
            other = os.path.join(base, "etc", "other.key")
            with open(other, "w") as f:
                f.write(os.urandom(32).hex() + "\n")
            os.chmod(other, 0o600)
            log = start_fails(with_key(other))
            self.assertIn("not the key this database was sealed with", log)
            # The right key, wherever it lives, starts.
            server = with_key(moved).start()
            self.assertEqual(requests.get(server.url("/healthz"), timeout=10).status_code, 200)
            server.stop()
            # A database from before the check (no record yet) records a key only
            # if it opens the app secrets already sealed (review17c: a node that
            # had made itself a wrong key before the upgrade is not recorded).
            db = sqlite3.connect(os.path.join(data, "tongban.db"))
            with db:
                db.execute("DELETE FROM dir_settings WHERE name = 'master_key_check'")
            db.close()
            log = start_fails(with_key(other))
            self.assertIn("does not open the app secrets this database holds", log)
            db = sqlite3.connect(os.path.join(data, "tongban.db"))
            with db:
                db.execute("DELETE FROM dir_settings WHERE name = 'master_key_check'")
            db.close()
            with_key(moved).start().stop()
            db = sqlite3.connect(os.path.join(data, "tongban.db"))
            recorded = db.execute(
                "SELECT COUNT(*) FROM dir_settings WHERE name = 'master_key_check'").fetchone()
            db.close()
            self.assertEqual(recorded, (1,))
            log = start_fails(with_key(other))
            self.assertIn("not the key this database was sealed with", log)
        finally:
            shutil.rmtree(base, ignore_errors=True)


class LockoutAuditTest(unittest.TestCase):
    def test_refusals_under_a_lockout_write_one_audit_row(self):
        with TongbanServer() as server:
            db_path = os.path.join(server.data_dir, "tongban.db")

            def refused_rows():
                db = sqlite3.connect("file:%s?mode=ro" % db_path, uri=True, timeout=10)
                try:
                    return db.execute(
                        "SELECT COUNT(*) FROM sso_audit WHERE event = 'login_refused'").fetchone()[0]
                finally:
                    db.close()

            browser = requests.Session()
            page = browser.get(server.url("/sso/usp.do?action=ssoLogin"), timeout=10)
            csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
            form = {"action": "ssoLogin", "csrf": csrf, "password": "x"}
            status = None
            for i in range(21):  # 20 accounts: this address's own limit
                form["loginname"] = "guess%d" % i
                status = browser.post(server.url("/sso/usp.do"), data=form,
                                      allow_redirects=False, timeout=10).status_code
            self.assertEqual(status, 429)
            before = refused_rows()
            for i in range(40):
                form["loginname"] = "nobody%d" % i
                r = browser.post(server.url("/sso/usp.do"), data=form, allow_redirects=False,
                                 timeout=10)
                self.assertEqual(r.status_code, 429)
            # Rows are written before the answer: all 40 are counted by now.
            self.assertLessEqual(refused_rows() - before, 1)
            self.assertGreaterEqual(refused_rows(), 1)


class AuditRetentionTest(unittest.TestCase):
    def test_prune_deletes_only_events_past_the_kept_days(self):
        with TongbanServer() as server:
            db_path = os.path.join(server.data_dir, "tongban.db")
            now_ms = int(time.time() * 1000)
            db = sqlite3.connect(db_path, timeout=10)
            with db:
                db.executemany(
                    "INSERT INTO sso_audit (at_ms, event, userid, loginname, servicecode, ip, "
                    "detail) VALUES (?, 'login_failed', '', 'old', '', '127.0.0.1', '')",
                    [(now_ms - (400 + i % 3) * 86_400_000,) for i in range(25_000)])
                db.execute(
                    "INSERT INTO sso_audit (at_ms, event, userid, loginname, servicecode, ip, "
                    "detail) VALUES (?, 'login_failed', '', 'recent', '', '127.0.0.1', '')",
                    (now_ms - 179 * 86_400_000,))
            kept_before = db.execute(
                "SELECT COUNT(*) FROM sso_audit WHERE loginname <> 'old'").fetchone()[0]
            db.close()
            refused = run_admin(server.data_dir, "audit", "prune", "--older-than-days", "30",
                                check=False)
            self.assertNotEqual(refused.returncode, 0)
            done = run_admin(server.data_dir, "audit", "prune", "--older-than-days", "180")
            self.assertIn("deleted 25000 events older than 180 days", done.stdout)
            db = sqlite3.connect(db_path, timeout=10)
            self.assertEqual(db.execute(
                "SELECT COUNT(*) FROM sso_audit WHERE loginname = 'old'").fetchone()[0], 0)
            self.assertEqual(db.execute(
                "SELECT COUNT(*) FROM sso_audit WHERE loginname = 'recent'").fetchone()[0], 1)
            # Everything newer stays (and the prune itself is audited as an admin command).
            self.assertGreaterEqual(db.execute(
                "SELECT COUNT(*) FROM sso_audit WHERE loginname <> 'old'").fetchone()[0],
                kept_before)
            db.close()


class OneServerPerDataDirTest(unittest.TestCase):
    def test_a_second_server_on_the_same_sqlite_data_dir_is_refused(self):
        with TongbanServer() as first:
            second = TongbanServer(data_dir=first.data_dir)
            log = start_fails(second)
            self.assertIn("another tongban serve (pid %d)" % first.proc.pid, log)
            self.assertEqual(requests.get(first.url("/healthz"), timeout=10).status_code, 200)
            # Nor through another data dir naming the same database (review17c).
            other_dir = tempfile.mkdtemp(prefix="tongban-r17-")
            try:
                config = os.path.join(other_dir, "same-db.toml")
                with open(config, "w") as f:
                    f.write('[storage]\nsecret_key_file = "%s"\n' %
                            os.path.join(first.data_dir, "secret.key"))
                log = start_fails(TongbanServer(
                    "--config", config, "--db",
                    "sqlite://" + os.path.join(first.data_dir, "tongban.db"),
                    data_dir=other_dir))
                self.assertIn("uses the SQLite database", log)
            finally:
                shutil.rmtree(other_dir, ignore_errors=True)
            first.kill()  # the kernel drops the lock with the process
            again = TongbanServer(data_dir=first.data_dir).start()
            again.stop()


class ArgvTest(unittest.TestCase):
    def test_a_password_on_the_command_line_is_blanked_once_parsed(self):
        import stores
        missing = stores.missing_binaries()
        if missing:
            self.skipTest(missing)
        redis = stores.PrivateRedis().start()
        # '#' and '?' are taken inside a password by the URL parser (review17c).
        secret = "S3cret#Redis?Pw-17"
        try:
            with TongbanServer("--tickets", "redis://default:%s@127.0.0.1:%d" %
                               (secret, redis.port)) as server:
                # The password still works (the store connected with it) ...
                self.assertEqual(requests.get(server.url("/healthz"), timeout=10).status_code, 200)
                # ... but no other local user can read it any more.
                with open("/proc/%d/cmdline" % server.proc.pid, "rb") as f:
                    cmdline = f.read().decode("utf-8", "replace")
                self.assertNotIn(secret, cmdline)
                self.assertIn("redis://default:" + "*" * len(secret) + "@", cmdline)
                self.assertIn("a password was given on the command line", server.read_log())
        finally:
            redis.close()


class RollbackTest(unittest.TestCase):
    def test_a_database_migrated_by_a_newer_version_is_named_at_start(self):
        with TongbanServer() as server:
            data = server.data_dir
            server.stop()
            db = sqlite3.connect(os.path.join(data, "tongban.db"))
            columns = [r[1] for r in db.execute("PRAGMA table_info(schema_migrations)")]
            row = {"module": "sso_audit", "version": 99, "applied_at": 0}
            with db:
                db.execute("INSERT INTO schema_migrations (%s) VALUES (%s)" % (
                    ", ".join(c for c in columns if c in row),
                    ", ".join("?" for c in columns if c in row)),
                    [row[c] for c in columns if c in row])
            db.close()
            again = TongbanServer(data_dir=data).start()
            again.stop()
            self.assertIn("database schema sso_audit is at v99, newer than this tongban knows",
                          again.read_log())


class EnvironmentTest(unittest.TestCase):
    def test_the_database_url_can_come_from_the_environment(self):
        base = tempfile.mkdtemp(prefix="tongban-r17-")
        try:
            elsewhere = os.path.join(base, "db", "elsewhere.db")
            os.makedirs(os.path.dirname(elsewhere))
            data = os.path.join(base, "var")
            os.mkdir(data)
            server = TongbanServer(data_dir=data,
                                   env={"TONGBAN_DATABASE_URL": "sqlite://" + elsewhere})
            server.start()
            server.stop()
            self.assertTrue(os.path.exists(elsewhere))
            self.assertFalse(os.path.exists(os.path.join(data, "tongban.db")))
        finally:
            shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    unittest.main()
