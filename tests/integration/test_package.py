"""The Debian package (`make package`, packaging/): built with cpack from this
build, inspected with dpkg-deb (files, modes, owners, conffiles, computed
dependencies) and lintian (no error), installed on this machine with
`dpkg -i` (root; CI runs on a disposable machine), and then, without systemd
as PID 1, run as the unit runs it: its ExecStartPre= and ExecStart= as its
User= with its Environment= and UMask=, against a private PostgreSQL and
Redis, after the operator's steps of docs/operations.md (edit the config,
`dispatchctl migrate`, an admin token). The installed unit passes
`systemd-analyze verify` (man pages of Documentation= included) with a
security exposure of at most 2.0. Installing the same version again and a
newer version over an older one keeps the edited config, the token key and
the database's data. `dpkg --purge` removes it at the end, even on failure.

Only the package's own paths are touched (/usr/bin/dispatchd*, /etc/dispatchd,
/usr/share/dispatchd, ...), and the dispatchd system user when this test
created it. Two runs on one machine (two checkouts) take turns on a lock.
Exits 77 (skipped) in a build that makes no package (the sanitizer and fuzzer
builds: packaging/ is not part of them), or when not root."""
import fcntl
import glob
import hashlib
import http.client
import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

SKIP = 77
PKG = "dispatchd"
OLD_VERSION_SUFFIX = "~pkgtest1"  # sorts before the build's own version
OLD_CONF_LINE = "# the older version's example\n"
CONF = "/etc/dispatchd/dispatchd.conf"
KEY = "/etc/dispatchd/token.key"
UNIT_DIR = "/lib/systemd/system"
LOCK = "/run/lock/dispatchd-package-test.lock"
# Every path the package owns outside /usr/share/{doc,man,dispatchd}: gone after the purge.
OWN_PATHS = ["/usr/bin/dispatchd", "/usr/bin/dispatchctl", "/etc/dispatchd",
             UNIT_DIR + "/dispatchd.service", "/usr/lib/sysusers.d/dispatchd.conf",
             "/usr/lib/tmpfiles.d/dispatchd.conf", "/usr/share/dispatchd",
             "/usr/share/doc/dispatchd", "/usr/share/man/man8/dispatchd.8.gz"]
DPKG_ENV = dict(os.environ, DEBIAN_FRONTEND="noninteractive")


def step(msg, t0):
    print(f"ok   {msg} ({time.monotonic() - t0:.1f}s)", flush=True)


def run(argv, **kw):
    kw.setdefault("capture_output", True)
    kw.setdefault("text", True)
    kw.setdefault("stdin", subprocess.DEVNULL)  # dpkg must never ask (a conffile prompt fails)
    return subprocess.run(argv, **kw)


def ok(argv, **kw):
    r = run(argv, **kw)
    assert r.returncode == 0, f"{argv} exited {r.returncode}:\n{r.stdout}\n{r.stderr}"
    return r


def installed():
    r = run(["dpkg-query", "-W", "-f=${Status}", PKG])
    return r.returncode == 0 and "installed" in r.stdout and "not-installed" not in r.stdout


def md5(path):
    with open(path, "rb") as f:
        return hashlib.md5(f.read()).hexdigest()


# ---- building and inspecting -------------------------------------------------------------------

def start_cpack(tmp):
    """cpack on this build's CPackConfig.cmake (as `make package`), in the background."""
    out = os.path.join(tmp, "cpack")
    return out, subprocess.Popen(["cpack", "--config", os.path.join(harness.BUILD_DIR,
                                                                    "CPackConfig.cmake"),
                                  "-B", out], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                 text=True, cwd=tmp)


