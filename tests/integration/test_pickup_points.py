"""Pickup points and lockers (issue 13 part C2; docs/api.md "Pickup points"),
with the real PostgreSQL and the daemon: the records (admin; a station for
its own points; a pickup_point token reads its own), bad bodies, parcels
scanned in (capacity never exceeded under concurrent arrivals, per size for
a locker; a repeated scan takes no second place), collections with the code
(idempotent under its key, another code under it refused; a wrong, reused
or never issued code gets the same answer; wrong codes limited per token
and per point across daemons), codes 8 digits and shown to the order
service only, arrivals only of parcels on their way, expiry that skips
what another transaction holds, and every state change on the order's
events and the station's feed. Orders are routed to a point by an SQL fixture
(orders.pickup_point_id) until the promise offers delivery_option pickup."""
import datetime
import json
import os
import subprocess
import threading
import uuid

import harness
from test_orders import FDC, new_sku, order_body, post, prepare, sql

ST, ST2 = "bj-st-001", "bj-st-002"
CONF = "[pickup]\nhold_days = 3\nexpiry_interval_ms = 0\n"


def pk_daemon(w, extra="", pickup=""):
    """A daemon with CONF's [pickup] keys plus pickup's (lines of that section)."""
    prepare(w)
    d = w.daemon(extra_conf=harness.clock_conf() + CONF + pickup + extra)
    harness.wait_until(lambda: d.get("/readyz").status == 200, what="ready")
    harness.wait_until(lambda: d.get("/v1/stations").status == 200, what="areas loaded")
    return d


def known(d, tok):
    harness.wait_until(lambda: d.get("/v1/admin/tokens/whoami", token=tok).status == 200,
                       timeout=6, what="the daemon to know the token")
    return tok


def point(d, pid=None, station=ST, **kw):
    body = {"id": pid or "pp-" + uuid.uuid4().hex[:10], "station": station,
            "name": "Dongcheng Lane 5 shop", "address": "5 Lane, Dongcheng",
            "lon": 116.44, "lat": 39.93, "opening_hours": "Mo-Su 08:00-22:00", "capacity": 2}
    body.update(kw)
    body = {k: v for k, v in body.items() if v is not None}
    r = d.request("POST", "/v1/pickup-points", body=body)
    assert r.status == 201, r
    return r.json()


def on_its_way(w, *orders, status="out_for_delivery"):
    """The orders' shipments moved to status by hand (a courier-served point
    takes a parcel out for delivery, the station's shelf one at the station)."""
    sql(w, f"UPDATE shipments SET status = '{status}' WHERE order_id IN "
           f"({','.join(repr(o) for o in orders)}) AND status <> 'cancelled'")


def routed_orders(w, d, pid, n, status="out_for_delivery"):
    """n fresh orders routed to point pid (SQL fixture), their shipments in
    status (None: as placed, at the warehouse)."""
    sku = new_sku(w, {FDC: n + 5})
    ids = []
    for _ in range(n):
        r = post(d, order_body([(sku, 1)]))
        assert r.status == 201, r
        ids.append(r.json()["id"])
    sql(w, f"UPDATE orders SET pickup_point_id = '{pid}' WHERE id IN "
           f"({','.join(repr(i) for i in ids)})")
    if status is not None:
        on_its_way(w, *ids, status=status)
    return ids


def code_of(w, d, order):
    """The order's pickup code as the order service's tracking view shows
    it (PostgreSQL holds only its hash and its sealed box); None when none."""
    if getattr(d, "pk_shop", None) is None:
        d.pk_shop = known(d, w.token("order_service", label="pk code reader"))
    r = d.get(f"/v1/orders/{order}/tracking", token=d.pk_shop)
    assert r.status == 200, r
    return (r.json().get("pickup") or {}).get("code")


def arrive(d, pid, order, token=harness.ADMIN, **kw):
    return d.request("POST", f"/v1/pickup-points/{pid}/arrivals",
                     body=dict({"order": order}, **kw), token=token)


def collect(d, pid, code, key=None, token=harness.ADMIN):
    return d.request("POST", f"/v1/pickup-points/{pid}/collections", body={"code": code},
                     headers={"Idempotency-Key": key or uuid.uuid4().hex}, token=token)


def events(w, order):
    return sql(w, f"SELECT string_agg(kind, ',' ORDER BY id) FROM order_events "
                  f"WHERE order_id = '{order}' AND kind LIKE 'pickup.%'")


