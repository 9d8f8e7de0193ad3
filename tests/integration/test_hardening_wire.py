"""Issue 12 items 7 and 8 against the real binary: CAS validation with an
unreachable pgtUrl fails with INVALID_PROXY_CALLBACK; idValidation with
encryptiontype 3 works for apps allowed to use it once [directory]
md5_login_variant is on (for users from before, after one plaintext login);
list `total` is a JSON number; pushed new users carry a placeholder loginpwd
(the vendor receiver answers 2099 without one); one rejected push holds back
no other user's; an app may give a push URL per method."""
import hashlib
import json
import os
import shutil
import socket
import tempfile
import unittest
import xml.etree.ElementTree as ET

import test_cas
from push_receiver import OK_REPLY, PushReceiver, wait_for_outbox
from signed_client import SignedClient, create_app
from tongban_harness import TongbanServer, main

PASSWORD = "Wire-Passw0rd"


def closed_port():
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# test_cas deletes its CasTestBase after use so that unittest does not collect
# it; its tests' base class is the same one.
class WireCasTest(test_cas.CasTest.__mro__[1]):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.dead_callback = "http://127.0.0.1:%d/pgt" % closed_port()
        create_app(cls.server.data_dir, "casdead", "--protocols", "cas", "--open-to-all",
                   "--proxy", "--callback", cls.host.url + "/casdead/",
                   "--callback", cls.dead_callback)
        cls.dead_service = cls.host.url + "/casdead/index.jsp"

    def test_an_unreachable_pgt_url_fails_the_validation_with_invalid_proxy_callback(self):
        _, ticket = self.ticket_for(self.dead_service)
        r = self.validate("/p3/serviceValidate", service=self.dead_service, ticket=ticket,
                          pgtUrl=self.dead_callback)
        root = ET.fromstring(r.content)
        self.assertIsNone(root.find("cas:authenticationSuccess", test_cas.NS), r.text)
        failure = root.find("cas:authenticationFailure", test_cas.NS)
        self.assertIsNotNone(failure, r.text)
        self.assertEqual(failure.get("code"), "INVALID_PROXY_CALLBACK")

    def test_an_unreachable_pgt_url_fails_a_json_proxy_validation_too(self):
        _, ticket = self.ticket_for(self.dead_service)
        r = self.validate("/proxyValidate", service=self.dead_service, ticket=ticket,
                          pgtUrl=self.dead_callback, format="JSON")
        response = r.json()["serviceResponse"]
        self.assertNotIn("authenticationSuccess", response)
        self.assertEqual(response["authenticationFailure"]["code"], "INVALID_PROXY_CALLBACK")

    def test_the_same_service_without_pgt_url_still_validates(self):
        _, ticket = self.ticket_for(self.dead_service)
        r = self.validate("/serviceValidate", service=self.dead_service, ticket=ticket)
        self.assertIsNotNone(
            ET.fromstring(r.content).find("cas:authenticationSuccess", test_cas.NS), r.text)


def md5_hex(text):
    return hashlib.md5(text.encode("utf-8")).hexdigest()


