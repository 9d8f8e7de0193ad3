"""The outbound policy against the real binary: a server that may not call
loopback (outbound.allow_loopback off, the default) sends no CAS proxy
callback and no directory push to an app registered on 127.0.0.1, says why
where an operator looks, and refuses a config naming a bad network."""
import os
import subprocess
import tempfile
import unittest
import xml.etree.ElementTree as ET

from push_receiver import PushReceiver, wait_for_outbox
from signed_client import SignedClient, create_app, demo_credentials
import test_cas
from test_cas import NS
from tongban_harness import BIN, TongbanServer, main

CasTestBase = test_cas.CasTest.__bases__[0]  # test_cas deletes its own name for it


class RefusedProxyCallbackTest(CasTestBase):
    outbound_loopback = False

    def test_a_pgt_url_on_loopback_is_never_called_and_no_pgt_is_issued(self):
        _, ticket = self.ticket_for(self.service)
        r = self.validate("/serviceValidate", service=self.service, ticket=ticket,
                          pgtUrl=self.host.url + "/casapp/pgtCallback")
        # As for any callback that cannot be verified (CAS 3.0 §2.5.4).
        failure = ET.fromstring(r.content).find("cas:authenticationFailure", NS)
        self.assertIsNotNone(failure, r.text)
        self.assertEqual(failure.get("code"), "INVALID_PROXY_CALLBACK")
        self.assertNotIn("PGTIOU", r.text)
        with self.host.cond:
            self.assertEqual([p for p in self.host.gets if "pgtCallback" in p], [])
        self.assertIn("refused by the outbound policy", self.server.read_log())
        self.assertIn("127.0.0.1 is loopback", self.server.read_log())


class RefusedPushTest(unittest.TestCase):
    def test_a_push_to_loopback_stays_pending_with_the_reason_and_nothing_arrives(self):
        server = TongbanServer(outbound_loopback=False).start()
        self.addCleanup(server.cleanup)
        receiver = PushReceiver(None)
        self.addCleanup(receiver.close)
        create_app(server.data_dir, "loopapp", "--push-url", receiver.url, "--org-scope", "001002")
        demo = SignedClient(server.base_url, *demo_credentials(server))
        r = demo.json("synchronizeOrg", args='{"orgcoding": "001002", "orgname": "回环区"}')
        self.assertEqual(r["result"], "0", r)
        pending = wait_for_outbox(server.data_dir, "pending", "loopapp",
                                  lambda m: m and m[0]["attempts"] >= 1)
        self.assertEqual(len(pending), 1, pending)
        self.assertIn("refused by the outbound policy", pending[0]["last_error"])
        self.assertEqual(receiver.pushes, [])


class BadOutboundConfigTest(unittest.TestCase):
    def test_a_network_that_does_not_parse_stops_the_start(self):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "bad.toml")
            with open(path, "w") as f:
                f.write('[outbound]\nrefuse_networks = ["10.0.0.0/33"]\n')
            proc = subprocess.run([BIN, "serve", "--config", path, "--port", "0",
                                   "--data-dir", os.path.join(d, "var")],
                                  capture_output=True, text=True, timeout=30)
            self.assertNotEqual(proc.returncode, 0)
            self.assertIn("outbound.refuse_networks", proc.stderr + proc.stdout)


if __name__ == "__main__":
    main()
