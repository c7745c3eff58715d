"""`make bench` as a tool: every figure is named for its suite, one a line
(dispatch-bench's suites and the wrk scripts, held to it by bench_names);
the HTTP floor server answers its fixed body and stops on SIGTERM; and the
bench refuses a PostgreSQL or Redis on its fixed ports that is not its own
checkout's, before touching anything. Nothing here measures speed: the
suites run for a token time and only their names and validity are checked."""
import os
import re
import shutil
import signal
import subprocess
import tempfile

import harness

BENCH = os.path.join(harness.BUILD_DIR, "dispatch-bench")
FLOOR = os.path.join(harness.BUILD_DIR, "dispatch-http-floor")
SCRIPTS = os.path.join(harness.SOURCE_DIR, "scripts")
FIGURE = re.compile(r"^([a-z][a-z0-9_]*)=([^ =]+)$")


def bench_names(prefixes, text):
    """scripts/bench_lib.sh's bench_names over text: (exit code, stdout, stderr)."""
    r = subprocess.run(["bash", "-c", f'source "{SCRIPTS}/env.sh"; source "{SCRIPTS}/bench_lib.sh";'
                        ' bench_names "$1"', "bench_names", prefixes],
                       input=text, capture_output=True, text=True)
    return r.returncode, r.stdout, r.stderr


def figures(prefixes, text):
    """The figures of a suite's output, asserting that bench_names accepts
    every line and that every figure line carries one of the prefixes."""
    rc, out, err = bench_names(prefixes, text)
    assert rc == 0, (err, text)
    found = {}
    for line in out.splitlines():
        m = FIGURE.match(line)
        assert m and re.match(rf"^({prefixes})_", m.group(1)), line
        assert m.group(1) not in found, f"{m.group(1)} printed twice"
        found[m.group(1)] = m.group(2)
    # Every line that is not detail is a figure: none was dropped silently.
    kept = [l for l in text.splitlines() if l and not l.startswith("# ")]
    assert kept == out.splitlines(), (kept, out)
    return found


def run_suite(*args):
    r = subprocess.run([BENCH] + list(args), capture_output=True, text=True,
                       cwd=harness.SOURCE_DIR, timeout=120)
    assert r.returncode == 0, (args, r.stderr)
    return r.stdout


def test_bench_names_refuses_unnamed_figures(w):
    ok = "# C101 vehicles=10 gap_pct=0.00\nintake_p99_ms=25.7\nintake_vs_pgbench=0.73\n"
    assert figures("intake", ok) == {"intake_p99_ms": "25.7", "intake_vs_pgbench": "0.73"}
    for bad in ("p99_ms=25.7\n",                            # the old, suite-less name
                "promise_p99_ms=1.2\n",                     # another suite's name
                "intake_orders_per_s=1 intake_p99_ms=2\n",  # two figures on one line
                "intake_vs_pgbench=\n",                     # no value (a failed ratio)
                "station stops=300 couriers=15\n"):         # not a figure at all
        rc, _, err = bench_names("intake", "intake_requests=5\n" + bad)
        assert rc != 0 and "not a named figure" in err, (bad, err)


def test_dispatch_bench_suites_name_every_figure(w):
    geo = figures("geo", run_suite("geo", "--seconds", "0.05"))
    assert int(geo["geo_stations"]) == 80, geo
    assert geo["geo_found"] == geo["geo_lookups"], geo
    assert list(geo)[-1] == "geo_lookups_per_s", geo  # the headline comes last
    out = run_suite("vrp", "--solomon", "data/solomon", "--seconds", "0.01", "--only", "C101,R101")
    assert len([l for l in out.splitlines() if l.startswith("# ")]) == 2, out  # one per instance
    vrp = figures("vrp", out)
    assert vrp["vrp_instances"] == "2", vrp
    assert list(vrp)[-1] == "vrp_mean_gap_pct", vrp
    station = figures("vrp", run_suite("vrp", "--station", "--seconds", "0.01"))
    assert station["vrp_station_valid"] == "1" and station["vrp_station_stops"] == "300", station
    assert station["vrp_station_unassigned"] == "0", station


class Floor:
    def __init__(self, *args):
        self.proc = subprocess.Popen([FLOOR] + list(args), stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        assert line.startswith("port="), line
        self.port = int(line[5:])

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=10)


def test_http_floor_answers_a_fixed_body(w):
    floor = Floor("--body-bytes", "300")
    try:
        import http.client
        for method, path in (("GET", "/v1/promise?lat=39.9&lon=116.4&sku=A:1"), ("POST", "/x"),
                             ("GET", "/")):
            c = http.client.HTTPConnection("127.0.0.1", floor.port, timeout=5)
            c.request(method, path, body="{}" if method == "POST" else None)
            r = c.getresponse()
            body = r.read()
            c.close()
            assert r.status == 200 and r.getheader("Content-Type") == "application/json", r.status
            assert len(body) == 300 and body.startswith(b'{"floor":"') and body.endswith(b'"}')
    finally:
        assert floor.stop() == 0
    for bad in (["--body-bytes", "5"], ["--port", "70000"], ["--port", "x"], ["--bogus", "1"]):
        r = subprocess.run([FLOOR] + bad, capture_output=True, text=True, timeout=10)
        assert r.returncode == 2 and "usage" in r.stderr, (bad, r)


