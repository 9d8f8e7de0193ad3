"""Real clients from Debian against the real binary: Apache httpd with
mod_auth_cas protecting /cas/ and mod_auth_openidc protecting /oidc/, both on
loopback, and a browser (python3-requests) logging in through tongban's login
page. Also single logout into mod_auth_cas and back-channel logout into
mod_auth_openidc.

Skipped, with the reason printed, when apache2 or a module is not installed
(Debian packages apache2, libapache2-mod-auth-cas, libapache2-mod-auth-openidc)."""
import html.parser
import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
import unittest

import requests

from signed_client import create_app
from tongban_harness import TongbanServer, main

APACHE = shutil.which("apache2") or "/usr/sbin/apache2"
MODULES = "/usr/lib/apache2/modules"
ADMIN_RE = re.compile(r"admin user:\s+(\S+) / (\S+)")

def missing_apache():
    if not os.path.exists(APACHE):
        return "apache2 is not installed (Debian package apache2)"
    for module, package in (("mod_auth_cas.so", "libapache2-mod-auth-cas"),
                            ("mod_auth_openidc.so", "libapache2-mod-auth-openidc"),
                            ("mod_ssl.so", "apache2")):
        if not os.path.exists(os.path.join(MODULES, module)):
            return "%s is not installed (Debian package %s)" % (module, package)
    if shutil.which("openssl") is None:
        return "the openssl command is not installed"
    return None


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class FormFields(html.parser.HTMLParser):
    def __init__(self, text):
        super().__init__()
        self.fields = {}
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "input" and a.get("name"):
            self.fields[a["name"]] = a.get("value", "")


CONFIG = """
ServerRoot "{root}"
ServerName 127.0.0.1
PidFile "{root}/httpd.pid"
ErrorLog "{root}/error.log"
LogLevel warn auth_cas:debug auth_openidc:info
User www-data
Group www-data
Listen 127.0.0.1:{port}
Listen 127.0.0.1:{tls_port}
LoadModule mpm_event_module {modules}/mod_mpm_event.so
LoadModule authn_core_module {modules}/mod_authn_core.so
LoadModule authz_core_module {modules}/mod_authz_core.so
LoadModule authz_user_module {modules}/mod_authz_user.so
LoadModule include_module {modules}/mod_include.so
LoadModule dir_module {modules}/mod_dir.so
LoadModule ssl_module {modules}/mod_ssl.so
LoadModule socache_shmcb_module {modules}/mod_socache_shmcb.so
LoadModule proxy_module {modules}/mod_proxy.so
LoadModule proxy_http_module {modules}/mod_proxy_http.so
LoadModule auth_cas_module {modules}/mod_auth_cas.so
LoadModule auth_openidc_module {modules}/mod_auth_openidc.so

DocumentRoot "{root}/htdocs"
DirectoryIndex index.html
<Directory "{root}/htdocs">
  Options +Includes
  SetOutputFilter INCLUDES
</Directory>

# mod_auth_cas insists on an https validation URL: TLS in front of tongban.
<VirtualHost 127.0.0.1:{tls_port}>
  SSLEngine on
  SSLCertificateFile "{root}/cert.pem"
  SSLCertificateKeyFile "{root}/key.pem"
  ProxyPass / {tongban}/
</VirtualHost>

CASLoginURL {tongban}/sso/cas/login
CASValidateURL https://127.0.0.1:{tls_port}/sso/cas/p3/serviceValidate
CASVersion 2
CASCertificatePath "{root}/cert.pem"
CASCookiePath "{root}/cas-cache/"
CASSSOEnabled On
<Location /cas/>
  AuthType CAS
  Require valid-user
</Location>

OIDCProviderMetadataURL {tongban}/sso/oidc/.well-known/openid-configuration
OIDCClientID apache
OIDCClientSecret {oidc_secret}
OIDCRedirectURI http://127.0.0.1:{port}/oidc/redirect_uri
OIDCCryptoPassphrase {passphrase}
OIDCScope "openid profile email"
OIDCPKCEMethod S256
OIDCRemoteUserClaim preferred_username
OIDCSSLValidateServer Off
<Location /oidc/>
  AuthType openid-connect
  Require valid-user
</Location>
"""


