"""Returns end to end (issue 12 part P4; docs/api.md "Returns"), with the
real PostgreSQL and the daemon: orders are placed by an order_service
client, scanned to the station and delivered through the real path (the
wave planner plans them, the courier's `delivered` stop event delivers
them). Then a return is requested (window, quantities, pickup wave), its
pickup stop is planned beside the wave's deliveries (a replan of a wave
already planned), collected by the courier's `picked_up` event, refunded by
policy (quick refund at pickup below the category's limit; after inspection
above it, for the passed lines only) with the return.refund_due webhook
delivered, scanned back to the warehouse (scopes and roles), inspected and
restocked: stock and stock_ledger agree. A request outside the window is
422 naming it and changes nothing; a not delivered order is 409; a failed
pickup is retried in the next wave up to [dispatch] max_attempts, then the
return fails. Concurrent requests never return more than was delivered. An
exchange stop (part P5 makes it; an SQL fixture here) is planned once its
replacement is at the station and its `delivered` also collects the
return."""
import json
import threading
import uuid

import harness
import wave_fixtures
from test_orders import FDC, RDC, order_body, prepare, sql
from test_webhooks import FAST, Receiver

ST = "bj-st-001"
RETURNS_CONF = """[returns]
window_days = 7
defect_window_days = 15
quick_refund_max = 200.00
pickup_days_ahead = 3

[returns.large_appliances]
window_days = 7
defect_window_days = 30
quick_refund_max = 0.00
"""
# No automatic planning (the test plans and replans), two attempts per stop.
CONF = "[dispatch]\nscheduler_interval_ms = 0\nmax_attempts = 2\n" + FAST + RETURNS_CONF
LATER = "2030-01-16T08:00:00+08:00"   # 8 days after the test clock's day


def ret_daemon(w, at=harness.TEST_NOW):
    prepare(w)
    d = w.daemon(extra_conf=harness.clock_conf(at) + CONF)
    harness.wait_until(lambda: d.get("/readyz").status == 200, what="ready")
    harness.wait_until(lambda: d.get("/v1/stations").status == 200, what="areas loaded")
    return d


def known(d, tok):
    harness.wait_until(lambda: d.get("/v1/admin/tokens/whoami", token=tok).status == 200,
                       timeout=6, what="the daemon to know the token")
    return d.get("/v1/admin/tokens/whoami", token=tok).json()["id"]


def setup(w, d):
    """Once per world: the client, the courier (one, so every stop is its),
    station and warehouse tokens."""
    if not hasattr(w, "ret"):
        [cid] = wave_fixtures.add_couriers(w, ST, 1, prefix="ret")
        sql(w, f"UPDATE couriers SET name = 'Li Na' WHERE id = '{cid}'")
        w.ret = {"client": w.token("order_service", label="shop"),
                 "courier_id": cid, "courier": w.token("courier", cid, label="ret courier"),
                 "st": w.token("station", ST, label="ret st"),
                 "st_out": w.token("station", "bj-st-002", label="ret st2"),
                 "wh": w.token("warehouse", FDC, label="ret wh"),
                 "wh_out": w.token("warehouse", RDC, label="ret wh2")}
    ids = {k: known(d, v) for k, v in w.ret.items() if k != "courier_id"}
    return w.ret, ids


def priced_sku(w, category, price_milli, on_hand=20, large=False):
    sku = "R-" + uuid.uuid4().hex[:12]
    sql(w, f"INSERT INTO skus (sku, name, category, weight_g, volume_ml, large, price_milli) "
           f"VALUES ('{sku}', 'test', '{category}', 800, 1000, {str(large).lower()}, "
           f"{price_milli})")
    sql(w, f"INSERT INTO stock VALUES ('{FDC}', '{sku}', {on_hand}, 0, {on_hand})")
    return sku


