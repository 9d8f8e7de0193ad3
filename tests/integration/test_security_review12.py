"""Session 12's read-only attack review (review12), pinned through the real
binary:

- an .xlsx of ~1 MiB shared string referenced by thousands of cells (a few KB
  upload) made the server allocate gigabytes in the payment notice import and
  the approval matter import; now a clear 413 at once, the server unharmed;
- anyone holding a notice number could open channel orders without end (each
  queried for 48 h by the sweep that recovers lost notifications); now 5 in 10
  minutes and 20 open per notice;
- the same refund sent twice (a double click, a retry) was recorded twice; now
  a refund carries the caller's `refund_no` and a repeat refunds nothing more;
- one payer could bury a unit's self-entry queue (no cap, no paging); now 3
  waiting per unit and 10 in all per payer, and the clerk's queue pages.
"""
import io
import os
import threading
import unittest
import zipfile

import requests

from approval_fixture import Client, admin_login, ensure_staff, staff_login
from payment_fixture import (API, Paysim, clerk_client, notice_body, payment_login,
                             write_config)
from tongban_harness import TongbanServer, main

NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG = "http://schemas.openxmlformats.org/package/2006/relationships"


def shared_string_bomb(cells=4000):
    """A workbook whose one shared string (just under the 1 MiB part that the
    zip-bomb ratio check looks at) fills `cells` cells: a few KB compressed."""
    long = "A" * (1000 * 1000 - 1000)
    shared = ('<?xml version="1.0" encoding="UTF-8"?><sst xmlns="%s"><si><t>%s</t></si></sst>'
              % (NS, long))
    # 20 a row: within the columns both imports read (session 16 refuses a
    # value past them before anything else), so the text budget is what refuses.
    rows = "".join('<row r="%d">%s</row>' % (r + 1, '<c t="s"><v>0</v></c>' * 20)
                   for r in range(cells // 20))
    sheet = ('<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="%s"><sheetData>%s'
             '</sheetData></worksheet>' % (NS, rows))
    workbook = ('<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="%s" xmlns:r="%s"><sheets>'
                '<sheet name="S" sheetId="1" r:id="rId1"/></sheets></workbook>' % (NS, REL))
    workbook_rels = ('<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="%s">'
                     '<Relationship Id="rId1" Type="%s/worksheet" Target="worksheets/sheet1.xml"/>'
                     '<Relationship Id="rId2" Type="%s/sharedStrings" Target="sharedStrings.xml"/>'
                     '</Relationships>' % (PKG, REL, REL))
    root_rels = ('<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="%s">'
                 '<Relationship Id="rId1" Type="%s/officeDocument" Target="xl/workbook.xml"/>'
                 '</Relationships>' % (PKG, REL))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("_rels/.rels", root_rels)
        z.writestr("xl/workbook.xml", workbook)
        z.writestr("xl/_rels/workbook.xml.rels", workbook_rels)
        z.writestr("xl/sharedStrings.xml", shared)
        z.writestr("xl/worksheets/sheet1.xml", sheet)
    return out.getvalue()


def rss_mib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) // 1024
    return 0


class SecurityReview12(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.paysim = Paysim()
        cls.config = write_config(cls.paysim)
        try:
            cls.server = TongbanServer("--config", cls.config).start()
            cls.clerk = clerk_client(cls.server)
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        if getattr(cls, "server", None):
            cls.server.cleanup()
        cls.paysim.stop()
        os.unlink(cls.config)

    def new_notice(self, original, amount):
        r = self.clerk.send("POST", "notices", notice_body(original, amount))
        self.assertEqual(r.status_code, 200, r.text)
        return r.json()["notice_no"]

    # ---- 1. the .xlsx reader's memory ----

    def post_raw(self, client, url, data, **params):
        return client.b.post(url, params=params, data=data, timeout=60,
                             headers={"X-CSRF-Token": client.csrf,
                                      "Content-Type": "application/octet-stream"})

    def test_a_shared_string_bomb_is_refused_by_both_xlsx_imports(self):
        bomb = shared_string_bomb()
        self.assertLess(len(bomb), 64 * 1024)
        before = rss_mib(self.server.proc.pid)
        r = self.post_raw(self.clerk, self.server.url(API + "notices/import"), bomb,
                          entercode="000368", format="xlsx")
        self.assertEqual(r.status_code, 413, r.text)
        self.assertIn("more text", r.json()["error"]["message"])
        admin = admin_login(self.server)
        ensure_staff(self.server.base_url, admin, users=[("matters12", "001001", ["matters"])])
        matters = staff_login(self.server.base_url, "matters12")
        r = self.post_raw(matters, self.server.url("/approval/api/matters/import"), bomb)
        self.assertEqual(r.status_code, 413, r.text)
        # Refused within the text budget (64 MiB), not after gigabytes.
        self.assertLess(rss_mib(self.server.proc.pid) - before, 512)
        self.assertIsNone(self.server.proc.poll())
        self.assertEqual(requests.get(self.server.url("/livez"), timeout=10).status_code, 200)

    # ---- 2. open orders per notice ----

    def test_an_anonymous_caller_opens_a_few_orders_per_notice_not_any_number(self):
        no = self.new_notice("SR12PAY1", "10.00")
        anonymous = requests.Session()
        codes = []
        for _ in range(8):
            r = anonymous.post(self.server.url(API + "public/notices/%s/pay" % no), json={},
                               timeout=10)
            codes.append(r.status_code)
        self.assertEqual(codes, [200] * 5 + [409] * 3, codes)
        self.assertIn("分钟后再试", r.json()["error"]["message"])
        # Another notice is not affected.
        other = self.new_notice("SR12PAY2", "10.00")
        r = anonymous.post(self.server.url(API + "public/notices/%s/pay" % other), json={},
                           timeout=10)
        self.assertEqual(r.status_code, 200, r.text)

    # ---- 3. refunds carry the caller's number ----

    def test_the_same_refund_sent_twice_refunds_once(self):
        no = self.new_notice("SR12RF1", "100.00")
        r = self.clerk.send("POST", "notices/%s/counter-payment" % no,
                            {"trade_no": "BANK-SR12", "amount": "100.00"})
        self.assertEqual(r.status_code, 200, r.text)
        pay_no = [p for p in self.clerk.ok("GET", "notices/" + no)["payments"]
                  if p["disposition"] == "credited"][0]["pay_no"]
        body = {"pay_no": pay_no, "amount_fen": 1000, "reason": "多收 10 元",
                "refund_no": "SR12-REFUND-1"}
        # No number: refused, so no caller refunds without one.
        r = self.clerk.send("POST", "refunds", {k: v for k, v in body.items() if k != "refund_no"})
        self.assertEqual(r.status_code, 400, r.text)
        self.assertIn("refund_no", r.json()["error"]["message"])
        # A double click (two at once) and a retry afterwards.
        answers = []
        clicks = [threading.Thread(target=lambda: answers.append(
            self.clerk.send("POST", "refunds", body))) for _ in range(2)]
        for t in clicks:
            t.start()
        for t in clicks:
            t.join()
        answers.append(self.clerk.send("POST", "refunds", body))
        self.assertIn(200, [a.status_code for a in answers], [a.text for a in answers])
        for a in answers:
            self.assertIn(a.status_code, (200, 409), a.text)
        notice = self.clerk.ok("GET", "notices/" + no)
        self.assertEqual((notice["state"], notice["refunded_fen"]), ("partly_refunded", 1000))
        # The same number for another amount is a conflict; a new number refunds again.
        r = self.clerk.send("POST", "refunds", dict(body, amount_fen=500))
        self.assertEqual(r.status_code, 409, r.text)
        self.clerk.ok("POST", "refunds", dict(body, refund_no="SR12-REFUND-2"))
        self.assertEqual(self.clerk.ok("GET", "notices/" + no)["refunded_fen"], 2000)

    # ---- 4. the self-entry queue ----

    def test_one_payer_cannot_bury_a_units_self_entry_queue(self):
        unit = self.clerk.ok("GET", "units/000368")
        unit.update(entercode="000712", channel_no="330001712", scheme=7, name="自助录入十二")
        app = self.clerk.ok("POST", "applications", unit)
        self.clerk.ok("POST", "applications/%d/submit" % app["id"])
        for stage in ("finance", "egov"):
            self.clerk.ok("POST", "applications/%d/opinions" % app["id"],
                          {"stage": stage, "approve": True, "date": "20261201", "text": "同意"})
        admin = admin_login(self.server)
        admin.ok("POST", "users", {"loginname": "flood12", "username": "flood12",
                                   "orgcoding": "001", "password": "Pay-Pass-12",
                                   "idnum": "110105194912310029", "mobile": "13900001212"})
        base = self.server.base_url
        payer = Client(base, payment_login(base, "flood12", "Pay-Pass-12"), API,
                       me_path="payer/me")
        body = {"entercode": "000712", "payer": {"name": "x"},
                "lines": [{"chitcode": "00034003", "amount": "1.00"}]}
        codes = [payer.send("POST", "payer/entries", body).status_code for _ in range(5)]
        self.assertEqual(codes, [200, 200, 200, 409, 409], codes)
        r = payer.send("POST", "payer/entries", body)
        self.assertIn("待确认", r.json()["error"]["message"])
        # Refusing one frees a place.
        queue = self.clerk.ok("GET", "entries", entercode="000712", state="proposed")
        self.assertEqual(len(queue["items"]), 3)
        self.assertNotIn("next_before_id", queue)  # a short page is the last
        self.clerk.ok("POST", "entries/%d/refuse" % queue["items"][0]["id"], {"reason": "重复"})
        self.assertEqual(payer.send("POST", "payer/entries", body).status_code, 200)
        # The clerk pages back through everything older than a given entry.
        newest = self.clerk.ok("GET", "entries", entercode="000712")["items"]
        older = self.clerk.ok("GET", "entries", entercode="000712",
                              before_id=newest[0]["id"])["items"]
        self.assertEqual([e["id"] for e in older], [e["id"] for e in newest[1:]])
        r = self.clerk.send("GET", "entries", params={"entercode": "000712", "before_id": "x"})
        self.assertEqual(r.status_code, 400, r.text)


if __name__ == "__main__":
    main()
