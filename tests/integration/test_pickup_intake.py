"""Orders placed for a pickup point (issue 13 part C3; docs/api.md "Orders"):
POST /v1/orders with delivery_option "pickup" and pickup_point stores the
point (orders.pickup_point_id), shows it in the 201 body, GET and the
tracking page; intake_commit refuses a point that is unknown, retired or
another station's (422 naming pickup_point) and a point whose places are
taken (409 pickup-point-full), giving back the stock and the key; places
are never over-sold under concurrent orders, and a collected parcel frees
its place. The wave routes them (issue 13 part R): a courier-served point's
orders are one visit at the point's place, the shelf's on no route, the
courier's delivered there hands the parcel to the point until its scan."""
import threading
import uuid

import harness
import wave_fixtures
from test_orders import DONGCHENG, FDC, new_sku, order_body, post, sql
from test_pickup_points import (ST, ST2, arrive, code_of, collect, events, feed_kinds, known,
                                on_its_way, pk_daemon, point)

FULL = "urn:dispatchd:problem:pickup-point-full"


def pickup_body(sku, pid, **kw):
    return order_body([(sku, 1)], delivery_option="pickup", pickup_point=pid, **kw)


def available(w, sku):
    return sql(w, f"SELECT available FROM stock WHERE warehouse_id = '{FDC}' AND sku = '{sku}'")


def test_pickup_order_stored_shown_and_refused_when_full(w):
    d = pk_daemon(w)
    p = point(d, capacity=2)
    sku = new_sku(w, {FDC: 10})
    r = post(d, pickup_body(sku, p["id"]), key="pk-in-1")
    assert r.status == 201, r
    o = r.json()
    assert (o["delivery_option"], o["pickup_point"], o["station"]["id"]) == \
        ("pickup", p["id"], ST), o
    assert sql(w, f"SELECT pickup_point_id FROM orders WHERE id = '{o['id']}'") == p["id"]
    assert d.get(f"/v1/orders/{o['id']}").json()["pickup_point"] == p["id"]
    # A replay is the same body, byte for byte.
    again = post(d, pickup_body(sku, p["id"], ext=o["external_id"]), key="pk-in-1")
    assert again.status == 201 and again.body == r.body, again
    # The tracking page shows the point, awaiting the parcel.
    shop = known(d, w.token("order_service", label="pk-in shop"))
    full = d.get(f"/v1/orders/{o['id']}/tracking", token=shop).json()
    assert full["pickup"]["point"]["id"] == p["id"], full
    assert full["pickup"]["status"] == "awaiting_arrival", full
    public = d.get(f"/v1/track/{o['tracking_code']}", token=None).json()
    assert public["pickup"]["point"]["name"] == p["name"], public
    # A standard order has no pickup point member.
    std = post(d, order_body([(sku, 1)]))
    assert std.status == 201 and "pickup_point" not in std.json(), std
    # The second place, then full: 409 naming the point; stock and key given back.
    second = post(d, pickup_body(sku, p["id"]))
    assert second.status == 201, second
    before = available(w, sku)
    body = pickup_body(sku, p["id"])
    r = post(d, body, key="pk-in-full")
    assert r.status == 409 and r.json()["type"] == FULL, r
    assert r.json()["pickup_point"] == p["id"], r
    assert available(w, sku) == before, (available(w, sku), before)
    assert sql(w, "SELECT count(*) FROM idempotency_keys WHERE key = 'pk-in-full'") == "0"
    assert sql(w, f"SELECT count(*) FROM orders WHERE external_id = "
                  f"'{body['external_id']}'") == "0"
    # A cancelled order frees its place; so does a collected parcel.
    c = d.request("POST", f"/v1/orders/{second.json()['id']}/cancel", body={"reason": "customer"})
    assert c.status == 200, c
    r = post(d, body, key="pk-in-full")
    assert r.status == 201, r
    assert post(d, pickup_body(sku, p["id"])).json()["type"] == FULL
    on_its_way(w, o["id"])
    assert arrive(d, p["id"], o["id"]).status == 201
    assert collect(d, p["id"], code_of(w, d, o["id"])).status == 200
    assert post(d, pickup_body(sku, p["id"])).status == 201


