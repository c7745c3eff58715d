"""Exchanges (issue 12, part P5; docs/api.md "Exchanges"): POST
/v1/orders/{id}/exchanges with real PostgreSQL and the daemon. The
replacement order is reserved like any order line (stock.reserved up,
available down, no stock_ledger row: the ledger records on_hand only), the
return row and ONE exchange stop carry both (order_id = the replacement,
return_id = the return); another size works; out of stock, outside the
window and not delivered change nothing; replays are byte for byte; the
last unit goes to exactly one of concurrent exchanges.

A delivered order here: placed with POST /v1/orders, scanned picked,
packed and departed_warehouse through the API (so its reservation is
consumed as in production), then delivered by SQL: the shipment and order
status 'delivered' and the `delivered` order event at a chosen time (the
stop events of the couriers' handheld make these in production)."""
import json
import threading
import uuid

import harness
from test_orders import FDC, RDC, daemon, new_sku, order_body, post, sql, stock_row

WAVE = "20300108-W0900"          # the test clock's day (2030-01-08 08:00 +08:00)
LATER_WAVE = "20300108-W1300"
NOW = "2030-01-08T00:00:00Z"     # the test clock
NO_SCHEDULER = "[dispatch]\nscheduler_interval_ms = 0\n"
RETURNS_CONF = """
[returns]
window_days = 7
defect_window_days = 15
quick_refund_max = 200.00
pickup_days_ahead = 3

[returns.large_appliances]
window_days = 7
defect_window_days = 30
quick_refund_max = 0.00
"""
RECIPIENT = {"name": "Zhao Lei", "phone": "+86 138 0013 8111",
             "address": "Dongcheng, 5 Beixinqiao, unit 3", "notes": ""}


def xd(w):
    return daemon(w, extra_conf=NO_SCHEDULER + RETURNS_CONF)


def delivered_order(w, d, sku, qty=1, at=NOW, ext=None):
    """A delivered order of qty units of sku (see the module's doc)."""
    body = order_body([(sku, qty)], ext=ext, recipient=RECIPIENT)
    r = post(d, body)
    assert r.status == 201, r
    o = r.json()
    for ev in ("picked", "packed", "departed_warehouse"):
        s = d.request("POST", f"/v1/shipments/{o['id']}/1/events", body={"event": ev},
                      headers={"Idempotency-Key": uuid.uuid4().hex})
        assert s.status == 200, s
    sql(w, f"UPDATE shipments SET status = 'delivered' WHERE order_id = '{o['id']}'; "
           f"UPDATE orders SET status = 'delivered' WHERE id = '{o['id']}'; "
           f"INSERT INTO order_events (order_id, shipment_seq, kind, at, detail) "
           f"VALUES ('{o['id']}', 1, 'delivered', '{at}', '{{\"proof\": \"photo\"}}')")
    return o


def exchange(d, order, lines, key=None, reason="no_reason", wave=WAVE, token=harness.ADMIN,
             **extra):
    body = {"lines": lines, "reason": reason, "pickup_wave": wave}
    body.update(extra)
    headers = {} if key is False else {"Idempotency-Key": key or uuid.uuid4().hex}
    return d.request("POST", f"/v1/orders/{order}/exchanges", body=body, headers=headers,
                     token=token)


def rows(w, text):
    out = sql(w, text)
    return [line.split("|") for line in out.splitlines()] if out else []


def world_state(w, skus):
    """Everything an exchange writes, to compare before and after a refusal."""
    listed = ", ".join(f"'{s}'" for s in skus)
    return sql(w, "SELECT (SELECT count(*) FROM orders), (SELECT count(*) FROM shipments), "
                  "(SELECT count(*) FROM order_lines), (SELECT count(*) FROM order_events), "
                  "(SELECT count(*) FROM returns), (SELECT count(*) FROM return_lines), "
                  "(SELECT count(*) FROM stops), (SELECT count(*) FROM idempotency_keys), "
                  "(SELECT count(*) FROM station_feed), (SELECT count(*) FROM stock_ledger), "
                  "(SELECT count(*) FROM wave_replans_due), "
                  f"(SELECT string_agg(warehouse_id || sku || on_hand || '/' || reserved || '/' "
                  f"|| available, ',' ORDER BY warehouse_id, sku) FROM stock "
                  f"WHERE sku IN ({listed}))")


