"""Private PostgreSQL, MariaDB and Redis servers for integration tests, the Python
twin of tests/unit/store_test_support.h: each runs on a free loopback port in
its own temp dir, is ready when a real connection answers (polled with a
bounded deadline), and is stopped and removed on exit.

    with PrivatePostgres() as pg, PrivateRedis() as redis:
        url = pg.new_database_url()   # postgresql://tongban@127.0.0.1:PORT/t1
        tickets = redis.url           # redis://127.0.0.1:PORT

`missing_binaries()` says why a test must be skipped (None when all is there).
"""
import ctypes
import fcntl
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time

PG_BIN_DIR = "/usr/lib/postgresql/15/bin"
INITDB = os.path.join(PG_BIN_DIR, "initdb")
PG_CTL = os.path.join(PG_BIN_DIR, "pg_ctl")
POSTGRES = os.path.join(PG_BIN_DIR, "postgres")
PSQL = os.path.join(PG_BIN_DIR, "psql")
REDIS_SERVER = "/usr/bin/redis-server"
MARIADB_INSTALL_DB = "/usr/bin/mariadb-install-db"
MARIADBD = "/usr/sbin/mariadbd"
MARIADB = "/usr/bin/mariadb"


_PR_SET_PDEATHSIG = 1
_libc = ctypes.CDLL(None, use_errno=True)


def die_with_parent():
    """In the child before exec: SIGKILL when the test process dies, so a
    crashed test leaks no server. Must follow setuid, which clears it."""
    _libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


def missing_binaries():
    """A skip reason naming the first missing binary, or None."""
    for path in (INITDB, PG_CTL, POSTGRES, PSQL, REDIS_SERVER):
        if not os.access(path, os.X_OK):
            return "%s is not installed" % path
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return "running as root and there is no 'postgres' user to run PostgreSQL as"
    return None


def free_loopback_port():
    """A port that was free a moment ago; callers retry if binding fails."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(ready, proc, deadline_s):
    """Polls `ready` until it is true, `proc` exits, or the deadline passes.
    Readiness polling, not a sleep: we go on the moment the server answers."""
    until = time.monotonic() + deadline_s
    while time.monotonic() < until:
        if ready():
            return True
        if proc.poll() is not None:
            return False
        time.sleep(0.02)
    return False


def tail(path, limit=2000):
    try:
        with open(path, "rb") as f:
            return f.read()[-limit:].decode("utf-8", "replace")
    except OSError:
        return ""


def redis_ping(port, timeout=1.0):
    """True when a Redis server answers PING on the port (any reply will do)."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
            s.sendall(b"*1\r\n$4\r\nPING\r\n")
            return s.recv(64).startswith((b"+PONG", b"-"))
    except OSError:
        return False