def test_unknown_retired_or_other_station_point_is_422(w):
    d = pk_daemon(w)
    sku = new_sku(w, {FDC: 10})
    other = point(d, station=ST2)
    retired = point(d)
    assert d.request("DELETE", f"/v1/pickup-points/{retired['id']}").status in (200, 204)
    for pid in ("pp-no-such-point", other["id"], retired["id"]):
        before = available(w, sku)
        r = post(d, pickup_body(sku, pid))
        assert r.status == 422, (pid, r)
        assert [e["field"] for e in r.json()["errors"]] == ["pickup_point"], r
        assert available(w, sku) == before
    # Large items go to the door: the promise offers no point, intake refuses one.
    open_pt = point(d)
    big = new_sku(w, {FDC: 5}, weight_g=60000, large=True)
    r = post(d, pickup_body(big, open_pt["id"]))
    assert r.status == 422 and [e["field"] for e in r.json()["errors"]] == \
        ["delivery_option"], r
    assert available(w, big) == "5" and d.get(f"/v1/pickup-points/{open_pt['id']}").json()[
        "held"] == 0
    assert sql(w, f"SELECT used FROM pickup_points WHERE id = '{open_pt['id']}'") == "0"
    # Bad bodies name the field before anything is planned.
    for body, fields in (
            (order_body([(sku, 1)], delivery_option="pickup"), ["pickup_point"]),
            (order_body([(sku, 1)], delivery_option="pickup", pickup_point=1.5),
             ["pickup_point"]),
            (order_body([(sku, 1)], delivery_option="pickup", pickup_point="x" * 64),
             ["pickup_point"]),
            (order_body([(sku, 1)], pickup_point="pp-1"), ["pickup_point"])):
        r = post(d, body)
        assert r.status == 422 and [e["field"] for e in r.json()["errors"]] == fields, r
    r = d.request("POST", "/v1/orders", headers={"Idempotency-Key": uuid.uuid4().hex,
                                                 "Content-Type": "application/json"},
                  body=b'{"external_id":"x","delivery_option":"pickup","pickup_point":"\xff"}')
    assert r.status == 400, r


def test_places_are_never_oversold_under_concurrent_orders(w):
    d = pk_daemon(w)
    p = point(d, capacity=3)
    sku = new_sku(w, {FDC: 50})
    results = [None] * 12
    go = threading.Event()

    def one(i):
        go.wait()
        results[i] = post(d, pickup_body(sku, p["id"])).status

    threads = [threading.Thread(target=one, args=(i,)) for i in range(len(results))]
    for t in threads:
        t.start()
    go.set()
    for t in threads:
        t.join()
    assert results.count(201) == 3 and results.count(409) == 9, results
    assert sql(w, f"SELECT count(*) FROM orders WHERE pickup_point_id = '{p['id']}'") == "3"
    assert available(w, sku) == "47", available(w, sku)


def promise(d, sku):
    r = d.get(f"/v1/promise?lat={DONGCHENG['lat']}&lon={DONGCHENG['lon']}&sku={sku}:1")
    assert r.status == 200, r
    return r.json()


def offered(d, sku):
    return {p["id"]: p for p in promise(d, sku)["pickup"]["points"]}


