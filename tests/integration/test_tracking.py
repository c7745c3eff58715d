"""Tracking (issue 11, part A): the recipient and the tracking code an order
carries, GET /v1/orders/{id}/tracking (order_service, admin: the full view)
and the public GET /v1/track/{code} (no token: personal data masked). The
timeline follows the shipment scans; the live section and the later events
(out for delivery, failed, rescheduled, delivered) come from stops,
couriers, courier_positions and order_events rows written here by SQL, as
parts B, C and E write them."""
import json
import uuid

import harness
from test_orders import DONGCHENG, FDC, daemon, new_sku, order_body, post, sql

RECIPIENT = {"name": "Wang Wei", "phone": "+86 138-0013-5678",
             "address": "Gate 3, 12 Dongsi Street\nFlat 402", "notes": "call on arrival"}
SECRETS = ["Wang Wei", "Wang", "138-0013", "0013", "Dongsi", "Flat 402", "call on arrival"]


def place(w, d, recipient=RECIPIENT, token=harness.ADMIN):
    sku = new_sku(w, {FDC: 10})
    body = order_body([(sku, 1)])
    if recipient is not None:
        body["recipient"] = recipient
    r = d.request("POST", "/v1/orders", body=body,
                  headers={"Idempotency-Key": uuid.uuid4().hex}, token=token)
    assert r.status == 201, r
    o = r.json()
    assert o["shipments"][0]["warehouse"] == FDC and o["station"]["id"] == "bj-st-001", o
    return o


def scan(d, order, event):
    r = d.request("POST", f"/v1/shipments/{order}/1/events", body={"event": event},
                  headers={"Idempotency-Key": uuid.uuid4().hex})
    assert r.status == 200, r
    return r


def track(d, code, **kw):
    return d.get(f"/v1/track/{code}", token=None, **kw)


def assert_masked(body):
    for s in SECRETS:
        assert s not in body, (s, body)


def test_tracking_code_and_recipient_in_the_order(w):
    d = daemon(w)
    o = place(w, d)
    code = o["tracking_code"]
    assert code.startswith("TRK") and len(code) == 19, o
    assert int(code[3:], 16) >= 0 and code[3:] == code[3:].upper()
    assert o["recipient"] == RECIPIENT, o
    assert sql(w, f"SELECT tracking_code FROM orders WHERE id = '{o['id']}'") == code
    # Two orders never share a code.
    assert place(w, d)["tracking_code"] != code


def test_public_tracking_masks_personal_data(w):
    d = daemon(w)
    o = place(w, d)
    r = track(d, o["tracking_code"])
    assert r.status == 200, r
    doc = r.json()
    assert doc["recipient"] == {"name": "W.", "phone_last4": "5678"}, doc
    assert doc["tracking_code"] == o["tracking_code"] and doc["status"] == "allocated", doc
    assert "order" not in doc and "external_id" not in doc and "stop" not in doc, doc
    assert o["id"] not in r.body and o["external_id"] not in r.body, r.body
    assert_masked(r.body)
    # Lower case is the same code; a token on the public route changes nothing.
    assert track(d, o["tracking_code"].lower()).json() == doc
    svc = w.token("order_service", label="tracking svc")
    harness.wait_until(lambda: d.get("/v1/admin/tokens/whoami", token=svc).status == 200,
                       what="the token known")
    with_token = d.get(f"/v1/track/{o['tracking_code']}", token=svc)
    assert with_token.status == 200 and with_token.json() == doc, with_token
    # The full view (order_service, admin) has the recipient as entered.
    full = d.get(f"/v1/orders/{o['id']}/tracking", token=svc)
    assert full.status == 200, full
    f = full.json()
    assert f["recipient"] == RECIPIENT and f["order"] == o["id"], f
    assert f["external_id"] == o["external_id"] and f["tracking_code"] == o["tracking_code"], f
    assert f["events"] == doc["events"], (f, doc)
    # A CJK name is masked to its first character.
    o2 = place(w, d, recipient={"name": "王小明", "phone": "13800135678"})
    r = track(d, o2["tracking_code"])
    assert r.json()["recipient"] == {"name": "王*", "phone_last4": "5678"}, r
    assert "小明" not in r.body


