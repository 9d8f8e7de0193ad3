"""The Redis ticket store away from the node (issue 19): a delay proxy the test
starts sits between tongban (one I/O thread) and a private redis-server,
adding 0.5 ms each way, or holding every byte until the test lets go.

- Ticket validations (easyAuth and commnetAuth) through 0.5 ms of latency
  answer correctly: each ticket once, a second redemption 6002/3002.
- While Redis answers nothing, validations wait without holding the I/O
  thread: eight of them are in flight at the proxy at once (pipelined, each
  one script call), and the login page, /livez, /healthz and an organduser
  read are answered before any of those validations, or a synchronous
  signed method waiting on Redis (getUserInfo, on the blocking pool), returns.
- CAS /login with a browser session (resume the session, store the ticket:
  two script calls) waits on Redis without holding a thread: with Redis
  silent, more such logins are in flight at the proxy than the blocking pool
  has threads, none answered yet; each login is two script calls.
- Redis restarted with validations in flight: they fail closed (9999), and
  the next ones succeed (the store reconnects and reloads its script).

Assertions are on order and correctness, never on timing thresholds."""
import re
import threading
import time
import unittest
import urllib.parse

import requests

import stores
from delay_proxy import DelayProxy
from signed_client import create_app, demo_credentials, fresh_time, md5_sign
from tongban_harness import TongbanServer, main

SKIP_REASON = stores.missing_binaries()
ADMIN_RE = re.compile(r"admin user:\s+(\S+) / (\S+)")


def query_of(location):
    return dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(location).query))


class Node:
    """One node with one I/O thread, its tickets in Redis behind the proxy."""

    def __init__(self):
        self.redis = stores.PrivateRedis().start()
        self.proxy = DelayProxy(self.redis.port)
        self.server = TongbanServer("--tickets", "redis://127.0.0.1:%d" % self.proxy.port)
        # One I/O thread, so that a blocked one would stall everything.
        self.server.args[self.server.args.index("--threads") + 1] = "1"
        self.server.start()
        self.servicecode, self.servicepwd = demo_credentials(self.server)
        self.admin, self.password = ADMIN_RE.search("\n".join(self.server.stdout_lines)).groups()
        self.browser = requests.Session()
        self.log_in()

    def log_in(self):
        """A fresh browser session (a restarted Redis forgot the last one)."""
        self.browser.cookies.clear()
        r = self.browser.get(self.login_url(), allow_redirects=False, timeout=30)
        csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', r.text).group(1)
        r = self.browser.post(self.server.url("/sso/usp.do"),
                              data={"action": "ssoLogin", "servicecode": "demo", "csrf": csrf,
                                    "loginname": self.admin, "password": self.password},
                              allow_redirects=False, timeout=30)
        assert r.status_code == 302, (r.status_code, r.text)
        return query_of(r.headers["Location"])["ticket"]

    def login_url(self):
        return self.server.url("/sso/usp.do?action=ssoLogin&servicecode=demo")

    def ticket(self):
        r = self.browser.get(self.login_url(), allow_redirects=False, timeout=30)
        assert r.status_code == 302, (r.status_code, r.text)
        return query_of(r.headers["Location"])["ticket"]

    def call(self, path, method, **params):
        # A time of its own: the same call again in the same second is a replay (9906).
        t = fresh_time(self.servicecode)
        fields = {"servicecode": self.servicecode, "time": t, "datatype": "json",
                  "sign": md5_sign(self.servicecode, self.servicepwd, t), "method": method,
                  **params}
        r = requests.post(self.server.url(path), data=fields, timeout=30)
        assert r.status_code == 200, r.text
        return r.json()

    def validate(self, st, interface="easy"):
        path = "/sso/servlet/simpleauth" if interface == "easy" else "/sso/servlet/ssoauth"
        return self.call(path, "ticketValidation", st=st)

    def close(self):
        self.browser.close()
        self.server.cleanup()
        self.proxy.close()
        self.redis.close()


