"""收件登记 with an Idempotency-Key, against the real binary (review15d's low:
a registration retried after its answer was lost registered the case twice).
The same key and request answer the same case and lookup password, also
after a kill -9 and from many requests at once; the key with another request
is refused (409, 5111) and registers nothing; keys are the caller's own; a
malformed key is a 400; the hall's online application honours it too."""
import os
import shutil
import tempfile
import threading
import unittest
import uuid

import requests

from approval_fixture import (API, PASSWORD, Client, admin_login, browser_login, ensure_staff,
                              is_chinese, matter_body, registration, staff_login)
from tongban_harness import TongbanServer, main

USERS = [
    ("kclerk", "001001", ["intake", "accept", "matters"]),
    ("kclerk2", "001001", ["intake"]),
    ("kappl", "001001", []),
]
IP = {"X-Forwarded-For": "198.51.100.91"}


class RequestKeys(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="tongban-request-keys-")
        cls.config = os.path.join(cls.dir, "tongban.toml")
        with open(cls.config, "w", encoding="utf-8") as f:
            f.write('[server]\ntrusted_proxies = ["127.0.0.1"]\n')
        cls.server = TongbanServer("--config", cls.config).start()
        base = cls.server.base_url
        ensure_staff(base, admin_login(cls.server), users=USERS)
        cls.clerk = staff_login(base, "kclerk")
        cls.clerk2 = staff_login(base, "kclerk2")
        body = matter_body("001001", name="幂等收件事项")
        body["online"] = True
        cls.matter = cls.clerk.ok("POST", "matters", body)
        cls.code = cls.matter["implement_code"]

    @classmethod
    def tearDownClass(cls):
        cls.server.cleanup()
        shutil.rmtree(cls.dir, ignore_errors=True)

    def keyed(self, client, body, key, path="cases"):
        return client.send("POST", path, body, headers={"Idempotency-Key": key})

    def cases_of(self, id_number):
        listed = self.clerk.ok("GET", "cases", implement_code=self.code, org="001001", size=100)
        return [c["number"] for c in listed["items"] if c["applicant"]["id_number"] == id_number]

    def lookup(self, number, password):
        return requests.post(self.server.url(API + "public/lookup"),
                             json={"number": number, "password": password}, headers=IP)

    def test_a_retry_answers_the_same_case_and_password(self):
        body = registration(self.code, 601)
        key = str(uuid.uuid4())
        first = self.keyed(self.clerk, body, key)
        self.assertEqual(first.status_code, 200, first.text)
        self.assertNotIn("replayed", first.json())
        again = self.keyed(self.clerk, body, key)
        self.assertEqual(again.status_code, 200, again.text)
        self.assertTrue(again.json()["replayed"])
        number = first.json()["case"]["number"]
        self.assertEqual(again.json()["case"]["number"], number)
        self.assertEqual(again.json()["lookup_password"], first.json()["lookup_password"])
        self.assertEqual(self.cases_of(body["applicant"]["id_number"]), [number])
        self.assertEqual(self.clerk.history(number)[0]["action"], "register")
        self.assertEqual(len(self.clerk.history(number)), 1)
        r = self.lookup(number, first.json()["lookup_password"])
        self.assertEqual(r.status_code, 200, r.text)
        # Without a key every post is a registration of its own, as before.
        a = self.clerk.send("POST", "cases", registration(self.code, 602))
        b = self.clerk.send("POST", "cases", registration(self.code, 602))
        self.assertEqual((a.status_code, b.status_code), (200, 200))
        self.assertNotEqual(a.json()["case"]["number"], b.json()["case"]["number"])

    def test_the_key_with_another_request_is_refused_and_registers_nothing(self):
        key = str(uuid.uuid4())
        first = self.keyed(self.clerk, registration(self.code, 611), key)
        self.assertEqual(first.status_code, 200, first.text)
        other = registration(self.code, 612)
        r = self.keyed(self.clerk, other, key)
        self.assertEqual(r.status_code, 409, r.text)
        err = r.json()["error"]
        self.assertEqual(err["code"], 5111, err)
        self.assertTrue(is_chinese(err["message"]), err)
        self.assertIn(first.json()["case"]["number"], err["message"])
        self.assertEqual(self.cases_of(other["applicant"]["id_number"]), [])

    def test_keys_are_the_callers_own(self):
        key = str(uuid.uuid4())
        body = registration(self.code, 621)
        mine = self.keyed(self.clerk, body, key)
        theirs = self.keyed(self.clerk2, body, key)
        self.assertEqual((mine.status_code, theirs.status_code), (200, 200), theirs.text)
        self.assertNotIn("replayed", theirs.json())
        self.assertNotEqual(mine.json()["case"]["number"], theirs.json()["case"]["number"])

    def test_a_malformed_key_is_refused(self):
        body = registration(self.code, 631)
        for key in ("", "x" * 65, "bad key"):
            r = self.keyed(self.clerk, body, key)
            self.assertEqual(r.status_code, 400, (key, r.text))
            self.assertTrue(is_chinese(r.json()["error"]["message"]), r.text)
        self.assertEqual(self.cases_of(body["applicant"]["id_number"]), [])

    def test_a_burst_of_one_request_registers_one_case(self):
        body = registration(self.code, 641)
        key = str(uuid.uuid4())
        start = threading.Barrier(8)
        answers = []
        lock = threading.Lock()

        def post():
            start.wait()
            r = self.keyed(self.clerk, body, key)
            with lock:
                answers.append(r)

        threads = [threading.Thread(target=post) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual([r.status_code for r in answers], [200] * 8, [r.text for r in answers])
        numbers = {r.json()["case"]["number"] for r in answers}
        passwords = {r.json()["lookup_password"] for r in answers}
        self.assertEqual(len(numbers), 1, numbers)
        self.assertEqual(len(passwords), 1, passwords)
        self.assertEqual(sum(1 for r in answers if "replayed" not in r.json()), 1)
        self.assertEqual(self.cases_of(body["applicant"]["id_number"]), list(numbers))

    def test_a_key_of_the_window_is_another_request_in_the_hall(self):
        # review16c: the same user, key and body on both routes answered the
        # hall with the window's case as if it were their online application.
        as_applicant = Client(self.server.base_url, self.clerk.b, API, me_path="applicant/me")
        body = registration(self.code, 671)
        key = str(uuid.uuid4())
        window = self.keyed(self.clerk, body, key)
        self.assertEqual(window.status_code, 200, window.text)
        hall = self.keyed(as_applicant, body, key, path="applicant/cases")
        self.assertEqual(hall.status_code, 409, hall.text)
        self.assertEqual(hall.json()["error"]["code"], 5111)

    def test_the_hall_honours_the_key(self):
        applicant = Client(self.server.base_url,
                           browser_login(self.server.base_url, "kappl", PASSWORD), API,
                           me_path="applicant/me")
        body = registration(self.code, 651)
        key = str(uuid.uuid4())
        first = self.keyed(applicant, body, key, path="applicant/cases")
        again = self.keyed(applicant, body, key, path="applicant/cases")
        self.assertEqual((first.status_code, again.status_code), (200, 200), again.text)
        self.assertEqual(first.json()["case"]["number"], again.json()["case"]["number"])
        self.assertEqual(first.json()["lookup_password"], again.json()["lookup_password"])
        listed = applicant.ok("GET", "applicant/cases", size=100)["items"]
        self.assertEqual([c["number"] for c in listed
                          if c["applicant"]["id_number"] == body["applicant"]["id_number"]],
                         [first.json()["case"]["number"]])

    def test_a_retry_after_kill_9_answers_the_committed_case(self):
        body = registration(self.code, 661)
        key = str(uuid.uuid4())
        first = self.keyed(self.clerk, body, key)
        self.assertEqual(first.status_code, 200, first.text)
        self.server.kill()
        self.server.start()
        # A new port and new sessions: every other test logs in again too.
        type(self).clerk = clerk = staff_login(self.server.base_url, "kclerk")
        type(self).clerk2 = staff_login(self.server.base_url, "kclerk2")
        again = self.keyed(clerk, body, key)
        self.assertEqual(again.status_code, 200, again.text)
        self.assertEqual(again.json()["case"]["number"], first.json()["case"]["number"])
        self.assertEqual(again.json()["lookup_password"], first.json()["lookup_password"])


if __name__ == "__main__":
    main()
