"""Courier routes of a station wave against the real stack: orders placed
over HTTP, their shipments brought to the station, the station's couriers
on shift; POST .../waves/{key}/plan runs the VRPTW planner on the worker
pool and publishes the plan as the wave's next version; GET .../routes
returns the current version (?version=N an older one)."""
import random

import harness
import wave_fixtures
from test_promise import ready_daemon, plenty_of_stock, ORDER_CLOCK, SKU, TIANANMEN

N_ORDERS = 20
N_COURIERS = 4


def station_points(d, n):
    """n points served by Tiananmen's station, and that station's id and point."""
    st = d.get(f"/v1/locate?{TIANANMEN}").json()["station"]
    rng = random.Random(7)
    pts = []
    for _ in range(400):
        lat = st["lat"] + rng.uniform(-0.02, 0.02)
        lon = st["lon"] + rng.uniform(-0.02, 0.02)
        r = d.get(f"/v1/locate?lat={lat:.6f}&lon={lon:.6f}")
        if r.status == 200 and r.json()["station"]["id"] == st["id"]:
            pts.append((lat, lon))
            if len(pts) == n:
                break
    assert len(pts) == n, len(pts)
    return st, pts


def place_orders(w, d):
    st, pts = station_points(d, N_ORDERS)
    ids = []
    for i, (lat, lon) in enumerate(pts):
        body = {"external_id": f"rt-{i}", "customer": {"lat": lat, "lon": lon},
                "lines": [{"sku": SKU, "qty": 1 + i % 3}], "delivery_option": "standard"}
        if i == 0:  # placed with the station only: no location, planned at the station point
            del body["customer"]
            body["station_id"] = st["id"]
        if i == 3:  # heavier than any courier carries (150 kg): unassigned, "capacity"
            body["lines"][0]["qty"] = 800
        if i in (1, 2):  # a booked precise slot narrows the window
            body["delivery_option"] = "slot"
            body["slot"] = {"start": d.get(f"/v1/promise?{TIANANMEN}&sku={SKU}:1")
                            .json()["slots"][0]["start"]}
        r = d.request("POST", "/v1/orders", body=body, headers={"Idempotency-Key": f"rt-{i}"})
        assert r.status == 201, r
        assert r.json()["station"]["id"] == st["id"], r.json()["station"]
        ids.append(r.json()["id"])
    waves = {}
    for line in w.pg.psql("dispatchd", "SELECT order_id, counter_key FROM order_capacity "
                                       "WHERE counter_key LIKE '%-W%'").splitlines():
        oid, key = line.split("|")
        waves.setdefault(key, set()).add(oid)
    assert set().union(*waves.values()) == set(ids), waves
    # Every shipment but order 5's is at the station: order 5 is not planned.
    wave_fixtures.arrive(w, [o for i, o in enumerate(ids) if i != 5])
    couriers = wave_fixtures.add_couriers(w, st["id"], N_COURIERS)
    return st, waves, ids[3], ids[5], couriers


def check_plan(plan, st, key, orders, couriers_max, couriers=None):
    assert plan["station"] == st["id"] and plan["wave"] == key, plan
    seen = []
    stop_ids = []
    for route in plan["routes"]:
        if couriers is not None:
            assert route["courier_id"] == couriers[route["courier"]], route
            assert route["courier_name"] == "Courier " + route["courier_id"], route
        assert route["distance_m"] > 0 and route["duration_s"] > 0, route
        assert route["depart"] <= route["return"], route
        for s in route["stops"]:
            assert s["window"]["start"] <= s["eta"] <= s["window"]["end"], s
            assert s["arrival"] <= s["eta"] < s["departure"], s
            assert s["eta"].endswith("+08:00"), s
            assert s["stop_id"].startswith("stp_"), s
            stop_ids.append(s["stop_id"])
            seen.append(s["order_id"])
    assert len(set(stop_ids)) == len(stop_ids), stop_ids
    seen += [u["order_id"] for u in plan["unassigned"]]
    for u in plan["unassigned"]:
        assert u["reason"] in ("skill", "capacity", "window", "shift", "no_vehicle"), u
    assert sorted(seen) == sorted(orders), (sorted(seen), sorted(orders))
    assert len(plan["routes"]) <= couriers_max, plan["routes"]
    assert len({r["courier"] for r in plan["routes"]}) == len(plan["routes"])
    fc = plan["geojson"]
    assert fc["type"] == "FeatureCollection", fc
    lines = [f for f in fc["features"] if f["geometry"] is not None]
    assert len(lines) == len(plan["routes"])
    for f, route in zip(lines, plan["routes"]):
        assert f["geometry"]["type"] == "LineString"
        assert len(f["geometry"]["coordinates"]) == len(route["stops"]) + 2
        # The path runs depot to depot: it starts and ends at the station point.
        coords = f["geometry"]["coordinates"]
        assert coords[0] == coords[-1], coords
        assert abs(coords[0][0] - st["lon"]) < 1e-6 and abs(coords[0][1] - st["lat"]) < 1e-6
        assert [s["order_id"] for s in f["properties"]["stops"]] == \
            [s["order_id"] for s in route["stops"]]