def build_packages(out, cpack):
    """The package cpack built, and the same files repacked with an older
    version (for the upgrade)."""
    log, _ = cpack.communicate(timeout=300)
    assert cpack.returncode == 0, log
    debs = [f for f in os.listdir(out) if f.endswith(".deb")]
    assert len(debs) == 1, debs
    new = os.path.join(out, debs[0])
    version = ok(["dpkg-deb", "-f", new, "Version"]).stdout.strip()
    tmp = os.path.dirname(out)
    tree = os.path.join(tmp, "old-tree")
    ok(["dpkg-deb", "-R", new, tree])
    control = os.path.join(tree, "DEBIAN", "control")
    with open(control) as f:
        text = f.read()
    with open(control, "w") as f:
        f.write(text.replace(f"\nVersion: {version}\n",
                             f"\nVersion: {version}{OLD_VERSION_SUFFIX}\n"))
    # The older version's example config differs, as it would: an upgrade
    # then meets a conffile changed both by the operator and the package.
    conf = os.path.join(tree, CONF.lstrip("/"))
    with open(conf) as f:
        text = f.read()
    with open(conf, "w") as f:
        f.write(OLD_CONF_LINE + text)
    sums = os.path.join(tree, "DEBIAN", "md5sums")
    with open(sums) as f:
        lines = [f"{md5(conf)}  {CONF.lstrip('/')}" if l.endswith(" " + CONF.lstrip("/")) else l
                 for l in f.read().splitlines()]
    with open(sums, "w") as f:
        f.write("\n".join(lines) + "\n")
    old = os.path.join(tree + ".deb")
    ok(["dpkg-deb", "--root-owner-group", "-Zxz", "-b", tree, old])
    ok(["dpkg", "--compare-versions", f"{version}{OLD_VERSION_SUFFIX}", "lt", version])
    return new, old, version


def inspect(deb):
    info = ok(["dpkg-deb", "--info", deb]).stdout
    fields = {}
    for line in info.splitlines():
        m = re.match(r"^ ([A-Z][A-Za-z-]+): (.*)$", line)
        if m:
            fields[m.group(1)] = m.group(2)
    assert fields.get("Package") == PKG, fields
    depends = fields.get("Depends", "")
    # Computed by dpkg-shlibdeps: each linked library with its minimal version.
    for lib in ("libc6 (>=", "libpq5 (>=", "libevent-2.1-7 (>=", "libhiredis", "libgeos-c1v5 (>=",
                "libjansson4 (>=", "libinih1", "libsodium23 (>=", "libssl3 (>=", "libsystemd0"):
        assert lib in depends, f"Depends lacks {lib}: {depends}"
    assert "systemd | systemd-sysusers" in depends, depends
    for rec in ("postgresql-15-postgis-3", "redis-server"):
        assert rec in fields.get("Recommends", ""), fields
    assert fields.get("Section") and fields.get("Maintainer") and fields.get("Installed-Size")
    for script in ("postinst", "prerm", "postrm", "conffiles", "md5sums"):
        assert re.search(rf"^\s+\d+ bytes,\s+\d+ lines\s+\*?\s+{script}\b", info, re.M), \
            f"no {script}:\n{info}"
    assert ok(["dpkg-deb", "--info", deb, "conffiles"]).stdout.split() == [CONF]

    entries = {}
    for line in ok(["dpkg-deb", "--contents", deb]).stdout.splitlines():
        mode, owner, _size, _date, _time, path = line.split(None, 5)
        entries[path.split(" -> ")[0].lstrip(".").rstrip("/") or "/"] = (mode, owner)

    def has(path, mode):
        assert path in entries, f"{path} is not in the package"
        assert entries[path] == (mode, "root/root"), (path, entries[path])

    has("/usr/bin/dispatchd", "-rwxr-xr-x")
    has("/usr/bin/dispatchctl", "-rwxr-xr-x")
    has(UNIT_DIR + "/dispatchd.service", "-rw-r--r--")
    has("/usr/lib/sysusers.d/dispatchd.conf", "-rw-r--r--")
    has("/usr/lib/tmpfiles.d/dispatchd.conf", "-rw-r--r--")
    # Not world-readable from the moment it is unpacked (the group comes at postinst).
    has("/etc/dispatchd", "drwxr-x---")
    has(CONF, "-rw-r-----")
    for page in ("man8/dispatchd.8.gz", "man8/dispatchctl.8.gz", "man5/dispatchd.conf.5.gz"):
        has("/usr/share/man/" + page, "-rw-r--r--")
    has("/usr/share/doc/dispatchd/copyright", "-rw-r--r--")
    has("/usr/share/doc/dispatchd/changelog.gz", "-rw-r--r--")
    for folder in ("migrations", "sql"):
        src = sorted(f for f in os.listdir(os.path.join(harness.SOURCE_DIR, "data", folder))
                     if f.endswith(".sql"))
        got = sorted(p.rsplit("/", 1)[1] for p in entries
                     if p.startswith(f"/usr/share/dispatchd/{folder}/"))
        assert got == src, (folder, set(src) ^ set(got))
    # Stripped (the package is not a debugging build).
    ok(["dpkg-deb", "-x", deb, os.path.join(os.path.dirname(deb), "x")])
    r = ok(["file", os.path.join(os.path.dirname(deb), "x", "usr", "bin", "dispatchd")])
    assert ", stripped" in r.stdout, r.stdout
    return fields


