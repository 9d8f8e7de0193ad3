"""Issue 12 items 5, 6 and 11 (discovery) against the real binary, each finding
reproduced the way the outside review found it (python3-requests as browser
and relying party, PyJWT to read tokens): escaped, Tomcat and double-escaped
dot segments in CAS service / targetService and in login goto URLs; exact
OIDC redirect_uri and post_logout_redirect_uri; max_age=0 after a real
re-login; id_token_hint; narrowed refreshes; offline_access; request,
request_uri, registration and prompt values; repeated parameters; a missing
response_type; /introspect without token; narrowed client-credentials scopes;
discovery at the host root."""
import json
import re
import secrets
import unittest
import urllib.parse
import xml.etree.ElementTree as ET

import requests

from signed_client import SignedClient, create_app, demo_credentials
from test_cas import ServiceHost
from test_oidc import FormFields, pkce_pair, query_of
from tongban_harness import TongbanServer, main

ADMIN_RE = re.compile(r"admin user:\s+(\S+) / (\S+)")
NS = {"cas": "http://www.yale.edu/tp/cas"}
RP = "http://127.0.0.1:9/rp/"
HOSTILE_SEGMENTS = (".%2e", ".%2E", "%2e%2e", "..;", "%252e%252e", "..%3b")


class HardeningOidcTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = TongbanServer().start()
        cls.base = cls.server.base_url
        cls.issuer = cls.base + "/sso/oidc"
        cls.cas = cls.base + "/sso/cas"
        m = next(ADMIN_RE.search(l) for l in cls.server.stdout_lines if ADMIN_RE.search(l))
        cls.admin = (m.group(1), m.group(2))
        d = cls.server.data_dir
        cls.cb = RP + "cb"
        cls.bye = RP + "bye"
        cls.secret = create_app(d, "hrp", "--protocols", "oidc", "--open-to-all",
                                "--callback", cls.cb, "--callback", cls.bye)
        cls.pgt_host = ServiceHost()
        create_app(d, "hcas", "--protocols", "cas", "--open-to-all", "--proxy",
                   "--callback", "http://127.0.0.1:9/cas/app/",
                   "--callback", cls.pgt_host.url + "/pgt/")
        create_app(d, "hcas2", "--protocols", "cas", "--open-to-all",
                   "--callback", "http://127.0.0.1:9/cas/other/")
        create_app(d, "hzj", "--open-to-all", "--callback", "http://127.0.0.1:9/zj/app/")
        code, pwd = demo_credentials(cls.server)
        demo = SignedClient(cls.base, code, pwd)
        cls.users = {}
        for name in ("hard1", "hard2"):
            info = {"loginname": name, "username": name, "orgcoding": "001001",
                    "loginpwd": "Hard-Passw0rd-" + name}
            r = demo.json("synchronizeUser", args=json.dumps(info))
            assert r["result"] == "0", r
            cls.users[name] = (r["userid"], info["loginpwd"])

    @classmethod
    def tearDownClass(cls):
        cls.server.cleanup()
        cls.pgt_host.close()

    # ---- helpers ----

    def browser(self):
        b = requests.Session()
        self.addCleanup(b.close)
        return b

    def follow(self, browser, r, prefix="http://127.0.0.1:9/"):
        """Follows tongban's redirects until one leaves for an app or a page shows."""
        for _ in range(10):
            if r.status_code != 302:
                return r
            location = r.headers["Location"]
            if location.startswith(prefix):
                return r
            if location.startswith("/"):
                location = self.base + location
            r = browser.get(location, allow_redirects=False, timeout=10)
        self.fail("too many redirects")

    def log_in(self, browser, page, user="hard1"):
        self.assertEqual(page.status_code, 200, page.text[:300])
        self.assertIn('name="password"', page.text)
        fields = FormFields(page.text).fields
        fields["loginname"], fields["password"] = user, self.users[user][1]
        r = browser.post(self.base + "/sso/usp.do", data=fields, allow_redirects=False,
                         timeout=10)
        return self.follow(browser, r)

    def params(self, **extra):
        p = {"response_type": "code", "client_id": "hrp", "redirect_uri": self.cb,
             "scope": "openid profile", "state": secrets.token_hex(6)}
        p.update(extra)
        return {k: v for k, v in p.items() if v is not None}

    def authorize(self, browser, params=None, query=None):
        url = self.issuer + "/authorize"
        if query is not None:
            url += "?" + query
        r = browser.get(url, params=params, allow_redirects=False, timeout=10)
        return self.follow(browser, r)

    def logged_in_browser(self, user="hard1"):
        browser = self.browser()
        r = self.log_in(browser, self.authorize(browser, self.params()), user)
        self.assertIn("code", query_of(r.headers["Location"]))
        return browser

    def error_of(self, r):
        self.assertEqual(r.status_code, 302, r.text[:300])
        location = r.headers["Location"]
        self.assertTrue(location.startswith(self.cb + "?"), location)
        return query_of(location).get("error")

    def tokens(self, browser, **extra):
        verifier, challenge = pkce_pair()
        r = self.authorize(browser, self.params(code_challenge=challenge,
                                                code_challenge_method="S256", **extra))
        q = query_of(r.headers["Location"])
        self.assertIn("code", q, r.headers["Location"])
        t = requests.post(self.issuer + "/token", auth=("hrp", self.secret),
                          data={"grant_type": "authorization_code", "code": q["code"],
                                "redirect_uri": self.cb, "code_verifier": verifier},
                          timeout=10)
        self.assertEqual(t.status_code, 200, t.text)
        return t.json()

    def token_call(self, data, **kw):
        return requests.post(self.issuer + "/token", auth=("hrp", self.secret), data=data,
                             timeout=10, **kw)

    # ---- item 5: redirect checks ----

    def test_cas_service_with_escaped_or_tomcat_dot_segments_is_refused(self):
        for seg in HOSTILE_SEGMENTS:
            service = "http://127.0.0.1:9/cas/app/" + seg + "/" + seg + "/other/x"
            r = requests.get(self.cas + "/login", params={"service": service},
                             allow_redirects=False, timeout=10)
            self.assertEqual(r.status_code, 400, service)
            self.assertNotIn("Location", r.headers, service)

    def test_cas_target_service_with_escaped_dot_segments_is_refused(self):
        browser = self.browser()
        service = "http://127.0.0.1:9/cas/app/index"
        r = browser.get(self.cas + "/login", params={"service": service},
                        allow_redirects=False, timeout=10)
        page = self.follow(browser, r)
        fields = FormFields(page.text).fields
        fields["loginname"], fields["password"] = self.admin
        r = self.follow(browser, browser.post(self.base + "/sso/usp.do", data=fields,
                                              allow_redirects=False, timeout=10))
        ticket = query_of(r.headers["Location"])["ticket"]
        pgt_url = self.pgt_host.url + "/pgt/callback"
        r = requests.get(self.cas + "/serviceValidate",
                         params={"service": service, "ticket": ticket, "pgtUrl": pgt_url},
                         timeout=10)
        iou = ET.fromstring(r.content).find(
            "cas:authenticationSuccess/cas:proxyGrantingTicket", NS).text
        with self.pgt_host.cond:
            calls = [query_of(p) for p in self.pgt_host.gets if p.startswith("/pgt/callback")]
        pgt = next(c["pgtId"] for c in calls if c.get("pgtIou") == iou)
        r = requests.get(self.cas + "/proxy",
                         params={"pgt": pgt, "targetService": "http://127.0.0.1:9/cas/other/x"},
                         timeout=10)
        self.assertIn(b"proxySuccess", r.content)
        for seg in HOSTILE_SEGMENTS:
            target = "http://127.0.0.1:9/cas/other/" + seg + "/" + seg + "/evil"
            r = requests.get(self.cas + "/proxy", params={"pgt": pgt, "targetService": target},
                             timeout=10)
            failure = ET.fromstring(r.content).find("cas:proxyFailure", NS)
            self.assertIsNotNone(failure, target + ": " + r.text)
            self.assertEqual(failure.get("code"), "UNAUTHORIZED_SERVICE", target)

    def test_login_goto_with_escaped_dot_segments_is_refused(self):
        for seg in (".%2e", "..;", "%252e%252e"):
            goto = "http://127.0.0.1:9/zj/app/" + seg + "/" + seg + "/evil"
            r = requests.get(self.base + "/sso/usp.do",
                             params={"action": "ssoLogin", "servicecode": "hzj", "goto": goto},
                             allow_redirects=False, timeout=10)
            self.assertEqual(r.status_code, 400, goto)

    def test_redirect_uri_must_equal_a_registered_one(self):
        browser = self.logged_in_browser()
        for uri in (RP + "cb/x", RP + "cb?x=1", RP + "cb/.%2e/evil", RP + "other",
                    "http://127.0.0.1:9/rp/cb/..;/evil"):
            r = self.authorize(browser, self.params(redirect_uri=uri))
            self.assertEqual(r.status_code, 400, uri)
            self.assertNotIn("Location", r.headers, uri)
        r = self.authorize(browser, self.params())
        self.assertIn("code", query_of(r.headers["Location"]))

    def test_post_logout_redirect_uri_must_equal_a_registered_one(self):
        for uri in (RP + "bye/x", RP + "bye/.%2e/evil", RP + "byebye"):
            r = requests.get(self.issuer + "/logout",
                             params={"client_id": "hrp", "post_logout_redirect_uri": uri},
                             allow_redirects=False, timeout=10)
            self.assertEqual(r.status_code, 400, uri)
        r = requests.get(self.issuer + "/logout",
                         params={"client_id": "hrp", "post_logout_redirect_uri": self.bye,
                                 "state": "s"}, allow_redirects=False, timeout=10)
        self.assertEqual(r.status_code, 302)
        self.assertEqual(r.headers["Location"], self.bye + "?state=s")

    # ---- item 6: max_age and id_token_hint ----

    def test_max_age_zero_gives_a_code_after_a_successful_re_login(self):
        browser = self.logged_in_browser()
        r = self.authorize(browser, self.params(max_age="0"))
        self.assertEqual(r.status_code, 200, r.headers.get("Location"))
        r = self.log_in(browser, r)
        location = r.headers["Location"]
        self.assertIn("code", query_of(location), location)

    def test_another_users_hint_with_prompt_none_is_login_required(self):
        other = self.logged_in_browser("hard2")
        hint = self.tokens(other)["id_token"]
        browser = self.logged_in_browser("hard1")
        r = self.authorize(browser, self.params(prompt="none", id_token_hint=hint))
        self.assertEqual(self.error_of(r), "login_required")

    def test_own_hint_with_prompt_none_gives_a_code(self):
        browser = self.logged_in_browser("hard1")
        hint = self.tokens(browser)["id_token"]
        r = self.authorize(browser, self.params(prompt="none", id_token_hint=hint))
        self.assertIn("code", query_of(r.headers["Location"]))

    def test_malformed_hint_is_invalid_request(self):
        browser = self.logged_in_browser()
        for hint in ("garbage", "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0."):
            r = self.authorize(browser, self.params(prompt="none", id_token_hint=hint))
            self.assertEqual(self.error_of(r), "invalid_request", hint)

    # ---- item 6: refresh scope, offline_access ----

    def test_narrowed_refresh_does_not_narrow_the_refresh_token_for_good(self):
        browser = self.logged_in_browser()
        t = self.tokens(browser)
        r = self.token_call({"grant_type": "refresh_token", "refresh_token": t["refresh_token"],
                             "scope": "openid"})
        self.assertEqual(r.status_code, 200, r.text)
        self.assertEqual(r.json()["scope"], "openid")
        r = self.token_call({"grant_type": "refresh_token",
                             "refresh_token": r.json()["refresh_token"],
                             "scope": "openid profile"})
        self.assertEqual(r.status_code, 200, r.text)
        self.assertEqual(r.json()["scope"], "openid profile")

    def test_offline_access_is_neither_advertised_nor_granted(self):
        doc = requests.get(self.issuer + "/.well-known/openid-configuration", timeout=10).json()
        self.assertNotIn("offline_access", doc["scopes_supported"])
        browser = self.logged_in_browser()
        r = self.authorize(browser, self.params(scope="openid offline_access"))
        self.assertEqual(self.error_of(r), "invalid_scope")

    # ---- item 6: unsupported parameters, prompts, repeats ----

    def test_request_request_uri_and_registration_are_answered_with_their_errors(self):
        browser = self.logged_in_browser()
        for name, value, error in (("request", "eyJhbGciOiJub25lIn0.e30.", "request_not_supported"),
                                   ("request_uri", "https://rp.example/req",
                                    "request_uri_not_supported"),
                                   ("registration", "{}", "registration_not_supported")):
            r = self.authorize(browser, self.params(**{name: value}))
            self.assertEqual(self.error_of(r), error, name)

    def test_prompt_consent_and_select_account_are_answered_with_their_errors(self):
        browser = self.logged_in_browser()
        r = self.authorize(browser, self.params(prompt="consent"))
        self.assertEqual(self.error_of(r), "consent_required")
        r = self.authorize(browser, self.params(prompt="select_account"))
        self.assertEqual(self.error_of(r), "account_selection_required")

    def test_repeated_authorization_parameters_are_invalid_request(self):
        browser = self.logged_in_browser()
        query = urllib.parse.urlencode(list(self.params().items()) + [("scope", "openid")])
        self.assertEqual(self.error_of(self.authorize(browser, query=query)), "invalid_request")

    def test_repeated_token_parameters_are_invalid_request(self):
        r = self.token_call([("grant_type", "client_credentials"),
                             ("grant_type", "client_credentials")])
        self.assertEqual(r.status_code, 400, r.text)
        self.assertEqual(r.json()["error"], "invalid_request")

    def test_missing_response_type_is_invalid_request(self):
        browser = self.logged_in_browser()
        r = self.authorize(browser, self.params(response_type=None))
        self.assertEqual(self.error_of(r), "invalid_request")
        r = self.authorize(browser, self.params(response_type="token"))
        self.assertEqual(self.error_of(r), "unsupported_response_type")

    # ---- item 6: introspection, client credentials, discovery ----

    def test_introspect_without_token_is_400(self):
        r = requests.post(self.issuer + "/introspect", auth=("hrp", self.secret), data={},
                          timeout=10)
        self.assertEqual(r.status_code, 400, r.text)
        self.assertEqual(r.json()["error"], "invalid_request")

    def test_narrowed_client_credentials_scope_is_returned(self):
        r = self.token_call({"grant_type": "client_credentials", "scope": "openid profile roles"})
        self.assertEqual(r.status_code, 200, r.text)
        self.assertEqual(r.json()["scope"], "roles")
        r = self.token_call({"grant_type": "client_credentials", "scope": "openid"})
        self.assertEqual(r.json().get("scope"), "")

    def test_discovery_is_not_served_at_the_host_root_with_a_foreign_issuer(self):
        r = requests.get(self.base + "/.well-known/openid-configuration", timeout=10)
        if r.status_code == 200:
            self.assertEqual(r.json()["issuer"], self.base)
        else:
            self.assertEqual(r.status_code, 404)
        doc = requests.get(self.issuer + "/.well-known/openid-configuration", timeout=10).json()
        self.assertEqual(doc["issuer"], self.issuer)


if __name__ == "__main__":
    main()