def test_promise_offers_points_with_a_place_from_the_cache(w):
    d = pk_daemon(w)
    sku = new_sku(w, {FDC: 10})
    near = point(d, capacity=1, lon=DONGCHENG["lon"] + 0.001, lat=DONGCHENG["lat"])
    shelf = point(d, capacity=5, lon=DONGCHENG["lon"] + 0.01, lat=DONGCHENG["lat"])
    sql(w, f"UPDATE pickup_points SET shelf = true WHERE id = '{shelf['id']}'")
    elsewhere = point(d, station=ST2, capacity=5, lon=DONGCHENG["lon"], lat=DONGCHENG["lat"])
    harness.wait_until(lambda: near["id"] in offered(d, sku) and
                       offered(d, sku)[shelf["id"]]["shelf"], timeout=10,
                       what="the pickup cache to show the points")
    doc = promise(d, sku)
    assert doc["pickup"]["delivery_option"] == "pickup", doc
    pts = doc["pickup"]["points"]
    ids = [p["id"] for p in pts]
    assert elsewhere["id"] not in ids, pts  # another station's point
    assert ids.index(near["id"]) < ids.index(shelf["id"]), pts  # nearest first
    mine = {p["id"]: p for p in pts}
    assert 70 < mine[near["id"]]["distance_m"] < 100, mine
    assert mine[near["id"]]["free"] == 1 and mine[near["id"]]["name"] == near["name"], mine
    # A courier-served point: after the wave; the station's shelf: at arrival.
    assert mine[near["id"]]["ready_by"] == doc["standard"]["wave"]["end"], doc
    assert mine[shelf["id"]]["ready_by"] == doc["shipments"][0]["at_station"], doc
    # The offered point takes the order; full, it is no longer offered.
    r = post(d, pickup_body(sku, near["id"]))
    assert r.status == 201, r
    harness.wait_until(lambda: near["id"] not in offered(d, sku), timeout=10,
                       what="the full point to leave the promise")
    assert offered(d, sku)[shelf["id"]]["free"] == 5
    # Retired: gone too.
    assert d.request("DELETE", f"/v1/pickup-points/{shelf['id']}").status == 200
    harness.wait_until(lambda: shelf["id"] not in offered(d, sku), timeout=10,
                       what="the retired point to leave the promise")