class PrivateRedis:
    """redis-server without persistence on a free loopback port."""

    def __init__(self, extra_args=()):
        self.extra_args = list(extra_args)
        self.dir = None
        self.proc = None
        self.port = None

    @property
    def url(self):
        return "redis://127.0.0.1:%d" % self.port

    def start(self):
        self.dir = tempfile.mkdtemp(prefix="tongban-redis-")
        for _ in range(3):
            self.port = free_loopback_port()
            if self._launch():
                return self
        why = tail(os.path.join(self.dir, "redis.log"))
        self.close()
        raise RuntimeError("redis-server did not become ready: " + why)

    def restart(self):
        """Starts a stopped server again on the same port (empty: nothing is saved)."""
        if not self._launch():
            raise RuntimeError("redis-server did not come back on port %d: %s" %
                               (self.port, tail(os.path.join(self.dir, "redis.log"))))
        return self

    def _launch(self):
        with open(os.path.join(self.dir, "redis.log"), "ab") as log:
            self.proc = subprocess.Popen(
                [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                 "--appendonly", "no", "--dir", self.dir, *self.extra_args],
                stdout=log, stderr=log, stdin=subprocess.DEVNULL, preexec_fn=die_with_parent)
        if wait_until(lambda: redis_ping(self.port), self.proc, 10):
            return True
        self._terminate()
        return False

    def ping(self):
        return redis_ping(self.port)

    def stop(self):
        """Stops the server (SIGTERM, reaped); the temp dir stays until close()."""
        self._terminate()

    def _terminate(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def close(self):
        self._terminate()
        if self.dir is not None:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.close()


class PrivatePostgres:
    """A PostgreSQL 15 cluster (trust auth, user "tongban", fsync off) on a
    free loopback port. As root the server runs as the "postgres" user, since
    PostgreSQL refuses to run as root. The initdb'd cluster is a per-user
    template in $TMPDIR shared with the C++ tests (same path and lock), copied
    for each server, because initdb takes seconds."""

    def __init__(self, settings=()):
        self.dir = None
        self.data = None
        self.port = None
        self.proc = None
        self.next_db = 1
        self.settings = list(settings)  # extra "name=value" server settings (benches)
        self.user = None
        if os.geteuid() == 0:
            self.user = pwd.getpwnam("postgres")

    def _as_user(self):
        if self.user is None:
            return die_with_parent
        uid, gid = self.user.pw_uid, self.user.pw_gid

        def demote():
            os.setgroups([])
            os.setgid(gid)
            os.setuid(uid)
            die_with_parent()
        return demote

    def _template(self):
        base = os.environ.get("TMPDIR") or "/tmp"
        path = os.path.join(base, "tongban-pg15-template-%d" % os.geteuid())
        with open(path + ".lock", "a+") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if not os.path.exists(os.path.join(path, "global", "pg_control")):
                work = path + ".building"
                shutil.rmtree(work, ignore_errors=True)
                shutil.rmtree(path, ignore_errors=True)
                os.mkdir(work, 0o700)
                if self.user is not None:
                    os.chown(work, self.user.pw_uid, self.user.pw_gid)
                with open(path + ".log", "ab") as log:
                    rc = subprocess.run(
                        [INITDB, "-D", work, "-U", "tongban", "-A", "trust", "-E", "UTF8",
                         "--locale=C", "--no-sync", "--no-instructions", "--wal-segsize=1"],
                        stdout=log, stderr=log, stdin=subprocess.DEVNULL,
                        preexec_fn=self._as_user(), timeout=120).returncode
                if rc != 0:
                    shutil.rmtree(work, ignore_errors=True)
                    raise RuntimeError("initdb failed: " + tail(path + ".log"))
                os.rename(work, path)
        return path

    def start(self):
        self.dir = tempfile.mkdtemp(prefix="tongban-pg-")
        os.chmod(self.dir, 0o755)
        self.data = os.path.join(self.dir, "data")
        try:
            # cp -a keeps the postgres ownership and the 0700 mode PostgreSQL insists on.
            subprocess.run(["/bin/cp", "-a", self._template(), self.data], check=True,
                           timeout=60)
            log_path = os.path.join(self.dir, "postgres.log")
            for _ in range(3):
                self.port = free_loopback_port()
                with open(log_path, "ab") as log:
                    if self.user is not None:
                        os.chown(log_path, self.user.pw_uid, self.user.pw_gid)
                    self.proc = subprocess.Popen(
                        [POSTGRES, "-D", self.data, "-p", str(self.port), "-k", self.data,
                         "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off",
                         "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
                         "-c", "max_connections=60",
                         *[a for kv in self.settings for a in ("-c", kv)]],
                        stdout=log, stderr=log, stdin=subprocess.DEVNULL,
                        preexec_fn=self._as_user())
                if wait_until(lambda: self._psql_ok("postgres", "SELECT 1"), self.proc, 30):
                    return self
                self._terminate()
            raise RuntimeError("postgres did not become ready: " + tail(log_path))
        except BaseException:
            self.close()
            raise

    def _psql(self, db, sql, timeout=10):
        return subprocess.run(
            [PSQL, "-X", "-q", "-t", "-A", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1",
             "-p", str(self.port), "-U", "tongban", "-d", db, "-c", sql],
            capture_output=True, text=True, timeout=timeout,
            env=dict(os.environ, PGCONNECT_TIMEOUT="2"))

    def _psql_ok(self, db, sql):
        try:
            return self._psql(db, sql).returncode == 0
        except subprocess.TimeoutExpired:
            return False

    def query(self, db, sql):
        """Runs SQL in database `db`; returns psql's unaligned output, raises on error."""
        r = self._psql(db, sql, timeout=30)
        if r.returncode != 0:
            raise RuntimeError("psql failed: " + r.stderr)
        return r.stdout.strip()

    def url(self, db):
        return "postgresql://tongban@127.0.0.1:%d/%s" % (self.port, db)

    def new_database_url(self):
        """Creates an empty database with a name unique to this server; returns its url."""
        name = "t%d" % self.next_db
        self.next_db += 1
        self.query("postgres", "CREATE DATABASE " + name)
        return self.url(name)

    def _terminate(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)  # "fast" shutdown
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def close(self):
        self._terminate()
        if self.dir is not None:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.close()


def missing_mariadb():
    """Why the MariaDB tests cannot run (None when all is there). CI installs
    mariadb-server (scripts/install-deps.sh), so callers fail rather than skip."""
    for path in (MARIADB_INSTALL_DB, MARIADBD, MARIADB):
        if not os.access(path, os.X_OK):
            return "%s is not installed (scripts/install-deps.sh installs it)" % path
    return None


class PrivateMariadb:
    """A MariaDB server (grant tables skipped: any user connects, as root may;
    InnoDB flushing relaxed for speed) on a free loopback port. Its datadir is
    copied from a per-user template shared with the C++ tests (same path and
    lock), because mariadb-install-db takes seconds. Same interface as
    PrivatePostgres, plus stop() / restart() on the same port for outage tests."""

    def __init__(self):
        self.dir = None
        self.data = None
        self.port = None
        self.proc = None
        self.next_db = 1
        self.log_path = None

    @staticmethod
    def _root_args():
        return ["--user=root"] if os.geteuid() == 0 else []

    def _template(self):
        base = os.environ.get("TMPDIR") or "/tmp"
        path = os.path.join(base, "tongban-mariadb-template-%d" % os.geteuid())
        with open(path + ".lock", "a+") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if not os.path.exists(os.path.join(path, "mysql")):
                work = path + ".building"
                shutil.rmtree(work, ignore_errors=True)
                shutil.rmtree(path, ignore_errors=True)
                with open(path + ".log", "ab") as log:
                    rc = subprocess.run(
                        [MARIADB_INSTALL_DB, "--no-defaults", "--datadir=" + work,
                         "--skip-test-db", "--auth-root-authentication-method=normal",
                         "--innodb-log-file-size=8M"] + self._root_args(),
                        stdout=log, stderr=log, stdin=subprocess.DEVNULL,
                        preexec_fn=die_with_parent, timeout=180).returncode
                if rc != 0:
                    shutil.rmtree(work, ignore_errors=True)
                    raise RuntimeError("mariadb-install-db failed: " + tail(path + ".log"))
                os.rename(work, path)
        return path

    def _launch(self):
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                [MARIADBD, "--no-defaults", "--datadir=" + self.data,
                 "--port=%d" % self.port, "--bind-address=127.0.0.1",
                 "--socket=" + os.path.join(self.dir, "mariadb.sock"),
                 "--pid-file=" + os.path.join(self.dir, "mariadb.pid"),
                 "--skip-grant-tables", "--skip-name-resolve",
                 "--innodb-buffer-pool-size=64M", "--innodb-log-file-size=8M",
                 "--innodb-flush-log-at-trx-commit=2", "--innodb-doublewrite=0",
                 "--loose-innodb-use-native-aio=0", "--max-connections=200",
                 "--character-set-server=utf8mb4", "--collation-server=utf8mb4_bin"]
                + self._root_args(),
                stdout=log, stderr=log, stdin=subprocess.DEVNULL, preexec_fn=die_with_parent)
        return wait_until(lambda: self._client_ok("SELECT 1"), self.proc, 60)

    def start(self):
        reason = missing_mariadb()
        if reason:
            raise RuntimeError(reason)
        self.dir = tempfile.mkdtemp(prefix="tongban-mariadb-")
        self.data = os.path.join(self.dir, "data")
        self.log_path = os.path.join(self.dir, "mariadb.log")
        try:
            subprocess.run(["/bin/cp", "-a", self._template(), self.data], check=True,
                           timeout=60)
            for _ in range(3):
                self.port = free_loopback_port()
                if self._launch():
                    return self
                self._terminate()
            raise RuntimeError("mariadbd did not become ready: " + tail(self.log_path))
        except BaseException:
            self.close()
            raise

    def stop(self):
        self._terminate()

    def restart(self):
        """Starts the stopped server again on the same port and datadir."""
        if not self._launch():
            raise RuntimeError("mariadbd did not restart: " + tail(self.log_path))
        return self

    def _client(self, sql, db="", timeout=10):
        args = [MARIADB, "--no-defaults", "-h", "127.0.0.1", "-P", str(self.port), "-u", "root",
                "--connect-timeout=2", "-N", "-B", "-e", sql]
        if db:
            args.append(db)
        return subprocess.run(args, capture_output=True, text=True, timeout=timeout)

    def _client_ok(self, sql):
        try:
            return self._client(sql).returncode == 0
        except subprocess.TimeoutExpired:
            return False

    def query(self, db, sql):
        """Runs SQL in database `db`; returns the client's tab-separated output, raises on error."""
        r = self._client(sql, db, timeout=30)
        if r.returncode != 0:
            raise RuntimeError("mariadb failed: " + r.stderr)
        return r.stdout.strip()

    def url(self, db):
        return "mysql://root@127.0.0.1:%d/%s" % (self.port, db)

    def new_database_url(self):
        """Creates an empty utf8mb4 database with a name unique to this server; returns its url."""
        name = "t%d" % self.next_db
        self.next_db += 1
        self.query("", "CREATE DATABASE %s CHARACTER SET utf8mb4 COLLATE utf8mb4_bin" % name)
        return self.url(name)

    def _terminate(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def close(self):
        self._terminate()
        if self.dir is not None:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.close()
