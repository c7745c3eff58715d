"""The harness itself (harness.py), so that a green run means something: a
daemon that ignores SIGTERM fails its test, a fixture that fails halfway
stops what it started, a harness killed outright (as by a CTest timeout)
leaves nothing running, and a port taken between picking and binding moves
PostgreSQL and Redis to another one instead of failing or talking to a
stranger."""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile

import harness


def alive(pid):
    """True while pid runs (a zombie waiting for its reaper does not)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def descendants(pid):
    """pid and every running process below it (PostgreSQL's children are in
    sessions of their own, so a process group does not hold them)."""
    parent = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open(f"/proc/{name}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except (FileNotFoundError, ProcessLookupError):
                continue
            if fields[0] != "Z":
                parent[int(name)] = int(fields[1])
    found, todo = [], [pid]
    while todo:
        p = todo.pop()
        if p in parent:
            found.append(p)
            todo += [c for c, pp in parent.items() if pp == p]
    return found


def test_daemon_alive_after_sigterm_fails_its_test(w):
    d = w.daemon()
    d.proc.send_signal(signal.SIGSTOP)  # it can no longer act on SIGTERM
    saved = harness.STOP_TIMEOUT_S
    harness.STOP_TIMEOUT_S = 1.0
    try:
        d.stop()
    finally:
        harness.STOP_TIMEOUT_S = saved
        w.daemons.remove(d)
    assert d.hung and "did not exit" in (d.failure() or ""), d.failure()
    assert d.proc.returncode == -signal.SIGKILL and not alive(d.proc.pid)
    # A daemon that exits on SIGTERM passes, and so does one the test itself
    # SIGKILLed (test_orders does, on purpose).
    ok = w.daemon()
    ok.stop()
    assert ok.failure() is None and ok.proc.returncode == 0, ok.log()[-2000:]
    killed = w.daemon()
    killed.proc.send_signal(signal.SIGKILL)
    killed.proc.wait()
    killed.stop()
    assert killed.failure() is None
    w.daemons = []


def test_world_failing_halfway_stops_what_it_started(w):
    before = set(map(id, harness.children()))
    saved = harness.migrate
    harness.migrate = lambda dsn, *a: subprocess.CompletedProcess([], 1, "", "forced failure")
    try:
        harness.World("halfway")
        raise AssertionError("World() did not fail")
    except RuntimeError as e:
        assert "forced failure" in str(e), e
    finally:
        harness.migrate = saved
    started = [p for p in harness.children() if id(p) not in before]
    assert len(started) >= 2, started  # postgres and redis were running
    assert all(p.poll() is not None and not descendants(p.pid) for p in started), \
        [(p.args[0], p.poll()) for p in started]


def test_daemon_failing_halfway_is_stopped(w):
    before = set(map(id, harness.children()))
    saved = harness.Daemon.get

    def broken(self, path, **kw):
        raise AssertionError("forced failure")

    harness.Daemon.get = broken
    try:
        w.daemon()
        raise RuntimeError("Daemon() did not fail")
    except AssertionError as e:
        assert "forced failure" in str(e), e
    finally:
        harness.Daemon.get = saved
    started = [p for p in harness.children() if id(p) not in before]
    assert len(started) == 1 and started[0].poll() is not None, started


CHILD = """
import json, sys, time
sys.path.insert(0, {here!r})
import harness
w = harness.World("orphan")
d = w.daemon()
sess = w.pg.session()
print(json.dumps({{"root": w.root, "pg_dir": w.pg.dir,
                  "tops": [w.pg.proc.pid, w.redis.proc.pid, d.proc.pid, sess.pid]}}), flush=True)
time.sleep(600)
"""


def test_killed_harness_leaves_nothing_running(w):
    """SIGKILL, as a CTest timeout sends: PostgreSQL (with its backends),
    Redis, dispatchd and a psql session all go with the harness."""
    here = os.path.dirname(os.path.abspath(__file__))
    child = subprocess.Popen([sys.executable, "-c", CHILD.format(here=here)],
                             stdout=subprocess.PIPE, text=True)
    try:
        info = json.loads(child.stdout.readline())
        members = [p for g in info["tops"] for p in descendants(g)]
        assert len(members) > len(info["tops"]), members  # postgres has its backends
        child.kill()
        child.wait()
        harness.wait_until(lambda: not any(alive(p) for p in members), timeout=30,
                           what="the dead harness's children to go")
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        if "info" in locals():
            shutil.rmtree(info["root"], ignore_errors=True)
            shutil.rmtree(info["pg_dir"], ignore_errors=True)


def test_port_taken_before_bind_moves_to_another(w):
    """The port handed out is bound by someone else before the service
    starts: PostgreSQL and Redis start again on another one, and the server
    answering there is checked to be the one started."""
    squatter = socket.socket()
    squatter.bind(("127.0.0.1", 0))
    squatter.listen()
    taken = squatter.getsockname()[1]
    handed = []
    saved = harness.free_port

    def first_taken():
        port = taken if not handed else saved()
        handed.append(port)
        return port

    root = tempfile.mkdtemp(prefix="ports-", dir=w.root)
    os.chmod(root, 0o755)
    pg = redis = None
    try:
        harness.free_port = first_taken
        pg = harness.Postgres(root)
        handed.clear()
        redis = harness.Redis(root)
    finally:
        harness.free_port = saved
        squatter.close()
        for svc in (redis, pg):
            if svc is not None:
                svc.stop()
    assert pg.port != taken and redis.port != taken, (pg.port, redis.port, taken)
    assert "could not bind" in open(pg.log_path).read()
    assert "Address already in use" in open(redis.log_path).read()
    if pg.owns_dir:
        shutil.rmtree(pg.dir, ignore_errors=True)


if __name__ == "__main__":
    harness.run(globals())