def test_unknown_code_is_404(w):
    d = daemon(w)
    for code in ("TRK0000000000000000", "TRK123", "nope", "TRK00000000000000000",
                 "TRK'%20OR%201=1"):
        r = track(d, code)
        assert r.status == 404, (code, r)
        assert r.headers["content-type"] == "application/problem+json", r.headers
        assert r.json()["detail"] == "no such tracking code", r
    r = d.get("/v1/orders/ord_nosuchorder/tracking")
    assert r.status == 404 and r.json()["detail"] == "no such order", r


def test_the_code_cannot_cancel_or_change_anything(w):
    d = daemon(w)
    o = place(w, d)
    code = o["tracking_code"]
    state = (f"SELECT o.status, (SELECT count(*) FROM order_events e WHERE e.order_id = o.id), "
             f"(SELECT sum(reserved) FROM stock) FROM orders o WHERE o.id = '{o['id']}'")
    before = sql(w, state)
    for method in ("POST", "DELETE", "PUT", "PATCH"):
        for path in (f"/v1/track/{code}", f"/v1/track/{code}/cancel"):
            for token in (None, harness.ADMIN):
                r = d.request(method, path, body={"reason": "x"}, token=token)
                if path.endswith("/cancel"):
                    assert r.status == 404, (method, path, r)
                else:
                    assert r.status == 405 and r.headers["allow"] == "GET", (method, path, r)
    assert sql(w, state) == before
    assert track(d, code).json()["status"] == "allocated"


def test_timeline_follows_the_scans(w):
    d = daemon(w)
    o = place(w, d)
    for event in ("picked", "packed", "departed_warehouse", "arrived_at_station"):
        scan(d, o["id"], event)
    doc = track(d, o["tracking_code"]).json()
    assert [e["kind"] for e in doc["events"]] == [
        "allocated", "picked", "packed", "departed_warehouse", "arrived_at_station"], doc
    assert doc["events"][-1]["text"] == "Arrived at the delivery station Dongcheng 01", doc
    assert all(e["text"] and e["at"].endswith("Z") for e in doc["events"]), doc
    assert doc["status"] == "arrived_at_station" and doc["live"] is None, doc
    # Scans carry the scanning token's id: never in the public view.
    assert "tok_" not in json.dumps(doc), doc


def out_for_delivery(w, d, o, courier="c-trk-1", name="Li Lei"):
    """What parts B, C and E leave behind once the courier starts the route."""
    stop = "stp_" + uuid.uuid4().hex[:16]
    for event in ("picked", "packed", "departed_warehouse", "arrived_at_station"):
        scan(d, o["id"], event)
    sql(w, f"""
        INSERT INTO couriers (id, station_id, name, phone, vehicle)
        VALUES ('{courier}', 'bj-st-001', '{name}', '13900000000', 'e_bike')
        ON CONFLICT (id) DO NOTHING;
        INSERT INTO stops (id, station_id, wave_key, order_id, attempt, status, courier_id,
                           route_version, position, eta, window_start, window_end, proof, pin)
        VALUES ('{stop}', 'bj-st-001', '20300108-W1400', '{o['id']}', 1, 'planned',
                '{courier}', 1, 3, '2030-01-08T07:10:00Z', '2030-01-08T06:00:00Z',
                '2030-01-08T09:00:00Z', 'pin', '482913');
        INSERT INTO courier_positions (courier_id, at, lon, lat, accuracy_m)
        VALUES ('{courier}', '2030-01-08T06:30:00Z', 116.43, 39.93, 12)
        ON CONFLICT (courier_id) DO UPDATE SET at = excluded.at;
        UPDATE shipments SET status = 'out_for_delivery' WHERE order_id = '{o['id']}';
        UPDATE orders SET status = 'out_for_delivery' WHERE id = '{o['id']}';
        INSERT INTO order_events (order_id, shipment_seq, kind, at, detail)
        VALUES ('{o['id']}', 1, 'out_for_delivery', '2030-01-08T06:05:00Z',
                jsonb_build_object('courier', '{courier}', 'courier_name', '{name}',
                                   'stop', '{stop}', 'eta', '2030-01-08T07:10:00Z'));""")
    return stop


