"""Service slots and bookings (issue 12, part P2) against the real
PostgreSQL: the windows offered follow the engineers' skills, shifts and
capacity; a booking takes a unit of an engineer's day under row locks, so
the last one goes to exactly one of many concurrent bookings; reschedule and
cancel before the cut-off, refused after it; an Idempotency-Key replays;
a bad request changes nothing. Engineers are couriers rows of kind engineer
inserted here in SQL (their API is part P1's). The clock is Tuesday
2030-01-08 08:00 in Beijing: windows are offered from Wednesday to the
next Tuesday."""
import json
import threading
import uuid

import harness
from test_orders import DONGCHENG, FDC, prepare, sql

ST = "bj-st-001"   # DONGCHENG's station
SERVICES_CONF = """[services]
windows = 09:00-13:00/2, 14:00-18:00/2
horizon_days = 7
change_cutoff_hours = 24
late_compensation = 50.00

[service.large_appliances.installation]
duration_minutes = 90
base_fee = 120.00
free = true
extra = pipe_extension, m, 15.00, 10
extra = work_at_height, visit, 50.00, 1
extra = old_appliance_removal, unit, 30.00, 1

[service.large_appliances.repair]
duration_minutes = 60
base_fee = 80.00
extra = replacement_part, unit, 300.00, 3
"""
WED_AM, WED_PM = "2030-01-09T09:00:00+08:00", "2030-01-09T14:00:00+08:00"
THU_PM = "2030-01-10T14:00:00+08:00"


def daemon(w, at=harness.TEST_NOW):
    prepare(w)
    d = w.daemon(extra_conf=SERVICES_CONF + harness.clock_conf(at))
    harness.wait_until(lambda: d.get("/readyz").status == 200, what="ready")
    harness.wait_until(lambda: d.get("/v1/stations").status == 200, what="areas loaded")
    return d


def price_list(d, type_="installation"):
    """The published list of a type (GET /v1/service-types): what a booking
    keeps as its snapshot, member for member."""
    r = d.get("/v1/service-types?category=large_appliances", token=None)
    assert r.status == 200, r
    return next(t for t in r.json()["service_types"] if t["type"] == type_)


def engineers(w, *rows):
    """Start from no bookings and exactly these engineers of ST: rows of
    (id, skills, daily_capacity, [(isodow, start, end), ...])."""
    sql(w, "DELETE FROM service_booking_keys; DELETE FROM service_capacity; "
           "DELETE FROM service_appointments; "
           "DELETE FROM courier_shifts WHERE courier_id IN "
           "(SELECT id FROM couriers WHERE kind = 'engineer'); "
           "DELETE FROM couriers WHERE kind = 'engineer'")
    for eid, skills, cap, shifts in rows:
        sql(w, f"INSERT INTO couriers (id, station_id, name, phone, vehicle, skills, kind, "
               f"daily_capacity) VALUES ('{eid}', '{ST}', 'Engineer {eid}', '+86 1', 'van', "
               f"'{{{','.join(skills)}}}', 'engineer', {cap}); "
               f"INSERT INTO courier_shifts (courier_id, tz) VALUES ('{eid}', 'Asia/Shanghai')")
        for dow, start, end in shifts:
            sql(w, f"INSERT INTO courier_shift_weekly VALUES ('{eid}', {dow}, '{start}', '{end}')")


EVERY_DAY = [(dow, "08:00", "20:00") for dow in range(1, 8)]
WED_MORNING = [(3, "08:00", "13:00")]


def new_sku(w, category="large_appliances", installable=True):
    sku = "S-" + uuid.uuid4().hex[:12]
    sql(w, f"INSERT INTO skus (sku, name, category, weight_g, volume_ml, installable) "
           f"VALUES ('{sku}', 'test', '{category}', 5000, 1000, {str(installable).lower()}); "
           f"INSERT INTO stock VALUES ('{FDC}', '{sku}', 1000, 0, 1000)")
    return sku


