"""Engineers' service visits end to end (issue 12 part P3, docs/api.md
"Service visits"): POST /v1/services/{id}/events (arrived -> started ->
completed with itemised charges checked against the appointment's price
list snapshot, exact fen totals, failed with a reason; charges not on the
list, above it or above max_qty refused with 422 naming the item and
nothing changed; illegal transitions 409; another engineer's visit 404;
byte-identical replays and reused keys), the late flag and its
compensation from [services] late_compensation, GET /v1/services/{id} and
who may read it, the tracking timeline (GET /v1/orders/{id}/tracking and
the public /v1/track/{code}) with the engineer's name, window, arrival,
duration and itemised charge, the station feed's service.outcome lines and
the service.completed webhook. Engineers and appointments are SQL fixtures
(parts P1 and P2 make them in production)."""
import itertools
import json
import threading
import uuid

import harness
from test_webhooks import FAST, Receiver, clients, subscribe

ST = "bj-st-001"
SERVICES = ("[services]\nwindows = 09:00-13:00/2, 14:00-18:00/2\nhorizon_days = 7\n"
            "change_cutoff_hours = 24\nlate_compensation = 50.00\n")
# The installation list of docs/api.md's example, with one cheap extra for
# exact fen arithmetic (3 x 0.10).
# The price lists as a booking snapshots them (dm_service_price_list_json).
INSTALL_LIST = {"category": "large_appliances", "type": "installation", "duration_minutes": 90,
                "currency": "CNY", "base_fee": "120.00", "base_fee_fen": 12000, "free": True,
                "extras": [{"code": "pipe_extension", "unit": "m", "price": "15.00",
                            "price_fen": 1500, "max_qty": 10},
                           {"code": "work_at_height", "unit": "visit", "price": "50.00",
                            "price_fen": 5000, "max_qty": 1},
                           {"code": "sealant", "unit": "tube", "price": "0.10", "price_fen": 10,
                            "max_qty": 5}]}
REPAIR_LIST = {"category": "large_appliances", "type": "repair", "duration_minutes": 60,
               "currency": "CNY", "base_fee": "80.00", "base_fee_fen": 8000, "free": False,
               "extras": [{"code": "replacement_part", "unit": "unit", "price": "300.00",
                           "price_fen": 30000, "max_qty": 3}]}
# The window of the visits: 2030-01-08 09:00-13:00 in Beijing.
WIN_START, WIN_END = "2030-01-08T01:00:00Z", "2030-01-08T05:00:00Z"
_n = itertools.count(1)


def sql(w, text):
    return w.pg.psql("dispatchd", text)


def clock(at):
    return harness.clock_conf(at)


def visits_daemon(w, at="2030-01-08T08:00:00+08:00", extra=""):
    return w.daemon(extra_conf=SERVICES + clock(at) + extra)


def at(d, when, extra=""):
    """Move the daemon's fixed clock to when (RFC 3339)."""
    d.reload(SERVICES + clock(when) + extra)


def engineer(w, d, name="Wang Xiaoming"):
    eid = "e-" + uuid.uuid4().hex[:8]
    sql(w, f"INSERT INTO couriers (id, station_id, name, phone, vehicle, kind, skills, "
           f"daily_capacity) VALUES ('{eid}', '{ST}', '{name}', '+86 139 0000 0001', 'van', "
           f"'engineer', '{{large_appliances}}', 4)")
    tok = w.token("engineer", eid, label=f"engineer {eid}")
    harness.wait_until(lambda: d.get("/v1/admin/tokens/whoami", token=tok).status == 200,
                       timeout=6, what="the daemon to know the engineer token")
    return eid, tok


