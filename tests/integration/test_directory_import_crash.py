"""kill -9 during `tongban admin user import` (issue 19): every row the CLI
reported as committed is in the database, no row is there in part, and
importing the file again adds exactly the rest. On SQLite and on a private
PostgreSQL (COPY path). Drives the real binary."""
import os
import re
import shutil
import signal
import subprocess
import tempfile
import unittest

import stores
from tongban_harness import BIN, main, run_admin

ROWS = 60000
COMMITTED_RE = re.compile(r"users: (\d+) of ~(\d+) rows, committed: (\d+) added, .* "
                          r"(\d+) rows/s, ETA (\d+) s")


def write_users(path):
    with open(path, "w", encoding="utf-8") as f:
        f.write("loginname,username,orgcoding,loginpwd,mobile\n")
        for i in range(ROWS):
            f.write("imp%06d,用户%d,001001,pw-%d,139%08d\n" % (i, i, i, i))


class ImportCrash:
    def database_args(self):
        return []

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="tongban-import-")
        self.addCleanup(shutil.rmtree, self.dir, True)
        self.args = self.database_args()
        orgs = os.path.join(self.dir, "orgs.csv")
        with open(orgs, "w", encoding="utf-8") as f:
            f.write("orgcoding,orgname\n001,省\n001001,市\n")
        run_admin(self.dir, *self.args, "org", "import", orgs)
        self.users = os.path.join(self.dir, "users.csv")
        write_users(self.users)

    def import_cmd(self):
        return [BIN, "admin", "--data-dir", self.dir, *self.args, "user", "import", "--no-hash",
                self.users]

    def exported_loginnames(self):
        out = run_admin(self.dir, *self.args, "user", "export").stdout
        names = [line.split(",")[1] for line in out.splitlines()[1:] if line]
        return names

    def test_every_reported_row_survives_a_kill_and_a_rerun_adds_the_rest(self):
        proc = subprocess.Popen(self.import_cmd(), stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        reported = 0
        progress_lines = []
        try:
            # Kill as soon as two batches are reported committed: the import is
            # then mid-way (a 5,000-row batch at a time).
            for line in proc.stderr:
                m = COMMITTED_RE.search(line)
                if m:
                    progress_lines.append(line)
                    reported = max(reported, int(m.group(3)))
                    if reported >= 10000:
                        proc.send_signal(signal.SIGKILL)
                        break
        finally:
            if proc.poll() is None:
                proc.kill()
        # Lines written before the kill landed were committed too.
        rest = proc.stderr.read()
        proc.wait()
        proc.stdout.close()
        proc.stderr.close()
        for line in rest.splitlines():
            m = COMMITTED_RE.search(line)
            if m:
                reported = max(reported, int(m.group(3)))
        self.assertEqual(proc.returncode, -signal.SIGKILL,
                         "the import finished before the kill: nothing was tested")
        self.assertGreaterEqual(reported, 10000)
        m = COMMITTED_RE.search(progress_lines[0])
        self.assertEqual(int(m.group(2)), ROWS)  # the total the ETA is computed from

        names = self.exported_loginnames()
        present = set(names)
        self.assertEqual(len(names), len(present))
        # Every reported row is there; rows are committed in file order.
        for i in range(reported):
            self.assertIn("imp%06d" % i, present)
        self.assertLess(len(present), ROWS)

        # The rerun: rows already there fail with 2010, the others are added.
        again = subprocess.run(self.import_cmd(), capture_output=True, text=True, timeout=600)
        self.assertEqual(again.returncode, 2, again.stderr[-2000:])
        self.assertIn("added=%d " % (ROWS - len(present)), again.stdout)
        self.assertIn("failed=%d" % len(present), again.stdout)
        after = self.exported_loginnames()
        self.assertEqual(len(after), ROWS)
        self.assertEqual(len(set(after)), ROWS)
        # Whole rows: every field of a sample made it.
        out = run_admin(self.dir, *self.args, "user", "export").stdout
        self.assertIn("imp000007,用户7,", out)
        self.assertIn("13900059999", out)


class SqliteImportCrashTest(ImportCrash, unittest.TestCase):
    pass


PG_SKIP = stores.missing_binaries()
PG = None


@unittest.skipIf(PG_SKIP is not None, PG_SKIP or "")
class PostgresImportCrashTest(ImportCrash, unittest.TestCase):
    def database_args(self):
        global PG
        if PG is None:
            PG = stores.PrivatePostgres().start()
        return ["--db", PG.new_database_url()]


def tearDownModule():
    if PG is not None:
        PG.close()


if __name__ == "__main__":
    main()
