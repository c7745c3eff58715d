"""Shipment scans end to end (issue 11, "An order that can be delivered"):
POST /v1/shipments/{order}/{seq}/events by warehouse and station tokens
through the lifecycle, replays of a key, illegal transitions (409 naming
the state), scope (404 as if absent), roles (403), the batch form, bad
bodies changing nothing, and the lifecycle table of warehouse/shipment.c
agreeing with data/sql/shipment_next.sql."""
import json
import os
import re
import uuid

import harness
from test_orders import DONGCHENG, FDC, RDC, daemon, new_sku, order_body, post, sql

ST_IN, ST_OUT = "bj-st-001", "bj-st-002"   # DONGCHENG is served by bj-st-001


def tokens(w, d):
    """Tokens in and out of scope, known to the daemon: name -> (token, id)."""
    if not hasattr(w, "scan_tokens"):
        w.scan_tokens = {
            "wh": w.token("warehouse", FDC, label="scans fdc"),
            "wh_out": w.token("warehouse", RDC, label="scans rdc"),
            "st": w.token("station", ST_IN, label="scans st1"),
            "st_out": w.token("station", ST_OUT, label="scans st2"),
        }
    harness.wait_until(lambda: all(d.get("/v1/admin/tokens/whoami", token=t).status == 200
                                   for t in w.scan_tokens.values()),
                       timeout=6, what="the daemon to know the tokens")
    return {k: (t, d.get("/v1/admin/tokens/whoami", token=t).json()["id"])
            for k, t in w.scan_tokens.items()}


def new_order(w, d, where=FDC):
    sku = new_sku(w, {where: 10})
    r = post(d, order_body([(sku, 1)]))
    assert r.status == 201, r
    o = r.json()
    assert [s["warehouse"] for s in o["shipments"]] == [where], o
    assert o["station"]["id"] == ST_IN, o
    return o["id"]


def scan(d, order, event, token, key=None, seq=1, **extra):
    return d.request("POST", f"/v1/shipments/{order}/{seq}/events",
                     body=dict({"event": event}, **extra), token=token,
                     headers={"Idempotency-Key": key or uuid.uuid4().hex})


def order_doc(d, order):
    r = d.get(f"/v1/orders/{order}")
    assert r.status == 200, r
    return r.json()


def kinds(d, order):
    return [e["kind"] for e in order_doc(d, order)["events"]]


def test_happy_path_by_warehouse_and_station(w):
    d = daemon(w)
    tk = tokens(w, d)
    order = new_order(w, d)
    steps = [("picked", "wh", "pick line 3"), ("packed", "wh", None),
             ("departed_warehouse", "wh", "dock 2"), ("arrived_at_station", "st", "bay 1")]
    for event, who, place in steps:
        extra = {"place": place} if place else {}
        r = scan(d, order, event, tk[who][0], at="2030-01-08T09:30:00+08:00", **extra)
        assert r.status == 200, r
        assert r.json() == {"order": order, "seq": 1, "status": event, "warehouse": FDC,
                            "at": "2030-01-08T01:30:00.000Z"}, r.json()
        doc = order_doc(d, order)
        assert doc["shipments"][0]["status"] == event, doc
        assert doc["status"] == event, doc   # its only shipment: the order follows
    ev = order_doc(d, order)["events"]
    assert [e["kind"] for e in ev] == ["created", "allocated"] + [s[0] for s in steps], ev
    last = ev[-1]
    assert last["shipment"] == 1 and last["at"] == "2030-01-08T01:30:00.000Z", last
    assert last["detail"] == {"actor": tk["st"][1], "role": "station",
                              "from": "departed_warehouse", "place": "bay 1"}, last
    assert ev[2]["detail"]["actor"] == tk["wh"][1] and ev[2]["detail"]["place"] == "pick line 3"
    # Too late to cancel now; a re-scan of the current state is 200 and adds nothing.
    assert d.request("POST", f"/v1/orders/{order}/cancel").status == 409
    r = scan(d, order, "arrived_at_station", tk["st"][0])
    assert r.status == 200 and r.json()["status"] == "arrived_at_station", r
    assert len(order_doc(d, order)["events"]) == 6
    # An order whose shipment moved on (its status is no longer allocated)
    # is still planned in its wave.
    key = sql(w, f"SELECT counter_key FROM order_capacity WHERE order_id = '{order}' "
                 "AND counter_key LIKE '%-W%'")
    r = d.request("POST", f"/v1/stations/{ST_IN}/waves/{key}/plan")
    assert r.status == 200, r
    plan = r.json()
    planned = [s["order_id"] for rt in plan["routes"] for s in rt["stops"]] + \
        [u["order_id"] for u in plan["unassigned"]]
    assert order in planned, plan
    # The scans were audited under the scanning tokens.
    harness.wait_until(lambda: [l for l in d.log().splitlines()
                                if " audit: " in l and tk["st"][1] in l and "/events" in l],
                       what="an audit line for the station's scan")