def order(w, client_id=None):
    oid = f"O-SV-{next(_n):04d}-{uuid.uuid4().hex[:6]}"
    sql(w, f"""INSERT INTO orders (id, external_id, idempotency_key, status, station_id,
                                  station_name, district_id, delivery_option, install, promise,
                                  created_at, client_id, recipient)
               VALUES ('{oid}', 'EXT-{oid}', 'k-{oid}', 'allocated', '{ST}', 'Station one', 'D1',
                       'standard', true, '{{}}', now(),
                       {"NULL" if client_id is None else f"'{client_id}'"},
                       '{{"name": "Li Na", "phone": "+86 138 0000 1234"}}')""")
    return oid


def appointment(w, oid, eid, kind="installation", price_list=INSTALL_LIST, status="planned"):
    aid = "svc_" + uuid.uuid4().hex[:16]
    sql(w, f"""INSERT INTO service_appointments (id, order_id, station_id, category, type,
                   status, day, window_start, window_end, engineer_id, duration_s, price_list,
                   position, eta)
               VALUES ('{aid}', '{oid}', '{ST}', 'large_appliances', '{kind}', '{status}',
                       '2030-01-08', '{WIN_START}', '{WIN_END}', '{eid}', 5400,
                       '{json.dumps(price_list)}'::jsonb, 0, '2030-01-08T02:00:00Z')""")
    return aid


def event(d, tok, aid, body, key=None):
    headers = {} if key is False else {"Idempotency-Key": key or uuid.uuid4().hex}
    return d.request("POST", f"/v1/services/{aid}/events", body=body, token=tok,
                     headers=headers)


def ok(r):
    assert r.status == 200, r
    return r.json()


def row(w, aid):
    return sql(w, f"SELECT status, arrived_at, started_at, completed_at, charges, total_fen, "
                  f"late, compensation_fen, outcome FROM service_appointments "
                  f"WHERE id = '{aid}'")


def tracking(d, oid):
    full = d.get(f"/v1/orders/{oid}/tracking")
    assert full.status == 200, full
    pub = d.get(f"/v1/track/{full.json()['tracking_code']}", token=None)
    assert pub.status == 200, pub
    return full.json(), pub.json()