def place(d, t, lines):
    r = d.request("POST", "/v1/orders", body=order_body(lines), token=t["client"],
                  headers={"Idempotency-Key": uuid.uuid4().hex})
    assert r.status == 201, r
    return r.json()["id"]


def to_station(d, orders):
    """The warehouse and station scans of each order's one shipment."""
    for ev in ("picked", "packed", "departed_warehouse", "arrived_at_station"):
        scans = [{"order": o, "seq": 1, "event": ev, "key": uuid.uuid4().hex} for o in orders]
        r = d.request("POST", "/v1/shipments/events", body={"scans": scans})
        assert r.status == 200 and all(x["status"] == 200 for x in r.json()["results"]), r


def wave_of(w, order):
    return sql(w, f"SELECT counter_key FROM order_capacity WHERE order_id = '{order}' "
                  f"AND counter_key LIKE '%-W%'")


def plan(d, key, replan=False):
    path = f"/v1/stations/{ST}/waves/{key}/" + ("replan" if replan else "plan")
    r = d.request("POST", path, body={"reason": "pickup"} if replan else None)
    assert r.status == 200, r
    return r.json()


def planned_stops(p):
    return {(s["order_id"], s["stop_id"]) for r in p["routes"] for s in r["stops"]}


def my_stop(d, t, order=None, kind=None):
    r = d.get("/v1/couriers/me/route", token=t["courier"])
    assert r.status == 200, r
    doc = r.json()
    found = [s for s in doc["stops"] if (order is None or s["order"] == order)
             and (kind is None or s["kind"] == kind) and s["status"] == "planned"]
    assert len(found) == 1, doc
    return found[0]


def stop_event(d, t, sid, body):
    return d.request("POST", f"/v1/stops/{sid}/events", body=body, token=t["courier"],
                     headers={"Idempotency-Key": uuid.uuid4().hex})


def deliver(w, d, t, order):
    s = my_stop(d, t, order, "delivery")
    proof = {"photo_ref": "photo-1"} if s["proof"] == "photo" else {
        "pin": sql(w, f"SELECT pin FROM stops WHERE id = '{s['id']}'")}
    r = stop_event(d, t, s["id"], {"event": "delivered", "proof": proof})
    assert r.status == 200, r
    assert sql(w, f"SELECT status FROM orders WHERE id = '{order}'") == "delivered"


def delivered_order(w, d, t, lines):
    """An order of lines, delivered through the real path; (order, its wave)."""
    o = place(d, t, lines)
    to_station(d, [o])
    key = wave_of(w, o)
    plan(d, key, replan=sql(w, f"SELECT count(*) FROM route_plans WHERE station_id = '{ST}' "
                              f"AND wave_key = '{key}'") != "0")
    deliver(w, d, t, o)
    return o, key


def stock(w, sku):
    return tuple(int(x) for x in sql(w, f"SELECT on_hand, available FROM stock WHERE "
                                        f"warehouse_id = '{FDC}' AND sku = '{sku}'").split("|"))


def events(w, order, like="return.%"):
    out = sql(w, f"SELECT kind, detail FROM order_events WHERE order_id = '{order}' "
                 f"AND kind LIKE '{like}' ORDER BY id")
    return [(k, json.loads(v)) for k, v in (line.split("|", 1) for line in out.splitlines())]


def request(d, order, body, token, key=None):
    h = {"Idempotency-Key": key} if key else {}
    return d.request("POST", f"/v1/orders/{order}/returns", body=body, token=token, headers=h)


def scan(d, ret, ev, token):
    return d.request("POST", f"/v1/returns/{ret}/scans", body={"event": ev}, token=token)


def state(w):
    return sql(w, "SELECT (SELECT count(*) FROM returns), (SELECT count(*) FROM return_lines), "
                  "(SELECT count(*) FROM stops), (SELECT count(*) FROM order_events), "
                  "(SELECT count(*) FROM stock_ledger)")


