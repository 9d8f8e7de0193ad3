#!/usr/bin/env python3
"""Big-file transfer bench (issue 16): uploads one file through tongban's
transfer API (signed 8 MiB chunk PUTs, then complete: whole-file digest
verified, delivered to a subscriber's inbox) and, in the same run, the same
file with `curl -T` to a plain HTTP receiver that only writes it to disk; prints
both rates, their ratio, and the server's peak RSS sampled every 50 ms.

usage: exchange_transfer.py BUILD_DIR [SIZE_MB] [--streams N]
"""
import argparse
import hashlib
import http.server
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))

MB = 1024 * 1024


def rss_kb(pid, field="VmRSS"):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


class Sampler(threading.Thread):
    def __init__(self, pid):
        super().__init__(daemon=True)
        self.pid, self.peak, self.stop = pid, 0, threading.Event()

    def run(self):
        while not self.stop.is_set():
            self.peak = max(self.peak, rss_kb(self.pid))
            self.stop.wait(0.05)


def plain_receiver(path):
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_PUT(self):
            left = int(self.headers["Content-Length"])
            with open(path, "wb") as f:
                while left:
                    block = self.rfile.read(min(left, MB))
                    if not block:
                        break
                    f.write(block)
                    left -= len(block)
            self.send_response(201)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("build")
    parser.add_argument("size_mb", nargs="?", type=int, default=1024)
    parser.add_argument("--streams", type=int, default=1, help="concurrent chunk uploads")
    parser.add_argument("--encryption", default="")
    args = parser.parse_args()
    os.environ["TONGBAN_BIN"] = os.path.join(args.build, "tongban")
    from signed_client import create_app
    from tongban_harness import TongbanServer
    from transfer_client import CHUNK, TransferClient

    work = tempfile.mkdtemp(prefix="tb-xfer-bench-")
    try:
        src = os.path.join(work, "file.bin")
        size = args.size_mb * MB
        digest = hashlib.sha256()
        with open(src, "wb") as f, open("/dev/urandom", "rb") as rnd:
            block = rnd.read(16 * MB)
            for i in range(0, size, len(block)):
                piece = block[: min(len(block), size - i)]
                piece = i.to_bytes(8, "little") + piece[8:]  # no two blocks alike
                digest.update(piece)
                f.write(piece)
        digest = digest.hexdigest()
        # Both sides start with the file in the page cache.
        subprocess.run(["cat", src], stdout=subprocess.DEVNULL, check=True)

        received = os.path.join(work, "plain.bin")
        receiver = plain_receiver(received)
        t0 = time.monotonic()
        subprocess.run(["curl", "-sS", "-o", "/dev/null", "-T", src,
                        "http://127.0.0.1:%d/upload" % receiver.server_address[1]], check=True)
        curl_s = time.monotonic() - t0
        receiver.shutdown()
        assert os.path.getsize(received) == size
        os.unlink(received)

        server = TongbanServer(data_dir=os.path.join(work, "node"))
        os.makedirs(server.data_dir)
        pwd = {c: create_app(server.data_dir, c) for c in ("benchsender", "benchsub")}
        server.start()
        try:
            sampler = Sampler(server.proc.pid)
            sampler.start()
            idle_kb = rss_kb(server.proc.pid)
            client = TransferClient(server.base_url, "benchsender", pwd["benchsender"])
            t0 = time.monotonic()
            t = client.start(name="file.bin", size=size, chunk_size=CHUNK, digest=digest,
                             subscribers=["benchsub"], encryption=args.encryption)
            offsets = list(range(0, size, CHUNK))

            def upload(part):
                c = TransferClient(server.base_url, "benchsender", pwd["benchsender"])
                with open(src, "rb") as f:
                    for off in part:
                        f.seek(off)
                        r = c.put_chunk(t["id"], off, f.read(CHUNK))
                        assert r.status_code == 200, r.text

            threads = [threading.Thread(target=upload, args=(offsets[i::args.streams],))
                       for i in range(args.streams)]
            for th in threads:
                th.start()
            for th in threads:
                th.join()
            upload_s = time.monotonic() - t0
            r = client.complete(t["id"])
            assert r.status_code == 200, r.text
            total_s = time.monotonic() - t0
            sampler.stop.set()
            sampler.join()
            hwm_kb = rss_kb(server.proc.pid, "VmHWM")
        finally:
            server.stop()
        mbps = lambda s: size / MB / s
        print("file %d MiB, chunks %d MiB, streams %d, encryption %s" %
              (args.size_mb, CHUNK // MB, args.streams, args.encryption or "none"))
        print("curl -T to a plain receiver : %7.1f MiB/s (%.2f s)" % (mbps(curl_s), curl_s))
        print("tongban chunk PUTs          : %7.1f MiB/s (%.2f s)  ratio %.2f" %
              (mbps(upload_s), upload_s, curl_s / upload_s))
        print("tongban PUTs + complete     : %7.1f MiB/s (%.2f s)  ratio %.2f" %
              (mbps(total_s), total_s, curl_s / total_s))
        print("server RSS: idle %d MB, peak sampled %d MB, VmHWM %d MB" %
              (idle_kb // 1024, sampler.peak // 1024, hwm_kb // 1024))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
