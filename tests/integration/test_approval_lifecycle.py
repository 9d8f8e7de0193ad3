"""The approval API (/approval/api/, docs/api/approval.md) against the real
binary: a whole case in each outcome (approved, refused at acceptance,
corrected then approved, suspended then approved, withdrawn, voided); wrong
role, wrong state and a double click change nothing; malformed IDs, disguised
and oversize uploads and unknown matters get a clear 4xx in Chinese; the
public lookup with its throttle; the same lifecycle on a private PostgreSQL."""
import os
import tempfile
import threading
import unittest

import secrets

import requests

import stores
from signed_client import md5_sign, request_sign, spec_time
from approval_fixture import (API, PDF, admin_login, ensure_staff, is_chinese, matter_body,
                              registration, staff_login)
from tongban_harness import TongbanServer, main

UPLOAD_LIMIT = 64 * 1024
USERS = [
    ("apclerk", "001001", ["intake", "accept", "undertake", "review", "approve", "matters"]),
    ("apother", "001002", ["intake", "accept", "undertake", "review", "approve", "matters"]),
    ("apsuper", "001001", ["supervise"]),
]


def write_config(database=None):
    config = tempfile.NamedTemporaryFile("w", suffix=".toml", delete=False)
    config.write('[server]\ntrusted_proxies = ["127.0.0.1"]\n'
                 "[console]\nenabled = true\n"
                 "[approval]\nmax_upload_bytes = %d\nlookup_failures = 5\n" % UPLOAD_LIMIT)
    if database:
        config.write('[storage]\ndatabase = "%s"\n' % database)
    config.close()
    return config.name