def test_wrk_scripts_name_their_figures(w):
    # Both wrk scripts against the floor for one second: the names are checked,
    # not the rates. promise.lua's figure name is its third argument.
    tmp = tempfile.mkdtemp(dir=w.root)
    points, skus = os.path.join(tmp, "points.txt"), os.path.join(tmp, "skus.txt")
    with open(points, "w") as f:
        f.write("39.9087 116.3975\n39.95 116.45\n")
    with open(skus, "w") as f:
        f.write("SKU-1\nSKU-2\nSKU-3\n")
    floor = Floor()
    try:
        url = f"http://127.0.0.1:{floor.port}"

        def wrk(script, *args):
            r = subprocess.run(["wrk", "-t", "1", "-c", "2", "-d", "1s", "-s",
                                os.path.join(harness.SOURCE_DIR, "tests", "bench", script), url,
                                "--", points, skus] + list(args),
                               capture_output=True, text=True, timeout=60)
            assert r.returncode == 0, r.stderr
            # wrk's own report precedes the script's figures.
            return "\n".join(l for l in r.stdout.splitlines() if FIGURE.match(l)) + "\n"

        fl = figures("http_floor", wrk("promise.lua", "http_floor"))
        assert set(fl) == {"http_floor_req_per_s", "http_floor_p99_ms", "http_floor_non_200",
                           "http_floor_socket_errors"}, fl
        assert int(fl["http_floor_req_per_s"]) > 0 and fl["http_floor_non_200"] == "0", fl
        pr = figures("promise", wrk("promise.lua"))
        assert set(pr) == {"promise_req_per_s", "promise_p99_ms", "promise_non_200",
                           "promise_socket_errors"}, pr
        it = figures("intake", wrk("intake.lua"))
        assert set(it) == {"intake_requests", "intake_created", "intake_other_status",
                           "intake_socket_errors", "intake_orders_per_s", "intake_p99_ms"}, it
        # The floor answers 200, never 201: no order counted as created.
        assert it["intake_created"] == "0" and int(it["intake_other_status"]) > 0, it
        # pings.lua reads its first argument as the courier tokens, one a line.
        pg = figures("pings", wrk("pings.lua"))
        assert set(pg) == {"pings_requests", "pings_accepted", "pings_non_202",
                           "pings_socket_errors", "pings_per_s", "pings_p99_ms"}, pg
        assert pg["pings_accepted"] == "0" and int(pg["pings_non_202"]) > 0, pg
    finally:
        assert floor.stop() == 0


def bench_env(run_dir, pg_port, redis_port):
    env = dict(os.environ)
    env.update(DISPATCH_RUN_DIR=run_dir, DISPATCH_PG_PORT=str(pg_port),
               DISPATCH_REDIS_PORT=str(redis_port), DISPATCH_BUILD_DIR=harness.BUILD_DIR)
    return env


