"""Issue 12, item 1, through the real binary: an app with directory_write
cannot take over, delete or shadow the platform admin. Before the fix the
seeded `demo` app set admin's password with synchronizeUser (result 0), the
new password opened the admin console, deleteUser removed the admin, and a
second `ADMIN` in another org made every page login as `admin` fail (6406)."""
import json
import os
import re
import tempfile
import unittest

import requests

from signed_client import SignedClient, create_app, demo_credentials
from tongban_harness import TongbanServer, main

ADMIN_RE = re.compile(r"admin user:\s+(\S+) / (\S+)")
API = "/sso/admin/api/"
NEW_PASSWORD = "Taken-Over-1"


def admin_credentials(server):
    for line in server.stdout_lines:
        m = ADMIN_RE.search(line)
        if m:
            return m.group(1), m.group(2)
    raise AssertionError("no admin credentials in %r" % server.stdout_lines)


def page_login(server, loginname, password):
    """Logs in through the SSO login page; returns (session, response)."""
    b = requests.Session()
    page = b.get(server.url("/sso/usp.do?action=ssoLogin"), timeout=30)
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    r = b.post(server.url("/sso/usp.do"), data={
        "action": "ssoLogin", "csrf": csrf, "loginname": loginname, "password": password},
        allow_redirects=False, timeout=30)
    return b, r


class AdminTakeoverTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.config = tempfile.NamedTemporaryFile("w", suffix=".toml", delete=False)
        cls.config.write("[console]\nenabled = true\n")
        cls.config.close()
        cls.server = TongbanServer("--config", cls.config.name).start()
        data_dir, base = cls.server.data_dir, cls.server.base_url
        cls.admin_name, cls.admin_password = admin_credentials(cls.server)
        cls.demo = SignedClient(base, *demo_credentials(cls.server))
        # An app with no scope limit at all, as the demo app had.
        cls.wide = SignedClient(base, "wide", create_app(data_dir, "wide", "--directory-write"))
        r = cls.wide.json("synchronizeOrg", args=json.dumps(
            {"orgcoding": "002", "orgname": "另一省"}, ensure_ascii=False))
        assert r["result"] == "0", r
        cls.other = SignedClient(base, "other", create_app(
            data_dir, "other", "--directory-write", "--org-scope", "002"))

    @classmethod
    def tearDownClass(cls):
        cls.server.cleanup()
        os.unlink(cls.config.name)

    def sync_user(self, client, **fields):
        return client.json("synchronizeUser", args=json.dumps(fields, ensure_ascii=False))

    def assertAdminStillOwnsTheConsole(self):
        browser, r = page_login(self.server, self.admin_name, self.admin_password)
        self.assertEqual(r.status_code, 302, r.text[:300])
        me = browser.get(self.server.url(API + "me"), timeout=30)
        self.assertEqual(me.status_code, 200, me.text)
        _, r = page_login(self.server, self.admin_name, NEW_PASSWORD)
        self.assertNotEqual(r.status_code, 302, "the attacker's password opened a session")

    def admin_userid(self):
        r = self.demo.json("getUserByLoginname", loginname=self.admin_name)
        self.assertEqual(r["result"], "0", r)
        return r["userid"]

    def test_the_admin_was_seeded_as_admin(self):
        self.assertEqual(self.admin_name, "admin")

    def test_an_app_cannot_set_the_admins_password(self):
        for client in (self.demo, self.wide):
            r = self.sync_user(client, loginname="admin", loginpwd=NEW_PASSWORD)
            self.assertEqual(r["result"], "2003", r)
            r = self.sync_user(client, userid=self.admin_userid(), loginpwd=NEW_PASSWORD)
            self.assertEqual(r["result"], "2003", r)
            r = self.sync_user(client, loginname="ADMIN", orgcoding="001001",
                               loginpwd=NEW_PASSWORD, encryptiontype="1")
            self.assertEqual(r["result"], "2003", r)
        self.assertAdminStillOwnsTheConsole()

    def test_an_app_cannot_rename_or_disable_the_admin(self):
        r = self.sync_user(self.wide, oldloginname="admin", loginname="former")
        self.assertEqual(r["result"], "2003", r)
        r = self.sync_user(self.wide, loginname="admin", useable="2")
        self.assertEqual(r["result"], "2003", r)
        self.assertAdminStillOwnsTheConsole()

    def test_an_app_cannot_delete_the_admin(self):
        for client in (self.demo, self.wide):
            r = client.json("deleteUser", loginname="admin")
            self.assertEqual(r["result"], "2103", r)
            r = client.json("deleteUser", userid=self.admin_userid())
            self.assertEqual(r["result"], "2103", r)
        self.assertAdminStillOwnsTheConsole()

    def test_no_second_admin_in_another_org_shadows_the_login(self):
        for client, name in ((self.other, "ADMIN"), (self.wide, "Admin"), (self.other, "admin")):
            r = self.sync_user(client, loginname=name, username="假管理员", orgcoding="002",
                               loginpwd=NEW_PASSWORD)
            self.assertEqual(r["result"], "2010", r)
        # Nor by renaming a user of the other domain.
        r = self.sync_user(self.other, loginname="zhaol", username="赵六", orgcoding="002",
                           loginpwd="Zhao-Pass-1")
        self.assertEqual(r["result"], "0", r)
        r = self.sync_user(self.other, oldloginname="zhaol", loginname="ADMIN")
        self.assertEqual(r["result"], "2010", r)
        self.assertAdminStillOwnsTheConsole()

    def test_the_demo_app_writes_only_inside_the_demo_province(self):
        r = self.sync_user(self.demo, loginname="outside", username="域外", orgcoding="002",
                           loginpwd="Out-Pass-1")
        self.assertEqual(r["result"], "2003", r)
        r = self.demo.json("synchronizeOrg", args=json.dumps(
            {"orgcoding": "002001", "orgname": "域外市"}, ensure_ascii=False))
        self.assertEqual(r["result"], "1003", r)
        r = self.demo.json("deleteOrg", orgcoding="002")
        self.assertEqual(r["result"], "1103", r)
        # Inside it, the demo still works as documented.
        r = self.sync_user(self.demo, loginname="zhangs", username="张三", orgcoding="001001",
                           loginpwd="Zs-2024-pass")
        self.assertEqual(r["result"], "0", r)

    def test_a_scoped_app_cannot_move_a_user_or_add_further_orgs_outside_its_scope(self):
        r = self.sync_user(self.other, loginname="wuq", username="吴七", orgcoding="002",
                           loginpwd="Wu-Pass-1")
        self.assertEqual(r["result"], "0", r)
        r = self.sync_user(self.other, loginname="wuq", orgcoding="002",
                           extendorgcoding="001001")
        self.assertEqual(r["result"], "2003", r)
        r = self.sync_user(self.demo, loginname="wuq", orgcoding="002", loginpwd="Wu-Pass-2")
        self.assertEqual(r["result"], "2003", r)


if __name__ == "__main__":
    main()