# ---- running what the unit runs ----------------------------------------------------------------

def unit_service(path):
    """The [Service] settings of the installed unit: key -> list of values."""
    svc, section = {}, None
    for line in open(path):
        line = line.strip()
        if line.startswith("["):
            section = line
        elif section == "[Service]" and "=" in line and not line.startswith("#"):
            k, v = line.split("=", 1)
            svc.setdefault(k, []).append(v)
    return svc


def unit_run_kw(svc):
    """Popen arguments for a command as the unit runs it: its User=/Group=,
    UMask=, a clean environment with EnvironmentFile= and then Environment=,
    in / (systemd's default WorkingDirectory= for system services)."""
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8"}
    for f in svc.get("EnvironmentFile", []):
        optional = f.startswith("-")
        f = f.lstrip("-")
        if optional and not os.path.exists(f):
            continue
        for line in open(f):
            if "=" in line and not line.lstrip().startswith("#"):
                k, v = line.strip().split("=", 1)
                env[k] = v.strip('"')
    for e in svc.get("Environment", []):
        for word in shlex.split(e):
            k, _, v = word.partition("=")
            env[k] = v
    user = svc["User"][-1]
    return dict(user=user, group=svc.get("Group", [user])[-1], extra_groups=[],
                umask=int(svc.get("UMask", ["0022"])[-1], 8), env=env, cwd="/")


def argv_of(exec_line):
    words = shlex.split(exec_line)
    words[0] = words[0].lstrip("-@:+!")
    return words


def as_service(argv, **kw):
    """A dispatchctl command as the service user (how docs/operations.md runs it)."""
    return run(["runuser", "-u", "dispatchd", "--"] + argv, cwd="/", **kw)


