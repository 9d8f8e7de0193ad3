"""Prepares the requests bench/run.sh measures, against a running tongban.

    prepare.py BASE_URL DEMO_SERVICEPWD ADMIN_PASSWORD BENCH_SERVICEPWD

Prints shell assignments (NAME=...) for bench/run.sh to eval. It logs in
through the real interfaces (easyAuth/commnetAuth idValidation, the browser
login form) so that every benchmarked call succeeds. Signed bodies carry a
fixed time and sign, so the server must run with sso.replay_protection = false
for the calls repeated verbatim; bodies with "{}" take one pool value (a ticket
or an authcode) per request and stay distinct, so they pass replay protection.
The app "bench" (zj, cas, oidc; callback http://127.0.0.1/bench/) is created by
run.sh; "demo" is the seeded app.
"""
import hashlib
import json
import html.parser
import shlex
import sys
import time
import urllib.parse

import requests

base, demo_pwd, admin_pwd, bench_pwd = sys.argv[1:5]
SESSIONS = 32  # logins getST cycles through (each costs one argon2id check)
ctx = "/sso"
CAS_SERVICE = "http://127.0.0.1/bench/cas"


def signed(servicecode, servicepwd, at=None, **params):
    """Signed call fields, signed at `at` (epoch seconds; default now): given
    times keep repeated identical calls apart for the replay check."""
    # China Standard Time, as the server reads `time` by default (sso.sign_time_zone).
    t = time.strftime("%Y%m%d%H%M%S", time.gmtime((time.time() if at is None else at) + 8 * 3600))
    sign = hashlib.md5((servicecode + servicepwd + t).encode()).hexdigest()
    return dict(servicecode=servicecode, time=t, sign=sign, datatype="json", **params)


def demo(at=None, **params):
    return signed("demo", demo_pwd, at, **params)


def call(path, at=None, **params):
    r = requests.post(base + path, data=demo(at, **params), timeout=10)
    r.raise_for_status()
    reply = r.json()
    if reply.get("result") != "0":
        raise SystemExit("prepare: %s %s failed: %s" % (path, params.get("method"), reply))
    return reply


def emit(name, value):
    print("%s=%s" % (name, shlex.quote(value)))


def body(pool_param=None, **params):
    """A form body; with pool_param, "&<pool_param>={}" for the pool value."""
    text = urllib.parse.urlencode(demo(**params))
    return text + ("&%s={}" % pool_param if pool_param else "")


class FormFields(html.parser.HTMLParser):
    def __init__(self, text):
        super().__init__()
        self.fields = {}
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "input" and a.get("name"):
            self.fields[a["name"]] = a.get("value", "")


def browser_session():
    """Logs the bench user in on the login page (as CAS sends a browser there); the TBSSO cookie."""
    b = requests.Session()
    r = b.get(base + ctx + "/cas/login", params={"service": CAS_SERVICE},
              allow_redirects=True, timeout=10)
    fields = FormFields(r.text).fields
    if "password" not in fields:
        raise SystemExit("prepare: no login form at %s" % r.url)
    fields["loginname"], fields["password"] = BENCH_USER, admin_pwd
    r = b.post(base + ctx + "/usp.do", data=fields, allow_redirects=False, timeout=10)
    cookie = b.cookies.get("TBSSO")
    if not cookie:
        raise SystemExit("prepare: browser login failed: %d %s" % (r.status_code, r.text[:200]))
    return cookie


easy_path = ctx + "/servlet/simpleauth"
comm_path = ctx + "/servlet/ssoauth"

# A plain user logs in for the bench: platform administrators must use a
# second factor at every login (issue 20), which idValidation cannot offer.
BENCH_USER, BENCH_PWD = "benchuser", "Bench-pass-2026"
call(ctx + "/servlet/organduser", method="synchronizeUser",
     args=json.dumps({"loginname": BENCH_USER, "username": "压测用户", "orgcoding": "001001",
                      "loginpwd": BENCH_PWD}))
admin_pwd = BENCH_PWD

easy = call(easy_path, method="idValidation", loginname=BENCH_USER, password=admin_pwd,
            encryptiontype="1")
code = call(comm_path, method="idValidation", loginname=BENCH_USER, password=admin_pwd,
            encryptiontype="1")
tok = call(comm_path, method="getToken", authcode=code["authcode"])

emit("EASY_PATH", easy_path)
emit("COMM_PATH", comm_path)
emit("EASY_USERINFO_BODY", body(method="getUserInfo", token=easy["token"]))
emit("COMM_USERINFO_BODY", body(method="getUserInfo", accesstoken=tok["accesstoken"]))
emit("GETST_BODY", body("accesstoken", method="getST"))
# getST cycles through the access tokens of SESSIONS logins, so the tickets
# (and what validating them issues) spread over that many sessions, as
# real traffic does, instead of growing one session's set of grants.
tokens = [tok["accesstoken"]]
first_login = time.time()
for i in range(1, SESSIONS):
    # A second each, well before the first login's: no two identical calls share one.
    at = first_login - 100 - i
    c = call(comm_path, at=at, method="idValidation", loginname=BENCH_USER, password=admin_pwd,
             encryptiontype="1")
    tokens.append(call(comm_path, at=at, method="getToken",
                       authcode=c["authcode"])["accesstoken"])
emit("GETST_TOKENS", " ".join(tokens))
emit("EASY_TV_BODY", body("st", method="ticketValidation"))
emit("COMM_TV_BODY", body("st", method="ticketValidation"))
emit("GETTOKEN_BODY", body("authcode", method="getToken"))
emit("REFRESH_BODY", body(method="refAccessToken", refreshtoken=tok["refreshtoken"]))
emit("LOGIN_BODY", body(method="idValidation", loginname=BENCH_USER, password=admin_pwd,
                        encryptiontype="1"))
emit("ORG_PATH", ctx + "/servlet/organduser")
emit("ORG_INFO_BODY", body(method="getOrgInfo", orgcoding="001"))
auth = demo()
del auth["datatype"]
emit("COMM_AUTH", urllib.parse.urlencode(auth))
emit("COMM_ACCESSTOKEN", tok["accesstoken"])

emit("SSO_COOKIE", "TBSSO=" + browser_session())
# Browser sessions zfRedirect cycles through, for the same reason as getST.
emit("SSO_SESSIONS", " ".join(browser_session() for _ in range(SESSIONS)))
emit("CAS_SERVICE", CAS_SERVICE)
emit("CAS_SERVICE_Q", urllib.parse.quote(CAS_SERVICE, safe=""))
emit("OIDC_BODY", urllib.parse.urlencode(dict(grant_type="client_credentials", client_id="bench",
                                              client_secret=bench_pwd)))
