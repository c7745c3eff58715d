"""The stored SQL functions tested directly: every tests/sql/*.sql is a
pgTAP file (Debian's postgresql-15-pgtap, installed by scripts/deps.sh),
run with psql in its own transaction against the migrated private database.
A file passes when psql succeeds, it printed its plan, every planned test
ran, and none says `not ok`. One test here per file, named after it."""
import json
import os
import re
import subprocess

import harness

SQL_TESTS = os.path.join(harness.SOURCE_DIR, "tests", "sql")


def pgtap_ready(w):
    if w.pg.psql("dispatchd", "SELECT count(*) FROM pg_extension WHERE extname = 'pgtap'") == "0":
        # A superuser's extension (not trusted): created once, as postgres.
        w.pg.psql("dispatchd", "CREATE EXTENSION pgtap")


def tap_failures(out):
    """What is wrong with one file's TAP output, as a list of reasons."""
    lines = out.splitlines()
    plans = [l for l in lines if re.fullmatch(r"1\.\.\d+", l)]
    if len(plans) != 1:
        return [f"expected one plan line, found {plans}"]
    planned = int(plans[0][3:])
    oks = [l for l in lines if re.match(r"ok \d+", l)]
    bad = [l for l in lines if l.startswith("not ok")]
    why = [f"failed: {l}" for l in bad]
    if len(oks) + len(bad) != planned:
        why.append(f"planned {planned} tests, ran {len(oks) + len(bad)}")
    if planned == 0:
        why.append("a plan of no tests")
    return why


def run_file(w, path):
    pgtap_ready(w)
    r = subprocess.run(["psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1",
                        "-d", w.pg.dsn, "-f", path], capture_output=True, text=True)
    assert r.returncode == 0, f"psql exited {r.returncode}:\n{r.stdout}\n{r.stderr}"
    why = tap_failures(r.stdout)
    assert not why, "\n".join(why) + "\n---- TAP ----\n" + r.stdout + r.stderr


def test_tap_reader_catches_failures(w):
    # The reader itself: a failure, a missing test and a missing plan all count.
    assert tap_failures("1..2\nok 1 - a\nok 2 - b\n") == []
    assert tap_failures("1..2\nok 1 - a\nnot ok 2 - b\n") != []
    assert tap_failures("1..3\nok 1 - a\nok 2 - b\n") != []
    assert tap_failures("ok 1 - a\n") != []
    # And pgTAP through it: a file whose assertion fails is caught.
    bad = os.path.join(w.root, "failing.sql")
    with open(bad, "w") as f:
        f.write("BEGIN;\nSELECT plan(1);\nSELECT is(1, 2, 'one is two');\n"
                "SELECT * FROM finish();\nROLLBACK;\n")
    try:
        run_file(w, bad)
    except AssertionError as e:
        assert "not ok 1 - one is two" in str(e), e
    else:
        raise AssertionError("a failing pgTAP file passed")


def _file_test(path):
    return lambda w: run_file(w, path)


for _name in sorted(os.listdir(SQL_TESTS)):
    if _name.endswith(".sql"):
        globals()["test_" + _name[:-4]] = _file_test(os.path.join(SQL_TESTS, _name))


def _entry(key, qty, body=None):
    return {"key": key, "body": body or f"the body of {key}", "id": f"O-{key}",
            "ext": f"EXT-{key}", "st": "ST1", "stn": "Station one", "dist": "D1",
            "lon": None, "lat": None, "opt": "standard", "inst": False, "promise": {},
            "at": "2026-11-23T01:00:00Z", "resp": f'{{"id":"O-{key}"}}',
            "lines": [{"n": 1, "sku": "A", "qty": qty, "ship": 1, "w": "W1"}],
            "ships": [{"seq": 1, "w": "W1", "lines": [{"sku": "A", "qty": qty}]}]}