def http_get(port, path, token=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", path, headers={"Authorization": f"Bearer {token}"} if token else {})
        resp = conn.getresponse()
        return resp.status, resp.read().decode("utf-8", "replace")
    finally:
        conn.close()


def run_the_unit(tmp, admin_token, n_migrations, tag):
    """ExecStartPre= then ExecStart= of the installed unit, as it runs them,
    with a NOTIFY_SOCKET of ours (Type=notify): READY=1, /readyz ready, an
    admin request answered, and SIGTERM ends it with STOPPING=1 and exit 0."""
    svc = unit_service(os.path.join(UNIT_DIR, "dispatchd.service"))
    kw = unit_run_kw(svc)
    assert kw["env"].get("DISPATCH_FORBID_TEST_CLOCK") == "1", kw["env"]
    for pre in svc.get("ExecStartPre", []):
        r = run(argv_of(pre), **kw)
        assert r.returncode == 0, (pre, r.stdout, r.stderr)
    (start,) = svc["ExecStart"]
    sock_dir = tempfile.mkdtemp(prefix="notify-", dir=tmp)
    os.chmod(sock_dir, 0o755)
    sock_path = os.path.join(sock_dir, "notify")
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify.bind(sock_path)
    os.chmod(sock_path, 0o666)
    notify.settimeout(0.2)
    log_path = os.path.join(tmp, f"dispatchd-{tag}.log")
    env = dict(kw.pop("env"), NOTIFY_SOCKET=sock_path)
    with open(log_path, "ab") as log:
        proc = harness.spawn(argv_of(start), stdout=log, stderr=subprocess.STDOUT, env=env, **kw)
    messages = []

    def log_text():
        with open(log_path, errors="replace") as f:
            return f.read()

    def heard(word):
        try:
            messages.extend(notify.recv(4096).decode().split("\n"))
        except socket.timeout:
            pass
        if proc.poll() is not None:
            raise AssertionError(f"dispatchd exited {proc.returncode}:\n{log_text()[-3000:]}")
        return word in messages

    try:
        harness.wait_until(lambda: heard("READY=1"), timeout=20, what="READY=1")
        m = re.search(r"listening on [^ ]*:([0-9]+)\n", log_text())
        assert m, log_text()
        port = int(m.group(1))
        harness.wait_until(lambda: http_get(port, "/readyz")[0] == 200, timeout=20,
                           what="/readyz to be ready")
        status, body = http_get(port, "/v1/admin/migrations", admin_token)
        assert status == 200, (status, body)
        assert len(json.loads(body)["migrations"]) == n_migrations, body
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=harness.STOP_TIMEOUT_S) == 0, log_text()[-3000:]
        while True:  # what it sent before exiting is still queued
            try:
                messages.extend(notify.recv(4096).decode().split("\n"))
            except socket.timeout:
                break
        assert "STOPPING=1" in messages, messages
    finally:
        if proc.poll() is None:
            harness.kill_group(proc)
        notify.close()


# ---- the test ----------------------------------------------------------------------------------

def check_installed_state(first_install_out):
    """Modes and owners after the postinst: readable by dispatchd, by no one else."""
    def owner_mode(path):
        st = os.stat(path)
        return (ok(["stat", "-c", "%U:%G", path]).stdout.strip(), oct(st.st_mode & 0o7777))
    assert owner_mode("/etc/dispatchd") == ("root:dispatchd", "0o750"), owner_mode("/etc/dispatchd")
    assert owner_mode(CONF) == ("root:dispatchd", "0o640"), owner_mode(CONF)
    assert owner_mode(KEY) == ("dispatchd:dispatchd", "0o600"), owner_mode(KEY)
    assert os.path.getsize(KEY) >= 32
    assert run(["runuser", "-u", "dispatchd", "--", "cat", CONF], cwd="/").returncode == 0
    assert run(["runuser", "-u", "nobody", "--", "cat", CONF], cwd="/").returncode != 0
    r = ok(["getent", "passwd", "dispatchd"]).stdout.split(":")
    assert int(r[2]) < 1000 and r[6].strip().endswith("nologin"), r  # a system user
    if first_install_out is not None:
        # Not started, not enabled: the database is not configured yet; what to do is said.
        assert "not started" in first_install_out, first_install_out
        assert "dispatchctl migrate" in first_install_out, first_install_out
        assert not os.path.exists("/etc/systemd/system/multi-user.target.wants/dispatchd.service")
        assert run(["pgrep", "-u", "dispatchd"]).returncode == 1, "something runs as dispatchd"


def peer_auth(pg):
    """The private cluster authenticates the role dispatchd on its Unix socket
    as Debian's does (peer: only the OS user dispatchd), so the shipped DSN
    works with its socket folder and port changed, and only as documented
    (dispatchctl as the service user, not as root)."""
    hba = os.path.join(pg.data, "pg_hba.conf")
    with open(hba, "r+") as f:
        text = f.read()
        f.seek(0)
        f.write("local dispatchd dispatchd peer\n" + text)
    pg.psql("postgres", "SELECT pg_reload_conf()")
    dsn = f"host={pg.dir} port={pg.port} dbname=dispatchd user=dispatchd"

    def root_refused():
        r = run(["psql", "-X", "-d", dsn, "-c", "SELECT 1"])
        return r.returncode != 0 and "Peer authentication failed" in r.stderr
    harness.wait_until(root_refused, what="peer authentication on the socket")
    return f"host={pg.dir} port={pg.port}"


