"""The users-and-orgs interface over HTTP (/sso/servlet/organduser) against
the real binary: every method, the spec's result codes, both datatypes,
GET / POST / mixed parameters and Chinese text."""
import json
import unittest
import xml.etree.ElementTree as ET

import requests

from signed_client import SignedClient, create_app, demo_credentials, md5_sign, spec_time
from tongban_harness import TongbanServer, main, run_admin

VALID_IDNUM = "11010519900307451X"  # GB 11643 check digit ok; born 1990-03-07, male


class OrgAndUserHttpTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = TongbanServer().start()
        data_dir = cls.server.data_dir
        base = cls.server.base_url
        code, pwd = demo_credentials(cls.server)
        cls.demo = SignedClient(base, code, pwd)
        # 001 and 001001 exist from the demo seed; the tests add more below 001.
        for coding, name in [("001002", "演示区"), ("001003", "封闭区"), ("001004", "删除区")]:
            r = cls.demo.json("synchronizeOrg",
                              args=json.dumps({"orgcoding": coding, "orgname": name}))
            assert r["result"] == "0", r
        cls.reader = SignedClient(base, "reader", create_app(data_dir, "reader"))
        cls.scoped = SignedClient(base, "scoped", create_app(
            data_dir, "scoped", "--directory-write", "--org-scope", "001003"))
        cls.ipbound = SignedClient(base, "ipbound", create_app(
            data_dir, "ipbound", "--allow-ip", "10.1.2.3"))
        cls.off = SignedClient(base, "off", create_app(data_dir, "off"))
        # The demo app writes only below 001; tests of other domains use this one.
        cls.wide = SignedClient(base, "wide", create_app(data_dir, "wide", "--directory-write"))
        run_admin(data_dir, "app", "disable", "off")

    @classmethod
    def tearDownClass(cls):
        cls.server.cleanup()

    # ---- helpers ----

    def sync_user(self, client=None, **fields):
        fields.setdefault("username", "测试用户")
        fields.setdefault("orgcoding", "001002")
        fields.setdefault("loginpwd", "Passw0rd-测试")
        return (client or self.demo).json("synchronizeUser", args=json.dumps(fields))

    def add_user(self, loginname, **fields):
        r = self.sync_user(loginname=loginname, **fields)
        self.assertEqual(r["result"], "0", r)
        return r["userid"]

    def add_org(self, coding, name, client=None):
        r = (client or self.demo).json("synchronizeOrg",
                                       args=json.dumps({"orgcoding": coding, "orgname": name}))
        self.assertEqual(r["result"], "0", r)

    def assertCode(self, reply, code):
        self.assertEqual(reply["result"], code, reply)
        self.assertIsInstance(reply["errmsg"], str)

    # ---- authentication (every method goes through it) ----

    def test_unknown_servicecode_is_9900(self):
        stranger = SignedClient(self.server.base_url, "nosuchapp", "x")
        self.assertCode(stranger.json("getOrgInfo", orgcoding="001"), "9900")

    def test_missing_servicecode_is_9900(self):
        r = requests.post(self.demo.url, data={"method": "getOrgInfo", "datatype": "json",
                                               "orgcoding": "001"}, timeout=10).json()
        self.assertCode(r, "9900")

    def test_wrong_sign_is_9901(self):
        auth = self.demo.auth()
        auth["sign"] = md5_sign(self.demo.servicecode, "wrong-password", auth["time"])
        r = self.demo.request("getOrgInfo", auth=auth, orgcoding="001", datatype="json").json()
        self.assertCode(r, "9901")

    def test_sign_in_upper_case_hex_is_accepted(self):
        auth = self.demo.auth()
        auth["sign"] = auth["sign"].upper()
        r = self.demo.request("getOrgInfo", auth=auth, orgcoding="001", datatype="json").json()
        self.assertCode(r, "0")

    def test_malformed_time_is_9902(self):
        auth = self.demo.auth("2024-01-01 12:00")
        r = self.demo.request("getOrgInfo", auth=auth, orgcoding="001", datatype="json").json()
        self.assertCode(r, "9902")

    def test_impossible_date_is_9902(self):
        auth = self.demo.auth("20240230120000")
        r = self.demo.request("getOrgInfo", auth=auth, orgcoding="001", datatype="json").json()
        self.assertCode(r, "9902")

    def test_time_outside_the_window_is_9902(self):
        import time
        auth = self.demo.auth(spec_time(time.time() - 3600))
        r = self.demo.request("getOrgInfo", auth=auth, orgcoding="001", datatype="json").json()
        self.assertCode(r, "9902")

    def test_source_ip_not_allowed_is_9903(self):
        self.assertCode(self.ipbound.json("getOrgInfo", orgcoding="001"), "9903")

    def test_disabled_app_is_9904(self):
        self.assertCode(self.off.json("getOrgInfo", orgcoding="001"), "9904")

    def test_unknown_datatype_is_9905(self):
        r = self.demo.request("getOrgInfo", orgcoding="001", datatype="yaml")
        self.assertEqual(r.status_code, 200)
        root = ET.fromstring(r.content)
        self.assertEqual(root.findtext("result"), "9905")

    def test_replayed_write_is_9906(self):
        auth = self.demo.auth()
        args = json.dumps({"orgcoding": "001009", "orgname": "重放区"})
        first = self.demo.request("synchronizeOrg", auth=auth, args=args, datatype="json").json()
        again = self.demo.request("synchronizeOrg", auth=auth, args=args, datatype="json").json()
        self.assertCode(first, "0")
        self.assertCode(again, "9906")

    def test_a_repeated_identical_read_is_answered(self):
        auth = self.demo.auth()
        first = self.demo.request("getOrgInfo", auth=auth, orgcoding="001", datatype="json").json()
        again = self.demo.request("getOrgInfo", auth=auth, orgcoding="001", datatype="json").json()
        self.assertCode(first, "0")
        self.assertEqual(first, again)

    def test_unknown_method_is_9800(self):
        self.assertCode(self.demo.json("getEverything"), "9800")

    def test_missing_method_is_9800(self):
        r = requests.post(self.demo.url, data={**self.demo.auth(), "datatype": "json"},
                          timeout=10).json()
        self.assertCode(r, "9800")

    # ---- transport: datatypes and parameter placement ----

    def test_xml_is_the_default_datatype(self):
        r = self.demo.request("getOrgInfo", orgcoding="001")
        self.assertTrue(r.headers["Content-Type"].startswith("text/xml"), r.headers)
        self.assertTrue(r.text.startswith('<?xml version="1.0" encoding="UTF-8"?><SSO>'), r.text)
        root = ET.fromstring(r.content)
        self.assertEqual(root.findtext("result"), "0")
        self.assertEqual(root.findtext("orgname"), "演示省")

    def test_datatype_1_means_json(self):
        r = self.demo.request("getOrgInfo", orgcoding="001", datatype="1")
        self.assertEqual(r.json()["orgname"], "演示省")

    def test_get_query_post_form_and_mixed_answer_alike(self):
        replies = [self.demo.request("getOrgInfo", how=how, orgcoding="001", datatype="json").json()
                   for how in ("get", "post", "mixed")]
        self.assertEqual(replies[0]["orgname"], "演示省")
        self.assertEqual(replies[0], replies[1])
        self.assertEqual(replies[1], replies[2])

    def test_post_with_everything_in_the_url_and_an_empty_body(self):
        params = {**self.demo.auth(), "method": "getOrgInfo", "orgcoding": "001",
                  "datatype": "json"}
        r = requests.post(self.demo.url, params=params, data=b"", timeout=10)
        self.assertEqual(r.json()["orgname"], "演示省")

    def test_result_is_a_string_in_json(self):
        r = self.demo.json("getOrgInfo", orgcoding="001")
        self.assertEqual(list(r)[:2], ["result", "errmsg"])
        self.assertEqual(r["result"], "0")

    # ---- synchronizeUser ----

    def test_synchronize_user_adds_then_modifies_with_chinese_text(self):
        added = self.sync_user(loginname="lisi", username="李四", officeaddress="杭州市西湖区")
        self.assertCode(added, "0")
        self.assertEqual(added["operation"], "add")
        self.assertRegex(added["userid"], "^[0-9a-f]{32}$")
        modified = self.sync_user(userid=added["userid"], loginname="lisi", username="李四光",
                                  loginpwd="")
        self.assertEqual(modified["operation"], "modify")
        self.assertEqual(modified["userid"], added["userid"])
        info = self.demo.json("getUserInfoById", userid=added["userid"])
        self.assertEqual(info["username"], "李四光")
        self.assertEqual(info["officeaddress"], "杭州市西湖区")

    def test_synchronize_user_accepts_xml_args(self):
        args = ("<SSO><loginname>wangw</loginname><username>王五</username>"
                "<orgcoding>001002</orgcoding><loginpwd>Xml-Passw0rd</loginpwd></SSO>")
        r = self.demo.json("synchronizeUser", args=args)
        self.assertCode(r, "0")
        info = self.demo.json("getUserByLoginname", loginname="wangw")
        self.assertEqual(info["username"], "王五")

    def test_synchronize_user_without_loginname_derives_one_from_the_name(self):
        r = self.sync_user(username="赵六")
        self.assertCode(r, "0")
        self.assertTrue(r["loginname"].startswith("zhaol"), r)

    def test_unparseable_user_args_is_2012(self):
        self.assertCode(self.demo.json("synchronizeUser", args="{not json"), "2012")

    def test_missing_user_args_is_2012(self):
        self.assertCode(self.demo.json("synchronizeUser"), "2012")

    def test_login_name_with_special_characters_is_2004(self):
        self.assertCode(self.sync_user(loginname="bad name!"), "2004")

    def test_user_in_a_missing_org_is_2005(self):
        self.assertCode(self.sync_user(loginname="orphan", orgcoding="001999"), "2005")

    def test_non_numeric_orderby_is_2006(self):
        self.assertCode(self.sync_user(loginname="sorty", orderby="first"), "2006")

    def test_new_user_without_password_is_2007(self):
        self.assertCode(self.sync_user(loginname="nopass", loginpwd=""), "2007")

    def test_malformed_orgcoding_is_2008(self):
        self.assertCode(self.sync_user(loginname="badorg", orgcoding="1-2"), "2008")

    def test_locked_user_cannot_be_synchronized_2009(self):
        userid = self.add_user("lockme")
        run_admin(self.server.data_dir, "user", "lock", "lockme")
        self.assertCode(self.sync_user(userid=userid, loginname="lockme", loginpwd=""), "2009")

    def test_renaming_to_a_taken_login_name_is_2010(self):
        self.add_user("taken1")
        second = self.add_user("taken2")
        r = self.sync_user(userid=second, loginname="taken1", loginpwd="")
        self.assertCode(r, "2010")

    def test_unknown_userid_is_2011(self):
        self.assertCode(self.sync_user(userid="0" * 32, loginname="ghost"), "2011")

    def test_bad_usertype_is_2013(self):
        self.assertCode(self.sync_user(loginname="typo", usertype="7"), "2013")

    def test_bad_encryptiontype_is_2014(self):
        self.assertCode(self.sync_user(loginname="enc", encryptiontype="9"), "2014")

    def test_moving_a_user_to_another_domain_is_2016(self):
        self.add_org("002", "另一省", self.wide)
        userid = self.add_user("mover")
        r = self.sync_user(self.wide, userid=userid, loginname="mover", orgcoding="002",
                           loginpwd="")
        self.assertCode(r, "2016")

    def test_empty_username_is_2017(self):
        self.assertCode(self.sync_user(loginname="noname", username=""), "2017")

    def test_taken_mobile_is_2018(self):
        self.add_user("mob1", mobile="13800000001")
        self.assertCode(self.sync_user(loginname="mob2", mobile="13800000001"), "2018")

    def test_app_without_directory_write_gets_2001(self):
        self.assertCode(self.sync_user(self.reader, loginname="readonly"), "2001")

    def test_scoped_app_cannot_place_a_user_outside_its_scope_2003(self):
        self.assertCode(self.sync_user(self.scoped, loginname="outside"), "2003")

    def test_scoped_app_may_synchronize_inside_its_scope(self):
        r = self.sync_user(self.scoped, loginname="inside", orgcoding="001003")
        self.assertCode(r, "0")

    # ---- deleteUser ----

    def test_delete_user_by_userid(self):
        userid = self.add_user("byebye")
        r = self.demo.json("deleteUser", userid=userid)
        self.assertCode(r, "0")
        self.assertEqual(r["loginname"], "byebye")
        self.assertCode(self.demo.json("getUserInfoById", userid=userid), "2804")

    def test_delete_user_by_loginname_and_orgcoding(self):
        self.add_user("byname")
        r = self.demo.json("deleteUser", loginname="byname", orgcoding="001002")
        self.assertCode(r, "0")
        self.assertCode(self.demo.json("getUserByLoginname", loginname="byname"), "2804")

    def test_delete_user_named_in_args(self):
        self.add_user("byargs")
        r = self.demo.json("deleteUser", args=json.dumps({"loginname": "byargs"}))
        self.assertCode(r, "0")

    def test_deleting_an_unknown_user_is_2104(self):
        self.assertCode(self.demo.json("deleteUser", loginname="nobodyhere"), "2104")

    def test_delete_without_a_key_is_2112(self):
        self.assertCode(self.demo.json("deleteUser"), "2112")

    def test_app_without_directory_write_cannot_delete_users_2101(self):
        userid = self.add_user("keepme")
        self.assertCode(self.reader.json("deleteUser", userid=userid), "2101")

    def test_scoped_app_cannot_delete_a_user_outside_its_scope_2103(self):
        userid = self.add_user("faraway")
        self.assertCode(self.scoped.json("deleteUser", userid=userid), "2103")

    # ---- reading users ----

    def test_get_user_info_by_id_returns_every_user_field(self):
        userid = self.add_user("fields", username="字段", mobile="13900000002", sex="1")
        info = self.demo.json("getUserInfoById", userid=userid)
        self.assertCode(info, "0")
        for name in ("userid", "loginname", "username", "orgcoding", "mobile", "sex", "idnum",
                     "useable", "orderby", "usertype", "headpicture"):
            self.assertIn(name, info)
        self.assertNotIn("loginpwd", info)
        self.assertEqual(info["mobile"], "13900000002")

    def test_illegal_userid_is_2803(self):
        self.assertCode(self.demo.json("getUserInfoById", userid="not-an-id"), "2803")

    def test_unknown_userid_is_2804(self):
        self.assertCode(self.demo.json("getUserInfoById", userid="f" * 32), "2804")

    def test_scoped_app_cannot_read_a_user_outside_its_scope_2802(self):
        userid = self.add_user("hidden")
        self.assertCode(self.scoped.json("getUserInfoById", userid=userid), "2802")

    def test_get_user_by_loginname_with_and_without_orgcoding(self):
        userid = self.add_user("findme", username="寻找")
        self.assertEqual(self.demo.json("getUserByLoginname", loginname="findme")["userid"], userid)
        r = self.demo.json("getUserByLoginname", loginname="FINDME", orgcoding="001")
        self.assertEqual(r["username"], "寻找")

    def test_a_repeated_read_answers_the_users_current_fields_after_each_change(self):
        # From the second read of a snapshot on, its rendered reply is kept
        # with it (JSON and XML apart): every change must answer the new
        # fields at once, by id and by login name, in both formats, and the
        # kept text must never answer an app outside the user's scope.
        userid = self.add_user("memo", username="缓存", mobile="13900000011")

        def reads(expect_mobile, expect_name="memo"):
            for _ in range(3):
                by_id = self.demo.json("getUserInfoById", userid=userid)
                by_name = self.demo.json("getUserByLoginname", loginname=expect_name)
                for r in (by_id, by_name):
                    self.assertCode(r, "0")
                    self.assertEqual(r["mobile"], expect_mobile)
                    self.assertEqual(r["loginname"], expect_name)
                self.assertEqual(by_id, by_name)
                x = self.demo.request("getUserByLoginname", loginname=expect_name, datatype="xml")
                root = ET.fromstring(x.content)
                self.assertEqual(root.findtext("result"), "0")
                self.assertEqual(root.findtext("mobile"), expect_mobile)
                self.assertEqual(root.findtext("userid"), userid)
                self.assertCode(self.scoped.json("getUserInfoById", userid=userid), "2802")
                self.assertCode(self.scoped.json("getUserByLoginname", loginname=expect_name),
                                "2802")

        reads("13900000011")
        r = self.sync_user(userid=userid, loginname="memo", mobile="13900000012")
        self.assertCode(r, "0")
        reads("13900000012")
        r = self.sync_user(userid=userid, loginname="memo2", mobile="13900000013")
        self.assertCode(r, "0")
        reads("13900000013", "memo2")
        self.assertCode(self.demo.json("getUserByLoginname", loginname="memo"), "2804")
        # Moved into the scoped app's org: now it may read the user.
        r = self.sync_user(userid=userid, loginname="memo2", orgcoding="001003")
        self.assertCode(r, "0")
        for _ in range(3):
            self.assertEqual(self.scoped.json("getUserInfoById", userid=userid)["orgcoding"],
                             "001003")
        self.assertCode(self.demo.json("deleteUser", userid=userid), "0")
        self.assertCode(self.demo.json("getUserInfoById", userid=userid), "2804")
        self.assertCode(self.demo.json("getUserByLoginname", loginname="memo2"), "2804")

    def test_get_user_by_unknown_loginname_is_2804(self):
        self.assertCode(self.demo.json("getUserByLoginname", loginname="nosuchname"), "2804")

    def test_get_users_by_org_pages_through_the_org(self):
        self.add_org("001005", "分页区")
        for i in range(3):
            self.add_user("page%d" % i, orgcoding="001005", orderby=str(3 - i))
        first = self.demo.json("getUsersByOrg", orgcoding="001005", pageno="1", pagesize="2")
        self.assertCode(first, "0")
        self.assertEqual(first["total"], 3)
        self.assertEqual([u["loginname"] for u in first["user"]], ["page2", "page1"])
        second = self.demo.json("getUsersByOrg", orgcoding="001005", pageno="2", pagesize="2")
        self.assertEqual([u["loginname"] for u in second["user"]], ["page0"])

    def test_get_users_by_org_in_xml_lists_users_as_attribute_elements(self):
        self.add_org("001006", "XML区")
        self.add_user("xmluser", orgcoding="001006", username="叉")
        r = self.demo.request("getUsersByOrg", orgcoding="001006", datatype="xml")
        root = ET.fromstring(r.content)
        self.assertEqual(root.findtext("total"), "1")
        users = root.findall("user")
        self.assertEqual(len(users), 1)
        self.assertEqual(users[0].get("loginname"), "xmluser")
        self.assertEqual(users[0].get("username"), "叉")

    def test_bad_page_is_2809(self):
        self.assertCode(self.demo.json("getUsersByOrg", orgcoding="001002", pagesize="5000"),
                        "2809")

    def test_users_of_an_unknown_org_is_2806(self):
        self.assertCode(self.demo.json("getUsersByOrg", orgcoding="001777"), "2806")

    def test_users_of_a_malformed_org_is_2805(self):
        self.assertCode(self.demo.json("getUsersByOrg", orgcoding="abc"), "2805")

    # ---- synchronizeOrg ----

    def test_synchronize_org_adds_then_modifies(self):
        args = {"orgcoding": "001007", "orgname": "新建局", "orgallname": "浙江省新建局",
                "principalname": "负责人", "orderby": "5"}
        added = self.demo.json("synchronizeOrg", args=json.dumps(args))
        self.assertCode(added, "0")
        self.assertEqual(added["operation"], "add")
        modified = self.demo.json("synchronizeOrg",
                                  args=json.dumps({"orgcoding": "001007", "orgname": "改名局"}))
        self.assertEqual(modified["operation"], "modify")
        info = self.demo.json("getOrgInfo", orgcoding="001007")
        self.assertEqual(info["orgname"], "改名局")
        self.assertEqual(info["orgallname"], "浙江省新建局")
        self.assertEqual(info["orderby"], "5")

    def test_synchronize_org_accepts_xml_args(self):
        args = "<SSO><orgcoding>001008</orgcoding><orgname>叉局</orgname></SSO>"
        self.assertCode(self.demo.json("synchronizeOrg", args=args), "0")

    def test_app_without_directory_write_gets_1001(self):
        args = json.dumps({"orgcoding": "001002001", "orgname": "不许"})
        self.assertCode(self.reader.json("synchronizeOrg", args=args), "1001")

    def test_scoped_app_cannot_change_an_org_outside_its_scope_1003(self):
        args = json.dumps({"orgcoding": "001002002", "orgname": "越界"})
        self.assertCode(self.scoped.json("synchronizeOrg", args=args), "1003")

    def test_org_whose_parent_is_missing_is_1004(self):
        args = json.dumps({"orgcoding": "001888001", "orgname": "孤儿"})
        self.assertCode(self.demo.json("synchronizeOrg", args=args), "1004")

    def test_non_numeric_org_orderby_is_1005(self):
        args = json.dumps({"orgcoding": "001002003", "orgname": "排序", "orderby": "x"})
        self.assertCode(self.demo.json("synchronizeOrg", args=args), "1005")

    def test_new_org_without_orgname_is_1006(self):
        self.assertCode(self.demo.json("synchronizeOrg", args=json.dumps({"orgcoding": "001002004"})),
                        "1006")

    def test_malformed_orgcoding_is_1007(self):
        args = json.dumps({"orgcoding": "0010", "orgname": "坏码"})
        self.assertCode(self.demo.json("synchronizeOrg", args=args), "1007")

    def test_unparseable_org_args_is_1009(self):
        self.assertCode(self.demo.json("synchronizeOrg", args="<SSO><unclosed></SSO>"), "1009")

    def test_nested_org_args_is_1009(self):
        self.assertCode(self.demo.json("synchronizeOrg", args='{"orgcoding":{"x":1}}'), "1009")

    def test_sibling_with_the_same_name_is_1012(self):
        args = json.dumps({"orgcoding": "001009", "orgname": "演示区"})
        self.assertCode(self.demo.json("synchronizeOrg", args=args), "1012")

    # ---- deleteOrg ----

    def test_delete_org(self):
        self.add_org("001004001", "将删")
        r = self.demo.json("deleteOrg", orgcoding="001004001")
        self.assertCode(r, "0")
        self.assertCode(self.demo.json("getOrgInfo", orgcoding="001004001"), "1204")

    def test_deleting_an_unknown_org_is_1104(self):
        self.assertCode(self.demo.json("deleteOrg", orgcoding="001404"), "1104")

    def test_deleting_an_org_with_children_is_1105(self):
        self.add_org("001004002", "有下级")
        self.add_org("001004002001", "下级")
        self.assertCode(self.demo.json("deleteOrg", orgcoding="001004002"), "1105")

    def test_deleting_an_org_with_users_is_1106(self):
        self.add_org("001004003", "有用户")
        self.add_user("member", orgcoding="001004003")
        self.assertCode(self.demo.json("deleteOrg", orgcoding="001004003"), "1106")

    def test_app_without_directory_write_cannot_delete_orgs_1101(self):
        self.assertCode(self.reader.json("deleteOrg", orgcoding="001004"), "1101")

    # ---- reading orgs ----

    def test_get_org_info(self):
        r = self.demo.json("getOrgInfo", orgcoding="001001")
        self.assertCode(r, "0")
        self.assertEqual(r["orgname"], "演示市政务服务中心")
        self.assertEqual(r["orgcoding"], "001001")

    def test_org_info_of_a_malformed_code_is_1203(self):
        self.assertCode(self.demo.json("getOrgInfo", orgcoding="x"), "1203")

    def test_org_info_outside_the_scope_is_1202(self):
        self.assertCode(self.scoped.json("getOrgInfo", orgcoding="001002"), "1202")

    def test_get_child_orgs_lists_direct_children(self):
        r = self.demo.json("getChildOrgs", orgcoding="001")
        self.assertCode(r, "0")
        codings = [o["orgcoding"] for o in r["org"]]
        self.assertIn("001001", codings)
        self.assertIn("001002", codings)
        self.assertTrue(all(len(c) == 6 for c in codings), codings)
        self.assertEqual(r["total"], len(codings))

    def test_child_orgs_of_an_unknown_org_is_1204(self):
        self.assertCode(self.demo.json("getChildOrgs", orgcoding="001555"), "1204")

    # ---- account bindings ----

    def bound_user(self, loginname, account):
        userid = self.add_user(loginname)
        run_admin(self.server.data_dir, "binding", "add", "--app", "demo", "--user", loginname,
                  "--account", account)
        return userid

    def test_get_sso_user_by_map_takes_the_account_in_any_form(self):
        userid = self.bound_user("mapped", "app-zhang")
        for params in ({"args": "app-zhang"}, {"args": json.dumps({"account": "app-zhang"})},
                       {"args": "<SSO><loginname>app-zhang</loginname></SSO>"},
                       {"account": "app-zhang"}, {"loginname": "app-zhang"}):
            r = self.demo.json("getSsoUserByMap", **params)
            self.assertCode(r, "0")
            self.assertEqual(r["userid"], userid, params)
            self.assertEqual(r["loginname"], "mapped")

    def test_get_map_user_by_sso(self):
        userid = self.bound_user("mapped2", "应用账号2")
        r = self.demo.json("getMapUserBySso", userid=userid)
        self.assertCode(r, "0")
        self.assertEqual(r["account"], "应用账号2")

    def test_an_account_without_binding_is_2903(self):
        self.assertCode(self.demo.json("getSsoUserByMap", account="unbound"), "2903")

    def test_no_account_given_is_2902(self):
        self.assertCode(self.demo.json("getSsoUserByMap"), "2902")

    def test_bindings_belong_to_their_app(self):
        userid = self.bound_user("mapped3", "acct3")
        self.assertCode(self.reader.json("getMapUserBySso", userid=userid), "2903")

    # ---- getUserRole ----

    def test_get_user_role_lists_the_roles_in_the_calling_app(self):
        self.add_user("roleuser")
        d = self.server.data_dir
        run_admin(d, "role", "save", "--app", "demo", "--code", "auditor", "--name", "审计员")
        run_admin(d, "role", "save", "--app", "reader", "--code", "other", "--name", "别的")
        run_admin(d, "role", "grant", "--app", "demo", "--code", "auditor", "--user", "roleuser")
        run_admin(d, "role", "grant", "--app", "reader", "--code", "other", "--user", "roleuser")
        userid = self.demo.json("getUserByLoginname", loginname="roleuser")["userid"]
        r = self.demo.json("getUserRole", userid=userid)
        self.assertCode(r, "0")
        self.assertEqual(r["total"], 1)
        self.assertEqual(r["role"], [{"rolecode": "auditor", "rolename": "审计员", "memo": ""}])

    def test_roles_of_an_unknown_user_is_2804(self):
        self.assertCode(self.demo.json("getUserRole", userid="e" * 32), "2804")

    # ---- valiidcard ----

    def test_a_valid_id_card_is_0(self):
        r = self.demo.json("valiidcard", username="张三", idnum=VALID_IDNUM, sex="1", nation="01")
        self.assertCode(r, "0")
        self.assertEqual(r["birthday"], "1990-03-07")

    def test_a_15_digit_number_is_upgraded(self):
        r = self.demo.json("valiidcard", username="张三", idnum="110105900307451")
        self.assertCode(r, "0")
        self.assertEqual(len(r["idnum"]), 18)

    def test_empty_id_number_is_2701(self):
        self.assertCode(self.demo.json("valiidcard", username="张三", idnum=""), "2701")

    def test_wrong_check_digit_is_2702(self):
        self.assertCode(self.demo.json("valiidcard", username="张三", idnum="110105199003074510"),
                        "2702")

    def test_missing_name_is_2703(self):
        self.assertCode(self.demo.json("valiidcard", idnum=VALID_IDNUM), "2703")

    def test_sex_that_contradicts_the_number_is_2704(self):
        self.assertCode(self.demo.json("valiidcard", username="张三", idnum=VALID_IDNUM, sex="2"),
                        "2704")

    def test_unknown_nation_code_is_2705(self):
        self.assertCode(self.demo.json("valiidcard", username="张三", idnum=VALID_IDNUM,
                                       nation="77"), "2705")


if __name__ == "__main__":
    main()
