"""Web access (web 接入) through the real binary: a department system's signed calls push
records (horizontal and vertical shapes) into a resource and pull its changes after a cursor;
clear per-record result codes; apps not listed on the resource, wrong secrets, tampered bodies
and the spec's md5 signature are refused."""
import hashlib
import json
import os
import secrets
import tempfile
import unittest
from xml.etree import ElementTree

import requests

from approval_fixture import Client, admin_credentials, browser_login
from signed_client import demo_credentials, md5_sign, request_sign, spec_time
from tongban_harness import TongbanServer, main, run_admin

API = "/sso/exchange/api/"
USCC = "91350100M000100Y43"


class ExchangeWebTest(unittest.TestCase):
    def setUp(self):
        self.server = TongbanServer().start()
        self.addCleanup(self.server.cleanup)
        login, password = admin_credentials(self.server)
        self.admin = Client(self.server.base_url,
                            browser_login(self.server.base_url, login, password), API, "me")
        self.app, self.secret = demo_credentials(self.server)
        node = self.admin.ok("POST", "nodes", {
            "division": "330500", "dept_code": USCC, "dept_name": "市场监管局",
            "url": "sqlite://" + os.path.join(self.server.data_dir, "web-node.db")})
        self.node = node["name"]
        self.admin.ok("POST", "resources", {
            "code": "licences", "name": "许可证", "node_id": node["id"], "create_table": True,
            "web_apps": [self.app],
            "fields": [{"code": "no", "name": "证号", "type": "string", "length": 20,
                        "required": True, "key": True},
                       {"code": "holder", "name": "持证人", "type": "string", "length": 50},
                       {"code": "issued", "name": "发证日期", "type": "date"}]})

    def call(self, how, path, body=None, servicepwd=None, extra=None, tamper=False):
        payload = json.dumps(body).encode("utf-8") if body is not None else b""
        fields = {"servicecode": self.app, "time": spec_time(), "signmethod": "hmac-sha256",
                  "nonce": secrets.token_hex(16), **(extra or {})}
        if payload:
            fields["body_sha256"] = hashlib.sha256(payload).hexdigest()
        fields["sign"] = request_sign(servicepwd or self.secret, path, fields, "hmac-sha256")
        if tamper:
            payload = payload.replace(b"A1", b"A9")
        return requests.request(how, self.server.url(API + path), params=fields, data=payload,
                                headers={"Content-Type": "application/json"}, timeout=30)

    def test_push_then_pull_after_a_cursor(self):
        path = "web/%s/licences/push" % self.node
        r = self.call("POST", path, {"records": [
            {"tongid": "L1", "dataversion": 1, "fields": {"no": "A1", "holder": "甲公司",
                                                          "issued": "2024-02-29"}},
            {"tongid": "L2", "values": [{"field_code": "no", "field_value": "A2"},
                                        {"field_code": "holder", "field_value": "乙公司"}]},
            {"tongid": "L3", "fields": {"no": "A3", "issued": "2023-02-29"}},
            {"tongid": "L4", "fields": {"no": "A4", "nosuch": "x"}}]})
        self.assertEqual(r.status_code, 200, r.text)
        body = r.json()
        self.assertEqual((body["code"], body["applied"], body["refused"]), (1, 2, 2), body)
        self.assertEqual([x["code"] for x in body["results"]], [0, 0, 1, 1])
        self.assertIn("issued", body["results"][2]["message"])
        self.assertIn("nosuch", body["results"][3]["message"])

        pull = "web/%s/licences/pull" % self.node
        r = self.call("GET", pull, extra={"cursor": "0", "limit": "1"})
        self.assertEqual(r.status_code, 200, r.text)
        first = r.json()
        self.assertEqual([x["tongid"] for x in first["records"]], ["L1"])
        self.assertEqual(first["records"][0]["fields"]["issued"], "2024-02-29")
        r = self.call("GET", pull, extra={"cursor": str(first["cursor"]), "shape": "vertical"})
        rest = r.json()
        self.assertEqual([x["tongid"] for x in rest["records"]], ["L2"])
        self.assertIn({"field_code": "holder", "field_value": "乙公司"}, rest["records"][0]["values"])
        # A newer version moves the record past the cursor again; an older one changes nothing.
        self.call("POST", path, [{"tongid": "L1", "dataversion": 3, "sync_status": "D",
                                  "fields": {"no": "A1"}}])
        stale = self.call("POST", path, [{"tongid": "L1", "dataversion": 2, "fields": {"no": "A1"}}])
        self.assertEqual(stale.json()["unchanged"], 1)
        r = self.call("GET", pull, extra={"cursor": str(rest["cursor"])})
        changed = r.json()["records"]
        self.assertEqual([(x["tongid"], x["sync_status"], x["dataversion"]) for x in changed],
                         [("L1", "D", 3)])

    def call_xml(self, how, path, xml=b"", extra=None):
        fields = {"servicecode": self.app, "time": spec_time(), "signmethod": "hmac-sha256",
                  "nonce": secrets.token_hex(16), **(extra or {})}
        if xml:
            fields["body_sha256"] = hashlib.sha256(xml).hexdigest()
        fields["sign"] = request_sign(self.secret, path, fields, "hmac-sha256")
        return requests.request(how, self.server.url(API + path), params=fields, data=xml,
                                headers={"Content-Type": "application/xml"} if xml else {},
                                timeout=30)

    def test_xml_push_and_pull(self):
        path = "web/%s/licences/push" % self.node
        body = ("<?xml version='1.0' encoding='UTF-8'?><records>"
                "<record><tongid>X1</tongid><dataversion>2</dataversion>"
                "<fields><no>X1</no><holder>丙 &amp; 丁</holder><issued null='true'/></fields>"
                "</record>"
                "<record><tongid>X2</tongid><values><value><field_code>no</field_code>"
                "<field_value>X2</field_value></value></values></record>"
                "<record><tongid>X3</tongid><fields><no>X3</no><issued>2023-02-30</issued>"
                "</fields></record></records>").encode("utf-8")
        r = self.call_xml("POST", path, body)
        self.assertEqual(r.status_code, 200, r.text)
        self.assertTrue(r.headers["Content-Type"].startswith("application/xml"), r.headers)
        root = ElementTree.fromstring(r.content)
        self.assertEqual(root.tag, "result")
        self.assertEqual((root.findtext("code"), root.findtext("applied"),
                          root.findtext("refused")), ("1", "2", "1"))
        results = root.findall("results/result")
        self.assertEqual([x.findtext("code") for x in results], ["0", "0", "1"])
        self.assertIn("issued", results[2].findtext("message"))

        r = self.call_xml("GET", "web/%s/licences/pull" % self.node, extra={"format": "xml"})
        self.assertEqual(r.status_code, 200, r.text)
        root = ElementTree.fromstring(r.content)
        records = root.findall("records/record")
        self.assertEqual([x.findtext("tongid") for x in records], ["X1", "X2"])
        self.assertEqual(records[0].findtext("fields/holder"), "丙 & 丁")
        self.assertEqual(records[0].find("fields/issued").get("null"), "true")
        self.assertEqual(records[0].findtext("dataversion"), "2")
        self.assertEqual(root.findtext("cursor"), records[-1].findtext("seq"))

        # A malformed body and a refused call answer in XML with the code and message.
        r = self.call_xml("POST", path, b"<records><record><colour>x</colour></record></records>")
        self.assertEqual(r.status_code, 400, r.text)
        err = ElementTree.fromstring(r.content)
        self.assertEqual((err.tag, err.findtext("code")), ("error", "400"))
        self.assertIn("colour", err.findtext("message"))
        r = self.call_xml("GET", "web/QZ_000000_X/licences/pull", extra={"format": "xml"})
        self.assertEqual(r.status_code, 404)
        self.assertEqual(ElementTree.fromstring(r.content).tag, "error")

    def test_refusals(self):
        path = "web/%s/licences/push" % self.node
        records = [{"tongid": "A1", "fields": {"no": "A1"}}]
        self.assertEqual(self.call("POST", path, records, servicepwd="wrong").status_code, 403)
        self.assertEqual(self.call("POST", path, records, tamper=True).status_code, 403)
        t = spec_time()
        r = requests.get(self.server.url(API + "web/%s/licences/pull" % self.node), params={
            "servicecode": self.app, "time": t, "sign": md5_sign(self.app, self.secret, t)})
        self.assertEqual(r.status_code, 403)
        self.assertEqual(self.call("GET", "web/QZ_000000_X/licences/pull").status_code, 404)
        # A resource that does not list the app.
        node = [n for n in self.admin.ok("GET", "nodes")["items"] if n["name"] == self.node][0]
        self.admin.ok("POST", "resources", {"code": "private", "name": "不开放", "node_id": node["id"],
                                            "create_table": True,
                                            "fields": [{"code": "x", "name": "x"}]})
        r = self.call("GET", "web/%s/private/pull" % self.node)
        self.assertEqual((r.status_code, r.json()["error"]["code"]), (403, 4032), r.text)
        # An admin session is not a signed call, and a signed call is no admin.
        self.assertEqual(self.admin.get("web/%s/licences/pull" % self.node).status_code, 403)
        self.assertEqual(self.call("GET", "nodes").status_code, 401)

    def test_cli_lists_and_runs(self):
        out = run_admin(self.server.data_dir, "exchange", "nodes").stdout
        self.assertIn(self.node, out)
        self.assertIn("QZ_330100_" + USCC, out)  # the demo node
        out = run_admin(self.server.data_dir, "exchange", "resources").stdout
        self.assertIn("licences", out)
        self.assertIn("demo_people", out)
        missing = run_admin(self.server.data_dir, "exchange", "run", "nosuch", check=False)
        self.assertNotEqual(missing.returncode, 0)
        self.assertIn("nosuch", missing.stderr)
        refused = run_admin(self.server.data_dir, "exchange", "approve", "999", check=False)
        self.assertNotEqual(refused.returncode, 0)


if __name__ == "__main__":
    main()
