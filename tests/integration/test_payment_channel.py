"""Paying online through the real binaries: `tongban serve` with the sandbox
channel `tongban paysim` (a separate process) over real HTTP, and a unit's
system (a tiny HTTP endpoint here) receiving GetPay_Info. A notice is paid
through the pay call → paysim → signed notification → paid → receipt PDF
verified; the unit hears of each payment (signed, retried until it accepts,
one PAYNO). paysim's switches: a dropped notification is recovered by the
query sweeper, repeated and reordered ones credit once, a delayed one
arrives, a wrong amount is refused. Reconciliation of a statement with every
outcome, 补单, the refund ledger, the settlement .xlsx, and a corrupted
statement refused with a clear error. Every wait polls a state with a deadline."""
import io
import os
import re
import socket
import tempfile
import unittest
import zipfile

import requests

from payment_fixture import (API, Paysim, UnitEndpoint, china_date, clerk_client, link_unit,
                             notice_body, wait_for, write_config)
from test_payment_direct import pdf_text
from tongban_harness import TongbanServer, main


STATEMENT_CAP = 3 * 1024 * 1024


def refused_before_the_body(server, path, length):
    """The status line and body of the answer to a POST announcing `length`
    bytes of body, none of which is sent (a limit is applied on the header)."""
    host, port = server.base_url[len("http://"):].split(":")
    with socket.create_connection((host, int(port)), timeout=10) as s:
        s.sendall(("POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: text/csv\r\n"
                   "Content-Length: %d\r\n\r\n" % (path, host, length)).encode())
        answer = b""
        while b"\r\n\r\n" not in answer or not answer.endswith(b"}"):
            chunk = s.recv(65536)
            if not chunk:
                break
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    return head.split(b"\r\n")[0].decode(), body.decode()