class WireZjTest(unittest.TestCase):
    """One data directory: first served without md5_login_variant (the users
    created then have no MD5 variant), then with it."""

    @classmethod
    def setUpClass(cls):
        cls.config_dir = tempfile.mkdtemp(prefix="tongban-wire-")
        first = TongbanServer().start()
        cls.data_dir = first.data_dir
        try:
            d = cls.data_dir
            cls.writer_pwd = create_app(d, "wiredir", "--directory-write")
            cls.md5_pwd = create_app(d, "md5app", "--open-to-all", "--md5-login")
            cls.plain_pwd = create_app(d, "nomd5app", "--open-to-all")
            writer = SignedClient(first.base_url, "wiredir", cls.writer_pwd)
            cls.sync_org(writer, "009", "线测省")
            for i in range(1, 7):
                cls.sync_org(writer, "00900%d" % i, "线测区%d" % i)
            cls.sync_user_with(writer, "olduser", "009001")
            before = cls.easy_on(first, "md5app", cls.md5_pwd)(
                "idValidation", loginname="olduser", password=md5_hex(PASSWORD),
                encryptiontype="3")
            assert before["result"] == "6404", before  # no MD5 variant kept yet
        finally:
            first.stop()
        config = os.path.join(cls.config_dir, "tongban.toml")
        with open(config, "w") as f:
            f.write("[directory]\nmd5_login_variant = true\n")
        cls.server = TongbanServer("--config", config, data_dir=cls.data_dir).start()
        cls.writer = SignedClient(cls.server.base_url, "wiredir", cls.writer_pwd)

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
        shutil.rmtree(cls.data_dir, ignore_errors=True)
        shutil.rmtree(cls.config_dir, ignore_errors=True)

    @staticmethod
    def sync_org(client, coding, name):
        r = client.json("synchronizeOrg", args=json.dumps(
            {"orgcoding": coding, "orgname": name}, ensure_ascii=False))
        assert r["result"] == "0", r

    @staticmethod
    def sync_user_with(client, loginname, orgcoding, **fields):
        args = {"loginname": loginname, "username": "线测" + loginname, "orgcoding": orgcoding,
                "loginpwd": PASSWORD, **fields}
        r = client.json("synchronizeUser", args=json.dumps(args, ensure_ascii=False))
        assert r["result"] == "0", r
        return r["userid"]

    def sync_user(self, loginname, orgcoding, **fields):
        return self.sync_user_with(self.writer, loginname, orgcoding, **fields)

    @staticmethod
    def easy_on(server, code, pwd):
        client = SignedClient(server.base_url, code, pwd, "/sso/servlet/simpleauth")
        return client.json

    def easy(self, code, pwd, **params):
        return self.easy_on(self.server, code, pwd)("idValidation", **params)

    # ---- encryptiontype 3 ----

    def test_md5_login_works_for_a_user_from_before_after_one_plaintext_login(self):
        md5 = md5_hex(PASSWORD)
        r = self.easy("md5app", self.md5_pwd, loginname="olduser", password=md5,
                      encryptiontype="3")
        self.assertEqual(r["result"], "6404", r)
        r = self.easy("md5app", self.md5_pwd, loginname="olduser", password=PASSWORD,
                      encryptiontype="1")
        self.assertEqual(r["result"], "0", r)
        r = self.easy("md5app", self.md5_pwd, loginname="olduser", password=md5,
                      encryptiontype="3")
        self.assertEqual(r["result"], "0", r)
        self.assertEqual(r["loginname"], "olduser")
        r = self.easy("md5app", self.md5_pwd, loginname="olduser", password=md5_hex("other"),
                      encryptiontype="3")
        self.assertEqual(r["result"], "6402", r)

    def test_md5_login_works_at_once_for_a_user_created_with_the_option_on(self):
        self.sync_user("newmd5", "009001")
        r = self.easy("md5app", self.md5_pwd, loginname="newmd5",
                      password=md5_hex(PASSWORD).upper(), encryptiontype="3")
        self.assertEqual(r["result"], "0", r)

    def test_an_app_without_md5_login_may_not_use_encryptiontype_3(self):
        self.sync_user("nomd5user", "009001")
        r = self.easy("nomd5app", self.plain_pwd, loginname="nomd5user",
                      password=md5_hex(PASSWORD), encryptiontype="3")
        self.assertEqual(r["result"], "6404", r)
        r = self.easy("nomd5app", self.plain_pwd, loginname="nomd5user", password=PASSWORD,
                      encryptiontype="1")
        self.assertEqual(r["result"], "0", r)

    # ---- list total ----

    def test_a_lists_total_is_a_json_number(self):
        self.sync_user("total1", "009002")
        self.sync_user("total2", "009002")
        r = self.writer.json("getUsersByOrg", orgcoding="009002")
        self.assertEqual(r["result"], "0", r)
        self.assertIs(type(r["total"]), int)
        self.assertEqual(r["total"], 2)
        r = self.writer.json("getChildOrgs", orgcoding="009")
        self.assertIs(type(r["total"]), int)
        xml = self.writer.request("getUsersByOrg", orgcoding="009002", datatype="xml")
        self.assertEqual(ET.fromstring(xml.content).findtext("total"), "2")

    # ---- pushes ----

    def push_app(self, code, scope, *flags, policy=None):
        receiver = PushReceiver(policy)
        self.addCleanup(receiver.close)
        receiver.servicepwd = create_app(self.data_dir, code, "--push-url", receiver.url,
                                         "--org-scope", scope, *flags)
        return receiver

    def test_a_receiver_that_requires_loginpwd_for_new_users_accepts_the_push(self):
        known = set()

        def vendor(index, form):
            # As the vendor's sample receiver: a user it does not know needs a password.
            if form.get("method") == "synchronizeUser":
                args = json.loads(form["args"])
                if args["userid"] not in known and not args.get("loginpwd"):
                    return 200, '{"result":"2099","errmsg":"用户密码不能为空"}'
                known.add(args["userid"])
            return OK_REPLY

        receiver = self.push_app("vendor", "009003", policy=vendor)
        userid = self.sync_user("vendoruser", "009003")
        self.sync_user("vendoruser", "009003", mobile="13800000000")
        self.assertTrue(receiver.wait_for_acked(2, timeout=30), receiver.snapshot())
        first, second = [p.args() for p in receiver.acked()]
        self.assertEqual(first["userid"], userid)
        self.assertTrue(first["loginpwd"])
        self.assertNotEqual(first["loginpwd"], PASSWORD)
        self.assertEqual(first["encryptiontype"], "1")
        self.assertNotIn("loginpwd", second)  # a change keeps the app's password
        self.assertFalse([p for p in receiver.snapshot() if not p.acked])

    def test_an_app_that_chose_omit_gets_no_password(self):
        receiver = self.push_app("omitter", "009004", "--push-password", "omit")
        self.sync_user("omituser", "009004")
        self.assertTrue(receiver.wait_for_acked(1, timeout=30))
        args = receiver.acked()[0].args()
        self.assertNotIn("loginpwd", args)
        self.assertNotIn("encryptiontype", args)

    def test_one_rejected_user_holds_back_no_other_user(self):
        def reject_stuck(index, form):
            if json.loads(form["args"]).get("loginname") == "stuck":
                return 200, '{"result":"2099","errmsg":"拒收"}'
            return OK_REPLY

        receiver = self.push_app("picky", "009005", policy=reject_stuck)
        self.sync_user("stuck", "009005")
        self.sync_user("free1", "009005")
        self.sync_user("free2", "009005")
        # The rejected message retries after 1, 2, 4 ... s for about two hours;
        # the others must not wait for that.
        self.assertTrue(receiver.wait_for_acked(2, timeout=30), receiver.snapshot())
        self.assertEqual(sorted(p.args()["loginname"] for p in receiver.acked()),
                         ["free1", "free2"])
        # The receiver sees a push before the server records its reply.
        pending = wait_for_outbox(self.data_dir, "pending", "picky", lambda m: len(m) <= 1)
        self.assertEqual([m["method"] for m in pending], ["synchronizeUser"])
        self.assertGreaterEqual(pending[0]["attempts"], 1)
        self.assertIn("2099", pending[0]["last_error"])

    def test_a_method_with_its_own_url_is_pushed_there(self):
        users = PushReceiver()
        self.addCleanup(users.close)
        rest = self.push_app("routed", "009006",
                             "--push-url-for", "synchronizeUser=" + users.url)
        users.servicepwd = rest.servicepwd
        self.sync_user("routeduser", "009006")
        self.sync_org(self.writer, "009006", "线测区六")
        self.assertTrue(users.wait_for_acked(1, timeout=30), users.snapshot())
        self.assertTrue(rest.wait_for_acked(1, timeout=30), rest.snapshot())
        self.assertEqual([p.method for p in users.snapshot()], ["synchronizeUser"])
        self.assertEqual([p.method for p in rest.snapshot()], ["synchronizeOrg"])
        self.assertTrue(users.sign_ok(users.snapshot()[0]))


if __name__ == "__main__":
    main()
