"""OpenID Connect / OAuth 2.0 against the real binary, driven the way a
relying party and a browser drive it (python3-requests): discovery and JWKS,
the authorization code flow with PKCE through the real login page, ID token
signatures checked with PyJWT (python3-jwt) against the published JWKS,
userinfo, refresh-token rotation and reuse detection, client_credentials,
introspection, revocation, RP-initiated and back-channel logout, and the
refusals (wrong secret, bad redirect_uri, bad PKCE verifier, replayed and
expired codes)."""
import base64
import hashlib
import html.parser
import http.server
import json
import os
import re
import secrets
import shutil
import subprocess
import tempfile
import threading
import time
import unittest
import urllib.parse

import requests

from signed_client import SignedClient, create_app, demo_credentials
from tongban_harness import TongbanServer, main

try:
    from authlib.integrations.requests_client import OAuth2Session  # python3-authlib
except ImportError:  # pragma: no cover - the Debian package is a test dependency
    OAuth2Session = None

try:
    from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
except ImportError:  # pragma: no cover - the Debian package is a test dependency
    encode_dss_signature = None

try:
    import jwt  # python3-jwt (PyJWT)
    from jwt.algorithms import ECAlgorithm, RSAAlgorithm
except ImportError:  # pragma: no cover - the Debian package is a test dependency
    jwt = None

ADMIN_RE = re.compile(r"admin user:\s+(\S+) / (\S+)")


class Receiver:
    """A loopback HTTP server recording what it receives (the RP's back-channel
    logout endpoint). Waiting uses a condition variable, never a sleep."""

    def __init__(self):
        self.requests = []
        self.cond = threading.Condition()
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                form = dict(urllib.parse.parse_qsl(body.decode("utf-8")))
                with receiver.cond:
                    receiver.requests.append((self.path, form))
                    receiver.cond.notify_all()
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = "http://127.0.0.1:%d" % self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def wait_for(self, predicate, timeout=10):
        with self.cond:
            ok = self.cond.wait_for(lambda: any(predicate(p, f) for p, f in self.requests),
                                    timeout)
            return [(p, f) for p, f in self.requests if predicate(p, f)] if ok else []

    def close(self):
        self.httpd.shutdown()


class FormFields(html.parser.HTMLParser):
    """The hidden inputs of the login form."""

    def __init__(self, text):
        super().__init__()
        self.fields = {}
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "input" and a.get("name"):
            self.fields[a["name"]] = a.get("value", "")


def pkce_pair():
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    return verifier, challenge.rstrip(b"=").decode()


def query_of(url):
    return dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query))


class OidcTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.receiver = Receiver()
        cls.server = TongbanServer().start()
        cls.base = cls.server.base_url
        cls.issuer = cls.base + "/sso/oidc"
        m = next(ADMIN_RE.search(l) for l in cls.server.stdout_lines if ADMIN_RE.search(l))
        cls.admin_login, cls.admin_password = m.group(1), m.group(2)
        data_dir = cls.server.data_dir
        cls.cb = "http://127.0.0.1:9/rp1/cb"
        cls.rp1 = create_app(data_dir, "rp1", "--protocols", "oidc", "--open-to-all",
                             "--callback", "http://127.0.0.1:9/rp1/cb",
                             "--callback", "http://127.0.0.1:9/rp1/bye",
                             "--logout-url", cls.receiver.url + "/rp1/backchannel")
        cls.rp2 = create_app(data_dir, "rp2", "--protocols", "oidc", "--open-to-all",
                             "--callback", "http://127.0.0.1:9/rp2/cb")
        cls.zjonly = create_app(data_dir, "zjonly", "--open-to-all",
                                "--callback", "http://127.0.0.1:9/zj/")
        cls.closed = create_app(data_dir, "closed", "--protocols", "oidc",
                                "--callback", "http://127.0.0.1:9/closed/cb")
        cls.user_info = {"loginname": "oidcuser", "username": "开放 用户", "orgcoding": "001001",
                         "email": "oidc@example.gov.cn", "mobile": "13800000000",
                         "loginpwd": "Oidc-Passw0rd"}
        code, pwd = demo_credentials(cls.server)
        demo = SignedClient(cls.base, code, pwd)
        r = demo.json("synchronizeUser", args=json.dumps(cls.user_info))
        assert r["result"] == "0", r
        cls.userid = r["userid"]
        cls.jwks = requests.get(cls.issuer + "/jwks", timeout=10).json()

    @classmethod
    def tearDownClass(cls):
        cls.server.cleanup()
        cls.receiver.close()

    # ---- helpers ----

    def authorize_params(self, **extra):
        params = {"response_type": "code", "client_id": "rp1", "redirect_uri": self.cb,
                  "scope": "openid profile email phone", "state": secrets.token_hex(8),
                  "nonce": secrets.token_hex(8)}
        params.update(extra)
        return {k: v for k, v in params.items() if v is not None}

    def login(self, browser, response, loginname=None, password=None):
        """Fills in the login page `response` showed; returns the next response."""
        self.assertEqual(response.status_code, 200, response.text[:500])
        fields = FormFields(response.text).fields
        fields["loginname"] = loginname or self.user_info["loginname"]
        fields["password"] = password or self.user_info["loginpwd"]
        return browser.post(self.base + "/sso/usp.do", data=fields, allow_redirects=False,
                            timeout=10)

    def follow_until_app(self, browser, response, prefix="http://127.0.0.1:9/"):
        """Follows tongban's redirects until one leaves for the app."""
        for _ in range(10):
            if response.status_code != 302:
                return response
            location = response.headers["Location"]
            if location.startswith(prefix):
                return response
            if location.startswith("/"):
                location = self.base + location
            response = browser.get(location, allow_redirects=False, timeout=10)
        self.fail("too many redirects")

    def authorize(self, browser, params, login=True):
        """Runs the authorization request; returns the redirect to the client."""
        r = browser.get(self.issuer + "/authorize", params=params, allow_redirects=False,
                        timeout=10)
        r = self.follow_until_app(browser, r)
        if r.status_code == 200 and login and 'name="password"' in r.text:
            r = self.follow_until_app(browser, self.login(browser, r))
        self.assertEqual(r.status_code, 302, r.text[:500])
        return r.headers["Location"]

    def browser(self):
        browser = requests.Session()
        self.addCleanup(browser.close)
        return browser

    def code_flow(self, browser=None, client="rp1", secret=None, **extra):
        browser = browser or self.browser()
        verifier, challenge = pkce_pair()
        params = self.authorize_params(code_challenge=challenge, code_challenge_method="S256",
                                       **extra)
        location = self.authorize(browser, params)
        q = query_of(location)
        self.assertEqual(q.get("state"), params["state"], location)
        self.assertIn("code", q, location)
        r = requests.post(self.issuer + "/token", auth=(client, secret or self.rp1),
                          data={"grant_type": "authorization_code", "code": q["code"],
                                "redirect_uri": params["redirect_uri"],
                                "code_verifier": verifier}, timeout=10)
        self.assertEqual(r.status_code, 200, r.text)
        return browser, params, r.json()

    def verify_jwt(self, token, audience, typ=None):
        header = jwt.get_unverified_header(token)
        if typ:
            self.assertEqual(header.get("typ"), typ)
        jwk = next(k for k in self.jwks["keys"] if k["kid"] == header["kid"])
        algo = RSAAlgorithm if jwk["kty"] == "RSA" else ECAlgorithm
        key = algo.from_jwk(json.dumps(jwk))
        return jwt.decode(token, key, algorithms=[header["alg"]], audience=audience,
                          issuer=self.issuer, options={"require": ["exp", "iat"]})

    def introspect(self, token, client="rp1", secret=None):
        r = requests.post(self.issuer + "/introspect", auth=(client, secret or self.rp1),
                          data={"token": token}, timeout=10)
        self.assertEqual(r.status_code, 200, r.text)
        return r.json()

    def refresh(self, refresh_token, client="rp1", secret=None):
        return requests.post(self.issuer + "/token", auth=(client, secret or self.rp1),
                             data={"grant_type": "refresh_token",
                                   "refresh_token": refresh_token}, timeout=10)

    # ---- discovery and keys ----

    def test_discovery_is_served_under_the_issuer(self):
        root = requests.get(self.issuer + "/.well-known/openid-configuration", timeout=10).json()
        self.assertEqual(root["issuer"], self.issuer)
        self.assertEqual(root["jwks_uri"], self.issuer + "/jwks")
        self.assertIn("S256", root["code_challenge_methods_supported"])
        self.assertIn("client_secret_basic", root["token_endpoint_auth_methods_supported"])
        self.assertTrue(root["backchannel_logout_supported"])

    def test_jwks_publishes_public_keys_only(self):
        self.assertTrue(self.jwks["keys"])
        for key in self.jwks["keys"]:
            self.assertIn(key["alg"], ("RS256", "ES256", "SM2"))
            self.assertNotIn("d", key)

    # ---- the authorization code flow ----

    @unittest.skipIf(jwt is None, "python3-jwt is not installed (Debian package python3-jwt)")
    def test_code_flow_with_pkce_yields_a_signed_id_token_with_directory_claims(self):
        _, params, tokens = self.code_flow()
        self.assertEqual(tokens["token_type"], "Bearer")
        claims = self.verify_jwt(tokens["id_token"], "rp1")
        self.assertEqual(claims["sub"], self.userid)
        self.assertEqual(claims["nonce"], params["nonce"])
        self.assertEqual(claims["name"], self.user_info["username"])
        self.assertEqual(claims["preferred_username"], "oidcuser")
        self.assertEqual(claims["email"], self.user_info["email"])
        self.assertEqual(claims["phone_number"], self.user_info["mobile"])
        self.assertEqual(claims["org"], "001001")
        self.assertIn("sid", claims)

    def test_authorization_response_carries_the_issuer(self):
        browser = self.browser()
        location = self.authorize(browser, self.authorize_params())
        self.assertEqual(query_of(location)["iss"], self.issuer)

    def test_userinfo_returns_the_claims_of_the_granted_scopes(self):
        _, _, tokens = self.code_flow()
        r = requests.get(self.issuer + "/userinfo",
                         headers={"Authorization": "Bearer " + tokens["access_token"]},
                         timeout=10)
        self.assertEqual(r.status_code, 200, r.text)
        info = r.json()
        self.assertEqual(info["sub"], self.userid)
        self.assertEqual(info["email"], self.user_info["email"])

    def test_userinfo_refuses_a_missing_or_unknown_token(self):
        r = requests.get(self.issuer + "/userinfo", timeout=10)
        self.assertEqual(r.status_code, 401)
        self.assertIn("Bearer", r.headers["WWW-Authenticate"])
        r = requests.get(self.issuer + "/userinfo",
                         headers={"Authorization": "Bearer AT-nosuchtoken"}, timeout=10)
        self.assertEqual(r.status_code, 401)
        self.assertIn('error="invalid_token"', r.headers["WWW-Authenticate"])

    def test_a_logged_in_browser_gets_a_code_without_the_login_page(self):
        browser, _, _ = self.code_flow()
        r = browser.get(self.issuer + "/authorize", params=self.authorize_params(),
                        allow_redirects=False, timeout=10)
        self.assertEqual(r.status_code, 302)
        self.assertIn("code", query_of(r.headers["Location"]))

    def test_prompt_login_asks_for_the_password_inside_the_same_session(self):
        browser, _, first = self.code_flow()
        params = self.authorize_params(prompt="login")
        r = browser.get(self.issuer + "/authorize", params=params, allow_redirects=False,
                        timeout=10)
        r = self.follow_until_app(browser, r)
        self.assertIn('name="password"', r.text)
        location = self.follow_until_app(browser, self.login(browser, r)).headers["Location"]
        self.assertIn("code", query_of(location), location)
        r = requests.post(self.issuer + "/token", auth=("rp1", self.rp1),
                          data={"grant_type": "authorization_code",
                                "code": query_of(location)["code"],
                                "redirect_uri": params["redirect_uri"]}, timeout=10)
        self.assertEqual(r.status_code, 200, r.text)
        before = self.verify_jwt(first["id_token"], "rp1")
        after = self.verify_jwt(r.json()["id_token"], "rp1")
        self.assertEqual(after["sid"], before["sid"])
        self.assertGreaterEqual(after["auth_time"], before["auth_time"])

    def test_prompt_login_does_not_end_the_session_or_revoke_its_tokens(self):
        browser, _, first = self.code_flow()
        self.code_flow(browser, prompt="login")
        self.assertTrue(self.introspect(first["access_token"])["active"])

    def test_prompt_none_without_a_session_answers_login_required(self):
        params = self.authorize_params(prompt="none")
        r = requests.get(self.issuer + "/authorize", params=params, allow_redirects=False,
                         timeout=10)
        self.assertEqual(r.status_code, 302)
        q = query_of(r.headers["Location"])
        self.assertEqual(q["error"], "login_required")
        self.assertEqual(q["state"], params["state"])

    def test_client_secret_post_is_accepted(self):
        browser = self.browser()
        params = self.authorize_params()
        code = query_of(self.authorize(browser, params))["code"]
        r = requests.post(self.issuer + "/token",
                          data={"grant_type": "authorization_code", "code": code,
                                "redirect_uri": self.cb, "client_id": "rp1",
                                "client_secret": self.rp1}, timeout=10)
        self.assertEqual(r.status_code, 200, r.text)

    # ---- refusals at the authorization endpoint ----

    def test_unregistered_redirect_uri_is_refused_without_redirecting(self):
        for uri in ("http://evil.example/cb", "http://127.0.0.1:9/rp2/cb",
                    "http://127.0.0.1:9/rp1/../rp2/cb", "http://127.0.0.1:9@evil.example/rp1/"):
            r = requests.get(self.issuer + "/authorize",
                             params=self.authorize_params(redirect_uri=uri),
                             allow_redirects=False, timeout=10)
            self.assertEqual(r.status_code, 400, uri)
            self.assertNotIn("Location", r.headers)

    def test_unknown_client_or_client_without_oidc_is_refused(self):
        for client in ("nosuchclient", "zjonly"):
            r = requests.get(self.issuer + "/authorize",
                             params=self.authorize_params(client_id=client,
                                                          redirect_uri="http://127.0.0.1:9/zj/cb"),
                             allow_redirects=False, timeout=10)
            self.assertEqual(r.status_code, 400, client)

    def test_user_without_a_role_in_a_closed_app_is_denied(self):
        browser, _, _ = self.code_flow()
        r = browser.get(self.issuer + "/authorize",
                        params=self.authorize_params(client_id="closed",
                                                     redirect_uri="http://127.0.0.1:9/closed/cb"),
                        allow_redirects=False, timeout=10)
        self.assertEqual(r.status_code, 302)
        self.assertEqual(query_of(r.headers["Location"])["error"], "access_denied")

    def test_unsupported_response_type_is_reported_to_the_client(self):
        r = requests.get(self.issuer + "/authorize",
                         params=self.authorize_params(response_type="token"),
                         allow_redirects=False, timeout=10)
        self.assertEqual(query_of(r.headers["Location"])["error"], "unsupported_response_type")

    # ---- refusals at the token endpoint ----

    def test_wrong_client_secret_is_invalid_client(self):
        r = requests.post(self.issuer + "/token", auth=("rp1", "wrong"),
                          data={"grant_type": "client_credentials"}, timeout=10)
        self.assertEqual(r.status_code, 401)
        self.assertEqual(r.json()["error"], "invalid_client")

    def test_bad_pkce_verifier_is_invalid_grant(self):
        browser = self.browser()
        _, challenge = pkce_pair()
        params = self.authorize_params(code_challenge=challenge, code_challenge_method="S256")
        code = query_of(self.authorize(browser, params))["code"]
        other_verifier, _ = pkce_pair()
        r = requests.post(self.issuer + "/token", auth=("rp1", self.rp1),
                          data={"grant_type": "authorization_code", "code": code,
                                "redirect_uri": self.cb, "code_verifier": other_verifier},
                          timeout=10)
        self.assertEqual(r.status_code, 400)
        self.assertEqual(r.json()["error"], "invalid_grant")

    def test_plain_pkce_is_accepted(self):
        browser = self.browser()
        verifier = secrets.token_urlsafe(48)
        params = self.authorize_params(code_challenge=verifier, code_challenge_method="plain")
        code = query_of(self.authorize(browser, params))["code"]
        r = requests.post(self.issuer + "/token", auth=("rp1", self.rp1),
                          data={"grant_type": "authorization_code", "code": code,
                                "redirect_uri": self.cb, "code_verifier": verifier}, timeout=10)
        self.assertEqual(r.status_code, 200, r.text)

    def test_redirect_uri_differing_from_the_authorization_request_is_invalid_grant(self):
        browser = self.browser()
        code = query_of(self.authorize(browser, self.authorize_params()))["code"]
        r = requests.post(self.issuer + "/token", auth=("rp1", self.rp1),
                          data={"grant_type": "authorization_code", "code": code,
                                "redirect_uri": "http://127.0.0.1:9/rp1/other"}, timeout=10)
        self.assertEqual(r.json()["error"], "invalid_grant")

    def test_code_of_another_client_is_invalid_grant(self):
        browser = self.browser()
        code = query_of(self.authorize(browser, self.authorize_params()))["code"]
        r = requests.post(self.issuer + "/token", auth=("rp2", self.rp2),
                          data={"grant_type": "authorization_code", "code": code,
                                "redirect_uri": self.cb}, timeout=10)
        self.assertEqual(r.json()["error"], "invalid_grant")

    def test_replayed_code_is_refused_and_revokes_what_it_yielded(self):
        browser = self.browser()
        code = query_of(self.authorize(browser, self.authorize_params()))["code"]
        form = {"grant_type": "authorization_code", "code": code, "redirect_uri": self.cb}
        first = requests.post(self.issuer + "/token", auth=("rp1", self.rp1), data=form,
                              timeout=10)
        self.assertEqual(first.status_code, 200)
        second = requests.post(self.issuer + "/token", auth=("rp1", self.rp1), data=form,
                               timeout=10)
        self.assertEqual(second.json()["error"], "invalid_grant")
        self.assertFalse(self.introspect(first.json()["access_token"])["active"])
        self.assertEqual(self.refresh(first.json()["refresh_token"]).status_code, 400)

    # ---- refresh tokens ----

    def test_refresh_rotates_the_refresh_token(self):
        _, _, tokens = self.code_flow()
        r = self.refresh(tokens["refresh_token"])
        self.assertEqual(r.status_code, 200, r.text)
        fresh = r.json()
        self.assertNotEqual(fresh["refresh_token"], tokens["refresh_token"])
        self.assertNotEqual(fresh["access_token"], tokens["access_token"])
        self.assertTrue(self.introspect(fresh["access_token"])["active"])

    def test_reusing_a_rotated_refresh_token_revokes_the_family(self):
        _, _, tokens = self.code_flow()
        fresh = self.refresh(tokens["refresh_token"]).json()
        reuse = self.refresh(tokens["refresh_token"])
        self.assertEqual(reuse.status_code, 400)
        self.assertEqual(reuse.json()["error"], "invalid_grant")
        self.assertEqual(self.refresh(fresh["refresh_token"]).status_code, 400)
        self.assertFalse(self.introspect(fresh["access_token"])["active"])

    def test_refresh_token_of_another_client_is_refused(self):
        _, _, tokens = self.code_flow()
        r = self.refresh(tokens["refresh_token"], client="rp2", secret=self.rp2)
        self.assertEqual(r.json()["error"], "invalid_grant")
        self.assertEqual(self.refresh(tokens["refresh_token"]).status_code, 200)

    # ---- client credentials, introspection, revocation ----

    def test_client_credentials_token_names_the_client(self):
        r = requests.post(self.issuer + "/token",
                          data={"grant_type": "client_credentials", "client_id": "rp2",
                                "client_secret": self.rp2}, timeout=10)
        self.assertEqual(r.status_code, 200, r.text)
        body = r.json()
        self.assertNotIn("refresh_token", body)
        self.assertNotIn("id_token", body)
        info = self.introspect(body["access_token"], client="rp2", secret=self.rp2)
        self.assertTrue(info["active"])
        self.assertEqual(info["client_id"], "rp2")
        self.assertEqual(info["sub"], "rp2")
        userinfo = requests.get(self.issuer + "/userinfo",
                                headers={"Authorization": "Bearer " + body["access_token"]},
                                timeout=10)
        self.assertEqual(userinfo.status_code, 403)

    def test_introspection_describes_a_live_user_token(self):
        _, _, tokens = self.code_flow()
        info = self.introspect(tokens["access_token"])
        self.assertTrue(info["active"])
        self.assertEqual(info["sub"], self.userid)
        self.assertEqual(info["username"], "oidcuser")
        self.assertEqual(info["client_id"], "rp1")
        self.assertGreater(info["exp"], time.time())

    def test_introspection_hides_tokens_of_other_clients(self):
        _, _, tokens = self.code_flow()
        self.assertFalse(self.introspect(tokens["access_token"], "rp2", self.rp2)["active"])

    def test_revoked_access_token_is_inactive(self):
        _, _, tokens = self.code_flow()
        r = requests.post(self.issuer + "/revoke", auth=("rp1", self.rp1),
                          data={"token": tokens["access_token"]}, timeout=10)
        self.assertEqual(r.status_code, 200)
        self.assertFalse(self.introspect(tokens["access_token"])["active"])

    def test_revoking_a_refresh_token_revokes_its_access_tokens(self):
        _, _, tokens = self.code_flow()
        r = requests.post(self.issuer + "/revoke", auth=("rp1", self.rp1),
                          data={"token": tokens["refresh_token"],
                                "token_type_hint": "refresh_token"}, timeout=10)
        self.assertEqual(r.status_code, 200)
        self.assertFalse(self.introspect(tokens["access_token"])["active"])
        self.assertEqual(self.refresh(tokens["refresh_token"]).status_code, 400)

    def test_revoking_an_unknown_token_succeeds(self):
        r = requests.post(self.issuer + "/revoke", auth=("rp1", self.rp1),
                          data={"token": "AT-unknown"}, timeout=10)
        self.assertEqual(r.status_code, 200)

    # ---- a real OAuth client ----

    @unittest.skipIf(OAuth2Session is None,
                     "python3-authlib is not installed (Debian package python3-authlib)")
    def test_authlib_runs_the_code_flow_with_pkce_userinfo_and_refresh(self):
        client = OAuth2Session("rp1", self.rp1, scope="openid profile", redirect_uri=self.cb,
                               code_challenge_method="S256")
        self.addCleanup(client.close)
        verifier = secrets.token_urlsafe(48)
        url, _ = client.create_authorization_url(self.issuer + "/authorize",
                                                 code_verifier=verifier)
        browser = self.browser()
        r = self.follow_until_app(browser, browser.get(url, allow_redirects=False, timeout=10))
        if r.status_code == 200:
            r = self.follow_until_app(browser, self.login(browser, r))
        token = client.fetch_token(self.issuer + "/token",
                                   authorization_response=r.headers["Location"],
                                   code_verifier=verifier)
        self.assertIn("id_token", token)
        info = client.get(self.issuer + "/userinfo").json()
        self.assertEqual(info["preferred_username"], "oidcuser")
        refreshed = client.refresh_token(self.issuer + "/token",
                                         refresh_token=token["refresh_token"])
        self.assertNotEqual(refreshed["refresh_token"], token["refresh_token"])

    # ---- logout ----

    @unittest.skipIf(jwt is None, "python3-jwt is not installed (Debian package python3-jwt)")
    def test_rp_initiated_logout_ends_the_session_and_notifies_the_back_channel(self):
        browser, _, tokens = self.code_flow()
        sid = self.verify_jwt(tokens["id_token"], "rp1")["sid"]
        r = browser.get(self.issuer + "/logout",
                        params={"id_token_hint": tokens["id_token"], "state": "bye",
                                "post_logout_redirect_uri": "http://127.0.0.1:9/rp1/bye"},
                        allow_redirects=False, timeout=10)
        r = self.follow_until_app(browser, r)
        self.assertEqual(r.status_code, 302)
        self.assertEqual(r.headers["Location"], "http://127.0.0.1:9/rp1/bye?state=bye")
        # The session is gone: the next authorization shows the login page.
        again = browser.get(self.issuer + "/authorize", params=self.authorize_params(),
                            allow_redirects=True, timeout=10)
        self.assertIn('name="password"', again.text)
        # The tokens of the session are revoked.
        self.assertFalse(self.introspect(tokens["access_token"])["active"])
        # The RP's back-channel endpoint got a logout token for the session.
        got = self.receiver.wait_for(
            lambda path, form: path == "/rp1/backchannel" and
            self.verify_jwt(form["logout_token"], "rp1").get("sid") == sid)
        self.assertTrue(got, "no logout token for the session")
        claims = self.verify_jwt(got[0][1]["logout_token"], "rp1", typ="logout+jwt")
        self.assertEqual(claims["sub"], self.userid)
        self.assertIn("http://schemas.openid.net/event/backchannel-logout", claims["events"])
        self.assertNotIn("nonce", claims)

    def test_logout_without_a_hint_asks_for_confirmation(self):
        browser, _, _ = self.code_flow()
        r = browser.get(self.issuer + "/logout", allow_redirects=False, timeout=10)
        self.assertEqual(r.status_code, 200)
        self.assertIn('name="confirm"', r.text)
        # Still logged in.
        r = browser.get(self.issuer + "/authorize", params=self.authorize_params(),
                        allow_redirects=False, timeout=10)
        self.assertIn("code", query_of(r.headers["Location"]))

    def test_unregistered_post_logout_redirect_uri_is_refused(self):
        _, _, tokens = self.code_flow()
        r = requests.get(self.issuer + "/logout",
                         params={"id_token_hint": tokens["id_token"],
                                 "post_logout_redirect_uri": "http://evil.example/"},
                         allow_redirects=False, timeout=10)
        self.assertEqual(r.status_code, 400)
        self.assertNotIn("Location", r.headers)