def test_a_full_visit_with_charges_on_the_timeline(w):
    d = visits_daemon(w)
    eid, tok = engineer(w, d)
    oid = order(w)
    aid = appointment(w, oid, eid)
    at(d, "2030-01-08T10:00:00+08:00")
    doc = ok(event(d, tok, aid, {"event": "arrived"}))
    assert (doc["id"], doc["status"], doc["arrived_at"]) == \
        (aid, "arrived", "2030-01-08T10:00:00+08:00"), doc
    at(d, "2030-01-08T10:05:00+08:00")
    doc = ok(event(d, tok, aid, {"event": "started"}))
    assert (doc["status"], doc["late"], doc["compensation"]) == ("started", False, "0.00"), doc
    at(d, "2030-01-08T11:30:00+08:00")
    doc = ok(event(d, tok, aid, {"event": "completed", "charges": [
        {"code": "pipe_extension", "qty": 3},
        {"code": "sealant", "qty": 3, "unit_price": "0.10"}]}))
    # Free installation: no base fee; 3 x 15.00 + 3 x 0.10 = 45.30 exactly.
    assert (doc["status"], doc["total"], doc["total_fen"], doc["currency"]) == \
        ("completed", "45.30", 4530, "CNY"), doc
    assert (doc["duration_s"], doc["planned_duration_s"]) == (85 * 60, 5400), doc
    assert doc["charges"]["items"] == [
        {"code": "pipe_extension", "unit": "m", "qty": 3, "unit_price": "15.00",
         "unit_price_fen": 1500, "amount": "45.00", "amount_fen": 4500},
        {"code": "sealant", "unit": "tube", "qty": 3, "unit_price": "0.10",
         "unit_price_fen": 10, "amount": "0.30", "amount_fen": 30}], doc
    assert (doc["charges"]["base_fee"], doc["charges"]["base_fee_waived"]) == ("0.00", True)
    assert doc["engineer"] == {"id": eid, "name": "Wang Xiaoming"}, doc
    # The visit's document shows local times ([promise] timezone), as bookings do.
    assert (doc["window_start"], doc["window_end"], doc["started_at"], doc["completed_at"]) == \
        ("2030-01-08T09:00:00+08:00", "2030-01-08T13:00:00+08:00",
         "2030-01-08T10:05:00+08:00", "2030-01-08T11:30:00+08:00"), doc
    assert doc["price_list"] == INSTALL_LIST, doc
    assert row(w, aid).split("|")[5] == "4530"
    # GET shows the same document.
    assert d.get(f"/v1/services/{aid}", token=tok).json() == doc

    full, pub = tracking(d, oid)
    for view in (full, pub):
        [svc] = view["services"]
        assert (svc["type"], svc["status"], svc["window"], svc["arrived_at"],
                svc["started_at"], svc["completed_at"], svc["duration_s"], svc["late"]) == \
            ("installation", "completed", {"start": "2030-01-08T01:00:00.000Z",
                                           "end": "2030-01-08T05:00:00.000Z"},
             "2030-01-08T02:00:00.000Z",
             "2030-01-08T02:05:00.000Z", "2030-01-08T03:30:00.000Z", 5100, False), svc
        assert svc["engineer"]["first_name"] == "Wang", svc
        assert (svc["charges"]["total"], svc["charges"]["currency"]) == ("45.30", "CNY"), svc
        assert [(i["code"], i["unit"], i["qty"], i["unit_price"], i["amount"])
                for i in svc["charges"]["items"]] == \
            [("pipe_extension", "m", 3, "15.00", "45.00"), ("sealant", "tube", 3, "0.10", "0.30")]
        lines = [e for e in view["events"] if e["kind"].startswith("service.")]
        assert [e["kind"] for e in lines] == ["service.arrived", "service.started",
                                              "service.completed"], lines
        assert lines[0]["text"] == "Engineer Wang arrived", lines
        assert lines[0]["at"] == "2030-01-08T02:00:00.000Z", lines
        assert lines[2]["text"] == ("Installation completed in 1 h 25 min; charged 45.30 CNY "
                                    "(pipe extension 3 m, sealant 3 tube)"), lines
        assert lines[2]["duration_s"] == 5100 and lines[2]["total"] == "45.30", lines
        assert lines[2]["window"] == {"start": WIN_START.replace("Z", ".000Z"),
                                      "end": WIN_END.replace("Z", ".000Z")}, lines
    # The full view names ids; the public view masks them.
    assert full["services"][0]["engineer"] == {"first_name": "Wang", "id": eid}
    assert full["services"][0]["appointment"] == aid
    assert pub["services"][0]["engineer"] == {"first_name": "Wang"}
    assert "appointment" not in pub["services"][0]
    assert eid not in json.dumps(pub) and aid not in json.dumps(pub) and "Xiaoming" not in \
        json.dumps(pub)
    assert "amount_fen" not in json.dumps(pub)
    # The station's feed has the three outcomes.
    feed = d.get(f"/v1/stations/{ST}/feed?wait=0&limit=100").json()
    outs = [c["data"] for c in feed["changes"] if c["kind"] == "service.outcome"
            and c["data"]["appointment"] == aid]
    assert [(o["event"], o["engineer"], o["order"]) for o in outs] == \
        [("arrived", eid, oid), ("started", eid, oid), ("completed", eid, oid)], outs