def test_packed_order_can_still_be_cancelled(w):
    d = daemon(w)
    tk = tokens(w, d)
    order = new_order(w, d)
    for event in ("picked", "packed"):
        assert scan(d, order, event, tk["wh"][0]).status == 200
    r = d.request("POST", f"/v1/orders/{order}/cancel")
    assert r.status == 200 and r.json()["status"] == "cancelled", r
    r = scan(d, order, "departed_warehouse", tk["wh"][0])
    assert r.status == 409 and r.json()["current_status"] == "cancelled", r


def test_replay_of_a_key_answers_the_first_answer(w):
    d = daemon(w)
    tk = tokens(w, d)
    order = new_order(w, d)
    first = scan(d, order, "picked", tk["wh"][0], key="replay-1", place="A")
    again = scan(d, order, "picked", tk["wh"][0], key="replay-1", place="A")
    assert first.status == again.status == 200, (first, again)
    assert first.json() == again.json(), (first.body, again.body)
    assert kinds(d, order).count("picked") == 1
    # A replayed 409 is a 409 again, even after the state moved on.
    ill = scan(d, order, "departed_warehouse", tk["wh"][0], key="replay-2")
    assert ill.status == 409 and ill.json()["current_status"] == "picked", ill
    assert scan(d, order, "packed", tk["wh"][0]).status == 200
    ill2 = scan(d, order, "departed_warehouse", tk["wh"][0], key="replay-2")
    assert ill2.status == 409 and ill2.json()["current_status"] == "picked", ill2
    # The key on another event or shipment is refused, and changes nothing.
    r = scan(d, order, "departed_warehouse", tk["wh"][0], key="replay-1")
    assert r.status == 422, r
    assert r.json()["type"] == "urn:dispatchd:problem:idempotency-key-reused", r
    assert kinds(d, order) == ["created", "allocated", "picked", "packed"]


def test_illegal_transition_is_409_naming_the_state(w):
    d = daemon(w)
    tk = tokens(w, d)
    order = new_order(w, d)
    r = scan(d, order, "arrived_at_station", tk["st"][0])
    assert r.status == 409, r
    p = r.json()
    assert p["type"] == "urn:dispatchd:problem:illegal-transition", p
    assert p["current_status"] == "allocated" and "allocated" in p["detail"], p
    r = scan(d, order, "packed", tk["wh"][0])
    assert r.status == 409 and r.json()["current_status"] == "allocated", r
    assert kinds(d, order) == ["created", "allocated"]
    assert order_doc(d, order)["shipments"][0]["status"] == "allocated"


