"""Integration-test harness: real PostgreSQL 15, real Redis 7 and the real
dispatchd, each started privately for one test module (so tests may stop
and restart them), spoken to over real sockets. Standard library only.

A module defines test_* functions taking a `World`; `run(globals())` runs
them in order, prints one line per test and exits non-zero on failure.
Set DISPATCH_KEEP=1 to keep the temporary folders for inspection.

Nothing outlives the harness: every long-lived child (PostgreSQL, Redis,
dispatchd, psql sessions) runs in its own session (process group), gets
SIGKILL from the kernel when the harness dies (PR_SET_PDEATHSIG: a CTest
timeout kills the harness), and its group is killed on exit and on SIGTERM,
SIGINT and SIGHUP. A fixture that fails halfway stops what it started. Ports
are never reserved then released: dispatchd binds port 0 and names its port
in its log; PostgreSQL and Redis get a free port and are started again on
another one when it was taken meanwhile. Each service is checked to be the
one this harness started (PostgreSQL's data_directory and postmaster.pid,
Redis's process_id and dir), not another program on the same port."""
import atexit
import ctypes
import fcntl
import hashlib
import glob
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback

SOURCE_DIR = os.environ.get("DISPATCH_SOURCE_DIR",
                            os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
BUILD_DIR = os.environ.get("DISPATCH_BUILD_DIR", os.path.join(SOURCE_DIR, "build"))
PG_BIN = os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin")
PG_OS_USER = os.environ.get("DISPATCH_PG_OS_USER", "postgres")
# A cluster's folder when the postgres user cannot reach the checkout: named
# after the checkout, so scripts/test.sh finds this checkout's leftovers only.
PG_TMP_PREFIX = ("dispatchd-test-pg-"
                 + hashlib.md5(os.path.realpath(SOURCE_DIR).encode()).hexdigest()[:12] + "-")


# `make valgrind` (scripts/valgrind.sh) sets DISPATCH_VALGRIND=1: dispatchd
# runs under valgrind's memcheck, which fails it (exit VALGRIND_EXIT) on any
# invalid access or definite leak, and every wait of the harness is
# TIME_SCALE times longer.
VALGRIND = os.environ.get("DISPATCH_VALGRIND") == "1"
VALGRIND_EXIT = 99
# The daemon's own deadlines (their defaults, docs/operations.md) that
# memcheck's slowness would trip: scaled too under valgrind.
VALGRIND_DEADLINES_MS = {
    "server": {"request_timeout_ms": 10000},
    "postgres": {"connect_timeout_ms": 3000, "query_timeout_ms": 5000},
    "redis": {"connect_timeout_ms": 1000, "command_timeout_ms": 1000},
}
TIME_SCALE = float(os.environ.get("DISPATCH_TIME_SCALE", "10" if VALGRIND else "1"))
# A daemon still running this long after SIGTERM fails its test.
STOP_TIMEOUT_S = 20.0 * TIME_SCALE
# Attempts at starting PostgreSQL or Redis on a fresh port when the one
# picked was taken between picking and binding.
PORT_ATTEMPTS = 5

_libc = ctypes.CDLL(None, use_errno=True)
_PR_SET_PDEATHSIG = 1
_children = []  # every Popen of spawn(), in order


def free_port():
    """A port free right now. Only a hint: another program may take it before
    the service binds it, so callers retry on a bind failure."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _die_with(parent_pid):
    def pre():
        _libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() != parent_pid:  # the harness died before prctl
            os._exit(1)
    return pre


def spawn(argv, as_pg=False, **kw):
    """Popen for a child that must not outlive the harness: in a new session
    (its process group is killed as a whole by kill_group), SIGKILLed by the
    kernel if the harness dies (when started from the main thread: the death
    signal follows the thread that forked). as_pg runs it as the PostgreSQL
    OS user when we are root."""
    if as_pg and os.geteuid() == 0:
        kw.update(user=PG_OS_USER, group=PG_OS_USER, extra_groups=[])
    if threading.current_thread() is threading.main_thread():
        kw["preexec_fn"] = _die_with(os.getpid())
    p = subprocess.Popen(argv, start_new_session=True, **kw)
    _children.append(p)
    return p


def children():
    """Every process spawn() started, dead or alive (for tests of the harness)."""
    return list(_children)


def kill_group(p):
    """SIGKILL p's process group (p and what it forked) and reap p."""
    try:
        os.killpg(p.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    try:
        p.wait(timeout=10)
    except subprocess.TimeoutExpired:
        pass


def kill_all():
    for p in _children:
        if p.poll() is None:
            kill_group(p)


atexit.register(kill_all)


# The instant tests run at: a Tuesday morning before the 11:00 cut-off, in
# the region's zone (Asia/Shanghai). A fixed clock makes every promise,
# slot and wave independent of when the suite runs.
TEST_NOW = "2030-01-08T08:00:00+08:00"


def clock_conf(at=TEST_NOW, driven=False):
    """The config section that stops dispatchd's wall clock at RFC 3339 at
    ([testing] clock, docs/operations.md); None gives the system clock.
    driven: the clock starts there and PUT /v1/admin/clock moves it (the
    simulated day, scripts/demo_day.py)."""
    if at is None:
        return "[testing]\nclock = system\n"
    return f"[testing]\nclock = {'driven' if driven else 'fixed'}\nclock_at = {at}\n"


def wait_until(fn, timeout=15.0, interval=0.05, what="condition"):
    timeout *= TIME_SCALE
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


def valgrind_argv(world):
    """The command prefix that runs dispatchd under memcheck (VALGRIND), or
    nothing. Its report goes to valgrind-PID.log in the world's folder."""
    if not VALGRIND:
        return []
    return ["valgrind", "--tool=memcheck", f"--error-exitcode={VALGRIND_EXIT}",
            "--leak-check=full", "--show-leak-kinds=definite,indirect",
            "--errors-for-leak-kinds=definite,indirect", "--num-callers=30",
            f"--suppressions={os.path.join(SOURCE_DIR, 'tests', 'valgrind.supp')}",
            f"--log-file={os.path.join(world.root, 'valgrind-%p.log')}"]


def reliability_report(section, figures):
    """Write one test's figures as `section.name = value` lines to the build
    folder's reliability.txt, replacing that section's earlier lines
    (scripts/reliability_doc.py copies them into docs/reliability.md)."""
    path = os.path.join(BUILD_DIR, "reliability.txt")
    # Tests run in parallel (ctest -j): one writer at a time.
    with open(path + ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        lines = []
        if os.path.exists(path):
            with open(path) as f:
                lines = [l for l in f if not l.startswith(section + ".")]
        lines += [f"{section}.{k} = {v}\n" for k, v in figures.items()]
        tmp = path + f".{os.getpid()}"
        with open(tmp, "w") as f:
            f.writelines(sorted(lines))
        os.replace(tmp, path)


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
    """A throwaway cluster in its own folder, run as the postgres OS user
    (postgres itself is the harness's child, not pg_ctl's)."""

    def __init__(self, root):
        if pg_can_reach(root):
            self.dir = os.path.join(root, "pg")
            os.makedirs(self.dir)
        else:
            self.dir = tempfile.mkdtemp(prefix=PG_TMP_PREFIX, dir="/var/tmp")
        self.owns_dir = not self.dir.startswith(root)
        if os.geteuid() == 0:
            if not self.owns_dir:
                shutil.chown(root, PG_OS_USER)
            shutil.chown(self.dir, PG_OS_USER)
        self.data = os.path.join(self.dir, "data")
        self.proc = None
        self.port = None
        subprocess.run(as_pg_user([f"{PG_BIN}/initdb", "-D", self.data, "-U", "postgres",
                                   "-A", "trust", "-E", "UTF8", "--no-sync"]),
                       check=True, stdout=subprocess.DEVNULL, cwd="/")
        try:
            self.start()
            self.psql("postgres", "CREATE ROLE dispatchd LOGIN CREATEDB")
            # As scripts/up.sh does: PostGIS in template1, so every database has it.
            self.psql("template1", "CREATE EXTENSION IF NOT EXISTS postgis")
            self.psql("postgres", "CREATE DATABASE dispatchd OWNER dispatchd")
        except BaseException:
            self.kill()
            raise
        self.dsn = f"host=127.0.0.1 port={self.port} dbname=dispatchd user=dispatchd"

    def start(self):
        """Start the postmaster and wait until it answers as itself. The first
        start picks the port (again, when it was taken meanwhile); a restart
        keeps it, since the daemon's config names it."""
        assert self.proc is None or self.proc.poll() is not None, "postgres already running"
        for attempt in range(PORT_ATTEMPTS if self.port is None else 1):
            port = self.port if self.port is not None else free_port()
            if self._start_on(port):
                self.port = port
                return
            log = self.log()
            if "could not bind" not in log and "could not create any TCP/IP" not in log:
                break
        raise RuntimeError("postgres did not start:\n" + self.log()[-3000:])

    def _start_on(self, port):
        self.log_offset = os.path.getsize(self.log_path) if os.path.exists(self.log_path) else 0
        with open(self.log_path, "ab") as log:
            self.proc = spawn([f"{PG_BIN}/postgres", "-D", self.data, "-p", str(port),
                               "-k", self.dir, "-c", "listen_addresses=127.0.0.1",
                               "-c", "fsync=off", "-c", "max_connections=100"],
                              as_pg=True, stdout=log, stderr=subprocess.STDOUT, cwd="/")
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            if self._is_mine(port):
                return True
            time.sleep(0.05)
        kill_group(self.proc)
        raise RuntimeError("postgres did not answer within 60 s:\n" + self.log()[-3000:])

    def _is_mine(self, port):
        """True when the server on port is the postmaster we started: it
        serves our data folder, and its postmaster.pid names our process."""
        r = subprocess.run(["psql", "-X", "-A", "-t", "-h", "127.0.0.1", "-p", str(port),
                            "-U", "postgres", "-d", "postgres", "-c", "SHOW data_directory"],
                           capture_output=True, text=True, timeout=30,
                           env=dict(os.environ, PGCONNECT_TIMEOUT="2"))
        if r.returncode != 0:
            return False
        if os.path.realpath(r.stdout.strip()) != os.path.realpath(self.data):
            raise RuntimeError(f"port {port} is served by another PostgreSQL ({r.stdout.strip()})")
        with open(os.path.join(self.data, "postmaster.pid")) as f:
            if int(f.readline()) != self.proc.pid:
                raise RuntimeError("postmaster.pid names another process")
        return True

    @property
    def log_path(self):
        return os.path.join(self.dir, "log")

    def log(self):
        """The server log since the last start."""
        with open(self.log_path, "rb") as f:
            f.seek(self.log_offset)
            return f.read().decode("utf-8", "replace")

    # pg_ctl's stop modes, as the signals it sends.
    STOP_SIGNALS = {"smart": signal.SIGTERM, "fast": signal.SIGINT, "immediate": signal.SIGQUIT}

    def stop(self, mode="fast"):
        """Stop the postmaster; raises if it is still running STOP_TIMEOUT_S later."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(self.STOP_SIGNALS[mode])
        try:
            self.proc.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            kill_group(self.proc)
            raise AssertionError(f"postgres did not stop ({mode}) within {STOP_TIMEOUT_S} s")

    def kill(self):
        if self.proc is not None and self.proc.poll() is None:
            kill_group(self.proc)

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
        return spawn(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1",
                      "-p", str(self.port), "-U", "postgres", "-d", db],
                     stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)


class Redis:
    """A private redis-server in the foreground, as the harness's child."""

    def __init__(self, root):
        self.dir = os.path.join(root, "redis")
        os.makedirs(self.dir)
        self.proc = None
        self.port = None
        self.start()

    def start(self):
        """Start redis-server and wait until it answers as itself; the first
        start picks the port (again, when it was taken meanwhile)."""
        assert self.proc is None or self.proc.poll() is not None, "redis already running"
        for attempt in range(PORT_ATTEMPTS if self.port is None else 1):
            port = self.port if self.port is not None else free_port()
            if self._start_on(port):
                self.port = port
                return
            if "Address already in use" not in self.log():
                break
        raise RuntimeError("redis did not start:\n" + self.log()[-3000:])

    def _start_on(self, port):
        self.log_offset = os.path.getsize(self.log_path) if os.path.exists(self.log_path) else 0
        # set-proc-title no: its command line keeps naming its folder.
        self.proc = spawn(["redis-server", "--bind", "127.0.0.1", "--port", str(port),
                           "--daemonize", "no", "--dir", self.dir, "--logfile", self.log_path,
                           "--save", "", "--appendonly", "no", "--set-proc-title", "no"],
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            if self._is_mine(port):
                return True
            time.sleep(0.05)
        kill_group(self.proc)
        raise RuntimeError("redis did not answer within 30 s:\n" + self.log()[-3000:])

    def _is_mine(self, port):
        """True when the server on port is the redis-server we started (its
        process_id and its dir)."""
        # redis-cli waits forever for an answer: a stranger on the port may never send one.
        try:
            out = subprocess.run(["redis-cli", "-h", "127.0.0.1", "-p", str(port), "INFO",
                                  "server"], capture_output=True, text=True, timeout=2).stdout
        except subprocess.TimeoutExpired:
            return False
        pid = [l.split(":", 1)[1].strip() for l in out.splitlines() if l.startswith("process_id:")]
        if not pid:
            return False
        if int(pid[0]) != self.proc.pid:
            raise RuntimeError(f"port {port} is served by another redis (pid {pid[0]})")
        got = subprocess.run(["redis-cli", "-h", "127.0.0.1", "-p", str(port), "CONFIG", "GET",
                              "dir"], capture_output=True, text=True, timeout=30).stdout.split()
        if got[-1:] != [os.path.realpath(self.dir)]:
            raise RuntimeError(f"redis on port {port} has dir {got}")
        return True

    @property
    def log_path(self):
        return os.path.join(self.dir, "redis.log")

    def log(self):
        """The server log since the last start."""
        if not os.path.exists(self.log_path):
            return ""
        with open(self.log_path, "rb") as f:
            f.seek(self.log_offset)
            return f.read().decode("utf-8", "replace")

    def cli(self, *args):
        out = subprocess.run(["redis-cli", "-h", "127.0.0.1", "-p", str(self.port)] + list(args),
                             capture_output=True, text=True)
        return out.stdout.strip()

    def stop(self):
        """SHUTDOWN NOSAVE; raises if it is still running STOP_TIMEOUT_S later."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.cli("SHUTDOWN", "NOSAVE")
        try:
            self.proc.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            kill_group(self.proc)
            raise AssertionError(f"redis did not stop within {STOP_TIMEOUT_S} s")

    def kill(self):
        if self.proc is not None and self.proc.poll() is None:
            kill_group(self.proc)


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = {k.lower(): v for k, v in headers}
        self.body = body

    def json(self):
        return json.loads(self.body)

    def __repr__(self):
        return f"<{self.status} {self.body[:300]!r}>"


# Every token the harness made: none may ever appear in a daemon's log.
TOKENS_ISSUED = []
ADMIN = object()  # Daemon.request's default: the world's admin token


class Daemon:
    """dispatchd on a port it picks itself (listen_port = 0), read from its log."""

    def __init__(self, world, extra_conf="", server_conf="", env=None, auth=True):
        self.world = world
        self.auth = auth  # write [auth] token_key_file (unless extra_conf has its own)
        self.port = 0
        self.admin_port = 0
        self.conf = os.path.join(world.root, "dispatchd.conf")
        world.seq += 1
        self.log_path = os.path.join(world.root, f"dispatchd-{world.seq}.log")
        self.terminated = False
        self.hung = False  # still running STOP_TIMEOUT_S after SIGTERM
        self.extra_conf = extra_conf
        self.server_conf = server_conf
        self.write_conf()
        full_env = dict(os.environ)
        full_env.pop("NOTIFY_SOCKET", None)
        full_env.update(env or {})
        self.log_file = open(self.log_path, "ab")
        self.proc = spawn(valgrind_argv(world) + [os.path.join(BUILD_DIR, "dispatchd"), "-c", self.conf],
                          stdout=self.log_file, stderr=subprocess.STDOUT, env=full_env)
        try:
            self.port = wait_until(self._bound_port, what="dispatchd to listen")
            self.admin_port = wait_until(self._admin_port, what="the operators' listener")
            wait_until(lambda: self.get("/healthz").status == 200, what="dispatchd to answer")
            if self.auth:
                # Requests need the token table; it is read as soon as
                # PostgreSQL answers (a test that starts it down goes on).
                try:
                    wait_until(self._tokens_loaded, timeout=5.0, what="the token table")
                except AssertionError:
                    pass
        except BaseException:
            kill_group(self.proc)
            self.log_file.close()
            raise

    def _bound_port(self):
        if self.proc.poll() is not None:
            raise AssertionError(f"dispatchd exited with {self.proc.returncode}:\n"
                                 + self.log()[-3000:])
        m = re.search(r"listening on [^ ]*:([0-9]+)\n", self.log())
        return int(m.group(1)) if m else None

    def _tokens_loaded(self):
        r = self.get("/readyz", token=None)
        return r.json().get("checks", {}).get("tokens", {}).get("loaded") is True

    def _admin_port(self):
        m = re.search(r"operators' listener on [^ ]*:([0-9]+)\n", self.log())
        return int(m.group(1)) if m else None

    def _slow_keys(self, section, extra):
        """Under valgrind, the section's deadlines TIME_SCALE times their
        defaults, unless the test sets them itself; nothing otherwise."""
        if not VALGRIND:
            return ""
        given = self.server_conf + (self.extra_conf if extra is None else extra)
        return "".join(f"{k} = {round(v * TIME_SCALE)}\n"
                       for k, v in VALGRIND_DEADLINES_MS[section].items()
                       if not re.search(rf"^{k}\s*=", given, re.M))

    def conf_text(self, extra=None):
        w = self.world
        return ("[server]\nlisten_address = 127.0.0.1\nlisten_port = 0\n"
                "admin_listen_address = 127.0.0.1\nadmin_listen_port = 0\n"
                + self._slow_keys("server", extra) + self.server_conf +
                f"[postgres]\ndsn = {w.pg.dsn}\npool_size = 2\nreconnect_max_ms = 500\n"
                f"health_interval_ms = 300\n" + self._slow_keys("postgres", extra) +
                f"[redis]\nhost = 127.0.0.1\nport = {w.redis.port}\nreconnect_max_ms = 500\n"
                f"health_interval_ms = 300\n" + self._slow_keys("redis", extra) +
                f"[paths]\nmigrations_dir = {SOURCE_DIR}/data/migrations\n"
                + (f"[auth]\ntoken_key_file = {w.key_file}\n"
                   if self.auth and "token_key_file" not in (self.extra_conf if extra is None
                                                             else extra) else "")
                + (self.extra_conf if extra is None else extra))

    def write_conf(self, text=None):
        with open(self.conf, "w") as f:
            f.write(self.conf_text() if text is None else text)

    def reload(self, extra_conf=None):
        """Rewrite the config (with extra_conf in place of the current extra
        section, if given), send SIGHUP and wait until the reload is counted;
        raises if it failed."""
        if extra_conf is not None:
            self.extra_conf = extra_conf
        series = 'dispatchd_config_reloads_total{result="%s"}'
        ok, failed = self.metric(series % "ok"), self.metric(series % "failed")
        self.write_conf()
        self.signal(signal.SIGHUP)
        wait_until(lambda: self.metric(series % "ok") > ok or self.metric(series % "failed") > failed,
                   what="the reload")
        assert self.metric(series % "failed") == failed, "reload failed:\n" + self.log()[-2000:]

    def request(self, method, path, body=None, headers=None, timeout=10.0, token=ADMIN,
                operator=False):
        """One request; with the world's admin token unless token says
        another (its text) or None (anonymous), or headers has its own;
        operator=True sends it to the operators' listener instead."""
        conn = http.client.HTTPConnection("127.0.0.1", self.admin_port if operator else self.port,
                                          timeout=timeout * TIME_SCALE)
        if token is ADMIN:
            token = self.world.admin_token
        if token is not None and "Authorization" not in (headers or {}):
            headers = dict(headers or {}, Authorization=f"Bearer {token}")
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
        for line in self.get("/metrics", operator=True, token=None).body.splitlines():
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
        """SIGTERM (unless the test sent it) and wait STOP_TIMEOUT_S; a daemon
        still running then is killed and marked hung: failure() reports it."""
        if self.proc.poll() is None:
            if not self.terminated:  # a second SIGTERM during teardown would kill it
                self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.hung = True
                kill_group(self.proc)
        if not self.log_file.closed:
            self.log_file.close()

    def failure(self):
        """Why this (stopped) daemon's exit fails its test, or None: it had to
        be killed after SIGTERM, or it exited non-zero other than by a SIGKILL
        the test sent itself."""
        rc = self.proc.returncode
        if self.hung:
            return f"dispatchd did not exit within {STOP_TIMEOUT_S} s of SIGTERM"
        if VALGRIND and rc == VALGRIND_EXIT:
            path = os.path.join(self.world.root, f"valgrind-{self.proc.pid}.log")
            with open(path, errors="replace") as f:
                return "valgrind found errors in dispatchd:\n" + f.read()[-8000:]
        if rc not in (0, None, -signal.SIGKILL):
            return f"dispatchd exited with {rc}"
        return None


def migrate(dsn, *extra):
    return subprocess.run([os.path.join(BUILD_DIR, "dispatchctl"), "migrate", "--dsn", dsn,
                           "--dir", os.path.join(SOURCE_DIR, "data", "migrations")] + list(extra),
                          capture_output=True, text=True)


class World:
    """Private PostgreSQL + Redis for one test module, migrated. If any step
    fails, what the earlier ones started is stopped before the error goes up."""

    def __init__(self, name):
        base = os.path.join(SOURCE_DIR, "run", "tests")
        os.makedirs(base, exist_ok=True)
        self.root = tempfile.mkdtemp(prefix=name + "-", dir=base)
        os.chmod(self.root, 0o755)
        self.pg = self.redis = None
        self.daemons = []
        self.seq = 0
        try:
            self.pg = Postgres(self.root)
            self.redis = Redis(self.root)
            r = migrate(self.pg.dsn)
            if r.returncode != 0:
                raise RuntimeError("migrate failed: " + r.stderr)
            # Every daemon checks tokens with this key; requests carry the
            # admin token unless a test says otherwise (Daemon.request).
            self.key_file = os.path.join(self.root, "token.key")
            r = subprocess.run([os.path.join(BUILD_DIR, "dispatchctl"), "tokens", "init-key",
                                self.key_file], capture_output=True, text=True)
            if r.returncode != 0:
                raise RuntimeError("tokens init-key failed: " + r.stderr)
            self.admin_token = self.token("admin", label="harness admin")
        except BaseException:
            self.close()
            raise

    def daemon(self, **kw):
        d = Daemon(self, **kw)
        self.daemons.append(d)
        return d

    def token(self, role, *scope, label="test", expires=None):
        """A new token of role (scope: the warehouse/station ids, or the one
        courier/engineer id), made with dispatchctl; returns its text."""
        flag = {"warehouse": "--warehouse", "station": "--station", "courier": "--courier",
                "engineer": "--engineer", "pickup_point": "--pickup-point"}.get(role)
        argv = [os.path.join(BUILD_DIR, "dispatchctl"), "tokens", "create", "--role", role,
                "--label", label, "--dsn", self.pg.dsn, "--key-file", self.key_file]
        for s in scope:
            argv += [flag, s]
        if expires:
            argv += ["--expires", expires]
        r = subprocess.run(argv, capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError("tokens create failed: " + r.stderr)
        fields = dict(line.split(None, 1) for line in r.stdout.splitlines() if " " in line)
        TOKENS_ISSUED.append(fields["token"])
        return fields["token"]

    def close(self):
        for d in self.daemons:
            d.stop()
        for svc in (self.redis, self.pg):
            if svc is None:
                continue
            try:
                svc.stop() if svc is self.redis else svc.stop("immediate")
            except Exception as e:
                print(f"teardown: {e}", flush=True)
            svc.kill()
        if not os.environ.get("DISPATCH_KEEP"):
            shutil.rmtree(self.root, ignore_errors=True)
            if self.pg is not None and self.pg.owns_dir:
                shutil.rmtree(self.pg.dir, ignore_errors=True)


def pickup_code_hash(world, code):
    """The hex keyed hash the daemon stores for pickup code (8 digits) under
    the world's token key (daemon/base/pickup_code.c: BLAKE2b keyed with
    sub-key 1 of crypto_kdf context "dmpickup" of the token key), for SQL
    fixtures that put a parcel with a known code in place."""
    raw = open(world.key_file, "rb").read()
    key = hashlib.blake2b(raw, digest_size=32, key=b"dispatchd token key v1").digest()
    sub = hashlib.blake2b(b"", digest_size=32, key=key,
                          salt=(1).to_bytes(8, "little") + bytes(8),
                          person=b"dmpickup" + bytes(8)).digest()
    return hashlib.blake2b(code.encode(), digest_size=32, key=sub).hexdigest()


def _exit_on_signal(sig, frame):
    # Unwinds through the finally blocks below: the world is closed.
    raise SystemExit(128 + sig)


def secrets_in_logs(world):
    """Lines of any daemon log of this module that hold a token the harness
    issued or a password (the daemon must log token ids, never tokens, and
    never a DSN's or Redis's password)."""
    leaks = []
    for path in glob.glob(os.path.join(world.root, "dispatchd-*.log")):
        for line in open(path, errors="replace"):
            if any(t in line for t in TOKENS_ISSUED) or re.search(r"password\s*=\s*\S", line):
                leaks.append(f"{os.path.basename(path)}: {line.rstrip()[:200]}")
    return leaks


def run(module_globals):
    name = os.path.splitext(os.path.basename(module_globals["__file__"]))[0]
    tests = [(k, v) for k, v in module_globals.items() if k.startswith("test_") and callable(v)]
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, _exit_on_signal)
    failed = 0
    world = World(name)
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
                    why = d.failure()
                    if why is not None:
                        failed += 1
                        print(f"FAIL {tname}: {why}\n" + d.log()[-4000:])
                world.daemons = []
        leaks = secrets_in_logs(world)
        if leaks:
            failed += 1
            print("FAIL secrets in the daemons' logs:\n" + "\n".join(leaks), flush=True)
    finally:
        world.close()
        kill_all()
    print(f"{len(tests) - failed if failed <= len(tests) else 0}/{len(tests)} passed")
    sys.exit(1 if failed else 0)
