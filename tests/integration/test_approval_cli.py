"""`tongban admin approval …` on a real data dir: a CSV of two matters is
imported, listed, exported and imported again (every matter gets version 2);
a bad file changes nothing and says where it is wrong."""
import csv
import io
import os
import shutil
import tempfile
import unittest

from tongban_harness import main, run_admin

# Implement codes: a USCC with correct check characters, '3', a basic code.
USCC = "113301000024991243"
CODE_A = USCC + "3" + "000117009000"
CODE_B = USCC + "3" + "000117009001"

HEADER = ("implement_code,name,type,orgcoding,division,legal_limit,legal_unit,"
          "promised_limit,promised_unit,kind,materials,steps\n")
STEPS = ('"[{""code"":""1"",""name"":""承办"",""role"":""undertake"",""limit"":3},'
         '{""code"":""2"",""name"":""批准"",""role"":""approve""}]"')
MATERIALS = '"[{""name"":""申请书"",""form"":""纸质""},{""name"":""身份证明""}]"'


def row(code, name, steps=STEPS):
    return f"{code},{name},行政许可,001,330100,20,工作日,10,工作日,承诺件,{MATERIALS},{steps}\n"


def listing(data_dir, *args):
    """matter-list as {implement_code: (version, name)} and the printed total."""
    out = run_admin(data_dir, "approval", "matter-list", *args).stdout
    lines = out.strip().splitlines()
    assert lines[0].startswith("implement_code\tversion"), out
    total = int(lines[-1].split("=")[1])
    rows = {}
    for line in lines[1:-1]:
        code, version, enabled, org, kind, name = line.split("\t")
        rows[code] = (int(version), name)
    return rows, total


class ApprovalCliTest(unittest.TestCase):
    def setUp(self):
        self.data_dir = tempfile.mkdtemp(prefix="tongban-approval-cli-")

    def tearDown(self):
        shutil.rmtree(self.data_dir, ignore_errors=True)

    def write(self, name, text):
        path = os.path.join(self.data_dir, name)
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        return path

    def test_import_list_export_and_reimport_bumps_versions(self):
        path = self.write("matters.csv", HEADER + row(CODE_A, "甲事项") + row(CODE_B, "乙事项"))
        out = run_admin(self.data_dir, "approval", "matter-import", path).stdout
        self.assertIn("imported 2 matters", out)
        rows, total = listing(self.data_dir)
        self.assertEqual(total, 2)
        self.assertEqual(rows, {CODE_A: (1, "甲事项"), CODE_B: (1, "乙事项")})

        exported = os.path.join(self.data_dir, "export.csv")
        run_admin(self.data_dir, "approval", "matter-export", exported)
        with open(exported, encoding="utf-8") as f:
            table = list(csv.DictReader(f))
        self.assertEqual([r["implement_code"] for r in table], [CODE_A, CODE_B])
        self.assertEqual(table[0]["version"], "1")
        self.assertEqual(table[0]["kind"], "2")
        self.assertIn('"role":"approve"', table[0]["steps"])
        self.assertIn('"form":"paper"', table[0]["materials"])

        out = run_admin(self.data_dir, "approval", "matter-import", exported).stdout
        self.assertIn("imported 2 matters", out)
        rows, total = listing(self.data_dir)
        self.assertEqual(total, 2)
        self.assertEqual(rows, {CODE_A: (2, "甲事项"), CODE_B: (2, "乙事项")})
        # The second export is the first with the version bumped.
        again = run_admin(self.data_dir, "approval", "matter-export", "-").stdout
        second = list(csv.DictReader(io.StringIO(again)))
        for before, after in zip(table, second):
            self.assertEqual(after["version"], "2")
            self.assertEqual({k: v for k, v in before.items() if k != "version"},
                             {k: v for k, v in after.items() if k != "version"})

    def test_a_bad_row_imports_nothing_and_names_line_and_column(self):
        bad_steps = '"[{""code"":""1"",""name"":""承办"",""role"":""clerk""}]"'
        path = self.write("bad.csv",
                          HEADER + row(CODE_A, "甲事项") + row(CODE_B, "乙事项", bad_steps))
        proc = run_admin(self.data_dir, "approval", "matter-import", path, check=False)
        self.assertEqual(proc.returncode, 1, proc.stdout + proc.stderr)
        self.assertIn("line 3, column steps: step 1: role", proc.stderr)
        rows, total = listing(self.data_dir)
        self.assertEqual((rows, total), ({}, 0))

    def test_list_filters_by_text_and_org(self):
        path = self.write("matters.csv", HEADER + row(CODE_A, "食品经营许可") +
                          row(CODE_B, "户籍迁移").replace(",001,", ",001002,"))
        run_admin(self.data_dir, "approval", "matter-import", path)
        rows, total = listing(self.data_dir, "--text", "食品")
        self.assertEqual((list(rows), total), ([CODE_A], 1))
        rows, total = listing(self.data_dir, "--org", "001002")
        self.assertEqual((list(rows), total), ([CODE_B], 1))

    def test_xlsx_export_reimports_as_new_versions(self):
        path = self.write("matters.csv", HEADER + row(CODE_A, "甲事项") + row(CODE_B, "乙事项"))
        run_admin(self.data_dir, "approval", "matter-import", path)
        book = os.path.join(self.data_dir, "catalogue.XLSX")
        run_admin(self.data_dir, "approval", "matter-export", book)
        with open(book, "rb") as f:
            self.assertEqual(f.read(2), b"PK")  # a zip container, not CSV text
        out = run_admin(self.data_dir, "approval", "matter-import", book).stdout
        self.assertIn("imported 2 matters", out)
        rows, _ = listing(self.data_dir)
        self.assertEqual(rows, {CODE_A: (2, "甲事项"), CODE_B: (2, "乙事项")})

    def test_calendar_import_and_export_round_trip(self):
        path = self.write("calendar.csv", "division,date,kind,note\n"
                          "330100,2026-10-01,holiday,国庆节\n"
                          "330100,2026-10-10,workday,国庆调休\n")
        out = run_admin(self.data_dir, "approval", "calendar-import", path).stdout
        self.assertIn("division 330100", out)
        exported = run_admin(self.data_dir, "approval", "calendar-export", "330100", "-").stdout
        self.assertIn("2026-10-01,holiday,国庆节", exported)
        self.assertIn("2026-10-10,workday,国庆调休", exported)
        self.assertNotIn("2026-10-01", run_admin(self.data_dir, "approval", "calendar-export",
                                                 "default", "-").stdout)
        bad = self.write("bad.csv", "division,date,kind,note\n330100,2026-13-01,holiday,x\n")
        proc = run_admin(self.data_dir, "approval", "calendar-import", bad, check=False)
        self.assertEqual(proc.returncode, 1)
        self.assertIn("line 2", proc.stderr)

    def test_imports_are_in_the_audit_log(self):
        path = self.write("matters.csv", HEADER + row(CODE_A, "甲事项"))
        run_admin(self.data_dir, "approval", "matter-import", path)
        audit = run_admin(self.data_dir, "audit", "list").stdout
        self.assertIn("approval matter-import " + path, audit)


if __name__ == "__main__":
    main()
