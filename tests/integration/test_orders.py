"""Order intake end to end against the real PostgreSQL: POST /v1/orders
(validation, allocation, idempotency, 409 out of stock), GET, cancel, and
the invariants of issue 4: concurrent orders never oversell, a SIGKILL
mid-burst loses no accepted order and leaves no orphan reservation, and the
event loop keeps serving while a commit waits on a lock."""
import http.client
import json
import os
import signal
import socket
import subprocess
import threading
import time
import uuid

import harness

CTL = os.path.join(harness.BUILD_DIR, "dispatchctl")
NETWORK = os.path.join(harness.SOURCE_DIR, "data", "beijing", "network.geojson")
CATALOGUE = os.path.join(harness.SOURCE_DIR, "data", "catalogue")

# bj-st-001 "Dongcheng 01": district 110101, served by bj-rdc-01 and bj-fdc-01.
DONGCHENG = {"lat": 39.936261, "lon": 116.441397}
RDC, FDC = "bj-rdc-01", "bj-fdc-01"


def prepare(w):
    """Areas (stations, warehouses) and the seed catalogue, once per world."""
    if getattr(w, "orders_ready", False):
        return
    for kind in ("warehouse", "station"):
        r = subprocess.run([CTL, "areas", "import", NETWORK, "--kind", kind, "--dsn", w.pg.dsn],
                           capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
    r = subprocess.run([CTL, "seed", "--catalogue", CATALOGUE, "--dsn", w.pg.dsn],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    w.orders_ready = True


def daemon(w, **kw):
    prepare(w)
    # A fixed wall clock (a Tuesday 08:00 in Beijing): promises do not depend
    # on when the suite runs.
    kw["extra_conf"] = harness.clock_conf() + kw.get("extra_conf", "")
    d = w.daemon(**kw)
    harness.wait_until(lambda: d.get("/readyz").status == 200, what="ready")
    harness.wait_until(lambda: d.get("/v1/stations").status == 200, what="areas loaded")
    return d


def sql(w, text):
    return w.pg.psql("dispatchd", text)


def new_sku(w, stock, weight_g=500, large=False):
    """A fresh SKU with {warehouse: on_hand}; the rest of the network has none."""
    sku = "T-" + uuid.uuid4().hex[:12]
    sql(w, f"INSERT INTO skus (sku, name, category, weight_g, volume_ml, large) "
           f"VALUES ('{sku}', 'test', 'test', {weight_g}, 1000, {str(large).lower()})")
    for wh, n in stock.items():
        sql(w, f"INSERT INTO stock VALUES ('{wh}', '{sku}', {n}, 0, {n})")
    return sku


def stock_row(w, wh, sku):
    out = sql(w, f"SELECT on_hand, reserved, available FROM stock "
                 f"WHERE warehouse_id = '{wh}' AND sku = '{sku}'")
    return tuple(int(x) for x in out.split("|"))


def order_body(lines, ext=None, where=None, **extra):
    body = {"external_id": ext or "SHOP-" + uuid.uuid4().hex[:16],
            "customer": dict(where or DONGCHENG),
            "lines": [{"sku": s, "qty": q} for s, q in lines],
            "delivery_option": "standard"}
    body.update(extra)
    return body


def post(d, body, key=None, raw=None):
    headers = {"Content-Type": "application/json"}
    if key is not False:
        headers["Idempotency-Key"] = key or uuid.uuid4().hex
    return d.request("POST", "/v1/orders", body=raw if raw is not None else json.dumps(body),
                     headers=headers)


def counts(w):
    return sql(w, "SELECT (SELECT count(*) FROM orders), (SELECT count(*) FROM idempotency_keys), "
                  "(SELECT count(*) FROM order_events), (SELECT sum(reserved) FROM stock)")


def check_reservations(w):
    """Every unit reserved belongs to a line of a shipment not cancelled, and
    the reverse. (No code moves shipments out of a warehouse yet; a test that
    marks one as left keeps its units reserved.)"""
    bad = sql(w, """
        WITH held AS (
            SELECT sh.warehouse_id AS w, l.sku, sum(l.qty) AS qty
              FROM order_lines l JOIN shipments sh ON sh.order_id = l.order_id
                                                  AND sh.seq = l.shipment_seq
             WHERE sh.status <> 'cancelled'
             GROUP BY 1, 2)
        SELECT count(*) FROM stock s FULL JOIN held h ON h.w = s.warehouse_id AND h.sku = s.sku
         WHERE coalesce(s.reserved, -1) <> coalesce(h.qty, 0)
            OR s.available + s.reserved <> s.on_hand OR s.available < 0""")
    assert bad == "0", f"{bad} stock rows disagree with the order lines"


def test_order_is_allocated_reserved_and_tracked(w):
    d = daemon(w)
    sku = new_sku(w, {RDC: 10, FDC: 10})
    body = order_body([(sku, 3)])
    r = post(d, body)
    assert r.status == 201, r
    o = r.json()
    assert r.headers["location"] == "/v1/orders/" + o["id"], r.headers
    assert o["id"].startswith("ord_") and len(o["id"]) == 30, o
    assert o["external_id"] == body["external_id"] and o["status"] == "allocated"
    assert o["station"] == {"id": "bj-st-001", "name": "Dongcheng 01", "district": "110101"}, o
    assert o["customer"] == DONGCHENG, o
    # One warehouse holds everything: the nearer front centre wins on cost.
    assert o["shipments"] == [{"seq": 1, "warehouse": FDC, "status": "allocated",
                               "lines": [{"sku": sku, "qty": 3}]}], o
    std = o["promise"]["standard"]
    # Ordered at 08:00 (the test clock), before the 11:00 cut-off: the 211
    # rule's same-day 23:00, which the front centre's chain makes.
    assert std["deliver_by"] == "2030-01-08T23:00:00+08:00" and std["late"] is False, o
    assert stock_row(w, FDC, sku) == (10, 3, 7)
    assert stock_row(w, RDC, sku) == (10, 0, 10)
    g = d.get("/v1/orders/" + o["id"])
    assert g.status == 200, g
    doc = g.json()
    events = doc.pop("events")
    assert doc == o, (doc, o)
    assert [e["kind"] for e in events] == ["created", "allocated"], events
    assert events[1]["shipment"] == 1 and events[1]["detail"]["warehouse"] == FDC, events
    check_reservations(w)


def test_split_only_when_no_single_warehouse_can(w):
    d = daemon(w)
    a = new_sku(w, {FDC: 5})
    b = new_sku(w, {RDC: 5})
    r = post(d, order_body([(a, 2), (b, 2)]))
    assert r.status == 201, r
    ships = {s["warehouse"]: s["lines"] for s in r.json()["shipments"]}
    assert ships == {FDC: [{"sku": a, "qty": 2}], RDC: [{"sku": b, "qty": 2}]}, ships
    # Both at the RDC, one at the FDC: one shipment from the RDC beats a split.
    c = new_sku(w, {RDC: 5, FDC: 5})
    e = new_sku(w, {RDC: 5})
    r = post(d, order_body([(c, 1), (e, 1)]))
    assert r.status == 201, r
    assert [s["warehouse"] for s in r.json()["shipments"]] == [RDC], r
    check_reservations(w)


def test_station_id_instead_of_location(w):
    d = daemon(w)
    sku = new_sku(w, {RDC: 5})
    body = order_body([(sku, 1)])
    del body["customer"]
    body["station_id"] = "bj-st-001"
    r = post(d, body)
    assert r.status == 201, r
    assert r.json()["station"]["id"] == "bj-st-001" and r.json()["customer"] is None, r
    assert d.get("/v1/orders/" + r.json()["id"]).json()["customer"] is None


def test_invalid_orders_are_422_listing_each_field_and_change_nothing(w):
    d = daemon(w)
    before = counts(w)
    r = post(d, {"external_id": "", "customer": {"lat": 99, "lon": 116.4},
                 "lines": [{"sku": "bad sku", "qty": 0}, {"sku": "SKU-00001", "qty": 1.5}],
                 "delivery_option": "teleport", "install": "yes"}, key=False)
    assert r.status == 422, r
    assert r.headers["content-type"] == "application/problem+json"
    fields = {e["field"] for e in r.json()["errors"]}
    assert fields == {"Idempotency-Key", "external_id", "customer.lat", "lines[0].sku",
                      "lines[0].qty", "lines[1].qty", "delivery_option", "install"}, fields
    cases = [
        ({"lines": []}, "lines"),
        ({"lines": [{"sku": "SKU-00001", "qty": 1}] * 2}, "lines[1].sku"),
        ({"lines": [{"sku": "SKU-00001", "qty": 100001}]}, "lines[0].qty"),
        ({"customer": None}, "customer"),
        ({"customer": {"lat": 39.9}}, "customer.lon"),
        ({"station_id": "no such station!"}, "station_id"),
        ({"external_id": 12}, "external_id"),
    ]
    for patch, field in cases:
        body = order_body([("SKU-00001", 1)])
        body.update(patch)
        r = post(d, body)
        assert r.status == 422 and field in [e["field"] for e in r.json()["errors"]], (patch, r)
    r = post(d, None, raw="{not json")
    assert r.status == 400, r
    r = post(d, None, raw="[1]")
    assert r.status == 400, r
    r = post(d, order_body([("SKU-00001", 1)]), key="x" * 256)
    assert r.status == 422 and r.json()["errors"][0]["field"] == "Idempotency-Key", r
    # Valid JSON, but nothing to sell or nowhere to deliver.
    r = post(d, order_body([("NO-SUCH-SKU", 1), ("SKU-00001", 1)]))
    assert r.status == 422 and r.json()["errors"] == [
        {"field": "lines[0].sku", "message": "unknown SKU"}], r
    body = order_body([("SKU-00001", 1)])
    del body["customer"]
    body["station_id"] = "bj-st-999"
    r = post(d, body)
    assert r.status == 422 and r.json()["errors"][0]["field"] == "station_id", r
    r = post(d, order_body([("SKU-00001", 1)], where={"lat": 31.23, "lon": 121.47}))
    assert r.status == 422 and r.json()["errors"][0]["field"] == "customer", r
    assert counts(w) == before


def test_replay_returns_the_same_response_and_a_new_body_is_422(w):
    d = daemon(w)
    sku = new_sku(w, {RDC: 1})
    key = "replay-" + uuid.uuid4().hex
    body = order_body([(sku, 1)])
    first = post(d, body, key=key)
    assert first.status == 201, first
    # The last unit is gone, yet a retry still gets its 201, byte for byte,
    # even with other whitespace and member order.
    raw = json.dumps(dict(reversed(list(body.items()))), indent=2)
    again = post(d, None, key=key, raw=raw)
    assert again.status == 201 and again.body == first.body, (first, again)
    assert again.headers.get("idempotent-replayed") == "true", again.headers
    assert again.headers["location"] == first.headers["location"]
    assert stock_row(w, RDC, sku) == (1, 1, 0)
    assert sql(w, f"SELECT count(*) FROM orders WHERE idempotency_key = '{key}'") == "1"
    other = dict(body, external_id="SHOP-other")
    r = post(d, other, key=key)
    assert r.status == 422 and r.json()["errors"][0]["field"] == "Idempotency-Key", r
    # Concurrent retries of one key: one order, every answer the same.
    sku2 = new_sku(w, {RDC: 100})
    key2 = "burst-" + uuid.uuid4().hex
    body2 = order_body([(sku2, 1)])
    out = []
    threads = [threading.Thread(target=lambda: out.append(post(d, body2, key=key2)))
               for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert {r.status for r in out} == {201} and len({r.body for r in out}) == 1, out[:3]
    assert stock_row(w, RDC, sku2) == (100, 1, 99)
    check_reservations(w)


def test_recipient_and_tracking_code_round_trip_and_replay(w):
    """The recipient is kept exactly as entered, the order gets a random
    tracking code and remembers the token that placed it; a replay gives
    the same code byte for byte, and a retry with another recipient is
    another request (422)."""
    d = daemon(w)
    svc = w.token("order_service", label="recipient shop")
    harness.wait_until(lambda: d.get("/v1/admin/tokens/whoami", token=svc).status == 200,
                       what="the token known")
    svc_id = d.get("/v1/admin/tokens/whoami", token=svc).json()["id"]
    sku = new_sku(w, {RDC: 10})
    rcp = {"name": "  Zhang San ", "phone": "+86 (10) 6512-3456",
           "address": "Room 5, 8 Wangfujing St\nDongcheng", "notes": "门卫室代收 'ok'; --"}
    body = order_body([(sku, 1)], recipient=rcp)
    key = "rcp-" + uuid.uuid4().hex
    h = {"Idempotency-Key": key}
    first = d.request("POST", "/v1/orders", body=body, headers=h, token=svc)
    assert first.status == 201, first
    o = first.json()
    assert o["recipient"] == rcp, o
    code = o["tracking_code"]
    assert len(code) == 19 and code.startswith("TRK"), o
    assert int(code[3:], 16) >= 0 and code[3:].upper() == code[3:], code
    stored = sql(w, f"SELECT recipient::text, tracking_code, client_id FROM orders "
                    f"WHERE id = '{o['id']}'").split("|")
    assert json.loads(stored[0]) == rcp and stored[1:] == [code, svc_id], stored
    doc = d.get("/v1/orders/" + o["id"], token=svc).json()
    doc.pop("events")
    assert doc == o, (doc, o)
    again = d.request("POST", "/v1/orders", body=body, headers=h, token=svc)
    assert again.status == 201 and again.body == first.body, (first, again)
    other = dict(body, recipient=dict(rcp, phone="+86 10 6512 0000"))
    r = d.request("POST", "/v1/orders", body=other, headers=h, token=svc)
    assert r.status == 422 and r.json()["errors"][0]["field"] == "Idempotency-Key", r
    # An order without a recipient (as every order before it) is still one.
    r = post(d, order_body([(sku, 1)]))
    assert r.status == 201 and r.json()["recipient"] is None, r
    assert r.json()["tracking_code"] != code
    assert sql(w, f"SELECT recipient IS NULL FROM orders WHERE id = '{r.json()['id']}'") == "t"


def test_out_of_stock_is_409_and_reserves_nothing(w):
    d = daemon(w)
    a = new_sku(w, {RDC: 3})
    b = new_sku(w, {RDC: 10})
    before = counts(w)
    key = "oos-" + uuid.uuid4().hex
    r = post(d, order_body([(b, 2), (a, 5)]), key=key)
    assert r.status == 409, r
    lines = {l["sku"]: l for l in r.json()["lines"]}
    assert lines[a]["status"] == "no_stock" and lines[a]["best_available"] == 3, lines
    assert lines[b]["status"] != "no_stock", lines
    assert stock_row(w, RDC, a) == (3, 0, 3) and stock_row(w, RDC, b) == (10, 0, 10)
    assert counts(w) == before
    # A 409 is not remembered: after receiving goods the same key goes through.
    assert d.request("PUT", f"/v1/warehouses/{RDC}/stock/{a}", body={"on_hand": 5}).status == 200
    r = post(d, order_body([(b, 2), (a, 5)]), key=key)
    assert r.status == 201, r
    assert stock_row(w, RDC, a) == (5, 5, 0)
    check_reservations(w)


def test_external_id_is_unique(w):
    d = daemon(w)
    sku = new_sku(w, {RDC: 10})
    first = post(d, order_body([(sku, 1)], ext="SHOP-dup"))
    assert first.status == 201, first
    r = post(d, order_body([(sku, 2)], ext="SHOP-dup"))
    assert r.status == 409 and r.json()["order_id"] == first.json()["id"], r
    assert stock_row(w, RDC, sku) == (10, 1, 9)
    check_reservations(w)


def test_cancel_releases_until_the_shipment_leaves(w):
    d = daemon(w)
    sku = new_sku(w, {RDC: 10})
    o = post(d, order_body([(sku, 4)])).json()
    assert stock_row(w, RDC, sku) == (10, 4, 6)
    r = d.request("POST", f"/v1/orders/{o['id']}/cancel", body={"reason": "customer"})
    assert r.status == 200, r
    assert r.json()["status"] == "cancelled" and r.json()["shipments"][0]["status"] == "cancelled"
    assert stock_row(w, RDC, sku) == (10, 0, 10)
    # Again: nothing more is released, no second event.
    r = d.request("POST", f"/v1/orders/{o['id']}/cancel")
    assert r.status == 200 and stock_row(w, RDC, sku) == (10, 0, 10), r
    events = d.get("/v1/orders/" + o["id"]).json()["events"]
    assert [e["kind"] for e in events] == ["created", "allocated", "cancelled"], events
    assert events[2]["detail"]["reason"] == "customer"
    assert events[2]["detail"]["released"] == [{"w": RDC, "sku": sku, "qty": 4, "available": 10}]
    # Once the parcel has left the warehouse it is too late.
    o2 = post(d, order_body([(sku, 2)])).json()
    sql(w, f"UPDATE shipments SET status = 'departed_warehouse' WHERE order_id = '{o2['id']}'")
    r = d.request("POST", f"/v1/orders/{o2['id']}/cancel")
    assert r.status == 409 and r.json()["shipments"] == [1], r
    assert stock_row(w, RDC, sku) == (10, 2, 8)
    assert d.request("POST", "/v1/orders/ord_nope/cancel").status == 404
    assert d.get("/v1/orders/ord_nope").status == 404
    r = d.request("POST", f"/v1/orders/{o2['id']}/cancel", body={"reason": 5})
    assert r.status == 422, r
    # The timeline is append-only, even for the database owner.
    p = subprocess.run(["psql", "-X", "-h", "127.0.0.1", "-p", str(w.pg.port), "-U", "dispatchd",
                        "-d", "dispatchd", "-c", "DELETE FROM order_events"],
                       capture_output=True, text=True)
    assert p.returncode != 0 and "append-only" in p.stderr, p.stderr


def test_200_concurrent_orders_for_50_units(w):
    """The issue's race: exactly 50 accepted, stock ends at 0, never below."""
    d = daemon(w)
    sku = new_sku(w, {RDC: 50})
    results = []
    lock = threading.Lock()
    start = threading.Event()

    def worker(n):
        start.wait()
        for _ in range(n):
            r = post(d, order_body([(sku, 1)]))
            with lock:
                results.append(r.status)

    threads = [threading.Thread(target=worker, args=(5,)) for _ in range(40)]
    for t in threads:
        t.start()
    start.set()
    for t in threads:
        t.join()
    assert len(results) == 200
    assert results.count(201) == 50 and results.count(409) == 150, \
        {s: results.count(s) for s in set(results)}
    assert stock_row(w, RDC, sku) == (50, 50, 0)
    assert sql(w, f"SELECT sum(qty) FROM order_lines WHERE sku = '{sku}'") == "50"
    check_reservations(w)


def test_sigkill_mid_burst_keeps_every_accepted_order(w):
    d = daemon(w)
    sku = new_sku(w, {RDC: 100000})
    accepted = []
    lock = threading.Lock()
    stop = threading.Event()

    def worker():
        while not stop.is_set():
            body = order_body([(sku, 1)])
            try:
                r = post(d, body)
            except (OSError, http.client.HTTPException):
                return
            if r.status == 201:
                with lock:
                    accepted.append(r.json()["id"])

    threads = [threading.Thread(target=worker) for _ in range(16)]
    for t in threads:
        t.start()
    # Mid-burst: orders accepted and 16 clients still sending (no bound on
    # how fast; the timeout only guards against a hang).
    harness.wait_until(lambda: len(accepted) >= 150, timeout=600, what="orders flowing")
    d.proc.send_signal(signal.SIGKILL)
    d.proc.wait()
    stop.set()
    for t in threads:
        t.join()
    ids = ",".join(f"'{i}'" for i in accepted)
    found = sql(w, f"SELECT count(*) FROM orders o WHERE id IN ({ids}) AND EXISTS "
                   f"(SELECT 1 FROM order_lines l WHERE l.order_id = o.id)")
    assert int(found) == len(accepted), (found, len(accepted))
    check_reservations(w)
    on_hand, reserved, available = stock_row(w, RDC, sku)
    assert reserved == int(sql(w, f"SELECT count(*) FROM order_lines WHERE sku = '{sku}'"))
    assert reserved >= len(accepted)
    # A fresh daemon serves on.
    d2 = daemon(w)
    assert post(d2, order_body([(sku, 1)])).status == 201


def test_event_loop_serves_while_a_commit_waits(w):
    d = daemon(w)
    sku = new_sku(w, {RDC: 10})
    post(d, order_body([(sku, 1)]))  # warm the stock hints
    sess = w.pg.session()
    sess.stdin.write(f"BEGIN; SELECT * FROM stock WHERE sku = '{sku}' FOR UPDATE;\n")
    sess.stdin.flush()
    harness.wait_until(lambda: sql(w, "SELECT count(*) FROM pg_locks WHERE mode = 'RowShareLock' "
                                      "AND relation = 'stock'::regclass") != "0",
                       what="the row lock")
    out = []
    t = threading.Thread(target=lambda: out.append(post(d, order_body([(sku, 2)]), key="held")))
    t.start()
    harness.wait_until(lambda: d.metric("dispatchd_http_inflight_requests") == 1,
                       what="the order waiting")
    for _ in range(20):
        assert d.get("/healthz").status == 200
    assert d.get(f"/v1/warehouses/{RDC}/stock?limit=1").status == 200
    # All answered while the order still waits on its commit.
    assert d.metric("dispatchd_http_inflight_requests") == 1 and t.is_alive()
    # A client that gives up meanwhile: its order still commits, and its
    # retry with the same key replays it.
    s = socket.create_connection(("127.0.0.1", d.port))
    s.sendall(("POST /v1/orders HTTP/1.1\r\nHost: x\r\nIdempotency-Key: gone\r\n"
               f"Authorization: Bearer {w.admin_token}\r\n"
               "Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s" % (
                   len(json.dumps(order_body([(sku, 3)], ext="SHOP-gone"))),
                   json.dumps(order_body([(sku, 3)], ext="SHOP-gone")))).encode())
    harness.wait_until(lambda: d.metric("dispatchd_http_inflight_requests") == 2,
                       what="the second order waiting")
    # Gone before the commit: close() has sent its FIN before COMMIT below
    # (the daemon only finds out when it writes the answer).
    s.close()
    sess.stdin.write("COMMIT;\n")
    sess.stdin.close()
    sess.wait(timeout=10)
    t.join()
    assert out[0].status == 201, out
    assert stock_row(w, RDC, sku) == (10, 6, 4)
    r = post(d, order_body([(sku, 3)], ext="SHOP-gone"), key="gone")
    assert r.status == 201 and r.headers.get("idempotent-replayed") == "true", r
    check_reservations(w)


def test_postgres_outage_is_503_then_recovers(w):
    d = daemon(w)
    sku = new_sku(w, {RDC: 10})
    w.pg.stop()
    try:
        harness.wait_until(lambda: d.get("/readyz").status == 503, what="postgres down")
        r = post(d, order_body([(sku, 1)]))
        assert r.status == 503, r
    finally:
        w.pg.start()
    harness.wait_until(lambda: d.get("/readyz").status == 200, what="postgres back")
    r = harness.wait_until(lambda: (lambda x: x if x.status == 201 else None)(
        post(d, order_body([(sku, 1)]))), what="an order accepted again")
    assert stock_row(w, RDC, sku) == (10, 1, 9)


if __name__ == "__main__":
    harness.run(globals())