def test_charges_off_the_list_are_refused_and_change_nothing(w):
    d = visits_daemon(w)
    eid, tok = engineer(w, d)
    oid = order(w)
    aid = appointment(w, oid, eid, "repair", REPAIR_LIST)
    ok(event(d, tok, aid, {"event": "arrived"}))
    ok(event(d, tok, aid, {"event": "started"}))
    before = row(w, aid)
    nevents = sql(w, f"SELECT count(*) FROM order_events WHERE order_id = '{oid}'")
    bad = [
        ([{"code": "replacement_part", "qty": 1}, {"code": "gold_plating", "qty": 1}],
         "charges[1].code"),
        ([{"code": "replacement_part", "qty": 1, "unit_price": "300.01"}],
         "charges[0].unit_price"),
        ([{"code": "replacement_part", "qty": 4}], "charges[0].qty"),
        ([{"code": "replacement_part", "qty": 1, "unit_price": 300.0}], "charges[0].unit_price"),
        ([{"code": "replacement_part", "qty": 1, "unit_price": "12.345"}],
         "charges[0].unit_price"),
        ([{"code": "replacement_part", "qty": 1.5}], "charges[0].qty"),
        ([{"code": "replacement_part", "qty": 1}, {"code": "replacement_part", "qty": 1}],
         "charges[1].code"),
    ]
    for charges, field in bad:
        r = event(d, tok, aid, {"event": "completed", "charges": charges}, key="same-key")
        assert r.status == 422, (charges, r)
        assert r.json()["type"] == "urn:dispatchd:problem:validation-failed", r
        assert field in [e["field"] for e in r.json()["errors"]], (charges, r)
    # Nothing changed: the row, the events, and the key is free for the
    # corrected request.
    assert row(w, aid) == before
    assert sql(w, f"SELECT count(*) FROM order_events WHERE order_id = '{oid}'") == nevents
    doc = ok(event(d, tok, aid, {"event": "completed", "charges": [
        {"code": "replacement_part", "qty": 2, "unit_price": "250.00"}]}, key="same-key"))
    # Not free: base 80.00 + 2 x 250.00 (below the list price is allowed).
    assert (doc["total"], doc["total_fen"], doc["charges"]["base_fee"]) == \
        ("580.00", 58000, "80.00"), doc
    full, pub = tracking(d, oid)
    line = [e for e in pub["events"] if e["kind"] == "service.completed"][0]
    assert line["text"].endswith("charged 580.00 CNY (base fee 80.00, replacement part 2 unit)"), \
        line


def test_a_late_start_is_flagged_with_compensation(w):
    d = visits_daemon(w)
    eid, tok = engineer(w, d)
    oid = order(w)
    aid = appointment(w, oid, eid)
    at(d, "2030-01-08T13:20:00+08:00")
    ok(event(d, tok, aid, {"event": "arrived"}))
    at(d, "2030-01-08T13:30:00+08:00")
    doc = ok(event(d, tok, aid, {"event": "started"}))
    assert (doc["late"], doc["compensation"], doc["compensation_fen"]) == \
        (True, "50.00", 5000), doc
    at(d, "2030-01-08T14:00:00+08:00")
    doc = ok(event(d, tok, aid, {"event": "completed"}))
    assert (doc["total"], doc["late"], doc["compensation"]) == ("0.00", True, "50.00"), doc
    full, pub = tracking(d, oid)
    for view in (full, pub):
        svc = view["services"][0]
        assert (svc["late"], svc["compensation"]) == (True, "50.00"), svc
        started = [e for e in view["events"] if e["kind"] == "service.started"][0]
        assert started["text"] == ("The engineer started after the window closed: "
                                   "50.00 CNY compensation"), started
        assert (started["late"], started["compensation"]) == (True, "50.00"), started
        done = [e for e in view["events"] if e["kind"] == "service.completed"][0]
        assert done["text"] == "Installation completed in 30 min; nothing charged", done
    # An on-time start is not late.
    aid2 = appointment(w, order(w), eid)
    at(d, "2030-01-08T12:59:00+08:00")
    ok(event(d, tok, aid2, {"event": "arrived"}))
    doc = ok(event(d, tok, aid2, {"event": "started"}))
    assert (doc["late"], doc["compensation"]) == (False, "0.00"), doc
    # The amount is the config's at the start (a reload changes it).
    aid3 = appointment(w, order(w), eid)
    ok(event(d, tok, aid3, {"event": "arrived"}))
    d.reload(SERVICES.replace("50.00", "30.00") + clock("2030-01-08T13:01:00+08:00"))
    doc = ok(event(d, tok, aid3, {"event": "started"}))
    assert (doc["late"], doc["compensation"], doc["compensation_fen"]) == \
        (True, "30.00", 3000), doc


