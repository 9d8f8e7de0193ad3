"""Shared by the approval integration tests: staff users made through the
admin API (the approval app, its roles, two orgs), a staff browser session
speaking /approval/api/ with the CSRF header, matters with valid codes, and
applicants with valid ID numbers."""
import re
import threading

import requests

API = "/approval/api/"
ADMIN_API = "/sso/admin/api/"
ADMIN_RE = re.compile(r"admin user:\s+(\S+) / (\S+)")
ROLES = ["intake", "accept", "undertake", "review", "approve", "supervise", "matters"]
# A fictitious implementing body whose code carries valid check characters.
USCC = "113301000024991243"
PASSWORD = "Appr-Pass-1"
_serial_lock = threading.Lock()
_serial = [0]


def admin_credentials(server):
    for line in server.stdout_lines:
        m = ADMIN_RE.search(line)
        if m:
            return m.group(1), m.group(2)
    raise AssertionError("no admin credentials in %r" % server.stdout_lines)


def browser_login(base_url, loginname, password, forwarded_for=None):
    """Logs in through the SSO login page; returns the browser's Session."""
    b = requests.Session()
    if forwarded_for:
        b.headers["X-Forwarded-For"] = forwarded_for
    page = b.get(base_url + "/sso/usp.do?action=ssoLogin")
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    r = b.post(base_url + "/sso/usp.do", data={
        "action": "ssoLogin", "csrf": csrf, "loginname": loginname, "password": password},
        allow_redirects=False)
    assert r.status_code == 302, (r.status_code, r.text[:300])
    assert b.cookies.get("TBSSO"), "no session cookie"
    return b


def is_chinese(text):
    return any("\u4e00" <= ch <= "\u9fff" for ch in text or "")


class Client:
    """A browser session speaking a JSON API with the CSRF header."""

    def __init__(self, base_url, browser, prefix, me_path="me"):
        self.base_url = base_url
        self.b = browser
        self.prefix = prefix
        me = self.b.get(base_url + prefix + me_path)
        assert me.status_code == 200, me.text
        self.me = me.json()
        self.csrf = self.me["csrf"]

    def get(self, path, **params):
        return self.b.get(self.base_url + self.prefix + path, params=params)

    def send(self, method, path, body=None, **kw):
        headers = {"X-CSRF-Token": self.csrf}
        headers.update(kw.pop("headers", {}))
        return self.b.request(method, self.base_url + self.prefix + path, json=body,
                              headers=headers, **kw)

    def ok(self, method, path, body=None, **params):
        r = self.get(path, **params) if method == "GET" else self.send(method, path, body)
        assert r.status_code == 200, "%s %s -> %d %s" % (method, path, r.status_code, r.text)
        return r.json()

    # approval conveniences
    def act(self, number, action, **fields):
        body = dict(fields, action=action)
        return self.send("POST", "cases/%s/actions" % number, body)

    def act_ok(self, number, action, **fields):
        r = self.act(number, action, **fields)
        assert r.status_code == 200, "%s %s -> %d %s" % (action, number, r.status_code, r.text)
        return r.json()

    def history(self, number):
        return self.ok("GET", "cases/%s/history" % number)["items"]


def ensure_staff(base_url, admin, orgs=("001001", "001002"), users=None):
    """Creates the approval app and roles (unless the demo seed did), the
    orgs, and one user per (loginname, orgcoding, roles). Returns
    {loginname: userid}."""
    if admin.get("apps/approval").status_code == 404:
        admin.ok("POST", "apps", {"servicecode": "approval", "name": "统一审批"})
    for role in ROLES:
        admin.ok("PUT", "apps/approval/roles/" + role, {"rolename": role})
    for org in orgs:
        if admin.get("orgs/" + org).status_code == 404:
            admin.ok("POST", "orgs", {"parent": org[:-3], "orgcoding": org,
                                      "orgname": "审批测试机构" + org})
    ids = {}
    for loginname, org, roles in users:
        found = admin.get("users", q=loginname, field="any").json()
        existing = [u for u in found.get("items", []) if u["loginname"] == loginname]
        if existing:
            ids[loginname] = existing[0]["userid"]
        else:
            created = admin.ok("POST", "users", {
                "loginname": loginname, "username": "审批" + loginname, "orgcoding": org,
                "password": PASSWORD})
            ids[loginname] = created["user"]["userid"]
        for role in roles:
            admin.ok("POST", "users/%s/roles" % ids[loginname],
                     {"app": "approval", "rolecode": role})
    return ids


def staff_login(base_url, loginname, forwarded_for=None):
    return Client(base_url, browser_login(base_url, loginname, PASSWORD, forwarded_for), API)


def admin_login(server):
    login, password = admin_credentials(server)
    return Client(server.base_url, browser_login(server.base_url, login, password), ADMIN_API)


def next_basic_code():
    with _serial_lock:
        _serial[0] += 1
        return "0001170%05d" % _serial[0]


def matter_body(orgcoding, basic_code=None, steps=("undertake", "review", "approve"),
                name="测试许可事项"):
    basic = basic_code or next_basic_code()
    return {
        "basic_code": basic,
        "implement_code": USCC + "3" + basic,
        "name": name,
        "type": "licence",
        "orgcoding": orgcoding,
        "division": "330100",
        "legal_limit": {"amount": 20, "unit": "workday"},
        "promised_limit": {"amount": 10, "unit": "workday"},
        "kind": 2,
        "guide": "办理地点：一楼综合窗口",
        "materials": [{"name": "申请表", "required": True, "form": "either", "copies": 1}],
        "steps": [{"code": str(i + 1), "name": ["承办", "审核", "批准"][i % 3], "role": role,
                   "limit": {"amount": 3, "unit": "workday"}} for i, role in enumerate(steps)],
    }


def resident_id(seq=123):
    """A valid GB 11643 number: Hangzhou, born 1990-01-01."""
    body = "33010219900101%03d" % (seq % 1000)
    weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    check = "10X98765432"[sum(int(d) * w for d, w in zip(body, weights)) % 11]
    return body + check


def registration(implement_code, seq=123, materials=None):
    return {
        "implement_code": implement_code,
        "applicant": {"type": "person", "name": "张三", "id_type": "10",
                      "id_number": resident_id(seq), "mobile": "13800138000"},
        "materials": materials if materials is not None else
        [{"name": "申请表", "form": "paper", "copies": 1}],
    }


# A minimal PDF (the file store sniffs "%PDF-").
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