def feed_kinds(w, order):
    return sql(w, f"SELECT string_agg(kind, ',' ORDER BY seq) FROM station_feed "
                  f"WHERE station_id = '{ST}' AND data->>'order' = '{order}'")


def test_records_crud_and_scopes(w):
    d = pk_daemon(w)
    st = known(d, w.token("station", ST, label="pk st"))
    st2 = known(d, w.token("station", ST2, label="pk st2"))
    p = point(d, capacity=5)
    assert (p["station"], p["kind"], p["capacity"], p["held"], p["retired"]) == \
        (ST, "point", 5, 0, False), p
    pp = known(d, w.token("pickup_point", p["id"], label="pk point"))
    # A station creates its own points, never another station's.
    r = d.request("POST", "/v1/pickup-points", token=st,
                  body={"id": "pp-st-" + uuid.uuid4().hex[:6], "station": ST, "name": "Shelf",
                        "lon": 116.4, "lat": 39.9, "kind": "locker",
                        "compartments": {"S": 4, "M": 2, "L": 1}})
    assert r.status == 201 and r.json()["capacity"] == 7, r
    assert r.json()["compartments"] == {"S": 4, "M": 2, "L": 1}, r
    locker = r.json()["id"]
    r = d.request("POST", "/v1/pickup-points", token=st2,
                  body={"id": "pp-x", "station": ST, "name": "x", "lon": 1, "lat": 1,
                        "capacity": 1})
    assert r.status == 404 and r.json()["detail"] == "no such resource", r
    assert d.request("POST", "/v1/pickup-points", body={
        "id": p["id"], "station": ST, "name": "dup", "lon": 1, "lat": 1,
        "capacity": 1}).status == 409
    r = d.request("POST", "/v1/pickup-points", body={
        "id": "pp-nost", "station": "no-such-st", "name": "n", "lon": 1, "lat": 1,
        "capacity": 1})
    assert r.status == 422 and r.json()["errors"][0]["field"] == "station", r
    # Reads: admin, its station, the point itself; others 404.
    assert d.get(f"/v1/pickup-points/{p['id']}").json()["name"] == p["name"]
    assert d.get(f"/v1/pickup-points/{p['id']}", token=st).status == 200
    assert d.get(f"/v1/pickup-points/{p['id']}", token=pp).status == 200
    assert d.get(f"/v1/pickup-points/{p['id']}", token=st2).status == 404
    assert d.get(f"/v1/pickup-points/{locker}", token=pp).status == 404
    ids = [x["id"] for x in d.get("/v1/pickup-points", token=st).json()["pickup_points"]]
    assert p["id"] in ids and locker in ids, ids
    assert d.get("/v1/pickup-points", token=st2).json()["count"] == 0
    assert [x["id"] for x in d.get("/v1/pickup-points", token=pp).json()["pickup_points"]] \
        == [p["id"]]
    # Changes: PATCH by the station; the point token may not; moving to a
    # station outside the caller's scope is 404.
    r = d.request("PATCH", f"/v1/pickup-points/{p['id']}", body={"capacity": 9, "name": "N"},
                  token=st)
    assert r.status == 200 and (r.json()["capacity"], r.json()["name"]) == (9, "N"), r
    assert d.request("PATCH", f"/v1/pickup-points/{p['id']}", body={"capacity": 1},
                     token=pp).status == 403
    assert d.request("PATCH", f"/v1/pickup-points/{p['id']}", body={"station": ST2},
                     token=st).status == 404
    assert d.request("PATCH", f"/v1/pickup-points/{p['id']}", body={"capacity": 1},
                     token=st2).status == 404
    # Compartments only on a locker, whatever the kind it has now.
    r = d.request("PATCH", f"/v1/pickup-points/{p['id']}", body={"compartments": {"S": 2}})
    assert r.status == 422 and r.json()["errors"][0]["field"] == "compartments", r
    r = d.request("PATCH", f"/v1/pickup-points/{locker}", body={"compartments": {"L": 3}},
                  token=st)
    assert r.status == 200 and (r.json()["capacity"], r.json()["compartments"]) == \
        (3, {"S": 0, "M": 0, "L": 3}), r
    # Retire: gone from the list, kept for history.
    r = d.request("DELETE", f"/v1/pickup-points/{p['id']}", token=st)
    assert r.status == 200 and r.json()["retired"] is True, r
    assert p["id"] not in [x["id"] for x in d.get("/v1/pickup-points").json()["pickup_points"]]
    assert p["id"] in [x["id"] for x in
                       d.get("/v1/pickup-points?retired=true").json()["pickup_points"]]
    # A retired point takes no parcel.
    [o] = routed_orders(w, d, p["id"], 1)
    r = arrive(d, p["id"], o)
    assert r.status == 404 and r.json()["detail"] == "no such resource", r


