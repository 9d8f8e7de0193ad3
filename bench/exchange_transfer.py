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


def cpu_s(pid):
    """utime + stime of the process, in seconds (the load-independent figure)."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


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
    parser.add_argument("--sync-each-chunk", action="store_true",
                        help="[exchange] transfer_sync_each_chunk = true (fsync before every ack)")
    parser.add_argument("--both-sync-modes", action="store_true",
                        help="run tongban with each durability mode, in the same run")
    parser.add_argument("--ceiling", action="store_true",
                        help="also curl -T to bench/upload_ceiling.c (receive, chunk SHA-256, "
                        "running SHA-256, pwrite: the least a receiver of our protocol does)")
    parser.add_argument("--sync-first", action="store_true",
                        help="with --both-sync-modes: the fsync-every-chunk run first")
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

        ceiling = None
        if args.ceiling:
            tool = os.path.join(work, "upload_ceiling")
            here = os.path.dirname(os.path.abspath(__file__))
            subprocess.run(["cc", "-O2", "-o", tool, os.path.join(here, "upload_ceiling.c"),
                            "-lcrypto"], check=True)
            proc = subprocess.Popen([tool, received, str(CHUNK)], stdout=subprocess.PIPE,
                                    text=True, start_new_session=True)
            port = int(proc.stdout.readline().split()[1])
            t0 = time.monotonic()
            subprocess.run(["curl", "-sS", "-o", "/dev/null", "-T", src,
                            "http://127.0.0.1:%d/upload" % port], check=True)
            ceiling_s = time.monotonic() - t0
            words = proc.stdout.readline().split()
            proc.wait()
            assert words[3] == digest, "upload_ceiling: wrong digest"
            ceiling = (ceiling_s, float(words[1]))
            os.unlink(received)

        def run_tongban(sync_each_chunk):
            """Uploads through tongban; returns (upload_s, total_s, idle_kb, peak_kb, hwm_kb,
            put_cpu_s, complete_cpu_s)."""
            node = os.path.join(work, "node-%s" % ("sync" if sync_each_chunk else "complete"))
            os.makedirs(node)
            config = os.path.join(work, "tongban-%s.toml" % os.path.basename(node))
            with open(config, "w") as f:
                f.write("[exchange]\ntransfer_sync_each_chunk = %s\n" %
                        ("true" if sync_each_chunk else "false"))
            server = TongbanServer("--config", config, data_dir=node)
            pwd = {c: create_app(server.data_dir, c) for c in ("benchsender", "benchsub")}
            server.start()
            try:
                sampler = Sampler(server.proc.pid)
                sampler.start()
                idle_kb = rss_kb(server.proc.pid)
                client = TransferClient(server.base_url, "benchsender", pwd["benchsender"])
                cpu0 = cpu_s(server.proc.pid)
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
                cpu1 = cpu_s(server.proc.pid)
                r = client.complete(t["id"])
                assert r.status_code == 200, r.text
                total_s = time.monotonic() - t0
                cpu2 = cpu_s(server.proc.pid)
                sampler.stop.set()
                sampler.join()
                hwm_kb = rss_kb(server.proc.pid, "VmHWM")
            finally:
                server.stop()
            shutil.rmtree(node, ignore_errors=True)  # the file's bytes: room for the next run
            return upload_s, total_s, idle_kb, sampler.peak, hwm_kb, cpu1 - cpu0, cpu2 - cpu1

        modes = [False, True] if args.both_sync_modes else [args.sync_each_chunk]
        if args.sync_first:
            modes.reverse()
        results = [(mode, run_tongban(mode)) for mode in modes]
        mbps = lambda s: size / MB / s
        print("file %d MiB, chunks %d MiB, streams %d, encryption %s" %
              (args.size_mb, CHUNK // MB, args.streams, args.encryption or "none"))
        print("curl -T to a plain receiver : %7.1f MiB/s (%.2f s)" % (mbps(curl_s), curl_s))
        if ceiling:
            print("curl -T to upload_ceiling   : %7.1f MiB/s (%.2f s)  ratio %.2f; "
                  "receiver CPU %.2f ms/MiB" % (mbps(ceiling[0]), ceiling[0], curl_s / ceiling[0],
                                                1000 * ceiling[1] / (size / MB)))
        load = open("/proc/loadavg").read().split()[:3]
        print("load average %s" % " ".join(load))
        for mode, (upload_s, total_s, idle_kb, peak_kb, hwm_kb, put_cpu, done_cpu) in results:
            label = "fsync every chunk" if mode else "fsync at complete"
            print("tongban chunk PUTs (%s)          : %7.1f MiB/s (%.2f s)  ratio %.2f" %
                  (label, mbps(upload_s), upload_s, curl_s / upload_s))
            print("tongban PUTs + complete (%s)     : %7.1f MiB/s (%.2f s)  ratio %.2f" %
                  (label, mbps(total_s), total_s, curl_s / total_s))
            print("complete (%s): %.2f s wall; server CPU: PUTs %.2f s (%.2f ms/MiB), "
                  "complete %.2f s" % (label, total_s - upload_s, put_cpu,
                                       1000 * put_cpu / (size / MB), done_cpu))
            print("server RSS (%s): idle %d MB, peak sampled %d MB, VmHWM %d MB" %
                  (label, idle_kb // 1024, peak_kb // 1024, hwm_kb // 1024))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