class PaymentChannel(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.paysim = Paysim()
        cls.unit = UnitEndpoint()
        # The statement upload's own body limit (the server's stays 1 MiB).
        cls.config = write_config(cls.paysim, "max_statement_bytes = %d" % STATEMENT_CAP)
        try:
            cls.server = TongbanServer("--config", cls.config).start()
            cls.clerk = clerk_client(cls.server)
            link_unit(cls.server, cls.clerk, cls.unit)
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

    def setUp(self):
        self.paysim.switches(drop=0, repeat=0, delay_ms=0, reorder=0)

    # ---- helpers ----

    seq = 0

    def new_notice(self, amount="37.34"):
        PaymentChannel.seq += 1
        original = "CH%s%04d" % (os.urandom(3).hex().upper(), PaymentChannel.seq)
        return self.clerk.ok("POST", "notices", notice_body(original, amount))["notice_no"]

    def start_pay(self, notice_no):
        r = requests.post(self.server.url(API + "public/notices/%s/pay" % notice_no), json={},
                          timeout=10)
        self.assertEqual(r.status_code, 200, r.text)
        return r.json()

    def order_no_of(self, started):
        return started["order"]["order_no"]

    def notice(self, notice_no):
        return self.clerk.ok("GET", "notices/" + notice_no)

    def wait_paid(self, notice_no, timeout=20):
        return wait_for("%s paid" % notice_no,
                        lambda: (lambda n: n if n["state"] == "paid" else None)(
                            self.notice(notice_no)), timeout)

    def wait_unit_heard(self, notice_no, timeout=20):
        return wait_for("the unit hearing of %s" % notice_no,
                        lambda: notice_no in self.unit.notices(), timeout)

    # ---- tests ----

    def test_pay_notification_paid_receipt_and_the_unit_hears_once(self):
        no = self.new_notice("37.34")
        started = self.start_pay(no)
        self.assertEqual(started["amount_fen"], 3734)
        self.assertTrue(started["pay_url"].startswith(self.paysim.base_url + "/paysim/pay"))
        page = requests.get(started["pay_url"], timeout=10)
        self.assertIn("37.34", page.text)
        order_no = self.order_no_of(started)
        self.paysim.pay(order_no)
        notice = self.wait_paid(no)
        self.assertEqual(notice["paid_fen"], 3734)
        credited = [p for p in notice["payments"] if p["disposition"] == "credited"]
        self.assertEqual(len(credited), 1, notice["payments"])
        order = requests.get(self.server.url(API + "public/orders/" + order_no)).json()
        self.assertEqual((order["state"], order["notice_state"]), ("paid", "paid"))
        # The receipt PDF and its QR check code.
        r = requests.get(self.server.url(API + "public/notices/%s/receipt.pdf" % no))
        self.assertEqual(r.status_code, 200, r.text)
        text = pdf_text(r.content)
        self.assertIn(no, text)
        self.assertIn("37.34", text)
        code = re.search(r"校验码([0-9a-f]{16})", text).group(1)
        ok = requests.get(self.server.url(API + "public/verify"),
                          params={"notice_no": no, "code": code}).json()
        self.assertTrue(ok["valid"], ok)
        # The unit: GetPay_Info signed with its key, PAYMONEY in yuan.
        self.wait_unit_heard(no)
        got = [d for d in self.unit.deliveries if d["NOTICENO"] == no]
        self.assertEqual(got[0]["PAYMONEY"], "37.34")
        self.assertEqual(got[0]["PAYNO"], credited[0]["pay_no"])
        self.assertEqual(got[0]["method"], "GetPay_Info")
        self.assertEqual(self.unit.bad_signatures, 0)
        # Paid: a second pay call is refused.
        again = requests.post(self.server.url(API + "public/notices/%s/pay" % no), json={})
        self.assertEqual(again.status_code, 409, again.text)

    def test_a_unit_that_fails_is_retried_until_it_accepts(self):
        self.unit.fail_first = 2
        try:
            no = self.new_notice("1.00")
            self.paysim.pay(self.order_no_of(self.start_pay(no)))
            self.wait_unit_heard(no)
            pay_no = [d for d in self.unit.deliveries if d["NOTICENO"] == no][0]["PAYNO"]
            self.assertEqual(self.unit.failed[pay_no], 2)
        finally:
            self.unit.fail_first = 0
        # The unit answered before tongban marks the message delivered: poll.
        wait_for("%s listed as delivered" % no, lambda: no in [
            m["notice_no"] for m in
            self.clerk.ok("GET", "unit-notifications", state="delivered")["items"]], 10)

    def test_a_dropped_notification_is_recovered_by_the_query_sweeper(self):
        self.paysim.switches(drop=1)
        no = self.new_notice("2.00")
        order_no = self.order_no_of(self.start_pay(no))
        self.paysim.pay(order_no)
        self.assertEqual(self.paysim.order(order_no)["notifications_sent"], 0)
        self.wait_paid(no)
        self.assertEqual(self.paysim.order(order_no)["notifications_sent"], 0)
        self.wait_unit_heard(no)

    def test_repeated_notifications_credit_once(self):
        self.paysim.switches(repeat=3)
        no = self.new_notice("3.00")
        order_no = self.order_no_of(self.start_pay(no))
        self.paysim.pay(order_no)
        wait_for("four notifications accepted",
                 lambda: self.paysim.order(order_no)["notifications_accepted"] >= 4)
        notice = self.wait_paid(no)
        self.assertEqual(len(notice["payments"]), 1, notice["payments"])
        self.assertEqual(notice["paid_fen"], 300)
        self.wait_unit_heard(no)
        self.assertEqual(len(self.unit.by_pay_no()[notice["payments"][0]["pay_no"]]), 1)

    def test_reordered_and_delayed_notifications_each_pay_their_notice(self):
        self.paysim.switches(reorder=3, delay_ms=300)
        numbers = [self.new_notice("4.0%d" % i) for i in range(3)]
        orders = [self.order_no_of(self.start_pay(no)) for no in numbers]
        for o in orders:
            self.paysim.pay(o)
        for i, no in enumerate(numbers):
            notice = self.wait_paid(no)
            self.assertEqual(notice["paid_fen"], 400 + i)
            self.assertEqual(len(notice["payments"]), 1)

    def test_a_second_payment_of_a_paid_notice_is_flagged_for_refund(self):
        no = self.new_notice("5.00")
        first = self.order_no_of(self.start_pay(no))
        second = self.order_no_of(self.start_pay(no))  # a second tab, before paying the first
        self.paysim.pay(first)
        self.wait_paid(no)
        self.paysim.pay(second)
        notice = wait_for("the second payment recorded",
                          lambda: (lambda n: n if len(n["payments"]) == 2 else None)(
                              self.notice(no)))
        self.assertEqual(sorted(p["disposition"] for p in notice["payments"]),
                         ["credited", "refund_due"])
        self.assertEqual(notice["paid_fen"], 500)
        due = [p for p in self.clerk.ok("GET", "refunds")["items"] if p["notice_no"] == no]
        self.assertEqual(len(due), 1)
        refunded = self.clerk.ok("POST", "refunds", {"pay_no": due[0]["pay_no"],
                                                     "amount_fen": 500, "reason": "重复缴费",
                                                     "refund_no": "R-" + no})
        self.assertEqual(refunded["notice"]["state"], "paid")
        self.assertNotIn(no, [p["notice_no"] for p in self.clerk.ok("GET", "refunds")["items"]])

    def test_refunds_never_exceed_what_was_paid_even_near_the_integer_limit(self):
        no = self.new_notice("7.00")
        self.paysim.pay(self.order_no_of(self.start_pay(no)))
        pay_no = self.wait_paid(no)["payments"][0]["pay_no"]
        self.clerk.ok("POST", "refunds", {"pay_no": pay_no, "amount_fen": 1, "reason": "部分退款",
                                          "refund_no": "R1-" + no})
        for i, huge in enumerate((2**63 - 1, 2**63 - 700, 700)):
            r = self.clerk.send("POST", "refunds", {"pay_no": pay_no, "amount_fen": huge,
                                                    "reason": "超额", "refund_no": "RX%d-%s" % (i, no)})
            self.assertEqual(r.status_code, 400, r.text)
        done = self.clerk.ok("POST", "refunds", {"pay_no": pay_no, "amount_fen": 699,
                                                 "reason": "余额退款", "refund_no": "R2-" + no})
        self.assertEqual((done["notice"]["state"], done["notice"]["refunded_fen"]), ("refunded", 700))

    def test_a_notification_with_a_wrong_amount_is_refused(self):
        no = self.new_notice("6.00")
        order_no = self.order_no_of(self.start_pay(no))
        self.paysim.pay(order_no, amount_fen=1)
        wait_for("the order disputed", lambda: requests.get(
            self.server.url(API + "public/orders/" + order_no)).json()["state"] == "disputed")
        self.assertEqual(self.notice(no)["state"], "unpaid")
        self.assertEqual(self.paysim.order(order_no)["notifications_accepted"], 0)

    def test_a_forged_notification_is_refused(self):
        r = requests.post(self.server.url(API + "channel/notify"),
                          data={"order_no": "P1", "channel_serial": "X", "amount_fen": "1",
                                "paid_at": "1", "status": "paid", "sign": "0" * 64})
        self.assertEqual((r.status_code, r.text), (400, "fail"))

    def test_reconciliation_with_every_outcome_reissue_and_settlement(self):
        paid = []
        for i in range(4):
            no = self.new_notice("7.0%d" % i)
            o = self.order_no_of(self.start_pay(no))
            self.paysim.pay(o)
            self.wait_paid(no)
            paid.append(o)
        # Paid at the channel, never heard of here: notification dropped and the
        # sweeper off this order's horizon until reconciliation (query_after 1.5 s,
        # the statement is read at once).
        self.paysim.switches(drop=1)
        lost_no = self.new_notice("7.50")
        lost = self.order_no_of(self.start_pay(lost_no))
        self.paysim.pay(lost)
        matched, wrong_amount, omitted, refunded = paid
        r = requests.post(self.paysim.url("/paysim/admin/statement"),
                          data={"wrong_amount": wrong_amount, "omit": omitted,
                                "status": refunded + ":refunded", "extra": 1, "malformed": 1})
        self.assertEqual(r.status_code, 200, r.text)
        try:
            run = self.clerk.ok("POST", "reconcile/runs", {"date": china_date()})
        finally:
            requests.post(self.paysim.url("/paysim/admin/statement"), data={})
        counts = run["counts"]
        self.assertGreaterEqual(counts["matched"], 1)
        self.assertEqual(counts["missing_local"], 1)
        # >= : the class's other tests' orders are on the same day's statement.
        self.assertGreaterEqual(counts["amount_mismatch"], 1)
        self.assertGreaterEqual(counts["status_mismatch"], 1)
        self.assertGreaterEqual(counts["missing_channel"], 1)
        self.assertEqual(run["bad_lines"], 1)
        self.assertIn("line", run["bad_sample"])
        items = self.clerk.ok("GET", "reconcile/runs/%d/items" % run["id"])["items"]
        by_order = {i["order_no"]: i["outcome"] for i in items}
        self.assertEqual(by_order[wrong_amount], "amount_mismatch")
        self.assertEqual(by_order[omitted], "missing_channel")
        self.assertEqual(by_order[refunded], "status_mismatch")
        self.assertNotIn(matched, by_order)
        # The lost one: paid there, pending here (unless the sweeper got it first).
        if lost in by_order:
            self.assertEqual(by_order[lost], "status_mismatch")
            item = [i for i in items if i["order_no"] == lost][0]
            done = self.clerk.ok("POST", "reconcile/items/%d/reissue" % item["id"])
            self.assertIn(done["outcome"], ("credited", "duplicate"))
            again = self.clerk.ok("GET", "reconcile/runs/%d/items" % run["id"],
                                  outcome="status_mismatch")["items"]
            self.assertTrue([i for i in again if i["order_no"] == lost][0]["resolved_by"])
        self.wait_paid(lost_no)
        self.assertEqual(self.clerk.ok("GET", "reconcile/runs/%d" % run["id"])["id"], run["id"])
        self.assertIn(run["id"], [r["id"] for r in self.clerk.ok("GET", "reconcile/runs")["items"]])
        # The settlement report.
        x = self.clerk.get("reports/settlement.xlsx", date=china_date())
        self.assertEqual(x.status_code, 200, x.text)
        with zipfile.ZipFile(io.BytesIO(x.content)) as z:
            sheets = "".join(z.read(n).decode("utf-8") for n in z.namelist()
                             if n.endswith(".xml"))
        self.assertIn("000368", sheets)

    def test_a_corrupted_statement_is_refused_with_a_clear_error(self):
        r = self.clerk.send("POST", "reconcile/upload?date=" + china_date(),
                            headers={"Content-Type": "text/csv"},
                            data="<html>502 Bad Gateway</html>\nnot,a,statement\n")
        self.assertEqual(r.status_code, 400, r.text)
        self.assertIn("对账单无法读取", r.json()["error"]["message"])
        bad_date = self.clerk.send("POST", "reconcile/upload?date=2026-1-1",
                                   headers={"Content-Type": "text/csv"}, data="x\n")
        self.assertEqual(bad_date.status_code, 400)

    def test_a_statement_over_1_mib_is_reconciled_one_over_the_cap_refused(self):
        day = china_date()
        lines = ["order_no,channel_serial,amount_fen,paid_at,status"]
        lines += ["BIGSTMT%08d,SER%08d,100,%s120000,paid" % (i, i, day) for i in range(30000)]
        statement = ("\n".join(lines) + "\n").encode()
        self.assertGreater(len(statement), 1024 * 1024)
        self.assertLess(len(statement), STATEMENT_CAP)
        r = self.clerk.send("POST", "reconcile/upload?date=" + day,
                            headers={"Content-Type": "text/csv"}, data=statement)
        self.assertEqual(r.status_code, 200, r.text[:300])
        run = r.json()
        self.assertEqual((run["lines"], run["bad_lines"]), (30000, 0))
        self.assertEqual(run["counts"]["missing_local"], 30000)
        # Over the cap: 413 on the header alone, before any of the body is read.
        status, body = refused_before_the_body(
            self.server, API + "reconcile/upload?date=" + day, STATEMENT_CAP + 1)
        self.assertIn(" 413 ", status)
        self.assertIn("payload_too_large", body)
        # Every other route keeps the server's 1 MiB.
        status, body = refused_before_the_body(self.server, API + "notices", 1024 * 1024 + 1)
        self.assertIn(" 413 ", status)
        status, _ = refused_before_the_body(self.server, API + "reconcile/runs", 1024 * 1024 + 1)
        self.assertIn(" 413 ", status)

    def test_the_sandbox_is_refused_in_production(self):
        fd, path = tempfile.mkstemp(suffix=".toml")
        with os.fdopen(fd, "w") as f:
            f.write('[payment]\nchannel = "sandbox"\nchannel_url = "%s"\nchannel_key = "k"\n'
                    % self.paysim.base_url)
        server = TongbanServer("--config", path, start_timeout=15)
        try:
            with self.assertRaises(RuntimeError) as failed:
                server.start()
            self.assertIn("refused in production", str(failed.exception))
        finally:
            server.cleanup()
            os.unlink(path)

if __name__ == "__main__":
    main()
