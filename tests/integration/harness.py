"""Integration-test harness: real PostgreSQL 15, real Redis 7 and the real
dispatchd, each started privately for one test module (so tests may stop
and restart them), spoken to over real sockets. Standard library only.

A module defines test_* functions taking a `World`; `run(globals())` runs
them in order, prints one line per test and exits non-zero on failure.
Set DISPATCH_KEEP=1 to keep the temporary folders for inspection."""
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback

SOURCE_DIR = os.environ.get("DISPATCH_SOURCE_DIR",
                            os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
BUILD_DIR = os.environ.get("DISPATCH_BUILD_DIR", os.path.join(SOURCE_DIR, "build"))
PG_BIN = os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin")
PG_OS_USER = os.environ.get("DISPATCH_PG_OS_USER", "postgres")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(fn, timeout=15.0, interval=0.05, what="condition"):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = fn()
            if last:
                return last
        except (OSError, http.client.HTTPException) as e:
            last = e
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last: {last!r})")


def as_pg_user(argv):
    if os.geteuid() == 0:
        return ["runuser", "-u", PG_OS_USER, "--"] + argv
    return argv


def pg_can_reach(path):
    """Whether the PostgreSQL OS user can enter path (a checkout under a
    private home, such as /root, cannot host its cluster)."""
    if os.geteuid() != 0:
        return True
    return subprocess.run(as_pg_user(["test", "-x", path]), cwd="/").returncode == 0


class Postgres:
    """A throwaway cluster in its own folder, run as the postgres OS user."""

    def __init__(self, root):
        if pg_can_reach(root):
            self.dir = os.path.join(root, "pg")
            os.makedirs(self.dir)
        else:
            self.dir = tempfile.mkdtemp(prefix="dispatchd-test-pg-", dir="/var/tmp")
        self.owns_dir = not self.dir.startswith(root)
        if os.geteuid() == 0:
            if not self.owns_dir:
                shutil.chown(root, PG_OS_USER)
            shutil.chown(self.dir, PG_OS_USER)
        self.port = free_port()
        subprocess.run(as_pg_user([f"{PG_BIN}/initdb", "-D", self.dir + "/data", "-U", "postgres",
                                   "-A", "trust", "-E", "UTF8", "--no-sync"]),
                       check=True, stdout=subprocess.DEVNULL, cwd="/")
        self.start()
        self.psql("postgres", "CREATE ROLE dispatchd LOGIN CREATEDB")
        # As scripts/up.sh does: PostGIS in template1, so every database has it.
        self.psql("template1", "CREATE EXTENSION IF NOT EXISTS postgis")
        self.psql("postgres", "CREATE DATABASE dispatchd OWNER dispatchd")
        self.dsn = f"host=127.0.0.1 port={self.port} dbname=dispatchd user=dispatchd"

    def start(self):
        subprocess.run(as_pg_user([f"{PG_BIN}/pg_ctl", "-D", self.dir + "/data", "-l",
                                   self.dir + "/log", "-w", "-t", "60", "-o",
                                   f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 "
                                   "-c fsync=off -c max_connections=100", "start"]),
                       check=True, stdout=subprocess.DEVNULL, cwd="/")

    def stop(self, mode="fast"):
        subprocess.run(as_pg_user([f"{PG_BIN}/pg_ctl", "-D", self.dir + "/data", "-m", mode,
                                   "-w", "stop"]), check=True, stdout=subprocess.DEVNULL, cwd="/")

    def psql(self, db, sql, user="postgres"):
        out = subprocess.run(["psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h",
                              "127.0.0.1", "-p", str(self.port), "-U", user, "-d", db, "-c", sql],
                             check=True, capture_output=True, text=True)
        return out.stdout.strip()

    def hold_lock(self, table, db="dispatchd"):
        """Take an ACCESS EXCLUSIVE lock on table from another session, so that
        the daemon's queries on it wait; returns the session: pass it to release()."""
        sess = self.session(db)
        sess.stdin.write(f"BEGIN; LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE;\n")
        sess.stdin.flush()
        wait_until(lambda: self.psql(db, "SELECT count(*) FROM pg_locks WHERE granted AND "
                                         f"mode = 'AccessExclusiveLock' AND relation = '{table}'::regclass")
                   == "1", what=f"the lock on {table}")
        return sess

    @staticmethod
    def release(sess):
        sess.stdin.write("COMMIT;\n")
        sess.stdin.close()
        sess.wait(timeout=10)

    def session(self, db="dispatchd"):
        """An interactive psql whose stdin the test writes to (to hold locks)."""
        return subprocess.Popen(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1",
                                 "-p", str(self.port), "-U", "postgres", "-d", db],
                                stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)


class Redis:
    def __init__(self, root):
        self.dir = os.path.join(root, "redis")
        os.makedirs(self.dir)
        self.port = free_port()
        self.start()

    def start(self):
        subprocess.run(["redis-server", "--bind", "127.0.0.1", "--port", str(self.port),
                        "--daemonize", "yes", "--dir", self.dir, "--pidfile",
                        self.dir + "/redis.pid", "--logfile", self.dir + "/redis.log",
                        "--save", "", "--appendonly", "no"], check=True)
        wait_until(lambda: self.cli("PING") == "PONG", what="redis to answer PING")

    def cli(self, *args):
        out = subprocess.run(["redis-cli", "-h", "127.0.0.1", "-p", str(self.port)] + list(args),
                             capture_output=True, text=True)
        return out.stdout.strip()

    def stop(self):
        self.cli("SHUTDOWN", "NOSAVE")
        wait_until(lambda: self.cli("PING") != "PONG", what="redis to stop")


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = {k.lower(): v for k, v in headers}
        self.body = body

    def json(self):
        return json.loads(self.body)

    def __repr__(self):
        return f"<{self.status} {self.body[:300]!r}>"