def test_quick_refund_at_pickup_then_back_into_stock(w):
    rx = Receiver()
    try:
        d = ret_daemon(w)
        t, ids = setup(w, d)
        sub = d.request("POST", "/v1/webhooks", token=t["client"],
                        body={"url": rx.url("/ok"), "events": ["return.refund_due"]})
        assert sub.status == 201, sub
        sku = priced_sku(w, "test", 64500)          # 64.50 CNY
        o1 = place(d, t, [(sku, 2)])
        o2 = place(d, t, [(priced_sku(w, "test", 1000), 1)])   # a delivery of the same wave
        to_station(d, [o1, o2])
        key = wave_of(w, o1)
        assert wave_of(w, o2) == key
        # Not delivered yet: nothing to return.
        body = {"lines": [{"line": 1, "qty": 2}], "reason": "no_reason", "pickup_wave": key}
        r = request(d, o1, body, t["client"])
        assert r.status == 409 and r.json()["type"].endswith("illegal-transition"), r
        first = plan(d, key)
        assert {o for o, _ in planned_stops(first)} == {o1, o2}, first
        deliver(w, d, t, o1)
        before = stock(w, sku)

        # Bad bodies and lines change nothing.
        n0 = state(w)
        for bad, field in (({"lines": [{"line": 1, "qty": 3}], "reason": "no_reason",
                             "pickup_wave": key}, "lines[0].qty"),
                           ({"lines": [{"line": 9, "qty": 1}], "reason": "no_reason",
                             "pickup_wave": key}, "lines[0].line"),
                           ({"lines": [{"line": 1, "qty": 1}], "reason": "bored",
                             "pickup_wave": key}, "reason"),
                           ({"lines": [{"line": 1, "qty": 1}, {"line": 1, "qty": 1}],
                             "reason": "other", "pickup_wave": key}, "lines[1].line")):
            r = request(d, o1, bad, t["client"])
            assert r.status == 422 and field in [e["field"] for e in r.json()["errors"]], r
        r = request(d, o1, dict(body, pickup_wave="20300301-W0900"), t["client"])
        assert r.status == 422 and r.json()["type"].endswith("slot-not-offered"), r
        assert key in r.json()["offered"], r
        assert state(w) == n0

        r = request(d, o1, body, t["client"], key="ret-1")
        assert r.status == 201, r
        ret = r.json()
        rid = ret["id"]
        assert (ret["status"], ret["kind"], ret["order"], ret["warehouse"]) == \
            ("requested", "return", o1, FDC), ret
        assert ret["refund"] == {"amount": "129.00", "amount_fen": 12900, "currency": "CNY",
                                 "policy": "at_pickup", "due_at": None}, ret
        assert ret["lines"] == [{"line": 1, "sku": sku, "qty": 2, "refund": "129.00",
                                 "refund_fen": 12900}], ret
        assert (ret["pickup"]["wave"], ret["pickup"]["status"], ret["pickup"]["attempt"]) == \
            (key, "pending", 1), ret
        # The same key again: the same return; another body with it: refused.
        again = request(d, o1, body, t["client"], key="ret-1")
        assert again.status == 200 and again.json() == ret, again
        r = request(d, o1, dict(body, reason="other"), t["client"], key="ret-1")
        assert r.status == 422 and r.json()["type"].endswith("idempotency-key-reused"), r
        # Everything delivered is returned now: nothing more.
        r = request(d, o1, dict(body, lines=[{"line": 1, "qty": 1}]), t["client"])
        assert r.status == 422 and r.json()["errors"][0]["field"] == "lines[0].qty", r
        # The pickup stop waits in the wave, which is due a replan.
        stop_row = sql(w, f"SELECT id, kind, status, wave_key, courier_id IS NULL FROM stops "
                          f"WHERE return_id = '{rid}'").split("|")
        assert stop_row[1:] == ["pickup", "pending", key, "t"], stop_row
        assert sql(w, f"SELECT reason FROM wave_replans_due WHERE station_id = '{ST}' "
                      f"AND wave_key = '{key}'") == "pickup"
        assert d.get(f"/v1/orders/{o1}/returns", token=t["client"]).json()["returns"] == [ret]

        # Planned beside the wave's deliveries: the pickup carries the
        # return's weight back, the delivery of o2 stays.
        p = plan(d, key, replan=True)
        stops = planned_stops(p)
        assert (o1, stop_row[0]) in stops and o2 in {o for o, _ in stops}, p
        inp = json.loads(sql(w, f"SELECT wave_plan_input('{ST}', '{key}', ARRAY['{key}'], "
                                f"'2030-01-08T01:00:00Z', '2030-01-08T05:00:00Z', 100)"))
        [row] = [s for s in inp["stops"] if s["stop_id"] == stop_row[0]]
        assert (row["kind"], row["return_id"], row["weight_g"], row["pickup_weight_g"],
                row["pickup_volume_ml"]) == ("pickup", rid, 0, 1600, 2000), row
        s = my_stop(d, t, o1, "pickup")
        assert (s["id"], s["return"], s["collect"], s["lines"]) == \
            (stop_row[0], rid, [{"line": 1, "sku": sku, "qty": 2}], []), s

        # Picked up: the refund is due now (129.00 <= 200.00), by webhook too.
        r = stop_event(d, t, s["id"], {"event": "delivered", "proof": {"photo_ref": "x"}})
        assert r.status == 422 and r.json()["errors"][0]["field"] == "event", r
        r = stop_event(d, t, s["id"], {"event": "picked_up"})
        assert r.status == 200 and r.json()["status"] == "picked_up", r
        got = d.get(f"/v1/returns/{rid}", token=t["client"]).json()
        assert got["status"] == "picked_up" and got["refund"]["due_at"] is not None, got
        ev = events(w, o1)
        assert [k for k, _ in ev] == ["return.requested", "return.picked_up",
                                      "return.refund_due"], ev
        assert ev[1][1]["courier"] == t["courier_id"] and ev[1][1]["courier_name"] == "Li Na"
        assert ev[2][1] == {"return": rid, "amount": "129.00", "amount_fen": 12900,
                            "currency": "CNY", "policy": "at_pickup"}, ev
        [(path, headers, raw)] = harness.wait_until(lambda: rx.received(), what="the webhook")
        hook = json.loads(raw)
        assert headers["Dispatch-Event"] == "return.refund_due", headers
        assert hook["type"] == "return.refund_due" and hook["data"]["order"] == o1 and \
            hook["data"]["detail"] == ev[2][1], hook
        assert sql(w, f"SELECT status FROM orders WHERE id = '{o2}'") != "delivered"

        # Back to the warehouse: scopes (404), roles (403), order (409).
        assert scan(d, rid, "arrived_at_station", t["st_out"]).status == 404
        assert d.get(f"/v1/returns/{rid}", token=t["st_out"]).status == 404
        assert d.get(f"/v1/returns/{rid}", token=t["wh_out"]).status == 404
        assert d.get(f"/v1/returns/{rid}", token=t["st"]).status == 200
        assert scan(d, rid, "received_at_warehouse", t["st"]).status == 403
        assert scan(d, rid, "arrived_at_station", t["wh"]).status == 403
        r = scan(d, rid, "departed_station", t["st"])
        assert r.status == 409 and r.json()["current_status"] == "picked_up", r
        assert scan(d, rid, "arrived_at_station", t["st"]).json()["status"] == "at_station"
        assert scan(d, rid, "departed_station", t["st"]).json()["status"] == \
            "returning_to_warehouse"
        r = d.request("POST", f"/v1/returns/{rid}/inspection", token=t["wh"],
                      body={"lines": [{"line": 1, "result": "passed"}]})
        assert r.status == 409 and r.json()["current_status"] == "returning_to_warehouse", r
        assert scan(d, rid, "received_at_warehouse", t["wh_out"]).status == 404
        r = scan(d, rid, "received_at_warehouse", t["wh"])
        assert r.status == 200 and r.json()["status"] == "received", r
        assert stock(w, sku) == before, "received is not restocked yet"

        # Inspection: the passed line goes back into available stock, with
        # its ledger row, in the same transaction.
        r = d.request("POST", f"/v1/returns/{rid}/inspection", token=t["wh"],
                      body={"lines": [{"line": 1, "result": "failed"}]})
        assert r.status == 422 and r.json()["errors"][0]["field"] == "lines[0].reason", r
        r = d.request("POST", f"/v1/returns/{rid}/inspection", token=t["wh_out"],
                      body={"lines": [{"line": 1, "result": "passed"}]})
        assert r.status == 404, r
        r = d.request("POST", f"/v1/returns/{rid}/inspection", token=t["wh"],
                      body={"lines": [{"line": 1, "result": "passed"}]})
        assert r.status == 200, r
        doc = r.json()
        assert doc["status"] == "inspected" and doc["lines"][0]["result"] == "passed", doc
        after = stock(w, sku)
        assert after == (before[0] + 2, before[1] + 2), (before, after)
        ledger = sql(w, f"SELECT actor, old_on_hand, new_on_hand, reason FROM stock_ledger "
                        f"WHERE sku = '{sku}' AND reason LIKE 'return%'").split("|")
        assert ledger == [ids["wh"], str(before[0]), str(after[0]), "return " + rid], ledger
        # Already refunded at pickup: no second refund_due.
        assert [k for k, _ in events(w, o1)][-3:] == ["return.departed_station",
                                                      "return.received", "return.inspected"]
        r = d.request("POST", f"/v1/returns/{rid}/inspection", token=t["wh"],
                      body={"lines": [{"line": 1, "result": "passed"}]})
        assert r.status == 409 and stock(w, sku) == after, r

        # The timeline, full and public.
        full = d.get(f"/v1/orders/{o1}/tracking", token=t["client"]).json()
        texts = [e["text"] for e in full["events"] if e["kind"].startswith("return.")]
        window = ret["pickup"]["window_start"]
        assert texts[0].startswith("Return requested: pickup on 2030-01-08 "), texts
        assert texts[1:] == ["Picked up by courier Li", "Refund of 129.00 CNY due",
                             "The return is at the delivery station",
                             "The return left the station for the warehouse",
                             "Received at the warehouse", "Inspected: 1 passed"], texts
        assert window.startswith("2030-01-08T")
        assert full["returns"][0]["id"] == rid and full["returns"][0]["order"] == o1
        code = sql(w, f"SELECT tracking_code FROM orders WHERE id = '{o1}'")
        pub = d.get(f"/v1/track/{code}", token=None).json()
        assert pub["returns"][0]["status"] == "inspected", pub
        for gone in ("order", "requested_by", "notes", "warehouse"):
            assert gone not in pub["returns"][0], pub["returns"][0]
        assert "stop" not in pub["returns"][0]["pickup"], pub["returns"][0]
        assert t["courier_id"] not in json.dumps(pub)
    finally:
        rx.close()