def test_live_section_while_out_for_delivery(w):
    d = daemon(w)
    o = place(w, d)
    stop = out_for_delivery(w, d, o)
    r = track(d, o["tracking_code"])
    doc = r.json()
    assert doc["events"][-1]["text"] == "Out for delivery with Li", doc
    assert doc["live"] == {
        "courier": {"first_name": "Li"},
        "position": {"lon": 116.43, "lat": 39.93, "accuracy_m": 12,
                     "at": "2030-01-08T06:30:00.000Z"},
        "stop": {"status": "planned", "attempt": 1, "eta": "2030-01-08T07:10:00.000Z",
                 "window_start": "2030-01-08T06:00:00.000Z",
                 "window_end": "2030-01-08T09:00:00.000Z"}}, doc
    assert "482913" not in r.body and stop not in r.body and "c-trk-1" not in r.body, r.body
    assert "Lei" not in r.body, r.body
    assert_masked(r.body)
    # The shop's view: the stop with its PIN (the shop sends it to the customer).
    f = d.get(f"/v1/orders/{o['id']}/tracking").json()
    assert f["stop"]["id"] == stop and f["stop"]["pin"] == "482913", f
    assert f["stop"]["proof"] == "pin" and f["live"]["courier"] == {"first_name": "Li",
                                                                     "id": "c-trk-1"}, f
    # A newer position is what the page shows.
    sql(w, "UPDATE courier_positions SET at = '2030-01-08T06:40:00Z', lon = 116.44 "
           "WHERE courier_id = 'c-trk-1'")
    live = track(d, o["tracking_code"]).json()["live"]
    assert live["position"]["lon"] == 116.44 and live["position"]["at"].startswith(
        "2030-01-08T06:40"), live


def test_live_position_prefers_a_newer_fix_in_redis(w):
    """The handheld API keeps each courier's latest fix in Redis and writes
    PostgreSQL at most every 30 s: the page shows Redis's fix when it is
    newer by device time, PostgreSQL's otherwise (or when Redis has none,
    a bad one, or is down)."""
    d = daemon(w)
    o = place(w, d)
    out_for_delivery(w, d, o, courier="c-trk-3", name="Zhou Xun")
    key = "dispatchd:courier:c-trk-3:pos"
    pg_fix = {"lon": 116.43, "lat": 39.93, "accuracy_m": 12, "at": "2030-01-08T06:30:00.000Z"}

    def position(view="public"):
        if view == "public":
            r = track(d, o["tracking_code"])
        else:
            r = d.get(f"/v1/orders/{o['id']}/tracking")
        assert r.status == 200, r
        return r.json()["live"]["position"]

    assert position() == pg_fix
    t_newer = 1894084260123  # 2030-01-08T06:31:00.123Z
    w.redis.cli("HSET", key, "t", str(t_newer), "lon", "116.4512345", "lat", "39.9401",
                "acc", "6.5", "seen", "1")
    newer = {"lon": 116.4512345, "lat": 39.9401, "accuracy_m": 6.5,
             "at": "2030-01-08T06:31:00.123Z"}
    assert position() == newer and position("full") == newer
    # Older than PostgreSQL's, or not a fix: PostgreSQL's.
    w.redis.cli("HSET", key, "t", str(t_newer - 120000))
    assert position() == pg_fix
    w.redis.cli("HSET", key, "t", str(t_newer), "lon", "east")
    assert position() == pg_fix
    w.redis.cli("DEL", key)
    assert position() == pg_fix
    # No PostgreSQL row yet: Redis's fix, whatever its age.
    sql(w, "DELETE FROM courier_positions WHERE courier_id = 'c-trk-3'")
    w.redis.cli("HSET", key, "t", str(t_newer - 120000), "lon", "116.5", "lat", "39.9")
    assert position() == {"lon": 116.5, "lat": 39.9, "accuracy_m": None,
                          "at": "2030-01-08T06:29:00.123Z"}
    # Redis down: the page is still served, from PostgreSQL (no position).
    w.redis.stop()
    try:
        harness.wait_until(lambda: track(d, o["tracking_code"]).json()["live"]["position"]
                           is None, what="the page without Redis")
    finally:
        w.redis.start()