@unittest.skipIf(missing_apache(), missing_apache() or "")
class ApacheTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = TongbanServer().start()
        cls.tongban = cls.server.base_url
        m = next(ADMIN_RE.search(l) for l in cls.server.stdout_lines if ADMIN_RE.search(l))
        cls.admin = (m.group(1), m.group(2))
        cls.root = tempfile.mkdtemp(prefix="tongban-apache-")
        os.chmod(cls.root, 0o755)
        cls.port, cls.tls_port = free_port(), free_port()
        cls.base = "http://127.0.0.1:%d" % cls.port
        d = cls.server.data_dir
        create_app(d, "apachecas", "--protocols", "cas", "--open-to-all",
                   "--callback", cls.base + "/cas/")
        cls.oidc_secret = create_app(
            d, "apache", "--protocols", "oidc", "--open-to-all",
            "--callback", cls.base + "/oidc/redirect_uri",
            "--logout-url", cls.base + "/oidc/redirect_uri?logout=backchannel")
        for sub in ("htdocs/cas", "htdocs/oidc", "cas-cache"):
            os.makedirs(os.path.join(cls.root, sub))
        shutil.chown(os.path.join(cls.root, "cas-cache"), "www-data", "www-data")
        for sub in ("cas", "oidc"):
            with open(os.path.join(cls.root, "htdocs", sub, "index.html"), "w") as f:
                f.write('user=<!--#echo var="REMOTE_USER" -->\n')
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                        "-keyout", os.path.join(cls.root, "key.pem"),
                        "-out", os.path.join(cls.root, "cert.pem"),
                        "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
                       check=True, capture_output=True)
        cls.conf = os.path.join(cls.root, "httpd.conf")
        with open(cls.conf, "w") as f:
            f.write(CONFIG.format(root=cls.root, port=cls.port, tls_port=cls.tls_port,
                                  modules=MODULES, tongban=cls.tongban,
                                  oidc_secret=cls.oidc_secret,
                                  passphrase=os.urandom(16).hex()))
        # `-k start` returns once the listeners are bound (Apache binds before
        # it detaches), so no polling is needed.
        started = subprocess.run([APACHE, "-f", cls.conf, "-k", "start"], capture_output=True,
                                 text=True)
        if started.returncode != 0:
            log = cls.apache_log()
            cls.server.cleanup()
            raise RuntimeError("apache2 did not start: %s %s" % (started.stderr, log))

    @classmethod
    def tearDownClass(cls):
        subprocess.run([APACHE, "-f", cls.conf, "-k", "stop"], capture_output=True)
        cls.server.cleanup()
        shutil.rmtree(cls.root, ignore_errors=True)

    @classmethod
    def apache_log(cls):
        try:
            with open(os.path.join(cls.root, "error.log")) as f:
                return f.read()[-4000:]
        except OSError:
            return ""

    def browser(self):
        b = requests.Session()
        self.addCleanup(b.close)
        return b

    def visit(self, browser, url):
        """Follows redirects like a browser, logging in on tongban's login page
        when it shows up. Returns the final response."""
        r = browser.get(url, timeout=20)
        if 'name="password"' in r.text:
            fields = FormFields(r.text).fields
            fields["loginname"], fields["password"] = self.admin
            r = browser.post(self.tongban + "/sso/usp.do", data=fields, timeout=20)
        return r

    def redirected_within(self, browser, url, seconds=10):
        """The first answer to GET `url` that is a redirect, or the last one.

        Logout reaches the module from tongban's background thread, so the
        module's session ends a moment after tongban answered the browser.
        There is no event to wait on in another process: poll until a deadline.
        """
        deadline = time.monotonic() + seconds
        while True:
            r = browser.get(url, allow_redirects=False, timeout=20)
            if r.status_code == 302 or time.monotonic() > deadline:
                return r
            time.sleep(0.05)

    # ---- mod_auth_cas ----

    def test_mod_auth_cas_lets_a_user_in_through_the_login_page(self):
        r = self.visit(self.browser(), self.base + "/cas/")
        self.assertEqual(r.status_code, 200, self.apache_log())
        self.assertIn("user=%s" % self.admin[0], r.text, self.apache_log())
        self.assertTrue(r.url.startswith(self.base + "/cas/"), r.url)

    def test_mod_auth_cas_session_ends_with_single_logout(self):
        browser = self.browser()
        r = self.visit(browser, self.base + "/cas/")
        self.assertIn("user=", r.text, self.apache_log())
        # Log out at tongban: mod_auth_cas hears of it through the logoutRequest.
        browser.get(self.tongban + "/sso/cas/logout", timeout=20)
        r = self.redirected_within(browser, self.base + "/cas/")
        self.assertEqual(r.status_code, 302, self.apache_log())
        self.assertTrue(r.headers["Location"].startswith(self.tongban + "/sso/cas/login"))

    # ---- mod_auth_openidc ----

    def test_mod_auth_openidc_lets_a_user_in_through_the_login_page(self):
        r = self.visit(self.browser(), self.base + "/oidc/")
        self.assertEqual(r.status_code, 200, self.apache_log())
        self.assertIn("user=%s" % self.admin[0], r.text, self.apache_log())

    def test_one_login_serves_both_modules(self):
        browser = self.browser()
        self.visit(browser, self.base + "/cas/")
        r = browser.get(self.base + "/oidc/", timeout=20)
        self.assertIn("user=%s" % self.admin[0], r.text, self.apache_log())

    def test_mod_auth_openidc_session_ends_with_back_channel_logout(self):
        browser = self.browser()
        r = self.visit(browser, self.base + "/oidc/")
        self.assertIn("user=", r.text, self.apache_log())
        browser.get(self.tongban + "/sso/usp.do?action=logout", timeout=20)
        r = self.redirected_within(browser, self.base + "/oidc/")
        self.assertEqual(r.status_code, 302, self.apache_log())
        self.assertIn("/sso/oidc/authorize", r.headers["Location"])


if __name__ == "__main__":
    main()