def test_exchange_reserves_the_replacement_with_one_stop_carrying_both(w):
    d = xd(w)
    sku = new_sku(w, {FDC: 5})
    o = delivered_order(w, d, sku)
    assert stock_row(w, FDC, sku) == (4, 0, 4)     # the delivered unit left the warehouse
    ledger = sql(w, "SELECT count(*) FROM stock_ledger")
    svc = w.token("order_service", label="exchanges svc")
    harness.wait_until(lambda: d.get("/v1/admin/tokens/whoami", token=svc).status == 200,
                       what="the token known")
    r = exchange(d, o["id"], [{"line": 1, "qty": 1}], token=svc, notes="a scratch")
    assert r.status == 201, r
    x = r.json()
    rep = x["replacement_order"]
    # The replacement: reserved like any order line, in the original's warehouse.
    assert stock_row(w, FDC, sku) == (4, 1, 3)
    assert sql(w, "SELECT count(*) FROM stock_ledger") == ledger, "reservations are not ledgered"
    assert rep["external_id"] == o["external_id"] + "/X1", rep
    assert rep["status"] == "allocated" and rep["lines"] == [{"sku": sku, "qty": 1}], rep
    assert [(s["seq"], s["warehouse"], s["status"]) for s in rep["shipments"]] == \
        [(1, FDC, "allocated")], rep
    assert rep["promise"]["kind"] == "exchange" and rep["promise"]["exchange_of"] == o["id"], rep
    assert rep["promise"]["return"] == x["id"], rep
    assert rep["recipient"] == RECIPIENT and rep["tracking_code"].startswith("TRK"), rep
    assert rep["tracking_code"] != o["tracking_code"]
    same = sql(w, f"SELECT count(*) FROM orders a, orders b WHERE a.id = '{o['id']}' "
                  f"AND b.id = '{rep['id']}' AND a.station_id = b.station_id "
                  f"AND a.district_id = b.district_id AND a.lon = b.lon AND a.lat = b.lat "
                  f"AND a.recipient = b.recipient AND a.client_id IS NOT DISTINCT FROM b.client_id "
                  f"AND a.delivery_option = b.delivery_option")
    assert same == "1"
    ev = rows(w, f"SELECT kind, coalesce(shipment_seq::text, ''), detail->>'exchange_of' "
                 f"FROM order_events WHERE order_id = '{rep['id']}' ORDER BY id")
    assert ev == [["created", "", o["id"]], ["allocated", "1", o["id"]]], ev
    # The return and its line.
    ret = rows(w, f"SELECT order_id, kind, status, exchange_order_id, refund_fen, refund_policy, "
                  f"wave_key, station_id, warehouse_id, reason, notes FROM returns "
                  f"WHERE id = '{x['id']}'")
    assert ret == [[o["id"], "exchange", "requested", rep["id"], "0", "none", WAVE,
                    o["station"]["id"], FDC, "no_reason", "a scratch"]], ret
    assert rows(w, f"SELECT line_no, sku, qty, replacement_sku FROM return_lines "
                   f"WHERE return_id = '{x['id']}'") == [["1", sku, "1", sku]]
    # ONE stop, kind exchange, carrying the replacement and the return.
    st = rows(w, f"SELECT id, kind, order_id, return_id, status, wave_key, attempt, proof, "
                 f"courier_id IS NULL, window_start = '2030-01-08T01:00:00Z', "
                 f"window_end = '2030-01-08T05:00:00Z' FROM stops "
                 f"WHERE order_id IN ('{o['id']}', '{rep['id']}') OR return_id = '{x['id']}'")
    assert st == [[x["stop"]["id"], "exchange", rep["id"], x["id"], "pending", WAVE, "1",
                   "photo", "t", "t", "t"]], st
    # The original's timeline and the station's feed say so.
    req = json.loads(sql(w, f"SELECT detail FROM order_events WHERE order_id = '{o['id']}' "
                            f"AND kind = 'return.requested'"))
    assert (req["return"], req["kind"], req["replacement_order"], req["stop"], req["wave"]) == \
        (x["id"], "exchange", rep["id"], x["stop"]["id"], WAVE), req
    feed = json.loads(sql(w, f"SELECT data FROM station_feed WHERE kind = 'return.requested' "
                             f"AND data->>'return' = '{x['id']}'"))
    assert feed == {"return": x["id"], "order": o["id"], "wave": WAVE, "stop": x["stop"]["id"],
                    "kind": "exchange", "replacement_order": rep["id"]}, feed
    # The answer.
    assert (x["kind"], x["order"], x["status"], x["wave"]) == \
        ("exchange", o["id"], "requested", WAVE), x
    assert x["lines"] == [{"line": 1, "sku": sku, "qty": 1, "replacement_sku": sku,
                           "warehouse": FDC}], x
    assert x["refund"] == {"amount": "0.00", "amount_fen": 0, "currency": "CNY",
                           "policy": "none"}, x
    assert x["window"] == {"start": "2030-01-08T09:00:00+08:00",
                           "end": "2030-01-08T13:00:00+08:00"}, x
    assert x["stop"] == {"id": x["stop"]["id"], "kind": "exchange", "status": "pending",
                         "wave": WAVE, "proof": "photo"}, x
    assert d.get(f"/v1/orders/{rep['id']}").status == 200
    # No plan of the wave yet: nothing to replan.
    assert sql(w, f"SELECT count(*) FROM wave_replans_due WHERE wave_key = '{WAVE}'") == "0"
    # The one unit delivered is taken now: a second exchange of it is refused.
    again = exchange(d, o["id"], [{"line": 1, "qty": 1}])
    assert again.status == 422, again
    assert again.json()["errors"][0]["field"] == "lines[0].qty", again.body


