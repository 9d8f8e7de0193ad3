"""Share mode "exchange" through the real binary: a provider registers a
resource backed by an exchange resource on its 前置机 (a SQLite node), the
applicant names its own exchange resource, and the provider's approval of two
of three fields creates an exchange task with an approved 配置工单 whose run
moves rows carrying only the approved fields; revoking the grant disables the
task. The two tables must be the departments' own (an exchange resource
belongs to the orgs of its web_apps): a provider naming another department's
table, or an applicant naming a table not its own, is refused (review15b);
nobody decides their own application."""
import os
import re
import sqlite3
import unittest

from approval_fixture import Client, admin_credentials, admin_login, browser_login
from tongban_harness import TongbanServer, main

API = "/catalogue/api/"
EXCHANGE = "/sso/exchange/api/"
USCC = "91350100M000100Y43"
ACCOUNT_RE = re.compile(r"catalogue (\w+) \(org (\S+)\): login=(\S+) password=(\S+)")
FIELDS = [{"code": "idno", "name": "证件号码", "type": "string", "length": 18, "required": True,
           "key": True},
          {"code": "name", "name": "姓名", "type": "string", "length": 50},
          {"code": "secret", "name": "内部备注", "type": "string", "length": 50}]


class CatalogueExchangeMode(unittest.TestCase):
    def setUp(self):
        self.server = TongbanServer().start()
        self.addCleanup(self.server.cleanup)
        base = self.server.base_url
        accounts, orgs = {}, {}
        for line in self.server.stdout_lines:
            m = ACCOUNT_RE.search(line)
            if m:
                accounts[m.group(1)] = (m.group(3), m.group(4))
                orgs[m.group(1)] = m.group(2)
        # Each department's system, by which its table is known to be its own.
        orgs["other"] = "001001"  # the demo org: neither department
        console = admin_login(self.server)
        for side, account in (("provider", "provider"), ("subscriber", "user"),
                              ("other", "other")):
            console.ok("POST", "apps", {"servicecode": "cx" + side, "name": side + " 系统",
                                        "orgcoding": orgs[account], "protocols": {"oidc": True}})
        self.user = Client(base, browser_login(base, *accounts["user"]), API)
        self.provider = Client(base, browser_login(base, *accounts["provider"]), API)
        self.cat_admin = Client(base, browser_login(base, *accounts["admin"]), API)
        login, password = admin_credentials(self.server)
        self.exchange = Client(base, browser_login(base, login, password), EXCHANGE, "me")
        self.dbs, self.nodes = {}, {}
        for side, division in (("provider", "330300"), ("subscriber", "330200"),
                               ("other", "330400")):
            path = os.path.join(self.server.data_dir, side + "-node.db")
            node = self.exchange.ok("POST", "nodes", {
                "division": division, "dept_code": USCC, "dept_name": side, "url": "sqlite://" + path})
            resource = self.exchange.ok("POST", "resources", {
                "code": side + "_people", "name": "人员", "node_id": node["id"],
                "create_table": True, "fields": FIELDS, "web_apps": ["cx" + side]})
            self.dbs[side] = (path, resource["id"], side + "_people")
            self.nodes[side] = node["id"]

    def register(self, exchange_resource):
        created = self.provider.ok("POST", "resources", {
            "classification": "101001", "name": "人口变更交换", "provider_name": "演示市公安局",
            "provider_code": "113301000024991243", "abstract": "人口变更记录按日交换",
            "format": "数据库", "items": [{"code": f["code"], "name": f["name"], "type": "C"}
                                         for f in FIELDS],
            "share_type": "conditional", "share_condition": "用于核验", "share_mode": "exchange",
            "open_attr": "closed", "update_cycle": "每日", "exchange_resource_id": exchange_resource})
        self.cat_admin.ok("POST", "resources/%d/publish" % created["id"])
        return created

    def test_only_the_departments_own_tables_are_exchanged(self):
        body = {"purpose": "核验", "legal_basis": "依据", "fields": ["idno", "name"]}
        # The applicant names a table of another department: refused at once.
        own = self.register(self.dbs["provider"][1])
        r = self.user.send("POST", "applications", dict(
            body, resource_id=own["id"], subscriber_resource_id=self.dbs["other"][1]))
        self.assertEqual(r.status_code, 403, r.text)
        # The provider registered another department's table: never approved.
        theirs = self.register(self.dbs["other"][1])
        a = self.user.ok("POST", "applications", dict(
            body, resource_id=theirs["id"], subscriber_resource_id=self.dbs["subscriber"][1]))
        r = self.provider.send("POST", "applications/%d/decision" % a["id"], {"approve": True})
        self.assertEqual(r.status_code, 403, r.text)
        self.assertEqual(self.exchange.ok("GET", "tasks")["items"], [])
        self.assertEqual(self.user.ok("GET", "applications/%d" % a["id"])["state"], "pending")

    def test_a_table_nobody_is_shown_to_own_waits_for_the_platform_administrator(self):
        # A table without web access (filled through the department's own
        # database): its task is made, but its 配置工单 waits (review15c).
        plain = self.exchange.ok("POST", "resources", {
            "code": "subscriber_plain", "name": "人员（无 web 接入）",
            "node_id": self.nodes["subscriber"],
            "create_table": True, "fields": FIELDS})
        created = self.register(self.dbs["provider"][1])
        a = self.user.ok("POST", "applications", {
            "resource_id": created["id"], "purpose": "核验", "legal_basis": "依据",
            "fields": ["idno", "name"], "subscriber_resource_id": plain["id"]})
        d = self.provider.ok("POST", "applications/%d/decision" % a["id"], {"approve": True})
        grant = [g for g in self.user.ok("GET", "grants/mine")["items"] if g["id"] == d["grant_id"]][0]
        task = [t for t in self.exchange.ok("GET", "tasks")["items"]
                if t["id"] == grant["exchange_task_id"]][0]
        self.assertFalse(task["runnable"], task)
        orders = self.exchange.ok("GET", "orders", task=task["id"])["items"]
        self.assertEqual([o["state"] for o in orders], ["submitted"])
        self.exchange.ok("POST", "orders/%d/approve" % orders[0]["id"])
        task = [t for t in self.exchange.ok("GET", "tasks")["items"] if t["id"] == task["id"]][0]
        self.assertTrue(task["runnable"], task)

    def test_an_approval_runs_a_task_with_the_approved_fields_and_revocation_stops_it(self):
        path, provider_resource, table = self.dbs["provider"]
        db = sqlite3.connect(path)
        with db:
            db.executemany("INSERT INTO %s (idno, name, secret, tongid) VALUES (?, ?, ?, ?)" % table,
                           [("11010519491231002X", "张三", "不外传", "t1"),
                            ("110105198001011238", "李四", "不外传", "t2")])
        db.close()
        created = self.register(provider_resource)
        locate = self.user.ok("GET", "resources/%d/locate" % created["id"])
        self.assertEqual(locate["how"]["mode"], "exchange")
        body = {"resource_id": created["id"], "purpose": "核验", "legal_basis": "依据",
                "fields": ["idno", "name", "secret"]}
        self.assertEqual(self.user.send("POST", "applications", body).status_code, 400)
        body["subscriber_resource_id"] = self.dbs["subscriber"][1]
        a = self.user.ok("POST", "applications", body)
        d = self.provider.ok("POST", "applications/%d/decision" % a["id"],
                             {"approve": True, "fields": ["idno", "name"]})
        grant = [g for g in self.user.ok("GET", "grants/mine")["items"] if g["id"] == d["grant_id"]][0]
        self.assertEqual(grant["kind"], "exchange")
        task = [t for t in self.exchange.ok("GET", "tasks")["items"]
                if t["id"] == grant["exchange_task_id"]][0]
        self.assertTrue(task["enabled"] and task["runnable"], task)
        # The task's term is the grant's: it stops at the expiry on every node.
        self.assertEqual(task["runs_until_ms"], grant["expires_ms"])
        self.assertEqual(task["subscribers"][0]["mapping"], {"idno": "idno", "name": "name"})
        self.exchange.ok("POST", "tasks/%d/run" % task["id"])
        sub_path, _, sub_table = self.dbs["subscriber"]
        db = sqlite3.connect(sub_path)
        rows = db.execute("SELECT idno, name, secret FROM %s ORDER BY idno" % sub_table).fetchall()
        db.close()
        self.assertEqual(rows, [("11010519491231002X", "张三", None),
                                ("110105198001011238", "李四", None)])
        self.provider.ok("POST", "grants/%d/revoke" % d["grant_id"], {"reason": "停止交换"})
        task = [t for t in self.exchange.ok("GET", "tasks")["items"] if t["id"] == task["id"]][0]
        self.assertFalse(task["enabled"] or task["runnable"], task)
        self.assertLess(task["runs_until_ms"], grant["expires_ms"])
        # The platform administrator cannot bring a revoked grant's task back.
        r = self.exchange.send("POST", "tasks/%d/enable" % task["id"])
        self.assertEqual(r.status_code, 409, r.text)
        r = self.exchange.send("POST", "tasks/%d/run" % task["id"])
        self.assertEqual(r.status_code, 409, r.text)


if __name__ == "__main__":
    main()
