"""Two tongban nodes on one private PostgreSQL (and one Redis for the
sessions), as behind a load balancer: case numbers registered on both at once
never repeat and their daily serials run 0001..N without a gap; two clerks
racing the same transition on different nodes: exactly one wins, the other
gets a 409, and the history holds the transition once."""
import os
import shutil
import tempfile
import threading
import unittest
import uuid
from concurrent.futures import ThreadPoolExecutor

import stores
from approval_fixture import (API, Client, admin_login, ensure_staff, matter_body,
                              registration, staff_login)
from tongban_harness import TongbanServer, main

SKIP_REASON = stores.missing_binaries()
PG = None
ROLES = ["intake", "accept", "undertake", "review", "approve", "matters"]


def setUpModule():
    global PG
    if SKIP_REASON is None:
        PG = stores.PrivatePostgres().start()


def tearDownModule():
    if PG is not None:
        PG.close()


@unittest.skipIf(SKIP_REASON, SKIP_REASON)
class TwoNodesTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.redis = stores.PrivateRedis().start()
        cls.addClassCleanup(cls.redis.close)
        cls.shared = tempfile.mkdtemp(prefix="tongban-approval-multinode-")
        cls.addClassCleanup(shutil.rmtree, cls.shared, True)
        config = os.path.join(cls.shared, "tongban.toml")
        with open(config, "w", encoding="utf-8") as f:
            f.write('[storage]\nsecret_key_file = "%s"\n[oidc]\nkey_dir = "%s"\n'
                    "[console]\nenabled = true\n" % (os.path.join(cls.shared, "secret.key"),
                                                     os.path.join(cls.shared, "keys")))
        db = PG.new_database_url()
        cls.nodes = []
        for _ in range(2):  # the first start seeds the demo data, so one after the other
            node = TongbanServer("--config", config, "--db", db, "--tickets", cls.redis.url)
            cls.addClassCleanup(node.cleanup)
            cls.nodes.append(node.start())
        a, b = cls.nodes
        admin = admin_login(a)
        ensure_staff(a.base_url, admin, users=[("mnclerk1", "001001", ROLES),
                                               ("mnclerk2", "001001", ROLES)])
        # Each clerk has a session on each node: the sessions live in Redis,
        # so the same cookie opens both.
        cls.clerk_a = staff_login(a.base_url, "mnclerk1")
        cls.clerk_b = staff_login(b.base_url, "mnclerk2")
        cls.matter = cls.clerk_a.ok("POST", "matters", matter_body("001001"))
        cls.code = cls.matter["implement_code"]

    def test_200_registrations_on_two_nodes_get_200_distinct_numbers_in_sequence(self):
        clerks = [self.clerk_a, self.clerk_b]

        def register(i):
            r = clerks[i % 2].send("POST", "cases", registration(self.code, i))
            self.assertEqual(r.status_code, 200, r.text)
            return r.json()["case"]["number"]

        with ThreadPoolExecutor(max_workers=8) as pool:
            numbers = list(pool.map(register, range(200)))
        self.assertEqual(len(set(numbers)), 200)
        by_day = {}
        for n in numbers:
            self.assertTrue(n.startswith(self.code), n)
            by_day.setdefault(n[31:39], []).append(int(n[39:]))
        # A run across midnight (CST) splits into two days, each from 0001.
        for day, serials in by_day.items():
            self.assertEqual(sorted(serials), list(range(1, len(serials) + 1)), day)

    def test_two_clerks_racing_on_two_nodes_one_wins(self):
        for i in range(10):
            r = self.clerk_a.send("POST", "cases", registration(self.code, 500 + i))
            self.assertEqual(r.status_code, 200, r.text)
            number = r.json()["case"]["number"]
            start = threading.Barrier(2)
            results = []

            def accept(clerk):
                start.wait()
                resp = clerk.act(number, "accept", opinion="受理")
                results.append((resp.status_code, resp.json()))

            threads = [threading.Thread(target=accept, args=(c,))
                       for c in (self.clerk_a, self.clerk_b)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            self.assertEqual(sorted(s for s, _ in results), [200, 409], results)
            loser = [body for s, body in results if s == 409][0]
            self.assertIn(loser["error"]["code"], (5101, 5104))
            history = [h["action"] for h in self.clerk_a.history(number)]
            self.assertEqual(history, ["register", "accept"])

    def test_one_keyed_registration_sent_to_both_nodes_at_once_registers_one_case(self):
        # The clerk's one session opens both nodes (it lives in Redis).
        on_b = Client(self.nodes[1].base_url, self.clerk_a.b, API)
        for i in range(5):
            body = registration(self.code, 700 + i)
            key = {"Idempotency-Key": "mn-%d-%s" % (i, uuid.uuid4().hex)}
            start = threading.Barrier(4)
            answers = []
            lock = threading.Lock()

            def post(client):
                start.wait()
                r = client.send("POST", "cases", body, headers=key)
                with lock:
                    answers.append(r)

            threads = [threading.Thread(target=post, args=(c,))
                       for c in (self.clerk_a, on_b, self.clerk_a, on_b)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            self.assertEqual([r.status_code for r in answers], [200] * 4,
                             [r.text for r in answers])
            self.assertEqual(len({r.json()["case"]["number"] for r in answers}), 1, answers)
            self.assertEqual(len({r.json()["lookup_password"] for r in answers}), 1)
            listed = self.clerk_a.ok("GET", "cases", implement_code=self.code, org="001001",
                                     size=100)["items"]
            self.assertEqual(sum(1 for c in listed if c["applicant"]["id_number"] ==
                                 body["applicant"]["id_number"]), 1)


if __name__ == "__main__":
    main()
