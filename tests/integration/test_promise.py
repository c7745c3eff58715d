"""GET /v1/promise against the real stack: the 211 promise and precise
slots for the warehouses allocation would choose, from cached state
(areas, stock hints, Redis capacity counters); Redis outages and flushes.
Every daemon runs on a fixed test clock ([testing] clock), so the promise
never depends on when the suite runs; the cut-off tests move it by reload."""
import os
import subprocess
import threading
import time

import harness

CTL = os.path.join(harness.BUILD_DIR, "dispatchctl")
SRC = harness.SOURCE_DIR
TIANANMEN = "lat=39.9087&lon=116.3975"


def setup_network(w):
    if getattr(w, "network_ready", False):
        return
    for kind, path in (("district", "data/cities/beijing.geojson"),
                       ("station", "data/beijing/network.geojson"),
                       ("warehouse", "data/beijing/network.geojson")):
        r = subprocess.run([CTL, "areas", "import", os.path.join(SRC, path), "--kind", kind,
                            "--dsn", w.pg.dsn], capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
    r = subprocess.run([CTL, "seed", "--catalogue", os.path.join(SRC, "data", "catalogue"),
                        "--dsn", w.pg.dsn], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    w.network_ready = True


def ready_daemon(w, extra_conf="", at=harness.TEST_NOW):
    setup_network(w)
    d = w.daemon(extra_conf=extra_conf + harness.clock_conf(at))
    harness.wait_until(lambda: d.get("/v1/stations").status == 200, what="areas loaded")
    harness.wait_until(lambda: d.get(f"/v1/promise?{TIANANMEN}&sku=SKU-00001:1").json()
                       .get("capacity") == "live", what="capacity counters live")
    return d


def test_standard_promise_and_slots(w):
    d = ready_daemon(w)
    r = d.get(f"/v1/promise?{TIANANMEN}&sku=SKU-00001:2&sku=SKU-00002:1")
    assert r.status == 200, r
    b = r.json()
    assert b["station"]["id"].startswith("bj-st-")
    assert b["timezone"] == "Asia/Shanghai"
    assert b["shipments"] and all(s["warehouse"].startswith("bj-") for s in b["shipments"])
    # Ordered at 08:00 on 2030-01-08, before the 11:00 cut-off: due today at
    # 23:00, and the near front warehouse makes it (not late).
    std = b["standard"]
    assert std["target"] == "2030-01-08T23:00:00+08:00", std
    assert std["late"] is False and std["deliver_by"] == std["target"], std
    # Two-hour slots, for today and the 3 days after; at 08:00 the first one
    # the pick-and-ship chain can make starts at 13:00.
    assert b["slots"][0]["start"] == "2030-01-08T13:00:00+08:00", b["slots"][:2]
    assert b["slots"][0]["end"] == "2030-01-08T15:00:00+08:00", b["slots"][:2]
    assert {s["start"][:10] for s in b["slots"]} == {"2030-01-08", "2030-01-09", "2030-01-10",
                                                      "2030-01-11"}, b["slots"]
    for s in b["slots"]:
        assert s["remaining"] > 0 and s["start"] < s["end"], s
    assert "large" not in b


def standard_at(d, w, at):
    """The standard promise of GET /v1/promise with the clock moved to at."""
    d.reload(SMALL + harness.clock_conf(at))
    r = d.get(f"/v1/promise?{TIANANMEN}&sku=SKU-00001:1")
    assert r.status == 200, r
    return r.json()["standard"]


def test_211_cut_offs_are_exact(w):
    """The 211 rule at each side of 11:00 and 23:00 (docs/warehouse.md),
    moving the fixed clock by SIGHUP: before 11:00, today 23:00; from 11:00,
    tomorrow 15:00; from 23:00, tomorrow 23:00."""
    d = ready_daemon(w, SMALL)
    cases = [("2030-01-08T10:59:59+08:00", "2030-01-08T23:00:00+08:00"),
             ("2030-01-08T11:00:00+08:00", "2030-01-09T15:00:00+08:00"),
             ("2030-01-08T22:59:59+08:00", "2030-01-09T15:00:00+08:00"),
             ("2030-01-08T23:00:00+08:00", "2030-01-09T23:00:00+08:00"),
             # The same instants given in UTC.
             ("2030-01-08T02:59:59Z", "2030-01-08T23:00:00+08:00"),
             ("2030-01-08T03:00:00Z", "2030-01-09T15:00:00+08:00")]
    for at, target in cases:
        std = standard_at(d, w, at)
        assert std["target"] == target, (at, std)
        assert std["late"] is False and std["deliver_by"] == target, (at, std)
    assert "test clock: fixed at 2030-01-08T03:00:00Z" in d.log()


def test_offset_clock_follows_the_real_time(w):
    """clock = offset: the real time shifted; time moves on. Shifted to 10
    minutes before today's (real) 11:00 cut-off in Beijing, then to 10 minutes
    after it: the target moves from today 23:00 to tomorrow 15:00."""
    d = ready_daemon(w, SMALL)
    beijing = 8 * 3600
    now = int(time.time())
    day0 = (now + beijing) // 86400 * 86400 - beijing  # today's Beijing midnight, UTC
    for minutes, target_day, target_hm in ((-10, 0, "23:00"), (10, 1, "15:00")):
        offset = day0 + 11 * 3600 + minutes * 60 - int(time.time())
        d.reload(SMALL + f"[testing]\nclock = offset\nclock_offset_s = {offset}\n")
        std = d.get(f"/v1/promise?{TIANANMEN}&sku=SKU-00001:1").json()["standard"]
        day = time.strftime("%Y-%m-%d", time.gmtime(day0 + beijing + target_day * 86400))
        assert std["target"] == f"{day}T{target_hm}:00+08:00", (minutes, std)


def test_large_item_dates(w):
    d = ready_daemon(w)
    r = d.get(f"/v1/promise?{TIANANMEN}&sku=SKU-00233:1&install=true")
    assert r.status == 200, r
    b = r.json()
    assert b["large"]["dates"], b
    assert all(x["install"] is True for x in b["large"]["dates"]), b["large"]["dates"][:2]


def test_bad_queries_are_422(w):
    d = ready_daemon(w)
    r = d.get("/v1/promise?lat=39.9&lon=116.4")
    assert r.status == 422 and r.json()["errors"][0]["field"] == "sku", r
    # Every problem is listed: a missing sku too when lat is bad as well.
    r = d.get("/v1/promise?lat=99&lon=116.4")
    assert r.status == 422 and [e["field"] for e in r.json()["errors"]] == ["lat", "sku"], r
    r = d.get("/v1/promise?lat=99&lon=116.4&sku=SKU-00001:0")
    fields = sorted(e["field"] for e in r.json()["errors"])
    assert r.status == 422 and fields == ["lat", "sku"], r
    r = d.get(f"/v1/promise?{TIANANMEN}&sku=SKU-00001:1&install=maybe")
    assert r.status == 422 and r.json()["errors"][0]["field"] == "install", r
    # A value that decodes to no UTF-8 text is refused before any parameter
    # is read (400, as every route does: test_bad_input.py); it once vanished
    # from the errors, and the quote left that line out.
    r = d.get(f"/v1/promise?{TIANANMEN}&sku=SKU-00001:1&sku=%E8:0")
    assert r.status == 400 and r.json()["type"] == "urn:dispatchd:problem:malformed-request" \
        and "UTF-8" in r.json()["detail"], r
    r = d.get("/v1/promise?lat=31.23&lon=121.47&sku=SKU-00001:1")
    assert r.status == 422 and "outside coverage" in r.json()["detail"], r


def test_unavailable_stock_is_409(w):
    d = ready_daemon(w)
    r = d.get(f"/v1/promise?{TIANANMEN}&sku=NO-SUCH-SKU:1")
    assert r.status == 409, r
    assert r.json()["lines"][0]["sku"] == "NO-SUCH-SKU"
    r = d.get(f"/v1/promise?{TIANANMEN}&sku=SKU-00001:99999")
    assert r.status == 409 and r.json()["lines"][0]["requested"] == 99999, r


def test_redis_down_quotes_without_slots(w):
    d = ready_daemon(w)
    w.redis.stop()
    try:
        harness.wait_until(lambda: d.get("/readyz").status == 503, what="redis down")
        r = d.get(f"/v1/promise?{TIANANMEN}&sku=SKU-00001:1")
        assert r.status == 200, r
        b = r.json()
        assert b["capacity"] == "unavailable" and b["slots"] == [] and b["standard"], b
    finally:
        w.redis.start()
    harness.wait_until(lambda: d.get(f"/v1/promise?{TIANANMEN}&sku=SKU-00001:1").json()
                       ["capacity"] == "live", what="counters rebuilt after the restart")


def test_flushall_rebuilds_counters_before_offering_slots(w):
    d = ready_daemon(w)
    w.redis.cli("FLUSHALL")
    seen = set()

    def live():
        b = d.get(f"/v1/promise?{TIANANMEN}&sku=SKU-00001:1").json()
        seen.add(b["capacity"])
        if b["capacity"] != "live":
            assert b["slots"] == [], b  # never offered while rebuilding
        return b["capacity"] == "live"

    harness.wait_until(live, what="counters rebuilt after FLUSHALL", interval=0.01)
    assert w.redis.cli("EXISTS", "dispatchd:cap:ready") == "1"
    assert "rebuilt from postgresql" in d.log()


# Small stations: each 2-hour slot of a 1-courier wave holds SLOT_CAP stops.
SLOT_CAP = 3
SMALL = ("[promise]\nwaves = 09:00-13:00/1, 13:00-17:00/1, 17:00-21:00/1, 21:00-23:00/1\n"
         f"stops_per_courier_slot = {SLOT_CAP}\nstops_per_courier_wave = 40\n")
SKU = "SKU-00001"
# The tests that order what the promise offered run both on the fixed test
# clock: POST /v1/orders reads the same time source (dm_clock_now_ms).
ORDER_CLOCK = harness.TEST_NOW


def plenty_of_stock(w):
    w.pg.psql("dispatchd", "UPDATE stock SET on_hand = 1000000, available = 1000000 - reserved")


def order_body(ext, slot_start=None):
    b = {"external_id": ext, "customer": {"lat": 39.9087, "lon": 116.3975},
         "lines": [{"sku": SKU, "qty": 1}], "delivery_option": "standard"}
    if slot_start:
        b["delivery_option"] = "slot"
        b["slot"] = {"start": slot_start}
    return b


def post_order(d, ext, slot_start=None):
    return d.request("POST", "/v1/orders", body=order_body(ext, slot_start),
                     headers={"Idempotency-Key": "k-" + ext})


def first_slot(d):
    return d.get(f"/v1/promise?{TIANANMEN}&sku={SKU}:1").json()["slots"][0]


def pg_counter(w, station, start):
    """booked of the slot counter starting at RFC 3339 start."""
    key = start[0:4] + start[5:7] + start[8:10] + "-S" + start[11:13] + start[14:16]
    v = w.pg.psql("dispatchd", "SELECT booked FROM capacity_counters WHERE station_id = "
                               f"'{station}' AND counter_key = '{key}'")
    return int(v or 0), key


def test_order_books_the_chosen_slot(w):
    d = ready_daemon(w, SMALL, at=ORDER_CLOCK)
    plenty_of_stock(w)
    slot = first_slot(d)
    assert slot["remaining"] == SLOT_CAP, slot
    r = post_order(d, "slot-one", slot["start"])
    assert r.status == 201, r
    o = r.json()
    assert o["delivery_option"] == "slot" and o["promise"]["slot"]["start"] == slot["start"], o
    booked, key = pg_counter(w, o["station"]["id"], slot["start"])
    assert booked == 1, key
    stored = d.get(f"/v1/orders/{o['id']}").json()
    assert stored["promise"]["slot"] == o["promise"]["slot"], stored["promise"]
    assert first_slot(d)["remaining"] == SLOT_CAP - 1
    assert w.redis.cli("HGET", "dispatchd:cap:st:" + o["station"]["id"], key) == "1"
    # A slot that is not offered is refused, naming the field.
    r = post_order(d, "slot-bad", "2026-01-01T03:00:00+08:00")
    assert r.status == 422 and r.json()["errors"][0]["field"] == "slot.start", r
    for bad in ("2026-02-31T09:00:00+08:00", " " + slot["start"], slot["start"][:17] + "60+08:00",
                slot["start"][:19] + "+99:00", "tomorrow morning"):
        r = post_order(d, "slot-bad-time", bad)
        assert r.status == 422 and r.json()["errors"][0]["field"] == "slot.start", (bad, r)
    r = d.request("POST", "/v1/orders", body=dict(order_body("slot-bad2"), delivery_option="slot"),
                  headers={"Idempotency-Key": "k-slot-bad2"})
    assert r.status == 422 and r.json()["errors"][0]["field"] == "slot.start", r
    # Cancelling gives the place back, in PostgreSQL and in Redis.
    r = d.request("POST", f"/v1/orders/{o['id']}/cancel")
    assert r.status == 200, r
    assert pg_counter(w, o["station"]["id"], slot["start"])[0] == 0
    harness.wait_until(lambda: first_slot(d)["remaining"] == SLOT_CAP, what="place given back")


def race(d, prefix, slot_start, clients):
    import threading
    results = [None] * clients

    def one(i):
        results[i] = post_order(d, f"{prefix}-{i}", slot_start)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def test_race_for_the_last_places_of_a_slot(w):
    d = ready_daemon(w, SMALL, at=ORDER_CLOCK)
    plenty_of_stock(w)
    slot = d.get(f"/v1/promise?{TIANANMEN}&sku={SKU}:1").json()["slots"][1]
    results = race(d, "race", slot["start"], 100)
    ok = [r for r in results if r.status == 201]
    full = [r for r in results if r.status == 409]
    assert len(ok) == slot["remaining"], [r.status for r in results]
    assert len(ok) + len(full) == 100, {r.status for r in results}
    nxt = full[0].json()["slots"]
    assert nxt and all(s["start"] != slot["start"] for s in nxt), full[0]
    station = ok[0].json()["station"]["id"]
    booked, key = pg_counter(w, station, slot["start"])
    assert booked == SLOT_CAP, booked
    assert w.pg.psql("dispatchd", "SELECT count(*) FROM order_capacity WHERE counter_key = "
                                  f"'{key}' AND NOT released") == str(SLOT_CAP)
    assert w.redis.cli("HGET", "dispatchd:cap:st:" + station, key) == str(SLOT_CAP)


def test_full_waves_spill_to_the_next_ones(w):
    """Standard orders are never refused while a later wave has room: with 3
    stops per wave, 10 concurrent orders fill waves in turn, none over."""
    tiny = SMALL.replace("stops_per_courier_wave = 40", "stops_per_courier_wave = 3")
    d = ready_daemon(w, tiny, at=ORDER_CLOCK)
    plenty_of_stock(w)
    import threading
    station = "bj-st-040"  # a station no other test books
    results = [None] * 10

    def one(i):
        body = {"external_id": f"spill-{i}", "station_id": station,
                "lines": [{"sku": SKU, "qty": 1}], "delivery_option": "standard"}
        results[i] = d.request("POST", "/v1/orders", body=body,
                               headers={"Idempotency-Key": f"k-spill-{i}"})

    threads = [threading.Thread(target=one, args=(i,)) for i in range(10)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert all(r.status == 201 for r in results), [(r.status, r.body[:120]) for r in results]
    rows = [l.split("|") for l in w.pg.psql(
        "dispatchd", "SELECT counter_key, booked, capacity FROM capacity_counters WHERE "
                     f"station_id = '{station}' AND counter_key LIKE '%-W%' AND booked > 0").splitlines()]
    booked = {k: int(b) for k, b, c in rows}
    assert sum(booked.values()) == 10 and max(booked.values()) <= 3 and len(booked) >= 4, rows
    windows = {r.json()["promise"]["standard"]["window_start"] for r in results}
    assert len(windows) == len(booked), (windows, booked)


def test_flushall_mid_burst_never_double_books(w):
    """Redis is flushed while a burst of slot orders is in flight: orders
    admitted by the Redis gate are held at their PostgreSQL commit (a lock on
    capacity_counters) when FLUSHALL lands, then commit. Every slot still
    ends exactly full (SLOT_CAP bookings, no more, none lost), later orders
    for them are refused, and Redis converges to PostgreSQL's counts."""
    # Generous timeouts: the held commits must not time out, however slow the build.
    d = ready_daemon(w, SMALL + "[postgres]\nquery_timeout_ms = 120000\n"
                     "[server]\nrequest_timeout_ms = 120000\n", at=ORDER_CLOCK)
    plenty_of_stock(w)
    slots = d.get(f"/v1/promise?{TIANANMEN}&sku={SKU}:1").json()["slots"][2:6]
    # Before the flush: the first slot fills from a plain race.
    results = race(d, "burst0", slots[0]["start"], 25)
    assert sum(r.status == 201 for r in results) == SLOT_CAP, [r.status for r in results]
    lock = w.pg.hold_lock("capacity_counters")
    burst, threads = [], []
    try:
        for i, s in enumerate(slots[1:], 1):
            for j in range(25):
                t = threading.Thread(target=lambda i=i, j=j, s=s: burst.append(
                    post_order(d, f"burst{i}-{j}", s["start"])))
                threads.append(t)
                t.start()
        # Settled: every order is answered (refused: its slot is full) or
        # waiting on the lock after passing the gate.
        # (The gauge leaves out the /metrics request reading it.)
        inflight = lambda: d.metric("dispatchd_http_inflight_requests")
        harness.wait_until(lambda: inflight() >= 1 and len(burst) + inflight() == len(threads),
                           what="the burst held at its commits")
        held = inflight()
        assert w.redis.cli("FLUSHALL") == "OK"
        assert len(burst) + held == len(threads) and held >= 1, (len(burst), held)
    finally:
        w.pg.release(lock)
    for t in threads:
        t.join()
    results += burst
    assert all(r.status in (201, 409) for r in results), {r.status for r in results}
    # The orders held at the flush all committed: each slot exactly full.
    assert sum(r.status == 201 for r in burst) == len(slots[1:]) * SLOT_CAP, \
        [r.status for r in burst]
    station = next(r for r in results if r.status == 201).json()["station"]["id"]
    over = w.pg.psql("dispatchd", "SELECT count(*) FROM capacity_counters WHERE booked > capacity")
    assert over == "0"
    for s in slots:
        booked, key = pg_counter(w, station, s["start"])
        assert booked == SLOT_CAP, (s, booked)
        placed = w.pg.psql("dispatchd", "SELECT count(*) FROM order_capacity WHERE counter_key = "
                                        f"'{key}' AND NOT released")
        assert int(placed) == booked
    # The counters were rebuilt after the flush, from PostgreSQL's bookings.
    harness.wait_until(lambda: d.log().count("rebuilt from postgresql") >= 2,
                       what="the counters rebuilt after FLUSHALL")
    pg = dict(l.split("|") for l in w.pg.psql(
        "dispatchd", f"SELECT counter_key, booked FROM capacity_counters WHERE station_id = "
                     f"'{station}' AND booked > 0").splitlines())

    def redis_matches():
        raw = w.redis.cli("HGETALL", "dispatchd:cap:st:" + station).splitlines()
        got = {raw[i]: raw[i + 1] for i in range(0, len(raw) - 1, 2) if raw[i + 1] != "0"}
        return got == pg

    harness.wait_until(redis_matches, timeout=20, what="redis counts equal postgresql's")
    # Full slots stay full after the rebuild.
    for i, s in enumerate(slots):
        r = post_order(d, f"after-{i}", s["start"])
        assert r.status == 409, (s, r)


if __name__ == "__main__":
    harness.run(globals())
