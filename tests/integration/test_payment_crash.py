"""kill -9 of tongban during a payment burst (tongban serve + tongban paysim +
a unit's endpoint, all over real HTTP): payers keep paying at the channel
while tongban is down; after a restart on the same address every order paid
at the channel is paid in tongban exactly once (the channel's re-sends and
the query sweeper bring the lost ones), no notice has a second payment, and
the unit has heard of each payment under one PAYNO (repeats deduplicated)."""
import os
import socket
import threading
import unittest

import requests

from approval_fixture import Client
from payment_fixture import (API, CLERK_RE, Paysim, UnitEndpoint, link_unit, notice_body,
                             payment_login, wait_for, write_config)
from tongban_harness import TongbanServer, main

THREADS = 4
PAID_BEFORE_KILL = 24


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PaymentCrash(unittest.TestCase):
    def setUp(self):
        self.paysim = Paysim()
        self.addCleanup(self.paysim.stop)
        self.unit = UnitEndpoint()
        self.addCleanup(self.unit.stop)
        self.config = write_config(self.paysim)
        self.addCleanup(os.unlink, self.config)
        self.port = free_port()

    def start(self, data_dir=None):
        server = TongbanServer("--config", self.config, data_dir=data_dir)
        server.args[server.args.index("--port") + 1] = str(self.port)
        server.start()
        self.addCleanup(server.cleanup)
        return server

    def test_kill_9_during_a_payment_burst_loses_nothing_and_pays_nothing_twice(self):
        server = self.start()
        found = [m for m in (CLERK_RE.search(l) for l in server.stdout_lines) if m][0]
        login = (found.group(1), found.group(2))
        clerk = Client(server.base_url, payment_login(server.base_url, *login), API)
        link_unit(server, clerk, self.unit)

        # One order placed now and paid while tongban is down: at least one
        # payment certainly lands in the outage, however the burst was timed.
        late_no = clerk.ok("POST", "notices", notice_body("KBLATE" + os.urandom(2).hex()))["notice_no"]
        late_order = requests.post(server.url(API + "public/notices/%s/pay" % late_no), json={},
                                   timeout=10).json()["order"]["order_no"]

        lock = threading.Lock()
        paid_at_channel = {}  # order_no -> notice_no
        enough = threading.Event()
        stop = threading.Event()

        def burst(worker):
            seq = 0
            while not stop.is_set():
                seq += 1
                try:
                    r = clerk.send("POST", "notices",
                                   notice_body("KB%d%05d%s" % (worker, seq, os.urandom(2).hex()),
                                               "%d.%02d" % (1 + worker, seq % 100)))
                    if r.status_code != 200:
                        return
                    no = r.json()["notice_no"]
                    r = requests.post(server.url(API + "public/notices/%s/pay" % no), json={},
                                      timeout=10)
                    if r.status_code != 200:
                        return
                    order_no = r.json()["order"]["order_no"]
                except requests.RequestException:
                    return  # tongban died under this call
                # The payer pays at the channel whether tongban is up or not.
                self.paysim.pay(order_no)
                with lock:
                    paid_at_channel[order_no] = no
                    if len(paid_at_channel) >= PAID_BEFORE_KILL:
                        enough.set()

        threads = [threading.Thread(target=burst, args=(i,)) for i in range(THREADS)]
        for t in threads:
            t.start()
        self.assertTrue(enough.wait(120), "the burst did not reach %d payments" % PAID_BEFORE_KILL)
        server.kill()
        stop.set()
        for t in threads:
            t.join(30)
        self.paysim.pay(late_order)
        with lock:
            paid = dict(paid_at_channel)
        paid[late_order] = late_no
        unacknowledged = [o for o in paid if self.paysim.order(o)["notifications_accepted"] == 0]
        self.assertIn(late_order, unacknowledged)

        restarted = self.start(data_dir=server.data_dir)
        clerk = Client(restarted.base_url, payment_login(restarted.base_url, *login), API)

        def all_paid():
            for no in paid.values():
                if clerk.ok("GET", "notices/" + no)["state"] != "paid":
                    return False
            return True

        wait_for("every notice paid at the channel to be paid in tongban", all_paid, timeout=60,
                 interval=0.2)
        for order_no, no in paid.items():
            notice = clerk.ok("GET", "notices/" + no)
            self.assertEqual([p["disposition"] for p in notice["payments"]], ["credited"], no)
            self.assertEqual(notice["paid_fen"], notice["total_fen"], no)

        def unit_heard_all():
            heard = set(self.unit.notices())
            return set(paid.values()) <= heard

        wait_for("the unit to hear of every payment", unit_heard_all, timeout=60, interval=0.2)
        by_pay_no = self.unit.by_pay_no()
        per_notice = {}
        for pay_no, deliveries in by_pay_no.items():
            per_notice.setdefault(deliveries[0]["NOTICENO"], set()).add(pay_no)
        for no in paid.values():
            self.assertEqual(len(per_notice[no]), 1, (no, per_notice[no]))
        self.assertEqual(self.unit.bad_signatures, 0)


if __name__ == "__main__":
    main()
