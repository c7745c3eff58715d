"""Cash on delivery (issue 13, part C1; docs/api.md "Cash on delivery"): an
order's payment {method, amount, currency} (decimal strings, integer fen in
storage, never floats), shown on the order, the tracking page and the
courier's route; the delivered event's collection (method, amount,
reference, short_reason) into the append-only cod_ledger with the order
event payment.collected. Couriers, plans and stops are the SQL fixtures of
test_handheld.py."""
import concurrent.futures
import json
import subprocess
import uuid

import harness
import test_handheld as hh
from test_handheld import courier, event, hd, plan, route, stop
from test_orders import daemon, order_body, post, sql
from test_shipments import new_sku, FDC

COD = {"method": "cod", "amount": "1299.00", "currency": "CNY"}


def cod_order(w, d, amount="1299.00", method="cod", at_station=True):
    """A fresh order placed with a payment; with at_station its shipment is
    at the station (ready for a stop). Returns the 201 document."""
    sku = new_sku(w, {FDC: 10})
    pay = {"method": method, "currency": "CNY"}
    if method == "cod":
        pay["amount"] = amount
    r = post(d, order_body([(sku, 1)], recipient=hh.RECIPIENT, payment=pay))
    assert r.status == 201, r
    o = r.json()
    if at_station:
        sql(w, f"UPDATE orders SET status = 'arrived_at_station' WHERE id = '{o['id']}'; "
               f"UPDATE shipments SET status = 'arrived_at_station' "
               f"WHERE order_id = '{o['id']}'")
    return o


def cod_orders(w, d, amounts):
    """Fresh COD orders of one new SKU, one per amount, placed four at a time,
    their shipments at the station. Returns the 201 documents in order."""
    sku = new_sku(w, {FDC: len(amounts)})

    def place(amount):
        r = post(d, order_body([(sku, 1)], recipient=hh.RECIPIENT,
                               payment={"method": "cod", "amount": amount, "currency": "CNY"}))
        assert r.status == 201, r
        return r.json()
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        orders = list(pool.map(place, amounts))
    ids = ", ".join(f"'{o['id']}'" for o in orders)
    sql(w, f"UPDATE orders SET status = 'arrived_at_station' WHERE id IN ({ids}); "
           f"UPDATE shipments SET status = 'arrived_at_station' WHERE order_id IN ({ids})")
    return orders


def route_of(w, orders, cid):
    """One planned delivery stop per order on the courier's route of the test
    wave, in order (as test_handheld's stop(), in one statement): the ids."""
    sids = ["stp_" + uuid.uuid4().hex[:16] for _ in orders]
    sql(w, "INSERT INTO stops (id, station_id, wave_key, order_id, kind, attempt, status, "
           "courier_id, route_version, position, eta, window_start, window_end, proof) VALUES "
           + ", ".join(f"('{sid}', '{hh.ST}', '{hh.WAVE}', '{o['id']}', 'delivery', 1, "
                       f"'planned', '{cid}', 1, {i}, '2030-01-08T01:30:00Z'::timestamptz "
                       f"+ interval '10 minutes' * {i}, '2030-01-08T01:00:00Z', "
                       f"'2030-01-08T05:00:00Z', 'photo')"
                       for i, (sid, o) in enumerate(zip(sids, orders))))
    return sids


def test_order_payment_is_stored_in_fen_and_shown(w):
    d = hd(w)
    sku = new_sku(w, {FDC: 10})
    body = order_body([(sku, 1)], recipient=hh.RECIPIENT, payment=COD)
    key = uuid.uuid4().hex
    r = post(d, body, key=key)
    assert r.status == 201, r
    o = r.json()
    want = {"method": "cod", "amount": "1299.00", "amount_fen": 129900, "currency": "CNY",
            "collected": None}
    assert o["payment"] == want, o
    assert sql(w, f"SELECT payment_method, cod_amount_fen FROM orders WHERE id = '{o['id']}'") \
        == "cod|129900"
    # The replay is byte for byte the 201.
    again = post(d, body, key=key)
    assert again.status == 201 and again.body == r.body, again
    # GET, the full tracking view and the public one show it.
    assert d.get(f"/v1/orders/{o['id']}").json()["payment"] == want
    assert d.get(f"/v1/orders/{o['id']}/tracking").json()["payment"] == want
    pub = d.get(f"/v1/track/{o['tracking_code']}", token=None)
    assert pub.status == 200 and pub.json()["payment"] == want, pub
    # Prepaid: nothing to collect. An order without a payment has no member.
    p = cod_order(w, d, method="prepaid", at_station=False)
    assert p["payment"] == {"method": "prepaid", "currency": "CNY", "collected": None}, p
    assert d.get(f"/v1/orders/{p['id']}").json()["payment"] == p["payment"]
    r = post(d, order_body([(sku, 1)]))
    assert r.status == 201 and "payment" not in r.json(), r
    assert "payment" not in d.get(f"/v1/orders/{r.json()['id']}").json()


def test_amounts_floats_cannot_hold_are_exact(w):
    d = hd(w)
    for amount, fen in (("0.10", 10), ("0.3", 30), ("0.01", 1), ("999999.99", 99999999),
                        ("1000000.00", 100000000), ("12", 1200)):
        o = cod_order(w, d, amount=amount, at_station=False)
        assert o["payment"]["amount_fen"] == fen, (amount, o)
        assert sql(w, f"SELECT cod_amount_fen FROM orders WHERE id = '{o['id']}'") == str(fen)


