"""Issue 12 items 2 and 9 against the real binary: the request signature and
the per-app sign_mode that requires it, writes refused over GET (9907),
replay refusal only for writes and credentials with normalised keys, `time`
read as China Standard Time on a UTC host, and no `sign` in the server's log."""
import json
import secrets
import time
import unittest
import urllib.parse

import requests

from signed_client import (RequestSignedClient, SignedClient, create_app, demo_credentials,
                           md5_sign, request_sign, spec_time)
from tongban_harness import TongbanServer, main


class SigningHardeningTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        # TZ=UTC: the host zone must not shift a Beijing-time `time`.
        cls.server = TongbanServer("--log-level", "trace", env={"TZ": "UTC"}).start()
        base = cls.server.base_url
        data_dir = cls.server.data_dir
        cls.demo = SignedClient(base, *demo_credentials(cls.server))
        cls.strict_pwd = create_app(data_dir, "strict", "--sign-mode", "hmac-sha256",
                                    "--directory-write")
        cls.strict = RequestSignedClient(base, "strict", cls.strict_pwd)
        cls.sm3_pwd = create_app(data_dir, "national", "--sign-mode", "hmac-sm3")
        cls.signs = set()  # every sign sent, to look for in the log

    @classmethod
    def tearDownClass(cls):
        cls.server.cleanup()

    def post(self, fields, client=None):
        self.signs.add(fields.get("sign", ""))
        return requests.post((client or self.demo).url, data=fields, timeout=30).json()

    def get(self, fields, client=None):
        self.signs.add(fields.get("sign", ""))
        return requests.get((client or self.demo).url, params=fields, timeout=30).json()

    def spec_fields(self, method, auth=None, **params):
        auth = auth or self.demo.auth()
        return {**auth, "method": method, "datatype": "json", **params}

    # ---- the request signature and sign_mode ----

    def test_a_logged_md5_sign_opens_nothing_on_an_app_that_requires_hmac(self):
        t = spec_time()
        logged = {"servicecode": "strict", "time": t, "sign": md5_sign("strict", self.strict_pwd, t)}
        for method, params in [("getOrgInfo", {"orgcoding": "001"}),
                               ("deleteOrg", {"orgcoding": "001"})]:
            reply = self.post({**logged, "method": method, "datatype": "json", **params},
                              self.strict)
            self.assertEqual(reply["result"], "9901", reply)
        self.assertEqual(self.strict.json("getOrgInfo", orgcoding="001")["result"], "0")

    def test_a_captured_request_signature_opens_no_other_call(self):
        fields = self.strict.fields("getOrgInfo", {"orgcoding": "001", "datatype": "json"})
        self.signs.add(fields["sign"])
        for method in ("deleteOrg", "getChildOrgs"):
            reply = self.post(dict(fields, method=method), self.strict)
            self.assertEqual(reply["result"], "9901", reply)
        other = self.post(dict(fields, orgcoding="001001"), self.strict)
        self.assertEqual(other["result"], "9901", other)
        self.assertEqual(self.post(fields, self.strict)["result"], "0")
        # The nonce is spent: even the original call, a read, cannot be repeated.
        self.assertEqual(self.post(fields, self.strict)["result"], "9906")

    def test_a_request_signed_write_works_over_post(self):
        args = json.dumps({"orgcoding": "001088", "orgname": "签名区"})
        reply = self.strict.json("synchronizeOrg", args=args)
        self.assertEqual(reply["result"], "0", reply)

    def test_hmac_sm3_as_python_hashlib_computes_it(self):
        client = RequestSignedClient(self.server.base_url, "national", self.sm3_pwd,
                                     signmethod="hmac-sm3")
        self.assertEqual(client.json("getOrgInfo", orgcoding="001")["result"], "0")
        wrong = RequestSignedClient(self.server.base_url, "national", self.sm3_pwd)
        self.assertEqual(wrong.json("getOrgInfo", orgcoding="001")["result"], "9901")

    def test_a_spec_app_may_opt_into_request_signatures(self):
        client = RequestSignedClient(self.server.base_url, self.demo.servicecode,
                                     self.demo.servicepwd)
        self.assertEqual(client.json("getOrgInfo", orgcoding="001")["result"], "0")

    def test_a_request_signed_soap_call_from_a_wsdl_client(self):
        import zeep  # Debian's python3-zeep, as test_organduser_soap uses
        client = zeep.Client(self.server.url("/sso/service/OrgAndUserService?wsdl"))
        params = {"servicecode": "strict", "time": spec_time(), "signmethod": "hmac-sha256",
                  "nonce": secrets.token_hex(16), "orgcoding": "001", "datatype": "json"}
        params["sign"] = request_sign(self.strict_pwd, "getOrgInfo", params)
        self.signs.add(params["sign"])
        self.assertEqual(json.loads(client.service.getOrgInfo(**params))["result"], "0")
        params["nonce"] = secrets.token_hex(16)  # a new nonce without a new sign
        self.assertEqual(json.loads(client.service.getOrgInfo(**params))["result"], "9901")

    # ---- GET ----

    def test_synchronize_user_over_get_is_refused_9907(self):
        args = json.dumps({"loginname": "getuser", "username": "GET 用户", "orgcoding": "001001",
                           "loginpwd": "Get-2024-pass"})
        fields = self.spec_fields("synchronizeUser", args=args)
        reply = self.get(fields)
        self.assertEqual(reply["result"], "9907", reply)
        self.assertEqual(self.demo.json("getUserByLoginname", loginname="getuser")["result"],
                         "2804")
        # The same signed call by POST was not used up by the refusal.
        self.assertEqual(self.post(fields)["result"], "0")

    def test_synchronize_user_over_head_changes_nothing(self):
        # The router answers HEAD on GET routes: a write sent as HEAD must be
        # refused like GET (its reply body is not sent, so look at the effect).
        args = json.dumps({"loginname": "headuser", "username": "HEAD 用户",
                           "orgcoding": "001001", "loginpwd": "Head-2024-pass"})
        fields = self.spec_fields("synchronizeUser", args=args)
        self.signs.add(fields["sign"])
        r = requests.head(self.demo.url, params=fields, timeout=30)
        self.assertEqual(r.status_code, 200)
        self.assertEqual(self.demo.json("getUserByLoginname", loginname="headuser")["result"],
                         "2804")

    def test_a_password_in_a_get_url_is_refused_9907(self):
        for path in ("/sso/servlet/simpleauth", "/sso/servlet/ssoauth"):
            client = SignedClient(self.server.base_url, self.demo.servicecode,
                                  self.demo.servicepwd, path)
            fields = self.spec_fields("idValidation", loginname="nobody", password="Secret-1")
            self.assertEqual(self.get(fields, client)["result"], "9907", path)
            # Over POST the same call is answered on its merits (no such user).
            self.signs.add(fields["sign"])
            reply = requests.post(client.url, data=fields, timeout=30).json()
            self.assertNotEqual(reply["result"], "9907", (path, reply))

    def test_logout_and_password_changes_over_get_are_refused_9907(self):
        for path, method, params in [
                ("/sso/servlet/simpleauth", "logout", {"token": "x"}),
                ("/sso/servlet/ssoauth", "logout", {"accesstoken": "x"}),
                ("/sso/servlet/ssoauth", "updatePassword",
                 {"accesstoken": "x", "oldpassword": "a", "newpassword": "b"}),
                ("/sso/servlet/ssoauth", "updateUserInfo", {"accesstoken": "x", "args": "{}"})]:
            client = SignedClient(self.server.base_url, self.demo.servicecode,
                                  self.demo.servicepwd, path)
            reply = self.get(self.spec_fields(method, **params), client)
            self.assertEqual(reply["result"], "9907", (method, reply))

    def test_reads_still_work_over_get(self):
        self.assertEqual(self.get(self.spec_fields("getOrgInfo", orgcoding="001"))["result"], "0")

    # ---- replays ----

    def test_an_identical_read_twice_passes(self):
        fields = self.spec_fields("getOrgInfo", orgcoding="001")
        first, again = self.post(fields), self.post(fields)
        self.assertEqual(first["result"], "0", first)
        self.assertEqual(first, again)

    def test_an_identical_write_twice_is_9906(self):
        fields = self.spec_fields("synchronizeOrg",
                                  args=json.dumps({"orgcoding": "001081", "orgname": "写区"}))
        self.assertEqual(self.post(fields)["result"], "0")
        self.assertEqual(self.post(fields)["result"], "9906")

    def test_an_upper_case_sign_of_a_write_is_a_replay(self):
        fields = self.spec_fields("synchronizeOrg",
                                  args=json.dumps({"orgcoding": "001082", "orgname": "大写区"}))
        self.assertEqual(self.post(fields)["result"], "0")
        upper = dict(fields, sign=fields["sign"].upper())
        self.assertEqual(self.post(upper)["result"], "9906")
        mixed = dict(fields, sign=fields["sign"][:16].upper() + fields["sign"][16:])
        self.assertEqual(self.post(mixed)["result"], "9906")

    def test_datatype_1_and_json_are_one_request(self):
        fields = self.spec_fields("synchronizeOrg",
                                  args=json.dumps({"orgcoding": "001083", "orgname": "格式区"}))
        self.assertEqual(self.post(fields)["result"], "0")
        self.assertEqual(self.post(dict(fields, datatype="1"))["result"], "9906")

    # ---- time zone ----

    def test_a_beijing_time_is_accepted_on_a_utc_host(self):
        now = time.time()
        beijing = time.strftime("%Y%m%d%H%M%S", time.gmtime(now + 8 * 3600))
        auth = {"servicecode": self.demo.servicecode, "time": beijing,
                "sign": md5_sign(self.demo.servicecode, self.demo.servicepwd, beijing)}
        self.assertEqual(self.post(self.spec_fields("getOrgInfo", auth, orgcoding="001"))["result"],
                         "0")
        utc = time.strftime("%Y%m%d%H%M%S", time.gmtime(now))
        auth = {"servicecode": self.demo.servicecode, "time": utc,
                "sign": md5_sign(self.demo.servicecode, self.demo.servicepwd, utc)}
        self.assertEqual(self.post(self.spec_fields("getOrgInfo", auth, orgcoding="001"))["result"],
                         "9902")

    # ---- logs ----

    def test_zz_no_sign_reaches_the_server_log(self):
        # Runs last (unittest sorts by name): the signs of every test above,
        # plus a GET read, a refused GET write and a malformed query, all
        # with the sign in the URL.
        self.get(self.spec_fields("getOrgInfo", orgcoding="001"))
        self.get(self.spec_fields("deleteOrg", orgcoding="009"))
        fields = self.spec_fields("getOrgInfo", orgcoding="001")
        self.signs.add(fields["sign"])
        requests.get(self.demo.url + "?" + urllib.parse.urlencode(fields) + "&bad=%zz",
                     timeout=30)
        log = self.server.read_log()
        self.assertIn("/sso/servlet/organduser", log)  # the access log is on
        self.signs.discard("")
        self.assertGreater(len(self.signs), 10)
        for sign in self.signs:
            self.assertNotIn(sign, log)
            self.assertNotIn(sign.upper(), log)
        self.assertNotIn(self.strict_pwd, log)


if __name__ == "__main__":
    main()
