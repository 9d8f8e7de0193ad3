"""Gaps found by the web engineers and reviewers, against the real binary:
the five online indicators of a 好差评 kept, returned and counted in the
statistics; material templates downloadable by the public hall (and nothing
else); an applicant's own files and cases readable by them only; 常用意见
edited in place by their owner; 转办 only to a user who can take the step;
the hall's online application refused for a matter not online, another
applicant's case, and a missing CSRF token."""
import io
import os
import tempfile
import unittest
import zipfile

import requests

from approval_fixture import (API, PASSWORD, PDF, Client, admin_login, browser_login,
                              ensure_staff, is_chinese, matter_body, registration, staff_login)
from tongban_harness import TongbanServer, main

USERS = [
    ("gclerk", "001001", ["intake", "accept", "undertake", "review", "approve", "matters"]),
    ("gpeer", "001001", ["undertake"]),        # may take an 承办 step of 001001
    ("gnorole", "001001", ["review"]),         # no 承办 role
    ("gforeign", "001002", ["undertake"]),     # 承办, but of another org
    ("glocked", "001001", ["undertake"]),      # 承办 of 001001, locked below
    ("gsuper", "001001", ["supervise"]),
    ("gappl1", "001001", []),                  # applicants: no approval role
    ("gappl2", "001001", []),
]
IP = {"X-Forwarded-For": "198.51.100.77"}


def pdf(tag):
    """A distinct small PDF (the store is content-addressed)."""
    return PDF.replace(b"%%EOF", b"% " + tag.encode() + b"\n%%EOF")