class Daemon:
    def __init__(self, world, extra_conf="", server_conf="", env=None):
        self.world = world
        self.port = free_port()
        self.conf = os.path.join(world.root, "dispatchd.conf")
        world.seq += 1
        self.log_path = os.path.join(world.root, f"dispatchd-{world.seq}.log")
        self.terminated = False
        self.extra_conf = extra_conf
        self.server_conf = server_conf
        self.write_conf()
        full_env = dict(os.environ)
        full_env.pop("NOTIFY_SOCKET", None)
        full_env.update(env or {})
        self.log_file = open(self.log_path, "ab")
        self.proc = subprocess.Popen([os.path.join(BUILD_DIR, "dispatchd"), "-c", self.conf],
                                     stdout=self.log_file, stderr=subprocess.STDOUT, env=full_env)
        wait_until(lambda: self.get("/healthz").status == 200, what="dispatchd to listen")

    def conf_text(self, extra=None):
        w = self.world
        return (f"[server]\nlisten_address = 127.0.0.1\nlisten_port = {self.port}\n"
                + self.server_conf +
                f"[postgres]\ndsn = {w.pg.dsn}\npool_size = 2\nreconnect_max_ms = 500\n"
                f"health_interval_ms = 300\n"
                f"[redis]\nhost = 127.0.0.1\nport = {w.redis.port}\nreconnect_max_ms = 500\n"
                f"health_interval_ms = 300\n"
                f"[paths]\nmigrations_dir = {SOURCE_DIR}/data/migrations\n"
                + (self.extra_conf if extra is None else extra))

    def write_conf(self, text=None):
        with open(self.conf, "w") as f:
            f.write(self.conf_text() if text is None else text)

    def request(self, method, path, body=None, headers=None, timeout=10.0):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            if isinstance(body, (dict, list)):
                body = json.dumps(body)
                headers = dict(headers or {}, **{"Content-Type": "application/json"})
            conn.request(method, path, body=body, headers=headers or {})
            resp = conn.getresponse()
            return Response(resp.status, resp.getheaders(), resp.read().decode("utf-8", "replace"))
        finally:
            conn.close()

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def metric(self, series):
        """The value of one /metrics series, named with its labels exactly as
        printed (e.g. 'dispatchd_dependency_up{dependency="redis"}'), or None."""
        for line in self.get("/metrics").body.splitlines():
            if line.rsplit(" ", 1)[0] == series:
                return float(line.rsplit(" ", 1)[1])
        return None

    def signal(self, sig):
        if sig == signal.SIGTERM:
            self.terminated = True
        self.proc.send_signal(sig)

    def wait_exit(self, timeout=20.0):
        return self.proc.wait(timeout=timeout)

    def log(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def stop(self):
        if self.proc.poll() is None:
            if not self.terminated:  # a second SIGTERM during teardown would kill it
                self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log_file.close()


def migrate(dsn, *extra):
    return subprocess.run([os.path.join(BUILD_DIR, "dispatchctl"), "migrate", "--dsn", dsn,
                           "--dir", os.path.join(SOURCE_DIR, "data", "migrations")] + list(extra),
                          capture_output=True, text=True)


class World:
    """Private PostgreSQL + Redis for one test module, migrated."""

    def __init__(self, name):
        base = os.path.join(SOURCE_DIR, "run", "tests")
        os.makedirs(base, exist_ok=True)
        self.root = tempfile.mkdtemp(prefix=name + "-", dir=base)
        os.chmod(self.root, 0o755)
        self.pg = Postgres(self.root)
        self.redis = Redis(self.root)
        r = migrate(self.pg.dsn)
        if r.returncode != 0:
            raise RuntimeError("migrate failed: " + r.stderr)
        self.daemons = []
        self.seq = 0

    def daemon(self, **kw):
        d = Daemon(self, **kw)
        self.daemons.append(d)
        return d

    def close(self):
        for d in self.daemons:
            d.stop()
        try:
            self.redis.stop()
        except Exception:
            pass
        try:
            self.pg.stop("immediate")
        except Exception:
            pass
        if not os.environ.get("DISPATCH_KEEP"):
            shutil.rmtree(self.root, ignore_errors=True)
            if self.pg.owns_dir:
                shutil.rmtree(self.pg.dir, ignore_errors=True)


def run(module_globals):
    name = os.path.splitext(os.path.basename(module_globals["__file__"]))[0]
    tests = [(k, v) for k, v in module_globals.items() if k.startswith("test_") and callable(v)]
    world = World(name)
    failed = 0
    try:
        for tname, fn in tests:
            t0 = time.monotonic()
            try:
                fn(world)
                print(f"ok   {tname} ({time.monotonic() - t0:.1f}s)", flush=True)
            except Exception:
                failed += 1
                print(f"FAIL {tname}", flush=True)
                traceback.print_exc()
                for d in world.daemons:
                    print("---- dispatchd log (tail) ----\n" + d.log()[-4000:])
            finally:
                for d in world.daemons:
                    d.stop()
                    if d.proc.returncode not in (0, None, -signal.SIGKILL):
                        failed += 1
                        print(f"FAIL dispatchd exited with {d.proc.returncode}\n" + d.log()[-4000:])
                world.daemons = []
    finally:
        world.close()
    print(f"{len(tests) - failed if failed <= len(tests) else 0}/{len(tests)} passed")
    sys.exit(1 if failed else 0)