def test_transitions_failures_scope_and_replays(w):
    d = visits_daemon(w)
    eid, tok = engineer(w, d)
    other, other_tok = engineer(w, d, "Zhao Lei")
    oid = order(w)
    aid = appointment(w, oid, eid, status="booked")
    # Illegal: started or completed before arrived, 409 naming the status.
    for ev in ("started", "completed"):
        r = event(d, tok, aid, {"event": ev})
        assert r.status == 409 and r.json()["current_status"] == "booked", r
        assert r.json()["type"] == "urn:dispatchd:problem:illegal-transition", r
    # Another engineer's visit, or none at all: 404, nothing changed.
    for t, a in ((other_tok, aid), (tok, "svc_0000000000000000"), (tok, "svc_nothex")):
        r = event(d, t, a, {"event": "arrived"})
        assert r.status == 404, r
        assert d.get(f"/v1/services/{a}", token=t).status == 404
    assert row(w, aid).split("|")[0] == "booked"
    # Replay: the same key and body give the first answer byte for byte.
    first = event(d, tok, aid, {"event": "arrived"}, key="k-arr")
    assert first.status == 200, first
    again = event(d, tok, aid, {"event": "arrived"}, key="k-arr")
    assert (again.status, again.body) == (200, first.body)
    r = event(d, tok, aid, {"event": "failed", "reason": "no_access"}, key="k-arr")
    assert r.status == 422 and r.json()["type"].endswith("idempotency-key-reused"), r
    assert event(d, tok, aid, {"event": "arrived"}, key=False).status == 422
    r = event(d, tok, aid, {"event": "arrived"})
    assert r.status == 409 and r.json()["current_status"] == "arrived", r
    # Bodies refused before any lookup.
    for body, field in (({"event": "teleported"}, "event"),
                        ({"event": "failed"}, "reason"),
                        ({"event": "failed", "reason": "bored"}, "reason"),
                        ({"event": "failed", "reason": "other"}, "notes"),
                        ({"event": "arrived", "charges": []}, "charges"),
                        ({"event": "arrived", "colour": "red"}, "colour")):
        r = event(d, tok, aid, body)
        assert r.status == 422 and field in [e["field"] for e in r.json()["errors"]], (body, r)
    # failed from arrived, with notes kept for the full view only.
    doc = ok(event(d, tok, aid, {"event": "failed", "reason": "other",
                                 "notes": "dog in the kitchen"}))
    assert (doc["status"], doc["outcome"]["reason"], doc["outcome"]["notes"]) == \
        ("failed", "other", "dog in the kitchen"), doc
    assert event(d, tok, aid, {"event": "started"}).status == 409
    full, pub = tracking(d, oid)
    line = [e for e in full["events"] if e["kind"] == "service.failed"][0]
    assert line["text"] == "The visit could not be done: another reason", line
    assert line["notes"] == "dog in the kitchen" and line["reason"] == "other", line
    assert "dog" not in json.dumps(pub), pub
    assert pub["services"][0]["failed"] == {"reason": "other"}, pub
    # failed straight from planned.
    aid2 = appointment(w, oid, eid)
    assert ok(event(d, tok, aid2, {"event": "failed", "reason": "customer_absent"}))[
        "status"] == "failed"
    # Another order's service events stay off this order's timeline.
    aid3 = appointment(w, order(w), other)
    ok(event(d, other_tok, aid3, {"event": "arrived"}))
    full, _ = tracking(d, oid)
    assert other not in json.dumps(full), full


