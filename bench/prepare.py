"""Prepares signed request bodies for bench/run.sh against a running tongban.

Prints shell assignments (NAME_PATH=..., NAME_BODY=...) for each endpoint the
run measures. It logs in through the real interfaces (idValidation) to get a
token, so the benchmarked calls succeed. Uses the demo app's credentials.
"""
import hashlib
import sys
import time
import urllib.parse

import requests

base, servicecode, servicepwd, admin_pwd = sys.argv[1:5]
ctx = "/sso"


def signed(**params):
    t = time.strftime("%Y%m%d%H%M%S")
    sign = hashlib.md5((servicecode + servicepwd + t).encode()).hexdigest()
    return dict(servicecode=servicecode, time=t, sign=sign, datatype="json", **params)


def call(path, **params):
    r = requests.post(base + path, data=signed(**params), timeout=10)
    r.raise_for_status()
    reply = r.json()
    if reply.get("result") != "0":
        raise SystemExit("prepare: %s %s failed: %s" % (path, params.get("method"), reply))
    return reply


def emit(name, path, **params):
    body = urllib.parse.urlencode(signed(**params))
    print("%s_PATH=%s" % (name, path))
    print("%s_BODY='%s'" % (name, body))


easy = call(ctx + "/servlet/simpleauth", method="idValidation", loginname="admin",
            password=admin_pwd, encryptiontype="1")
emit("EASY_USERINFO", ctx + "/servlet/simpleauth", method="getUserInfo", token=easy["token"])

code = call(ctx + "/servlet/ssoauth", method="idValidation", loginname="admin",
            password=admin_pwd, encryptiontype="1")
tok = call(ctx + "/servlet/ssoauth", method="getToken", authcode=code["authcode"])
emit("COMM_USERINFO", ctx + "/servlet/ssoauth", method="getUserInfo",
     accesstoken=tok["accesstoken"])
auth = signed()
del auth["datatype"]
print("COMM_AUTH='%s'" % urllib.parse.urlencode(auth))
print("COMM_ACCESSTOKEN=%s" % tok["accesstoken"])
emit("ORG_INFO", ctx + "/servlet/organduser", method="getOrgInfo", orgcoding="001")