def new_order(d, w, skus=None, token=harness.ADMIN):
    """An order of ST with line 1 an installable fridge (and the lines of
    skus after it)."""
    lines = [new_sku(w)] + list(skus or [])
    body = {"external_id": "SVC-" + uuid.uuid4().hex[:16], "customer": dict(DONGCHENG),
            "lines": [{"sku": s, "qty": 1} for s in lines], "delivery_option": "standard"}
    r = d.request("POST", "/v1/orders", body=body, headers={"Idempotency-Key": uuid.uuid4().hex},
                  token=token)
    assert r.status == 201 and r.json()["station"]["id"] == ST, r
    return r.json()


def slots(d, order_id, type_="installation", line=1, extra=""):
    r = d.get(f"/v1/orders/{order_id}/service-slots?type={type_}&line={line}{extra}")
    assert r.status == 200, r
    return r.json()


def offered(d, order_id, **kw):
    return {(s["window_start"], s["available"]) for s in slots(d, order_id, **kw)["slots"]}


def book(d, order_id, start, key=None, type_="installation", line=1, token=harness.ADMIN, **extra):
    body = dict({"type": type_, "line": line, "window_start": start}, **extra)
    return d.request("POST", f"/v1/orders/{order_id}/services", body=body, token=token,
                     headers={"Idempotency-Key": key or uuid.uuid4().hex})


def state(w):
    """Everything a booking may change, to compare before and after."""
    return sql(w, "SELECT (SELECT count(*) FROM service_appointments), "
                  "(SELECT string_agg(id || ':' || status || ':' || window_start::text, ',' "
                  "ORDER BY id) FROM service_appointments), "
                  "(SELECT string_agg(engineer_id || day || visits || windows::text, ',' "
                  "ORDER BY engineer_id, day) FROM service_capacity), "
                  "(SELECT count(*) FROM service_booking_keys), "
                  "(SELECT count(*) FROM order_events), (SELECT count(*) FROM station_feed)")


def over_capacity(w):
    """Engineer-days or windows holding more visits than allowed, and units
    that disagree with the appointments holding them (both must be none)."""
    return sql(w, f"""
        SELECT (SELECT count(*) FROM service_capacity c JOIN couriers e ON e.id = c.engineer_id
                 WHERE c.visits > e.daily_capacity
                    OR EXISTS (SELECT 1 FROM jsonb_each_text(c.windows) x
                                WHERE x.value::integer > 2)),
               (SELECT count(*) FROM service_capacity c
                 WHERE c.visits <> (SELECT count(*) FROM service_appointments a
                                     WHERE a.capacity_engineer = c.engineer_id
                                       AND a.day = c.day))""")