def test_who_may_read_a_visit(w):
    d = visits_daemon(w)
    eid, tok = engineer(w, d)
    other, other_tok = engineer(w, d, "Zhao Lei")
    aid = appointment(w, order(w), eid)
    st_in = w.token("station", ST, label="visits station")
    st_out = w.token("station", "bj-st-002", label="visits other station")
    shop = w.token("order_service", label="visits shop")
    courier = w.token("courier", "c-1", label="visits courier")
    harness.wait_until(lambda: all(d.get("/v1/admin/tokens/whoami", token=t).status == 200
                                   for t in (st_in, st_out, shop, courier)), timeout=6,
                       what="the tokens")
    for t, want in ((None, 401), (tok, 200), (other_tok, 404), (st_in, 200), (st_out, 404),
                    (shop, 200), (courier, 403), (harness.ADMIN, 200)):
        r = d.get(f"/v1/services/{aid}", token=t)
        assert r.status == want, (want, r)
    assert d.get(f"/v1/services/{aid}", token=st_in).json()["station"] == ST


def test_service_completed_reaches_the_order_service(w):
    rx = Receiver()
    try:
        d = visits_daemon(w, extra=FAST)
        [(shop, shop_id)] = clients(w, d, 1)
        subscribe(d, shop, rx.url("/ok"), ["service.completed", "service.arrived"])
        eid, tok = engineer(w, d)
        oid = order(w, shop_id)
        aid = appointment(w, oid, eid)
        ok(event(d, tok, aid, {"event": "arrived"}))
        ok(event(d, tok, aid, {"event": "started"}))
        ok(event(d, tok, aid, {"event": "completed",
                               "charges": [{"code": "work_at_height", "qty": 1}]}))

        def got():
            bodies = [json.loads(b) for _, _, b in rx.received("/ok")]
            return [b for b in bodies if b["type"] == "service.completed"] or None
        [hook] = harness.wait_until(got, what="the service.completed webhook")
        assert hook["data"]["order"] == oid, hook
        detail = hook["data"]["detail"]
        assert (detail["appointment"], detail["engineer"], detail["engineer_name"],
                detail["total"], detail["currency"], detail["late"],
                detail["compensation"]) == (aid, eid, "Wang Xiaoming", "50.00", "CNY", False,
                                            "0.00"), hook
        assert detail["charges"]["total_fen"] == 5000, hook
        assert detail["charges"]["items"][0]["code"] == "work_at_height", hook
        kinds = [json.loads(b)["type"] for _, _, b in rx.received("/ok")]
        assert "service.started" not in kinds and "service.arrived" in kinds, kinds
    finally:
        rx.close()


def test_concurrent_events_apply_once(w):
    """Retries of one event racing (one key) all get the first answer; two
    engineers' devices racing with their own keys (a double tap) complete
    the visit once, the others 409; one order event, one feed line."""
    d = visits_daemon(w)
    eid, tok = engineer(w, d)
    oid = order(w)
    aid = appointment(w, oid, eid)
    ok(event(d, tok, aid, {"event": "arrived"}))
    answers = []

    def race(bodies_keys):
        threads = [threading.Thread(target=lambda b=b, k=k: answers.append(
            event(d, tok, aid, b, key=k))) for b, k in bodies_keys]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    race([({"event": "started"}, "same")] * 6)
    assert {(r.status, r.body) for r in answers} == {(200, answers[0].body)}, answers
    answers.clear()
    body = {"event": "completed", "charges": [{"code": "pipe_extension", "qty": 2}]}
    race([(body, f"k{i}") for i in range(6)])
    assert sorted(r.status for r in answers) == [200] + [409] * 5, answers
    assert sql(w, f"SELECT count(*) FROM order_events WHERE order_id = '{oid}' "
                  f"GROUP BY kind ORDER BY kind") == "1\n1\n1"
    assert sql(w, f"SELECT count(*) FROM station_feed WHERE kind = 'service.outcome' "
                  f"AND data->>'appointment' = '{aid}'") == "3"
    assert row(w, aid).split("|")[5] == "3000"


if __name__ == "__main__":
    harness.run(globals())