def test_failed_rescheduled_then_delivered(w):
    d = daemon(w)
    o = place(w, d)
    stop = out_for_delivery(w, d, o, courier="c-trk-2", name="王小明")
    retry = "stp_" + uuid.uuid4().hex[:16]
    sql(w, f"""
        UPDATE stops SET status = 'failed' WHERE id = '{stop}';
        UPDATE shipments SET status = 'rescheduled' WHERE order_id = '{o['id']}';
        INSERT INTO stops (id, station_id, wave_key, order_id, attempt, status)
        VALUES ('{retry}', 'bj-st-001', '20300109-W0900', '{o['id']}', 2, 'pending');
        INSERT INTO order_events (order_id, shipment_seq, kind, at, detail) VALUES
          ('{o['id']}', 1, 'failed', '2030-01-08T07:15:00Z',
           '{{"courier": "c-trk-2", "reason": "customer_absent",
              "notes": "neighbour Mr Zhao says away", "attempt": 1}}'),
          ('{o['id']}', 1, 'rescheduled', '2030-01-08T07:15:01Z',
           '{{"wave": "20300109-W0900", "window_start": "2030-01-09T01:00:00Z",
              "attempt": 2}}');""")
    r = track(d, o["tracking_code"])
    doc = r.json()
    assert doc["live"] is None, doc
    failed, resched = doc["events"][-2:]
    assert failed["text"] == "Delivery attempt 1 failed: the recipient was not there", failed
    assert failed["reason"] == "customer_absent" and "notes" not in failed, failed
    assert resched["text"] == "Rescheduled to the delivery wave of 2030-01-09 09:00", resched
    assert resched["rescheduled_to"] == {"wave": "20300109-W0900",
                                         "window_start": "2030-01-09T01:00:00Z"}, resched
    assert doc["events"][-3]["text"] == "Out for delivery with 王", doc
    assert "Zhao" not in r.body and "小明" not in r.body, r.body
    f = d.get(f"/v1/orders/{o['id']}/tracking").json()
    assert f["events"][-2]["notes"] == "neighbour Mr Zhao says away", f
    assert f["stop"]["id"] == retry and f["stop"]["attempt"] == 2, f
    # Second attempt: out again, then delivered.
    sql(w, f"""
        UPDATE stops SET status = 'delivered', courier_id = 'c-trk-2' WHERE id = '{retry}';
        UPDATE shipments SET status = 'delivered' WHERE order_id = '{o['id']}';
        UPDATE orders SET status = 'delivered' WHERE id = '{o['id']}';
        INSERT INTO order_events (order_id, shipment_seq, kind, at, detail) VALUES
          ('{o['id']}', 1, 'out_for_delivery', '2030-01-09T01:05:00Z',
           '{{"courier": "c-trk-2", "stop": "{retry}"}}'),
          ('{o['id']}', 1, 'arrived', '2030-01-09T01:30:00Z', '{{"courier": "c-trk-2"}}'),
          ('{o['id']}', 1, 'delivered', '2030-01-09T01:31:00Z',
           '{{"courier": "c-trk-2", "proof": {{"pin": "482913"}}}}');""")
    r = track(d, o["tracking_code"])
    doc = r.json()
    assert [e["text"] for e in doc["events"][-3:]] == [
        "Out for delivery with 王", "The courier 王 has arrived at the delivery address",
        "Delivered"], doc
    assert doc["status"] == "delivered" and doc["live"] is None, doc
    assert "482913" not in r.body, r.body


def test_cancelled_order_timeline(w):
    d = daemon(w)
    o = place(w, d, recipient=None)
    assert o["recipient"] is None
    r = d.request("POST", f"/v1/orders/{o['id']}/cancel", body={"reason": "changed mind"})
    assert r.status == 200, r
    doc = track(d, o["tracking_code"]).json()
    assert doc["recipient"] is None and doc["status"] == "cancelled", doc
    assert doc["events"][-1]["kind"] == "cancelled", doc
    assert doc["events"][-1]["text"] == "Order cancelled", doc


def test_guessing_codes_is_throttled_as_public_traffic(w):
    """Anonymous tracking requests count against the client address's
    public rate limit: guessing codes gets 429s."""
    d = daemon(w, extra_conf="[rate_limit]\npublic_per_s = 5\n")
    statuses = [track(d, "TRK%016X" % n).status for n in range(30)]
    assert statuses[0] == 404 and 429 in statuses, statuses
    assert statuses.count(404) <= 10, statuses


if __name__ == "__main__":
    harness.run(globals())
