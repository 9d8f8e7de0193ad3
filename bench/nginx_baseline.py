#!/usr/bin/env python3
"""The nginx fixed-body baseline that issue 19 states its ratios against: a
private nginx (one worker, no access log, keep-alive) answering every GET
with 200 and the 15-byte JSON body tongban's GET /livez answers. The benches
measure it with the same wrk command just before each row, beside /livez.

As a program (bench/tickets.sh, bench/run.sh):
    bench/nginx_baseline.py DIR      prints "port N" then becomes nginx
                                     (daemon off: the caller's pid is nginx's
                                     master; taskset before it pins nginx)
As a module (bench/directory_scale.py): start(dir, pin) -> (proc, url).

nginx-light is installed on demand (apt-get) when /usr/sbin/nginx is
missing, with a temporary /usr/sbin/policy-rc.d that exits 101 so that
Debian does not start its nginx service (port 80 may be apache2's); the
file is removed after. It is not in scripts/install-deps.sh: CI does not
need it. NGINX_BASELINE=0 turns the baseline off (the rows then print "-").
"""
import os
import signal
import socket
import subprocess
import sys
import time

NGINX = "/usr/sbin/nginx"
# The body and type of tongban's GET /livez (src/app/routes.cc).
BODY = '{"status":"ok"}'
POLICY_RC = "/usr/sbin/policy-rc.d"


def enabled():
    return os.environ.get("NGINX_BASELINE", "1") != "0"


def ensure_nginx():
    """The nginx binary's path, installing nginx-light when it is missing."""
    if os.path.exists(NGINX):
        return NGINX
    # Debian starts a service it installs unless policy-rc.d says no (101);
    # a policy-rc.d already there (a container's) is left alone.
    made_policy = not os.path.exists(POLICY_RC)
    # A bench stopped during the install still removes the policy file.
    old_term = signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    if made_policy:
        with open(POLICY_RC, "w") as f:
            f.write("#!/bin/sh\nexit 101\n")
        os.chmod(POLICY_RC, 0o755)
    try:
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        r = subprocess.run(["apt-get", "install", "-y", "--no-install-recommends", "nginx-light"],
                           env=env, capture_output=True, text=True)
        if r.returncode != 0:
            # The package lists may be missing (a fresh container): once more after an update.
            subprocess.run(["apt-get", "update"], env=env, capture_output=True)
            r = subprocess.run(["apt-get", "install", "-y", "--no-install-recommends",
                                "nginx-light"], env=env, capture_output=True, text=True)
    finally:
        if made_policy:
            os.remove(POLICY_RC)
        signal.signal(signal.SIGTERM, old_term)
    if not os.path.exists(NGINX):
        raise SystemExit("nginx baseline: installing nginx-light failed:\n" + r.stdout[-1500:] +
                         r.stderr[-1500:])
    return NGINX


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def write_config(directory, port):
    """nginx.conf in DIRECTORY: every path nginx writes is inside it."""
    os.makedirs(directory, exist_ok=True)
    conf = os.path.join(directory, "nginx.conf")
    d = os.path.abspath(directory)
    with open(conf, "w") as f:
        f.write("""daemon off;
worker_processes 1;
pid %(d)s/nginx.pid;
error_log %(d)s/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  server_tokens off;
  client_body_temp_path %(d)s/body;
  proxy_temp_path %(d)s/proxy;
  fastcgi_temp_path %(d)s/fastcgi;
  uwsgi_temp_path %(d)s/uwsgi;
  scgi_temp_path %(d)s/scgi;
  # wrk's connections stay open for the whole run, as they do against tongban
  # (nginx would otherwise close one after 1000 requests).
  keepalive_requests 1000000000;
  keepalive_timeout 300s;
  server {
    listen 127.0.0.1:%(port)d;
    location / {
      default_type "application/json";
      return 200 '%(body)s';
    }
  }
}
""" % {"d": d, "port": port, "body": BODY})
    return conf


def wait_listening(port, proc, seconds=10):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if proc is not None and proc.poll() is not None:
            return False
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return True
        except OSError:
            time.sleep(0.05)
    return False


def start(directory, pin=None):
    """A running nginx (Popen) and its URL; pin: a CPU list for taskset."""
    nginx = ensure_nginx()
    port = free_port()
    conf = write_config(directory, port)
    cmd = [nginx, "-p", os.path.abspath(directory), "-c", conf]
    if pin is not None:
        cmd = ["taskset", "-c", str(pin)] + cmd
    err = open(os.path.join(directory, "stderr.log"), "w")
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err)
    if not wait_listening(port, proc):
        proc.kill()
        raise SystemExit("nginx baseline did not start: " +
                         open(os.path.join(directory, "error.log")).read()[-1500:])
    return proc, "http://127.0.0.1:%d" % port


def main():
    if len(sys.argv) != 2:
        raise SystemExit("usage: nginx_baseline.py DIR")
    directory = sys.argv[1]
    nginx = ensure_nginx()
    port = free_port()
    conf = write_config(directory, port)
    print("port %d" % port, flush=True)
    os.execv(nginx, [nginx, "-p", os.path.abspath(directory), "-c", conf])


if __name__ == "__main__":
    main()
