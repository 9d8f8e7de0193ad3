"""Starts the real tongban binary for integration tests and stops it again.

Each server gets its own temp data dir and a free port (the server binds port 0
and prints the address it got; we read that line instead of sleeping).
"""
import os
import re
import select
import shutil
import signal
import subprocess
import tempfile
import time
import unittest

BIN = os.environ.get("TONGBAN_BIN") or os.path.join(
    os.path.dirname(__file__), "..", "..", "build", "tongban")
LISTEN_RE = re.compile(r"listening on (http://(?:[0-9.]+|\[[0-9a-f:]+\]):\d+)")


class TongbanServer:
    def __init__(self, *extra_args, data_dir=None, env=None, start_timeout=30,
                 admin_second_factor=False, outbound_loopback=True):
        self.owns_dir = data_dir is None
        self.data_dir = data_dir or tempfile.mkdtemp(prefix="tongban-it-")
        # Administrators must log in with a second factor (mfa.admin_required).
        # Tests of other features log the seeded admin in with its password
        # alone; the second-factor tests (test_sso_mfa*.py) pass
        # admin_second_factor=True and enrol it as a real admin would.
        policy = [] if admin_second_factor else ["--admin-second-factor", "optional"]
        # The tests' receivers (push, callbacks, units) listen on loopback,
        # which the server refuses to call by default (outbound.allow_loopback);
        # test_outbound_policy.py passes outbound_loopback=False.
        if outbound_loopback:
            policy.append("--allow-outbound-loopback")
        self.args = [BIN, "serve", "--bind", "127.0.0.1", "--port", "0",
                     "--data-dir", self.data_dir, "--threads", "2", *policy, *extra_args]
        self.env = dict(os.environ, **(env or {}))
        self.start_timeout = start_timeout
        self.proc = None
        self.base_url = None
        self.stdout_lines = []

    def start(self):
        self.log = open(os.path.join(self.data_dir, "server.log"), "ab")
        self.proc = subprocess.Popen(self.args, stdout=subprocess.PIPE, stderr=self.log,
                                     env=self.env)
        deadline = time.monotonic() + self.start_timeout
        buf = b""
        while time.monotonic() < deadline:
            ready, _, _ = select.select([self.proc.stdout], [], [], 0.5)
            if ready:
                chunk = os.read(self.proc.stdout.fileno(), 4096)
                if not chunk:
                    break
                buf += chunk
                m = LISTEN_RE.search(buf.decode("utf-8", "replace"))
                if m:
                    self.base_url = m.group(1)
                    self.stdout_lines = buf.decode("utf-8", "replace").splitlines()
                    return self
            elif self.proc.poll() is not None:
                break
        self.kill()
        raise RuntimeError("tongban did not start: stdout=%r log=%s" % (buf, self.read_log()))

    def read_log(self):
        with open(os.path.join(self.data_dir, "server.log"), "rb") as f:
            return f.read().decode("utf-8", "replace")

    def url(self, path):
        return self.base_url + path

    def stop(self, timeout=20):
        """SIGTERM, then wait; returns the exit code."""
        if self.proc is None:
            return None
        self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout=timeout)
        finally:
            self.proc.stdout.close()
            self.log.close()
        self.proc = None
        return code

    def kill(self):
        """SIGKILL: the crash case. Returns once the process is gone."""
        if self.proc is None:
            return
        self.proc.kill()
        self.proc.wait()
        self.proc.stdout.close()
        self.log.close()
        self.proc = None

    def cleanup(self):
        if self.proc is not None:
            self.kill()
        if self.owns_dir:
            shutil.rmtree(self.data_dir, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.cleanup()


def run_admin(data_dir, *args, check=True):
    """Runs `tongban admin ...` against the data dir; returns CompletedProcess."""
    proc = subprocess.run([BIN, "admin", "--data-dir", data_dir, *args],
                          capture_output=True, text=True, timeout=120)
    if check and proc.returncode != 0:
        raise AssertionError("tongban admin %s failed (%d): %s" %
                             (" ".join(args), proc.returncode, proc.stderr))
    return proc


def main():
    unittest.main(verbosity=2)