def test_scope_and_roles(w):
    d = daemon(w)
    tk = tokens(w, d)
    order = new_order(w, d)
    # Out of scope: exactly as a shipment that does not exist.
    for who, event in (("wh_out", "picked"), ("st_out", "arrived_at_station")):
        r = scan(d, order, event, tk[who][0])
        assert r.status == 404 and r.json()["detail"] == "no such resource", (who, r)
    missing = scan(d, "ord_doesnotexist", "picked", tk["wh"][0])
    assert missing.status == 404 and missing.json()["detail"] == "no such resource", missing
    assert scan(d, order, "picked", tk["wh"][0], seq=2).status == 404
    assert d.request("POST", f"/v1/shipments/{order}/01/events", body={"event": "picked"},
                     headers={"Idempotency-Key": "x"}).status == 404
    # A role scanning an event it may never scan: 403, whatever the shipment.
    for who, event in (("st", "picked"), ("st", "departed_warehouse"),
                       ("wh", "arrived_at_station"), ("st_out", "packed")):
        r = scan(d, order, event, tk[who][0])
        assert r.status == 403 and r.json()["type"] == "urn:dispatchd:problem:forbidden", r
    # A role without scans at all is refused by admission.
    osvc = w.token("order_service", label="scans osvc")
    harness.wait_until(lambda: d.get("/v1/admin/tokens/whoami", token=osvc).status == 200,
                       what="the order service token")
    assert scan(d, order, "picked", osvc).status == 403
    assert kinds(d, order) == ["created", "allocated"]
    assert sql(w, f"SELECT count(*) FROM shipment_scan_keys WHERE order_id = '{order}'") == "0"


def test_batch_applies_each_scan_on_its_own(w):
    d = daemon(w)
    tk = tokens(w, d)
    a, b = new_order(w, d), new_order(w, d)
    elsewhere = new_order(w, d, where=RDC)
    scans = [{"order": a, "seq": 1, "event": "picked", "key": "batch-1", "place": "line 1"},
             {"order": b, "seq": 1, "event": "packed", "key": "batch-2"},
             {"order": elsewhere, "seq": 1, "event": "picked", "key": "batch-3"}]
    r = d.request("POST", "/v1/shipments/events", body={"scans": scans}, token=tk["wh"][0])
    assert r.status == 200, r
    res = r.json()["results"]
    assert [(x["order"], x["key"], x["status"]) for x in res] == \
        [(a, "batch-1", 200), (b, "batch-2", 409), (elsewhere, "batch-3", 404)], res
    assert res[0]["shipment"]["status"] == "picked", res
    assert res[1]["type"] == "urn:dispatchd:problem:illegal-transition", res
    assert res[1]["current_status"] == "allocated", res
    assert res[2]["type"] == "urn:dispatchd:problem:not-found", res
    assert kinds(d, a)[-1] == "picked" and kinds(d, b) == kinds(d, elsewhere) == \
        ["created", "allocated"]
    # The same batch again: the same answers, no new events.
    again = d.request("POST", "/v1/shipments/events", body={"scans": scans}, token=tk["wh"][0])
    assert again.status == 200 and again.json()["results"] == res, again
    assert kinds(d, a).count("picked") == 1
    # A truck's worth: many shipments through to the station in two calls.
    orders = [new_order(w, d) for _ in range(5)]
    wh = [{"order": o, "seq": 1, "event": e, "key": f"truck-{o}-{e}"}
          for o in orders for e in ("picked", "packed", "departed_warehouse")]
    r = d.request("POST", "/v1/shipments/events", body={"scans": wh}, token=tk["wh"][0])
    assert r.status == 200 and {x["status"] for x in r.json()["results"]} == {200}, r
    st = [{"order": o, "seq": 1, "event": "arrived_at_station", "key": f"truck-{o}-in"}
          for o in orders]
    r = d.request("POST", "/v1/shipments/events", body={"scans": st}, token=tk["st"][0])
    assert r.status == 200 and {x["status"] for x in r.json()["results"]} == {200}, r
    assert {order_doc(d, o)["status"] for o in orders} == {"arrived_at_station"}
    # A station in a batch scanning a warehouse event: that scan is 403.
    r = d.request("POST", "/v1/shipments/events", token=tk["st"][0],
                  body={"scans": [{"order": b, "seq": 1, "event": "picked", "key": "batch-st"}]})
    assert r.status == 200 and r.json()["results"][0]["status"] == 403, r


def counts(w):
    return sql(w, "SELECT (SELECT count(*) FROM order_events), "
                  "(SELECT count(*) FROM shipment_scan_keys), "
                  "(SELECT string_agg(status, ',' ORDER BY order_id, seq) FROM shipments)")