def test_bad_bodies_are_422_naming_each_field(w):
    d = pk_daemon(w)
    base = {"id": "pp-bad", "station": ST, "name": "n", "lon": 116.4, "lat": 39.9,
            "capacity": 1}
    cases = [
        ({"surprise": 1}, "surprise"),
        ({"id": "has space"}, "id"),
        ({"id": 7}, "id"),
        ({"name": ""}, "name"),
        ({"name": 5}, "name"),
        ({"name": "x" * 201}, "name"),
        ({"lon": 181}, "lon"),
        ({"lat": "39.9"}, "lat"),
        ({"capacity": 1.5}, "capacity"),
        ({"capacity": -1}, "capacity"),
        ({"capacity": 10 ** 12}, "capacity"),
        ({"capacity": "3"}, "capacity"),
        ({"kind": "shelf"}, "kind"),
        ({"kind": "locker"}, "compartments"),
        ({"kind": "locker", "compartments": {"XL": 1}, "capacity": None}, "compartments"),
        ({"kind": "locker", "compartments": {"S": 1.0}, "capacity": None}, "compartments"),
        ({"compartments": {"S": 1}}, "compartments"),   # a point (the default kind)
        ({"opening_hours": ["Mo"]}, "opening_hours"),
    ]
    for change, field in cases:
        body = {k: v for k, v in dict(base, **change).items() if v is not None}
        r = d.request("POST", "/v1/pickup-points", body=body)
        assert r.status == 422, (change, r)
        assert field in [e["field"] for e in r.json()["errors"]], (change, r.json())
    r = d.request("POST", "/v1/pickup-points", body=b'{"id":"pp-u","name":"\xff"}',
                  headers={"Content-Type": "application/json"})
    assert r.status == 400, r
    assert sql(w, "SELECT count(*) FROM pickup_points WHERE id LIKE 'pp-bad%'") == "0"
    p = point(d)
    for body, field in (({"order": 5}, "order"), ({"order": "o", "size": "XL"}, "size"),
                        ({"order": "o", "x": 1}, "x"), ({}, "order")):
        r = d.request("POST", f"/v1/pickup-points/{p['id']}/arrivals", body=body)
        assert r.status == 422 and field in [e["field"] for e in r.json()["errors"]], r
    for body in ({"code": 12345678}, {"code": "123456"}, {"code": "1234567a"}, {},
                 {"code": "123456789"}, {"code": "12345678", "order": "x"}):
        r = d.request("POST", f"/v1/pickup-points/{p['id']}/collections", body=body,
                      headers={"Idempotency-Key": "k"})
        assert r.status == 422, (body, r)
    r = d.request("POST", f"/v1/pickup-points/{p['id']}/collections", body={"code": "12345678"})
    assert r.status == 422 and r.json()["errors"][0]["field"] == "Idempotency-Key", r
    # Invalid UTF-8 and huge members in every body: malformed or 422, nothing stored.
    for path, raw in ((f"/v1/pickup-points/{p['id']}/arrivals", b'{"order":"\xc3\x28"}'),
                      (f"/v1/pickup-points/{p['id']}/collections", b'{"code":"\xff"}')):
        r = d.request("POST", path, body=raw, headers={"Content-Type": "application/json",
                                                       "Idempotency-Key": "u"})
        assert r.status == 400, (path, r)
    r = d.request("PATCH", f"/v1/pickup-points/{p['id']}", body=b'{"name":"\xed\xa0\x80"}',
                  headers={"Content-Type": "application/json"})
    assert r.status == 400, r
    r = d.request("PATCH", f"/v1/pickup-points/{p['id']}", body={"name": "x" * 5000})
    assert r.status in (413, 422), r
    r = d.request("POST", f"/v1/pickup-points/{p['id']}/arrivals", body={"order": "O" * 300})
    assert r.status == 422 and r.json()["errors"][0]["field"] == "order", r
    r = d.request("PATCH", f"/v1/pickup-points/{p['id']}", body={"capacity": 2 ** 63})
    assert r.status in (400, 422), r
    assert d.get(f"/v1/pickup-points/{p['id']}").json()["name"] == p["name"]