def test_slots_follow_skill_shift_and_capacity(w):
    d = daemon(w)
    engineers(w, ("eng-a", ["large_appliances"], 4, EVERY_DAY),
              ("eng-b", ["large_appliances"], 1, WED_MORNING),
              ("eng-c", ["small_appliances"], 9, EVERY_DAY))
    o = new_order(d, w)
    doc = slots(d, o["id"])
    assert (doc["order"], doc["line"], doc["type"], doc["category"], doc["duration_s"],
            doc["with_delivery"]) == (o["id"], 1, "installation", "large_appliances", 5400,
                                      False), doc
    # Seven days, two windows each; Wednesday morning has both engineers.
    got = doc["slots"]
    assert len(got) == 14, got
    assert got[0] == {"day": "2030-01-09", "window_start": WED_AM,
                      "window_end": "2030-01-09T13:00:00+08:00", "available": 2}, got
    assert [s["available"] for s in got[1:]] == [1] * 13, got
    assert got[-1]["window_start"] == "2030-01-15T14:00:00+08:00", got
    # Deliver and install in one visit: the window of the delivery day that
    # contains or follows the promised delivery (the wave's start, today 13:00).
    assert o["promise"]["standard"]["window_start"] == "2030-01-08T13:00:00+08:00", o
    today_pm = {"day": "2030-01-08", "window_start": "2030-01-08T14:00:00+08:00",
                "window_end": "2030-01-08T18:00:00+08:00", "available": 1}
    assert slots(d, o["id"], extra="&with_delivery=true")["slots"] == [today_pm]
    r = book(d, o["id"], WED_AM, with_delivery=True)
    assert r.status == 422 and r.json()["type"].endswith(":slot-not-offered"), r
    r = book(d, o["id"], today_pm["window_start"], with_delivery=True)
    assert r.status == 201 and r.json()["with_delivery"] is True, r
    assert r.json()["engineer"]["id"] == "eng-a", r
    o = new_order(d, w)
    # No engineer with the skill but eng-b, who works Wednesday morning only.
    sql(w, "UPDATE couriers SET skills = '{small_appliances}' WHERE id = 'eng-a'")
    assert offered(d, o["id"]) == {(WED_AM, 1)}
    # eng-b off duty (a mark like POST .../duty): nothing.
    sql(w, "INSERT INTO courier_duty_offs (courier_id, off_from, off_until, off_by) "
           "VALUES ('eng-b', '2030-01-09T00:00:00Z', '2030-01-09T16:00:00Z', 'test')")
    assert offered(d, o["id"]) == set()
    sql(w, "DELETE FROM courier_duty_offs WHERE courier_id = 'eng-b'")
    # Full: eng-b's one visit of the day is booked.
    r = book(d, o["id"], WED_AM)
    assert r.status == 201 and r.json()["engineer"]["id"] == "eng-b", r
    o2 = new_order(d, w)
    assert offered(d, o2["id"]) == set()
    r = book(d, o2["id"], WED_AM)
    assert r.status == 409 and r.json()["type"].endswith(":capacity-exhausted"), r
    r = book(d, o2["id"], WED_PM)   # eng-b is off in the afternoon
    assert r.status == 422 and r.json()["type"].endswith(":slot-not-offered"), r
    assert over_capacity(w) == "0|0"


def test_booking_document_events_and_listing(w):
    d = daemon(w)
    engineers(w, ("eng-a", ["large_appliances"], 4, EVERY_DAY))
    o = new_order(d, w)
    r = book(d, o["id"], WED_PM)
    assert r.status == 201, r
    a = r.json()
    assert r.headers["location"] == f"/v1/orders/{o['id']}/services/{a['id']}", r.headers
    assert a["id"].startswith("svc_") and len(a["id"]) == 20, a
    assert {k: a[k] for k in ("order", "line", "category", "type", "status", "day",
                              "window_start", "window_end", "with_delivery", "engineer",
                              "planned_duration_s", "duration_s", "price_list",
                              "change_until")} == {
        "order": o["id"], "line": 1, "category": "large_appliances", "type": "installation",
        "status": "booked", "day": "2030-01-09", "window_start": WED_PM,
        "window_end": "2030-01-09T18:00:00+08:00", "with_delivery": False,
        "engineer": {"id": "eng-a", "name": "Engineer eng-a"}, "planned_duration_s": 5400,
        "duration_s": None,
        "price_list": price_list(d), "change_until": "2030-01-08T14:00:00+08:00"}, a
    assert (a["price_list"]["base_fee_fen"], a["price_list"]["free"],
            [e["price_fen"] for e in a["price_list"]["extras"]]) == (12000, True,
                                                                    [1500, 5000, 3000]), a
    assert d.get(f"/v1/orders/{o['id']}/services/{a['id']}").json() == a
    assert d.get(f"/v1/orders/{o['id']}/services").json() == {"order": o["id"], "services": [a]}
    assert d.get(f"/v1/orders/{o['id']}/services/svc_0000000000000000").status == 404
    assert d.get("/v1/orders/ord_nope/services").status == 404
    ev = json.loads(sql(w, f"SELECT detail FROM order_events WHERE order_id = '{o['id']}' "
                           f"AND kind = 'service.booked'"))
    assert ev == {"appointment": a["id"], "type": "installation", "category": "large_appliances",
                  "line": 1, "day": "2030-01-09", "window_start": WED_PM,
                  "window_end": "2030-01-09T18:00:00+08:00", "with_delivery": False,
                  "engineer": "eng-a", "engineer_name": "Engineer eng-a"}, ev
    feed = json.loads(sql(w, f"SELECT data FROM station_feed WHERE station_id = '{ST}' "
                             f"AND kind = 'service.booked' ORDER BY seq DESC LIMIT 1"))
    assert feed == {"appointment": a["id"], "order": o["id"], "day": "2030-01-09"}, feed
    # The same line and type again: already booked.
    r = book(d, o["id"], THU_PM)
    assert r.status == 409 and r.json()["appointment"] == a["id"], r
    # An order_service token books too, and its webhook subscription gets
    # the service.booked event of its order (the order_events trigger).
    shop = w.token("order_service", label="svc shop")
    harness.wait_until(lambda: d.get("/v1/admin/tokens/whoami", token=shop).status == 200,
                       what="the token")
    h = d.request("POST", "/v1/webhooks", token=shop,
                  body={"url": "http://127.0.0.1:9/svc", "events": ["service.booked"]})
    assert h.status == 201, h
    o2 = new_order(d, w, token=shop)
    r = book(d, o2["id"], THU_PM, token=shop)
    assert r.status == 201, r
    out = json.loads(sql(w, f"SELECT body FROM webhook_outbox WHERE webhook_id = "
                            f"'{h.json()['id']}'"))
    assert (out["type"], out["data"]["order"], out["data"]["detail"]["appointment"]) == \
        ("service.booked", o2["id"], r.json()["id"]), out