class ApprovalGaps(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        config = tempfile.NamedTemporaryFile("w", suffix=".toml", delete=False)
        config.write('[server]\ntrusted_proxies = ["127.0.0.1"]\n[console]\nenabled = true\n')
        config.close()
        cls.config = config.name
        cls.server = TongbanServer("--config", cls.config).start()
        base = cls.server.base_url
        cls.admin = admin_login(cls.server)
        cls.ids = ensure_staff(base, cls.admin, users=USERS)
        cls.clerk = staff_login(base, "gclerk")
        cls.peer = staff_login(base, "gpeer")
        cls.norole = staff_login(base, "gnorole")
        cls.foreign = staff_login(base, "gforeign")
        cls.supervisor = staff_login(base, "gsuper")
        cls.appl1 = cls.applicant("gappl1")
        cls.appl2 = cls.applicant("gappl2")
        cls.template = pdf("template")
        cls.template_sha = cls.upload(cls.clerk, "files", cls.template)
        body = matter_body("001001", name="网上可办事项")
        body["online"] = True
        body["materials"] = [{"name": "申请表", "required": True, "form": "either", "copies": 1,
                              "template_sha256": cls.template_sha}]
        cls.matter = cls.clerk.ok("POST", "matters", body)
        cls.code = cls.matter["implement_code"]

    @classmethod
    def tearDownClass(cls):
        cls.server.cleanup()
        os.unlink(cls.config)

    @classmethod
    def applicant(cls, loginname):
        browser = browser_login(cls.server.base_url, loginname, PASSWORD)
        return Client(cls.server.base_url, browser, API, me_path="applicant/me")

    @classmethod
    def upload(cls, client, path, data):
        r = client.send("POST", path, data=data, headers={"Content-Type": "application/pdf"})
        assert r.status_code == 200, r.text
        return r.json()["sha256"]

    # ---- helpers ----

    def refused(self, response, status, code=None):
        self.assertEqual(response.status_code, status, response.text)
        err = response.json()["error"]
        if code is not None:
            self.assertEqual(err["code"], code, err)
        self.assertTrue(is_chinese(err["message"]), err)
        return err

    def register(self, code=None, seq=123, **kw):
        r = self.clerk.send("POST", "cases", registration(code or self.code, seq, **kw))
        self.assertEqual(r.status_code, 200, r.text)
        return r.json()["case"]["number"], r.json()["lookup_password"]

    def complete(self, number):
        case = self.clerk.act_ok(number, "accept", opinion="受理")
        while case["state"] == "in_step":
            case = self.clerk.act_ok(number, "agree", opinion="同意",
                                     expected_revision=case["revision"])
        self.assertEqual(case["state"], "completed")

    def public(self, method, path, **kw):
        return requests.request(method, self.server.url(API + path), headers=IP, **kw)

    def apply_online(self, applicant, seq, materials=None):
        r = applicant.send("POST", "applicant/cases",
                           registration(self.code, seq, materials=materials))
        self.assertEqual(r.status_code, 200, r.text)
        case = r.json()["case"]
        self.assertEqual(case["channel"], "1")
        return case["number"]

    # ---- 1. rating indicators ----

    def test_rating_keeps_the_five_indicators_and_statistics_count_them(self):
        matter = self.clerk.ok("POST", "matters", matter_body("001001", name="评价统计事项"))
        number, password = self.register(matter["implement_code"], seq=301)
        self.complete(number)
        indicators = {"overall": 4, "efficiency": 5, "guide_accuracy": 3, "convenience": 2,
                      "usability": 1}
        base = {"number": number, "password": password, "level": 4, "comment": "指南清楚"}
        # Refused and nothing stored: an unknown indicator, one out of range, not an object.
        for bad in (dict(indicators, speed=5), dict(indicators, usability=6),
                    dict(indicators, overall=0), dict(indicators, overall="5"), [4, 5]):
            r = self.public("POST", "public/rating", json=dict(base, indicators=bad))
            self.refused(r, 400)
        r = self.public("POST", "public/lookup", json={"number": number, "password": password})
        self.assertEqual(r.status_code, 200, r.text)
        self.assertIsNone(r.json()["rating"])

        r = self.public("POST", "public/rating", json=dict(base, indicators=indicators))
        self.assertEqual(r.status_code, 200, r.text)
        self.assertEqual(r.json()["indicators"], indicators)
        self.assertEqual(r.json()["level"], 4)
        r = self.public("POST", "public/lookup", json={"number": number, "password": password})
        self.assertEqual(r.json()["rating"]["indicators"], indicators)
        self.assertEqual(r.json()["rating"]["comment"], "指南清楚")

        # A second case of the matter rated 1 without indicators: 2 ratings, average 2.5.
        other, other_password = self.register(matter["implement_code"], seq=302)
        self.complete(other)
        r = self.public("POST", "public/rating",
                        json={"number": other, "password": other_password, "level": 1})
        self.assertEqual(r.status_code, 200, r.text)
        self.assertEqual(r.json()["indicators"]["overall"], None)
        # A third, unrated case is received but not rated.
        self.register(matter["implement_code"], seq=303)

        query = {"group": "matter", "matter": matter["implement_code"]}
        rows = self.supervisor.ok("GET", "statistics", **query)["rows"]
        self.assertEqual(len(rows), 1, rows)
        self.assertEqual(rows[0]["received"], 3)
        self.assertEqual(rows[0]["ratings"], 2)
        self.assertAlmostEqual(rows[0]["average_rating"], 2.5)

        csv = self.supervisor.get("statistics.csv", **query)
        self.assertEqual(csv.status_code, 200, csv.text)
        text = csv.content.decode("utf-8-sig")
        self.assertIn(",评价数,平均评价等级\r\n", text)
        self.assertTrue(text.rstrip("\r\n").endswith(",2,2.50"), text)
        xlsx = self.supervisor.get("statistics.xlsx", **query)
        self.assertEqual(xlsx.status_code, 200, xlsx.text[:200])
        with zipfile.ZipFile(io.BytesIO(xlsx.content)) as book:
            strings = book.read("xl/sharedStrings.xml").decode() if \
                "xl/sharedStrings.xml" in book.namelist() else ""
            sheet = book.read("xl/worksheets/sheet1.xml").decode()
        self.assertIn("平均评价等级", strings + sheet)
        self.assertIn(">2.5<", sheet)

    # ---- 2. public templates; an applicant's own files ----

    def test_public_files_serve_only_templates_of_enabled_matters(self):
        r = self.public("GET", "public/files/" + self.template_sha)
        self.assertEqual(r.status_code, 200, r.text[:200])
        self.assertEqual(r.content, self.template)
        self.assertEqual(r.headers["Content-Type"].split(";")[0], "application/pdf")
        self.assertTrue(r.headers["Content-Disposition"].startswith("attachment"))
        self.assertEqual(r.headers["X-Content-Type-Options"], "nosniff")

        # A case material uploaded by a clerk: stored, but never public.
        material = self.upload(self.clerk, "files", pdf("case material"))
        self.register(seq=311, materials=[
            {"name": "申请表", "form": "electronic", "sha256": material}])
        self.refused(self.public("GET", "public/files/" + material), 404)
        self.assertEqual(self.clerk.get("files/" + material).status_code, 200)
        # Unknown and malformed digests.
        self.refused(self.public("GET", "public/files/" + "0" * 64), 404)
        self.refused(self.public("GET", "public/files/" + self.template_sha.upper()), 400)

        # The template of a disabled matter is not served.
        hidden_template = self.upload(self.clerk, "files", pdf("disabled template"))
        body = matter_body("001001", name="停用事项")
        body["materials"] = [{"name": "表格", "required": True, "form": "either", "copies": 1,
                              "template_sha256": hidden_template}]
        disabled = self.clerk.ok("POST", "matters", body)
        self.assertEqual(self.public("GET", "public/files/" + hidden_template).status_code, 200)
        self.clerk.ok("POST", "matters/%s/enabled" % disabled["implement_code"],
                      {"enabled": False})
        self.refused(self.public("GET", "public/files/" + hidden_template), 404)

    def test_applicant_downloads_the_files_of_their_own_cases_only(self):
        mine = self.upload(self.appl1, "applicant/files", pdf("appl1 id card"))
        number = self.apply_online(self.appl1, 321, materials=[
            {"name": "申请表", "form": "electronic", "sha256": mine}])
        r = self.appl1.get("applicant/files/" + mine)
        self.assertEqual(r.status_code, 200, r.text[:200])
        self.assertEqual(r.content, pdf("appl1 id card"))
        self.assertTrue(r.headers["Content-Disposition"].startswith("attachment"))
        self.refused(self.appl2.get("applicant/files/" + mine), 404)
        self.refused(self.public("GET", "public/files/" + mine), 404)
        # Naming another's digest as a material's name does not make it one's own.
        self.apply_online(self.appl2, 322, materials=[
            {"name": mine, "form": "paper", "copies": 1}])
        self.refused(self.appl2.get("applicant/files/" + mine), 404)

        # A case the clerk registered at the window is not the clerk's "own" at the hall.
        window_file = self.upload(self.clerk, "files", pdf("window material"))
        self.register(seq=323, materials=[
            {"name": "申请表", "form": "electronic", "sha256": window_file}])
        clerk_as_applicant = Client(self.server.base_url, self.clerk.b, API,
                                    me_path="applicant/me")
        self.refused(clerk_as_applicant.get("applicant/files/" + window_file), 404)

        own = self.appl1.ok("GET", "applicant/cases/" + number)
        self.assertEqual(own["materials"][0]["sha256"], mine)
        listed = [c["number"] for c in self.appl1.ok("GET", "applicant/cases", size=100)["items"]]
        self.assertIn(number, listed)
        others = [c["number"] for c in self.appl2.ok("GET", "applicant/cases", size=100)["items"]]
        self.assertNotIn(number, others)

    def test_a_clerk_opens_only_files_of_cases_of_their_orgs(self):
        material = self.upload(self.clerk, "files", pdf("department 001001 only"))
        number, _ = self.register(seq=331, materials=[
            {"name": "申请表", "form": "electronic", "sha256": material}])
        r = self.clerk.get("files/" + material)
        self.assertEqual(r.status_code, 200, r.text[:200])
        self.assertEqual(r.content, pdf("department 001001 only"))
        # A clerk of another department who learns the digest gets nothing.
        self.refused(self.foreign.get("files/" + material), 404)
        # 监察 sees every department's files; a template is no secret.
        self.assertEqual(self.supervisor.get("files/" + material).status_code, 200)
        self.assertEqual(self.foreign.get("files/" + self.template_sha).status_code, 200)
        # An attachment of a step joins its case's files.
        note = self.upload(self.clerk, "files", pdf("acceptance note"))
        self.clerk.act_ok(number, "accept", opinion="受理", attachments=[note])
        self.assertEqual(self.peer.get("files/" + note).status_code, 200)
        self.refused(self.foreign.get("files/" + note), 404)

    def test_a_clerk_opens_their_own_upload_before_the_case_is_registered(self):
        # The intake form links each upload before 收件登记 creates the case.
        material = self.upload(self.clerk, "files", pdf("uploaded before intake"))
        r = self.clerk.get("files/" + material)
        self.assertEqual(r.status_code, 200, r.text[:200])
        self.assertEqual(r.content, pdf("uploaded before intake"))
        # Nobody else gains a way in: neither a colleague nor another department.
        self.refused(self.peer.get("files/" + material), 404)
        self.refused(self.foreign.get("files/" + material), 404)
        self.register(seq=332, materials=[
            {"name": "申请表", "form": "electronic", "sha256": material}])
        self.assertEqual(self.peer.get("files/" + material).status_code, 200)
        self.refused(self.foreign.get("files/" + material), 404)

    # ---- 3. 常用意见 edited in place ----

    def test_opinion_is_edited_in_place_by_its_owner(self):
        ids = [self.clerk.ok("POST", "preferences/opinions", {"text": t})["id"]
               for t in ("编辑甲", "编辑乙", "编辑丙")]
        edited = self.clerk.ok("PUT", "preferences/opinions/%d" % ids[1], {"text": "编辑乙（改）"})
        self.assertEqual(edited, {"id": ids[1], "text": "编辑乙（改）"})
        items = self.clerk.ok("GET", "preferences/opinions")["items"]
        mine = [(o["id"], o["text"]) for o in items if o["id"] in ids]
        self.assertEqual(mine, [(ids[0], "编辑甲"), (ids[1], "编辑乙（改）"), (ids[2], "编辑丙")])

        self.refused(self.peer.send("PUT", "preferences/opinions/%d" % ids[1], {"text": "篡改"}),
                     404)
        self.refused(self.clerk.send("PUT", "preferences/opinions/%d" % ids[1], {"text": ""}), 400)
        r = self.clerk.b.put(self.server.url(API + "preferences/opinions/%d" % ids[1]),
                             json={"text": "无令牌"})
        self.refused(r, 403, 4031)
        items = self.clerk.ok("GET", "preferences/opinions")["items"]
        self.assertIn({"id": ids[1], "text": "编辑乙（改）"}, items)
        # The order route still answers: "order" is not an id.
        reordered = self.clerk.ok("PUT", "preferences/opinions/order",
                                  {"ids": [o["id"] for o in reversed(items)]})
        self.assertEqual(reordered["items"][0]["id"], items[-1]["id"])

    # ---- 4. 转办 only to a user who can take the step ----

    def test_transfer_only_to_an_active_holder_of_the_role_in_the_org(self):
        self.admin.ok("POST", "users/%s/lock" % self.ids["glocked"])
        number, _ = self.register(seq=341)
        case = self.clerk.act_ok(number, "accept", opinion="受理")
        self.assertEqual((case["pending_role"], case["pending_org"]), ("undertake", "001001"))
        for target, why in ((self.ids["gnorole"], "角色"), (self.ids["gforeign"], "不属于机构 001001"),
                            (self.ids["glocked"], "停用或锁定"),
                            ("no-such-user-id", "不存在"), ("0" * 32, "不存在")):
            err = self.refused(self.clerk.act(number, "transfer", to_user=target), 400, 5102)
            self.assertIn(why, err["message"])
        after = self.clerk.ok("GET", "cases/" + number)
        self.assertEqual(after["revision"], case["revision"])
        self.assertEqual(after["pending_user"], "")
        self.assertEqual(self.clerk.history(number)[-1]["action"], "accept")

        moved = self.clerk.act_ok(number, "transfer", to_user=self.ids["gpeer"])
        self.assertEqual(moved["pending_user"], self.ids["gpeer"])
        todo = lambda who: [c["number"] for c in who.ok("GET", "todo", size=500)["items"]]
        self.assertIn(number, todo(self.peer))
        self.assertNotIn(number, todo(self.clerk))
        self.refused(self.clerk.act(number, "agree", opinion="同意"), 403, 5102)
        done = self.peer.act_ok(number, "agree", opinion="同意")
        self.assertEqual(done["pending_role"], "review")

    # ---- 5. the hall's online application, refused ----

    def test_online_application_refusals(self):
        offline = self.clerk.ok("POST", "matters", matter_body("001001", name="仅窗口办理事项"))
        r = self.appl1.send("POST", "applicant/cases",
                            registration(offline["implement_code"], 351))
        self.refused(r, 404, 5105)

        before = self.appl1.ok("GET", "applicant/cases")["total"]
        r = self.appl1.b.post(self.server.url(API + "applicant/cases"),
                              json=registration(self.code, 352))
        self.refused(r, 403, 4031)
        r = self.appl1.send("POST", "applicant/cases", registration(self.code, 353),
                            headers={"X-CSRF-Token": "not-the-token"})
        self.refused(r, 403, 4031)
        self.assertEqual(self.appl1.ok("GET", "applicant/cases")["total"], before)

        number = self.apply_online(self.appl1, 354)
        self.refused(self.appl2.get("applicant/cases/" + number), 404, 5108)
        self.refused(self.appl2.get("cases/" + number), 403, 403)  # no staff role either
        self.assertEqual(self.appl1.ok("GET", "applicant/cases/" + number)["number"], number)


if __name__ == "__main__":
    main()