def test_arrival_collection_on_events_and_feed(w):
    d = pk_daemon(w)
    p = point(d, capacity=3)
    pp = known(d, w.token("pickup_point", p["id"], label="pk arr"))
    [o] = routed_orders(w, d, p["id"], 1)
    r = arrive(d, p["id"], o, token=pp)
    assert r.status == 201, r
    parcel = r.json()
    assert (parcel["order"], parcel["status"]) == (o, "held") and "code" not in parcel, parcel
    at = datetime.datetime.fromisoformat(parcel["arrived_at"].replace("Z", "+00:00"))
    assert parcel["hold_until"] == (at + datetime.timedelta(days=3)).strftime(
        "%Y-%m-%dT%H:%M:%SZ"), parcel
    code = code_of(w, d, o)
    assert len(code) == 8 and code.isdigit(), code
    # The code: in the order service's tracking view, never in admin's full
    # view, the public one nor on the timeline; PostgreSQL holds only its
    # keyed hash and its sealed box, never the digits.
    shop = d.pk_shop
    full = d.get(f"/v1/orders/{o}/tracking", token=shop).json()
    assert full["pickup"]["code"] == code and full["pickup"]["status"] == "held", full
    adm = d.get(f"/v1/orders/{o}/tracking").json()
    assert adm["pickup"]["status"] == "held" and "code" not in adm["pickup"], adm
    assert code not in sql(w, f"SELECT k::text FROM pickup_parcels k WHERE order_id = '{o}'")
    assert sql(w, f"SELECT length(code_hash) || ' ' || length(code_box) FROM pickup_parcels "
                  f"WHERE order_id = '{o}'") == "32 48"
    assert full["pickup"]["point"]["id"] == p["id"], full
    line = [e for e in full["events"] if e["kind"] == "pickup.arrived"]
    assert len(line) == 1 and line[0]["text"].startswith("Ready for pickup at "), full
    public = d.get(f"/v1/track/{full['tracking_code']}", token=None)
    assert public.status == 200 and public.json()["pickup"]["status"] == "held", public
    assert "code" not in public.json()["pickup"], public
    assert code not in public.body.replace(full["tracking_code"], ""), public
    assert code not in json.dumps(full["events"]), full
    # A repeated scan answers the same parcel and holds no second place.
    r = arrive(d, p["id"], o, token=pp)
    assert r.status == 200 and r.json() == parcel, r
    assert d.get(f"/v1/pickup-points/{p['id']}").json()["held"] == 1
    # An order not routed here, or none at all: the same 422.
    other = routed_orders(w, d, point(d)["id"], 1)[0]
    a, b = arrive(d, p["id"], other), arrive(d, p["id"], "ORD-NOPE-1")
    assert a.status == b.status == 422 and a.json()["errors"] == b.json()["errors"], (a, b)
    # Collection: a wrong code and a never issued code get the answer a
    # reused one gets later; the right one collects, under its key again.
    wrong = f"{(int(code) + 1) % 10 ** 8:08d}"
    bad = collect(d, p["id"], wrong, token=pp)
    assert bad.status == 422 and bad.json()["errors"][0]["field"] == "code", bad
    r = collect(d, p["id"], code, key="collect-1", token=pp)
    assert r.status == 200 and r.json()["status"] == "collected", r
    again = collect(d, p["id"], code, key="collect-1", token=pp)
    assert again.status == 200 and again.json() == r.json(), again
    reused = collect(d, p["id"], code, key="collect-2", token=pp)
    assert (reused.status, reused.json()["errors"], reused.json()["detail"]) == \
        (bad.status, bad.json()["errors"], bad.json()["detail"]), reused
    # The collection's key with another code: refused as a key reused with
    # another body (as POST /v1/orders answers), not taken for a new attempt.
    other_body = collect(d, p["id"], wrong, key="collect-1", token=pp)
    assert other_body.status == 422, other_body
    assert other_body.json()["type"] == "urn:dispatchd:problem:idempotency-key-reused", other_body
    assert other_body.json()["errors"][0]["field"] == "Idempotency-Key", other_body
    assert d.get(f"/v1/pickup-points/{p['id']}").json()["held"] == 0
    # A scan after the collection is refused.
    assert arrive(d, p["id"], o).status == 409
    assert events(w, o) == "pickup.arrived,pickup.collected", events(w, o)
    full = d.get(f"/v1/orders/{o}/tracking", token=shop).json()
    assert full["pickup"]["status"] == "collected" and "code" not in full["pickup"], full
    assert [e["kind"] for e in full["events"] if e["kind"].startswith("pickup.")] == \
        ["pickup.arrived", "pickup.collected"], full
    assert feed_kinds(w, o) == "pickup.arrived,pickup.collected", feed_kinds(w, o)
    # Another point's token cannot collect here (as if it did not exist).
    pp2 = known(d, w.token("pickup_point", "pp-elsewhere", label="pk other"))
    assert collect(d, p["id"], "00000000", token=pp2).status == 404


