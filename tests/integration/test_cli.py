"""The command lines: dispatchd --check-config / --version, and
dispatchctl migrate (idempotent, safe when several run at once, refusing a
migration edited after it was applied)."""
import os
import shutil
import subprocess

import harness

DISPATCHD = os.path.join(harness.BUILD_DIR, "dispatchd")
DISPATCHCTL = os.path.join(harness.BUILD_DIR, "dispatchctl")


def write(w, name, text):
    path = os.path.join(w.root, name)
    with open(path, "w") as f:
        f.write(text)
    return path


def test_version(w):
    r = subprocess.run([DISPATCHD, "--version"], capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout.startswith("dispatchd "), r
    r = subprocess.run([DISPATCHCTL, "--version"], capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout.startswith("dispatchctl "), r


def test_dispatchctl_links_no_event_loop(w):
    # dispatchctl is the cores, the config and libpq: no libevent, hiredis or libsystemd.
    out = subprocess.run(["ldd", DISPATCHCTL], capture_output=True, text=True, check=True).stdout
    assert "libpq" in out, out
    for lib in ("libevent", "libhiredis", "libsystemd"):
        assert lib not in out, f"dispatchctl links {lib}:\n{out}"


def test_check_config_accepts_the_example(w):
    example = os.path.join(harness.SOURCE_DIR, "config", "dispatchd.conf")
    r = subprocess.run([DISPATCHD, "--check-config", "-c", example], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


def test_check_config_names_key_and_line(w):
    cases = [
        ("[server]\nlisten_port = 8080\nlisten_prot = 1\n", "line 3", "listen_prot"),
        ("[server]\n\nlisten_port = 99999\n", "line 3", "listen_port"),
        ("[redis]\nport = 6379\n[log]\nlevel = loud\n", "line 4", "level"),
        ("[postgres]\npool_size = many\n", "line 2", "pool_size"),
        ("[server]\nthis is not ini\n", "line 2", "syntax"),
        ("[promise]\nwaves = 09:00-13:00\n", "line 2", "waves"),
        # Valid alone, inconsistent together: named, though not tied to one line.
        ("[promise]\nsame_day_cutoff = 23:30\nnext_day_cutoff = 22:00\n", "[promise]", "cutoff"),
    ]
    for text, line, key in cases:
        path = write(w, "bad.conf", text)
        r = subprocess.run([DISPATCHD, "--check-config", "-c", path], capture_output=True, text=True)
        assert r.returncode == 1, (text, r)
        assert line in r.stderr and key in r.stderr, (text, r.stderr)
    # Backends by name would need blocking DNS on the event loop: refused.
    for text, key in (("[postgres]\ndsn = host=db.example.com dbname=x\n", "[postgres] dsn"),
                      ("[redis]\nhost = redis.example.com\n", "[redis] host")):
        path = write(w, "names.conf", text)
        r = subprocess.run([DISPATCHD, "--check-config", "-c", path], capture_output=True, text=True)
        assert r.returncode == 1 and key in r.stderr and "block" in r.stderr, (text, r.stderr)
    for ok in ("[postgres]\ndsn = host=/var/run/postgresql dbname=x\n",
               "[postgres]\ndsn = host=db hostaddr=10.0.0.5 dbname=x\n",
               "[redis]\nhost = ::1\n"):
        path = write(w, "addrs.conf", ok)
        r = subprocess.run([DISPATCHD, "--check-config", "-c", path], capture_output=True, text=True)
        assert r.returncode == 0, (ok, r.stderr)
    r = subprocess.run([DISPATCHD, "--check-config", "-c", "/nonexistent.conf"],
                       capture_output=True, text=True)
    assert r.returncode == 1 and "cannot open" in r.stderr, r


def test_secrets_from_environment(w):
    path = write(w, "env.conf", "[postgres]\ndsn = host=nowhere\n")
    env = dict(os.environ, DISPATCH_PG_DSN=w.pg.dsn)
    r = subprocess.run([DISPATCHCTL, "migrate", "-c", path], capture_output=True, text=True, env=env)
    assert r.returncode == 0, r.stderr


def test_migrate_is_idempotent(w):
    r = harness.migrate(w.pg.dsn)
    assert r.returncode == 0, r.stderr
    assert "0 applied now" in r.stdout, r.stdout
    n = w.pg.psql("dispatchd", "SELECT count(*) FROM schema_migrations")
    files = [f for f in os.listdir(os.path.join(harness.SOURCE_DIR, "data", "migrations"))
             if f.endswith(".sql")]
    assert int(n) == len(files), (n, files)


def test_concurrent_migrators_on_a_fresh_database(w):
    w.pg.psql("postgres", "CREATE DATABASE race OWNER dispatchd")
    dsn = w.pg.dsn.replace("dbname=dispatchd", "dbname=race")
    procs = [subprocess.Popen([DISPATCHCTL, "migrate", "--dsn", dsn, "--dir",
                               os.path.join(harness.SOURCE_DIR, "data", "migrations")],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(4)]
    outs = [p.communicate(timeout=60) + (p.returncode,) for p in procs]
    assert all(o[2] == 0 for o in outs), outs
    applied = [l.split()[1] for o in outs for l in o[0].splitlines() if l.startswith("applied ")]
    files = sorted(f for f in os.listdir(os.path.join(harness.SOURCE_DIR, "data", "migrations"))
                   if f.endswith(".sql"))
    assert sorted(applied) == files, outs  # each migration applied by exactly one of them


def test_edited_migration_is_refused(w):
    d = os.path.join(w.root, "migrations")
    shutil.copytree(os.path.join(harness.SOURCE_DIR, "data", "migrations"), d)
    first = sorted(os.listdir(d))[0]
    with open(os.path.join(d, first), "a") as f:
        f.write("\n-- edited\n")
    r = subprocess.run([DISPATCHCTL, "migrate", "--dsn", w.pg.dsn, "--dir", d],
                       capture_output=True, text=True)
    assert r.returncode == 1 and "changed after it was applied" in r.stderr, r


def test_failed_migration_applies_nothing(w):
    d = os.path.join(w.root, "migrations-bad")
    shutil.copytree(os.path.join(harness.SOURCE_DIR, "data", "migrations"), d)
    with open(os.path.join(d, "999_broken.sql"), "w") as f:
        f.write("CREATE TABLE half_done (x int);\nSELECT no_such_function();\n")
    r = subprocess.run([DISPATCHCTL, "migrate", "--dsn", w.pg.dsn, "--dir", d],
                       capture_output=True, text=True)
    assert r.returncode == 1 and "999_broken.sql" in r.stderr, r
    assert w.pg.psql("dispatchd", "SELECT to_regclass('half_done') IS NULL") == "t"
    assert w.pg.psql("dispatchd", "SELECT count(*) FROM schema_migrations WHERE version = 999") == "0"


if __name__ == "__main__":
    harness.run(globals())
