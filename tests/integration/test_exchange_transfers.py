"""Big-file transfers through the real binary: a 200 MB file in 8 MiB chunks
sent out of order with one corrupted chunk refused and re-sent, completed,
downloaded by a subscriber with Range requests and checked by its digest;
kill -9 in the middle of an encrypted upload, then resume from the status;
signatures and the administrator's listing."""
import hashlib
import os
import random
import tempfile
import threading
import unittest

import requests

from approval_fixture import admin_credentials, browser_login
from signed_client import create_app
from tongban_harness import TongbanServer, main
from transfer_client import API, CHUNK, TransferClient

MB = 1024 * 1024


def make_file(path, size, seed):
    """Writes `size` pseudo-random bytes; returns their SHA-256 hex."""
    rng = random.Random(seed)
    digest = hashlib.sha256()
    with open(path, "wb") as f:
        left = size
        while left:
            n = min(left, 4 * MB)
            block = rng.randbytes(n)
            digest.update(block)
            f.write(block)
            left -= n
    return digest.hexdigest()


def read_chunk(path, offset, length):
    with open(path, "rb") as f:
        f.seek(offset)
        return f.read(length)


class TransferTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="tb-xfer-")
        self.server = TongbanServer()
        self.addCleanup(self.server.cleanup)
        # Apps are registered before the first start (the admin CLI migrates).
        self.pwd = {}
        for code in ("xfsender", "xfsub1", "xfsub2", "xfother"):
            self.pwd[code] = create_app(self.server.data_dir, code)
        self.server.start()

    def tearDown(self):
        for name in os.listdir(self.tmp):
            os.unlink(os.path.join(self.tmp, name))
        os.rmdir(self.tmp)

    def client(self, code, server=None):
        return TransferClient((server or self.server).base_url, code, self.pwd[code])

    def test_a_200mb_file_out_of_order_with_a_corrupted_chunk_arrives_intact(self):
        size = 200 * MB + 12345
        path = os.path.join(self.tmp, "big.bin")
        digest = make_file(path, size, 1)
        sender = self.client("xfsender")
        t = sender.start(name="不动产登记.bin", size=size, chunk_size=CHUNK,
                         digest_algorithm="sha256", digest=digest,
                         subscribers=["xfsub1", "xfsub2"])
        self.assertEqual(t["chunk_count"], 26)
        offsets = list(range(0, size, CHUNK))
        random.Random(2).shuffle(offsets)
        corrupted_at = offsets[3]
        for offset in offsets:
            data = read_chunk(path, offset, CHUNK)
            if offset == corrupted_at:
                bad = bytearray(data)
                bad[len(bad) // 2] ^= 0xFF
                r = sender.put_chunk(t["id"], offset, bytes(bad),
                                     announced=hashlib.sha256(data).hexdigest())
                self.assertEqual(r.status_code, 400, r.text)
                self.assertEqual(r.json()["error"]["code"], 7101)
                truncated = sender.put_chunk(t["id"], offset, data[:-1],
                                             announced=hashlib.sha256(data).hexdigest())
                self.assertEqual(truncated.status_code, 400, truncated.text)
                status = sender.status(t["id"])
                self.assertIn(corrupted_at, status["missing_offsets"])
            r = sender.put_chunk(t["id"], offset, data)
            self.assertEqual(r.status_code, 200, r.text)
            self.assertEqual(r.json()["stored"], "new")
        # A retried chunk is idempotent; other bytes at a stored offset conflict.
        again = sender.put_chunk(t["id"], 0, read_chunk(path, 0, CHUNK))
        self.assertEqual(again.json()["stored"], "already")
        other = sender.put_chunk(t["id"], 0, b"x" * CHUNK)
        self.assertEqual(other.status_code, 409, other.text)
        self.assertEqual(sender.status(t["id"])["missing_offsets"], [])

        done = sender.complete(t["id"])
        self.assertEqual(done.status_code, 200, done.text)
        self.assertEqual(done.json()["state"], "delivered")

        for code in ("xfsub1", "xfsub2"):
            sub = self.client(code)
            files = sub.inbox()
            self.assertEqual([f["transfer_id"] for f in files], [t["id"]])
            self.assertEqual(files[0]["name"], "不动产登记.bin")
            got = hashlib.sha256()
            self.assertEqual(sub.download(t["id"], got.update, size), size)
            self.assertEqual(got.hexdigest(), digest)
        # A whole-file GET of a file larger than one response is refused with a hint.
        whole = self.client("xfsub1").call("GET", "transfers/inbox/%s/content" % t["id"])
        self.assertEqual(whole.status_code, 413, whole.text)
        # Someone else's inbox holds nothing; acknowledging empties the subscriber's.
        self.assertEqual(self.client("xfother").inbox(), [])
        self.assertEqual(self.client("xfsub1").ack(t["id"]).status_code, 200)
        self.assertEqual(self.client("xfsub1").inbox(), [])
        self.assertEqual(len(self.client("xfsub2").inbox()), 1)

    def test_kill_9_mid_upload_then_resume(self):
        size = 48 * MB + 77
        chunk = 1 * MB
        path = os.path.join(self.tmp, "crash.bin")
        digest = make_file(path, size, 3)
        sender = self.client("xfsender")
        t = sender.start(name="crash.bin", size=size, chunk_size=chunk, digest=digest,
                         subscribers=["xfsub1"], encryption="sm4")
        self.assertEqual(t["encryption"], "sm4-ctr")
        offsets = list(range(0, size, chunk))
        random.Random(4).shuffle(offsets)
        acked = []
        enough = threading.Event()

        def upload(part):
            for offset in part:
                try:
                    r = sender.put_chunk(t["id"], offset, read_chunk(path, offset, chunk))
                except requests.RequestException:
                    return
                if r.status_code == 200:
                    acked.append(offset)
                    if len(acked) >= 12:
                        enough.set()
                else:
                    return

        threads = [threading.Thread(target=upload, args=(offsets[i::3],)) for i in range(3)]
        for th in threads:
            th.start()
        self.assertTrue(enough.wait(120))
        data_dir = self.server.data_dir
        self.server.kill()
        for th in threads:
            th.join()
        restarted = TongbanServer(data_dir=data_dir).start()
        self.addCleanup(restarted.cleanup)
        sender = self.client("xfsender", restarted)
        status = sender.status(t["id"])
        received = {i * chunk for i in status["received"]}
        self.assertTrue(set(acked) <= received, (sorted(acked), sorted(received)))
        self.assertLess(len(received), len(offsets))
        self.assertEqual(sorted(status["missing_offsets"]),
                         sorted(set(offsets) - received))
        for offset in status["missing_offsets"]:
            r = sender.put_chunk(t["id"], offset, read_chunk(path, offset, chunk))
            self.assertEqual(r.status_code, 200, r.text)
        done = sender.complete(t["id"])
        self.assertEqual(done.status_code, 200, done.text)
        got = hashlib.sha256()
        self.client("xfsub1", restarted).download(t["id"], got.update, size)
        self.assertEqual(got.hexdigest(), digest)
        # Encrypted at rest: the delivered file is not the plaintext.
        stored = os.path.join(data_dir, "exchange-transfers", "inbox", "xfsub1", t["id"])
        self.assertEqual(os.path.getsize(stored), size)
        self.assertNotEqual(read_chunk(stored, 0, 4096), read_chunk(path, 0, 4096))

    def test_a_digest_mismatch_at_completion_fails_the_transfer(self):
        sender = self.client("xfsender")
        data = os.urandom(300 * 1024)
        t = sender.start(name="a.bin", size=len(data), chunk_size=128 * 1024,
                         digest_algorithm="sm3", digest="0" * 64, subscribers=["xfsub1"])
        for offset in range(0, len(data), 128 * 1024):
            self.assertEqual(sender.put_chunk(t["id"], offset,
                                              data[offset:offset + 128 * 1024]).status_code, 200)
        r = sender.complete(t["id"])
        self.assertEqual(r.status_code, 422, r.text)
        self.assertEqual(r.json()["error"]["code"], 7104)
        self.assertEqual(sender.status(t["id"])["state"], "failed")
        self.assertEqual(self.client("xfsub1").inbox(), [])

    def test_signatures_ownership_and_the_admin_listing(self):
        sender = self.client("xfsender")
        small = b"hello exchange"
        t = sender.start(name="small.txt", size=len(small),
                         digest=hashlib.sha256(small).hexdigest(), subscribers=["xfsub1"])
        base = self.server.base_url + API
        # Unsigned, and signed with the wrong key.
        self.assertEqual(requests.get(base + "transfers/" + t["id"]).status_code, 401)
        r = requests.post(base + "transfers", json={"name": "x"})
        self.assertEqual(r.status_code, 403, r.text)
        forged = TransferClient(self.server.base_url, "xfsender", "wrong-password")
        self.assertEqual(forged.call("GET", "transfers/" + t["id"]).status_code, 403)
        # The body is bound by body_sha256: another body under the same signature fails.
        swapped = sender.call("POST", "transfers", json_body={"name": "y", "size": 1},
                              sign_body=b"{}")
        self.assertEqual(swapped.status_code, 403, swapped.text)
        # Another app neither sees nor feeds the transfer.
        other = self.client("xfother")
        self.assertEqual(other.call("GET", "transfers/" + t["id"]).status_code, 404)
        self.assertEqual(other.put_chunk(t["id"], 0, small).status_code, 404)
        # Unknown subscribers are refused at the start.
        bad = sender.call("POST", "transfers", json_body={
            "name": "z", "size": 1, "digest": "0" * 64, "subscribers": ["nosuchapp"]})
        self.assertEqual(bad.status_code, 400, bad.text)
        # A sender's open transfers may declare 64 GiB in all by default: 1 TiB is refused
        # before any disk is reserved.
        huge = sender.call("POST", "transfers", json_body={
            "name": "huge.bin", "size": 1 << 40, "digest": "0" * 64, "subscribers": ["xfsub1"]})
        self.assertEqual(huge.status_code, 429, huge.text)
        self.assertEqual(huge.json()["error"]["code"], 7109)

        self.assertEqual(sender.put_chunk(t["id"], 0, small).status_code, 200)
        self.assertEqual(sender.complete(t["id"]).status_code, 200)
        sub = self.client("xfsub1")
        whole = sub.call("GET", "transfers/inbox/%s/content" % t["id"])
        self.assertEqual(whole.status_code, 200)
        self.assertEqual(whole.content, small)
        tail = sub.call("GET", "transfers/inbox/%s/content" % t["id"],
                        headers={"Range": "bytes=-8"})
        self.assertEqual(tail.status_code, 206)
        self.assertEqual(tail.content, small[-8:])
        beyond = sub.call("GET", "transfers/inbox/%s/content" % t["id"],
                          headers={"Range": "bytes=100-"})
        self.assertEqual(beyond.status_code, 416)

        # The session cookie is scoped to /sso (Path), so it is passed by hand here.
        browser = browser_login(self.server.base_url, *admin_credentials(self.server))
        session = {"TBSSO": browser.cookies.get("TBSSO")}
        listing = requests.get(base + "transfers", cookies=session)
        self.assertEqual(listing.status_code, 200, listing.text)
        self.assertIn(t["id"], [x["id"] for x in listing.json()["transfers"]])
        one = requests.get(base + "transfers/" + t["id"], cookies=session)
        self.assertEqual(one.json()["state"], "delivered")
        # A session is not enough to upload: those calls must be signed.
        self.assertEqual(requests.post(base + "transfers/%s/complete" % t["id"],
                                       cookies=session).status_code, 403)
        # The sender's own listing.
        mine = sender.call("GET", "transfers").json()["transfers"]
        self.assertEqual([x["id"] for x in mine], [t["id"]])
        # Cancelling: only the sender, only before delivery.
        c = sender.start(name="gone.bin", size=len(small),
                         digest=hashlib.sha256(small).hexdigest(), subscribers=["xfsub1"])
        self.assertEqual(other.call("DELETE", "transfers/" + c["id"]).status_code, 404)
        gone = sender.call("DELETE", "transfers/" + c["id"])
        self.assertEqual(gone.status_code, 200, gone.text)
        self.assertEqual(gone.json()["state"], "failed")
        self.assertEqual(sender.put_chunk(c["id"], 0, small).status_code, 409)
        self.assertEqual(sender.call("DELETE", "transfers/" + t["id"]).status_code, 409)


if __name__ == "__main__":
    main()