def test_capacity_is_never_exceeded_under_concurrent_arrivals(w):
    d = pk_daemon(w)
    p = point(d, capacity=5)
    orders = routed_orders(w, d, p["id"], 20)
    results = [None] * len(orders)
    go = threading.Event()

    def one(i):
        go.wait()
        results[i] = arrive(d, p["id"], orders[i]).status

    threads = [threading.Thread(target=one, args=(i,)) for i in range(len(orders))]
    for t in threads:
        t.start()
    go.set()
    for t in threads:
        t.join()
    assert sorted(results).count(201) == 5 and sorted(results).count(409) == 15, results
    assert sql(w, f"SELECT count(*) FROM pickup_parcels WHERE point_id = '{p['id']}' "
                  f"AND status = 'held'") == "5"
    full = arrive(d, p["id"], orders[results.index(409)])
    assert full.json()["type"] == "urn:dispatchd:problem:pickup-point-full", full
    # Codes of the held parcels are distinct.
    assert sql(w, f"SELECT count(DISTINCT code_hash) FROM pickup_parcels "
                  f"WHERE point_id = '{p['id']}' AND status = 'held'") == "5"
    # Capacity below what is held, or retiring it, is refused.
    r = d.request("PATCH", f"/v1/pickup-points/{p['id']}", body={"capacity": 4})
    assert r.status == 409 and r.json()["held"] == 5, r
    assert d.request("DELETE", f"/v1/pickup-points/{p['id']}").status == 409


def test_locker_counts_per_size(w):
    d = pk_daemon(w)
    p = point(d, kind="locker", capacity=None, compartments={"S": 1, "M": 1})
    orders = routed_orders(w, d, p["id"], 4)
    assert arrive(d, p["id"], orders[0]).json()["errors"][0]["field"] == "size"
    assert arrive(d, p["id"], orders[0], size="S").status == 201
    assert arrive(d, p["id"], orders[1], size="S").status == 409
    assert arrive(d, p["id"], orders[1], size="M").status == 201
    assert arrive(d, p["id"], orders[2], size="L").status == 409
    doc = d.get(f"/v1/pickup-points/{p['id']}").json()
    assert doc["held_by_size"] == {"S": 1, "M": 1, "L": 0} and doc["held"] == 2, doc
    r = d.request("PATCH", f"/v1/pickup-points/{p['id']}", body={"compartments": {"M": 3}})
    assert r.status == 409, r   # the S compartment holds a parcel


def test_one_code_collects_once_under_concurrent_collections(w):
    d = pk_daemon(w)
    p = point(d, capacity=2)
    [o] = routed_orders(w, d, p["id"], 1)
    assert arrive(d, p["id"], o).status == 201
    code = code_of(w, d, o)
    tok = known(d, w.token("pickup_point", p["id"], label="pk race"))
    results = [None] * 12
    go = threading.Event()

    def one(i):
        go.wait()
        results[i] = collect(d, p["id"], code, key=f"race-{i}", token=tok).status

    threads = [threading.Thread(target=one, args=(i,)) for i in range(len(results))]
    for t in threads:
        t.start()
    go.set()
    for t in threads:
        t.join()
    # One collects; the others are wrong codes now (the same token: after
    # code_failures_per_token = 5 of them, 429), counted exactly however
    # many arrive at once.
    assert sorted(results) == [200] + [422] * 5 + [429] * 6, results
    assert events(w, o) == "pickup.arrived,pickup.collected", events(w, o)


def expiry_daemon(w, at, ret):
    prepare(w)
    d = w.daemon(extra_conf=harness.clock_conf(at) + "[pickup]\nhold_days = 3\n"
                 f"expiry_interval_ms = 100\nreturn_to_warehouse = {ret}\n")
    harness.wait_until(lambda: d.get("/readyz").status == 200, what="ready")
    return d


