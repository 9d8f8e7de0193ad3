"""Cases that cost money (办件收费) through the real binaries: a matter with fee
items (approval's matter definition), an applicant applying online in the
hall, 受理 raising a payment notice for the applicant at the unit collecting
for the matter's org, the applicant paying it through the sandbox channel
(`tongban paysim`), and the payment showing on the case — for the applicant
and for the clerk. Raising again gives the same notice."""
import os
import unittest

import requests

from approval_fixture import (API as APPROVAL_API, PASSWORD, Client, admin_login, browser_login,
                              ensure_staff, matter_body, registration, staff_login)
from payment_fixture import API, Paysim, UnitEndpoint, clerk_client, link_unit, wait_for, write_config
from tongban_harness import TongbanServer, main

ROLES = ["intake", "accept", "undertake", "review", "approve", "matters"]
# The demo payment unit 000368 collects for org 001 and item 00034003.
ORG = "001"


class CaseFees(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.paysim = Paysim()
        cls.unit = UnitEndpoint()
        cls.config = write_config(cls.paysim)
        try:
            cls.server = TongbanServer("--config", cls.config).start()
            base = cls.server.base_url
            link_unit(cls.server, clerk_client(cls.server), cls.unit)
            admin = admin_login(cls.server)
            ensure_staff(base, admin, orgs=(), users=[("feeclerk", ORG, ROLES),
                                                      ("feeappl", ORG, [])])
            cls.clerk = staff_login(base, "feeclerk")
            cls.applicant = Client(base, browser_login(base, "feeappl", PASSWORD), APPROVAL_API,
                                   me_path="applicant/me")
            body = matter_body(ORG, name="收费测试事项")
            body.update(online=True, has_fee=True,
                        fees=[{"item_code": "00034003", "amount_fen": 2500}])
            cls.matter = cls.clerk.ok("POST", "matters", body)
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        if getattr(cls, "server", None):
            cls.server.cleanup()
        cls.paysim.stop()
        cls.unit.stop()
        os.unlink(cls.config)

    def test_the_matter_keeps_its_fee_items(self):
        got = self.clerk.ok("GET", "matters/" + self.matter["implement_code"])
        self.assertEqual(got["fees"], [{"item_code": "00034003", "amount_fen": 2500}])
        self.assertTrue(got["has_fee"])
        bad = matter_body(ORG, name="无收费标志")
        bad["fees"] = [{"item_code": "00034003", "amount_fen": 100}]
        r = self.clerk.send("POST", "matters", bad)
        self.assertEqual(r.status_code, 400, r.text)
        bad.update(has_fee=True, fees=[{"item_code": "00034003", "amount_fen": 0}])
        self.assertEqual(self.clerk.send("POST", "matters", bad).status_code, 400)

    def test_apply_accept_pay_in_the_hall_and_the_case_shows_the_payment(self):
        r = self.applicant.send("POST", "applicant/cases",
                                registration(self.matter["implement_code"], 41))
        self.assertEqual(r.status_code, 200, r.text)
        number = r.json()["case"]["number"]
        self.assertEqual(self.applicant.ok("GET", "applicant/cases/%s/fees" % number)["items"], [])
        accepted = self.clerk.act_ok(number, "accept", opinion="受理")
        notices = accepted["fees"]["items"]
        self.assertEqual(len(notices), 1, accepted)
        notice = notices[0]
        self.assertEqual((notice["total_fen"], notice["state"], notice["entercode"]),
                         (2500, "unpaid", "000368"))
        # Raising again (a retry) gives the same notice, not a second one.
        again = self.clerk.ok("POST", "cases/%s/fees" % number)["items"]
        self.assertEqual([n["notice_no"] for n in again], [notice["notice_no"]])
        # The applicant sees it on the case and pays it in the hall.
        mine = self.applicant.ok("GET", "applicant/cases/%s/fees" % number)["items"]
        self.assertEqual(mine[0]["notice_no"], notice["notice_no"])
        started = requests.post(self.server.url(mine[0]["pay_api"]), json={}, timeout=10)
        self.assertEqual(started.status_code, 200, started.text)
        self.assertEqual(started.json()["amount_fen"], 2500)
        self.paysim.pay(started.json()["order"]["order_no"])

        def paid_on_case():
            items = self.applicant.ok("GET", "applicant/cases/%s/fees" % number)["items"]
            return items if items[0]["state"] == "paid" else None

        items = wait_for("the payment on the case", paid_on_case)
        self.assertEqual(items[0]["paid_fen"], 2500)
        self.assertTrue(items[0]["pay_no"])
        staff_view = self.clerk.ok("GET", "cases/%s/fees" % number)["items"]
        self.assertEqual(staff_view[0]["state"], "paid")
        receipt = requests.get(self.server.url(items[0]["receipt"]), timeout=10)
        self.assertEqual(receipt.headers["Content-Type"], "application/pdf")
        # Another applicant's case is not theirs to see.
        other = self.applicant.get("applicant/cases/%s/fees" % ("9" * 43))
        self.assertNotEqual(other.status_code, 200)

    def test_a_case_not_yet_accepted_raises_nothing(self):
        r = self.clerk.send("POST", "cases", registration(self.matter["implement_code"], 42))
        self.assertEqual(r.status_code, 200, r.text)
        number = r.json()["case"]["number"]
        refused = self.clerk.send("POST", "cases/%s/fees" % number)
        self.assertEqual(refused.status_code, 409, refused.text)

    def test_a_voided_case_leaves_no_payable_notice(self):
        # review15d: voided after 受理, its unpaid notice is cancelled with it
        # (one transaction), and no fee is raised for it any more.
        case = self.clerk.ok("POST", "cases", registration(self.matter["implement_code"], 43))["case"]
        accepted = self.clerk.act_ok(case["number"], "accept", opinion="受理",
                                     expected_revision=case["revision"])
        no = accepted["fees"]["items"][0]["notice_no"]
        public = API + "public/notices/" + no
        self.assertTrue(requests.get(self.server.url(public), timeout=10).json()["payable"])
        self.clerk.act_ok(case["number"], "void", opinion="申请人撤销申请",
                          expected_revision=accepted["revision"])
        notice = requests.get(self.server.url(public), timeout=10).json()
        self.assertFalse(notice["payable"], notice)
        self.assertEqual(notice["state"], "cancelled", notice)
        again = self.clerk.send("POST", "cases/%s/fees" % case["number"])
        self.assertEqual(again.status_code, 409, again.text)


class CaseFeesOfAnOrgWithTwoUnits(unittest.TestCase):
    """review15d: one notice a case, even once its org gains a second
    collecting unit (one that would now be chosen first)."""

    def setUp(self):
        self.server = TongbanServer().start()
        self.addCleanup(self.server.cleanup)

    def test_raising_again_gives_the_cases_one_notice(self):
        base = self.server.base_url
        pay_clerk = clerk_client(self.server)
        ensure_staff(base, admin_login(self.server), orgs=(), users=[("feeclerk", ORG, ROLES)])
        clerk = staff_login(base, "feeclerk")
        body = matter_body(ORG, name="收费测试事项")
        body.update(has_fee=True, fees=[{"item_code": "00034003", "amount_fen": 2500}])
        matter = clerk.ok("POST", "matters", body)
        case = clerk.ok("POST", "cases", registration(matter["implement_code"], 7))["case"]
        accepted = clerk.act_ok(case["number"], "accept", opinion="受理",
                                expected_revision=case["revision"])
        first = [n["notice_no"] for n in accepted["fees"]["items"]]
        self.assertEqual(len(first), 1, accepted)
        # A unit after it, then one before it in entercode order: whichever
        # unit would be chosen now, the case keeps its notice.
        for entercode in ("000777", "000111"):
            unit = pay_clerk.ok("GET", "units/000368")
            unit.update(entercode=entercode, channel_no="330001" + entercode[3:],
                        name="执收单位 " + entercode)
            application = pay_clerk.ok("POST", "applications", unit)
            pay_clerk.ok("POST", "applications/%d/submit" % application["id"])
            for stage in ("finance", "egov"):
                pay_clerk.ok("POST", "applications/%d/opinions" % application["id"],
                             {"stage": stage, "approve": True, "date": "20261201", "text": "同意"})
            self.assertEqual(pay_clerk.ok("GET", "units/" + entercode)["state"], "active")
            again = clerk.ok("POST", "cases/%s/fees" % case["number"])
            self.assertEqual([n["notice_no"] for n in again["items"]], first, entercode)
            items = clerk.ok("GET", "cases/%s/fees" % case["number"])["items"]
            self.assertEqual([n["notice_no"] for n in items], first, entercode)


if __name__ == "__main__":
    main()
