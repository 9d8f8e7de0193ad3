"""The public notice-by-number lookup is throttled per client address (notice
numbers may be sequential): after [payment] lookup_failures unknown numbers
an address is refused (429, in Chinese) even for a real number, on the view
and the receipt (the pay call looks numbers up the same way), while other
addresses go on."""
import os
import tempfile
import unittest

import requests

from tongban_harness import TongbanServer, main

API = "/payment/api/"
DEMO_NOTICE = "330001296DEMO0001"


class LookupThrottle(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        f = tempfile.NamedTemporaryFile("w", suffix=".toml", delete=False)
        f.write('[server]\ntrusted_proxies = ["127.0.0.1"]\n'
                '[payment]\nlookup_failures = 3\nlookup_lockout_s = 600\n')
        f.close()
        cls.config = f.name
        cls.server = TongbanServer("--config", cls.config).start()

    @classmethod
    def tearDownClass(cls):
        cls.server.cleanup()
        os.unlink(cls.config)

    def get(self, ip, path):
        return requests.get(self.server.url(API + path), headers={"X-Forwarded-For": ip},
                            timeout=10)

    def test_unknown_numbers_lock_the_address_out(self):
        guesser, payer = "198.51.100.10", "198.51.100.11"
        self.assertEqual(self.get(guesser, "public/notices/" + DEMO_NOTICE).status_code, 200)
        for i in range(3):
            r = self.get(guesser, "public/notices/330001296GUESS%04d" % i)
            self.assertEqual(r.status_code, 404, r.text)
        for path in ("public/notices/" + DEMO_NOTICE,
                     "public/notices/%s/receipt.pdf" % DEMO_NOTICE):
            r = self.get(guesser, path)
            self.assertEqual(r.status_code, 429, r.text)
            self.assertIn("分钟后再试", r.json()["error"]["message"])
        r = requests.post(self.server.url(API + "public/notices/%s/pay" % DEMO_NOTICE), json={},
                          headers={"X-Forwarded-For": guesser}, timeout=10)
        # No channel is configured here: 503 comes before the lookup.
        self.assertEqual(r.status_code, 503, r.text)
        # Another address is not affected.
        r = self.get(payer, "public/notices/" + DEMO_NOTICE)
        self.assertEqual(r.status_code, 200, r.text)
        self.assertEqual(r.json()["notice_no"], DEMO_NOTICE)


if __name__ == "__main__":
    main()