def test_expiry_sends_the_parcel_back_and_on_to_the_warehouse(w):
    d = pk_daemon(w)
    p = point(d, capacity=3)
    due, kept, back = routed_orders(w, d, p["id"], 3)
    for o in (due, kept, back):
        assert arrive(d, p["id"], o).status == 201
    # kept arrived later: its deadline is not passed at the later clock.
    sql(w, f"UPDATE pickup_parcels SET hold_until = hold_until + interval '10 days' "
           f"WHERE order_id = '{kept}'")
    code = code_of(w, d, due)
    d.stop()
    later = "2030-01-11T00:00:01Z"   # 3 days and 1 s after the test clock
    d = expiry_daemon(w, later, "true")
    harness.wait_until(lambda: sql(w, f"SELECT status FROM pickup_parcels "
                                      f"WHERE order_id = '{due}'") == "expired",
                       what="the parcel expired")
    assert sql(w, f"SELECT status FROM pickup_parcels WHERE order_id = '{kept}'") == "held"
    assert d.get(f"/v1/pickup-points/{p['id']}").json()["held"] == 1
    # Its code is dead: the same answer as a wrong one.
    r = collect(d, p["id"], code)
    assert r.status == 422 and r.json()["errors"][0]["field"] == "code", r
    assert events(w, due) == "pickup.arrived,pickup.expired", events(w, due)
    assert feed_kinds(w, due) == "pickup.arrived,pickup.expired,return.arrived", \
        feed_kinds(w, due)
    ret = sql(w, f"SELECT id || ' ' || kind || ' ' || reason || ' ' || status || ' ' || "
                 f"station_id || ' ' || warehouse_id FROM returns WHERE order_id = '{due}'")
    rid = ret.split()[0]
    assert ret.split()[1:] == ["return", "uncollected", "at_station", ST, FDC], ret
    assert sql(w, f"SELECT sum(qty) FROM return_lines WHERE return_id = '{rid}'") == "1"
    # The return goes on as any return: the station scans it out.
    r = d.request("POST", f"/v1/returns/{rid}/scans", body={"event": "departed_station"})
    assert r.status == 200, r
    # Expiry happens once however many ticks pass.
    harness.wait_until(lambda: sql(w, f"SELECT status FROM pickup_parcels "
                                      f"WHERE order_id = '{back}'") == "expired",
                       what="the second parcel expired")
    assert sql(w, f"SELECT count(*) FROM order_events WHERE order_id = '{due}' "
                  f"AND kind = 'pickup.expired'") == "1"
    assert sql(w, f"SELECT count(*) FROM returns WHERE order_id = '{due}'") == "1"
    # Its scan again (the parcel is on its way back) takes no second place
    # and makes no second return, which would restore the stock twice.
    r = arrive(d, p["id"], due)
    assert r.status == 409 and r.json()["current_status"] == "expired", r
    assert sql(w, f"SELECT count(*) FROM returns WHERE order_id = '{due}'") == "1"
    assert sql(w, f"SELECT count(*) FROM pickup_parcels WHERE order_id = '{due}'") == "1"


def test_expiry_without_return_to_warehouse(w):
    d = pk_daemon(w)
    p = point(d, capacity=2)
    busy, o = sorted(routed_orders(w, d, p["id"], 2))
    assert arrive(d, p["id"], o).status == 201 and arrive(d, p["id"], busy).status == 201
    d.stop()
    # Another transaction holds the first due parcel's order (SKIP LOCKED):
    # the tick leaves that parcel for later and expires the next one
    # meanwhile, instead of waiting behind the lock.
    def hold():
        try:
            sql(w, f"SELECT 1 FROM orders WHERE id = '{busy}' FOR UPDATE; SELECT pg_sleep(120)")
        except Exception:
            pass   # cancelled below once seen

    holder = threading.Thread(target=hold)
    holder.start()
    harness.wait_until(lambda: sql(w, "SELECT count(*) FROM pg_stat_activity "
                                      "WHERE query LIKE '%pg_sleep(120)%' AND pid <> "
                                      "pg_backend_pid()") == "1", what="the lock held")
    d = expiry_daemon(w, "2030-01-12T00:00:00Z", "false")
    harness.wait_until(lambda: sql(w, f"SELECT status FROM pickup_parcels "
                                      f"WHERE order_id = '{o}'") == "expired",
                       timeout=3, what="the parcel expired while the other is locked")
    assert holder.is_alive(), "the lock was released before the free parcel expired"
    assert sql(w, f"SELECT status FROM pickup_parcels WHERE order_id = '{busy}'") == "held"
    sql(w, "SELECT pg_cancel_backend(pid) FROM pg_stat_activity "
           "WHERE query LIKE '%pg_sleep(120)%' AND pid <> pg_backend_pid()")
    holder.join()
    harness.wait_until(lambda: sql(w, f"SELECT status FROM pickup_parcels "
                                      f"WHERE order_id = '{busy}'") == "expired",
                       what="the locked parcel expired after its lock")
    assert sql(w, f"SELECT count(*) FROM returns WHERE order_id = '{o}'") == "0"
    assert feed_kinds(w, o) == "pickup.arrived,pickup.expired", feed_kinds(w, o)


