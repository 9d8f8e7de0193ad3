"""Session 13's read-only attack review (review13), pinned through the real
binary:

- a monthly statistics with a far-off `to` (9999-12-31) built one SQL CASE
  branch per month — minutes of SQLite work per call, four calls froze the
  approval API — and year 32767 wrapped into an endless, memory-eating loop;
  now bounds outside 1990..2100 and spans over 120 months are a 400 at once;
- one applicant account registered 9,999 online applications of a matter in a
  day (every case number of the day: window intake got 409 until midnight);
  now 5 waiting per matter and 20 in all, and notes and opinions are bounded;
- uploads had no quota and no free-space floor (one role-less account stored
  800 MiB in 9 s); now a daily quota per account and a floor, checked before
  the file is written.
"""
import os
import tempfile
import time
import unittest

from approval_fixture import (API, PASSWORD, PDF, Client, admin_login, browser_login,
                              ensure_staff, matter_body, registration, staff_login)
from tongban_harness import TongbanServer, main

USERS = [
    ("r13clerk", "001001", ["intake", "accept", "undertake", "review", "approve", "matters"]),
    ("r13appl", "001001", []),
]


def start_server(approval_toml=""):
    config = tempfile.NamedTemporaryFile("w", suffix=".toml", delete=False)
    config.write("[approval]\n" + approval_toml)
    config.close()
    server = TongbanServer("--config", config.name)
    server.start()
    server.config_path = config.name
    admin = admin_login(server)
    ensure_staff(server.base_url, admin, users=USERS)
    return server


def stop_server(server):
    server.cleanup()
    os.unlink(server.config_path)


def applicant(server, loginname="r13appl"):
    return Client(server.base_url, browser_login(server.base_url, loginname, PASSWORD), API,
                  me_path="applicant/me")


def pdf_of(size, seed):
    body = bytearray(PDF + b"\0" * (size - len(PDF)))
    body[-8:] = seed.to_bytes(8, "big")  # distinct content, distinct digest
    return bytes(body)