def test_after_inspection_refund_for_the_passed_lines(w):
    d = ret_daemon(w)
    t, ids = setup(w, d)
    # (category large_appliances; not a large SKU, which would book a large-item
    # window instead of a wave)
    fridge = priced_sku(w, "large_appliances", 2999000)   # 2999.00
    kettle = priced_sku(w, "test", 150000)                             # 150.00
    o, key = delivered_order(w, d, t, [(fridge, 1), (kettle, 1)])
    body = {"lines": [{"line": 1, "qty": 1}, {"line": 2, "qty": 1}], "reason": "defective",
            "notes": "door does not close", "pickup_wave": key}
    r = request(d, o, body, t["client"])
    assert r.status == 201, r
    ret = r.json()
    # The strictest category decides: large appliances refund after inspection.
    assert ret["refund"]["policy"] == "after_inspection" and \
        ret["refund"]["amount"] == "3149.00", ret
    rid = ret["id"]
    plan(d, key, replan=True)
    r = stop_event(d, t, my_stop(d, t, o, "pickup")["id"], {"event": "picked_up"})
    assert r.status == 200, r
    assert [k for k, _ in events(w, o)] == ["return.requested", "return.picked_up"]
    for ev, tok in (("arrived_at_station", "st"), ("received_at_warehouse", "wh")):
        assert scan(d, rid, ev, t[tok]).status == 200
    f0, k0 = stock(w, fridge), stock(w, kettle)
    r = d.request("POST", f"/v1/returns/{rid}/inspection", token=t["wh"],
                  body={"lines": [{"line": 1, "result": "passed"},
                                  {"line": 2, "result": "failed", "reason": "scratched"}]})
    assert r.status == 200, r
    assert [(x["result"], x.get("result_reason")) for x in r.json()["lines"]] == \
        [("passed", None), ("failed", "scratched")], r.json()
    assert stock(w, fridge) == (f0[0] + 1, f0[1] + 1) and stock(w, kettle) == k0
    assert sql(w, f"SELECT count(*) FROM stock_ledger WHERE reason = 'return {rid}'") == "1"
    ev = events(w, o)
    assert [k for k, _ in ev][-2:] == ["return.inspected", "return.refund_due"], ev
    assert ev[-1][1] == {"return": rid, "amount": "2999.00", "amount_fen": 299900,
                         "currency": "CNY", "policy": "after_inspection"}, ev
    assert d.get(f"/v1/returns/{rid}", token=t["wh"]).json()["refund"]["amount"] == "2999.00"


