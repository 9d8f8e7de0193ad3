"""Session 15's read-only attack review of the SSO protocols (review15), pinned
through the real binary:

- CAS /proxy gave a password-only login a proxy ticket for an app that
  requires a second factor, or a real-name level above the user's: /login,
  js.do and the zj interfaces' generateST refuse both; now /proxy does too;
- a service ticket not yet validated outlived the user's logout (it still
  validated, and with a pgtUrl yielded a PGT indexed under the ended session,
  which no later logout would end); now a logout erases the session's
  tickets, and a PGT whose session has ended is refused and erased.
"""
import json
import unittest
import xml.etree.ElementTree as ET

import requests

from signed_client import SignedClient, create_app, demo_credentials
from test_cas import NS, CasTestBase, FormFields, query_of
from tongban_harness import main, run_admin

LOGIN, PASSWORD = "r15user", "Review15-Passw0rd"


class CasProxyAndLogout(CasTestBase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        d = cls.server.data_dir
        create_app(d, "r15secure", "--protocols", "cas", "--open-to-all",
                   "--callback", cls.host.url + "/r15secure/")
        run_admin(d, "app", "second-factor", "r15secure", "--required", "true")
        create_app(d, "r15level3", "--protocols", "cas", "--open-to-all",
                   "--callback", cls.host.url + "/r15level3/")
        run_admin(d, "app", "set", "r15level3", "--min-authlevel", "3")
        code, pwd = demo_credentials(cls.server)
        demo = SignedClient(cls.base, code, pwd)
        r = demo.json("synchronizeUser", args=json.dumps({
            "loginname": LOGIN, "username": "审查 十五", "orgcoding": "001001",
            "mobile": "13800000115", "loginpwd": PASSWORD}))
        assert r["result"] == "0", r

    def user_ticket(self, service):
        """A password-only login of the ordinary user at `service`: (browser, ST)."""
        b = self.browser()
        r = self.follow_until_service(b, b.get(self.cas + "/login", params={"service": service},
                                               allow_redirects=False, timeout=10))
        fields = FormFields(r.text).fields
        fields["loginname"], fields["password"] = LOGIN, PASSWORD
        r = self.follow_until_service(b, b.post(self.base + "/sso/usp.do", data=fields,
                                                allow_redirects=False, timeout=10))
        self.assertEqual(r.status_code, 302, r.text[:300])
        self.assertTrue(r.headers["Location"].startswith(service), r.headers["Location"])
        return b, query_of(r.headers["Location"])["ticket"]

    def pgt_for(self, ticket):
        pgt_url = self.host.url + "/casapp/pgtCallback"
        r = self.validate("/serviceValidate", service=self.service, ticket=ticket, pgtUrl=pgt_url)
        node = ET.fromstring(r.content).find(
            "cas:authenticationSuccess/cas:proxyGrantingTicket", NS)
        self.assertIsNotNone(node, r.text)
        with self.host.cond:
            calls = [query_of(p) for p in self.host.gets if p.startswith("/casapp/pgtCallback")]
        return next(c["pgtId"] for c in calls if c.get("pgtIou") == node.text)

    def proxy(self, pgt, target):
        r = self.validate("/proxy", pgt=pgt, targetService=target)
        root = ET.fromstring(r.content)
        ticket = root.find("cas:proxySuccess/cas:proxyTicket", NS)
        failure = root.find("cas:proxyFailure", NS)
        return (ticket.text if ticket is not None else None,
                failure.get("code") if failure is not None else None)

    def test_proxy_applies_the_targets_second_factor_and_level(self):
        browser, st = self.user_ticket(self.service)
        # The browser itself gets no ticket for either app (the control).
        r = browser.get(self.cas + "/login", params={"service": self.host.url + "/r15secure/x"},
                        allow_redirects=False, timeout=10)
        self.assertNotIn("ticket=", r.headers.get("Location", ""))
        r = browser.get(self.cas + "/login", params={"service": self.host.url + "/r15level3/x"},
                        allow_redirects=False, timeout=10)
        self.assertEqual(r.status_code, 403)
        pgt = self.pgt_for(st)
        for target in ("/r15secure/x", "/r15level3/x"):
            pt, code = self.proxy(pgt, self.host.url + target)
            self.assertIsNone(pt, target)
            self.assertEqual(code, "UNAUTHORIZED_SERVICE", target)
        # An app without either policy is still reached through the same PGT.
        target = self.host.url + "/casapp2/api"
        pt, code = self.proxy(pgt, target)
        self.assertIsNotNone(pt, code)
        r = self.validate("/p3/proxyValidate", service=target, ticket=pt, format="JSON")
        self.assertEqual(r.json()["serviceResponse"]["authenticationSuccess"]["user"], LOGIN)

    def test_a_ticket_and_its_pgt_end_with_the_session(self):
        # A ticket validated after its session ended opens nothing and yields no PGT.
        browser, st = self.user_ticket(self.service)
        r = self.follow_until_service(browser, browser.get(self.cas + "/logout",
                                                           allow_redirects=False, timeout=10))
        self.assertEqual(r.status_code, 200)
        with self.host.cond:
            before = len(self.host.gets)
        r = self.validate("/serviceValidate", service=self.service, ticket=st,
                          pgtUrl=self.host.url + "/casapp/pgtCallback")
        failure = ET.fromstring(r.content).find("cas:authenticationFailure", NS)
        self.assertIsNotNone(failure, r.text)
        self.assertEqual(failure.get("code"), "INVALID_TICKET")
        with self.host.cond:
            self.assertFalse(any("pgtId=" in p for p in self.host.gets[before:]))

        # A PGT obtained while the session lived stops with its logout.
        browser, st = self.user_ticket(self.service)
        pgt = self.pgt_for(st)
        target = self.host.url + "/casapp2/api"
        self.assertIsNotNone(self.proxy(pgt, target)[0])
        self.follow_until_service(browser, browser.get(self.cas + "/logout",
                                                       allow_redirects=False, timeout=10))
        pt, code = self.proxy(pgt, target)
        self.assertIsNone(pt)
        self.assertEqual(code, "INVALID_TICKET")


if __name__ == "__main__":
    main()