def test_another_size_from_the_original_warehouse_first_then_any(w):
    d = xd(w)
    m = new_sku(w, {FDC: 3})
    big = new_sku(w, {FDC: 1, RDC: 9})
    sql(w, f"UPDATE skus SET price_milli = 129000 WHERE sku IN ('{m}', '{big}')")
    o = delivered_order(w, d, m, qty=2)
    r = exchange(d, o["id"], [{"line": 1, "qty": 1, "replacement_sku": big}])
    assert r.status == 201, r
    x = r.json()
    # The original's warehouse had one: it is preferred over the fuller RDC.
    assert x["lines"] == [{"line": 1, "sku": m, "qty": 1, "replacement_sku": big,
                           "warehouse": FDC}], x
    assert stock_row(w, FDC, big) == (1, 1, 0) and stock_row(w, RDC, big) == (9, 0, 9)
    assert stock_row(w, FDC, m) == (1, 0, 1), "the original sku is not reserved"
    assert x["replacement_order"]["lines"] == [{"sku": big, "qty": 1}], x
    assert rows(w, f"SELECT sku, replacement_sku FROM return_lines "
                   f"WHERE return_id = '{x['id']}'") == [[m, big]]
    # The second delivered unit: the FDC has none left, any warehouse with stock serves.
    r2 = exchange(d, o["id"], [{"line": 1, "qty": 1, "replacement_sku": big}], wave=LATER_WAVE)
    assert r2.status == 201, r2
    x2 = r2.json()
    assert x2["lines"][0]["warehouse"] == RDC, x2
    assert x2["replacement_order"]["external_id"] == o["external_id"] + "/X2", x2
    assert stock_row(w, RDC, big) == (9, 1, 8)
    assert x2["refund"]["policy"] == "none" and x2["balance_fen"] == 0, x2


def test_a_cheaper_replacement_refunds_the_difference_by_policy(w):
    d = xd(w)
    dear = new_sku(w, {FDC: 3})
    cheap = new_sku(w, {FDC: 3})
    sql(w, f"UPDATE skus SET price_milli = 129000 WHERE sku = '{dear}'; "
           f"UPDATE skus SET price_milli = 99000 WHERE sku = '{cheap}'")
    o = delivered_order(w, d, dear, qty=2)
    r = exchange(d, o["id"], [{"line": 1, "qty": 2, "replacement_sku": cheap}])
    assert r.status == 201, r
    x = r.json()
    # 2 x 30.00 = 60.00 <= quick_refund_max 200.00: at pickup.
    assert x["refund"] == {"amount": "60.00", "amount_fen": 6000, "currency": "CNY",
                           "policy": "at_pickup"}, x
    assert rows(w, f"SELECT refund_fen, refund_policy FROM returns WHERE id = '{x['id']}'") == \
        [["6000", "at_pickup"]]
    # Each line keeps what one unit refunds and its category's policy, as returns do.
    assert rows(w, f"SELECT unit_price_fen, category FROM return_lines "
                   f"WHERE return_id = '{x['id']}'") == [["3000", "test"]]
    # The other way round refunds nothing; the balance is the order service's to charge.
    o2 = delivered_order(w, d, cheap)
    r2 = exchange(d, o2["id"], [{"line": 1, "qty": 1, "replacement_sku": dear}])
    assert r2.status == 201, r2
    assert r2.json()["refund"]["policy"] == "none" and r2.json()["balance"] == "30.00", r2.json()