def test_bench_refuses_another_checkouts_stack(w):
    # This module's PostgreSQL and Redis stand for another checkout's `make
    # up`: the bench, pointed at their ports from a run folder of its own,
    # must refuse before it drops a database or flushes a Redis database.
    other = tempfile.mkdtemp(prefix="other-checkout-", dir=w.root)
    env = bench_env(other, w.pg.port, w.redis.port)
    w.redis.cli("-n", "1", "SET", "theirs", "1")
    w.redis.cli("-n", "2", "SET", "theirs", "2")
    for argv in (["--check-stack"], []):
        r = subprocess.run(["bash", os.path.join(SCRIPTS, "bench.sh")] + argv, env=env,
                           capture_output=True, text=True, timeout=120)
        assert r.returncode != 0, (argv, r)
        assert f"PostgreSQL on 127.0.0.1:{w.pg.port} is another checkout's" in r.stderr, r.stderr
        assert f"Redis on 127.0.0.1:{w.redis.port} is another checkout's" in r.stderr, r.stderr
        assert "make down" in r.stderr, r.stderr
        assert r.stdout == "", r.stdout  # not one figure printed
    assert w.redis.cli("-n", "1", "GET", "theirs") == "1"
    assert w.redis.cli("-n", "2", "GET", "theirs") == "2"
    dbs = w.pg.psql("postgres", "SELECT datname FROM pg_database")
    assert "dispatchd_bench" not in dbs and "dispatchd_pgbench" not in dbs, dbs
    assert not os.path.exists(os.path.join(other, "bench")), "bench started before refusing"
    # Nothing at all on the ports: refused too, saying so.
    env = bench_env(other, harness.free_port(), harness.free_port())
    r = subprocess.run(["bash", os.path.join(SCRIPTS, "bench.sh"), "--check-stack"], env=env,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode != 0 and "no PostgreSQL of this checkout answers" in r.stderr, r.stderr
    assert "no Redis of this checkout answers" in r.stderr, r.stderr


def test_bench_accepts_its_own_stack(w):
    # With the run folder these servers were started from (run/pg/data and
    # run/redis, as up.sh lays them out), the check passes.
    env = bench_env(w.root, w.pg.port, w.redis.port)
    r = subprocess.run(["bash", os.path.join(SCRIPTS, "bench.sh"), "--check-stack"], env=env,
                       capture_output=True, text=True, timeout=60)
    assert "Redis" not in r.stderr, r.stderr
    if w.pg.owns_dir:
        # The checkout is out of the postgres user's reach: env.sh and the
        # harness then choose different folders under /var/tmp; only the
        # Redis half can be checked here.
        return
    assert r.returncode == 0 and r.stderr == "", r.stderr


def test_make_bench_prints_every_figure(w):
    # The whole of scripts/bench.sh on this module's private servers (as if
    # they were this checkout's `make up`), every suite for a token time: the
    # output is the "# " command lines and named figures, each name once, and
    # every figure the issue names is there. The rates are not checked.
    env = bench_env(w.root, w.pg.port, w.redis.port)
    env.update(GEO_SECONDS="0.05", VRP_SECONDS="0.005", INTAKE_DURATION="1",
               INTAKE_CONNECTIONS="4", PROMISE_DURATION="1", PROMISE_CONNECTIONS="4",
               FEED_POLLS="20", FEED_STATIONS="4", FEED_CHANGES="8", FEED_RATE="40",
               PINGS_DURATION="1", PINGS_CONNECTIONS="4", PINGS_COURIERS="4")
    r = subprocess.run(["bash", os.path.join(SCRIPTS, "bench.sh")], env=env, capture_output=True,
                       text=True, timeout=500)
    assert r.returncode == 0, (r.stdout, r.stderr)
    lines = r.stdout.splitlines()
    assert lines[0].startswith("# make bench "), lines[0]
    commands = [l for l in lines if l.startswith("# ")][1:]
    assert [c.split()[1].rsplit("/", 1)[-1] for c in commands] == \
        ["dispatch-bench"] * 3 + ["bench_intake.sh", "bench_promise.sh", "bench_feed.sh",
                                  "bench_pings.sh"], commands
    suite_of_command = ["geo", "vrp", "vrp", "intake", "promise|http_floor", "feed", "pings"]
    seen, suite = {}, None
    for line in lines[1:]:
        if line.startswith("# "):
            suite = suite_of_command[commands.index(line)]
            continue
        m = FIGURE.match(line)
        assert m and re.match(rf"^({suite})_", m.group(1)), (suite, line)
        assert m.group(1) not in seen, f"{m.group(1)} printed twice"
        seen[m.group(1)] = m.group(2)
    for name in ("geo_lookups_per_s", "vrp_mean_gap_pct", "vrp_station_valid",
                 "intake_orders_per_s", "intake_p99_ms", "intake_pgbench_tps", "intake_vs_pgbench",
                 "promise_req_per_s", "promise_p99_ms", "promise_pg_queries",
                 "http_floor_req_per_s", "http_floor_p99_ms", "promise_vs_http_floor",
                 "feed_wakeup_p99_ms", "feed_pg_connections", "pings_per_s", "pings_p99_ms"):
        assert name in seen, (name, r.stdout)
    # The floor ran with the promise's settings and a reply of the promise's size.
    assert seen["promise_connections"] == "4" and seen["promise_duration_s"] == "1", seen
    assert seen["http_floor_body_bytes"] == seen["promise_body_bytes"], seen
    assert int(seen["promise_body_bytes"]) > 50, seen
    assert int(seen["intake_created"]) > 0 and seen["promise_non_200"] == "0", seen
    # Every courier's pings were accepted and reached PostgreSQL.
    assert seen["pings_non_202"] == "0" and int(seen["pings_accepted"]) > 0, seen
    assert seen["pings_positions_in_db"] == "4" and seen["pings_couriers"] == "4", seen
    # Each suite's whole output is kept; the bench databases are gone.
    assert seen["feed_missed"] == "0" and seen["feed_errors"] == "0", seen
    assert int(seen["feed_pg_connections"]) <= int(seen["feed_pool_size"]) + 1, seen
    for name in ("geo", "vrp_solomon", "vrp_station", "intake", "promise", "feed", "pings"):
        assert os.path.getsize(os.path.join(w.root, "bench", name + ".out")) > 0, name
    dbs = w.pg.psql("postgres", "SELECT datname FROM pg_database").split()
    assert not [d for d in dbs if d.startswith("dispatchd_")], dbs


if __name__ == "__main__":
    harness.run(globals())