def test_concurrent_commits_never_oversell(w):
    """Across transactions: while one holds the last 10 units uncommitted,
    an order for 1 more waits and is then refused, and the same key sent
    again waits and is then answered as a replay."""
    w.pg.psql("postgres", "CREATE DATABASE commits OWNER dispatchd")
    dsn = w.pg.dsn.replace("dbname=dispatchd", "dbname=commits")
    r = harness.migrate(dsn)
    assert r.returncode == 0, r.stderr
    w.pg.psql("commits", "INSERT INTO areas (kind, id, name, props, geom, area_m2) VALUES "
              "('rdc', 'W1', 'RDC', '{}', ST_Multi(ST_MakeEnvelope(116, 39, 117, 40, 4326)), 1); "
              "INSERT INTO skus (sku, name, category, weight_g, volume_ml) "
              "VALUES ('A', 'A', 't', 1, 1); SELECT stock_set('W1', 'A', 10, 'test')", user="dispatchd")

    def call(batch):
        return f"SELECT intake_commit('{json.dumps(batch)}'::jsonb);\n"

    holder = subprocess.Popen(["psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", dsn],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    holder.stdin.write("BEGIN;\n" + call([_entry("k1", 10)]))
    holder.stdin.flush()
    first = json.loads(holder.stdout.readline())  # its result, not yet committed
    assert first[0]["r"] == "ok", first
    waiters = [subprocess.Popen(["psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", dsn,
                                 "-c", call(batch)], stdout=subprocess.PIPE, text=True)
               for batch in ([_entry("k2", 1)], [_entry("k1", 10)])]
    harness.wait_until(lambda: w.pg.psql("commits", "SELECT count(*) FROM pg_stat_activity "
                                         "WHERE datname = 'commits' AND wait_event_type = 'Lock'")
                       == "2", what="both waiters to wait on the first transaction")
    assert all(p.poll() is None for p in waiters), "a waiter did not wait"
    holder.stdin.write("COMMIT;\n")
    holder.stdin.close()
    assert holder.wait(timeout=30) == 0
    other, again = (json.loads(p.communicate(timeout=30)[0]) for p in waiters)
    assert other[0]["r"] == "no_stock", other
    assert again[0]["r"] == "replay" and again[0]["response"] == '{"id":"O-k1"}', again
    assert w.pg.psql("commits", "SELECT on_hand || '/' || reserved || '/' || available "
                                "FROM stock") == "10/10/0"
    assert w.pg.psql("commits", "SELECT count(*) FROM orders") == "1"


_PLAN_DAY = """
INSERT INTO couriers (id, station_id, name, phone, vehicle, skills, kind, daily_capacity) VALUES
	('E1', 'ST1', 'Zhang Gong', '1', 'van', '{kitchen}', 'engineer', 5),
	('E2', 'ST1', 'Li Gong', '3', 'van', '{kitchen}', 'engineer', 5);
INSERT INTO orders (id, external_id, idempotency_key, status, station_id, station_name,
		    district_id, lon, lat, delivery_option, install, promise, created_at)
VALUES ('S1', 'ext-S1', 'k-S1', 'arrived_at_station', 'ST1', 'Station 1', 'D1', 116.4, 39.9,
	'standard', false, '{}', now());
INSERT INTO service_appointments (id, order_id, station_id, category, type, status, day,
				  window_start, window_end, engineer_id, capacity_engineer,
				  duration_s, price_list)
VALUES ('svc_000000000000000a', 'S1', 'ST1', 'kitchen', 'repair', 'booked', '2030-01-09',
	'2030-01-09T09:00+08', '2030-01-09T13:00+08', 'E2', 'E2', 3600, '{}');
SELECT service_capacity_add('E2', '2030-01-09', '2030-01-09T09:00+08', 1);
SELECT service_capacity_add('E1', '2030-01-09', '2030-01-09T09:00+08', 0);
"""

_PLAN_STORE = ("SELECT service_plan_store('ST1', '2030-01-09', 'Asia/Shanghai', "
               "'{\"reason\": \"planned\", \"visits\": [{\"appointment\": "
               "\"svc_000000000000000a\", \"engineer\": \"E1\", \"position\": 0, "
               "\"eta_s\": 33000}], \"unassigned\": []}') IS NOT NULL;")


def _plan_store_against(w, db, first, then, day=_PLAN_DAY, plan=_PLAN_STORE):
    """A session runs `first` (locks a booking or a cancel takes first) and
    holds them; a day plan store moving the day's visit from E2 to E1 starts
    and waits; the session then runs `then` (the locks it takes next).
    Neither may deadlock: the session gets its locks, commits, and the store
    publishes after it."""
    w.pg.psql("postgres", f"CREATE DATABASE {db} OWNER dispatchd")
    dsn = w.pg.dsn.replace("dbname=dispatchd", f"dbname={db}")
    r = harness.migrate(dsn)
    assert r.returncode == 0, r.stderr
    w.pg.psql(db, day, user="dispatchd")
    cmd = ["psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", dsn]
    holder = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    holder.stdin.write("BEGIN;\n" + first + "\nSELECT 'held';\n")
    holder.stdin.flush()
    while holder.stdout.readline().strip() != "held":
        assert holder.poll() is None, holder.stderr.read()
    store = subprocess.Popen(cmd + ["-c", plan], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    harness.wait_until(lambda: w.pg.psql(db, "SELECT count(*) FROM pg_stat_activity "
                                         f"WHERE datname = '{db}' AND wait_event_type = 'Lock'")
                       == "1", what="the plan store to wait on the session")
    out, err = holder.communicate("SET lock_timeout = '20s';\n" + then + "\nCOMMIT;\n",
                                  timeout=60)
    assert holder.returncode == 0, f"the session failed (deadlock?): {err}"
    out, err = store.communicate(timeout=60)
    assert store.returncode == 0 and out.strip() == "t", f"the plan store failed: {err}"


def test_plan_store_never_deadlocks_a_booking(w):
    """A booking takes the station's feed head, then engineer-day rows
    (service_capacity_pick); a day plan store must not hold those rows while
    it waits for the head."""
    _plan_store_against(
        w, "planbook",
        "INSERT INTO station_feed_heads AS h (station_id, seq) VALUES ('ST1', 0) "
        "ON CONFLICT (station_id) DO UPDATE SET seq = h.seq;",
        "SELECT 1 FROM service_capacity WHERE day = '2030-01-09' "
        "ORDER BY engineer_id FOR UPDATE;")
    assert w.pg.psql("planbook", "SELECT status || ' ' || engineer_id || ' ' || capacity_engineer "
                                 "FROM service_appointments") == "planned E1 E1"


def test_plan_store_never_deadlocks_an_order_cancel(w):
    """Cancelling an order (intake_cancel) locks the order row, then the
    engineer-day rows of its visits; a day plan store must not hold those
    rows while it waits for the order (its service.planned event)."""
    _plan_store_against(w, "plancancel", "SELECT 1 FROM orders WHERE id = 'S1' FOR UPDATE;",
                        "SELECT intake_cancel('S1', 'test') IS NOT NULL;")
    assert w.pg.psql("plancancel", "SELECT status || ' ' || coalesce(capacity_engineer, '-') "
                                   "FROM service_appointments") == "cancelled -"
    assert w.pg.psql("plancancel", "SELECT string_agg(engineer_id || ':' || visits, ' ' "
                                   "ORDER BY engineer_id) FROM service_capacity") == "E1:0 E2:0"


def test_plan_store_locks_engineer_days_in_order(w):
    """Moves of several visits take their engineer-day rows in one sorted
    pass, as bookings and order cancels do: a cancel of an order booked after
    the plan's input (rows E2 then E5 of the day) never deadlocks against a
    store moving a from E5 to E1 and b from E3 to E2."""
    day = _PLAN_DAY.replace("('E2', 'ST1', 'Li Gong', '3', 'van', '{kitchen}', 'engineer', 5);", """
	('E2', 'ST1', 'Li Gong', '3', 'van', '{kitchen}', 'engineer', 5),
	('E3', 'ST1', 'Wu Gong', '4', 'van', '{kitchen}', 'engineer', 5),
	('E5', 'ST1', 'Ma Gong', '5', 'van', '{kitchen}', 'engineer', 5);
""").replace("""3600, '{}');""", """3600, '{}'),
       ('svc_000000000000000b', 'S1', 'ST1', 'kitchen', 'cleaning', 'booked', '2030-01-09',
	'2030-01-09T14:00+08', '2030-01-09T18:00+08', 'E3', 'E3', 3600, '{}');
UPDATE service_appointments SET engineer_id = 'E5', capacity_engineer = 'E5'
 WHERE id = 'svc_000000000000000a';
SELECT service_capacity_add(e, '2030-01-09', '2030-01-09T09:00+08', 1)
  FROM unnest('{E3,E5}'::text[]) e;
""") + "SELECT service_capacity_add('E2', '2030-01-09', '2030-01-09T09:00+08', -1);"
    plan = _PLAN_STORE.replace('0}], ', '0}, {"appointment": "svc_000000000000000b", '
                               '"engineer": "E2", "position": 0, "eta_s": 51000}], ')
    assert plan != _PLAN_STORE
    _plan_store_against(
        w, "planorder",
        "SELECT 1 FROM service_capacity WHERE engineer_id = 'E2' FOR UPDATE;",
        "SELECT 1 FROM service_capacity WHERE engineer_id = 'E5' FOR UPDATE;", day, plan)
    assert w.pg.psql("planorder", "SELECT string_agg(id || ' ' || status || ' ' || engineer_id "
                                  "|| ' ' || capacity_engineer, ', ' ORDER BY id) "
                                  "FROM service_appointments") == (
        "svc_000000000000000a planned E1 E1, svc_000000000000000b planned E2 E2")
    got = w.pg.psql("planorder", "SELECT string_agg(engineer_id || ':' || visits, ' ' "
                                 "ORDER BY engineer_id) FROM service_capacity")
    assert got == "E1:1 E2:1 E3:0 E5:0", got


def test_engineer_duty_never_deadlocks_a_booking(w):
    """Marking an engineer off duty (courier_duty_set: its couriers row, then
    the station's feed head) while a booking holds the head and takes the
    engineer's unit (service_capacity_add: a new engineer-day row, whose
    foreign key reads the couriers row): neither waits for the other in a
    cycle."""
    _plan_store_against(
        w, "dutybook",
        "INSERT INTO station_feed_heads AS h (station_id, seq) VALUES ('ST1', 0) "
        "ON CONFLICT (station_id) DO UPDATE SET seq = h.seq;",
        "SELECT service_capacity_add('E1', '2030-01-10', '2030-01-10T09:00+08', 1);",
        plan="SELECT courier_duty_set('ST1', 'E1', false, 'test', 'admin', now(), "
             "'Asia/Shanghai', 'engineer') IS NOT NULL;")
    assert w.pg.psql("dutybook", "SELECT visits FROM service_capacity "
                                 "WHERE engineer_id = 'E1' AND day = '2030-01-10'") == "1"
    assert w.pg.psql("dutybook", "SELECT count(*) FROM courier_duty_offs") == "1"


if __name__ == "__main__":
    harness.run(globals())
