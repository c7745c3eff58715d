"""The command lines: dispatchd --check-config / --version, and
dispatchctl migrate (idempotent, safe when several run at once, refusing a
migration edited after it was applied, all or nothing; the data/sql files
re-applied when they change, and only then)."""
import hashlib
import os
import shutil
import subprocess

import harness

DISPATCHD = os.path.join(harness.BUILD_DIR, "dispatchd")
DISPATCHCTL = os.path.join(harness.BUILD_DIR, "dispatchctl")
MIGRATIONS = os.path.join(harness.SOURCE_DIR, "data", "migrations")
SQL = os.path.join(harness.SOURCE_DIR, "data", "sql")


def sql_files(d=SQL):
    return sorted(f for f in os.listdir(d) if f.endswith(".sql"))


def copy_data(w, name):
    """A private copy of data/migrations and data/sql under w.root/name;
    returns the copy's (migrations, sql) folders."""
    base = os.path.join(w.root, name)
    shutil.copytree(MIGRATIONS, os.path.join(base, "migrations"))
    shutil.copytree(SQL, os.path.join(base, "sql"))
    return os.path.join(base, "migrations"), os.path.join(base, "sql")


def fresh_db(w, name):
    w.pg.psql("postgres", f"CREATE DATABASE {name} OWNER dispatchd")
    return w.pg.dsn.replace("dbname=dispatchd", f"dbname={name}")


def ctl_migrate(dsn, mig, *extra):
    return subprocess.run([DISPATCHCTL, "migrate", "--dsn", dsn, "--dir", mig] + list(extra),
                          capture_output=True, text=True)


def told(r, verb):
    """The file names a migrate run printed after verb ("applied", "defined")."""
    return sorted(l.split()[1] for l in r.stdout.splitlines() if l.startswith(verb + " "))


def recorded(w, db):
    """schema_functions as {name: (checksum, applied_at)}."""
    out = w.pg.psql(db, "SELECT name, checksum, applied_at FROM schema_functions")
    return {l.split("|")[0]: tuple(l.split("|")[1:]) for l in out.splitlines() if l}


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
    assert "0 defined now" in r.stdout and told(r, "defined") == [], r.stdout
    n = w.pg.psql("dispatchd", "SELECT count(*) FROM schema_migrations")
    files = [f for f in os.listdir(os.path.join(harness.SOURCE_DIR, "data", "migrations"))
             if f.endswith(".sql")]
    assert int(n) == len(files), (n, files)
    # Every data/sql file is recorded with the md5 of its text.
    want = {f: hashlib.md5(open(os.path.join(SQL, f), "rb").read()).hexdigest()
            for f in sql_files()}
    assert {k: v[0] for k, v in recorded(w, "dispatchd").items()} == want


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
    defined = [l.split()[1] for o in outs for l in o[0].splitlines() if l.startswith("defined ")]
    assert sorted(defined) == sql_files(), outs  # and each sql file defined by one of them
    assert sorted(recorded(w, "race")) == sql_files()


def test_edited_migration_is_refused(w):
    d, _ = copy_data(w, "edited")
    first = sorted(os.listdir(d))[0]
    with open(os.path.join(d, first), "a") as f:
        f.write("\n-- edited\n")
    r = subprocess.run([DISPATCHCTL, "migrate", "--dsn", w.pg.dsn, "--dir", d],
                       capture_output=True, text=True)
    assert r.returncode == 1 and "changed after it was applied" in r.stderr, r


def test_an_older_release_refuses_a_newer_database(w):
    """The database went through a migration this folder does not have (a
    newer release migrated it): an older dispatchctl must not put its older
    SQL function files back over the newer schema."""
    d, _ = copy_data(w, "older")
    last = sorted(f for f in os.listdir(d) if f.endswith(".sql"))[-1]
    os.remove(os.path.join(d, last))
    before = w.pg.psql("dispatchd", "SELECT string_agg(name || checksum, ',' ORDER BY name) "
                                    "FROM schema_functions")
    r = subprocess.run([DISPATCHCTL, "migrate", "--dsn", w.pg.dsn, "--dir", d],
                       capture_output=True, text=True)
    assert r.returncode == 1 and "newer than this release" in r.stderr and last in r.stderr, r
    assert w.pg.psql("dispatchd", "SELECT string_agg(name || checksum, ',' ORDER BY name) "
                                  "FROM schema_functions") == before


def test_failed_migration_applies_nothing(w):
    d, _ = copy_data(w, "bad")
    with open(os.path.join(d, "999_broken.sql"), "w") as f:
        f.write("CREATE TABLE half_done (x int);\nSELECT no_such_function();\n")
    r = subprocess.run([DISPATCHCTL, "migrate", "--dsn", w.pg.dsn, "--dir", d],
                       capture_output=True, text=True)
    assert r.returncode == 1 and "999_broken.sql" in r.stderr, r
    assert w.pg.psql("dispatchd", "SELECT to_regclass('half_done') IS NULL") == "t"
    assert w.pg.psql("dispatchd", "SELECT count(*) FROM schema_migrations WHERE version = 999") == "0"