def test_an_inspection_takes_the_order_before_stock_as_exchanges_do(w):
    """Lock order: the order row, then the return, then stock. An exchange
    of the same order (exchange_create) holds the order FOR UPDATE and then
    takes stock rows; an inspection that restocked first and only then asked
    for the order (its events' foreign key) deadlocked with it (one of the
    two was aborted)."""
    d = ret_daemon(w)
    t, ids = setup(w, d)
    sku = priced_sku(w, "test", 5000, on_hand=5)
    o, key = delivered_order(w, d, t, [(sku, 2)])
    r = request(d, o, {"lines": [{"line": 1, "qty": 1}], "reason": "no_reason",
                       "pickup_wave": key}, t["client"])
    assert r.status == 201, r
    rid = r.json()["id"]
    sql(w, f"UPDATE returns SET status = 'received' WHERE id = '{rid}'")   # collected, back
    sess = w.pg.session()
    sess.stdin.write(f"BEGIN; SELECT 1 FROM orders WHERE id = '{o}' FOR UPDATE;\n")
    sess.stdin.flush()
    harness.wait_until(lambda: sql(w, "SELECT count(*) FROM pg_stat_activity "
                                      "WHERE state = 'idle in transaction'") == "1",
                       what="the exchange holding the order")
    result = []
    th = threading.Thread(target=lambda: result.append(d.request(
        "POST", f"/v1/returns/{rid}/inspection", token=t["wh"],
        body={"lines": [{"line": 1, "result": "passed"}]})))
    th.start()
    harness.wait_until(lambda: sql(w, "SELECT count(*) FROM pg_stat_activity "
                                      "WHERE wait_event_type = 'Lock' "
                                      "AND query LIKE '%return_inspect%'") == "1",
                       what="the inspection waiting for a lock")
    # As exchange_create goes on: the stock row of the replacement, then done.
    sess.stdin.write(f"SELECT 1 FROM stock WHERE warehouse_id = '{FDC}' AND sku = '{sku}' "
                     f"FOR UPDATE;\nCOMMIT;\n")
    sess.stdin.close()
    assert sess.wait(timeout=30) == 0, "the exchange's transaction was aborted"
    th.join(timeout=30)
    assert result and result[0].status == 200, result
    assert stock(w, sku)[1] == 4, stock(w, sku)


