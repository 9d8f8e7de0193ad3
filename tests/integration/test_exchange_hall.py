"""Hall data (DB51/T 1625) through the real binary. Out: a case's whole lifecycle on the demo
matter (register, accept, 承办, 审核, 批准) lands as stage rows (SPSHENQIN, SPSHOULI, three
SPSHENPI, SPBANJIE) in the hall table of the demo front-end node, once each, also after a
restart. In: a department writes stage rows into the hall table of its own node; the case
appears in the approval subsystem as a reported case; a row the approval intake refuses is
kept with its reason and the rows after it still arrive."""
import os
import re
import sqlite3
import tempfile
import time
import unittest

from approval_fixture import Client, browser_login, registration
from tongban_harness import TongbanServer, main, run_admin

DEMO_NODE = "QZ_330100_91350100M000100Y43"
DEPT_USCC = "91350100M000100Y43"
OTHER_USCC = "91350100M00020001J"  # a department of another org (009, not the demo matter's 001)
CLERK_RE = re.compile(r"approval clerk .*login=(\S+) password=(\S+)")
MATTER_RE = re.compile(r"demo matter: (\S+)")


def wait_for(what, predicate, timeout=30):
    """Polls the outside world (a SQLite file, the API) until `predicate` holds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for " + what)
        time.sleep(0.1)


def rows(path, query):
    if not os.path.exists(path):
        return []
    con = sqlite3.connect(path, timeout=10)
    try:
        return con.execute(query).fetchall()
    except sqlite3.OperationalError:  # the table is not there yet
        return []
    finally:
        con.close()


class ExchangeHallTest(unittest.TestCase):
    def setUp(self):
        self.config = tempfile.NamedTemporaryFile("w", suffix=".toml", delete=False)
        self.dept_node = "QZ_510100_" + DEPT_USCC
        self.other_node = "QZ_510100_" + OTHER_USCC
        self.config.write('[exchange]\nhall_out_node = "%s"\n'
                          'hall_in = ["%s/hall_in@001", "%s/hall_in@009"]\n'
                          "hall_poll_ms = 100\n" % (DEMO_NODE, self.dept_node, self.other_node))
        self.config.close()
        self.addCleanup(os.unlink, self.config.name)
        self.server = TongbanServer("--config", self.config.name).start()
        self.addCleanup(self.server.cleanup)
        out = "\n".join(self.server.stdout_lines)
        login, password = CLERK_RE.search(out).groups()
        self.clerk_login = (login, password)
        self.matter = MATTER_RE.search(out).group(1)
        self.clerk = Client(self.server.base_url,
                            browser_login(self.server.base_url, login, password),
                            "/approval/api/")
        self.demo_db = os.path.join(self.server.data_dir, "exchange-demo-node.db")

    def stage_rows(self, number):
        return rows(self.demo_db, "SELECT stage, sblsh, tongid FROM hall_stage_records "
                                  "WHERE sblsh = '%s' ORDER BY tong_seq" % number)

    def test_a_case_lifecycle_lands_on_the_node(self):
        r = self.clerk.send("POST", "cases", registration(self.matter, materials=[
            {"name": "建设工程规划许可证申请表", "form": "paper", "copies": 1},
            {"name": "建设项目用地权属证明", "form": "paper", "copies": 1}]))
        self.assertEqual(r.status_code, 200, r.text)
        number = r.json()["case"]["number"]
        case = self.clerk.act_ok(number, "accept", opinion="材料齐全，予以受理")
        for _ in range(3):
            case = self.clerk.act_ok(number, "agree", opinion="同意",
                                     expected_revision=case["revision"])
        self.assertEqual(case["state"], "completed")
        expected = ["SPSHENQIN", "SPSHOULI", "SPSHENPI", "SPSHENPI", "SPSHENPI", "SPBANJIE"]
        got = wait_for("six stage rows",
                       lambda: len(self.stage_rows(number)) >= 6 and self.stage_rows(number))
        self.assertEqual([g[0] for g in got], expected)
        detail = rows(self.demo_db, "SELECT sphjdm, sphjmc, noderesult FROM hall_stage_records "
                                    "WHERE sblsh = '%s' AND stage = 'SPSHENPI' ORDER BY tong_seq"
                      % number)
        self.assertEqual(detail, [("1", "承办", "1"), ("2", "审核", "1"), ("3", "批准", "1")])
        done = rows(self.demo_db, "SELECT bjjgdm, sxmc, areacode FROM hall_stage_records "
                                  "WHERE sblsh = '%s' AND stage IN ('SPBANJIE', 'SPSHENQIN') "
                                  "ORDER BY tong_seq" % number)
        self.assertEqual(done[0][1], "建设工程规划许可证核发（演示）")
        self.assertEqual(done[1][0], "6")
        self.assertEqual(done[0][2], "330100000000")
        self.assertEqual(len(set(g[2] for g in got)), 6)  # six distinct tongids
        # After a restart the hall thread delivers again (a new case lands) and nothing of the
        # first case twice (each row is keyed by its outbox message).
        self.server.stop()
        self.server.start()
        clerk = Client(self.server.base_url,
                       browser_login(self.server.base_url, *self.clerk_login), "/approval/api/")
        r = clerk.send("POST", "cases", registration(self.matter, seq=124, materials=[
            {"name": "建设工程规划许可证申请表", "form": "paper", "copies": 1},
            {"name": "建设项目用地权属证明", "form": "paper", "copies": 1}]))
        self.assertEqual(r.status_code, 200, r.text)
        second = r.json()["case"]["number"]
        wait_for("the second case's row", lambda: self.stage_rows(second))
        self.assertEqual(self.stage_rows(number), got)

    def add_department_node(self, dept_code, dept_name, file_name):
        """Registers a department's front-end node (SQLite) as the platform admin; its path."""
        admin_out = "\n".join(self.server.stdout_lines)
        login, password = re.search(r"admin user:\s+(\S+) / (\S+)", admin_out).groups()
        admin = Client(self.server.base_url,
                       browser_login(self.server.base_url, login, password),
                       "/exchange/api/")
        path = os.path.join(self.server.data_dir, file_name)
        admin.ok("POST", "nodes", {"division": "510100", "dept_code": dept_code,
                                   "dept_name": dept_name, "url": "sqlite://" + path})
        return path

    def test_department_rows_become_reported_cases(self):
        dept_db = self.add_department_node(DEPT_USCC, "成都市某局", "dept-hall.db")
        # tongban defines the hall table on the department's node on its next pass.
        wait_for("the hall table on the department's node",
                 lambda: rows(dept_db, "SELECT COUNT(*) FROM hall_in") != [])
        number = self.matter + "20240320" + "0917"
        con = sqlite3.connect(dept_db, timeout=10)
        with con:
            con.execute("INSERT INTO hall_in (tongid, stage, sblsh, sxbm, sxmc, sqrlx, sqrmc, "
                        "sbsj, xzqhdm) VALUES ('r1', 'SPSHENQIN', ?, ?, '部门自建系统办件', '1', "
                        "'李四', '2024-03-20 09:00:00', '330100000000')", (number, self.matter))
            # 受理 refused without the reason DB51 requires: refused by the intake, kept.
            con.execute("INSERT INTO hall_in (tongid, stage, sblsh, slztdm, slsj) VALUES "
                        "('r2', 'SPSHOULI', ?, '2', '2024-03-20 10:00:00')", (number,))
            con.execute("INSERT INTO hall_in (tongid, stage, sblsh, slztdm, slsj) VALUES "
                        "('r3', 'SPSHOULI', ?, '1', '2024-03-20 10:05:00')", (number,))
        con.close()

        def accepted():
            r = self.clerk.get("cases/" + number)
            return r.status_code == 200 and r.json()["state"] == "in_step" and r.json()
        case = wait_for("the reported case, accepted", accepted)
        self.assertTrue(case["reported"])
        self.assertEqual(case["applicant"]["name"], "李四")
        # The reported case goes out again with the platform's own records.
        wait_for("the reported case on the hall target",
                 lambda: [s[0] for s in self.stage_rows(number)] == ["SPSHENQIN", "SPSHOULI"])
        refused = rows(os.path.join(self.server.data_dir, "tongban.db"),
                       "SELECT tongid, reason FROM exchange_hall_refused")
        self.assertEqual([r[0] for r in refused], ["r2"])
        self.assertIn("BSLYY", refused[0][1])
        # The CLI shows the source's counts and the refused row with its reason.
        out = run_admin(self.server.data_dir, "exchange", "hall").stdout
        self.assertRegex(out, r"\n\d+\t\d+\t2\t1\t\n")  # 2 reported, 1 refused, no error
        self.assertRegex(out, r"refused\t\d+\tr2\tv1\t.*BSLYY")

    def test_a_node_reports_only_for_its_own_org(self):
        # The other department's node is bound to org 009; the demo matter is org 001's.
        other_db = self.add_department_node(OTHER_USCC, "成都市另一局", "other-hall.db")
        wait_for("the hall table on the other department's node",
                 lambda: rows(other_db, "SELECT COUNT(*) FROM hall_in") != [])
        number = self.matter + "20240321" + "0001"
        con = sqlite3.connect(other_db, timeout=10)
        with con:
            con.execute("INSERT INTO hall_in (tongid, stage, sblsh, sxbm, sxmc, sqrlx, sqrmc, "
                        "sbsj, xzqhdm) VALUES ('x1', 'SPSHENQIN', ?, ?, '冒报的办件', '1', "
                        "'王五', '2024-03-21 09:00:00', '330100000000')", (number, self.matter))
        con.close()
        db = os.path.join(self.server.data_dir, "tongban.db")
        refused = wait_for("the foreign row refused", lambda: rows(
            db, "SELECT tongid, reason FROM exchange_hall_refused WHERE tongid = 'x1'"))
        self.assertIn("无权报送机构 001", refused[0][1])
        self.assertEqual(self.clerk.get("cases/" + number).status_code, 404)

    def test_an_entry_without_its_org_is_refused_at_start(self):
        bad = tempfile.NamedTemporaryFile("w", suffix=".toml", delete=False)
        bad.write('[exchange]\nhall_in = ["%s/hall_in"]\n' % self.dept_node)
        bad.close()
        self.addCleanup(os.unlink, bad.name)
        out = run_admin(self.server.data_dir, "--config", bad.name, "exchange", "hall", check=False)
        self.assertNotEqual(out.returncode, 0)
        self.assertIn("must name the org it reports for", out.stderr + out.stdout)


if __name__ == "__main__":
    main()
