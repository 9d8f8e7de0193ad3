"""A department system's client of the big-file transfer API
(docs/api/exchange-transfers.md): every call carries tongban's request
signature over the API path, with body_sha256 binding the body."""
import hashlib
import secrets

import requests

from signed_client import request_sign, spec_time

API = "/exchange/api/"
CHUNK = 8 * 1024 * 1024


class TransferClient:
    def __init__(self, base_url, servicecode, servicepwd):
        self.base_url = base_url
        self.servicecode = servicecode
        self.servicepwd = servicepwd
        self.http = requests.Session()

    def signed(self, relative, params=None, body=None):
        fields = {"servicecode": self.servicecode, "time": spec_time(),
                  "signmethod": "hmac-sha256", "nonce": secrets.token_hex(16)}
        fields.update(params or {})
        if body:
            fields["body_sha256"] = hashlib.sha256(body).hexdigest()
        fields["sign"] = request_sign(self.servicepwd, relative, fields)
        return fields

    def call(self, method, relative, params=None, body=None, headers=None, json_body=None,
             sign_body=None):
        if json_body is not None:
            import json
            body = json.dumps(json_body).encode("utf-8")
            headers = dict(headers or {}, **{"Content-Type": "application/json"})
        fields = self.signed(relative, params, sign_body if sign_body is not None else body)
        return self.http.request(method, self.base_url + API + relative, params=fields,
                                 data=body, headers=headers, timeout=120)

    def start(self, **spec):
        r = self.call("POST", "transfers", json_body=spec)
        assert r.status_code == 201, r.text
        return r.json()

    def put_chunk(self, transfer_id, offset, data, announced=None):
        """PUT one chunk; `announced` is the SHA-256 the sender claims (default: of data)."""
        digest = announced or hashlib.sha256(data).hexdigest()
        headers = {"Content-Type": "application/octet-stream", "X-Chunk-SHA256": digest}
        fields = self.signed("transfers/%s/chunks/%d" % (transfer_id, offset),
                             {"body_sha256": digest})
        return self.http.put(self.base_url + API + "transfers/%s/chunks/%d" % (transfer_id, offset),
                             params=fields, data=data, headers=headers, timeout=120)

    def status(self, transfer_id):
        r = self.call("GET", "transfers/" + transfer_id)
        assert r.status_code == 200, r.text
        return r.json()

    def complete(self, transfer_id):
        return self.call("POST", "transfers/%s/complete" % transfer_id)

    def inbox(self):
        r = self.call("GET", "transfers/inbox")
        assert r.status_code == 200, r.text
        return r.json()["files"]

    def download(self, transfer_id, sink, size, piece=CHUNK):
        """Fetches the file with Range requests, feeding each piece to sink(bytes)."""
        offset = 0
        while offset < size:
            rel = "transfers/inbox/%s/content" % transfer_id
            r = self.call("GET", rel, headers={
                "Range": "bytes=%d-%d" % (offset, min(size, offset + piece) - 1)})
            assert r.status_code == 206, (r.status_code, r.text[:200])
            assert r.headers["Content-Range"].startswith("bytes %d-" % offset), r.headers
            sink(r.content)
            offset += len(r.content)
        return offset

    def ack(self, transfer_id):
        return self.call("POST", "transfers/inbox/%s/ack" % transfer_id)