def test_window_closed_and_a_failed_pickup_retried(w):
    d = ret_daemon(w)
    t, _ = setup(w, d)
    sku = priced_sku(w, "test", 20000)
    o, _ = delivered_order(w, d, t, [(sku, 1)])
    d.stop()
    # Eight days later: past the 7 days of no_reason (422 naming the window),
    # within the 15 of defective.
    d = ret_daemon(w, at=LATER)
    known(d, t["client"])
    known(d, t["courier"])
    n0 = state(w)
    r = request(d, o, {"lines": [{"line": 1, "qty": 1}], "reason": "no_reason",
                       "pickup_wave": "20300116-W0900"}, t["client"])
    assert r.status == 422, r
    p = r.json()
    assert p["type"] == "urn:dispatchd:problem:return-window-closed", p
    assert p["window_days"] == 7 and p["delivered_at"].startswith("2030-01-08T"), p
    assert p["window_end"].startswith("2030-01-15T") and "window_days" in p["detail"], p
    assert state(w) == n0, "nothing changed"
    r = request(d, o, {"lines": [{"line": 1, "qty": 1}], "reason": "defective",
                       "pickup_wave": "20300116-W0900"}, t["client"])
    assert r.status == 201, r
    rid = r.json()["id"]
    # That wave has no plan yet: no replan is due for it.
    assert sql(w, "SELECT count(*) FROM wave_replans_due WHERE wave_key = '20300116-W0900'") \
        == "0"
    plan(d, "20300116-W0900")
    s = my_stop(d, t, o, "pickup")
    r = stop_event(d, t, s["id"], {"event": "failed", "reason": "customer_absent"})
    assert r.status == 200 and r.json()["outcome"]["retry"]["wave"] == "20300116-W1300", r
    retry = sql(w, f"SELECT id, attempt, status, wave_key FROM stops WHERE return_id = '{rid}' "
                   f"AND attempt = 2").split("|")
    assert retry[1:] == ["2", "pending", "20300116-W1300"], retry
    doc = d.get(f"/v1/returns/{rid}").json()
    assert doc["status"] == "requested" and doc["pickup"]["attempt"] == 2, doc
    plan(d, "20300116-W1300")
    s = my_stop(d, t, o, "pickup")
    assert s["id"] == retry[0] and s["attempt"] == 2, s
    r = stop_event(d, t, s["id"], {"event": "failed", "reason": "customer_absent"})
    assert r.status == 200 and r.json()["outcome"]["retry"] is None, r
    assert d.get(f"/v1/returns/{rid}").json()["status"] == "failed"
    assert [k for k, _ in events(w, o)] == [
        "return.requested", "return.pickup_failed", "return.pickup_rescheduled",
        "return.pickup_failed", "return.failed"], events(w, o)
    # A failed return no longer holds its lines: they may be returned again.
    r = request(d, o, {"lines": [{"line": 1, "qty": 1}], "reason": "defective",
                       "pickup_wave": "20300117-W0900"}, t["client"])
    assert r.status == 201, r