def test_bad_bodies_are_422_and_change_nothing(w):
    d = daemon(w)
    tk = tokens(w, d)
    order = new_order(w, d)
    before = counts(w)
    url = f"/v1/shipments/{order}/1/events"
    bad = [{"event": "teleported"}, {"event": "delivered"}, {"event": "allocated"},
           {"event": "picked", "colour": "red"}, {"event": "picked", "at": "yesterday"},
           {"event": "picked", "at": "2030-02-30T10:00:00Z"}, {"event": "picked", "at": 5},
           {"event": "picked", "place": "x" * 201}, {"event": 3}, {}]
    for body in bad:
        r = d.request("POST", url, body=body, headers={"Idempotency-Key": uuid.uuid4().hex},
                      token=tk["wh"][0])
        assert r.status == 422, (body, r)
        assert r.json()["type"] == "urn:dispatchd:problem:validation-failed", r
    r = d.request("POST", url, body={"event": "picked"}, token=tk["wh"][0])
    assert r.status == 422 and r.json()["errors"][0]["field"] == "Idempotency-Key", r
    r = d.request("POST", url, body='{"event": "picked"', headers={"Idempotency-Key": "k"},
                  token=tk["wh"][0])
    assert r.status == 400, r
    good = {"order": order, "seq": 1, "event": "picked", "key": uuid.uuid4().hex}
    batches = [{}, {"scans": []}, {"scans": [good] * 501}, {"scans": {}},
               {"scans": [good], "extra": 1},
               {"scans": [good, dict(good, key=uuid.uuid4().hex, event="packed", seq=0)]},
               {"scans": [good, dict(good, key="")]},
               {"scans": [good, dict(good, order="bad id")]},
               {"scans": [good, dict(good, colour="red")]},
               {"scans": [good, 5]}]
    for body in batches:
        r = d.request("POST", "/v1/shipments/events", body=body, token=tk["wh"][0])
        assert r.status == 422, (json.dumps(body)[:200], r)
    r = d.request("POST", "/v1/shipments/events", token=tk["wh"][0],
                  body={"scans": [good, dict(good, seq="1")]})
    assert r.status == 422 and r.json()["errors"][0]["field"] == "scans[1].seq", r
    assert counts(w) == before, (before, counts(w))


def test_lifecycle_tables_agree(w):
    """warehouse/shipment.c and data/sql/shipment_next.sql list the same moves."""
    daemon(w)
    src = open(os.path.join(harness.SOURCE_DIR, "warehouse", "shipment.c")).read()
    names = dict(re.findall(r"\[(WH_SHIPMENT_[A-Z_]+)\] = \"([a-z_]+)\"", src))
    table = src[src.index("wh_shipment_moves[] = {"):]
    table = table[:table.index("};")]
    c_moves = {(names[f], names[t])
               for f, t in re.findall(r"\{(WH_SHIPMENT_[A-Z_]+), (WH_SHIPMENT_[A-Z_]+)\}", table)}
    assert len(names) == 12 and len(c_moves) == 14, (names, c_moves)
    states = "{" + ",".join(names.values()) + "}"
    rows = sql(w, f"SELECT f || '>' || t FROM unnest('{states}'::text[]) AS f, "
                  f"unnest('{states}'::text[]) AS t WHERE f <> t AND shipment_next(f, t) = t")
    sql_moves = {tuple(x.split(">")) for x in rows.splitlines()}
    assert sql_moves == c_moves, (sql_moves ^ c_moves)
    # The one event not named after its state: collected_at_point (issue 13).
    coll = src[src.index("wh_shipment_collect_from[] = {"):]
    coll = {names[s] for s in re.findall(r"WH_SHIPMENT_[A-Z_]+", coll[:coll.index("};")])}
    assert coll == {"arrived_at_station", "out_for_delivery"}, coll
    rows = sql(w, f"SELECT f FROM unnest('{states}'::text[]) AS f "
                  f"WHERE shipment_next(f, 'collected_at_point') = 'delivered' AND f <> 'delivered'")
    assert set(rows.splitlines()) == coll, rows
    # And the shipments' CHECK constraint accepts exactly these states.
    check = sql(w, "SELECT pg_get_constraintdef(oid) FROM pg_constraint "
                   "WHERE conname = 'shipments_status_check'")
    assert set(re.findall(r"'([a-z_]+)'", check)) == set(names.values()), check


if __name__ == "__main__":
    harness.run(globals())