class OidcExpiryTest(unittest.TestCase):
    """A second server whose codes live one second."""

    @classmethod
    def setUpClass(cls):
        cls.config = tempfile.NamedTemporaryFile("w", suffix=".toml", delete=False)
        cls.config.write("[sso]\nauthcode_ttl_s = 1\n")
        cls.config.close()
        cls.server = TongbanServer("--config", cls.config.name).start()
        cls.base = cls.server.base_url
        cls.rp = create_app(cls.server.data_dir, "rp", "--protocols", "oidc", "--open-to-all",
                            "--callback", "http://127.0.0.1:9/rp/cb")
        m = next(ADMIN_RE.search(l) for l in cls.server.stdout_lines if ADMIN_RE.search(l))
        cls.admin = (m.group(1), m.group(2))

    @classmethod
    def tearDownClass(cls):
        cls.server.cleanup()
        os.unlink(cls.config.name)

    def test_expired_code_is_invalid_grant(self):
        browser = requests.Session()
        self.addCleanup(browser.close)
        issuer = self.base + "/sso/oidc"
        params = {"response_type": "code", "client_id": "rp", "scope": "openid",
                  "redirect_uri": "http://127.0.0.1:9/rp/cb", "state": "s"}
        r = browser.get(issuer + "/authorize", params=params, allow_redirects=True, timeout=10)
        fields = FormFields(r.text).fields
        fields["loginname"], fields["password"] = self.admin
        r = browser.post(self.base + "/sso/usp.do", data=fields, allow_redirects=False, timeout=10)
        while not r.headers["Location"].startswith("http://127.0.0.1:9/"):
            r = browser.get(r.headers["Location"], allow_redirects=False, timeout=10)
        code = query_of(r.headers["Location"])["code"]
        time.sleep(1.5)  # the behaviour under test is expiry: let the code's second pass
        r = requests.post(issuer + "/token", auth=("rp", self.rp),
                          data={"grant_type": "authorization_code", "code": code,
                                "redirect_uri": params["redirect_uri"]}, timeout=10)
        self.assertEqual(r.status_code, 400)
        self.assertEqual(r.json()["error"], "invalid_grant")


