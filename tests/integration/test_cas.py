"""CAS 1.0/2.0/3.0 against the real binary, driven as a CAS client and a
browser drive it (python3-requests): login through the real login page, SSO
on the next service, /validate, /serviceValidate and /p3/serviceValidate in
XML and JSON, renew and gateway, proxy-granting tickets through a verified
pgtUrl callback, /proxy and /proxyValidate, single logout (a logoutRequest
POSTed to the service), and the refusals (wrong service, replayed ticket,
unregistered service, expired ticket)."""
import html.parser
import http.server
import os
import re
import socket
import tempfile
import threading
import time
import unittest
import urllib.parse
import xml.etree.ElementTree as ET

import requests

from signed_client import create_app
from tongban_harness import TongbanServer, main

NS = {"cas": "http://www.yale.edu/tp/cas"}
ADMIN_RE = re.compile(r"admin user:\s+(\S+) / (\S+)")


class ServiceHost:
    """The CAS services' web server on loopback: answers every GET with 200
    (the pgtUrl callback) and records GETs and POSTs (single logout)."""

    def __init__(self):
        self.gets = []
        self.posts = []
        self.cond = threading.Condition()
        # A GET whose path holds "/hold" is answered only once this is set:
        # a callback host that hangs, for as long as a test needs.
        self.release = threading.Event()
        host = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                with host.cond:
                    host.gets.append(self.path)
                    host.cond.notify_all()
                if "/hold" in self.path:
                    host.release.wait(30)
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with host.cond:
                    host.posts.append((self.path, dict(urllib.parse.parse_qsl(body.decode()))))
                    host.cond.notify_all()
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = "http://127.0.0.1:%d" % self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def wait_post(self, predicate, timeout=10):
        with self.cond:
            ok = self.cond.wait_for(lambda: any(predicate(p, f) for p, f in self.posts), timeout)
            return [(p, f) for p, f in self.posts if predicate(p, f)] if ok else []

    def close(self):
        self.httpd.shutdown()


class FormFields(html.parser.HTMLParser):
    def __init__(self, text):
        super().__init__()
        self.fields = {}
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "input" and a.get("name"):
            self.fields[a["name"]] = a.get("value", "")


def query_of(url):
    return dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query))


class CasTestBase(unittest.TestCase):
    config = None  # TOML text for the server, or None
    outbound_loopback = True  # the ServiceHost listens on loopback

    @classmethod
    def setUpClass(cls):
        cls.host = ServiceHost()
        extra = []
        cls.config_file = None
        if cls.config:
            cls.config_file = tempfile.NamedTemporaryFile("w", suffix=".toml", delete=False)
            cls.config_file.write(cls.config)
            cls.config_file.close()
            extra = ["--config", cls.config_file.name]
        cls.server = TongbanServer(*extra, outbound_loopback=cls.outbound_loopback).start()
        cls.base = cls.server.base_url
        cls.cas = cls.base + "/sso/cas"
        m = next(ADMIN_RE.search(l) for l in cls.server.stdout_lines if ADMIN_RE.search(l))
        cls.admin_login, cls.admin_password = m.group(1), m.group(2)
        cls.service = cls.host.url + "/casapp/index.jsp"
        d = cls.server.data_dir
        create_app(d, "casapp", "--protocols", "cas", "--open-to-all", "--proxy",
                   "--callback", cls.host.url + "/casapp/")
        create_app(d, "casapp2", "--protocols", "cas", "--open-to-all",
                   "--callback", cls.host.url + "/casapp2/")
        create_app(d, "noproxy", "--protocols", "cas", "--open-to-all",
                   "--callback", cls.host.url + "/noproxy/")
        create_app(d, "zjonly", "--open-to-all", "--callback", cls.host.url + "/zj/")

    @classmethod
    def tearDownClass(cls):
        cls.server.cleanup()
        cls.host.close()
        if cls.config_file:
            os.unlink(cls.config_file.name)

    def browser(self):
        b = requests.Session()
        self.addCleanup(b.close)
        return b

    def follow_until_service(self, browser, response):
        for _ in range(10):
            if response.status_code != 302:
                return response
            location = response.headers["Location"]
            if location.startswith(self.host.url):
                return response
            if location.startswith("/"):
                location = self.base + location
            response = browser.get(location, allow_redirects=False, timeout=10)
        self.fail("too many redirects")

    def login_for(self, service, browser=None, **params):
        """/cas/login through the login page; returns (browser, redirect to the service)."""
        browser = browser or self.browser()
        r = browser.get(self.cas + "/login", params={"service": service, **params},
                        allow_redirects=False, timeout=10)
        r = self.follow_until_service(browser, r)
        if r.status_code == 200 and 'name="password"' in r.text:
            fields = FormFields(r.text).fields
            fields["loginname"], fields["password"] = self.admin_login, self.admin_password
            r = browser.post(self.base + "/sso/usp.do", data=fields, allow_redirects=False,
                             timeout=10)
            r = self.follow_until_service(browser, r)
        self.assertEqual(r.status_code, 302, r.text[:300])
        return browser, r.headers["Location"]

    def ticket_for(self, service, browser=None, **params):
        browser, location = self.login_for(service, browser, **params)
        self.assertTrue(location.startswith(service), location)
        return browser, query_of(location)["ticket"]

    def validate(self, path, **params):
        r = requests.get(self.cas + path, params=params, timeout=10)
        self.assertEqual(r.status_code, 200)
        return r


