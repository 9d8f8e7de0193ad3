"""Findings of the approval security review, against the real binary: the
approval API holds the approval app's sign-on policy (second factor for
staff, min_authlevel for everyone) as the login page does; a file is
referenced only by who uploaded it or may see a case holding it; a
department system's SPSHENQIN may not put a case under a matter outside its
scope; matter import and calendar edits check the org of what they touch."""
import csv
import io
import os
import sqlite3
import tempfile
import unittest
import urllib.parse

from approval_fixture import (API, PASSWORD, PDF, Client, admin_login, browser_login,
                              ensure_staff, matter_body, registration, staff_login)
from test_sso_mfa import Browser, MfaHelpers
from tongban_harness import TongbanServer, main

USERS = [
    ("sclerk", "001001", ["intake", "accept", "undertake", "review", "approve", "matters"]),
    ("smfa", "001001", ["intake", "undertake"]),
    ("sforeign", "001002", ["intake", "matters"]),
    ("sappl", "001001", []),
]


class ApprovalSecurity(MfaHelpers, unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        config = tempfile.NamedTemporaryFile("w", suffix=".toml", delete=False)
        config.write('[server]\ntrusted_proxies = ["127.0.0.1"]\n[console]\nenabled = true\n')
        config.close()
        cls.config = config.name
        cls.server = TongbanServer("--config", cls.config).start()
        cls.base = cls.server.base_url
        cls.admin = admin_login(cls.server)
        cls.ids = ensure_staff(cls.base, cls.admin, users=USERS)
        cls.used_codes = []
        cls.clerk = staff_login(cls.base, "sclerk")
        cls.foreign = staff_login(cls.base, "sforeign")
        body = matter_body("001001", name="安全评审事项")
        body["online"] = True
        cls.matter = cls.clerk.ok("POST", "matters", body)
        cls.matter_code = cls.matter["implement_code"]
        foreign = matter_body("001002", name="他机构事项")
        foreign["division"] = "330200"
        cls.foreign_matter = cls.foreign.ok("POST", "matters", foreign)

    @classmethod
    def tearDownClass(cls):
        cls.server.cleanup()
        os.unlink(cls.config)

    def applicant(self, loginname):
        return Client(self.base, browser_login(self.base, loginname, PASSWORD), API,
                      me_path="applicant/me")

    # ---- 1. the approval app's second factor and min_authlevel ----

    def test_second_factor_policy_of_the_approval_app(self):
        before = browser_login(self.base, "smfa", PASSWORD)  # a session from before the policy
        self.assertEqual(before.get(self.base + API + "me").status_code, 200)
        self.admin.ok("PUT", "apps/approval/second-factor", {"required": True})
        try:
            for b in (before, browser_login(self.base, "smfa", PASSWORD)):
                r = b.get(self.base + API + "me")
                self.assertEqual(r.status_code, 401, r.text)
                error = r.json()["error"]
                login = urllib.parse.urlsplit(error["login"])
                query = dict(urllib.parse.parse_qsl(login.query))
                self.assertEqual(query.get("renew"), "true")
                self.assertEqual(query.get("mfa"), "1")
                self.assertTrue(query["goto"].endswith("/approval/"), query)
            # The hall's applicant routes keep the citizen's password login.
            self.applicant("sappl")
            # A browser without a session logs in (the plain login URL), is sent
            # to step up (password again, then enrol a TOTP), and the API opens.
            b = Browser(self)
            r = b.get(self.base + API + "me")
            self.assertEqual(r.status_code, 401)
            self.assertNotIn("mfa=1", r.json()["error"]["login"])
            page = b.password(b.follow(b.get(r.json()["error"]["login"])), "smfa", PASSWORD)
            self.assertEqual(page.status_code, 302, page.text[:300])
            r = b.get(self.base + API + "me")
            self.assertEqual(r.status_code, 401, r.text)
            step_up = r.json()["error"]["login"]
            self.assertIn("mfa=1", step_up)
            page = b.password(b.follow(b.get(step_up)), "smfa", PASSWORD)
            self.enrol_at_login(b, b.follow(page))
            r = b.get(self.base + API + "me")
            self.assertEqual(r.status_code, 200, r.text)
        finally:
            self.admin.ok("PUT", "apps/approval/second-factor", {"required": False})
        r = browser_login(self.base, "sclerk", PASSWORD).get(self.base + API + "me")
        self.assertEqual(r.status_code, 200, r.text)

    def test_payment_and_catalogue_staff_apis_hold_their_apps_second_factor(self):
        for app, role in (("payment", "finance"), ("catalogue", "provider")):
            if self.admin.get("apps/" + app).status_code == 404:
                self.admin.ok("POST", "apps", {"servicecode": app, "name": app})
            self.admin.ok("PUT", "apps/%s/roles/%s" % (app, role), {"rolename": role})
            self.admin.ok("POST", "users/%s/roles" % self.ids["sforeign"],
                          {"app": app, "rolecode": role})
            me = self.base + "/%s/api/me" % app
            b = browser_login(self.base, "sforeign", PASSWORD)
            self.assertEqual(b.get(me).status_code, 200, app)
            self.admin.ok("PUT", "apps/%s/second-factor" % app, {"required": True})
            try:
                r = b.get(me)
                self.assertEqual(r.status_code, 401, r.text)
                self.assertIn("mfa=1", r.json()["error"]["login"])
            finally:
                self.admin.ok("PUT", "apps/%s/second-factor" % app, {"required": False})
            self.assertEqual(b.get(me).status_code, 200, app)

    def test_min_authlevel_of_the_approval_app(self):
        citizen = browser_login(self.base, "sappl", PASSWORD)
        self.assertEqual(citizen.get(self.base + API + "applicant/me").status_code, 200)
        self.admin.ok("PUT", "apps/approval", {"min_authlevel": 2})
        try:
            r = citizen.get(self.base + API + "applicant/me")
            self.assertEqual(r.status_code, 403, r.text)
            self.assertIn("实名等级", r.json()["error"]["message"])
        finally:
            self.admin.ok("PUT", "apps/approval", {"min_authlevel": 0})
        self.assertEqual(citizen.get(self.base + API + "applicant/me").status_code, 200)


    # ---- 2. a file is referenced only by who may read it ----

    @staticmethod
    def upload(client, path, tag):
        data = PDF.replace(b"%%EOF", b"% " + tag.encode() + b"\n%%EOF")
        r = client.send("POST", path, data=data, headers={"Content-Type": "application/pdf"})
        assert r.status_code == 200, r.text
        return r.json()["sha256"]

    def refused_material(self, r, sha):
        self.assertEqual(r.status_code, 400, r.text)
        err = r.json()["error"]
        self.assertIn("不存在：" + sha, err["message"])
        return err

    def test_a_known_digest_is_not_a_right_to_the_file(self):
        secret = self.upload(self.clerk, "files", "clerk's material")
        absent = "ab" * 32
        citizen = self.applicant("sappl")
        answers = []
        for sha in (secret, absent):
            r = citizen.send("POST", "applicant/cases", registration(
                self.matter_code, 501,
                materials=[{"name": "申请表", "form": "electronic", "sha256": sha}]))
            err = self.refused_material(r, sha)
            answers.append((err["code"], err["message"].replace(sha, "<sha>")))
        self.assertEqual(answers[0], answers[1])  # no existence oracle
        self.assertEqual(citizen.get("applicant/files/" + secret).status_code, 404)
        # The applicant's own upload is theirs to use, and to read back.
        mine = self.upload(citizen, "applicant/files", "citizen's own")
        r = citizen.send("POST", "applicant/cases", registration(self.matter_code, 502, materials=[
            {"name": "申请表", "form": "electronic", "sha256": mine}]))
        self.assertEqual(r.status_code, 200, r.text)
        self.assertEqual(citizen.get("applicant/files/" + mine).status_code, 200)

        # Staff of another org: not as a material, a step attachment, or a template.
        r = self.foreign.send("POST", "cases", registration(
            self.foreign_matter["implement_code"], 503,
            materials=[{"name": "申请表", "form": "electronic", "sha256": secret}]))
        self.refused_material(r, secret)
        foreign_file = self.upload(self.foreign, "files", "foreign note")
        case = self.clerk.ok("POST", "cases", registration(self.matter_code, 504))["case"]
        self.refused_material(self.clerk.act(case["number"], "accept", opinion="受理",
                                             attachments=[foreign_file]), foreign_file)
        body = matter_body("001002", name="借用模板事项")
        body["materials"][0]["template_sha256"] = secret
        self.refused_material(self.foreign.send("POST", "matters", body), secret)
        # Files of the clerk's own org's cases stay usable.
        self.clerk.act_ok(case["number"], "accept", opinion="受理", attachments=[secret])

    # ---- 6. a matter's minimum real-name level for online applications ----

    def test_a_matter_can_require_a_real_name_level_online(self):
        # Agents apply for others: the account is not tied to the applicant's
        # ID, so a matter may ask the account itself to be real-name checked.
        body = matter_body("001001", name="须实名事项")
        body["online"] = True
        body["online_min_authlevel"] = 2
        matter = self.clerk.ok("POST", "matters", body)
        self.assertEqual(matter["online_min_authlevel"], 2)
        citizen = self.applicant("sappl")  # an account of level 1
        r = citizen.send("POST", "applicant/cases", registration(matter["implement_code"], 506))
        self.assertEqual(r.status_code, 403, r.text)
        self.assertEqual(r.json()["error"]["code"], 5110)
        self.assertIn("实名等级 2 级", r.json()["error"]["message"])
        # The counter raises the account's level: the same application goes in.
        self.admin.ok("PUT", "users/" + self.ids["sappl"], {"authlevel": "2"})
        try:
            r = citizen.send("POST", "applicant/cases",
                             registration(matter["implement_code"], 506))
            self.assertEqual(r.status_code, 200, r.text)
        finally:
            self.admin.ok("PUT", "users/" + self.ids["sappl"], {"authlevel": "1"})
        # Matters without the field keep today's behaviour (level 1 applies).
        self.assertEqual(self.matter.get("online_min_authlevel"), 0)

    # ---- 5. no stage records queue up without a hall target ----

    def test_no_stage_records_pile_up_without_a_hall_target(self):
        # This server has no [exchange] hall_out_node: nothing would ever drain
        # approval_outbox, so a case's transitions queue nothing there.
        case = self.clerk.ok("POST", "cases", registration(self.matter_code, 505))["case"]
        self.clerk.act_ok(case["number"], "accept", opinion="受理")
        con = sqlite3.connect(os.path.join(self.server.data_dir, "tongban.db"), timeout=10)
        try:
            queued = con.execute("SELECT COUNT(*) FROM approval_outbox").fetchone()[0]
        finally:
            con.close()
        self.assertEqual(queued, 0)

    # ---- 4. matter import and calendar edits check the org ----

    def export_rows(self, client):
        r = client.get("matters/export.csv")
        self.assertEqual(r.status_code, 200, r.text)
        rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
        return rows[0], rows[1:]

    @staticmethod
    def csv_of(header, rows):
        out = io.StringIO()
        w = csv.writer(out)
        w.writerow(header)
        w.writerows(rows)
        return out.getvalue().encode("utf-8")

    def test_import_and_calendar_stay_in_the_callers_orgs(self):
        header, rows = self.export_rows(self.foreign)
        code_at = header.index("implement_code")
        name_at = header.index("name")
        theirs = [r for r in rows if r[code_at] == self.foreign_matter["implement_code"]]
        ours = [r for r in rows if r[code_at] == self.matter_code]
        self.assertEqual((len(theirs), len(ours)), (1, 1))
        ours[0][name_at] = "被他机构改名"
        theirs[0][name_at] = "他机构事项（新）"
        r = self.foreign.send("POST", "matters/import", data=self.csv_of(header, theirs + ours),
                              headers={"Content-Type": "text/csv"})
        self.assertEqual(r.status_code, 403, r.text)
        message = r.json()["error"]["message"]
        self.assertIn(self.matter_code, message)
        self.assertIn("行", message)
        # All or nothing: neither row was saved.
        self.assertEqual(self.clerk.ok("GET", "matters/" + self.matter_code)["name"], "安全评审事项")
        self.assertEqual(self.foreign.ok(
            "GET", "matters/" + self.foreign_matter["implement_code"])["name"], "他机构事项")
        r = self.foreign.send("POST", "matters/import", data=self.csv_of(header, theirs),
                              headers={"Content-Type": "text/csv"})
        self.assertEqual(r.status_code, 200, r.text)

        # Calendars: the divisions of the caller's orgs' matters only.
        day = {"kind": "holiday", "note": "测试"}
        self.assertEqual(self.foreign.send("PUT", "calendar/330100/2026-11-02", day).status_code,
                         403)
        self.assertEqual(self.foreign.send("PUT", "calendar/default/2026-11-02", day).status_code,
                         403)
        self.foreign.ok("PUT", "calendar/330200/2026-11-02", day)
        self.clerk.ok("PUT", "calendar/330100/2026-11-02", day)
        self.assertEqual(self.foreign.send("DELETE", "calendar/330100/2026-11-02").status_code,
                         403)
        csv_text = ("division,date,kind,note\n330200,2026-11-03,holiday,x\n"
                    "330100,2026-11-03,holiday,x\n")
        r = self.foreign.send("POST", "calendar/import", data=csv_text.encode(),
                              headers={"Content-Type": "text/csv"})
        self.assertEqual(r.status_code, 403, r.text)
        r = self.foreign.get("calendar/330200", **{"from": "2026-11-01", "to": "2026-11-30"})
        self.assertEqual([e["day"] for e in r.json()["items"]], ["2026-11-02"])
        r = self.foreign.send("POST", "calendar/import", data=csv_text.split("330100")[0].encode(),
                              headers={"Content-Type": "text/csv"})
        self.assertEqual(r.status_code, 200, r.text)


if __name__ == "__main__":
    main()
