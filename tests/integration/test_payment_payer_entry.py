"""Scheme 7 (缴款人自助录入) through the real binary: a unit onboarded with
scheme 7 through the 联系单 workflow; a logged-in payer proposes a notice
(their ID number and mobile are taken from their SSO user, not the body);
a unit's clerk confirms it — the notice is created, payable, source payer —
or refuses another with a reason; a unit of another scheme takes none; a
payer cannot act as the clerk; a second confirmation changes nothing."""
import os
import sqlite3
import unittest

from approval_fixture import Client, admin_login
from payment_fixture import API, clerk_client, notice_body, payment_login
from tongban_harness import TongbanServer, main

PAYER_ID = "11010519491231002X"


class PayerEntry(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = TongbanServer().start()
        try:
            base = cls.server.base_url
            cls.clerk = clerk_client(cls.server)
            unit = cls.clerk.ok("GET", "units/000368")
            unit.update(entercode="000777", channel_no="330001777", scheme=7,
                        name="自助录入测试单位")
            app = cls.clerk.ok("POST", "applications", unit)
            cls.clerk.ok("POST", "applications/%d/submit" % app["id"])
            for stage in ("finance", "egov"):
                cls.clerk.ok("POST", "applications/%d/opinions" % app["id"],
                             {"stage": stage, "approve": True, "date": "20261201",
                              "text": "同意"})
            assert cls.clerk.ok("GET", "units/000777")["state"] == "active"
            admin = admin_login(cls.server)
            admin.ok("POST", "users", {"loginname": "selfpayer", "username": "自助缴款人",
                                       "orgcoding": "001", "password": "Pay-Pass-1",
                                       "idnum": PAYER_ID, "mobile": "13900001234"})
            cls.payer = Client(base, payment_login(base, "selfpayer", "Pay-Pass-1"), API,
                               me_path="payer/me")
        except BaseException:
            cls.server.cleanup()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.server.cleanup()

    def propose(self, entercode="000777", amount="88.00"):
        return self.payer.send("POST", "payer/entries", {
            "entercode": entercode, "payer": {"name": "自助缴款人", "id_number": "forged"},
            "lines": [{"chitcode": "00034003", "amount": amount}]})

    def test_propose_confirm_and_pay_by_number(self):
        r = self.propose()
        self.assertEqual(r.status_code, 200, r.text)
        entry = r.json()
        self.assertEqual(entry["state"], "proposed")
        self.assertEqual(entry["notice"]["payer"]["id_number"], PAYER_ID)
        mine = self.payer.ok("GET", "payer/entries")["items"]
        self.assertIn(entry["id"], [e["id"] for e in mine])
        # The payer is no clerk.
        self.assertEqual(self.payer.send("POST", "entries/%d/confirm" % entry["id"],
                                         {}).status_code, 403)
        queue = self.clerk.ok("GET", "entries", entercode="000777", state="proposed")["items"]
        self.assertIn(entry["id"], [e["id"] for e in queue])
        done = self.clerk.ok("POST", "entries/%d/confirm" % entry["id"], {"ywcode": "SELF-1"})
        notice = done["notice"]
        self.assertEqual((notice["state"], notice["total"], notice["source"]),
                         ("unpaid", "88.00", "payer"))
        self.assertTrue(notice["notice_no"].startswith("330001777PE"))
        self.assertEqual(done["entry"]["notice_no"], notice["notice_no"])
        again = self.clerk.send("POST", "entries/%d/confirm" % entry["id"], {})
        self.assertEqual(again.status_code, 409, again.text)
        # The payer finds it by number and by their ID number.
        public = self.payer.ok("GET", "public/notices/" + notice["notice_no"])
        self.assertTrue(public["payable"])
        numbers = [n["notice_no"] for n in self.payer.ok("GET", "payer/notices")["items"]]
        self.assertIn(notice["notice_no"], numbers)

    # Session 14 (review14): a notice made another way under the number a
    # confirmation would use was taken for "confirmed before", and the entry
    # was bound to it (another amount, or another unit's notice).
    def test_a_number_held_by_another_notice_is_not_taken_as_confirmed(self):
        # The number an older binary gave ("PE" + the id) held by a unit's own
        # notice: not this entry's. The entry's notice number is keyed
        # (review16d), so nobody can take it beforehand.
        r = self.propose()
        self.assertEqual(r.status_code, 200, r.text)
        entry = r.json()
        body = notice_body("PE%010d" % entry["id"], amount="999.00")
        body["entercode"] = "000777"
        held = self.clerk.ok("POST", "notices", body)
        done = self.clerk.ok("POST", "entries/%d/confirm" % entry["id"], {})
        self.assertNotEqual(done["notice"]["notice_no"], held["notice_no"])
        self.assertNotIn("%010d" % entry["id"], done["notice"]["notice_no"])
        self.assertEqual(done["notice"]["total"], "88.00")
        self.assertEqual(self.clerk.ok("GET", "notices/" + held["notice_no"])["total"], "999.00")

    def test_a_channel_number_overlapping_another_units_is_refused(self):
        unit = self.clerk.ok("GET", "units/000777")
        for channel in ("33000177", "3300017771"):
            unit.update(entercode="000778", channel_no=channel, name="前缀单位")
            r = self.clerk.send("POST", "applications", unit)
            self.assertEqual(r.status_code, 409, r.text)
            self.assertIn("互为前缀", r.text)

    def test_only_what_a_payer_may_propose_reaches_the_notice(self):
        r = self.payer.send("POST", "payer/entries", {
            "entercode": "000777", "payer": {"name": "自助缴款人"}, "count_overdue": True,
            "print_info": "已核准免缴", "true_name": True, "expire_date": "20991231",
            "lines": [{"chitcode": "00034003", "amount": "12.00", "standard": "0.01"}]})
        self.assertEqual(r.status_code, 200, r.text)
        notice = self.clerk.ok("POST", "entries/%d/confirm" % r.json()["id"], {})["notice"]
        self.assertEqual(notice["print_info"], "")
        self.assertFalse(notice["count_overdue"])
        self.assertNotEqual(notice.get("expire_date"), "20991231")
        self.assertEqual(notice["total"], "12.00")

    def test_an_unchecked_id_number_finds_no_one_elses_notices(self):
        # Anyone may self-register with any valid ID number: until it is checked (real-name
        # level 2) it does not open the notices of that ID's payer.
        theirs = self.clerk.ok("POST", "notices", notice_body("CLAIM%04d" % os.getpid()))
        mine = [n["notice_no"] for n in self.payer.ok("GET", "payer/notices")["items"]]
        self.assertNotIn(theirs["notice_no"], mine)
        admin = admin_login(self.server)
        admin.ok("POST", "users", {"loginname": "checkedpayer", "username": "赵六",
                                   "orgcoding": "001", "password": "Pay-Pass-1",
                                   "idnum": PAYER_ID, "mobile": "13900009999", "authlevel": "2"})
        checked = Client(self.server.base_url,
                         payment_login(self.server.base_url, "checkedpayer", "Pay-Pass-1"), API,
                         me_path="payer/me")
        found = [n["notice_no"] for n in checked.ok("GET", "payer/notices")["items"]]
        self.assertIn(theirs["notice_no"], found)

    def test_refuse_with_a_reason(self):
        entry = self.propose(amount="1.00").json()
        self.assertEqual(self.clerk.send("POST", "entries/%d/refuse" % entry["id"],
                                         {}).status_code, 400)
        refused = self.clerk.ok("POST", "entries/%d/refuse" % entry["id"],
                                {"reason": "金额有误"})
        self.assertEqual((refused["state"], refused["reason"]), ("refused", "金额有误"))

    # review15d: a confirmation stores its notice and closes the entry in one
    # transaction; an entry a crash of an older binary left proposed beside its
    # notice is confirmed again (the same notice), never refused.
    def test_an_entry_with_its_notice_is_confirmed_not_refused(self):
        entry = self.propose(amount="2.00").json()
        done = self.clerk.ok("POST", "entries/%d/confirm" % entry["id"], {})
        db = sqlite3.connect(os.path.join(self.server.data_dir, "tongban.db"))
        with db:
            db.execute("UPDATE payment_payer_entries SET state = 'proposed', notice_no = '' "
                       "WHERE id = ?", (entry["id"],))
        db.close()
        r = self.clerk.send("POST", "entries/%d/refuse" % entry["id"], {"reason": "金额有误"})
        self.assertEqual(r.status_code, 409, r.text)
        self.assertIn(done["notice"]["notice_no"], r.text)
        again = self.clerk.ok("POST", "entries/%d/confirm" % entry["id"], {})
        self.assertEqual(again["notice"]["notice_no"], done["notice"]["notice_no"])
        self.assertEqual(again["entry"]["state"], "confirmed")

    def test_a_unit_of_another_scheme_takes_no_self_entry(self):
        r = self.propose(entercode="000368")
        self.assertEqual(r.status_code, 404, r.text)
        bad_item = self.payer.send("POST", "payer/entries", {
            "entercode": "000777", "payer": {"name": "x"}, "lines": []})
        self.assertEqual(bad_item.status_code, 400, bad_item.text)


if __name__ == "__main__":
    main()
