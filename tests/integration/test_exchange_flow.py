"""The exchange through the real binary: a platform admin creates two nodes (a provider
SQLite file, a subscriber PostgreSQL database), a resource on each (tables created by tongban),
a task and its 配置工单, approves it; rows inserted on the provider arrive on PostgreSQL by the
runner alone. Then kill -9 in the middle of a large delivery and a restart: every row arrives
exactly once in effect, with the values of the source."""
import os
import sqlite3
import tempfile
import time
import unittest

from approval_fixture import Client, admin_credentials, browser_login
from stores import PrivatePostgres, missing_binaries
from tongban_harness import TongbanServer, main

USCC = "91350100M000100Y43"
ORG_CODE = "12345678-8"
FIELDS = [
    {"code": "idno", "name": "证件号码", "type": "string", "length": 18, "required": True, "key": True},
    {"code": "name", "name": "姓名", "type": "string", "length": 20, "required": True},
    {"code": "age", "name": "年龄", "type": "int"},
    {"code": "fee", "name": "费用", "type": "decimal", "length": 10, "scale": 2},
]


def wait_for(predicate, seconds, what):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("timed out waiting for " + what)


@unittest.skipIf(missing_binaries(), "PostgreSQL binaries missing")
class ExchangeFlowTest(unittest.TestCase):
    def setUp(self):
        self.pg = PrivatePostgres().start()
        self.addCleanup(self.pg.close)
        self.pg_url = self.pg.new_database_url()
        self.pg_db = self.pg_url.rsplit("/", 1)[1]
        self.data_dir = tempfile.mkdtemp(prefix="tongban-exchange-it-")
        self.config = os.path.join(self.data_dir, "tongban.toml")
        with open(self.config, "w") as f:
            f.write('[console]\nenabled = true\n[exchange]\nholder = "it-node"\nlease_ttl_s = 5\n')
        self.server = self.start_server()
        self.provider_db = os.path.join(self.data_dir, "provider-node.db")

    def start_server(self):
        server = TongbanServer("--config", self.config, data_dir=self.data_dir).start()
        self.addCleanup(server.cleanup)
        return server

    def admin(self, server):
        login, password = admin_credentials(server)
        return Client(server.base_url, browser_login(server.base_url, login, password),
                      "/sso/exchange/api/", "me")

    def pg_count(self):
        out = self.pg.query(self.pg_db, "SELECT COUNT(*) FROM people")
        return int(out or 0)

    def insert_rows(self, start, stop):
        db = sqlite3.connect(self.provider_db, timeout=30)
        with db:
            db.executemany(
                "INSERT INTO people (idno, name, age, fee, tongid) VALUES (?, ?, ?, ?, ?)",
                [("3301001990%08d" % i, "人%d" % i, i % 100, "%d.25" % (i % 1000), "t%07d" % i)
                 for i in range(start, stop)])
        db.close()

    def test_rows_flow_to_postgres_and_survive_kill_9(self):
        api = self.admin(self.server)
        # The demo seed made a node on first start.
        nodes = api.ok("GET", "nodes")["items"]
        self.assertTrue(any(n["name"] == "QZ_330100_" + USCC for n in nodes), nodes)

        provider = api.ok("POST", "nodes", {
            "division": "330200", "dept_code": USCC, "dept_name": "市公安局",
            "url": "sqlite://" + self.provider_db,
            "contacts": [{"name": "张三", "phone": "13800000000"}]})
        self.assertEqual(provider["name"], "QZ_330200_" + USCC)
        pg_url = self.pg_url.replace("tongban@", "tongban:pw-not-shown@")
        subscriber = api.ok("POST", "nodes", {
            "division": "330300", "dept_code": ORG_CODE, "dept_name": "市民政局", "url": pg_url})
        self.assertNotIn("pw-not-shown", str(subscriber))
        self.assertIn("***", subscriber["url"])
        bad = api.send("POST", "nodes", {"division": "330400", "dept_code": "12345678-9",
                                         "dept_name": "x", "url": "sqlite:///tmp/x.db"})
        self.assertEqual(bad.status_code, 400, bad.text)

        src = api.ok("POST", "resources", {"code": "people", "name": "人员", "node_id": provider["id"],
                                           "model": "horizontal", "fields": FIELDS,
                                           "create_table": True})
        self.assertEqual(src["table"], "created")
        dst = api.ok("POST", "resources", {"code": "people", "name": "人员", "node_id": subscriber["id"],
                                           "model": "horizontal", "fields": FIELDS,
                                           "create_table": True})
        self.assertEqual(dst["table"], "created")
        task = api.ok("POST", "tasks", {"code": "people_sync", "name": "人员同步",
                                        "provider_resource_id": src["id"],
                                        "subscribers": [dst["id"]], "poll_seconds": 1,
                                        "batch_size": 100})
        self.assertFalse(task["runnable"])
        # Without CSRF a write is refused.
        no_csrf = api.b.post(self.server.url("/sso/exchange/api/tasks/%d/orders" % task["id"]), json={})
        self.assertEqual(no_csrf.status_code, 403)
        order = api.ok("POST", "tasks/%d/orders" % task["id"], {"submit": True})
        self.assertEqual(order["state"], "submitted")
        xlsx = api.get("orders/%d/xlsx" % order["id"])
        self.assertEqual(xlsx.status_code, 200)
        self.assertEqual(xlsx.content[:2], b"PK")
        self.insert_rows(0, 10)
        api.ok("POST", "orders/%d/approve" % order["id"])
        wait_for(lambda: self.pg_count() == 10, 20, "the first 10 rows on PostgreSQL")
        self.assertEqual(self.pg.query(self.pg_db, "SELECT name, age, fee FROM people WHERE "
                                                   "tongid = 't0000007'"), "人7|7|7.25")
        health = api.ok("GET", "health")
        light = [t for t in health["tasks"] if t["code"] == "people_sync"][0]
        self.assertEqual(light["light"], "green", health)
        self.assertEqual(light["subscribers"][0]["lag_rows"], 0)

        # A large delivery, killed in the middle.
        total = 20000
        self.insert_rows(10, total)
        wait_for(lambda: 10 < self.pg_count() < total, 60, "the delivery under way")
        self.server.kill()
        partial = self.pg_count()
        self.assertLess(partial, total)
        # Changes while the node is down: updates and deletes of delivered rows.
        db = sqlite3.connect(self.provider_db)
        with db:
            db.execute("UPDATE people SET name = '改名', sync_status = 'U' WHERE tongid = 't0000003'")
            db.execute("UPDATE people SET sync_status = 'D' WHERE tongid = 't0000004'")
        db.close()
        restarted = self.start_server()
        self.server = restarted
        wait_for(lambda: self.pg.query(self.pg_db, "SELECT COUNT(*) FROM people WHERE "
                                                   "dataversion = 2") == "2", 120,
                 "every row and both changes on PostgreSQL")
        self.assertEqual(self.pg_count(), total)
        self.assertEqual(
            self.pg.query(self.pg_db, "SELECT COUNT(DISTINCT tongid), SUM(age), SUM(fee) FROM people"),
            "%d|%d|%s" % (total, sum(i % 100 for i in range(total)),
                          "%.2f" % sum((i % 1000) + 0.25 for i in range(total))))
        self.assertEqual(self.pg.query(self.pg_db, "SELECT name, sync_status FROM people WHERE "
                                                   "tongid IN ('t0000003', 't0000004') ORDER BY tongid"),
                         "改名|U\n人4|D")


if __name__ == "__main__":
    main()