def test_the_wave_routes_pickup_orders_to_their_point(w):
    d = pk_daemon(w)
    sku = new_sku(w, {FDC: 20})
    shop = point(d, capacity=5, lon=DONGCHENG["lon"] + 0.004, lat=DONGCHENG["lat"] + 0.003,
                 name="Lane 9 shop", address="9 Lane, Dongcheng")
    shelf = point(d, capacity=5)
    sql(w, f"UPDATE pickup_points SET shelf = true WHERE id = '{shelf['id']}'")
    recipient = {"name": "Wang Fang", "phone": "+86 138 0013 8000", "address": "1 Road"}

    def placed(body):
        r = post(d, body)
        assert r.status == 201, r
        return r.json()["id"]

    at_shop = [placed(pickup_body(sku, shop["id"], recipient=recipient)) for _ in range(3)]
    on_shelf = placed(pickup_body(sku, shelf["id"], recipient=recipient))
    home = placed(order_body([(sku, 1)], recipient=recipient))
    mine = at_shop + [on_shelf, home]
    listed = ",".join(f"'{o}'" for o in mine)
    waves = sql(w, "SELECT string_agg(DISTINCT counter_key, ',') FROM order_capacity "
                   f"WHERE order_id IN ({listed}) AND counter_key LIKE '%-W%'")
    assert len(waves.split(",")) == 1, waves
    wave_fixtures.arrive(w, mine)
    sql(w, f"UPDATE orders SET status = 'arrived_at_station' WHERE id IN ({listed})")
    cid = wave_fixtures.add_couriers(w, ST, 1, prefix="pkr-" + uuid.uuid4().hex[:6])[0]
    r = d.request("POST", f"/v1/stations/{ST}/waves/{waves}/plan")
    assert r.status == 200, r
    # A fourth order for the shop, then the replan (warm: three stops
    # planned, one new): still one visit.
    at_shop.append(placed(pickup_body(sku, shop["id"], recipient=recipient)))
    wave_fixtures.arrive(w, at_shop[-1:])
    r = d.request("POST", f"/v1/stations/{ST}/waves/{waves}/plan")
    assert r.status == 200, r
    plan = r.json()
    assert plan["version"] >= 2, plan
    at = {s["order_id"]: (ri, i, s) for ri, route in enumerate(plan["routes"])
          for i, s in enumerate(route["stops"])}
    # The shelf's order is on no route and not unassigned either.
    assert on_shelf not in at and on_shelf not in [u["order_id"] for u in plan["unassigned"]]
    assert home in at and all(o in at for o in at_shop), plan
    # One visit of the shop: its four orders back to back on one route, the
    # later ones with no travel and the same times.
    ri, first, lead = min((at[o] for o in at_shop), key=lambda x: x[1])
    assert sorted((at[o][0], at[o][1]) for o in at_shop) == \
        [(ri, first + k) for k in range(4)], plan
    # (A drop the warm replan could not merge into the lead's problem stop,
    # seen under ASan, follows it at the same place: no travel, arriving when
    # the one before it departs.)
    prev = None
    for o in sorted(at_shop, key=lambda o: at[o][1]):
        s = at[o][2]
        if prev is not None:
            assert s["leg_m"] == 0, s
            assert (s["eta"], s["arrival"], s["departure"]) == \
                (prev["eta"], prev["arrival"], prev["departure"]) or \
                s["arrival"] == prev["departure"], (s, prev)
        prev = s
    route = plan["routes"][ri]
    lines = [f for f in plan["geojson"]["features"] if f["geometry"] is not None]
    coords = lines[ri]["geometry"]["coordinates"]
    assert len(coords) == len(route["stops"]) + 2, coords  # a point per stop
    for k in range(first, first + 4):
        assert abs(coords[k + 1][0] - shop["lon"]) < 1e-6 and \
            abs(coords[k + 1][1] - shop["lat"]) < 1e-6, coords
    assert sql(w, "SELECT string_agg(DISTINCT proof || '/' || coalesce(pin, ''), ',') "
                  f"FROM stops WHERE order_id IN ({','.join(repr(o) for o in at_shop)})") \
        == "signature/", "a drop is signed by the point's staff, no customer PIN"
    # The courier's handheld: a pickup-point drop, the point's name and address.
    tok = known(d, w.token("courier", cid, label="pk route"))
    doc = d.get("/v1/couriers/me/route", token=tok).json()
    assert doc["wave"] == waves, doc  # the wave is on the test clock's day
    drops = [s for s in doc["stops"] if s["order"] in at_shop]
    assert len(drops) == 4, doc
    for s in drops:
        assert s["drop"] == "pickup_point" and s["pickup_point"]["id"] == shop["id"], s
        assert s["recipient"] == {"name": "Lane 9 shop", "address": "9 Lane, Dongcheng"}, s
        assert s["point"] == {"lon": shop["lon"], "lat": shop["lat"]}, s
    assert [s["recipient"]["name"] for s in doc["stops"] if s["order"] == home] == ["Wang Fang"]
    # delivered at the drop: handed to the point, not delivered to the customer.
    o = at_shop[0]
    r = d.request("POST", f"/v1/stops/{at[o][2]['stop_id']}/events", token=tok,
                  body={"event": "delivered", "proof": {"signature_ref": "sig-pk-1"}},
                  headers={"Idempotency-Key": uuid.uuid4().hex})
    assert r.status == 200, r
    assert r.json()["outcome"]["handed_to_point"] == shop["id"], r
    assert sql(w, f"SELECT status FROM orders WHERE id = '{o}'") == "out_for_delivery"
    assert events(w, o) == "pickup.handed_over", events(w, o)
    assert "pickup.handed_over" in feed_kinds(w, o).split(","), feed_kinds(w, o)
    shop_tok = known(d, w.token("order_service", label="pk route shop"))
    track = d.get(f"/v1/orders/{o}/tracking", token=shop_tok).json()
    assert track["pickup"]["status"] == "handed_to_point", track
    # The point's scan takes it in; the shelf's parcel, at the station, too.
    assert arrive(d, shop["id"], o).status == 201
    assert events(w, o) == "pickup.handed_over,pickup.arrived", events(w, o)
    assert arrive(d, shelf["id"], on_shelf).status == 201
    assert sql(w, f"SELECT used FROM pickup_points WHERE id = '{shop['id']}'") == "4"


if __name__ == "__main__":
    harness.run(globals())