def test_plan_store_get_replan(w):
    d = ready_daemon(w, at=ORDER_CLOCK)  # orders for the slots the promise offers
    plenty_of_stock(w)
    st, waves, heavy, away, couriers = place_orders(w, d)
    for key, orders in waves.items():
        orders = orders - {away}  # its shipment has not reached the station
        base = f"/v1/stations/{st['id']}/waves/{key}"
        r = d.get(base + "/routes")
        assert r.status == 404, r
        r = d.request("POST", base + "/plan")
        assert r.status == 200, r
        plan = r.json()
        assert plan["params"]["couriers"] == N_COURIERS, plan["params"]
        assert plan["version"] == 1 and plan["reason"] == "planned", plan
        check_plan(plan, st, key, orders, plan["params"]["couriers"], couriers)
        assert sorted(c["change"] for c in plan["changes"]) == \
            ["assigned"] * sum(len(r["stops"]) for r in plan["routes"]), plan["changes"]
        assert plan["params"]["orders"] == len(orders), plan["params"]
        if heavy in orders:
            assert {"order_id": heavy, "stop_id": None, "reason": "capacity"} in plan["unassigned"], plan
        stored = d.get(base + "/routes")
        assert stored.status == 200 and stored.json() == plan, stored
        db = w.pg.psql("dispatchd", "SELECT count(*), sum(jsonb_array_length(stops)), "
                                    "bool_and(ST_NPoints(geometry) = jsonb_array_length(stops) + 2)"
                                    f" FROM routes WHERE station_id = '{st['id']}'"
                                    f" AND wave_key = '{key}'")
        n, nstops, geom_ok = db.split("|")
        assert int(n) == len(plan["routes"]) and int(nstops or 0) == \
            len(orders) - len(plan["unassigned"]) and geom_ok in ("t", ""), db
        # Replanning publishes version 2: a cancelled order leaves it; version
        # 1 stays readable as it was.
        # (Cancelling is allowed only before a parcel departs: the fixture
        # rewinds this one's shipment to packed first.)
        gone = sorted(orders - {heavy})[-1]
        w.pg.psql("dispatchd", f"UPDATE shipments SET status = 'packed' WHERE order_id = '{gone}'")
        assert d.request("POST", f"/v1/orders/{gone}/cancel").status == 200
        again = d.request("POST", base + "/plan")
        assert again.status == 200, again
        p2 = again.json()
        assert p2["plan_id"] != plan["plan_id"] and p2["version"] == 2, p2
        check_plan(p2, st, key, orders - {gone}, p2["params"]["couriers"], couriers)
        assert d.get(base + "/routes").json() == p2
        assert d.get(base + "/routes?version=1").json() == plan
        assert d.get(base + "/routes?version=2").json() == p2
        assert d.get(base + "/routes?version=3").status == 404
        assert d.get(base + "/routes?version=x").status == 422
        if any(s["order_id"] == gone for r in plan["routes"] for s in r["stops"]):
            assert [c for c in p2["changes"] if c["change"] == "unassigned"] == [
                {"change": "unassigned", "order": gone, "wave": key, "version": 2,
                 "reason": "cancelled", "stop": c["stop"], "from": c["from"]}
                for c in p2["changes"] if c["order"] == gone], p2["changes"]
            status = w.pg.psql("dispatchd", f"SELECT status FROM stops WHERE order_id = '{gone}'")
            assert status == "cancelled", status
        plans = w.pg.psql("dispatchd", "SELECT string_agg(version::text, ',' ORDER BY version) "
                                       f"FROM route_plans WHERE station_id = '{st['id']}' "
                                       f"AND wave_key = '{key}'")
        assert plans == "1,2", plans
        other = w.pg.psql("dispatchd", "SELECT count(*) FROM routes WHERE plan_id NOT IN "
                                       f"('{p2['plan_id']}', '{plan['plan_id']}') "
                                       f"AND wave_key = '{key}'")
        assert other == "0", other
        # The stops rows follow the current version: courier, position, eta.
        rows = w.pg.psql("dispatchd", "SELECT order_id, courier_id, position, status, proof "
                                      f"FROM stops WHERE wave_key = '{key}' "
                                      "AND status = 'planned' ORDER BY order_id")
        want = sorted(f"{s['order_id']}|{r['courier_id']}|{i}|planned|photo"
                      for r in p2["routes"] for i, s in enumerate(r["stops"]))
        assert sorted(rows.splitlines()) == want, (rows, want)