def test_last_slot_race_has_one_winner(w):
    """Many concurrent bookings of the last engineer slot, through two
    daemons (two PostgreSQL connections each): exactly one 201, the others
    capacity-exhausted, and the capacity is never exceeded."""
    d1 = daemon(w)
    d2 = daemon(w)
    engineers(w, ("eng-b", ["large_appliances"], 1, WED_MORNING))
    orders = [new_order(d1, w) for _ in range(12)]
    start = threading.Barrier(len(orders))
    out, lock = [], threading.Lock()

    def worker(i, o):
        start.wait()
        r = book(d1 if i % 2 else d2, o["id"], WED_AM)
        with lock:
            out.append(r)

    threads = [threading.Thread(target=worker, args=(i, o)) for i, o in enumerate(orders)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    statuses = sorted(r.status for r in out)
    assert statuses == [201] + [409] * 11, [(r.status, r.body[:120]) for r in out]
    assert all(r.json()["type"].endswith(":capacity-exhausted") for r in out if r.status == 409)
    assert sql(w, "SELECT count(*) FROM service_appointments WHERE status = 'booked'") == "1"
    assert sql(w, "SELECT visits FROM service_capacity WHERE engineer_id = 'eng-b'") == "1"
    assert over_capacity(w) == "0|0"
    # Units to spare: every concurrent booking wins, within the window's 2.
    engineers(w, ("eng-a", ["large_appliances"], 3, EVERY_DAY),
              ("eng-b", ["large_appliances"], 1, WED_MORNING))
    out.clear()
    threads = [threading.Thread(target=worker, args=(i, o)) for i, o in enumerate(orders)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(r.status for r in out) == [201] * 3 + [409] * 9, [r.status for r in out]
    assert over_capacity(w) == "0|0"


def test_reschedule_and_cancel_before_and_after_the_cutoff(w):
    d = daemon(w)
    engineers(w, ("eng-a", ["large_appliances"], 4, EVERY_DAY))
    o = new_order(d, w)
    a = book(d, o["id"], WED_AM).json()
    url = f"/v1/orders/{o['id']}/services/{a['id']}"
    # Before the cut-off (Tuesday 09:00 for Wednesday 09:00): reschedule.
    r = d.request("PATCH", url, body={"window_start": THU_PM})
    assert r.status == 200, r
    b = r.json()
    assert (b["id"], b["status"], b["day"], b["window_start"], b["engineer"]["id"]) == \
        (a["id"], "booked", "2030-01-10", THU_PM, "eng-a"), b
    assert sql(w, "SELECT string_agg(day || '=' || visits, ',' ORDER BY day) "
                  "FROM service_capacity") == "2030-01-09=0,2030-01-10=1"
    ev = json.loads(sql(w, f"SELECT detail FROM order_events WHERE order_id = '{o['id']}' "
                           f"AND kind = 'service.rescheduled'"))
    assert ev["from"] == {"window_start": WED_AM, "window_end": "2030-01-09T13:00:00+08:00"} \
        and ev["window_start"] == THU_PM and ev["engineer"] == "eng-a", ev
    r = d.request("PATCH", url, body={"window_start": "2030-01-10T12:00:00+08:00"})
    assert r.status == 422 and r.json()["type"].endswith(":slot-not-offered"), r
    # A deliver-and-install visit rescheduled without naming with_delivery
    # stays one: only its delivery day's window is offered, so Wednesday
    # afternoon is refused; naming with_delivery false makes it a plain visit.
    sql(w, f"UPDATE service_appointments SET with_delivery = true WHERE id = '{a['id']}'")
    r = d.request("PATCH", url, body={"window_start": WED_PM})
    assert r.status == 422 and r.json()["type"].endswith(":slot-not-offered"), r
    assert sql(w, f"SELECT with_delivery FROM service_appointments WHERE id = '{a['id']}'") == "t"
    r = d.request("PATCH", url, body={"window_start": THU_PM, "with_delivery": False})
    assert r.status == 200 and r.json()["with_delivery"] is False, r
    # Another order booked for Wednesday 09:00; at 09:30 its cut-off has passed.
    o2 = new_order(d, w)
    c = book(d, o2["id"], WED_AM).json()
    url2 = f"/v1/orders/{o2['id']}/services/{c['id']}"
    late = daemon(w, at="2030-01-08T09:30:00+08:00")
    before = state(w)
    for method, body in (("DELETE", None), ("PATCH", {"window_start": THU_PM})):
        r = late.request(method, url2, body=body)
        assert r.status == 409 and r.json()["type"].endswith(":too-late-to-cancel"), r
        assert r.json()["cutoff"] == "2030-01-08T09:00:00+08:00", r
    assert state(w) == before
    # The Thursday one can still be cancelled then; it frees its unit.
    r = late.request("DELETE", url, body={"reason": "bought elsewhere"})
    assert r.status == 200, r
    assert (r.json()["status"], r.json()["outcome"]["reason"]) == ("cancelled",
                                                                   "bought elsewhere"), r
    assert sql(w, "SELECT string_agg(day || '=' || visits, ',' ORDER BY day) "
                  "FROM service_capacity") == "2030-01-09=1,2030-01-10=0"
    assert sql(w, f"SELECT detail->>'reason' FROM order_events WHERE order_id = '{o['id']}' "
                  f"AND kind = 'service.cancelled'") == "bought elsewhere"
    assert sql(w, f"SELECT count(*) FROM station_feed WHERE station_id = '{ST}' AND "
                  f"kind = 'service.cancelled' AND data->>'appointment' = '{a['id']}'") == "3"
    r = d.request("DELETE", url)
    assert r.status == 409 and r.json()["current_status"] == "cancelled", r
    assert over_capacity(w) == "0|0"


def test_cancelling_the_order_cancels_its_visits_and_frees_their_units(w):
    d = daemon(w)
    engineers(w, ("eng-a", ["large_appliances"], 1, EVERY_DAY))
    o = new_order(d, w)
    a = book(d, o["id"], WED_AM).json()
    assert sql(w, "SELECT visits FROM service_capacity WHERE day = '2030-01-09'") == "1"
    other = new_order(d, w)
    assert book(d, other["id"], WED_PM).status == 409     # eng-a's one visit a day is taken
    assert d.request("POST", f"/v1/orders/{o['id']}/cancel").status == 200
    got = d.get(f"/v1/orders/{o['id']}/services/{a['id']}").json()
    assert (got["status"], got["outcome"]) == ("cancelled", {"by": "order",
                                                            "reason": "order cancelled"}), got
    assert sql(w, "SELECT visits FROM service_capacity WHERE day = '2030-01-09'") == "0"
    assert sql(w, f"SELECT count(*) FROM order_events WHERE order_id = '{o['id']}' "
                  f"AND kind = 'service.cancelled'") == "1"
    assert book(d, other["id"], WED_PM).status == 201     # the unit is free again
    assert over_capacity(w) == "0|0"


def test_idempotent_replay(w):
    d = daemon(w)
    engineers(w, ("eng-a", ["large_appliances"], 4, EVERY_DAY))
    o = new_order(d, w)
    first = book(d, o["id"], WED_AM, key="svc-key-1")
    assert first.status == 201, first
    again = book(d, o["id"], WED_AM, key="svc-key-1")
    assert again.status == 201 and again.body == first.body, again
    assert again.headers.get("idempotent-replayed") == "true", again.headers
    assert sql(w, f"SELECT count(*) FROM service_appointments WHERE order_id = '{o['id']}'") == "1"
    # The key with another body, another order, or no key at all.
    o2 = new_order(d, w)
    before = state(w)
    r = book(d, o["id"], WED_PM, key="svc-key-1")
    assert r.status == 422 and r.json()["type"].endswith(":idempotency-key-reused"), r
    r = book(d, o2["id"], WED_AM, key="svc-key-1")
    assert r.status == 422 and r.json()["type"].endswith(":idempotency-key-reused"), r
    r = d.request("POST", f"/v1/orders/{o2['id']}/services",
                  body={"type": "installation", "line": 1, "window_start": WED_AM})
    assert r.status == 422 and [e["field"] for e in r.json()["errors"]] == ["Idempotency-Key"], r
    assert state(w) == before


def test_bad_requests_change_nothing(w):
    d = daemon(w)
    engineers(w, ("eng-a", ["large_appliances"], 4, EVERY_DAY))
    tv = new_sku(w, installable=False)
    book_ = new_sku(w, category="books")
    o = new_order(d, w, [tv, book_])
    cancelled = new_order(d, w)
    assert d.request("POST", f"/v1/orders/{cancelled['id']}/cancel").status == 200
    before = state(w)

    def field_of(r):
        return [e["field"] for e in r.json().get("errors", [])]

    r = book(d, o["id"], WED_AM, type_="cleaning")
    assert r.status == 422 and field_of(r) == ["type"], r
    assert "large_appliances" in r.json()["detail"], r
    r = book(d, o["id"], WED_AM, line=9)
    assert r.status == 422 and field_of(r) == ["line"], r
    r = book(d, o["id"], WED_AM, line=2)
    assert r.status == 422 and field_of(r) == ["type"] and tv in r.json()["detail"], r
    r = book(d, o["id"], WED_AM, line=3, type_="repair")
    assert r.status == 422 and field_of(r) == ["type"], r
    r = book(d, o["id"], "2030-01-09T10:00:00+08:00")
    assert r.status == 422 and r.json()["type"].endswith(":slot-not-offered"), r
    r = book(d, o["id"], "2030-01-20T09:00:00+08:00")   # beyond the horizon
    assert r.status == 422 and r.json()["type"].endswith(":slot-not-offered"), r
    r = book(d, cancelled["id"], WED_AM)
    assert r.status == 409 and r.json()["type"].endswith(":illegal-transition"), r
    r = book(d, "ord_nope", WED_AM)
    assert r.status == 404, r
    r = book(d, o["id"], "tomorrow", colour="blue")
    assert r.status == 422 and sorted(field_of(r)) == ["colour", "window_start"], r
    r = book(d, o["id"], WED_AM, with_delivery="yes")
    assert r.status == 422 and field_of(r) == ["with_delivery"], r
    r = d.get(f"/v1/orders/{o['id']}/service-slots?type=Install!&line=0")
    assert r.status == 422 and sorted(field_of(r)) == ["line", "type"], r
    r = d.get(f"/v1/orders/{o['id']}/service-slots?type=installation&line=2")
    assert r.status == 422 and field_of(r) == ["type"], r
    r = d.request("PATCH", f"/v1/orders/{o['id']}/services/svc_0123456789abcdef",
                  body={"window_start": WED_AM})
    assert r.status == 404, r
    r = d.request("DELETE", f"/v1/orders/{o['id']}/services/svc_0123456789abcdef",
                  body={"reason": 7})
    assert r.status == 422 and field_of(r) == ["reason"], r
    assert state(w) == before


if __name__ == "__main__":
    harness.run(globals())