def test_out_of_stock_is_409_and_changes_nothing(w):
    d = xd(w)
    sku = new_sku(w, {FDC: 1})
    other = new_sku(w, {FDC: 0, RDC: 0})
    o = delivered_order(w, d, sku)
    before = world_state(w, [sku, other])
    for lines in ([{"line": 1, "qty": 1}],                        # the same sku: none left
                  [{"line": 1, "qty": 1, "replacement_sku": other}]):
        key = uuid.uuid4().hex
        r = exchange(d, o["id"], lines, key=key)
        assert r.status == 409, r
        p = r.json()
        want = lines[0].get("replacement_sku", sku)
        assert p["type"] == "urn:dispatchd:problem:out-of-stock", p
        assert want in p["detail"] and p["lines"] == [{"line": 1, "sku": want, "qty": 1,
                                                       "available": 0}], p
        assert world_state(w, [sku, other]) == before
    # The key was not kept: the same request succeeds once there is stock.
    sql(w, f"UPDATE stock SET on_hand = 1, available = 1 WHERE sku = '{other}' "
           f"AND warehouse_id = '{RDC}'")
    r = exchange(d, o["id"], [{"line": 1, "qty": 1, "replacement_sku": other}], key=key)
    assert r.status == 201, r
    assert stock_row(w, RDC, other) == (1, 1, 0)


def test_outside_the_window_is_422_naming_it(w):
    d = xd(w)
    sku = new_sku(w, {FDC: 5})
    o = delivered_order(w, d, sku, at="2029-12-29T00:00:00Z")   # 10 days before the clock
    before = world_state(w, [sku])
    r = exchange(d, o["id"], [{"line": 1, "qty": 1}])
    assert r.status == 422, r
    p = r.json()
    assert p["type"] == "urn:dispatchd:problem:return-window-closed", p
    assert (p["window_days"], p["delivered_at"], p["window_end"], p["line"]) == \
        (7, "2029-12-29T00:00:00Z", "2030-01-05T00:00:00Z", 1), p
    assert "7-day" in p["detail"], p
    assert world_state(w, [sku]) == before
    # A defect has the longer window (15 days): the same line may be exchanged.
    r = exchange(d, o["id"], [{"line": 1, "qty": 1}], reason="defective")
    assert r.status == 201, r


def test_not_delivered_is_409_and_bad_requests_are_422(w):
    d = xd(w)
    sku = new_sku(w, {FDC: 5})
    r = post(d, order_body([(sku, 1)]))
    assert r.status == 201, r
    fresh = r.json()
    before = world_state(w, [sku])
    nd = exchange(d, fresh["id"], [{"line": 1, "qty": 1}])
    assert nd.status == 409, nd
    assert nd.json()["type"] == "urn:dispatchd:problem:illegal-transition", nd.body
    assert nd.json()["current_status"] == "allocated", nd.body
    assert world_state(w, [sku]) == before
    assert exchange(d, "ord_nosuchorder", [{"line": 1, "qty": 1}]).status == 404
    o = delivered_order(w, d, sku)
    other_cat = "T-" + uuid.uuid4().hex[:12]
    sql(w, f"INSERT INTO skus (sku, name, category, weight_g, volume_ml) "
           f"VALUES ('{other_cat}', 'other', 'large_appliances', 1, 1)")
    cases = [
        ({"lines": [{"line": 1, "qty": 1}]}, False, "Idempotency-Key"),
        ({"lines": [{"line": 2, "qty": 1}]}, None, "lines[0].line"),
        ({"lines": [{"line": 1, "qty": 2}]}, None, "lines[0].qty"),
        ({"lines": [{"line": 1, "qty": 0}]}, None, "lines[0].qty"),
        ({"lines": [{"line": 1, "qty": 1}, {"line": 1, "qty": 1}]}, None, "lines[1].line"),
        ({"lines": [{"line": 1, "qty": 1, "replacement_sku": "NOPE-1"}]}, None,
         "lines[0].replacement_sku"),
        ({"lines": [{"line": 1, "qty": 1, "replacement_sku": other_cat}]}, None,
         "lines[0].replacement_sku"),
        ({"lines": [], }, None, "lines"),
        ({"lines": [{"line": 1, "qty": 1}], "reason": "bored"}, None, "reason"),
        ({"lines": [{"line": 1, "qty": 1}], "wave": "20300108-W0700"}, None, "pickup_wave"),
        ({"lines": [{"line": 1, "qty": 1}], "wave": "20300107-W0900"}, None, "pickup_wave"),
        ({"lines": [{"line": 1, "qty": 1}], "wave": "20300108-S0900"}, None, "pickup_wave"),
        ({"lines": [{"line": 1, "qty": 1}], "colour": "red"}, None, "colour"),
    ]
    before = world_state(w, [sku, other_cat])
    for args, key, field in cases:
        r = exchange(d, o["id"], key=key, **args)
        assert r.status == 422, (args, r)
        assert r.json()["type"] == "urn:dispatchd:problem:validation-failed", r.body
        assert field in [e["field"] for e in r.json()["errors"]], (args, r.body)
    assert world_state(w, [sku, other_cat]) == before