def edit_config(pg_socket, redis):
    """What an operator edits: the database's socket folder and port and
    Redis's port (here the private ones), the listening port (0: any free
    one), and a comment of their own."""
    with open(CONF) as f:
        text = f.read()
    edits = [("dsn = host=/var/run/postgresql port=5432 dbname=dispatchd user=dispatchd",
              f"dsn = {pg_socket} dbname=dispatchd user=dispatchd"),
             ("\nport = 6379\n", f"\nport = {redis.port}\n"),
             ("listen_port = 8080", "listen_port = 0")]
    for old, new in edits:
        assert old in text, f"the installed config lacks {old!r}"
        text = text.replace(old, new)
    text = "# edited by the operator\n" + text
    with open(CONF, "w") as f:
        f.write(text)
    return md5(CONF)


def main():
    if not os.path.exists(os.path.join(harness.BUILD_DIR, "CPackConfig.cmake")):
        print("skip: this build makes no package (sanitizer/fuzzer builds leave out packaging/)")
        return SKIP
    if os.geteuid() != 0:
        print("skip: dpkg -i needs root")
        return SKIP
    os.makedirs(os.path.dirname(LOCK), exist_ok=True)
    lock = open(LOCK, "w")
    fcntl.flock(lock, fcntl.LOCK_EX)
    if installed():
        print(f"FAIL {PKG} is installed on this machine: this test would replace and purge it")
        return 1
    user_existed = run(["getent", "passwd", "dispatchd"]).returncode == 0
    base = os.path.join(harness.SOURCE_DIR, "run", "tests")
    os.makedirs(base, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix="test_package-", dir=base)
    os.chmod(tmp, 0o755)
    pg = redis = lintian = cpack = None
    t0 = time.monotonic()
    try:
        out, cpack = start_cpack(tmp)
        pg = harness.Postgres(tmp)
        redis = harness.Redis(tmp)
        step("private PostgreSQL and Redis", t0)
        new, old, version = build_packages(out, cpack)
        step(f"cpack built {os.path.basename(new)}, repacked as {version}{OLD_VERSION_SUFFIX}", t0)
        # lintian is slow: it runs while the rest goes on.
        lintian = subprocess.Popen(["lintian", "--fail-on", "error", new], stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT, text=True, cwd=tmp)
        inspect(new)
        step("dpkg-deb --info/--contents: files, modes, conffiles, computed dependencies", t0)

        r = ok(["dpkg", "-i", old], env=DPKG_ENV)
        check_installed_state(r.stdout + r.stderr)
        step("dpkg -i (older version): user, modes, not started, next steps printed", t0)
        unit = os.path.join(UNIT_DIR, "dispatchd.service")
        r = run(["systemd-analyze", "verify", "--man=yes", unit])
        assert r.returncode == 0 and "dispatchd.service" not in r.stderr, r.stderr
        r = run(["systemd-analyze", "security", "--offline=yes", "--threshold=20", unit])
        m = re.search(r"Overall exposure level for dispatchd.service: ([0-9.]+)", r.stdout)
        assert r.returncode == 0 and m, r.stdout[-2000:] + r.stderr
        assert float(m.group(1)) <= 2.0, m.group(1)
        step(f"systemd-analyze verify (man pages too); security exposure {m.group(1)}", t0)

        conf_md5 = edit_config(peer_auth(pg), redis)
        key_md5 = md5(KEY)
        n_migrations = len(os.listdir("/usr/share/dispatchd/migrations"))
        r = run(["dispatchctl", "migrate", "-c", CONF])  # as root: refused by peer authentication
        assert r.returncode == 1 and "Peer authentication failed" in r.stderr, r
        r = as_service(["dispatchctl", "migrate", "-c", CONF])
        assert r.returncode == 0, r.stdout + r.stderr
        applied = f"{n_migrations} migration(s) known, {n_migrations} applied now"
        assert applied in r.stdout, r.stdout
        r = as_service(["dispatchctl", "tokens", "create", "--role", "admin", "--label", "ops",
                        "-c", CONF])
        assert r.returncode == 0, r.stderr
        admin = dict(l.split(None, 1) for l in r.stdout.splitlines() if " " in l)
        run_the_unit(tmp, admin["token"], n_migrations, "old")
        step("as dispatchd, peer-authenticated on the socket: migrate (installed schema), admin "
             "token, the unit's --check-config and daemon: READY=1, /readyz, SIGTERM", t0)

        ok(["dpkg", "-i", old], env=DPKG_ENV)
        assert md5(CONF) == conf_md5 and md5(KEY) == key_md5
        check_installed_state(None)
        # Changed by both: dpkg would ask; unattended, the operator's stays and
        # the package's new one is put beside it.
        r = ok(["dpkg", "--force-confdef", "--force-confold", "-i", new], env=DPKG_ENV)
        assert f"upgraded from {version}{OLD_VERSION_SUFFIX}" in r.stdout, r.stdout
        assert md5(CONF) == conf_md5 and md5(KEY) == key_md5
        with open(CONF + ".dpkg-dist") as f:
            assert not f.read().startswith(OLD_CONF_LINE)
        check_installed_state(None)
        assert ok(["dpkg-query", "-W", "-f=${Version}", PKG]).stdout == version
        r = as_service(["dispatchctl", "migrate", "-c", CONF])
        assert r.returncode == 0 and f"{n_migrations} migration(s) known, 0 applied now" in \
            r.stdout, r.stdout + r.stderr
        r = as_service(["dispatchctl", "tokens", "list", "-c", CONF])
        assert r.returncode == 0 and "ops" in r.stdout, r.stdout + r.stderr
        run_the_unit(tmp, admin["token"], n_migrations, "new")
        step("same version again, then the newer over the older: edited config, key, "
             "schema and token kept; the daemon runs", t0)

        ok(["dpkg", "--purge", PKG], env=DPKG_ENV)
        left = [p for p in OWN_PATHS if os.path.lexists(p)]
        left += glob.glob("/var/lib/systemd/deb-systemd-helper-*/**/dispatchd*", recursive=True)
        assert not left and not installed(), left
        step("dpkg --purge removes every file of the package, /etc/dispatchd included", t0)

        out, _ = lintian.communicate(timeout=120)
        lines = [l for l in out.splitlines() if re.match(r"^[EWIPXO]: ", l)]
        assert lintian.returncode == 0 and not any(l.startswith("E: ") for l in lines), out
        step("lintian: no error" + "".join(f"\n     {l}" for l in lines), t0)
    finally:
        for p in (cpack, lintian):
            if p is not None and p.poll() is None:
                p.kill()
                p.wait()
        if installed() or run(["dpkg-query", "-W", PKG]).returncode == 0:
            run(["dpkg", "--purge", PKG], env=DPKG_ENV)
        if not user_existed and run(["getent", "passwd", "dispatchd"]).returncode == 0:
            run(["userdel", "dispatchd"])
            if run(["getent", "group", "dispatchd"]).returncode == 0:
                run(["groupdel", "dispatchd"])
        for svc in (redis, pg):
            if svc is not None:
                svc.kill()
        harness.kill_all()
        if not os.environ.get("DISPATCH_KEEP"):
            shutil.rmtree(tmp, ignore_errors=True)
            if pg is not None and pg.owns_dir:
                shutil.rmtree(pg.dir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, lambda s, f: sys.exit(128 + s))
    try:
        sys.exit(main())
    except AssertionError as e:
        import traceback
        traceback.print_exc()
        print(f"FAIL {e}"[:3000])
        sys.exit(1)
