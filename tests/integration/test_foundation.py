"""The real binary serves /healthz and /metrics, refuses bad input clearly,
and shuts down cleanly on SIGTERM."""
import socket
import unittest

import requests

from tongban_harness import TongbanServer, main


class FoundationTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = TongbanServer().start()

    @classmethod
    def tearDownClass(cls):
        code = cls.server.stop()
        cls.server.cleanup()
        assert code == 0, "server exited with %r on SIGTERM" % code

    def test_livez_answers_a_fixed_body(self):
        r = requests.get(self.server.url("/livez"), timeout=5)
        self.assertEqual(r.status_code, 200)
        self.assertEqual(r.json(), {"status": "ok"})

    def test_healthz_answers_ok(self):
        r = requests.get(self.server.url("/healthz"), timeout=5)
        self.assertEqual(r.status_code, 200)
        self.assertEqual(r.json()["status"], "ok")

    def test_metrics_count_requests_by_route(self):
        requests.get(self.server.url("/healthz"), timeout=5)
        r = requests.get(self.server.url("/metrics"), timeout=5)
        self.assertEqual(r.status_code, 200)
        self.assertIn("text/plain", r.headers["Content-Type"])
        self.assertRegex(r.text, r'tongban_http_requests_total\{[^}]*route="/healthz"[^}]*\} [1-9]')
        self.assertIn("tongban_http_request_duration_seconds_bucket", r.text)

    def test_unknown_route_is_404_with_a_body(self):
        r = requests.get(self.server.url("/no/such/thing"), timeout=5)
        self.assertEqual(r.status_code, 404)
        self.assertTrue(r.text)

    def test_oversized_body_is_413(self):
        r = requests.post(self.server.url("/healthz"), data=b"x" * (2 * 1024 * 1024), timeout=10)
        self.assertEqual(r.status_code, 413)
        self.assertTrue(r.text)

    def test_malformed_request_line_is_400(self):
        host, port = self.server.base_url[len("http://"):].split(":")
        with socket.create_connection((host, int(port)), timeout=5) as s:
            s.sendall(b"THIS IS NOT HTTP\r\n\r\n")
            reply = s.recv(4096)
        self.assertTrue(reply.startswith(b"HTTP/1.1 400"), reply)

    def test_keep_alive_serves_several_requests_on_one_connection(self):
        with requests.Session() as s:
            for _ in range(3):
                self.assertEqual(s.get(self.server.url("/healthz"), timeout=5).status_code, 200)

    def test_server_still_serves_after_bad_input(self):
        self.test_malformed_request_line_is_400()
        self.test_healthz_answers_ok()


if __name__ == "__main__":
    main()