def test_replay_is_byte_for_byte_and_a_new_body_is_422(w):
    d = xd(w)
    sku = new_sku(w, {FDC: 5})
    o = delivered_order(w, d, sku, qty=2)
    key = uuid.uuid4().hex
    first = exchange(d, o["id"], [{"line": 1, "qty": 1}], key=key)
    assert first.status == 201, first
    state = world_state(w, [sku])
    again = exchange(d, o["id"], [{"line": 1, "qty": 1}], key=key)
    assert (again.status, again.body) == (201, first.body)
    assert again.headers.get("idempotent-replayed") == "true", again.headers
    assert "idempotent-replayed" not in first.headers, first.headers
    assert world_state(w, [sku]) == state, "a replay writes nothing"
    other = exchange(d, o["id"], [{"line": 1, "qty": 2}], key=key)
    assert other.status == 422, other
    assert other.json()["type"] == "urn:dispatchd:problem:idempotency-key-reused", other.body
    assert world_state(w, [sku]) == state


def test_concurrent_exchanges_of_the_last_unit_exactly_one_wins(w):
    d = xd(w)
    sku = new_sku(w, {FDC: 8})
    last = new_sku(w, {FDC: 1})
    orders = [delivered_order(w, d, sku) for _ in range(6)]
    results = [None] * len(orders)
    go = threading.Barrier(len(orders))

    def one(i):
        go.wait()
        results[i] = exchange(d, orders[i]["id"],
                              [{"line": 1, "qty": 1, "replacement_sku": last}])

    threads = [threading.Thread(target=one, args=(i,)) for i in range(len(orders))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    statuses = sorted(r.status for r in results)
    assert statuses == [201] + [409] * (len(orders) - 1), results
    assert all(r.json()["type"] == "urn:dispatchd:problem:out-of-stock"
               for r in results if r.status == 409)
    assert stock_row(w, FDC, last) == (1, 1, 0)
    listed = ", ".join(f"'{o['id']}'" for o in orders)
    assert sql(w, f"SELECT count(*) FROM returns WHERE order_id IN ({listed})") == "1"
    assert sql(w, f"SELECT count(*) FROM stops s JOIN returns r ON r.id = s.return_id "
                  f"WHERE r.order_id IN ({listed})") == "1"


def test_a_planned_wave_is_replanned_with_the_exchange_stop(w):
    d = xd(w)
    sku = new_sku(w, {FDC: 3})
    o = delivered_order(w, d, sku)
    st = o["station"]["id"]
    sql(w, f"DELETE FROM wave_replans_due WHERE station_id = '{st}'; "
           f"INSERT INTO route_plans (plan_id, station_id, wave_key, params, utc_offset_s, "
           f"unassigned, geojson, version) VALUES ('pl-{uuid.uuid4().hex[:10]}', '{st}', "
           f"'{LATER_WAVE}', '{{}}', 28800, '[]', '{{}}', 1)")
    r = exchange(d, o["id"], [{"line": 1, "qty": 1}], wave=LATER_WAVE)
    assert r.status == 201, r
    assert rows(w, f"SELECT reason FROM wave_replans_due WHERE station_id = '{st}' "
                   f"AND wave_key = '{LATER_WAVE}'") == [["exchange"]]


def test_an_exchange_takes_the_feed_head_before_the_order_as_stop_events_do(w):
    """Lock order (data/sql/stop_event.sql, shipment_scan_batch.sql): the
    station's feed head, then the order. A stop event (or a truck's scans) at
    the original order's station holds the head and then asks for the order
    row; an exchange that held the order while waiting for the head deadlocked
    with it (one of the two was aborted)."""
    d = xd(w)
    sku = new_sku(w, {FDC: 3})
    o = delivered_order(w, d, sku)
    st = o["station"]["id"]
    sess = w.pg.session()
    sess.stdin.write(f"BEGIN; INSERT INTO station_feed_heads AS h (station_id, seq) "
                     f"VALUES ('{st}', 0) ON CONFLICT (station_id) DO UPDATE SET seq = h.seq;\n")
    sess.stdin.flush()
    harness.wait_until(lambda: sql(w, "SELECT count(*) FROM pg_stat_activity "
                                      "WHERE state = 'idle in transaction'") == "1",
                       what="the stop event holding the feed head")
    result = []
    t = threading.Thread(target=lambda: result.append(
        exchange(d, o["id"], [{"line": 1, "qty": 1}])))
    t.start()
    harness.wait_until(lambda: sql(w, "SELECT count(*) FROM pg_stat_activity "
                                      "WHERE wait_event_type = 'Lock' "
                                      "AND query LIKE '%exchange_create%'") == "1",
                       what="the exchange waiting for a lock")
    # As stop_event goes on: the order row, then done.
    sess.stdin.write(f"SELECT 1 FROM orders WHERE id = '{o['id']}' FOR NO KEY UPDATE;\n"
                     f"COMMIT;\n")
    sess.stdin.close()
    assert sess.wait(timeout=30) == 0, "the stop event's transaction was aborted"
    t.join(timeout=30)
    assert result and result[0].status == 201, result


def test_the_replacement_takes_the_next_free_external_id(w):
    """The shop's own order may already bear the name an exchange would give
    its replacement (external_id + '/X1'): the replacement takes the next
    free one instead of failing with a unique violation (503, every retry)."""
    d = xd(w)
    sku = new_sku(w, {FDC: 5})
    ext = "SHOP-" + uuid.uuid4().hex[:12]
    o = delivered_order(w, d, sku, ext=ext)
    r = post(d, order_body([(sku, 1)], ext=ext + "/X1"))
    assert r.status == 201, r
    r = exchange(d, o["id"], [{"line": 1, "qty": 1}])
    assert r.status == 201, r
    assert r.json()["replacement_order"]["external_id"] == ext + "/X2"


def test_a_retry_after_the_wave_started_is_still_a_replay(w):
    """The 201 lost, the client retries once the pickup wave has started: it
    gets the stored answer, not a 422 saying there is no exchange (there is:
    its stock is reserved and its stop is in the wave). A new key for that
    wave is refused then, and keeps nothing."""
    d = xd(w)
    sku = new_sku(w, {FDC: 5})
    o = delivered_order(w, d, sku, qty=2)
    key = uuid.uuid4().hex
    first = exchange(d, o["id"], [{"line": 1, "qty": 1}], key=key)
    assert first.status == 201, first
    d.stop()
    # 09:30 local: the wave W0900 has started.
    later = w.daemon(extra_conf=harness.clock_conf("2030-01-08T01:30:00Z") + NO_SCHEDULER
                     + RETURNS_CONF)
    harness.wait_until(lambda: later.get("/readyz").status == 200, what="ready")
    state = world_state(w, [sku])
    again = exchange(later, o["id"], [{"line": 1, "qty": 1}], key=key)
    assert (again.status, again.body) == (201, first.body), again
    assert again.headers.get("idempotent-replayed") == "true", again.headers
    fresh = exchange(later, o["id"], [{"line": 1, "qty": 1}])
    assert fresh.status == 422, fresh
    assert [e["field"] for e in fresh.json()["errors"]] == ["pickup_wave"], fresh.body
    assert world_state(w, [sku]) == state


if __name__ == "__main__":
    harness.run(globals())
