"""SSO -> app pushes from the outbox against the real binary: apps receive
every directory change in their scope, signed with their own credentials,
exactly once and in order even when their receiver fails for a while."""
import json
import re
import unittest

import requests

from push_receiver import OK_REPLY, PushReceiver, outbox, wait_for_outbox
from signed_client import SignedClient, create_app, demo_credentials
from tongban_harness import TongbanServer, main, run_admin


class PushTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = TongbanServer().start()
        cls.data_dir = cls.server.data_dir
        cls.demo = SignedClient(cls.server.base_url, *demo_credentials(cls.server))
        # One org per test, made before any push app exists; each test's app
        # sees only its own org, so tests do not receive each other's changes.
        for i in range(2, 10):
            cls.sync_org("00100%d" % i, "推送区%d" % i)

    @classmethod
    def tearDownClass(cls):
        cls.server.cleanup()

    @classmethod
    def sync_org(cls, coding, name, client=None):
        r = (client or cls.demo).json("synchronizeOrg", args=json.dumps(
            {"orgcoding": coding, "orgname": name}, ensure_ascii=False))
        assert r["result"] == "0", r
        return r

    def sync_user(self, loginname, orgcoding, client=None, **fields):
        args = {"loginname": loginname, "username": "推送" + loginname, "orgcoding": orgcoding,
                "loginpwd": "Push-Passw0rd", **fields}
        r = (client or self.demo).json("synchronizeUser",
                                       args=json.dumps(args, ensure_ascii=False))
        self.assertEqual(r["result"], "0", r)
        return r["userid"]

    def push_app(self, code, scope, *flags, policy=None):
        receiver = PushReceiver(policy)
        self.addCleanup(receiver.close)
        receiver.servicepwd = create_app(self.data_dir, code, "--push-url", receiver.url,
                                         "--org-scope", scope, *flags)
        return receiver

    def test_a_failing_receiver_gets_every_message_exactly_once_in_order(self):
        failures = [(500, "Internal Server Error"), (200, '{"result":"1","errmsg":"忙"}'),
                    (200, "not a reply")]
        receiver = self.push_app("flaky", "001002", policy=lambda i, form: (
            failures[i] if i < len(failures) else OK_REPLY))
        # Five changes of one user: the order that matters is per entity.
        names = ["版本%d" % i for i in range(5)]
        userids = {self.sync_user("flaky", "001002", username=n) for n in names}
        self.assertEqual(len(userids), 1)

        self.assertTrue(receiver.wait_for_acked(5, timeout=90), receiver.snapshot())
        pushes = receiver.snapshot()
        acked = [p for p in pushes if p.acked]
        self.assertEqual([p.args()["username"] for p in acked], names)
        # The three failures were attempts at the first message: nothing overtook it.
        self.assertEqual([p.args()["username"] for p in pushes[:4]], ["版本0"] * 4)
        self.assertEqual(len(pushes), 8)
        delivered = wait_for_outbox(self.data_dir, "delivered", "flaky", lambda m: len(m) >= 5)
        self.assertEqual(len(delivered), 5)
        self.assertEqual(outbox(self.data_dir, "pending", "flaky"), [])

    def test_pushes_are_signed_with_the_apps_own_credentials(self):
        receiver = self.push_app("signed", "001003")
        self.sync_user("signeduser", "001003", officeaddress="杭州市")
        self.assertTrue(receiver.wait_for_acked(1))
        push = receiver.acked()[0]
        self.assertEqual(push.form["servicecode"], "signed")
        self.assertRegex(push.form["time"], r"^\d{14}$")
        self.assertTrue(receiver.sign_ok(push), push.form)
        self.assertEqual(push.method, "synchronizeUser")
        self.assertEqual(push.form["datatype"], "json")
        self.assertEqual(push.form["describe"], "同步用户")
        self.assertTrue(push.form["_content_type"].startswith("application/x-www-form-urlencoded"))
        args = push.args()
        self.assertEqual(args["username"], "推送signeduser")
        self.assertEqual(args["officeaddress"], "杭州市")
        # Never the user's password: a new user carries a random placeholder.
        self.assertNotEqual(args["loginpwd"], "Push-Passw0rd")
        self.assertEqual(args["encryptiontype"], "1")

    def test_an_xml_app_receives_args_as_sso_xml(self):
        receiver = self.push_app("xmlapp", "001004", "--datatype", "xml")
        self.sync_org("001004001", "叉媒体局")
        self.assertTrue(receiver.wait_for_acked(1))
        push = receiver.acked()[0]
        self.assertEqual(push.form["datatype"], "xml")
        self.assertTrue(push.form["args"].startswith("<?xml"), push.form["args"])
        self.assertEqual(push.args()["orgname"], "叉媒体局")

    def test_deletions_carry_their_key_fields_at_the_top_level(self):
        receiver = self.push_app("deletes", "001005")
        userid = self.sync_user("goner", "001005")
        self.sync_org("001005001", "将撤销")
        self.assertEqual(self.demo.json("deleteUser", userid=userid)["result"], "0")
        self.assertEqual(self.demo.json("deleteOrg", orgcoding="001005001")["result"], "0")
        self.assertTrue(receiver.wait_for_acked(4))
        pushes = receiver.acked()
        self.assertEqual([p.method for p in pushes],
                         ["synchronizeUser", "synchronizeOrg", "deleteUser", "deleteOrg"])
        delete_user, delete_org = pushes[2].form, pushes[3].form
        self.assertEqual((delete_user["userid"], delete_user["loginname"],
                          delete_user["orgcoding"]), (userid, "goner", "001005"))
        self.assertEqual(delete_org["orgcoding"], "001005001")
        self.assertEqual(json.loads(delete_org["args"])["orgcoding"], "001005001")

    def test_role_changes_reach_the_app_that_owns_the_role(self):
        receiver = self.push_app("roles", "001006")
        self.sync_user("roleholder", "001006")
        run_admin(self.data_dir, "role", "save", "--app", "roles", "--code", "approver",
                  "--name", "审批人")
        run_admin(self.data_dir, "role", "grant", "--app", "roles", "--code", "approver",
                  "--user", "roleholder")
        self.assertTrue(receiver.wait_for_acked(3))
        pushes = receiver.acked()
        self.assertEqual([p.method for p in pushes],
                         ["synchronizeUser", "synchronizeRole", "synchronizeUserRole"])
        self.assertEqual(pushes[1].args()["rolename"], "审批人")
        self.assertEqual(pushes[2].args()["rolecode"], "approver")
        self.assertEqual(pushes[2].args()["loginname"], "roleholder")

    def test_an_apps_own_changes_are_not_pushed_back_to_it(self):
        receiver = self.push_app("writer", "001007", "--directory-write")
        writer = SignedClient(self.server.base_url, "writer", receiver.servicepwd)
        self.sync_user("byitself", "001007", client=writer)
        self.sync_user("byothers", "001007")
        self.assertTrue(receiver.wait_for_acked(1))
        self.assertEqual([p.args()["loginname"] for p in receiver.snapshot()], ["byothers"])

    def test_failed_attempts_are_visible_to_admins_and_can_be_retried(self):
        receiver = self.push_app("down", "001008",
                                 policy=lambda i, form: (503, "Service Unavailable"))
        self.sync_user("waiting", "001008")
        self.assertTrue(receiver.wait_until(lambda pushes: len(pushes) >= 1))
        pending = wait_for_outbox(self.data_dir, "pending", "down",
                                  lambda m: m and m[0]["attempts"] >= 1)
        self.assertEqual(len(pending), 1)
        self.assertEqual(pending[0]["method"], "synchronizeUser")
        self.assertGreaterEqual(pending[0]["attempts"], 1)
        self.assertIn("HTTP 503", pending[0]["last_error"])
        run_admin(self.data_dir, "outbox", "retry", pending[0]["id"])
        self.assertTrue(receiver.wait_until(lambda pushes: len(pushes) >= 2))

    def test_metrics_count_deliveries_and_the_outbox(self):
        receiver = self.push_app("metered", "001009")
        self.sync_user("counted", "001009")
        self.assertTrue(receiver.wait_for_acked(1))
        wait_for_outbox(self.data_dir, "delivered", "metered", lambda m: len(m) == 1)
        text = requests.get(self.server.url("/metrics"), timeout=10).text
        delivered = re.search(r"^tongban_push_delivered_total (\d+)$", text, re.M)
        self.assertTrue(delivered and int(delivered.group(1)) >= 1, text)
        self.assertRegex(text, r'tongban_outbox_messages\{state="pending"\} \d+')
        self.assertRegex(text, r'tongban_outbox_messages\{state="dead"\} \d+')


if __name__ == "__main__":
    main()
