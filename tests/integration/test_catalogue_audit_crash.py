"""Every answered base query is audited, even across kill -9: department
systems query concurrently (their audit rows share group commits,
catalogue/audit.h AuditCommitter), the server is killed with SIGKILL in the
middle of the burst, restarted on the same data, and every query that got an
answer before the kill has its audit row (docs/design/catalogue.md "Audit of
queries")."""
import re
import secrets
import threading
import time
import unittest

import requests

from approval_fixture import Client, admin_login, browser_login
from tongban_harness import TongbanServer, main

API = "/catalogue/api/"
ACCOUNT_RE = re.compile(r"catalogue (\w+) \(org (\S+)\): login=(\S+) password=(\S+)")
WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]


def resident_id(n):
    """A valid ID number (check character right), one per n, never loaded."""
    body = "110105%04d%02d%02d%03d" % (1950 + n % 50, 1 + n // 50 % 12, 1 + n // 600 % 28,
                                       100 + n // 16800 % 900)
    return body + "10X98765432"[sum(int(body[i]) * WEIGHTS[i] for i in range(17)) % 11]


class CatalogueAuditCrash(unittest.TestCase):
    def test_answered_queries_keep_their_audit_rows_after_kill_9(self):
        server = TongbanServer().start()
        try:
            self.run_burst(server)
        finally:
            server.owns_dir = True
            server.cleanup()

    def run_burst(self, server):
        base = server.base_url
        accounts = {}
        for line in server.stdout_lines:
            m = ACCOUNT_RE.search(line)
            if m:
                accounts[m.group(1)] = (m.group(3), m.group(4))
        user = Client(base, browser_login(base, *accounts["user"]), API)
        provider = Client(base, browser_login(base, *accounts["provider"]), API)
        code = "crash%s" % secrets.token_hex(3)
        created = admin_login(server).ok("POST", "apps", {
            "servicecode": code, "name": "民政业务系统", "orgcoding": "001092",
            "protocols": {"oidc": True}})
        person = [r for r in user.ok("GET", "resources", q="人口")["items"]
                  if r["base_kind"] == "person"][0]
        a = user.ok("POST", "applications", {"resource_id": person["id"], "purpose": "核验",
                                             "legal_basis": "依据", "fields": ["name"],
                                             "app": code})
        provider.ok("POST", "applications/%d/decision" % a["id"],
                    {"approve": True, "fields": ["name"]})
        token = requests.post(base + "/sso/oidc/token", data={
            "grant_type": "client_credentials", "client_id": code,
            "client_secret": created["servicepwd"]}, timeout=10).json()["access_token"]

        answered = []  # keys whose query got a reply (4004: no such person, audited)
        lock = threading.Lock()
        stop = threading.Event()

        def caller(t):
            s = requests.Session()
            s.headers["Authorization"] = "Bearer " + token
            i = 0
            while not stop.is_set():
                key = resident_id(t * 100000 + i)
                i += 1
                try:
                    r = s.post(base + API + "base/person/query",
                               json={"key": key, "fields": ["name"]}, timeout=10)
                except requests.RequestException:
                    return  # the server is gone
                if r.status_code == 404 and r.json()["code"] == 4004:
                    with lock:
                        answered.append(key)
                else:
                    with lock:
                        answered.append(("unexpected", r.status_code, r.text))

        threads = [threading.Thread(target=caller, args=(t,)) for t in range(6)]
        for t in threads:
            t.start()
        deadline = time.monotonic() + 60
        while len(answered) < 150 and time.monotonic() < deadline:
            time.sleep(0.01)  # polling the count, not synchronising on time
        server.kill()
        stop.set()
        for t in threads:
            t.join()
        self.assertGreaterEqual(len(answered), 150)
        self.assertFalse([x for x in answered if isinstance(x, tuple)])

        server.start()
        admin = Client(server.base_url, browser_login(server.base_url, *accounts["admin"]), API)
        missing = [k for k in answered
                   if not admin.ok("GET", "audit", action="base.query", key=k)["items"]]
        self.assertEqual(missing, [], "answered before kill -9 but not audited")


if __name__ == "__main__":
    main()