def test_arrival_needs_the_parcel_on_its_way_and_retire_waits_for_it(w):
    d = pk_daemon(w)
    p = point(d, capacity=5)
    shelf = point(d, capacity=5)
    sql(w, f"UPDATE pickup_points SET shelf = true WHERE id = '{shelf['id']}'")
    # Still at the warehouse, or cancelled: not scanned in (409 naming the state).
    [home] = routed_orders(w, d, p["id"], 1, status=None)
    r = arrive(d, p["id"], home)
    assert r.status == 409 and r.json()["current_status"] == "allocated", r
    [gone] = routed_orders(w, d, p["id"], 1, status=None)
    assert d.request("POST", f"/v1/orders/{gone}/cancel",
                     body={"reason": "customer"}).status == 200
    r = arrive(d, p["id"], gone)
    assert r.status == 409 and r.json()["current_status"] == "cancelled", r
    # At the station: on the station's own shelf, not yet at a courier-served point.
    [st_o] = routed_orders(w, d, p["id"], 1, status="arrived_at_station")
    r = arrive(d, p["id"], st_o)
    assert r.status == 409 and r.json()["current_status"] == "arrived_at_station", r
    [sh_o] = routed_orders(w, d, shelf["id"], 1, status="arrived_at_station")
    assert arrive(d, shelf["id"], sh_o).status == 201
    assert sql(w, f"SELECT count(*) FROM pickup_parcels WHERE order_id IN "
                  f"('{home}', '{gone}', '{st_o}')") == "0"
    # Retiring waits for the orders still on their way (none held yet).
    assert d.get(f"/v1/pickup-points/{p['id']}").json()["held"] == 0
    r = d.request("DELETE", f"/v1/pickup-points/{p['id']}")
    assert r.status == 409 and (r.json()["held"], r.json()["routed"]) == (0, 2), r
    sql(w, f"UPDATE orders SET pickup_point_id = NULL WHERE id IN ('{home}', '{st_o}')")
    assert d.request("DELETE", f"/v1/pickup-points/{p['id']}").status == 200
    # A locker's capacity is its compartments': PATCH capacity alone is 422.
    lk = point(d, kind="locker", capacity=None, compartments={"S": 2})
    r = d.request("PATCH", f"/v1/pickup-points/{lk['id']}", body={"capacity": 50})
    assert r.status == 422 and [e["field"] for e in r.json()["errors"]] == ["capacity"], r
    assert d.get(f"/v1/pickup-points/{lk['id']}").json()["capacity"] == 2


