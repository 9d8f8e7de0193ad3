"""The users-and-orgs interface over SOAP (/sso/service/OrgAndUserService):
zeep reads tongban's own WSDL from ?wsdl and calls every operation, as a
generated client (Axis2, CXF, wsimport) would."""
import json
import unittest
import xml.etree.ElementTree as ET

import requests
import zeep

from signed_client import SignedClient, create_app, demo_credentials, md5_sign
from tongban_harness import TongbanServer, main, run_admin

OPERATIONS = ["synchronizeUser", "deleteUser", "getUserInfoById", "getUserByLoginname",
              "getUsersByOrg", "synchronizeOrg", "deleteOrg", "getOrgInfo", "getChildOrgs",
              "getSsoUserByMap", "getMapUserBySso", "getUserRole", "valiidcard"]


class OrgAndUserSoapTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = TongbanServer().start()
        cls.code, cls.pwd = demo_credentials(cls.server)
        cls.signer = SignedClient(cls.server.base_url, cls.code, cls.pwd)
        cls.wsdl_url = cls.server.url("/sso/service/OrgAndUserService?wsdl")
        cls.client = zeep.Client(cls.wsdl_url)
        cls.service = cls.client.service

    @classmethod
    def tearDownClass(cls):
        cls.server.cleanup()

    def call(self, operation, datatype="json", auth=None, **params):
        """Calls `operation` through zeep; returns the parsed `out` text."""
        out = getattr(self.service, operation)(**(auth or self.signer.auth()), datatype=datatype,
                                                **params)
        self.assertIsInstance(out, str)
        return json.loads(out) if datatype == "json" else ET.fromstring(out.encode("utf-8"))

    def add_user(self, loginname, **fields):
        args = {"loginname": loginname, "username": "用户", "orgcoding": "001001",
                "loginpwd": "Soap-Passw0rd", **fields}
        r = self.call("synchronizeUser", args=json.dumps(args, ensure_ascii=False))
        self.assertEqual(r["result"], "0", r)
        return r["userid"]

    def test_wsdl_describes_every_operation(self):
        r = requests.get(self.wsdl_url, timeout=10)
        self.assertEqual(r.status_code, 200)
        self.assertTrue(r.headers["Content-Type"].startswith("text/xml"))
        wsdl = "{http://schemas.xmlsoap.org/wsdl/}"
        port_type = ET.fromstring(r.content).find(wsdl + "portType")
        names = [op.get("name") for op in port_type.findall(wsdl + "operation")]
        self.assertEqual(names, OPERATIONS)

    def test_wsdl_names_the_spec_port(self):
        service = self.client.wsdl.services["OrgAndUserService"]
        self.assertIn("OrgAndUserServiceHttpPort", service.ports)

    def test_synchronize_and_read_a_user_with_chinese_text(self):
        userid = self.add_user("soapzhang", username="张三丰", officeaddress="武当山")
        r = self.call("getUserInfoById", userid=userid)
        self.assertEqual(r["result"], "0")
        self.assertEqual(r["username"], "张三丰")
        self.assertEqual(r["officeaddress"], "武当山")

    def test_xml_datatype_puts_sso_xml_in_out(self):
        userid = self.add_user("soapxml", username="李四")
        root = self.call("getUserInfoById", datatype="xml", userid=userid)
        self.assertEqual(root.tag, "SSO")
        self.assertEqual(root.findtext("result"), "0")
        self.assertEqual(root.findtext("username"), "李四")

    def test_get_user_by_loginname(self):
        userid = self.add_user("soapbyname")
        r = self.call("getUserByLoginname", loginname="soapbyname", orgcoding="001001")
        self.assertEqual(r["userid"], userid)

    def test_repeated_reads_wrap_the_kept_reply_and_follow_changes(self):
        # From the second read the reply text is kept with the user's
        # snapshot; SOAP wraps that text as it wrapped the rendered one.
        userid = self.add_user("soapmemo", username="王五", mobile="13900000021")
        for datatype in ("json", "xml", "json", "xml", "json", "xml"):
            r = self.call("getUserInfoById", datatype=datatype, userid=userid)
            mobile = r["mobile"] if datatype == "json" else r.findtext("mobile")
            self.assertEqual(mobile, "13900000021")
        self.add_user("soapmemo", userid=userid, username="王五", mobile="13900000022")
        for datatype in ("json", "xml", "json", "xml"):
            r = self.call("getUserByLoginname", datatype=datatype, loginname="soapmemo")
            mobile = r["mobile"] if datatype == "json" else r.findtext("mobile")
            self.assertEqual(mobile, "13900000022")

    def test_get_users_by_org(self):
        self.call("synchronizeOrg", args=json.dumps({"orgcoding": "001002", "orgname": "SOAP区"}))
        self.add_user("soaplist", orgcoding="001002")
        r = self.call("getUsersByOrg", orgcoding="001002", pageno="1", pagesize="10")
        self.assertEqual(r["total"], 1)
        self.assertEqual(r["user"][0]["loginname"], "soaplist")

    def test_delete_user(self):
        userid = self.add_user("soapdel")
        self.assertEqual(self.call("deleteUser", userid=userid)["result"], "0")
        self.assertEqual(self.call("deleteUser", userid=userid)["result"], "2104")

    def test_org_lifecycle(self):
        args = json.dumps({"orgcoding": "001003", "orgname": "肥皂局"}, ensure_ascii=False)
        self.assertEqual(self.call("synchronizeOrg", args=args)["result"], "0")
        self.assertEqual(self.call("getOrgInfo", orgcoding="001003")["orgname"], "肥皂局")
        children = self.call("getChildOrgs", orgcoding="001")
        self.assertIn("001003", [o["orgcoding"] for o in children["org"]])
        self.assertEqual(self.call("deleteOrg", orgcoding="001003")["result"], "0")
        self.assertEqual(self.call("deleteOrg", orgcoding="001003")["result"], "1104")

    def test_account_binding_lookups(self):
        userid = self.add_user("soapbound")
        run_admin(self.server.data_dir, "binding", "add", "--app", self.code, "--user",
                  "soapbound", "--account", "acct-soap")
        self.assertEqual(self.call("getSsoUserByMap", args="acct-soap")["userid"], userid)
        self.assertEqual(self.call("getMapUserBySso", userid=userid)["account"], "acct-soap")

    def test_get_user_role(self):
        userid = self.add_user("soaprole")
        run_admin(self.server.data_dir, "role", "save", "--app", self.code, "--code", "clerk",
                  "--name", "办事员")
        run_admin(self.server.data_dir, "role", "grant", "--app", self.code, "--code", "clerk",
                  "--user", "soaprole")
        r = self.call("getUserRole", userid=userid)
        self.assertEqual([role["rolename"] for role in r["role"]], ["办事员"])

    def test_valiidcard(self):
        r = self.call("valiidcard", username="张三", idnum="11010519900307451X", sex="1",
                      nation="01")
        self.assertEqual(r["result"], "0")
        self.assertEqual(self.call("valiidcard", username="张三",
                                   idnum="110105199003074510")["result"], "2702")

    def test_bad_sign_is_9901_inside_a_normal_soap_response(self):
        auth = self.signer.auth()
        auth["sign"] = md5_sign(self.code, "not-the-password", auth["time"])
        self.assertEqual(self.call("getOrgInfo", auth=auth, orgcoding="001")["result"], "9901")

    def test_unknown_servicecode_is_9900(self):
        stranger = SignedClient(self.server.base_url, "nobody", "pwd")
        self.assertEqual(self.call("getOrgInfo", auth=stranger.auth(), orgcoding="001")["result"],
                         "9900")

    def test_app_without_directory_write_gets_1001(self):
        pwd = create_app(self.server.data_dir, "soapreader")
        reader = SignedClient(self.server.base_url, "soapreader", pwd)
        r = self.call("synchronizeOrg", auth=reader.auth(),
                      args=json.dumps({"orgcoding": "001004", "orgname": "x"}))
        self.assertEqual(r["result"], "1001")

    def test_unknown_operation_is_a_soap_fault(self):
        envelope = ('<?xml version="1.0"?><soapenv:Envelope '
                    'xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
                    'xmlns:ns="http://webservice.api.commnetsoft.com"><soapenv:Body>'
                    '<ns:getEverything><ns:servicecode>demo</ns:servicecode></ns:getEverything>'
                    '</soapenv:Body></soapenv:Envelope>')
        r = requests.post(self.server.url("/sso/service/OrgAndUserService"), data=envelope,
                          headers={"Content-Type": "text/xml;charset=utf-8"}, timeout=10)
        self.assertEqual(r.status_code, 500)
        self.assertIn("Fault", r.text)

    def test_hand_written_envelope_with_unqualified_children_works(self):
        auth = self.signer.auth()
        envelope = ('<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/">'
                    '<soapenv:Body><getOrgInfo xmlns="http://webservice.api.commnetsoft.com">'
                    '<servicecode>{servicecode}</servicecode><time>{time}</time><sign>{sign}</sign>'
                    '<orgcoding>001</orgcoding><datatype>json</datatype></getOrgInfo>'
                    '</soapenv:Body></soapenv:Envelope>').format(**auth)
        r = requests.post(self.server.url("/sso/service/OrgAndUserService"),
                          data=envelope.encode("utf-8"),
                          headers={"Content-Type": "text/xml;charset=utf-8"}, timeout=10)
        self.assertEqual(r.status_code, 200)
        out = ET.fromstring(r.content).find(".//{http://webservice.api.commnetsoft.com}out")
        self.assertEqual(json.loads(out.text)["orgname"], "演示省")


if __name__ == "__main__":
    main()
