"""kill -9 of the server in the middle of a burst of approval transitions from
several threads: after a restart, every transition the server acknowledged
(200) before it died is in the case's history, and its stage record is in
approval_outbox (read straight from the SQLite file)."""
import os
import sqlite3
import tempfile
import threading
import unittest

import requests

from approval_fixture import (admin_login, ensure_staff, matter_body, registration,
                              staff_login)
from tongban_harness import TongbanServer, main

ROLES = ["intake", "accept", "undertake", "review", "approve", "matters"]
THREADS = 6
ACKED_BEFORE_KILL = 120


class CrashTest(unittest.TestCase):
    def setUp(self):
        self.config = tempfile.NamedTemporaryFile("w", suffix=".toml", delete=False)
        # A hall target, so that transitions queue stage records (without one
        # nothing would consume them and none are written); checked below.
        self.config.write('[console]\nenabled = true\n[exchange]\n'
                          'hall_out_node = "QZ_330100_91350100M000100Y43"\n')
        self.config.close()
        self.addCleanup(os.unlink, self.config.name)
        self.server = TongbanServer("--config", self.config.name).start()
        self.addCleanup(self.server.cleanup)
        admin = admin_login(self.server)
        ensure_staff(self.server.base_url, admin, users=[("crashclerk", "001001", ROLES)])
        self.clerk = staff_login(self.server.base_url, "crashclerk")
        self.matter = self.clerk.ok("POST", "matters", matter_body("001001"))
        self.code = self.matter["implement_code"]

    def test_every_acknowledged_transition_survives_kill_9(self):
        acked = []  # (number, action)
        lock = threading.Lock()
        enough = threading.Event()
        stop = threading.Event()

        def record(number, action):
            with lock:
                acked.append((number, action))
                if len(acked) >= ACKED_BEFORE_KILL:
                    enough.set()

        def burst(worker):
            seq = worker * 1000
            try:
                while not stop.is_set():
                    seq += 1
                    r = self.clerk.send("POST", "cases", registration(self.code, seq))
                    if r.status_code != 200:
                        return
                    case = r.json()["case"]
                    record(case["number"], "register")
                    for action in ["accept"] + ["agree"] * len(self.matter["steps"]):
                        r = self.clerk.act(case["number"], action, opinion="同意",
                                           expected_revision=case["revision"])
                        if r.status_code != 200:
                            return
                        case = r.json()
                        record(case["number"], action)
            except requests.RequestException:
                return  # the server died under this request: not acknowledged

        threads = [threading.Thread(target=burst, args=(i,)) for i in range(THREADS)]
        for t in threads:
            t.start()
        self.assertTrue(enough.wait(120), "the burst did not reach %d transitions" %
                        ACKED_BEFORE_KILL)
        self.server.kill()
        stop.set()
        for t in threads:
            t.join(30)
        with lock:
            survivors = list(acked)

        restarted = TongbanServer("--config", self.config.name,
                                  data_dir=self.server.data_dir).start()
        self.addCleanup(restarted.kill)
        clerk = staff_login(restarted.base_url, "crashclerk")
        expected = {}
        for number, action in survivors:
            expected.setdefault(number, []).append(action)
        for number, actions in expected.items():
            history = [h["action"] for h in clerk.history(number)]
            self.assertEqual(history[:len(actions)], actions, number)

        db = sqlite3.connect(os.path.join(self.server.data_dir, "tongban.db"))
        try:
            payloads = [row[0] for row in db.execute("SELECT payload FROM approval_outbox")]
        finally:
            db.close()
        for number, actions in expected.items():
            records = [p for p in payloads if number in p]
            # Each acknowledged transition wrote at least one stage record.
            self.assertGreaterEqual(len(records), len(actions), number)
            self.assertTrue(any("SPSHENQIN" in p for p in records), number)
            if "accept" in actions:
                self.assertTrue(any("SPSHOULI" in p for p in records), number)


if __name__ == "__main__":
    main()