def test_bad_payment_is_422_naming_the_field(w):
    d = hd(w)
    sku = new_sku(w, {FDC: 10})
    cases = [
        ({"method": "cod", "amount": 1299.0, "currency": "CNY"}, "payment.amount"),
        ({"method": "cod", "amount": 1299, "currency": "CNY"}, "payment.amount"),
        ({"method": "cod", "amount": "1299.001", "currency": "CNY"}, "payment.amount"),
        ({"method": "cod", "amount": "-1.00", "currency": "CNY"}, "payment.amount"),
        ({"method": "cod", "amount": "0.00", "currency": "CNY"}, "payment.amount"),
        ({"method": "cod", "amount": "1000000.01", "currency": "CNY"}, "payment.amount"),
        ({"method": "cod", "amount": "99999999999999999999.00", "currency": "CNY"},
         "payment.amount"),
        ({"method": "cod", "amount": "1e3", "currency": "CNY"}, "payment.amount"),
        ({"method": "cod", "amount": " 12.00", "currency": "CNY"}, "payment.amount"),
        ({"method": "cod", "currency": "CNY"}, "payment.amount"),
        ({"method": "prepaid", "amount": "12.00", "currency": "CNY"}, "payment.amount"),
        ({"method": "cash", "amount": "12.00", "currency": "CNY"}, "payment.method"),
        ({"method": "cod", "amount": "12.00", "currency": "USD"}, "payment.currency"),
        ({"method": "cod", "amount": "12.00"}, "payment.currency"),
        ({"method": "cod", "amount": "12.00", "currency": "CNY", "tip": "1"}, "payment.tip"),
        ("cod", "payment"),
        ([], "payment"),
    ]
    for pay, field in cases:
        r = post(d, order_body([(sku, 1)], payment=pay))
        assert r.status == 422, (pay, r)
        fields = [e["field"] for e in r.json()["errors"]]
        assert field in fields, (pay, fields)
    # Invalid UTF-8 in the body is refused before any member is read.
    raw = json.dumps(order_body([(sku, 1)], payment=COD)).replace("CNY", "C\udcffY",
                                                                    1).encode("utf-8",
                                                                              "surrogateescape")
    r = post(d, None, raw=raw)
    assert r.status in (400, 422), r
    assert sql(w, f"SELECT count(*) FROM order_lines WHERE sku = '{sku}'") == "0"


def test_the_route_shows_the_amount_to_collect(w):
    d = hd(w)
    ann, tok = courier(w, d)
    o = cod_order(w, d, amount="88.80")
    p = cod_order(w, d, method="prepaid")
    plan(w, hh.WAVE, [ann])
    s0 = stop(w, o["id"], ann, 0)
    s1 = stop(w, p["id"], ann, 1)
    doc = route(d, tok)
    by = {s["id"]: s for s in doc["stops"]}
    assert by[s0]["payment"] == {"method": "cod", "amount": "88.80", "amount_fen": 8880,
                                 "currency": "CNY", "collected": None}, by[s0]
    assert by[s1]["payment"]["method"] == "prepaid", by[s1]


PHOTO = {"photo_ref": "img/door.jpg"}


def delivered(d, tok, sid, collected=None, key=None):
    body = {"event": "delivered", "proof": PHOTO}
    if collected is not None:
        body["collected"] = collected
    return event(d, tok, sid, body, key)


def bad(d, tok, sid, body, field, key=None):
    r = event(d, tok, sid, body, key)
    assert r.status == 422, (body, r)
    assert field in [e["field"] for e in r.json()["errors"]], (field, r.json())


def ledger(w, where):
    return sql(w, f"SELECT count(*), coalesce(sum(amount_fen), 0) FROM cod_ledger WHERE {where}")


def test_the_stations_routes_show_what_each_courier_collects(w):
    d = hd(w)
    ann, _ = courier(w, d)
    bob, _ = courier(w, d, "Bob Chen")
    a1, a2 = cod_order(w, d, amount="0.10"), cod_order(w, d, amount="0.20")
    pre = cod_order(w, d, method="prepaid")
    pid = plan(w, hh.WAVE, [ann, bob])
    stops = [{"stop_id": stop(w, o["id"], ann, i), "order_id": o["id"]}
             for i, o in enumerate((a1, pre, a2))]
    sql(w, f"UPDATE routes SET stops = '{json.dumps(stops)}'::jsonb "
           f"WHERE plan_id = '{pid}' AND courier_id = '{ann}'")
    # GET /v1/stations/{id}/waves/{key}/routes answers this document (the
    # fixture station is not in the service areas the daemon serves).
    doc = json.loads(sql(w, f"SELECT route_plan_doc('{hh.ST}', '{hh.WAVE}')"))
    by = {x["courier_id"]: x for x in doc["routes"]}
    assert by[ann]["cod"] == {"stops": 2, "amount": "0.30", "amount_fen": 30}, by[ann]
    assert [x.get("payment", {}).get("amount_fen") for x in by[ann]["stops"]] == \
        [10, None, 20], by[ann]["stops"]
    assert [x["stop_id"] for x in by[ann]["stops"]] == [x["stop_id"] for x in stops]
    assert by[ann]["stops"][1]["payment"]["method"] == "prepaid"
    assert "cod" not in by[bob] and by[bob]["stops"] == [], by[bob]