@unittest.skipIf(shutil.which("openssl") is None, "the openssl command is not installed")
@unittest.skipIf(encode_dss_signature is None,
                 "python3-cryptography is not installed (Debian package python3-cryptography)")
class OidcSm2Test(unittest.TestCase):
    """ID tokens signed with SM2 (national crypto), checked by the openssl
    command line from the published JWK."""

    # SubjectPublicKeyInfo of an SM2 key up to the point: id-ecPublicKey, the
    # SM2 curve (1.2.156.10197.1.301), then BIT STRING 04 || x || y.
    SPKI_PREFIX = base64.b64decode("MFkwEwYHKoZIzj0CAQYIKoEcz1UBgi0DQgAE")

    @classmethod
    def setUpClass(cls):
        cls.config = tempfile.NamedTemporaryFile("w", suffix=".toml", delete=False)
        cls.config.write('[oidc]\nid_token_alg = "SM2"\n')
        cls.config.close()
        cls.server = TongbanServer("--config", cls.config.name).start()
        cls.base = cls.server.base_url
        cls.rp = create_app(cls.server.data_dir, "rp", "--protocols", "oidc", "--open-to-all",
                            "--callback", "http://127.0.0.1:9/rp/cb")
        m = next(ADMIN_RE.search(l) for l in cls.server.stdout_lines if ADMIN_RE.search(l))
        cls.admin = (m.group(1), m.group(2))

    @classmethod
    def tearDownClass(cls):
        cls.server.cleanup()
        os.unlink(cls.config.name)

    def b64url(self, text):
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))

    def test_id_token_is_an_sm2_signature_over_sm3(self):
        issuer = self.base + "/sso/oidc"
        discovery = requests.get(issuer + "/.well-known/openid-configuration", timeout=10).json()
        self.assertEqual(discovery["id_token_signing_alg_values_supported"], ["SM2"])
        browser = requests.Session()
        self.addCleanup(browser.close)
        params = {"response_type": "code", "client_id": "rp", "scope": "openid",
                  "redirect_uri": "http://127.0.0.1:9/rp/cb", "state": "s"}
        r = browser.get(issuer + "/authorize", params=params, timeout=10)
        fields = FormFields(r.text).fields
        fields["loginname"], fields["password"] = self.admin
        r = browser.post(self.base + "/sso/usp.do", data=fields, allow_redirects=False, timeout=10)
        while not r.headers["Location"].startswith("http://127.0.0.1:9/"):
            r = browser.get(r.headers["Location"], allow_redirects=False, timeout=10)
        code = query_of(r.headers["Location"])["code"]
        tokens = requests.post(issuer + "/token", auth=("rp", self.rp),
                               data={"grant_type": "authorization_code", "code": code,
                                     "redirect_uri": params["redirect_uri"]}, timeout=10).json()
        header_b64, payload_b64, signature_b64 = tokens["id_token"].split(".")
        header = json.loads(self.b64url(header_b64))
        self.assertEqual(header["alg"], "SM2")
        jwks = requests.get(issuer + "/jwks", timeout=10).json()
        jwk = next(k for k in jwks["keys"] if k["kid"] == header["kid"])
        self.assertEqual((jwk["kty"], jwk["crv"]), ("EC", "SM2"))

        raw = self.b64url(signature_b64)
        der = encode_dss_signature(int.from_bytes(raw[:32], "big"),
                                   int.from_bytes(raw[32:], "big"))
        spki = self.SPKI_PREFIX + self.b64url(jwk["x"]) + self.b64url(jwk["y"])
        with tempfile.TemporaryDirectory() as d:
            paths = {name: os.path.join(d, name) for name in ("pub.pem", "msg", "sig")}
            with open(paths["pub.pem"], "w") as f:
                f.write("-----BEGIN PUBLIC KEY-----\n%s\n-----END PUBLIC KEY-----\n"
                        % base64.b64encode(spki).decode())
            with open(paths["msg"], "wb") as f:
                f.write((header_b64 + "." + payload_b64).encode())
            with open(paths["sig"], "wb") as f:
                f.write(der)
            verify = ["openssl", "pkeyutl", "-verify", "-rawin", "-digest", "sm3", "-pubin",
                      "-inkey", paths["pub.pem"], "-in", paths["msg"], "-sigfile", paths["sig"],
                      "-pkeyopt", "distid:1234567812345678"]
            ok = subprocess.run(verify, capture_output=True, text=True)
            self.assertEqual(ok.returncode, 0, ok.stdout + ok.stderr)
            with open(paths["msg"], "ab") as f:
                f.write(b"x")
            self.assertNotEqual(subprocess.run(verify, capture_output=True).returncode, 0)


if __name__ == "__main__":
    main()
