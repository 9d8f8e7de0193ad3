"""Two `tongban serve` nodes on one private PostgreSQL (stores.py): a grant
approved on node A answers a department system's signed query on node B, and
a revocation on A refuses B's very next query — no node caches a grant. The
search and the audit (with its keyed hash of the ID number) are the same on
both. Skipped, with the reason, only when the PostgreSQL binaries are missing."""
import hashlib
import json
import os
import re
import secrets
import shutil
import tempfile
import unittest

import requests

import stores
from approval_fixture import Client, admin_login, browser_login
from signed_client import request_sign, spec_time
from tongban_harness import TongbanServer, main

SKIP_REASON = stores.missing_binaries()
API = "/catalogue/api/"
ACCOUNT_RE = re.compile(r"catalogue (\w+) \(org (\S+)\): login=(\S+) password=(\S+)")
KNOWN = "11010519491231002X"
PG = None


def setUpModule():
    global PG
    if SKIP_REASON is None:
        PG = stores.PrivatePostgres().start()


def tearDownModule():
    if PG is not None:
        PG.close()


@unittest.skipIf(SKIP_REASON, SKIP_REASON)
class CatalogueTwoNodes(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.shared = tempfile.mkdtemp(prefix="tongban-catalogue-")
        config = os.path.join(cls.shared, "tongban.toml")
        with open(config, "w", encoding="utf-8") as f:
            f.write('[storage]\nsecret_key_file = "%s"\n' % os.path.join(cls.shared, "secret.key"))
        db = PG.new_database_url()
        cls.nodes = []
        try:
            for _ in range(2):  # A first: it seeds the demo
                node = TongbanServer("--config", config, "--db", db)
                cls.nodes.append(node)
                node.start()
            cls.a, cls.b = cls.nodes
            accounts = {}
            for line in cls.a.stdout_lines:
                m = ACCOUNT_RE.search(line)
                if m:
                    accounts[m.group(1)] = (m.group(3), m.group(4))
            base = cls.a.base_url
            cls.user = Client(base, browser_login(base, *accounts["user"]), API)
            cls.provider = Client(base, browser_login(base, *accounts["provider"]), API)
            cls.auditor_b = Client(cls.b.base_url, browser_login(cls.b.base_url,
                                                                 *accounts["admin"]), API)
            admin = admin_login(cls.a)
            cls.code = "mzsys%s" % secrets.token_hex(3)
            cls.pwd = admin.ok("POST", "apps", {"servicecode": cls.code, "name": "民政业务系统",
                                                "orgcoding": "001092"})["servicepwd"]
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        for n in cls.nodes:
            n.cleanup()
        shutil.rmtree(cls.shared, ignore_errors=True)

    def signed(self, node, body):
        data = json.dumps(body).encode("utf-8")
        path = "base/person/query"
        fields = {"servicecode": self.code, "time": spec_time(), "signmethod": "hmac-sha256",
                  "nonce": secrets.token_hex(16), "body_sha256": hashlib.sha256(data).hexdigest()}
        fields["sign"] = request_sign(self.pwd, path, fields, "hmac-sha256")
        return requests.post(node.url(API + path), params=fields, data=data,
                             headers={"Content-Type": "application/json"}, timeout=10)

    def test_a_revocation_on_one_node_stops_the_next_query_on_the_other(self):
        hits = self.user.ok("GET", "resources", q="人口基础")["items"]
        person = [h for h in hits if h["base_kind"] == "person"][0]
        a = self.user.ok("POST", "applications", {
            "resource_id": person["id"], "purpose": "低保审核核验身份", "legal_basis": "社会救助暂行办法",
            "fields": ["name", "mobile"], "app": self.code})
        decided = self.provider.ok("POST", "applications/%d/decision" % a["id"],
                                   {"approve": True, "fields": ["name"]})
        r = self.signed(self.b, {"key": KNOWN})
        self.assertEqual(r.status_code, 200, r.text)
        self.assertEqual(r.json()["data"], {"name": "张三"})
        self.provider.ok("POST", "grants/%d/revoke" % decided["grant_id"], {"reason": "停止共享"})
        r = self.signed(self.b, {"key": KNOWN})
        self.assertEqual((r.status_code, r.json()["code"]), (403, 3001))
        r = self.signed(self.a, {"key": KNOWN})
        self.assertEqual((r.status_code, r.json()["code"]), (403, 3001))
        # Node B's audit finds the queries by the ID number through the shared key.
        rows = self.auditor_b.ok("GET", "audit", action="base.query", key=KNOWN)["items"]
        self.assertEqual([r["outcome"] for r in rows], ["denied", "denied", "ok"])


if __name__ == "__main__":
    main()