@unittest.skipIf(SKIP_REASON, SKIP_REASON)
class RedisLatencyTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.n = Node()
        cls.addClassCleanup(cls.n.close)

    def test_validations_through_latency_redeem_each_ticket_exactly_once(self):
        tickets = [self.n.ticket() for _ in range(40)]
        results = {}
        lock = threading.Lock()

        def work(chunk):
            for i, st in chunk:
                interface = "easy" if i % 2 == 0 else "comm"
                first = self.n.validate(st, interface)
                second = self.n.validate(st, interface)
                with lock:
                    results[st] = (interface, first, second)

        chunks = [[(i, st) for i, st in enumerate(tickets) if i % 8 == k] for k in range(8)]
        threads = [threading.Thread(target=work, args=(c,)) for c in chunks]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        self.assertEqual(len(results), len(tickets))
        tokens = set()
        for st, (interface, first, second) in results.items():
            self.assertEqual(first["result"], "0", (st, first))
            self.assertEqual(first["loginname"], self.n.admin)
            field = "token" if interface == "easy" else "authcode"
            self.assertTrue(first[field], first)
            tokens.add(first[field])
            self.assertEqual(second["result"], "6002" if interface == "easy" else "3002", second)
        self.assertEqual(len(tokens), len(tickets), "every validation issued its own grant")
        # An issued easyAuth token works.
        st, (interface, first, _) = next((k, v) for k, v in results.items() if v[0] == "easy")
        info = self.n.call("/sso/servlet/simpleauth", "getUserInfo", token=first["token"])
        self.assertEqual(info["result"], "0", info)

    def test_a_silent_redis_stalls_no_unrelated_request_and_validations_wait_together(self):
        tickets = [self.n.ticket() for _ in range(8)]
        token = self.n.validate(self.n.ticket())["token"]
        # The user is in the directory's memory after this read: the read
        # below is answered on the I/O thread, whatever the pool is doing.
        warm = self.n.call("/sso/servlet/organduser", "getUserByLoginname", loginname=self.n.admin)
        self.assertEqual(warm["result"], "0", warm)
        before = self.n.proxy.evals()
        gets_before = self.n.proxy.gets()
        self.n.proxy.hold()
        replies = {}
        lock = threading.Lock()

        def validate(st):
            reply = self.n.validate(st)
            with lock:
                replies[st] = reply

        def user_info(k):
            # A synchronous signed method (one GET of the token): it waits on
            # the blocking pool, not on the I/O thread. Two of them hold the
            # pool's two threads (the harness's default on two cores).
            reply = self.n.call("/sso/servlet/simpleauth", "getUserInfo", token=token)
            with lock:
                replies["getUserInfo%d" % k] = reply

        threads = [threading.Thread(target=validate, args=(st,)) for st in tickets]
        threads += [threading.Thread(target=user_info, args=(k,)) for k in range(2)]
        try:
            for t in threads:
                t.start()
            # Readiness polling: every validation's one script call, and the
            # token's GET, reached the proxy.
            deadline = time.monotonic() + 30
            while ((self.n.proxy.evals() < before + len(tickets) or
                    self.n.proxy.gets() < gets_before + 2) and time.monotonic() < deadline):
                time.sleep(0.01)
            self.assertEqual(self.n.proxy.evals() - before, len(tickets),
                             "all eight validations are in flight at once on one I/O thread")
            self.assertEqual(self.n.proxy.gets() - gets_before, 2, "both getUserInfo wait on Redis")
            # Unrelated requests, on the same single I/O thread, while Redis is silent.
            anonymous = requests.get(self.n.login_url(), timeout=30)
            livez = requests.get(self.n.server.url("/livez"), timeout=30)
            read = self.n.call("/sso/servlet/organduser", "getUserByLoginname",
                               loginname=self.n.admin)
            with lock:
                answered_before = dict(replies)
            self.assertEqual(anonymous.status_code, 200)
            self.assertIn('name="loginname"', anonymous.text)
            self.assertEqual(livez.status_code, 200)
            self.assertEqual(read["result"], "0", read)
            self.assertEqual(answered_before, {},
                             "the unrelated requests were answered before any validation")
        finally:
            self.n.proxy.release()
            for t in threads:
                t.join(60)
        # /healthz probes Redis on the blocking pool; it answers either way.
        self.assertIn(requests.get(self.n.server.url("/healthz"), timeout=30).status_code,
                      (200, 503))
        for k in range(2):
            self.assertIn(replies.pop("getUserInfo%d" % k)["result"], ("0", "9999"))
        self.assertEqual(len(replies), len(tickets))
        for st, reply in replies.items():
            # Held for less than the store's 1 s command timeout: each succeeds;
            # held longer on a very slow machine, each fails closed. Never anything else.
            self.assertIn(reply["result"], ("0", "9999"), reply)
            if reply["result"] == "0":
                self.assertEqual(self.n.validate(st)["result"], "6002")

    def test_cas_logins_of_a_session_hold_no_thread_while_redis_is_silent(self):
        # The callback host is never contacted: /login only redirects to it.
        base = "http://127.0.0.1:9/casredis/"
        service = base + "index.jsp"
        create_app(self.n.server.data_dir, "casredis", "--protocols", "cas", "--open-to-all",
                   "--callback", base)
        self.n.log_in()
        cookies = self.n.browser.cookies.get_dict()
        cas = self.n.server.url("/sso/cas")

        def login():
            return requests.get(cas + "/login", params={"service": service}, cookies=cookies,
                                allow_redirects=False, timeout=30)

        def validate(ticket):
            return requests.get(cas + "/p3/serviceValidate",
                                params={"service": service, "ticket": ticket}, timeout=30)

        warm = login()  # loads the app and the user's roles into memory
        self.assertEqual(warm.status_code, 302, warm.text)
        # Two script calls a login: the session's resume and the ticket's issue.
        before = self.n.proxy.evals()
        r = login()
        self.assertEqual(self.n.proxy.evals() - before, 2)
        ticket = query_of(r.headers["Location"])["ticket"]
        self.assertIn(self.n.admin, validate(ticket).text)

        logins = 4  # the blocking pool has two threads (the harness's default)
        before = self.n.proxy.evals()
        replies = {}
        lock = threading.Lock()

        def held_login(k):
            reply = login()
            with lock:
                replies[k] = reply

        self.n.proxy.hold()
        threads = [threading.Thread(target=held_login, args=(k,)) for k in range(logins)]
        try:
            for t in threads:
                t.start()
            deadline = time.monotonic() + 30
            while self.n.proxy.evals() < before + logins and time.monotonic() < deadline:
                time.sleep(0.01)
            with lock:
                answered_before = dict(replies)
            self.assertEqual(self.n.proxy.evals() - before, logins,
                             "every login's session resume is in flight at once")
            self.assertEqual(answered_before, {}, "none waited on a thread of its own")
        finally:
            self.n.proxy.release()
            for t in threads:
                t.join(60)
        self.assertEqual(len(replies), logins)
        for reply in replies.values():
            # Held for less than the 1 s command timeout: a ticket; longer (a very
            # slow machine): the session could not be read, so the login page.
            self.assertEqual(reply.status_code, 302, reply.text)
            location = reply.headers["Location"]
            if location.startswith(base):
                self.assertIn(self.n.admin, validate(query_of(location)["ticket"]).text)
            else:
                self.assertIn("/sso/usp.do", location)

    def test_a_redis_restart_fails_calls_closed_and_the_store_recovers(self):
        st = self.n.ticket()
        self.n.redis.stop()
        try:
            down = self.n.validate(st)
            self.assertEqual(down["result"], "9999", down)
            self.assertEqual(requests.get(self.n.server.url("/healthz"), timeout=30).status_code,
                             503)
        finally:
            self.n.redis.restart()
        # The restarted Redis is empty (its script cache too): the browser logs
        # in again, and its ticket validates.
        fresh = self.n.log_in()
        up = self.n.validate(fresh)
        self.assertEqual(up["result"], "0", up)
        self.assertEqual(self.n.validate(fresh)["result"], "6002")

if __name__ == "__main__":
    main()
