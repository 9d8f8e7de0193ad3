"""Pushes survive a crash: tongban is killed with SIGKILL while an app's queue
is half delivered, restarted on the same data dir, and the app then receives
the rest. Delivery is at least once; a message the app acknowledged is never
sent again, and the order of the messages about one entity (here ten
renames of one org: messages about different entities do not wait for each
other) holds across the restart."""
import json
import threading
import unittest

from push_receiver import OK_REPLY, PushReceiver, outbox, wait_for_outbox
from signed_client import SignedClient, create_app, demo_credentials
from tongban_harness import TongbanServer, main

CODING = "001002001"
NAMES = ["科室%d" % i for i in range(10)]
STUCK = NAMES[4]  # the fifth message fails until the receiver "comes back"


class PushRestartTest(unittest.TestCase):
    def test_a_kill_9_mid_delivery_loses_nothing_and_repeats_no_acknowledged_message(self):
        first = TongbanServer().start()
        self.addCleanup(first.cleanup)
        data_dir = first.data_dir
        demo = SignedClient(first.base_url, *demo_credentials(first))

        def sync_org(coding, name):
            r = demo.json("synchronizeOrg", args=json.dumps(
                {"orgcoding": coding, "orgname": name}, ensure_ascii=False))
            self.assertEqual(r["result"], "0", r)

        sync_org("001002", "重启区")
        back = threading.Event()

        def policy(index, form):
            stuck = json.loads(form["args"])["orgname"] == STUCK
            return OK_REPLY if back.is_set() or not stuck else (503, "maintenance")

        receiver = PushReceiver(policy)
        self.addCleanup(receiver.close)
        receiver.servicepwd = create_app(data_dir, "restart", "--push-url", receiver.url,
                                         "--org-scope", "001002")
        for name in NAMES:
            sync_org(CODING, name)

        def org(push):
            return push.args()["orgname"]

        self.assertTrue(receiver.wait_until(lambda ps: any(org(p) == STUCK for p in ps)))
        # Kill between attempts rather than during one: a claim left by a
        # killed dispatcher only lapses after the outbox's claim_timeout (60 s).
        wait_for_outbox(data_dir, "pending", "restart",
                        lambda m: m and m[0]["attempts"] >= 1)
        first.kill()

        # What was acknowledged before the crash is recorded as delivered.
        self.assertEqual(len(outbox(data_dir, "delivered", "restart")), 4)
        self.assertEqual(len(outbox(data_dir, "pending", "restart")), 6)

        back.set()
        second = TongbanServer(data_dir=data_dir).start()
        self.addCleanup(second.cleanup)
        self.assertTrue(receiver.wait_for_acked(10, timeout=150), receiver.snapshot())

        pushes = receiver.snapshot()
        self.assertEqual([org(p) for p in pushes if p.acked], NAMES)
        for name in NAMES[:4] + NAMES[5:]:
            self.assertEqual(sum(org(p) == name for p in pushes), 1, name)
        self.assertTrue(all(receiver.sign_ok(p) for p in pushes))
        wait_for_outbox(data_dir, "delivered", "restart", lambda m: len(m) == 10)
        self.assertEqual(second.stop(), 0)
        self.assertEqual(outbox(data_dir, "pending", "restart"), [])
        self.assertEqual(len(outbox(data_dir, "delivered", "restart")), 10)


if __name__ == "__main__":
    main()