class Lifecycle:
    """The tests; a subclass names the database (setUpClass)."""
    database = None

    @classmethod
    def setUpClass(cls):
        cls.config = write_config(cls.database_url())
        cls.server = TongbanServer("--config", cls.config).start()
        base = cls.server.base_url
        cls.admin = admin_login(cls.server)
        ensure_staff(base, cls.admin, users=USERS)
        cls.clerk = staff_login(base, "apclerk")
        cls.other = staff_login(base, "apother")
        cls.supervisor = staff_login(base, "apsuper")
        cls.matter = cls.clerk.ok("POST", "matters", matter_body("001001"))
        cls.code = cls.matter["implement_code"]

    @classmethod
    def database_url(cls):
        return None

    @classmethod
    def tearDownClass(cls):
        cls.server.cleanup()
        os.unlink(cls.config)

    # ---- helpers ----

    def register(self, seq=123, **kw):
        r = self.clerk.send("POST", "cases", registration(self.code, seq, **kw))
        self.assertEqual(r.status_code, 200, r.text)
        body = r.json()
        self.assertEqual(len(body["case"]["number"]), 43)
        self.assertRegex(body["lookup_password"], r"^\d{6}$")
        self.assertEqual(body["case"]["state"], "registered")
        return body["case"]["number"], body["lookup_password"]

    def agree_to_the_end(self, number):
        case = self.clerk.ok("GET", "cases/" + number)
        for _ in range(len(self.matter["steps"])):
            self.assertEqual(case["state"], "in_step")
            case = self.clerk.act_ok(number, "agree", opinion="同意",
                                     expected_revision=case["revision"])
        self.assertEqual(case["state"], "completed")
        self.assertEqual(case["result"], 6)
        return case

    def assert_refused(self, response, status, code=None):
        self.assertEqual(response.status_code, status, response.text)
        err = response.json()["error"]
        if code is not None:
            self.assertEqual(err["code"], code)
        self.assertTrue(is_chinese(err["message"]), err)
        return err

    def actions(self, number):
        return [h["action"] for h in self.clerk.history(number)]

    # ---- one case in each outcome ----

    def test_approved(self):
        number, _ = self.register()
        accepted = self.clerk.act_ok(number, "accept", opinion="材料齐全，予以受理")
        self.assertEqual(accepted["state"], "in_step")
        self.assertGreater(accepted["deadline"], accepted["accepted_at"])
        self.assertIn(accepted["case_light"], ("green", "yellow", "red"))
        self.agree_to_the_end(number)
        self.assertEqual(self.actions(number), ["register", "accept", "agree", "agree", "agree"])
        done = self.clerk.ok("GET", "done", size=100)["items"]
        self.assertIn(number, [c["number"] for c in done])

    def test_refused_at_acceptance(self):
        number, _ = self.register()
        self.assert_refused(self.clerk.act(number, "refuse"), 400, 5103)
        refused = self.clerk.act_ok(number, "refuse", opinion="不属于本机关职权范围")
        self.assertEqual(refused["state"], "refused")
        self.assertEqual(self.actions(number), ["register", "refuse"])

    def test_corrected_then_approved(self):
        number, _ = self.register()
        asked = self.clerk.act_ok(number, "request_correction", opinion="缺少身份证复印件",
                                  missing_materials=["身份证复印件"])
        self.assertEqual(asked["state"], "correction")
        upload = self.clerk.send("POST", "files", data=PDF,
                                 headers={"Content-Type": "application/pdf"})
        self.assertEqual(upload.status_code, 200, upload.text)
        sha = upload.json()["sha256"]
        back = self.clerk.act_ok(number, "resubmit", materials=[
            {"name": "身份证复印件", "form": "electronic", "sha256": sha}])
        self.assertEqual(back["corrections"], 1)
        if back["state"] == "registered":
            back = self.clerk.act_ok(number, "accept", opinion="补正后受理")
        self.agree_to_the_end(number)
        self.assertIn("request_correction", self.actions(number))
        self.assertIn("resubmit", self.actions(number))

    def test_suspended_then_approved(self):
        number, _ = self.register()
        accepted = self.clerk.act_ok(number, "accept")
        suspended = self.clerk.act_ok(number, "suspend", opinion="需专家评审",
                                      suspension_kind="专家评审")
        self.assertEqual(suspended["state"], "suspended")
        self.assertGreater(suspended["stopped_since"], 0)
        resumed = self.clerk.act_ok(number, "resume", opinion="专家评审通过")
        self.assertEqual(resumed["state"], "in_step")
        self.assertGreaterEqual(resumed["deadline"], accepted["deadline"])
        self.agree_to_the_end(number)

    def test_withdrawn(self):
        number, _ = self.register()
        withdrawn = self.clerk.act_ok(number, "withdraw", opinion="申请人撤回申请")
        self.assertEqual(withdrawn["state"], "withdrawn")
        self.assert_refused(self.clerk.act(number, "accept"), 409, 5101)

    def test_voided(self):
        number, _ = self.register()
        self.assert_refused(self.clerk.act(number, "void"), 400, 5103)
        voided = self.clerk.act_ok(number, "void", opinion="重复登记")
        self.assertEqual(voided["state"], "voided")

    # ---- refusals that change nothing ----

    def test_a_clerk_of_another_org_gets_403_and_nothing_changes(self):
        number, _ = self.register()
        before = self.clerk.ok("GET", "cases/" + number)
        self.assert_refused(self.other.act(number, "accept"), 403)
        self.assert_refused(self.other.get("cases/" + number), 403)
        after = self.clerk.ok("GET", "cases/" + number)
        self.assertEqual(after["revision"], before["revision"])
        self.assertEqual(after["state"], "registered")
        self.assertEqual(self.actions(number), ["register"])
        # and a matter of another org cannot be edited
        other_matter = matter_body("001001")
        self.assert_refused(self.other.send("POST", "matters", other_matter), 403)

    def test_accepting_a_completed_case_is_409_and_history_is_unchanged(self):
        number, _ = self.register()
        self.clerk.act_ok(number, "accept")
        self.agree_to_the_end(number)
        history = self.clerk.history(number)
        self.assert_refused(self.clerk.act(number, "accept"), 409, 5101)
        self.assert_refused(self.clerk.act(number, "complete", result="approved"), 409, 5101)
        self.assertEqual(self.clerk.history(number), history)

    def test_a_double_click_gets_one_200_and_one_409(self):
        number, _ = self.register()
        case = self.clerk.ok("GET", "cases/" + number)
        statuses = []
        start = threading.Barrier(2)

        def click():
            start.wait()
            r = self.clerk.act(number, "accept", expected_revision=case["revision"])
            statuses.append((r.status_code, r.json()))

        threads = [threading.Thread(target=click) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(sorted(s for s, _ in statuses), [200, 409], statuses)
        loser = [body for s, body in statuses if s == 409][0]
        self.assertIn(loser["error"]["code"], (5101, 5104))
        self.assertTrue(is_chinese(loser["error"]["message"]))
        self.assertEqual(self.actions(number), ["register", "accept"])

    def test_a_csrf_less_write_is_refused(self):
        r = self.clerk.b.post(self.server.url(API + "cases"), json=registration(self.code))
        self.assert_refused(r, 403, 4031)
        r = self.clerk.send("POST", "cases", registration(self.code),
                            headers={"Origin": "http://evil.example"})
        self.assert_refused(r, 403, 4031)

    def test_without_a_session_or_role_the_api_is_closed(self):
        r = requests.get(self.server.url(API + "todo"))
        err = self.assert_refused(r, 401, 401)
        self.assertIn("/sso/usp.do?action=ssoLogin", err["login"])
        plain = self.admin  # the platform admin holds no approval role
        r = plain.b.get(self.server.url(API + "todo"))
        self.assert_refused(r, 403, 403)

    # ---- bad input ----

    def test_malformed_ids_get_400_in_chinese(self):
        for path in ["cases/ABC", "cases/" + "x" * 43, "cases/ABC/history"]:
            self.assert_refused(self.clerk.get(path), 400)
        self.assert_refused(self.clerk.act("1234", "accept"), 400)
        self.assert_refused(self.clerk.get("files/not-a-hash"), 400)
        self.assert_refused(self.clerk.get("matters/" + self.code + "/versions/x"), 400)
        number, _ = self.register()
        self.assert_refused(self.clerk.act(number, "fly"), 400)
        missing = number[:-4] + "9999"
        self.assert_refused(self.clerk.get("cases/" + missing), 404, 5108)

    def test_disguised_and_oversize_uploads_are_refused(self):
        html = b"<html><script>alert(1)</script></html>"
        r = self.clerk.send("POST", "files", data=html, headers={"Content-Type": "application/pdf"})
        self.assert_refused(r, 400, 5107)
        big = PDF + b"0" * (UPLOAD_LIMIT + 1)
        r = self.clerk.send("POST", "files", data=big, headers={"Content-Type": "application/pdf"})
        self.assert_refused(r, 413)
        # multipart with a .pdf name and PNG bytes: stored as what it is
        png = b"\x89PNG\r\n\x1a\n" + b"\0" * 64
        r = self.clerk.send("POST", "files", files={"file": ("scan.pdf", png, "application/pdf")})
        self.assertEqual(r.status_code, 200, r.text)
        self.assertEqual(r.json()["media_type"], "image/png")
        # an electronic material naming a file never uploaded
        body = registration(self.code, materials=[
            {"name": "申请表", "form": "electronic", "sha256": "0" * 64}])
        self.assert_refused(self.clerk.send("POST", "cases", body), 400, 5107)

    def test_unknown_matter_and_bad_applicant_are_refused(self):
        unknown = self.code[:-1] + ("8" if self.code[-1] != "8" else "7")
        self.assert_refused(self.clerk.send("POST", "cases", registration(unknown)), 404, 5105)
        body = registration(self.code)
        body["applicant"]["id_number"] = body["applicant"]["id_number"][:-1] + (
            "0" if body["applicant"]["id_number"][-1] != "0" else "1")
        self.assert_refused(self.clerk.send("POST", "cases", body), 400, 5106)

    # ---- public hall ----

    def test_public_lookup_with_the_right_and_wrong_password_and_the_throttle(self):
        number, password = self.register()
        hall = requests.Session()
        hall.headers["X-Forwarded-For"] = "198.51.100.7"
        url = self.server.url(API + "public/lookup")
        r = hall.post(url, json={"number": number, "password": password})
        self.assertEqual(r.status_code, 200, r.text)
        self.assertEqual(r.json()["state"], "registered")
        self.assertNotIn("userid", r.text)
        wrong = "%06d" % ((int(password) + 1) % 1000000)
        for _ in range(5):
            self.assert_refused(hall.post(url, json={"number": number, "password": wrong}),
                                403, 5109)
        r = hall.post(url, json={"number": number, "password": password})
        self.assert_refused(r, 429, 429)
        # another address is not locked out
        other = requests.post(url, json={"number": number, "password": password},
                              headers={"X-Forwarded-For": "198.51.100.8"})
        self.assertEqual(other.status_code, 200, other.text)

    def test_public_rating_once_after_completion(self):
        number, password = self.register()
        url = self.server.url(API + "public/rating")
        ip = {"X-Forwarded-For": "198.51.100.20"}
        r = requests.post(url, json={"number": number, "password": password, "level": 5},
                          headers=ip)
        self.assert_refused(r, 409, 5101)
        self.clerk.act_ok(number, "accept")
        self.agree_to_the_end(number)
        r = requests.post(url, json={"number": number, "password": password, "level": 6},
                          headers=ip)
        self.assert_refused(r, 400)
        r = requests.post(url, json={"number": number, "password": password, "level": 5,
                                     "comment": "办事快"}, headers=ip)
        self.assertEqual(r.status_code, 200, r.text)
        r = requests.post(url, json={"number": number, "password": password, "level": 1},
                          headers=ip)
        self.assert_refused(r, 409)

    def test_public_guide_lists_enabled_matters(self):
        r = requests.get(self.server.url(API + "public/matters"), params={"size": 100})
        self.assertEqual(r.status_code, 200, r.text)
        codes = [m["implement_code"] for m in r.json()["items"]]
        self.assertIn(self.code, codes)
        self.assertNotIn("steps", r.json()["items"][0])

    # ---- department systems (signed calls) ----

    def system_get(self, servicecode, servicepwd, path):
        fields = {"servicecode": servicecode, "time": spec_time(), "signmethod": "hmac-sha256",
                  "nonce": secrets.token_hex(16)}
        fields["sign"] = request_sign(servicepwd, path, fields, "hmac-sha256")
        return requests.get(self.server.url(API + path), params=fields)

    def test_a_department_system_reads_cases_of_its_org_only(self):
        number, _ = self.register()
        own = self.admin.ok("POST", "apps", {"servicecode": "dept%s" % secrets.token_hex(3),
                                             "name": "部门业务系统", "orgcoding": "001001"})
        foreign = self.admin.ok("POST", "apps", {"servicecode": "dept%s" % secrets.token_hex(3),
                                                 "name": "他部门系统", "orgcoding": "001002"})
        path = "system/cases/" + number
        r = self.system_get(own["app"]["servicecode"], own["servicepwd"], path)
        self.assertEqual(r.status_code, 200, r.text)
        self.assertEqual(r.json()["number"], number)
        self.assertEqual([h["action"] for h in r.json()["history"]], ["register"])
        r = self.system_get(foreign["app"]["servicecode"], foreign["servicepwd"], path)
        self.assert_refused(r, 404, 5108)
        r = self.system_get(own["app"]["servicecode"], "wrong-secret", path)
        self.assert_refused(r, 403, 4032)
        t = spec_time()
        r = requests.get(self.server.url(API + path), params={
            "servicecode": own["app"]["servicecode"], "time": t,
            "sign": md5_sign(own["app"]["servicecode"], own["servicepwd"], t)})
        self.assert_refused(r, 403, 4032)

    # ---- preferences, todo, me ----

    def test_common_opinions_and_hidden_matters(self):
        a = self.clerk.ok("POST", "preferences/opinions", {"text": "同意"})
        b = self.clerk.ok("POST", "preferences/opinions", {"text": "材料齐全"})
        self.clerk.ok("PUT", "preferences/opinions/order", {"ids": [b["id"], a["id"]]})
        texts = [o["text"] for o in self.clerk.ok("GET", "preferences/opinions")["items"]]
        self.assertEqual(texts[:2], ["材料齐全", "同意"])
        self.assert_refused(self.clerk.send("PUT", "preferences/opinions/order", {"ids": [a["id"]]}),
                            400)
        hidden = matter_body("001001", name="隐藏的事项")
        self.clerk.ok("POST", "matters", hidden)
        self.clerk.ok("PUT", "preferences/hidden-matters/" + hidden["implement_code"])
        intake = self.clerk.ok("GET", "matters", for_intake="1", size=500)["items"]
        self.assertNotIn(hidden["implement_code"], [m["implement_code"] for m in intake])
        self.assertIn(self.code, [m["implement_code"] for m in intake])
        everything = self.clerk.ok("GET", "matters", size=500)["items"]
        self.assertIn(hidden["implement_code"], [m["implement_code"] for m in everything])

    def test_todo_lists_waiting_cases_with_lights(self):
        number, _ = self.register()
        self.clerk.act_ok(number, "accept")
        todo = self.clerk.ok("GET", "todo", size=500)["items"]
        mine = [c for c in todo if c["number"] == number]
        self.assertEqual(len(mine), 1)
        self.assertIn(mine[0]["case_light"], ("green", "yellow", "red"))
        self.assertIn("step_light", mine[0])
        other = self.other.ok("GET", "todo", size=500)["items"]
        self.assertNotIn(number, [c["number"] for c in other])
        me = self.clerk.ok("GET", "me")
        self.assertIn("accept", me["roles"])
        self.assertIn("001001", me["orgs"])


class SqliteLifecycleTest(Lifecycle, unittest.TestCase):
    pass


PG_SKIP = stores.missing_binaries()
PG = None


@unittest.skipIf(PG_SKIP is not None, PG_SKIP or "")
class PostgresLifecycleTest(Lifecycle, unittest.TestCase):
    @classmethod
    def database_url(cls):
        global PG
        if PG is None:
            PG = stores.PrivatePostgres().start()
        return PG.new_database_url()


def tearDownModule():
    if PG is not None:
        PG.close()


if __name__ == "__main__":
    main()