def test_changed_sql_file_is_reapplied_and_unchanged_is_not(w):
    dsn = fresh_db(w, "sqlfiles")
    mig, sql = copy_data(w, "sqlfiles")
    r = ctl_migrate(dsn, mig)
    assert r.returncode == 0, r.stderr
    assert told(r, "defined") == sql_files(), r.stdout  # a fresh database: every file
    before = recorded(w, "sqlfiles")
    # Nothing changed: nothing defined again, nothing recorded again.
    r = ctl_migrate(dsn, mig)
    assert r.returncode == 0 and told(r, "defined") == [] and told(r, "applied") == [], r
    assert recorded(w, "sqlfiles") == before
    # One file changed (it now also comments its function): only it is applied again.
    path = os.path.join(sql, "stock_set.sql")
    with open(path, "a") as f:
        f.write("COMMENT ON FUNCTION stock_set(text, text, integer, text, text) IS 'edited by the test';\n")
    r = ctl_migrate(dsn, mig)
    assert r.returncode == 0 and told(r, "defined") == ["stock_set.sql"], r
    assert "1 defined now" in r.stdout, r.stdout
    assert w.pg.psql("sqlfiles", "SELECT obj_description('stock_set(text,text,integer,text,text)'"
                                 "::regprocedure)") == "edited by the test"
    after = recorded(w, "sqlfiles")
    assert after["stock_set.sql"][0] == hashlib.md5(open(path, "rb").read()).hexdigest()
    assert after["stock_set.sql"][1] > before["stock_set.sql"][1], (before, after)
    assert {k: v for k, v in after.items() if k != "stock_set.sql"} == \
        {k: v for k, v in before.items() if k != "stock_set.sql"}


def test_new_migration_reapplies_every_sql_file(w):
    """A migration may drop a function or view (to change its signature);
    its file re-creates it in the same run."""
    dsn = fresh_db(w, "redefine")
    mig, _ = copy_data(w, "redefine")
    assert ctl_migrate(dsn, mig).returncode == 0
    with open(os.path.join(mig, "900_drop_for_a_new_signature.sql"), "w") as f:
        f.write("DROP FUNCTION order_doc_events(text);\nDROP VIEW intake_warehouses;\n")
    r = ctl_migrate(dsn, mig)
    assert r.returncode == 0, r.stderr
    assert told(r, "applied") == ["900_drop_for_a_new_signature.sql"], r.stdout
    assert told(r, "defined") == sql_files(), r.stdout
    assert w.pg.psql("redefine", "SELECT to_regprocedure('order_doc_events(text)') IS NOT NULL "
                                 "AND to_regclass('intake_warehouses') IS NOT NULL") == "t"


def test_sql_files_wait_for_what_they_use(w):
    """Files are tried in name order; one that needs a later one is retried."""
    dsn = fresh_db(w, "sqlorder")
    mig, sql = copy_data(w, "sqlorder")
    with open(os.path.join(sql, "aaa_probe_view.sql"), "w") as f:
        f.write("CREATE OR REPLACE VIEW aaa_probe_view AS SELECT zzz_probe() AS x;\n")
    with open(os.path.join(sql, "zzz_probe.sql"), "w") as f:
        f.write("CREATE OR REPLACE FUNCTION zzz_probe() RETURNS integer LANGUAGE sql "
                "AS 'SELECT 42';\n")
    r = ctl_migrate(dsn, mig)
    assert r.returncode == 0, r.stderr
    assert "aaa_probe_view.sql" in told(r, "defined"), r.stdout
    assert w.pg.psql("sqlorder", "SELECT x FROM aaa_probe_view") == "42"
    # A removed file is forgotten (its object stays until a migration drops it).
    os.remove(os.path.join(sql, "aaa_probe_view.sql"))
    r = ctl_migrate(dsn, mig)
    assert r.returncode == 0 and "forgot aaa_probe_view.sql" in r.stdout, r
    assert "aaa_probe_view.sql" not in recorded(w, "sqlorder")
    assert "zzz_probe.sql" in recorded(w, "sqlorder")