def test_delivered_records_the_collection_once(w):
    d = hd(w)
    ann, tok = courier(w, d)
    o = cod_order(w, d, amount="1299.00")
    p = cod_order(w, d, method="prepaid")
    plan(w, hh.WAVE, [ann])
    s0 = stop(w, o["id"], ann, 0)
    s1 = stop(w, p["id"], ann, 1)
    # The body: collected only with delivered; amounts are strings; card and
    # mobile name their reference; reason codes only from the list.
    deliv = {"event": "delivered", "proof": PHOTO}
    for coll, field in (
            ({"method": "cash", "amount": 1299.0}, "collected.amount"),
            ({"method": "cash", "amount": 1299}, "collected.amount"),
            ({"method": "cash", "amount": "1299.001"}, "collected.amount"),
            ({"method": "cash", "amount": "-1.00"}, "collected.amount"),
            ({"method": "cash", "amount": "1000000.01"}, "collected.amount"),
            ({"method": "cash", "amount": "123456789012345.00"}, "collected.amount"),
            ({"method": "cash"}, "collected.amount"),
            ({"method": "cheque", "amount": "1.00"}, "collected.method"),
            ({"method": "card", "amount": "1299.00"}, "collected.reference"),
            ({"method": "mobile", "amount": "1299.00", "reference": ""}, "collected.reference"),
            ({"method": "cash", "amount": "1299.00", "reference": "x"}, "collected.reference"),
            ({"method": "card", "amount": "1299.00", "reference": "a\u0001"},
             "collected.reference"),
            ({"method": "card", "amount": "1299.00", "reference": "r" * 101},
             "collected.reference"),
            ({"method": "cash", "amount": "1.00", "short_reason": "bored"},
             "collected.short_reason"),
            ({"method": "cash", "amount": "1.00", "tip": "1"}, "collected.tip"),
            ("1299.00", "collected")):
        bad(d, tok, s0, dict(deliv, collected=coll), field)
    bad(d, tok, s0, {"event": "failed", "reason": "refused",
                     "collected": {"method": "cash", "amount": "1.00"}}, "collected")
    # The stop: a cod order needs it, at most what is due, a reason below it.
    bad(d, tok, s0, deliv, "collected", key="k-cod")
    bad(d, tok, s0, dict(deliv, collected={"method": "cash", "amount": "1299.01"}),
        "collected.amount", key="k-cod")
    bad(d, tok, s0, dict(deliv, collected={"method": "cash", "amount": "1200.00"}),
        "collected.short_reason", key="k-cod")
    bad(d, tok, s0, dict(deliv, collected={"method": "cash", "amount": "1299.00",
                                           "short_reason": "other"}),
        "collected.short_reason", key="k-cod")
    bad(d, tok, s1, dict(deliv, collected={"method": "cash", "amount": "0.10"}), "collected")
    assert ledger(w, f"courier_id = '{ann}'") == "0|0"
    # Collected by card: the ledger, the event, the outcome.
    coll = {"method": "card", "amount": "1299.00", "reference": "POS-778812"}
    ok = delivered(d, tok, s0, coll, key="k-cod")
    assert ok.status == 200, ok
    assert ok.json()["outcome"]["collected"] == {
        "method": "card", "amount": "1299.00", "amount_fen": 129900, "due": "1299.00",
        "reference": "POS-778812"}, ok.json()
    assert sql(w, f"SELECT kind, station_id, courier_id, day, order_id, stop_id, method, "
                  f"amount_fen, due_fen, reference FROM cod_ledger WHERE courier_id = '{ann}'") \
        == f"collection|{hh.ST}|{ann}|2030-01-08|{o['id']}|{s0}|card|129900|129900|POS-778812"
    detail = json.loads(sql(w, f"SELECT detail FROM order_events WHERE order_id = '{o['id']}' "
                               f"AND kind = 'payment.collected'"))
    assert {k: detail[k] for k in ("amount", "amount_fen", "currency", "method", "reference",
                                   "courier", "stop")} == {
        "amount": "1299.00", "amount_fen": 129900, "currency": "CNY", "method": "card",
        "reference": "POS-778812", "courier": ann, "stop": s0}, detail
    # A replay answers the same and counts nothing again; another key: 409.
    again = delivered(d, tok, s0, coll, key="k-cod")
    assert (again.status, again.body) == (ok.status, ok.body), again
    r = delivered(d, tok, s0, coll)
    assert r.status == 409, r
    assert ledger(w, f"courier_id = '{ann}'") == "1|129900"
    # The order, the tracking page (public: no reference) and the feed show it.
    pay = d.get(f"/v1/orders/{o['id']}").json()["payment"]
    assert pay["collected"]["amount_fen"] == 129900 and \
        pay["collected"]["reference"] == "POS-778812", pay
    pub = d.get(f"/v1/track/{o['tracking_code']}", token=None).json()
    assert pub["payment"]["collected"]["amount"] == "1299.00", pub
    assert "POS-778812" not in json.dumps(pub), pub
    line = [e for e in pub["events"] if e["kind"] == "payment.collected"]
    assert [e["text"] for e in line] == ["Paid at the door: 1299.00 CNY by card"], pub["events"]
    feed = json.loads(sql(w, f"SELECT data FROM station_feed WHERE station_id = '{hh.ST}' "
                             f"AND kind = 'stop.outcome' AND data->>'stop' = '{s0}'"))
    assert feed["collected"] == "1299.00", feed
    # The prepaid order is delivered with nothing collected.
    r = delivered(d, tok, s1)
    assert r.status == 200 and "collected" not in r.json()["outcome"], r
    # The ledger is append-only.
    for stmt in ("UPDATE cod_ledger SET amount_fen = 0", "DELETE FROM cod_ledger",
                 "TRUNCATE cod_ledger CASCADE"):
        try:
            sql(w, stmt)
        except subprocess.CalledProcessError as e:
            assert "append-only" in e.stderr, e.stderr
        else:
            raise AssertionError(f"{stmt} was allowed")
    assert ledger(w, f"courier_id = '{ann}'") == "1|129900"