def test_wrong_codes_are_limited_across_daemons(w):
    limits = ("code_failures_per_token = 3\ncode_failures_token_window_s = 600\n"
              "code_failures_per_point = 5\ncode_failures_point_window_s = 3600\n")
    d = pk_daemon(w, pickup=limits)
    p = point(d, capacity=2)
    [o] = routed_orders(w, d, p["id"], 1)
    assert arrive(d, p["id"], o).status == 201
    code = code_of(w, d, o)
    wrong = f"{(int(code) + 7) % 10 ** 8:08d}"
    a = known(d, w.token("pickup_point", p["id"], label="pk guess a"))
    for _ in range(3):
        assert collect(d, p["id"], wrong, token=a).status == 422
    # The caller's limit: every further attempt, the right code too, is 429
    # with Retry-After (the fixed clock: the whole window), so the answer
    # says nothing of the code.
    lim = collect(d, p["id"], code, token=a)
    assert lim.status == 429 and lim.headers["retry-after"] == "600", lim
    assert lim.json()["type"] == "urn:dispatchd:problem:rate-limited", lim
    assert collect(d, p["id"], wrong, token=a).json()["detail"] == lim.json()["detail"]
    # The count is PostgreSQL's: a second daemon refuses the same caller,
    # and the point's limit adds up the callers over both.
    d2 = w.daemon(extra_conf=harness.clock_conf() + CONF + limits)
    harness.wait_until(lambda: d2.get("/readyz").status == 200, what="the second daemon")
    b = known(d2, w.token("station", ST, label="pk guess b"))
    assert collect(d2, p["id"], code, token=a).status == 429
    assert [collect(d2, p["id"], wrong, token=b).status for _ in range(2)] == [422, 422]
    lim = collect(d2, p["id"], code, token=b)
    assert lim.status == 429 and lim.headers["retry-after"] == "3600", lim
    assert sql(w, f"SELECT status FROM pickup_parcels WHERE order_id = '{o}'") == "held"
    # Once the wrong codes leave their windows, the right code collects.
    sql(w, f"UPDATE pickup_code_failures SET at = at - interval '1 hour 1 second' "
           f"WHERE point_id = '{p['id']}'")
    assert collect(d2, p["id"], code, token=b).status == 200
    # The caller's limit holds across points too: wrong codes sent to six
    # points at once, through both daemons, pass it by none.
    c = known(d2, known(d, w.token("station", ST, label="pk guess c")))
    others = [point(d)["id"] for _ in range(6)]
    got = []

    def one(i):
        got.append(collect((d, d2)[i % 2], others[i], wrong, token=c).status)
    threads = [threading.Thread(target=one, args=(i,)) for i in range(len(others))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(got) == [422] * 3 + [429] * 3, got
    assert sql(w, "SELECT count(*) FROM pickup_code_failures WHERE point_id IN ("
                  + ",".join(repr(x) for x in others) + ")") == "3"
    # Two collections of one caller at two points at once: the second waits
    # for the first (the caller's advisory lock, taken before the point's),
    # so it counts the first's wrong code and is limited (limit 1).
    call = ("SELECT pickup_collect('{}', repeat('00', 32), '{}', '{{1,600,50,3600}}', "
            "'admin', '{{}}', 'tok_race', now())")
    first = threading.Thread(target=sql, args=(
        w, "BEGIN; " + call.format(others[0], "race-a") + "; SELECT pg_sleep(2); COMMIT;"))
    first.start()
    harness.wait_until(lambda: sql(w, "SELECT count(*) FROM pg_stat_activity WHERE "
                                      "wait_event = 'PgSleep' AND query LIKE '%race-a%'") == "1",
                       what="the first collection done, its transaction open")
    second = sql(w, call.format(others[1], "race-b") + "->>'r'")
    first.join()
    assert second == "limited", second


def test_a_new_token_key_gives_held_parcels_new_codes_on_a_scan(w):
    """Last (its daemon's key differs from the world's): the token key file
    replaced, a held parcel's code is dead; scanning it in again issues a
    new one (pickup.code_issued), which the order service shows and which
    collects."""
    d = pk_daemon(w)
    p = point(d, capacity=2)
    [o] = routed_orders(w, d, p["id"], 1)
    assert arrive(d, p["id"], o).status == 201
    old = code_of(w, d, o)
    other = os.path.join(w.root, "pickup-other.key")
    ctl = os.path.join(harness.BUILD_DIR, "dispatchctl")
    assert subprocess.run([ctl, "tokens", "init-key", other], capture_output=True).returncode == 0

    def token(role, *scope):
        argv = [ctl, "tokens", "create", "--role", role, "--label", "pk new key",
                "--dsn", w.pg.dsn, "--key-file", other]
        if scope:
            argv += ["--pickup-point", scope[0]]
        r = subprocess.run(argv, capture_output=True, text=True, check=True)
        tok = dict(line.split(None, 1) for line in r.stdout.splitlines() if " " in line)["token"]
        harness.TOKENS_ISSUED.append(tok)
        return tok
    d.reload(extra_conf=harness.clock_conf() + CONF + f"[auth]\ntoken_key_file = {other}\n")
    pp = known(d, token("pickup_point", p["id"]))
    d.pk_shop = known(d, token("order_service"))
    # Under the new key the old code neither opens nor collects.
    assert code_of(w, d, o) is None
    assert collect(d, p["id"], old, token=pp).status == 422
    r = arrive(d, p["id"], o, token=pp)
    assert r.status == 200 and r.json()["status"] == "held", r
    new = code_of(w, d, o)
    assert new is not None and len(new) == 8, new
    assert events(w, o) == "pickup.arrived,pickup.code_issued", events(w, o)
    assert feed_kinds(w, o) == "pickup.arrived,pickup.code_issued", feed_kinds(w, o)
    # A second scan under the same key keeps the code: nothing new to show.
    assert arrive(d, p["id"], o, token=pp).status == 200 and code_of(w, d, o) == new
    assert events(w, o) == "pickup.arrived,pickup.code_issued", events(w, o)
    r = collect(d, p["id"], new, token=pp)
    assert r.status == 200 and r.json()["status"] == "collected", r


if __name__ == "__main__":
    harness.run(globals())