def test_failed_sql_file_applies_nothing(w):
    """Migrations and sql files are one transaction: a broken file undoes the
    migration applied before it in the same run."""
    dsn = fresh_db(w, "brokensql")
    mig, sql = copy_data(w, "brokensql")
    assert ctl_migrate(dsn, mig).returncode == 0
    before = recorded(w, "brokensql")
    with open(os.path.join(mig, "901_table.sql"), "w") as f:
        f.write("CREATE TABLE from_901 (x int);\n")
    with open(os.path.join(sql, "broken.sql"), "w") as f:
        f.write("CREATE OR REPLACE FUNCTION broken() RETURNS int LANGUAGE sql AS "
                "'SELECT no_such_column FROM no_such_table';\n")
    r = ctl_migrate(dsn, mig)
    assert r.returncode == 1 and "broken.sql" in r.stderr and "no_such_table" in r.stderr, r
    assert "nothing was changed" in r.stderr, r.stderr
    assert w.pg.psql("brokensql", "SELECT to_regclass('from_901') IS NULL") == "t"
    assert w.pg.psql("brokensql", "SELECT count(*) FROM schema_migrations "
                                  "WHERE version = 901") == "0"
    assert recorded(w, "brokensql") == before


def test_sql_dir_from_config_or_beside_migrations(w):
    dsn = fresh_db(w, "paths")
    mig, sql = copy_data(w, "paths")
    with open(os.path.join(sql, "probe_beside.sql"), "w") as f:
        f.write("CREATE OR REPLACE FUNCTION probe_beside() RETURNS int LANGUAGE sql "
                "AS 'SELECT 1';\n")
    # paths.sql_dir unset: the folder sql beside paths.migrations_dir.
    conf = write(w, "paths.conf", f"[postgres]\ndsn = {dsn}\n[paths]\nmigrations_dir = {mig}/\n")
    r = subprocess.run([DISPATCHCTL, "migrate", "-c", conf], capture_output=True, text=True)
    assert r.returncode == 0 and "probe_beside.sql" in told(r, "defined"), r
    # paths.sql_dir set: that folder (here the source tree's, without the probe).
    conf = write(w, "paths2.conf", f"[postgres]\ndsn = {dsn}\n[paths]\nmigrations_dir = {mig}\n"
                                   f"sql_dir = {SQL}\n")
    r = subprocess.run([DISPATCHCTL, "migrate", "-c", conf], capture_output=True, text=True)
    assert r.returncode == 0 and "forgot probe_beside.sql" in r.stdout, r
    # --sql-dir beats the file; a folder that does not exist changes nothing.
    r = subprocess.run([DISPATCHCTL, "migrate", "-c", conf, "--sql-dir", "/nonexistent"],
                       capture_output=True, text=True)
    assert r.returncode == 1 and "cannot open sql folder /nonexistent" in r.stderr, r
    assert sorted(recorded(w, "paths")) == sql_files()



def test_upgrade_of_a_database_migrated_before_sql_files(w):
    """A database migrated 001..012 by the earlier runner (no schema_functions):
    013 drops the dead capacity_book, every file defines its object, and the
    functions are the files' versions (intake_commit books capacity: 011's)."""
    dsn = fresh_db(w, "upgrade")
    for f in sorted(os.listdir(MIGRATIONS)):
        if not f.endswith(".sql") or int(f.split("_")[0]) > 12:
            continue
        text = open(os.path.join(MIGRATIONS, f)).read()
        subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", dsn, "-f",
                        os.path.join(MIGRATIONS, f)], check=True, capture_output=True)
        w.pg.psql("upgrade", "CREATE TABLE IF NOT EXISTS schema_migrations (version integer "
                  "PRIMARY KEY, name text NOT NULL, checksum text NOT NULL, applied_at "
                  "timestamptz NOT NULL DEFAULT now())", user="dispatchd")
        w.pg.psql("upgrade", f"INSERT INTO schema_migrations (version, name, checksum) VALUES "
                  f"({int(f.split('_')[0])}, '{f}', '{hashlib.md5(text.encode()).hexdigest()}')",
                  user="dispatchd")
    assert w.pg.psql("upgrade", "SELECT to_regprocedure('capacity_book(text,text,integer)') "
                                "IS NOT NULL") == "t"
    r = ctl_migrate(dsn, MIGRATIONS)
    assert r.returncode == 0, r.stderr
    # Exactly the migrations after 012, in order (013 drops capacity_book).
    later = sorted(f for f in os.listdir(MIGRATIONS)
                   if f.endswith(".sql") and int(f.split("_")[0]) > 12)
    assert later[0] == "013_drop_capacity_book.sql" and told(r, "applied") == later, r.stdout
    assert told(r, "defined") == sql_files(), r.stdout
    assert w.pg.psql("upgrade", "SELECT to_regprocedure('capacity_book(text,text,integer)') "
                                "IS NULL") == "t"
    src = w.pg.psql("upgrade", "SELECT prosrc FROM pg_proc WHERE proname = 'intake_commit'")
    assert "capacity_counters" in src, src[:200]


if __name__ == "__main__":
    harness.run(globals())