def test_concurrent_deliveries_of_one_stop_collect_once(w):
    # The same delivered event sent at once with one key (a flaky network)
    # and with fresh keys (a double tap): one collection, one event.
    import threading
    d = hd(w)
    ann, tok = courier(w, d)
    o = cod_order(w, d, amount="0.10")
    plan(w, hh.WAVE, [ann])
    sid = stop(w, o["id"], ann, 0)
    coll = {"method": "cash", "amount": "0.10"}
    answers = [None] * 8

    def send(i):
        answers[i] = delivered(d, tok, sid, coll, key="same" if i % 2 else None)
    threads = [threading.Thread(target=send, args=(i,)) for i in range(len(answers))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted({a.status for a in answers}) in ([200], [200, 409]), answers
    assert ledger(w, f"stop_id = '{sid}'") == "1|10"
    assert sql(w, f"SELECT count(*) FROM order_events WHERE order_id = '{o['id']}' "
                  f"AND kind = 'payment.collected'") == "1"


def test_a_refused_cod_delivery_is_collected_at_its_retry(w):
    d = hd(w)
    ann, tok = courier(w, d)
    o = cod_order(w, d, amount="59.90")
    plan(w, hh.WAVE, [ann])
    s1 = stop(w, o["id"], ann, 0)
    r = event(d, tok, s1, {"event": "failed", "reason": "refused"})
    assert r.status == 200 and r.json()["outcome"]["retry"]["wave"] == hh.NEXT_WAVE, r
    s2 = r.json()["outcome"]["retry"]["stop"]
    assert ledger(w, f"order_id = '{o['id']}'") == "0|0"
    # The next wave's plan puts the retry on Ann's route.
    plan(w, hh.NEXT_WAVE, [ann])
    sql(w, f"UPDATE stops SET courier_id = '{ann}', status = 'planned', position = 0, "
           f"route_version = 1 WHERE id = '{s2}'")
    r = delivered(d, tok, s2, {"method": "mobile", "amount": "59.90", "reference": "AP-9"})
    assert r.status == 200, r
    assert sql(w, f"SELECT stop_id, day, amount_fen FROM cod_ledger "
                  f"WHERE order_id = '{o['id']}'") == f"{s2}|2030-01-08|5990"
    assert day_doc(d, ann)["collected"]["mobile"] == "59.90"


def test_short_collection_with_a_reason(w):
    d = hd(w)
    ann, tok = courier(w, d)
    o = cod_order(w, d, amount="0.30")
    plan(w, hh.WAVE, [ann])
    s0 = stop(w, o["id"], ann, 0)
    # Nothing collected, even with a reason, is a refusal, not a delivery.
    for amount in ("0.00", "0"):
        bad(d, tok, s0, {"event": "delivered", "proof": PHOTO,
                         "collected": {"method": "cash", "amount": amount,
                                       "short_reason": "customer_short"}}, "collected.amount")
    assert ledger(w, f"stop_id = '{s0}'") == "0|0"
    r = delivered(d, tok, s0, {"method": "mobile", "amount": "0.10", "reference": "WX-1",
                               "short_reason": "partial_refusal"})
    assert r.status == 200, r
    assert r.json()["outcome"]["collected"]["short_reason"] == "partial_refusal", r.json()
    assert sql(w, f"SELECT amount_fen, due_fen, short_reason FROM cod_ledger "
                  f"WHERE stop_id = '{s0}'") == "10|30|partial_refusal"


def test_payment_collected_is_a_signed_webhook(w):
    import test_webhooks as wh
    rx = wh.Receiver()
    try:
        hh.new_station(w)
        d = daemon(w, extra_conf=hh.NO_SCHEDULER + wh.FAST)
        [(shop, shop_id)] = wh.clients(w, d, n=1)
        sub = wh.subscribe(d, shop, rx.url("/ok"), ["payment.collected"])
        sku = new_sku(w, {FDC: 10})
        r = d.request("POST", "/v1/orders", token=shop,
                      body=order_body([(sku, 1)], payment=dict(COD, amount="0.10")),
                      headers={"Idempotency-Key": uuid.uuid4().hex})
        assert r.status == 201, r
        o = r.json()
        sql(w, f"UPDATE shipments SET status = 'arrived_at_station' WHERE order_id = '{o['id']}'")
        ann, tok = courier(w, d)
        plan(w, hh.WAVE, [ann])
        s0 = stop(w, o["id"], ann, 0)
        assert delivered(d, tok, s0, {"method": "cash", "amount": "0.10"}).status == 200
        [(path, headers, body)] = harness.wait_until(lambda: rx.received(), what="a delivery")
        doc = wh.verify(sub["secret"], headers, body)
        assert doc["type"] == "payment.collected" and headers["Dispatch-Event"] == \
            "payment.collected", doc
        data = doc["data"]
        assert data["order"] == o["id"] and data["tracking_code"] == o["tracking_code"], doc
        assert {k: data["detail"][k] for k in ("amount", "amount_fen", "currency", "method",
                                                "courier")} == {
            "amount": "0.10", "amount_fen": 10, "currency": "CNY", "method": "cash",
            "courier": ann}, doc
        assert b"0.1000" not in body and b"e-" not in body, body
    finally:
        rx.close()


def courier_post(d, cid, what, body, token=None, key=None, station=None):
    """POST /v1/stations/{station}/couriers/{cid}/{what} with an Idempotency-Key."""
    kw = {} if token is None else {"token": token}
    return d.request("POST", f"/v1/stations/{station or hh.ST}/couriers/{cid}/{what}",
                     body=body, headers={"Idempotency-Key": key or uuid.uuid4().hex}, **kw)


def settle(d, cid, body, token=None, key=None, station=None):
    return courier_post(d, cid, "settlements", body, token, key, station)


def day_doc(d, cid, day="2030-01-08", token=None):
    kw = {} if token is None else {"token": token}
    r = d.get(f"/v1/stations/{hh.ST}/couriers/{cid}/settlements?day={day}", **kw)
    assert r.status == 200, r
    return r.json()


def resolve(d, cid, sid, reason, token=None):
    kw = {} if token is None else {"token": token}
    return d.request("POST", f"/v1/stations/{hh.ST}/couriers/{cid}/settlements/{sid}/resolution",
                     body={"reason": reason}, **kw)


def adds_up(doc):
    """The model (docs/api.md "Cash on delivery"): the open settlements'
    open amounts add up to balance + pending (both negative when cash is
    missing), at most one is open, and a balanced day has nothing open.
    Returns doc."""
    opens = [s for s in doc["settlements"] if s["status"] == "open"]
    assert doc["open_fen"] == doc["balance_fen"] + doc["pending_fen"] == \
        sum(s["open_fen"] for s in opens), doc
    assert len(opens) <= 1 and all(s["open_fen"] != 0 for s in opens), doc
    assert doc["balance_fen"] == doc["handed_fen"] + doc["written_off_fen"] - \
        doc["expected_fen"], doc
    return doc


def fen_of(text):
    """'12.30' -> 1230, with integers only."""
    whole, _, cents = text.partition(".")
    return int(whole) * 100 + int((cents + "00")[:2])


def text_of(fen):
    return f"{'-' if fen < 0 else ''}{abs(fen) // 100}.{abs(fen) % 100:02d}"


def test_a_shift_of_50_cod_stops_adds_up_exactly(w):
    d = hd(w)
    ann, tok = courier(w, d)
    n = 50
    amounts = [("0.10" if i % 7 == 0 else f"{(i * 37) % 500 + 1}.{(i * 13) % 100:02d}")
               for i in range(n)]
    orders = cod_orders(w, d, amounts)
    plan(w, hh.WAVE, [ann])
    stops = route_of(w, orders, ann)
    want = {"cash": 0, "card": 0, "mobile": 0, "n": 0, "due": 0}
    refused = 0
    sends = []   # (stop, body, replayed): sent by four handhelds at once below
    for i, (o, sid, amount) in enumerate(zip(orders, stops, amounts)):
        due = fen_of(amount)
        if i % 10 == 3:
            sends.append((sid, {"event": "failed", "reason": "refused"}, False))
            refused += 1
            continue
        method = ("card", "mobile", "cash", "cash", "cash")[i % 5]
        coll = {"method": method, "amount": amount}
        if method != "cash":
            coll["reference"] = f"REF-{i}"
        if i % 10 == 7 and due > 5:
            coll["amount"] = text_of(due - 5)
            coll["short_reason"] = "customer_short"
        # i % 4 == 0: the handheld retries: the same answer, counted once
        sends.append((sid, {"event": "delivered", "proof": PHOTO, "collected": coll},
                      i % 4 == 0))
        got = fen_of(coll["amount"])
        want[method] += got
        want["n"] += 1
        want["due"] += due
    assert refused == 5

    def send(job):
        sid, body, replayed = job
        r = event(d, tok, sid, body, key=f"k-{sid}")
        assert r.status == 200, (sid, r)
        if replayed:
            again = event(d, tok, sid, body, key=f"k-{sid}")
            assert (again.status, again.body) == (r.status, r.body), again
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        list(pool.map(send, sends))
    # A refused COD delivery goes back through the usual reschedule rules:
    # a retry in the next wave, nothing collected.
    assert sql(w, f"SELECT count(*) FROM stops WHERE station_id = '{hh.ST}' AND attempt = 2 "
                  f"AND status = 'pending' AND order_id IN "
                  f"(SELECT order_id FROM stops WHERE id IN ({', '.join(repr(x) for x in stops)}) "
                  f"AND status = 'failed')") == "5"
    assert sql(w, f"SELECT count(*) FROM cod_ledger l JOIN stops s ON s.order_id = l.order_id "
                  f"WHERE s.status = 'failed' AND s.courier_id = '{ann}'") == "0"
    doc = day_doc(d, ann)
    c = doc["collected"]
    assert (c["cash_fen"], c["card_fen"], c["mobile_fen"], doc["collections"], doc["due_fen"]) \
        == (want["cash"], want["card"], want["mobile"], want["n"], want["due"]), (doc, want)
    assert c["cash"] == text_of(want["cash"]) and \
        c["total_fen"] == want["cash"] + want["card"] + want["mobile"], doc
    # Nothing handed over yet: all of it pending, nothing open.
    assert (doc["expected_fen"], doc["handed_fen"], doc["balance_fen"], doc["pending_fen"],
            doc["open_fen"]) == (want["cash"], 0, -want["cash"], want["cash"], 0), adds_up(doc)
    assert sql(w, f"SELECT count(*) FROM order_events e JOIN stops s ON s.order_id = e.order_id "
                  f"WHERE s.courier_id = '{ann}' AND e.kind = 'payment.collected'") == \
        str(want["n"])
    # The hand-over is 0.30 short: an open discrepancy, on the feed and for admin.
    short = 30
    r = settle(d, ann, {"day": "2030-01-08", "handed": text_of(want["cash"] - short),
                        "notes": "end of shift"}, key="k-settle")
    assert r.status == 201, r
    st = r.json()
    assert (st["status"], st["expected_fen"], st["handed_fen"], st["difference"],
            st["difference_fen"], st["open"], st["open_fen"]) == \
        ("open", want["cash"], want["cash"] - short, "-0.30", -short, "-0.30", -short), st
    again = settle(d, ann, {"day": "2030-01-08", "handed": text_of(want["cash"] - short),
                            "notes": "end of shift"}, key="k-settle")
    assert (again.status, again.body) == (201, r.body), again
    r = settle(d, ann, {"day": "2030-01-08", "handed": "1.00"}, key="k-settle")
    assert r.status == 422 and r.json()["type"] == \
        "urn:dispatchd:problem:idempotency-key-reused", r
    feed = [json.loads(x) for x in sql(w, f"SELECT data FROM station_feed WHERE station_id = "
                                          f"'{hh.ST}' AND kind = 'cod.discrepancy' "
                                          f"ORDER BY seq").splitlines()]
    assert feed == [{"settlement": st["id"], "courier": ann, "day": "2030-01-08",
                     "expected": text_of(want["cash"]),
                     "handed": text_of(want["cash"] - short), "difference": "-0.30",
                     "difference_fen": -short, "status": "open"}], feed
    lst = d.get("/v1/admin/cod-discrepancies?status=open")
    assert lst.status == 200 and [x["id"] for x in lst.json()["discrepancies"]] == [st["id"]], lst
    doc = day_doc(d, ann)
    # Open and balance are signed as the difference: negative, cash missing.
    assert (doc["handed_fen"], doc["open"], doc["open_fen"], doc["balance_fen"],
            doc["pending_fen"]) == (want["cash"] - short, "-0.30", -short, -short, 0), \
        adds_up(doc)
    # Resolved with a reason: a ledger row, nothing changed or deleted.
    r = resolve(d, ann, st["id"], "coins lost; deducted from wages")
    assert r.status == 200 and r.json()["status"] == "resolved", r
    assert r.json()["resolution"] == "coins lost; deducted from wages", r.json()
    assert resolve(d, ann, st["id"], "coins lost; deducted from wages").status == 200
    r = resolve(d, ann, st["id"], "another reason")
    assert r.status == 409 and r.json()["current_status"] == "resolved", r
    assert st["id"] not in [x["id"] for x in d.get("/v1/admin/cod-discrepancies?status=open")
                            .json()["discrepancies"]]
    assert [x["id"] for x in d.get("/v1/admin/cod-discrepancies?status=resolved")
            .json()["discrepancies"]] == [st["id"]]
    doc = day_doc(d, ann)
    assert (doc["expected_fen"], doc["handed_fen"], doc["written_off_fen"], doc["open_fen"],
            doc["balance_fen"]) == (want["cash"], want["cash"] - short, short, 0, 0), adds_up(doc)
    assert sql(w, f"SELECT string_agg(kind || ':' || amount_fen, ' ' ORDER BY id) FROM cod_ledger "
                  f"WHERE courier_id = '{ann}' AND kind <> 'collection'") == \
        f"handover:{want['cash'] - short} resolution:{short}"
    # Nothing left to hand over: the next settlement of 0.00 is balanced.
    r = settle(d, ann, {"day": "2030-01-08", "handed": "0.00"})
    assert r.status == 201 and r.json()["status"] == "balanced", r
    r = resolve(d, ann, r.json()["id"], "nothing")
    assert r.status == 409 and r.json()["current_status"] == "balanced", r


def three_dimes_collected(w):
    """A daemon and a fresh courier who collected 0.10 in cash at three
    stops of the test day: (daemon, courier id)."""
    d = hd(w)
    ann, tok = courier(w, d)
    orders = [cod_order(w, d, amount="0.10") for _ in range(3)]
    plan(w, hh.WAVE, [ann])
    for i, o in enumerate(orders):
        sid = stop(w, o["id"], ann, i)
        assert delivered(d, tok, sid, {"method": "cash", "amount": "0.10"}).status == 200
    return d, ann


def test_ten_fen_three_times_is_thirty_fen(w):
    d, ann = three_dimes_collected(w)
    doc = day_doc(d, ann)
    assert (doc["collected"]["cash"], doc["expected"], doc["expected_fen"]) == \
        ("0.30", "0.30", 30), doc
    r = settle(d, ann, {"day": "2030-01-08", "handed": "0.3"})
    assert r.status == 201, r
    assert (r.json()["status"], r.json()["difference"], r.json()["handed"]) == \
        ("balanced", "0.00", "0.30"), r.json()
    assert day_doc(d, ann)["balance"] == "0.00"
    # A correction is a new ledger row (operations.md): it moves expected.
    sql(w, f"INSERT INTO cod_ledger (kind, station_id, courier_id, day, amount_fen, reason, at) "
           f"VALUES ('correction', '{hh.ST}', '{ann}', '2030-01-08', -10, 'miscounted', now())")
    # After the day's hand-over it is pending: the courier handed 0.10 too
    # much, which the next hand-over (or a resolution) settles.
    doc = day_doc(d, ann)
    assert (doc["expected"], doc["handed"], doc["balance"], doc["balance_fen"],
            doc["pending_fen"], doc["open_fen"]) == ("0.20", "0.30", "0.10", 10, -10, 0), \
        adds_up(doc)


def at_once(n, post):
    """post(key, i) from n threads at once (i: the thread's number): the even
    ones with one key, the odd ones each with its own. All must be 201, the
    even ones byte for byte the same answer. Returns the answers."""
    import threading
    answers = [None] * n

    def send(i):
        answers[i] = post("same" if i % 2 == 0 else f"k-{i}", i)
    threads = [threading.Thread(target=send, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(a.status == 201 for a in answers), answers
    assert len({answers[i].body for i in range(0, n, 2)}) == 1, answers
    return answers


def test_concurrent_hand_overs_are_counted_one_after_the_other(w):
    d, ann = three_dimes_collected(w)
    # One request sent four times; four hand-overs of 0.10; through two
    # daemons on the one database (threads 0, 1, 4, 5 and 2, 3, 6, 7).
    d2 = daemon(w, extra_conf=hh.NO_SCHEDULER)
    first = at_once(8, lambda key, i: settle((d, d2)[i // 2 % 2], ann,
                                             {"day": "2030-01-08", "handed": "0.10"},
                                             key=key))[0]
    doc = day_doc(d, ann)
    # Five hand-overs, each against what the ones before left: 0.30, 0.20, ...
    assert [s["expected_fen"] for s in doc["settlements"]] == [30, 20, 10, 0, -10], doc
    # Each takes over what the open one before it left unexplained, which is
    # then closed (carried_into): the courier handed 0.20 too much, open once.
    ss = doc["settlements"]
    assert [s["status"] for s in ss] == \
        ["resolved", "resolved", "balanced", "resolved", "open"], doc
    assert [s.get("carried_into") for s in ss] == [ss[1]["id"], ss[2]["id"], None, ss[4]["id"],
                                                   None], doc
    assert (doc["handed_fen"], doc["balance_fen"], doc["pending_fen"], doc["open_fen"],
            doc["written_off_fen"]) == (50, 20, 0, 20, 0), adds_up(doc)
    assert sql(w, f"SELECT count(*) FROM cod_settlements WHERE courier_id = '{ann}'") == "5"
    # A replay answers the first answer byte for byte, though closed since.
    again = settle(d, ann, {"day": "2030-01-08", "handed": "0.10"}, key="same")
    assert (again.status, again.body) == (201, first.body), again


def test_settlements_bad_input_and_who_may_call(w):
    d = hd(w)
    ann, tok = courier(w, d)
    for body, field in (
            ({"day": "2030-01-08", "handed": 12.3}, "handed"),
            ({"day": "2030-01-08", "handed": 12}, "handed"),
            ({"day": "2030-01-08", "handed": "12.345"}, "handed"),
            ({"day": "2030-01-08", "handed": "-1.00"}, "handed"),
            ({"day": "2030-01-08", "handed": "1000000000000.00"}, "handed"),
            ({"day": "2030-01-08"}, "handed"),
            ({"day": "2030-02-30", "handed": "1.00"}, "day"),
            ({"day": "08/01/2030", "handed": "1.00"}, "day"),
            ({"day": 20300108, "handed": "1.00"}, "day"),
            ({"day": "2030-01-08", "handed": "1.00", "notes": "n" * 501}, "notes"),
            ({"day": "2030-01-08", "handed": "1.00", "notes": 5}, "notes"),
            ({"day": "2030-01-08", "handed": "1.00", "extra": 1}, "extra")):
        r = settle(d, ann, body)
        assert r.status == 422, (body, r)
        assert field in [e["field"] for e in r.json()["errors"]], (body, r.json())
    r = d.request("POST", f"/v1/stations/{hh.ST}/couriers/{ann}/settlements",
                  body={"day": "2030-01-08", "handed": "1.00"})
    assert r.status == 422 and r.json()["errors"][0]["field"] == "Idempotency-Key", r
    r = d.request("POST", f"/v1/stations/{hh.ST}/couriers/{ann}/settlements",
                  body=b'{"day": "2030-01-08", "handed": "1.00", "notes": "\xff"}',
                  headers={"Idempotency-Key": "k-utf8", "Content-Type": "application/json"})
    assert r.status == 400, r
    assert resolve(d, ann, "set_0000000000000000", "").status == 422
    assert d.get(f"/v1/stations/{hh.ST}/couriers/{ann}/settlements?day=2030-13-01").status == 422
    assert d.get("/v1/admin/cod-discrepancies?status=lost").status == 422
    # Another station's courier, an unknown courier: 404.
    assert settle(d, ann, {"day": "2030-01-08", "handed": "1.00"}, station="bj-st-001").status \
        == 404
    assert settle(d, "c-nobody", {"day": "2030-01-08", "handed": "1.00"}).status == 404
    assert d.get(f"/v1/stations/{hh.ST}/couriers/c-nobody/settlements?day=2030-01-08") \
        .status == 404
    # The station's own token may settle and read; another station's may not;
    # resolving is for admin only; couriers never.
    own = w.token("station", hh.ST, label="cod station")
    other = w.token("station", "bj-st-001", label="cod other station")
    harness.wait_until(lambda: all(d.get("/v1/admin/tokens/whoami", token=t).status == 200
                                   for t in (own, other)), what="tokens known")
    r = settle(d, ann, {"day": "2030-01-08", "handed": "2.00"}, token=own)
    assert r.status == 201 and r.json()["status"] == "open", r
    assert day_doc(d, ann, token=own)["handed_fen"] == 200
    # Outside its scope is as if it did not exist.
    assert settle(d, ann, {"day": "2030-01-08", "handed": "1.00"}, token=other).status == 404
    assert settle(d, ann, {"day": "2030-01-08", "handed": "1.00"}, token=tok).status == 403
    assert resolve(d, ann, r.json()["id"], "x", token=own).status == 403
    assert d.get("/v1/admin/cod-discrepancies", token=own).status == 403


def correct(d, cid, body, token=None, key=None, station=None):
    return courier_post(d, cid, "cod-corrections", body, token, key, station)


def cod_ledger(d, cid, day="2030-01-08", token=None):
    kw = {} if token is None else {"token": token}
    return d.get(f"/v1/stations/{hh.ST}/couriers/{cid}/cod-ledger?day={day}", **kw)


def test_a_correction_that_balances_the_day_closes_its_discrepancy(w):
    """Part M: corrections through the API are ledger rows; the one that
    brings the day to 0 closes the open settlement (a resolution row of 0
    naming it); the ledger lists every row with the running balance."""
    d = hd(w)
    ann, tok = courier(w, d)
    o = cod_order(w, d, amount="1.00")
    plan(w, hh.WAVE, [ann])
    assert delivered(d, tok, stop(w, o["id"], ann, 0),
                     {"method": "cash", "amount": "1.00"}).status == 200
    st = settle(d, ann, {"day": "2030-01-08", "handed": "0.90"}).json()
    assert st["status"] == "open", st
    body = {"day": "2030-01-08", "amount": "-0.05", "reason": "change miscounted",
            "order": o["id"]}
    r = correct(d, ann, body, key="k-corr")
    assert r.status == 201, r
    first = r.json()
    assert (first["correction"]["kind"], first["correction"]["amount"],
            first["correction"]["amount_fen"], first["correction"]["order"],
            first["closed"]) == ("correction", "-0.05", -5, o["id"], []), first
    # Recorded against the open settlement: what it leaves unexplained moves.
    assert (first["day"]["expected_fen"], first["day"]["balance_fen"],
            first["day"]["settlements"][0]["status"], first["day"]["open_fen"],
            first["correction"]["settlement"]) == (95, -5, "open", -5, st["id"]), \
        adds_up(first["day"])
    # A replay answers byte for byte; the key with another body is refused.
    again = correct(d, ann, body, key="k-corr")
    assert (again.status, again.body) == (201, r.body), again
    r = correct(d, ann, dict(body, amount="-0.06"), key="k-corr")
    assert r.status == 422 and r.json()["type"] == \
        "urn:dispatchd:problem:idempotency-key-reused", r
    # The second, naming the settlement it explains, brings the day to 0:
    # the discrepancy closes by itself.
    r = correct(d, ann, {"day": "2030-01-08", "amount": "-0.05", "reason": "one coin fake",
                         "settlement": st["id"]})
    assert r.status == 201, r
    doc = r.json()
    cid = doc["correction"]["id"]
    assert doc["closed"] == [st["id"]], doc
    s0 = doc["day"]["settlements"][0]
    assert (s0["status"], s0["resolution"]) == \
        ("resolved", f"balanced by correction {cid}: one coin fake"), s0
    assert (doc["day"]["balance_fen"], doc["day"]["written_off_fen"], doc["day"]["open_fen"]) \
        == (0, 0, 0), adds_up(doc["day"])
    assert st["id"] not in [x["id"] for x in d.get("/v1/admin/cod-discrepancies?status=open")
                            .json()["discrepancies"]]
    feed = json.loads(sql(w, f"SELECT data FROM station_feed WHERE station_id = '{hh.ST}' "
                             f"AND kind = 'cod.discrepancy' ORDER BY seq DESC LIMIT 1"))
    assert (feed["status"], feed["correction"], feed["settlement"]) == \
        ("resolved", cid, st["id"]), feed
    # The ledger, in order, with the running balance (negative: not at the station).
    lg = cod_ledger(d, ann)
    assert lg.status == 200, lg
    rows = [(e["kind"], e["amount_fen"], e["balance_fen"], e.get("correction"))
            for e in lg.json()["entries"]]
    assert rows == [("collection", 100, -100, None), ("handover", 90, -10, None),
                    ("correction", -5, -5, None), ("correction", -5, 0, None),
                    ("resolution", 0, 0, cid)], rows
    assert (lg.json()["balance_fen"], lg.json()["open_fen"]) == (0, 0), lg.json()
    # A correction that leaves the day off balance closes nothing.
    st2 = settle(d, ann, {"day": "2030-01-08", "handed": "0.20"}).json()
    r = correct(d, ann, {"day": "2030-01-08", "amount": "0.10", "reason": "found in the van",
                         "settlement": st["id"]})
    assert r.status == 422 and r.json()["errors"][0]["field"] == "settlement", r
    r = correct(d, ann, {"day": "2030-01-08", "amount": "0.10", "reason": "found in the van",
                         "settlement": st2["id"]})
    assert r.status == 201 and r.json()["closed"] == [], r
    assert (st2["difference_fen"], st2["status"]) == (20, "open"), st2
    assert r.json()["day"]["balance_fen"] == 10 and \
        r.json()["day"]["settlements"][1]["id"] == st2["id"] and \
        r.json()["day"]["settlements"][1]["open_fen"] == 10 and \
        r.json()["day"]["settlements"][1]["status"] == "open", adds_up(r.json()["day"])
    # Sent at once: one key four times is one correction; three others, three.
    at_once(7, lambda key, i: correct(d, ann, {"day": "2030-01-08", "amount": "0.01",
                                               "reason": "x", "settlement": st2["id"]},
                                      key=key))
    assert sql(w, f"SELECT count(*) FROM cod_ledger WHERE courier_id = '{ann}' "
                  f"AND kind = 'correction'") == "7"
    # The four were recorded against the open one: 0.10 - 0.04 still open.
    assert adds_up(day_doc(d, ann))["open_fen"] == 6
    # One naming neither settlement nor order is pending: the open one keeps
    # its 0.06 (a resolution writes off that only), the next hand-over
    # expects the 0.50.
    r = correct(d, ann, {"day": "2030-01-08", "amount": "0.50", "reason": "not recorded"})
    assert r.status == 201 and "settlement" not in r.json()["correction"], r
    assert (r.json()["day"]["open_fen"], r.json()["day"]["pending_fen"]) == (6, 50), \
        adds_up(r.json()["day"])


def test_corrections_bad_input_changes_nothing(w):
    d = hd(w)
    ann, tok = courier(w, d)
    mine, other_day = cod_order(w, d, amount="1.00"), cod_order(w, d, amount="1.00")
    plan(w, hh.WAVE, [ann])
    stop(w, mine["id"], ann, 0)
    stop(w, other_day["id"], ann, 0, wave="20300109-W0900")
    ok = {"day": "2030-01-08", "amount": "-1.00", "reason": "r"}
    for patch, field in (
            ({"amount": -1.0}, "amount"), ({"amount": -1}, "amount"),
            ({"amount": "0.00"}, "amount"), ({"amount": "-0"}, "amount"),
            ({"amount": "1.005"}, "amount"), ({"amount": "+1.00"}, "amount"),
            ({"amount": "--1.00"}, "amount"), ({"amount": "-1000000000.01"}, "amount"),
            ({"amount": "99999999999999.00"}, "amount"), ({"amount": None}, "amount"),
            ({"reason": None}, "reason"), ({"reason": " "}, "reason"),
            ({"reason": "r" * 501}, "reason"), ({"reason": 5}, "reason"),
            ({"day": "2030-02-30"}, "day"), ({"order": 7}, "order"),
            ({"order": "bad id!"}, "order"), ({"extra": 1}, "extra"),
            ({"order": "o-nobody"}, "order"), ({"order": other_day["id"]}, "order"),
            ({"settlement": 5}, "settlement"), ({"settlement": "set_x"}, "settlement"),
            ({"settlement": "set_0000000000000000"}, "settlement")):
        r = correct(d, ann, dict(ok, **patch))
        assert r.status == 422 and r.headers["content-type"] == "application/problem+json", \
            (patch, r)
        assert field in [e["field"] for e in r.json()["errors"]], (patch, r.json())
    r = d.request("POST", f"/v1/stations/{hh.ST}/couriers/{ann}/cod-corrections", body=ok)
    assert r.status == 422 and r.json()["errors"][0]["field"] == "Idempotency-Key", r
    r = d.request("POST", f"/v1/stations/{hh.ST}/couriers/{ann}/cod-corrections",
                  body=b'{"day": "2030-01-08", "amount": "1.00", "reason": "\xff"}',
                  headers={"Idempotency-Key": "k-utf8", "Content-Type": "application/json"})
    assert r.status == 400, r
    assert correct(d, "c-nobody", ok).status == 404
    assert correct(d, ann, ok, station="bj-st-001").status == 404
    assert cod_ledger(d, ann, day="2030-13-01").status == 422
    assert cod_ledger(d, "c-nobody").status == 404
    # Admin only for corrections; the station reads its own ledger only.
    own = w.token("station", hh.ST, label="corr station")
    other = w.token("station", "bj-st-001", label="corr other station")
    harness.wait_until(lambda: all(d.get("/v1/admin/tokens/whoami", token=t).status == 200
                                   for t in (own, other)), what="tokens known")
    assert correct(d, ann, ok, token=own).status == 403
    assert correct(d, ann, ok, token=tok).status == 403
    assert cod_ledger(d, ann, token=own).json()["entries"] == []
    assert cod_ledger(d, ann, token=other).status == 404
    assert sql(w, f"SELECT count(*) FROM cod_ledger WHERE courier_id = '{ann}'") == "0"
    assert sql(w, f"SELECT count(*) FROM cod_corrections WHERE courier_id = '{ann}'") == "0"
    # An order of the courier's day is accepted.
    r = correct(d, ann, dict(ok, order=mine["id"]))
    assert r.status == 201 and r.json()["correction"]["order"] == mine["id"], r


if __name__ == "__main__":
    harness.run(globals())