def test_concurrent_returns_never_take_more_than_delivered(w):
    """Six requests at once for one unit each of a line of 2 delivered: the
    order's row lock makes each count the others, so exactly 2 are accepted
    and the rest refused naming what is left."""
    d = ret_daemon(w)
    t, _ = setup(w, d)
    o, key = delivered_order(w, d, t, [(priced_sku(w, "test", 5000), 2)])
    body = {"lines": [{"line": 1, "qty": 1}], "reason": "no_reason", "pickup_wave": key}
    out = []
    go = threading.Barrier(6)

    def one():
        go.wait()
        out.append(request(d, o, body, t["client"]))
    threads = [threading.Thread(target=one) for _ in range(6)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert sorted(r.status for r in out) == [201, 201, 422, 422, 422, 422], out
    assert all(r.json()["errors"][0]["field"] == "lines[0].qty" for r in out if r.status == 422)
    assert sql(w, f"SELECT sum(l.qty) FROM return_lines l JOIN returns r ON r.id = l.return_id "
                  f"WHERE r.order_id = '{o}'") == "2"
    assert sql(w, f"SELECT count(*) FROM stops WHERE order_id = '{o}' AND kind = 'pickup'") == "2"


def test_an_exchange_stop_delivers_and_collects(w):
    """The exchange stop (part P5 creates it; SQL fixture here: a returns row
    of kind exchange and one stop of kind exchange whose order is the
    replacement, placed through the real intake): planned only once the
    replacement's parcel is at the station, with the replacement's lines as
    delivery demand and the return's as pickup demand; `delivered` on it
    delivers the replacement and marks the return picked_up."""
    d = ret_daemon(w)
    t, _ = setup(w, d)
    shirt = priced_sku(w, "test", 99000)
    o, key = delivered_order(w, d, t, [(shirt, 1)])
    repl = place(d, t, [(shirt, 1)])            # the replacement, booked like any order
    rid = "ret_" + uuid.uuid4().hex[:16]
    sid = "stp_" + uuid.uuid4().hex[:16]
    sql(w, f"""
        INSERT INTO returns (id, order_id, kind, reason, status, station_id, wave_key,
                             window_start, window_end, warehouse_id, exchange_order_id,
                             refund_fen, refund_policy)
        VALUES ('{rid}', '{o}', 'exchange', 'wrong_item', 'requested', '{ST}', '{key}',
                '2030-01-08T05:00:00Z', '2030-01-08T09:00:00Z', '{FDC}', '{repl}', 0, 'none');
        INSERT INTO return_lines (return_id, line_no, sku, qty, replacement_sku)
        VALUES ('{rid}', 1, '{shirt}', 1, '{shirt}');
        INSERT INTO stops (id, station_id, wave_key, order_id, kind, attempt, status,
                           window_start, window_end, proof, return_id)
        VALUES ('{sid}', '{ST}', '{key}', '{repl}', 'exchange', 1, 'pending',
                '2030-01-08T05:00:00Z', '2030-01-08T09:00:00Z', 'photo', '{rid}')""")
    # The replacement is still in its warehouse: not planned yet.
    p = plan(d, key, replan=True)
    assert repl not in {o for o, _ in planned_stops(p)}, p
    assert sql(w, f"SELECT status FROM stops WHERE id = '{sid}'") == "pending"
    to_station(d, [repl])
    p = plan(d, key, replan=True)
    assert (repl, sid) in planned_stops(p), p
    inp = json.loads(sql(w, f"SELECT wave_plan_input('{ST}', '{key}', ARRAY['{key}'], "
                            f"'2030-01-08T01:00:00Z', '2030-01-08T05:00:00Z', 100)"))
    [row] = [s for s in inp["stops"] if s["stop_id"] == sid]
    assert (row["kind"], row["weight_g"], row["pickup_weight_g"]) == ("exchange", 800, 800), row
    s = my_stop(d, t, repl, "exchange")
    assert (s["return"], s["collect"], len(s["lines"])) == \
        (rid, [{"line": 1, "sku": shirt, "qty": 1}], 1), s
    r = stop_event(d, t, sid, {"event": "picked_up"})
    assert r.status == 422 and "exchange" in r.json()["errors"][0]["message"], r
    r = stop_event(d, t, sid, {"event": "delivered", "proof": {"photo_ref": "door"}})
    assert r.status == 200 and r.json()["status"] == "delivered", r
    assert sql(w, f"SELECT status FROM orders WHERE id = '{repl}'") == "delivered"
    assert d.get(f"/v1/returns/{rid}").json()["status"] == "picked_up"
    assert [k for k, _ in events(w, o)] == ["return.picked_up"], events(w, o)


if __name__ == "__main__":
    harness.run(globals())