class CasTest(CasTestBase):
    # ---- login ----

    def test_login_redirects_to_the_service_with_a_service_ticket(self):
        _, ticket = self.ticket_for(self.service)
        self.assertTrue(ticket.startswith("ST-"), ticket)

    def test_a_logged_in_browser_gets_a_ticket_without_the_login_page(self):
        browser, _ = self.ticket_for(self.service)
        r = browser.get(self.cas + "/login", params={"service": self.host.url + "/casapp2/"},
                        allow_redirects=False, timeout=10)
        self.assertEqual(r.status_code, 302)
        self.assertIn("ticket=ST-", r.headers["Location"])

    def test_unregistered_service_is_refused_without_redirecting(self):
        for service in ("http://evil.example/", self.host.url + "/zj/x",
                        self.host.url + "/casapp/../evil"):
            r = requests.get(self.cas + "/login", params={"service": service},
                             allow_redirects=False, timeout=10)
            self.assertEqual(r.status_code, 400, service)
            self.assertNotIn("Location", r.headers)

    def test_gateway_without_a_session_returns_to_the_service_without_a_ticket(self):
        r = requests.get(self.cas + "/login", params={"service": self.service, "gateway": "true"},
                         allow_redirects=False, timeout=10)
        self.assertEqual(r.status_code, 302)
        self.assertEqual(r.headers["Location"], self.service)

    # ---- validation ----

    def test_service_validate_answers_the_user_and_attributes_in_xml(self):
        _, ticket = self.ticket_for(self.service)
        r = self.validate("/serviceValidate", service=self.service, ticket=ticket)
        root = ET.fromstring(r.content)
        self.assertEqual(root.tag, "{http://www.yale.edu/tp/cas}serviceResponse")
        success = root.find("cas:authenticationSuccess", NS)
        self.assertIsNotNone(success, r.text)
        self.assertEqual(success.find("cas:user", NS).text, self.admin_login)
        attrs = success.find("cas:attributes", NS)
        self.assertEqual(attrs.find("cas:loginname", NS).text, self.admin_login)
        self.assertEqual(len(attrs.find("cas:userid", NS).text), 32)
        self.assertEqual(attrs.find("cas:isFromNewLogin", NS).text, "true")

    def test_p3_service_validate_answers_json_when_asked(self):
        _, ticket = self.ticket_for(self.service)
        r = self.validate("/p3/serviceValidate", service=self.service, ticket=ticket,
                          format="JSON")
        self.assertTrue(r.headers["Content-Type"].startswith("application/json"))
        success = r.json()["serviceResponse"]["authenticationSuccess"]
        self.assertEqual(success["user"], self.admin_login)
        self.assertEqual(success["attributes"]["loginname"], [self.admin_login])

    def test_cas1_validate_answers_yes_and_the_user(self):
        _, ticket = self.ticket_for(self.service)
        r = self.validate("/validate", service=self.service, ticket=ticket)
        self.assertEqual(r.text, "yes\n%s\n" % self.admin_login)

    def test_replayed_ticket_is_invalid(self):
        _, ticket = self.ticket_for(self.service)
        self.validate("/serviceValidate", service=self.service, ticket=ticket)
        r = self.validate("/serviceValidate", service=self.service, ticket=ticket)
        failure = ET.fromstring(r.content).find("cas:authenticationFailure", NS)
        self.assertEqual(failure.get("code"), "INVALID_TICKET")

    def test_ticket_presented_for_another_service_is_invalid_and_used_up(self):
        _, ticket = self.ticket_for(self.service)
        r = self.validate("/serviceValidate", service=self.host.url + "/casapp/other",
                          ticket=ticket)
        failure = ET.fromstring(r.content).find("cas:authenticationFailure", NS)
        self.assertEqual(failure.get("code"), "INVALID_SERVICE")
        r = self.validate("/serviceValidate", service=self.service, ticket=ticket)
        failure = ET.fromstring(r.content).find("cas:authenticationFailure", NS)
        self.assertEqual(failure.get("code"), "INVALID_TICKET")

    def test_cas1_validate_answers_no_for_an_unknown_ticket(self):
        r = self.validate("/validate", service=self.service, ticket="ST-unknown")
        self.assertEqual(r.text, "no\n\n")

    def test_missing_parameters_are_invalid_request(self):
        r = self.validate("/serviceValidate", service=self.service, format="JSON")
        failure = r.json()["serviceResponse"]["authenticationFailure"]
        self.assertEqual(failure["code"], "INVALID_REQUEST")

    # ---- renew ----

    def test_renew_validation_refuses_a_ticket_from_an_existing_session(self):
        browser, _ = self.ticket_for(self.service)
        _, ticket = self.ticket_for(self.service, browser)
        r = self.validate("/serviceValidate", service=self.service, ticket=ticket, renew="true")
        failure = ET.fromstring(r.content).find("cas:authenticationFailure", NS)
        self.assertEqual(failure.get("code"), "INVALID_TICKET_SPEC")

    def test_renew_login_asks_for_credentials_again(self):
        browser, _ = self.ticket_for(self.service)
        r = browser.get(self.cas + "/login", params={"service": self.service, "renew": "true"},
                        allow_redirects=True, timeout=10)
        self.assertIn('name="password"', r.text)
        _, ticket = self.ticket_for(self.service, browser, renew="true")
        r = self.validate("/serviceValidate", service=self.service, ticket=ticket, renew="true")
        self.assertIsNotNone(
            ET.fromstring(r.content).find("cas:authenticationSuccess", NS), r.text)

    def test_renew_login_for_another_service_asks_for_the_password_and_marks_a_new_login(self):
        browser, _ = self.ticket_for(self.service)
        service_b = self.host.url + "/casapp2/index.jsp"
        r = browser.get(self.cas + "/login", params={"service": service_b, "renew": "true"},
                        allow_redirects=True, timeout=10)
        self.assertIn('name="password"', r.text)
        self.assertEqual(FormFields(r.text).fields.get("renew"), "true")
        _, ticket = self.ticket_for(service_b, browser, renew="true")
        r = self.validate("/p3/serviceValidate", service=service_b, ticket=ticket, renew="true")
        fresh = ET.fromstring(r.content).find(
            "cas:authenticationSuccess/cas:attributes/cas:isFromNewLogin", NS)
        self.assertIsNotNone(fresh, r.text)
        self.assertEqual(fresh.text, "true")

    def test_renew_login_keeps_the_sso_session_of_the_other_services(self):
        browser, _ = self.ticket_for(self.service)
        # Issued in the session before the renew; ending the session would void it.
        _, pending = self.ticket_for(self.service, browser)
        cookie = browser.cookies.get("TBSSO")
        self.ticket_for(self.host.url + "/casapp2/index.jsp", browser, renew="true")
        self.assertEqual(browser.cookies.get("TBSSO"), cookie)
        r = self.validate("/serviceValidate", service=self.service, ticket=pending)
        self.assertIsNotNone(
            ET.fromstring(r.content).find("cas:authenticationSuccess", NS), r.text)
        # Still logged in: the next login needs no password.
        r = browser.get(self.cas + "/login", params={"service": self.service},
                        allow_redirects=False, timeout=10)
        r = self.follow_until_service(browser, r)
        self.assertEqual(r.status_code, 302, r.text[:300])

    # ---- proxies ----

    def test_proxy_granting_ticket_goes_to_the_verified_callback(self):
        _, ticket = self.ticket_for(self.service)
        pgt_url = self.host.url + "/casapp/pgtCallback"
        r = self.validate("/serviceValidate", service=self.service, ticket=ticket,
                          pgtUrl=pgt_url)
        iou = ET.fromstring(r.content).find(
            "cas:authenticationSuccess/cas:proxyGrantingTicket", NS).text
        self.assertTrue(iou.startswith("PGTIOU-"))
        with self.host.cond:
            calls = [query_of(p) for p in self.host.gets if p.startswith("/casapp/pgtCallback")]
        pgt = next(c["pgtId"] for c in calls if c.get("pgtIou") == iou)
        self.assertTrue(pgt.startswith("PGT-"))

        target = self.host.url + "/casapp2/api"
        r = self.validate("/proxy", pgt=pgt, targetService=target)
        pt = ET.fromstring(r.content).find("cas:proxySuccess/cas:proxyTicket", NS).text
        self.assertTrue(pt.startswith("PT-"))
        r = self.validate("/p3/proxyValidate", service=target, ticket=pt, format="JSON")
        success = r.json()["serviceResponse"]["authenticationSuccess"]
        self.assertEqual(success["user"], self.admin_login)
        self.assertEqual(success["proxies"], [pgt_url])

    # Session 12 (review12c): with the in-memory store the validation that calls
    # the pgtUrl ran on an I/O thread, so a slow callback host stalled every
    # connection of that thread. Two keep-alive connections (one on each of the
    # server's two I/O threads) must be answered while the callback hangs.
    def test_a_hanging_pgt_callback_stalls_no_other_connection(self):
        port = int(self.base.rsplit(":", 1)[1])
        idle = [socket.create_connection(("127.0.0.1", port), timeout=5) for _ in range(2)]
        self.addCleanup(lambda: [s.close() for s in idle])
        _, ticket = self.ticket_for(self.service)
        self.host.release.clear()
        self.addCleanup(self.host.release.set)
        answer = {}
        validation = threading.Thread(target=lambda: answer.update(r=self.validate(
            "/serviceValidate", service=self.service, ticket=ticket,
            pgtUrl=self.host.url + "/casapp/hold")))
        validation.start()
        with self.host.cond:
            self.assertTrue(self.host.cond.wait_for(
                lambda: any("/casapp/hold" in p for p in self.host.gets), timeout=10))
        for s in idle:  # the callback is hanging now (the server gives it 5 s)
            s.settimeout(2)
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            self.assertTrue(s.recv(100).startswith(b"HTTP/1.1 200"))
        self.host.release.set()
        validation.join(30)
        self.assertIn("authenticationSuccess", answer["r"].text)

    def test_proxy_ticket_is_refused_at_service_validate(self):
        _, ticket = self.ticket_for(self.service)
        self.validate("/serviceValidate", service=self.service, ticket=ticket,
                      pgtUrl=self.host.url + "/casapp/pgtCallback")
        with self.host.cond:
            pgt = query_of(self.host.gets[-1])["pgtId"]
        target = self.host.url + "/casapp2/api"
        pt = ET.fromstring(self.validate("/proxy", pgt=pgt, targetService=target).content).find(
            "cas:proxySuccess/cas:proxyTicket", NS).text
        r = self.validate("/serviceValidate", service=target, ticket=pt)
        failure = ET.fromstring(r.content).find("cas:authenticationFailure", NS)
        self.assertEqual(failure.get("code"), "INVALID_TICKET_SPEC")

    def test_service_without_proxy_right_gets_no_pgt(self):
        service = self.host.url + "/noproxy/"
        _, ticket = self.ticket_for(service)
        r = self.validate("/serviceValidate", service=service, ticket=ticket,
                          pgtUrl=self.host.url + "/noproxy/pgtCallback")
        failure = ET.fromstring(r.content).find("cas:authenticationFailure", NS)
        self.assertEqual(failure.get("code"), "UNAUTHORIZED_SERVICE_PROXY")

    def test_unregistered_pgt_url_is_refused(self):
        _, ticket = self.ticket_for(self.service)
        r = self.validate("/serviceValidate", service=self.service, ticket=ticket,
                          pgtUrl="http://127.0.0.1:9/elsewhere")
        failure = ET.fromstring(r.content).find("cas:authenticationFailure", NS)
        self.assertEqual(failure.get("code"), "INVALID_PROXY_CALLBACK")

    def test_proxy_with_an_unknown_pgt_fails(self):
        r = self.validate("/proxy", pgt="PGT-unknown", targetService=self.service, format="JSON")
        self.assertIn("proxyFailure", r.json()["serviceResponse"])

    # ---- logout ----

    def test_logout_posts_a_logout_request_to_the_service_and_returns_to_it(self):
        browser, ticket = self.ticket_for(self.service)
        self.validate("/serviceValidate", service=self.service, ticket=ticket)
        r = browser.get(self.cas + "/logout", params={"service": self.service},
                        allow_redirects=False, timeout=10)
        r = self.follow_until_service(browser, r)
        self.assertEqual(r.headers["Location"], self.service)
        got = self.host.wait_post(lambda path, form: path == "/casapp/index.jsp" and
                                  ticket in form.get("logoutRequest", ""))
        self.assertTrue(got, "no logoutRequest for the ticket")
        root = ET.fromstring(got[0][1]["logoutRequest"])
        index = root.find("{urn:oasis:names:tc:SAML:2.0:protocol}SessionIndex")
        self.assertEqual(index.text, ticket)
        # The session is gone.
        r = browser.get(self.cas + "/login", params={"service": self.service},
                        allow_redirects=True, timeout=10)
        self.assertIn('name="password"', r.text)

    def test_logout_to_an_unregistered_url_does_not_redirect_there(self):
        browser, _ = self.ticket_for(self.service)
        r = browser.get(self.cas + "/logout", params={"service": "http://evil.example/"},
                        allow_redirects=True, timeout=10)
        self.assertEqual(r.status_code, 200)
        self.assertFalse(r.url.startswith("http://evil.example"))


class CasExpiryTest(CasTestBase):
    config = "[cas]\nticket_ttl_s = 1\n"

    def test_expired_ticket_is_invalid(self):
        _, ticket = self.ticket_for(self.service)
        time.sleep(1.5)  # the behaviour under test is expiry: let the ticket's second pass
        r = self.validate("/serviceValidate", service=self.service, ticket=ticket)
        failure = ET.fromstring(r.content).find("cas:authenticationFailure", NS)
        self.assertEqual(failure.get("code"), "INVALID_TICKET")


if __name__ == "__main__":
    main()
