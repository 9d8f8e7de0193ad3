"""Session 16's review of personal data (review16d), against the real binary:
a payer's mobile finds notices only when it was proven; the number of a
case's fee notice is not derivable from the (predictable) case number; the
signed directory replies are not cacheable; what was typed as a login name for
a login that matched nobody stays out of the server log. Each test fails on
the binary before the fix."""
import datetime
import hashlib
import json
import os
import re
import unittest

import requests

from approval_fixture import (admin_login, ensure_staff, matter_body, resident_id,
                              staff_login)
from payment_fixture import clerk_client, notice_body, payment_login
from signed_client import SignedClient, demo_credentials
from tongban_harness import TongbanServer, main, run_admin


class PersonalData(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = TongbanServer().start()

    @classmethod
    def tearDownClass(cls):
        cls.server.cleanup()

    def test_an_unproven_mobile_finds_no_notices(self):
        base = self.server.base_url
        clerk = clerk_client(self.server)
        victim_mobile = "13766660001"
        body = notice_body("R16VICTIM")
        body["payer"] = {"name": "赵受害", "id_number": resident_id(901), "mobile": victim_mobile}
        no = clerk.ok("POST", "notices", body)["notice_no"]
        # An app of one office, allowed to maintain its own users, gives one of
        # them a stranger's mobile.
        out = run_admin(self.server.data_dir, "app", "create", "--name", "某科室人事系统",
                        "--servicecode", "hrsys16", "--directory-write",
                        "--org-scope", "001001").stdout
        app = SignedClient(base, "hrsys16", re.search(r"servicepwd=(\S+)", out).group(1))
        r = app.json("synchronizeUser", args=json.dumps({
            "loginname": "mole16", "username": "某某", "orgcoding": "001001",
            "mobile": victim_mobile, "loginpwd": "Mole-Passw0rd-1"}))
        self.assertEqual(str(r.get("result")), "0", r)
        payer = payment_login(base, "mole16", "Mole-Passw0rd-1")
        r = payer.get(base + "/payment/api/payer/notices")
        self.assertEqual(r.status_code, 200, r.text)
        self.assertNotIn(no, [n["notice_no"] for n in r.json()["items"]])

    def test_no_app_gives_a_user_a_real_name_level(self):
        # review16e: with level 2 an app's user matched a stranger's notices by
        # ID number (and mobile). Only the counter or the user's own proofs
        # raise a level; an app keeps the level a user has.
        base = self.server.base_url
        clerk = clerk_client(self.server)
        victim_id = resident_id(902)
        body = notice_body("R16VICTIM2")
        body["payer"] = {"name": "孙受害", "id_number": victim_id, "mobile": "13766660002"}
        no = clerk.ok("POST", "notices", body)["notice_no"]
        out = run_admin(self.server.data_dir, "app", "create", "--name", "另一科室系统",
                        "--servicecode", "hrsys16b", "--directory-write",
                        "--org-scope", "001001").stdout
        app = SignedClient(base, "hrsys16b", re.search(r"servicepwd=(\S+)", out).group(1))
        user = {"loginname": "mole16b", "username": "某某", "orgcoding": "001001",
                "idnum": victim_id, "idtype": "1", "loginpwd": "Mole-Passw0rd-1"}
        r = app.json("synchronizeUser", args=json.dumps(dict(user, authlevel="2")))
        self.assertEqual(str(r.get("result")), "2003", r)
        r = app.json("synchronizeUser", args=json.dumps(user))
        self.assertEqual(str(r.get("result")), "0", r)
        r = app.json("synchronizeUser", args=json.dumps(dict(user, authlevel="3")))
        self.assertEqual(str(r.get("result")), "2003", r)
        payer = payment_login(base, "mole16b", "Mole-Passw0rd-1")
        r = payer.get(base + "/payment/api/payer/notices")
        self.assertEqual(r.status_code, 200, r.text)
        self.assertNotIn(no, [n["notice_no"] for n in r.json()["items"]])

    def test_no_app_moves_a_real_name_users_identity(self):
        # review16f: an app kept a level-2 user's level but moved its ID number
        # to a stranger's (and set a password it knew): the level vouched for
        # the stranger. A real-name user's name, ID and mobile are the counter's.
        base = self.server.base_url
        csv = os.path.join(self.server.data_dir, "staff16f.csv")
        with open(csv, "w", encoding="utf-8") as f:
            f.write("loginname,username,orgcoding,idtype,idnum,authlevel,loginpwd\n")
            f.write("staff16f,某员工,001001,1,%s,2,Staff-Passw0rd-1\n" % resident_id(904))
        run_admin(self.server.data_dir, "user", "import", csv)
        out = run_admin(self.server.data_dir, "app", "create", "--name", "科室系统16f",
                        "--servicecode", "hrsys16f", "--directory-write",
                        "--org-scope", "001001").stdout
        app = SignedClient(base, "hrsys16f", re.search(r"servicepwd=(\S+)", out).group(1))
        for change in ({"idtype": "1", "idnum": resident_id(903)}, {"mobile": "13766660003"},
                       {"username": "钱受害"}):
            r = app.json("synchronizeUser", args=json.dumps(dict(
                change, loginname="staff16f", orgcoding="001001"), ensure_ascii=False))
            self.assertEqual(str(r.get("result")), "2003", (change, r))
        # The rest of the record still syncs.
        r = app.json("synchronizeUser", args=json.dumps(
            {"loginname": "staff16f", "orgcoding": "001001", "email": "s16f@example.cn"}))
        self.assertEqual(str(r.get("result")), "0", r)

    def test_a_case_fee_notice_number_is_not_derived_from_the_case_number(self):
        base = self.server.base_url
        ensure_staff(base, admin_login(self.server), orgs=(), users=[
            ("feeclerk16", "001", ["intake", "accept", "undertake", "review", "approve",
                                   "matters"])])
        clerk = staff_login(base, "feeclerk16")
        body = matter_body("001", name="收费测试事项十六")
        body.update(has_fee=True, fees=[{"item_code": "00034003", "amount_fen": 2500}])
        matter = clerk.ok("POST", "matters", body)
        case = clerk.ok("POST", "cases", {
            "implement_code": matter["implement_code"],
            "applicant": {"type": "person", "name": "钱受害", "id_type": "10",
                          "id_number": resident_id(555), "mobile": "13855550001"},
            "materials": [{"name": "申请表", "form": "paper", "copies": 1}]})["case"]
        clerk.act_ok(case["number"], "accept", opinion="受理",
                     expected_revision=case["revision"])
        fees = clerk.get("cases/%s/fees" % case["number"])
        self.assertEqual(fees.status_code, 200, fees.text)
        numbers = [n["notice_no"] for n in fees.json()["items"]]
        self.assertTrue(numbers, fees.text)
        anon = requests.Session()
        channel_no = anon.get(
            base + "/payment/api/public/notices/330001296DEMO0001").json()["channel_no"]
        guessed = (channel_no + "AP" + hashlib.sha256(case["number"].encode()).hexdigest()[:20]
                   + "01")
        self.assertNotIn(guessed, numbers)
        r = anon.get(base + "/payment/api/public/notices/" + guessed)
        self.assertEqual(r.status_code, 404, r.text)

    def test_signed_directory_replies_are_not_cacheable(self):
        sc, pw = demo_credentials(self.server)
        app = SignedClient(self.server.base_url, sc, pw)
        for how in ("get", "post"):
            r = app.request("getUsersByOrg", how=how, orgcoding="001", datatype="json")
            self.assertEqual(r.status_code, 200, r.text)
            self.assertTrue(r.json().get("user"), r.text)
            self.assertIn("no-store", r.headers.get("Cache-Control", ""), how)


class LoginNamesInTheLog(unittest.TestCase):
    def test_what_was_typed_for_an_unknown_login_stays_out_of_the_log(self):
        server = TongbanServer().start()
        typed = [resident_id(404), "13844440004", "MyReal-Passw0rd!"]
        try:
            base = server.base_url
            for name in typed:
                b = requests.Session()
                page = b.get(base + "/sso/usp.do?action=ssoLogin")
                csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
                r = b.post(base + "/sso/usp.do", data={
                    "action": "ssoLogin", "csrf": csrf, "loginname": name,
                    "password": "whatever-1"}, allow_redirects=False)
                self.assertNotEqual(r.status_code, 302)
        finally:
            server.stop()  # the log is flushed once the server has stopped
            log = server.read_log()
            server.cleanup()
        self.assertIn("login_failed", log)
        for name in typed:
            self.assertNotIn(name, log)


if __name__ == "__main__":
    main()