def test_errors(w):
    d = ready_daemon(w)
    st = d.get(f"/v1/locate?{TIANANMEN}").json()["station"]["id"]
    r = d.request("POST", "/v1/stations/no-such-station/waves/20270104-W0900/plan")
    assert r.status == 404 and r.headers.get("content-type") == "application/problem+json", r
    r = d.get("/v1/stations/no-such-station/waves/20270104-W0900/routes")
    assert r.status == 404, r
    for bad in ("20261123-S0900", "2026-11-23", "20270104-W09000", "20261332-W0900", "x"):
        r = d.request("POST", f"/v1/stations/{st}/waves/{bad}/plan")
        assert r.status == 422 and r.json()["errors"][0]["field"] == "key", (bad, r)
        r = d.get(f"/v1/stations/{st}/waves/{bad}/routes")
        assert r.status == 422, (bad, r)
    r = d.request("POST", f"/v1/stations/{st}/waves/20270104-W0300/plan")
    assert r.status == 404 and "no wave" in r.json()["detail"], r
    r = d.get(f"/v1/stations/{st}/waves/20270104-W0900/plan")
    assert r.status == 405, r
    # A wave with nothing booked: an empty plan, stored.
    r = d.request("POST", f"/v1/stations/{st}/waves/20270104-W0900/plan")
    assert r.status == 200, r
    assert r.json()["routes"] == [] and r.json()["unassigned"] == [], r.json()
    assert r.json()["version"] == 1 and r.json()["changes"] == [], r.json()
    assert d.get(f"/v1/stations/{st}/waves/20270104-W0900/routes").json() == r.json()


def test_postgres_down_is_503(w):
    d = ready_daemon(w)
    st = d.get(f"/v1/locate?{TIANANMEN}").json()["station"]["id"]
    w.pg.stop()
    try:
        harness.wait_until(lambda: d.get("/readyz").status == 503, what="postgresql down")
        r = d.request("POST", f"/v1/stations/{st}/waves/20270104-W0900/plan")
        assert r.status == 503, r
        r = d.get(f"/v1/stations/{st}/waves/20270104-W0900/routes")
        assert r.status == 503, r
    finally:
        w.pg.start()
    harness.wait_until(lambda: d.get("/readyz").status == 200, what="postgresql back")


def test_sigterm_with_a_plan_in_flight(w):
    """SIGTERM while a plan is in flight (held at its store by a lock on
    route_plans): the daemon drains it, the plan is answered 200 and stored,
    then the daemon exits 0."""
    import signal
    import threading
    d = ready_daemon(w)
    st = d.get(f"/v1/locate?{TIANANMEN}").json()["station"]["id"]
    key = "20270105-W0900"  # a wave with nothing booked, planned by no other test
    got = []
    lock = w.pg.hold_lock("route_plans")
    try:
        t = threading.Thread(target=lambda: got.append(
            d.request("POST", f"/v1/stations/{st}/waves/{key}/plan", timeout=60)))
        t.start()
        harness.wait_until(lambda: d.metric("dispatchd_http_inflight_requests") == 1,
                           what="the plan in flight")
        d.signal(signal.SIGTERM)
        harness.wait_until(lambda: "draining 1 in-flight request(s)" in d.log(),
                           what="the drain to start")
        assert d.proc.poll() is None, "exited with a plan in flight"
    finally:
        w.pg.release(lock)
    t.join()
    assert d.wait_exit() == 0, d.log()[-2000:]
    assert got and got[0].status == 200, got
    assert got[0].json()["routes"] == [] and got[0].json()["unassigned"] == [], got[0]
    stored = w.pg.psql("dispatchd", "SELECT count(*) FROM route_plans WHERE station_id = "
                                    f"'{st}' AND wave_key = '{key}'")
    assert stored == "1", stored


def test_one_plan_per_wave_in_flight(w):
    """A wave being planned (here by a run another daemon holds) answers a
    second plan 409 plan-running with the running plan's id; a claim left by
    a daemon that died (older than the stale bound) is taken over; a finished
    run releases its claim."""
    d = ready_daemon(w)
    st = d.get(f"/v1/locate?{TIANANMEN}").json()["station"]["id"]
    wave = "20300108-W1300"
    w.pg.psql("dispatchd", "INSERT INTO plan_runs (station_id, wave_key, run_id) VALUES "
                           f"('{st}', '{wave}', 'run_00000000000000aa')")
    r = d.request("POST", f"/v1/stations/{st}/waves/{wave}/plan")
    assert r.status == 409 and r.json()["type"] == "urn:dispatchd:problem:plan-running", r
    assert r.json()["running_plan"] == "run_00000000000000aa" and r.headers["retry-after"], r
    w.pg.psql("dispatchd", "UPDATE plan_runs SET started_at = now() - interval '10 minutes'")
    r = d.request("POST", f"/v1/stations/{st}/waves/{wave}/plan")
    assert r.status == 200, r
    harness.wait_until(lambda: w.pg.psql("dispatchd", "SELECT count(*) FROM plan_runs") == "0",
                       what="the finished run's claim released")


if __name__ == "__main__":
    harness.run(globals())
