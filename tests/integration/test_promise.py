"""GET /v1/promise against the real stack: the 211 promise and precise
slots for the warehouses allocation would choose, from cached state
(areas, stock hints, Redis capacity counters); Redis outages and flushes."""
import os
import subprocess

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


def ready_daemon(w):
    setup_network(w)
    d = w.daemon()
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
    std = b["standard"]
    assert std["deliver_by"].endswith("+08:00") and std["late"] in (True, False), std
    assert std["deliver_by"][11:16] in ("23:00", "15:00") or std["late"], std
    assert b["slots"], b
    for s in b["slots"]:
        assert s["remaining"] > 0 and s["start"] < s["end"], s
    assert "large" not in b


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
    r = d.get("/v1/promise?lat=99&lon=116.4&sku=SKU-00001:0")
    fields = sorted(e["field"] for e in r.json()["errors"])
    assert r.status == 422 and fields == ["lat", "sku"], r
    r = d.get(f"/v1/promise?{TIANANMEN}&sku=SKU-00001:1&install=maybe")
    assert r.status == 422 and r.json()["errors"][0]["field"] == "install", r
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


if __name__ == "__main__":
    harness.run(globals())