class StatisticsAndRegistrations(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = start_server()
        cls.clerk = staff_login(cls.server.base_url, "r13clerk")
        cls.matter = cls.clerk.ok("POST", "matters", dict(matter_body("001001"), online=True))
        cls.clerk.ok("POST", "cases", registration(cls.matter["implement_code"]))

    @classmethod
    def tearDownClass(cls):
        stop_server(cls.server)

    def stats(self, **params):
        started = time.monotonic()
        # A bounded wait: the unfixed server worked for minutes on such a call.
        r = self.clerk.b.get(self.server.base_url + API + "statistics",
                             params=dict(params, group="month"), timeout=30)
        return r, time.monotonic() - started

    def test_a_monthly_statistics_period_is_bounded(self):
        r, _ = self.stats(**{"from": "2026-01-01", "to": "2026-12-31"})
        self.assertEqual(r.status_code, 200, r.text)
        self.assertTrue(r.json()["rows"])
        # The review's calls: a far year, a millisecond count of year 32767
        # (std::chrono::year wrapped), a span of centuries; each a quick 400.
        for bounds in ({"from": "2020-01-01", "to": "9999-12-31"},
                       {"from": "2020-01-01", "to": "971889494400000"},
                       {"from": "1000-01-01", "to": "2026-01-01"},
                       {"from": "1995-01-01", "to": "2026-12-31"}):
            r, took = self.stats(**bounds)
            self.assertEqual(r.status_code, 400, (bounds, r.text))
            self.assertLess(took, 5, bounds)
        r, _ = self.stats(**{"from": "1995-01-01", "to": "2026-12-31"})
        self.assertIn("120", r.json()["error"]["message"])
        # Open bounds are taken from the cases: still answered.
        r, _ = self.stats()
        self.assertEqual(r.status_code, 200, r.text)

    def test_an_applicant_has_few_online_applications_waiting(self):
        code = self.clerk.ok("POST", "matters", dict(matter_body("001001"),
                                                      online=True))["implement_code"]
        other = self.clerk.ok("POST", "matters", dict(matter_body("001001"),
                                                       online=True))["implement_code"]
        ap = applicant(self.server)
        for seq in range(5):
            r = ap.send("POST", "applicant/cases", registration(code, seq=200 + seq))
            self.assertEqual(r.status_code, 200, r.text)
        r = ap.send("POST", "applicant/cases", registration(code, seq=300))
        self.assertEqual(r.status_code, 409, r.text)
        self.assertIn("等待受理", r.json()["error"]["message"])
        # Another matter still takes this applicant's application, and the
        # window still registers cases of the first matter.
        r = ap.send("POST", "applicant/cases", registration(other, seq=301))
        self.assertEqual(r.status_code, 200, r.text)
        r = self.clerk.send("POST", "cases", registration(code, seq=302))
        self.assertEqual(r.status_code, 200, r.text)
        # Once the clerk accepts one, the applicant may apply again.
        waiting = self.clerk.ok("GET", "cases", implement_code=code, state="registered")
        online = [c for c in waiting["items"] if c["channel"] == "1"]
        self.assertTrue(online, waiting)
        accepted = self.clerk.act(online[0]["number"], "accept")
        self.assertEqual(accepted.status_code, 200, accepted.text)
        r = ap.send("POST", "applicant/cases", registration(code, seq=303))
        self.assertEqual(r.status_code, 200, r.text)

    def test_a_matter_names_another_orgs_step_only_with_its_rights(self):
        # r13clerk is 事项管理 of 001001 only: a step at 001002 would put the
        # matter's cases into that department's 待办.
        body = matter_body("001001")
        body["steps"][1]["org"] = "001002"
        r = self.clerk.send("POST", "matters", body)
        self.assertEqual(r.status_code, 403, r.text)
        self.assertIn("001002", r.json()["error"]["message"])
        body = matter_body("001001")
        body["steps"][1]["org"] = "001001"
        r = self.clerk.send("POST", "matters", body)
        self.assertEqual(r.status_code, 200, r.text)

    def test_notes_and_opinions_are_bounded(self):
        code = self.matter["implement_code"]
        ap = applicant(self.server)
        body = dict(registration(code, seq=400), note="说" * 2001)
        r = ap.send("POST", "applicant/cases", body)
        self.assertEqual(r.status_code, 400, r.text)
        body = dict(registration(code, seq=401), note="说" * 2000)
        r = self.clerk.send("POST", "cases", body)
        self.assertEqual(r.status_code, 200, r.text)
        number = r.json()["case"]["number"]
        r = self.clerk.act(number, "accept", opinion="意" * 2001)
        self.assertEqual(r.status_code, 400, r.text)
        r = self.clerk.act(number, "accept", opinion="意" * 100)
        self.assertEqual(r.status_code, 200, r.text)


class UploadRoom(unittest.TestCase):
    def test_an_account_uploads_at_most_its_quota_a_day(self):
        server = start_server("applicant_upload_mb_per_day = 1\nstaff_upload_mb_per_day = 2\n")
        try:
            ap = applicant(server)
            size = 300 * 1024
            # The same file twice stores nothing new: counted once.
            for seed in (0, 0, 1, 2):
                r = ap.send("POST", "applicant/files", None, data=pdf_of(size, seed),
                            headers={"Content-Type": "application/pdf"})
                self.assertEqual(r.status_code, 200, r.text)
            r = ap.send("POST", "applicant/files", None, data=pdf_of(size, 3),
                        headers={"Content-Type": "application/pdf"})
            self.assertEqual(r.status_code, 409, r.text)
            self.assertIn("上限", r.json()["error"]["message"])
            # The quota is the account's: a clerk still uploads.
            clerk = staff_login(server.base_url, "r13clerk")
            r = clerk.send("POST", "files", None, data=pdf_of(size, 4),
                           headers={"Content-Type": "application/pdf"})
            self.assertEqual(r.status_code, 200, r.text)
        finally:
            stop_server(server)

    def test_the_file_store_keeps_its_free_space(self):
        # A floor larger than any disk: every upload is refused before it is written.
        server = start_server("min_free_disk_mb = 1073741824\n")
        try:
            clerk = staff_login(server.base_url, "r13clerk")
            r = clerk.send("POST", "files", None, data=pdf_of(4096, 9),
                           headers={"Content-Type": "application/pdf"})
            self.assertEqual(r.status_code, 503, r.text)
            files = os.path.join(server.data_dir, "approval-files")
            stored = [f for _, _, names in os.walk(files) for f in names]
            self.assertEqual(stored, [])
        finally:
            stop_server(server)


if __name__ == "__main__":
    main()
