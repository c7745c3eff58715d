"""Engineers and their day plans (issue 12, part P1).

Engineers: /v1/stations/{id}/engineers end to end through the couriers'
code (create with daily_capacity and provider, vehicle default van; read,
list, change, deactivate; shifts; duty), kept apart from couriers both ways.

Day plans: appointments inserted in SQL (the booking API is part P2) on
Wednesday 2030-01-09 are planned into engineer routes by POST
.../service-days/{date}/plan: an engineer without the category never gets
it; one whose window cannot be met (no engineer with the skill, no engineer
on shift in it, more visits than the daily capacity) keeps its status and is
reported with its reason (plan_note, service.unassigned feed line); placed
ones are planned with an eta inside their window and a service.planned
event only when engineer or eta changed; a move to another engineer moves
its unit of capacity (part P2's service_capacity_move: the appointments are
inserted holding their engineer's unit, as a booking leaves them). The automatic plan of tomorrow happens once with two
daemons at [services] plan_at; GET /v1/engineers/me/route shows the
caller's visits only."""
import json
import time
import uuid

import harness
from test_orders import FDC, new_sku, order_body, post, prepare, sql

ST = "bj-st-001"            # test_orders' DONGCHENG is served by bj-st-001
DAY = "2030-01-09"          # a Wednesday; the test clock is Tuesday 2030-01-08 08:00 +08
WED2, WED3 = "2030-01-16", "2030-01-23"   # later Wednesdays, for tests of their own
PRICE_LIST = {"currency": "CNY", "base_fee_fen": 12000, "free": True,
              "extras": [{"code": "pipe_extension", "unit": "m", "price_fen": 1500,
                          "max_qty": 10}]}


def daemon(w, at=harness.TEST_NOW, extra=""):
    prepare(w)
    d = w.daemon(extra_conf=harness.clock_conf(at) + "[dispatch]\nscheduler_interval_ms = 0\n"
                 + extra)
    harness.wait_until(lambda: d.get("/readyz").status == 200, what="ready")
    harness.wait_until(lambda: d.get("/v1/stations").status == 200, what="areas loaded")
    return d


def no_engineers(w):
    """Earlier tests' engineers (one database for the file) leave."""
    sql(w, "UPDATE couriers SET active = false WHERE kind = 'engineer'")


def engineer_body(eid=None, **extra):
    body = {"id": eid or "e-" + uuid.uuid4().hex[:10], "name": "Zhang Gong",
            "phone": "+86 139 0000 0001", "skills": ["large_appliances"],
            "daily_capacity": 4}
    body.update(extra)
    return body


def create(d, station=ST, **kw):
    r = d.request("POST", f"/v1/stations/{station}/engineers", body=engineer_body(**kw))
    assert r.status == 201, r
    return r.json()


def on_wednesday(d, eid, start="09:00", end="18:00"):
    r = d.request("PUT", f"/v1/stations/{ST}/engineers/{eid}/shifts",
                  body={"weekly": [{"days": ["wed"], "start": start, "end": end}]})
    assert r.status == 200, r


def fields(r):
    assert r.status == 422, r
    return {e["field"]: e["message"] for e in r.json()["errors"]}


def new_order(d, w):
    sku = new_sku(w, {FDC: 10})
    r = post(d, order_body([(sku, 1)], recipient={
        "name": "Li Si", "phone": "+86 138 0000 0002", "address": "Dongcheng 1"}))
    assert r.status == 201, r
    return r.json()["id"]


def appointment(w, order, category, start, end, engineer, day=DAY, duration_s=3600,
                status="booked"):
    """A booked appointment on day from local start to end (HH:MM, +08),
    holding a unit of engineer's day (service_capacity, part P2) as a
    booking leaves it."""
    aid = "svc_" + uuid.uuid4().hex[:16]
    sql(w, f"INSERT INTO service_appointments (id, order_id, station_id, category, type, "
           f"status, day, window_start, window_end, engineer_id, capacity_engineer, "
           f"duration_s, price_list) "
           f"VALUES ('{aid}', '{order}', '{ST}', '{category}', 'installation', '{status}', "
           f"'{day}', '{day}T{start}:00+08', '{day}T{end}:00+08', '{engineer}', "
           f"'{engineer}', {duration_s}, '{json.dumps(PRICE_LIST)}'); "
           f"SELECT service_capacity_add('{engineer}', '{day}', '{day}T{start}:00+08', 1)")
    return aid


def row(w, aid):
    return sql(w, f"SELECT status, coalesce(engineer_id, '-'), coalesce(plan_note, '-') "
                  f"FROM service_appointments WHERE id = '{aid}'").split("|")


def plan(d, day=DAY):
    r = d.request("POST", f"/v1/stations/{ST}/service-days/{day}/plan")
    assert r.status == 200, r
    return r.json()


def visits_of(doc):
    return {e["engineer"]: [v["appointment"] for v in e["visits"]] for e in doc["engineers"]}


def test_engineers_are_managed_like_couriers_and_kept_apart(w):
    d = daemon(w)
    e = create(d, eid="e-crud", provider="Haier Service")
    assert {k: e[k] for k in ("id", "station", "vehicle", "skills", "daily_capacity",
                              "provider", "active")} == \
        {"id": "e-crud", "station": ST, "vehicle": "van", "skills": ["large_appliances"],
         "daily_capacity": 4, "provider": "Haier Service", "active": True}, e
    assert d.get(f"/v1/stations/{ST}/engineers/e-crud").json() == e
    r = d.request("PATCH", f"/v1/stations/{ST}/engineers/e-crud",
                  body={"daily_capacity": 6, "provider": None, "skills": ["kitchen"]})
    assert r.status == 200, r
    assert (r.json()["daily_capacity"], r.json()["provider"], r.json()["skills"],
            r.json()["name"]) == (6, None, ["kitchen"], "Zhang Gong"), r
    # 422 naming each field; a courier body is not an engineer's and back.
    assert fields(d.request("POST", f"/v1/stations/{ST}/engineers",
                            body={"id": "e-bad", "name": "X", "phone": "110",
                                  "daily_capacity": 51})) == \
        {"daily_capacity": "must be an integer from 1 to 50 (visits a day)"}
    assert "daily_capacity" in fields(d.request(
        "POST", f"/v1/stations/{ST}/engineers", body={"id": "e-bad", "name": "X",
                                                       "phone": "110"}))
    assert "daily_capacity" in fields(d.request(
        "POST", f"/v1/stations/{ST}/couriers",
        body={"id": "c-bad", "name": "X", "phone": "110", "vehicle": "van",
              "daily_capacity": 3}))
    assert sql(w, "SELECT count(*) FROM couriers WHERE id IN ('e-bad', 'c-bad')") == "0"
    # Couriers and engineers never show through each other's paths.
    r = d.request("POST", f"/v1/stations/{ST}/couriers",
                  body={"id": "c-apart", "name": "Wang", "phone": "110", "vehicle": "e_bike"})
    assert r.status == 201, r
    couriers = [c["id"] for c in d.get(f"/v1/stations/{ST}/couriers?active=all")
                .json()["couriers"]]
    engineers = [x["id"] for x in d.get(f"/v1/stations/{ST}/engineers?active=all")
                 .json()["engineers"]]
    assert "c-apart" in couriers and "e-crud" not in couriers, couriers
    assert "e-crud" in engineers and "c-apart" not in engineers, engineers
    for path in (f"/v1/stations/{ST}/couriers/e-crud", f"/v1/stations/{ST}/engineers/c-apart"):
        assert d.get(path).status == 404, path
        assert d.request("PATCH", path, body={"name": "X"}).status == 404, path
        assert d.request("PUT", path + "/shifts", body={}).status == 404, path
        assert d.request("POST", path + "/duty", body={"on_shift": False}).status == 404, path
        assert d.request("DELETE", path).status == 404, path
    assert sql(w, "SELECT name || active::text FROM couriers WHERE id = 'e-crud'") == \
        "Zhang Gongtrue"
    # Ids are unique across kinds.
    r = d.request("POST", f"/v1/stations/{ST}/engineers", body=engineer_body("c-apart"))
    assert r.status == 409, r
    # Shifts and duty: the feed says engineer.off_shift; no wave is replanned.
    on_wednesday(d, "e-crud")
    assert d.get(f"/v1/stations/{ST}/engineers/e-crud").json()["shifts"]["weekly"] == \
        [{"days": ["wed"], "start": "09:00", "end": "18:00"}]
    r = d.request("POST", f"/v1/stations/{ST}/engineers/e-crud/duty",
                  body={"on_shift": False, "reason": "sick"})
    assert r.status == 200, r
    assert (r.json()["engineer"], r.json()["on_shift"], r.json()["changed"]) == \
        ("e-crud", False, True), r
    assert "replans_due" not in r.json() and "courier" not in r.json(), r
    assert sql(w, f"SELECT kind || ' ' || (data->>'engineer') || ' ' || (data->>'reason') "
                  f"FROM station_feed WHERE station_id = '{ST}' ORDER BY seq DESC LIMIT 1") \
        == "engineer.off_shift e-crud sick"
    assert sql(w, "SELECT count(*) FROM wave_replans_due") == "0"
    r = d.request("DELETE", f"/v1/stations/{ST}/engineers/e-crud")
    assert r.status == 200 and r.json()["active"] is False, r
    assert "e-crud" not in [x["id"] for x in d.get(f"/v1/stations/{ST}/engineers")
                            .json()["engineers"]]


def test_the_day_plan_keeps_skills_capacity_and_windows(w):
    d = daemon(w)
    la = create(d, skills=["large_appliances"], daily_capacity=2)["id"]
    kit = create(d, skills=["kitchen"], daily_capacity=5)["id"]
    for e in (la, kit):
        on_wednesday(d, e)
    orders = [new_order(d, w) for _ in range(6)]
    # Three large-appliance visits for an engineer who takes two a day.
    big = [appointment(w, orders[i], "large_appliances", "09:00", "18:00", la)
           for i in range(3)]
    # A kitchen visit booked (wrongly) on the large-appliance engineer.
    kitchen = appointment(w, orders[3], "kitchen", "14:00", "18:00", la)
    # A category nobody serves; a window after every shift has ended.
    nobody = appointment(w, orders[4], "air_conditioners", "09:00", "13:00", la)
    late = appointment(w, orders[5], "large_appliances", "20:00", "21:00", la)
    doc = plan(d)
    assert doc["version"] == 1 and doc["day"] == DAY, doc
    placed = visits_of(doc)
    # An engineer without the skill is never assigned.
    assert placed[kit] == [kitchen], placed
    assert len(placed[la]) == 2 and set(placed[la]) < set(big), placed
    left = (set(big) - set(placed[la])).pop()
    un = {u["appointment"]: u["reason"] for u in doc["unassigned"]}
    assert set(un) == {left, nobody, late}, un
    assert un[nobody] == "skill", un
    assert un[late] in ("time_window", "shift"), un
    assert un[left] in ("capacity", "no_vehicle", "time_window", "shift"), un
    # Placed: planned with an eta inside the window, in route order.
    for e in doc["engineers"]:
        for k, v in enumerate(e["visits"]):
            assert v["position"] == k and v["status"] == "planned", v
            assert v["window"]["start"] <= v["eta"] <= v["window"]["end"], v
            assert v["recipient"]["name"] == "Li Si" and v["type"] == "installation", v
    for a in placed[la] + [kitchen]:
        assert row(w, a)[0] == "planned" and row(w, a)[2] == "-", row(w, a)
    # Unplaced: never dropped, status kept, the reason noted and on the feed.
    for a, reason in un.items():
        assert row(w, a) == ["booked", la, reason], row(w, a)
    feed = sql(w, f"SELECT string_agg((data->>'appointment') || ':' || (data->>'reason') || ':'"
                  f" || (data->>'day'), ',' ORDER BY seq) FROM station_feed "
                  f"WHERE station_id = '{ST}' AND kind = 'service.unassigned'")
    assert sorted(feed.split(",")) == sorted(f"{a}:{r}:{DAY}" for a, r in un.items()), feed
    assert sql(w, f"SELECT data FROM station_feed WHERE station_id = '{ST}' "
                  f"AND kind = 'service.plan_published' ORDER BY seq DESC LIMIT 1") == \
        json.dumps({"day": DAY, "version": 1, "engineers": 2, "appointments": 3})
    # The daily capacity holds.
    assert sql(w, f"SELECT max(n) FROM (SELECT count(*) AS n FROM service_appointments "
                  f"WHERE day = '{DAY}' AND status = 'planned' GROUP BY engineer_id) x") == "2"
    # service.planned for each placed visit; the kitchen one moved its capacity.
    events = lambda: sql(w, "SELECT string_agg(detail->>'appointment', ',' ORDER BY id) "
                            "FROM order_events WHERE kind = 'service.planned'") or ""
    assert sorted(events().split(",")) == sorted(placed[la] + [kitchen]), events()
    ev = json.loads(sql(w, f"SELECT detail FROM order_events WHERE kind = 'service.planned' "
                           f"AND detail->>'appointment' = '{kitchen}'"))
    assert (ev["engineer"], ev["engineer_name"], ev["window_start"]) == \
        (kit, "Zhang Gong", "2030-01-09T14:00:00+08:00"), ev
    assert sql(w, f"SELECT capacity_engineer FROM service_appointments "
                  f"WHERE id = '{kitchen}'") == kit
    assert sql(w, f"SELECT string_agg(engineer_id || ':' || visits, ',' ORDER BY "
                  f"engineer_id = '{la}') FROM service_capacity WHERE day = '{DAY}' "
                  f"AND engineer_id IN ('{la}', '{kit}')") == f"{kit}:1,{la}:5"
    # Planning again: version 2, nothing changed so no new service.planned.
    doc2 = plan(d)
    assert doc2["version"] == 2 and visits_of(doc2) == placed, doc2
    assert sorted(events().split(",")) == sorted(placed[la] + [kitchen]), events()
    assert d.get(f"/v1/stations/{ST}/service-days/{DAY}/routes").json() == doc2
    # Another day, nobody on shift (Thursday): every visit reported, none dropped.
    thu = appointment(w, new_order(d, w), "kitchen", "09:00", "13:00", kit, day="2030-01-10")
    doc3 = plan(d, "2030-01-10")
    assert doc3["engineers"] == [] and [(u["appointment"], u["reason"]) for u in
                                        doc3["unassigned"]] == [(thu, "no_engineer")], doc3
    assert row(w, thu) == ["booked", kit, "no_engineer"]
    # Paths: a malformed date is 422, an unknown station 404; a day never
    # planned has no version.
    assert fields(d.request("POST", f"/v1/stations/{ST}/service-days/2030-02-30/plan")) == \
        {"date": "must be a local date YYYY-MM-DD"}
    assert d.request("POST", "/v1/stations/nope/service-days/2030-01-09/plan").status == 404
    r = d.get(f"/v1/stations/{ST}/service-days/2030-03-01/routes")
    assert r.status == 200 and r.json()["version"] is None and r.json()["engineers"] == [], r


def test_an_engineer_sees_only_its_own_visits(w):
    """(A week later: each test has its own days in the shared database.)"""
    d = daemon(w)
    no_engineers(w)
    a = create(d, skills=["kitchen"], daily_capacity=3)["id"]
    b = create(d, skills=["kitchen"], daily_capacity=3)["id"]
    # a works the morning, b the afternoon: each visit can only be one's.
    on_wednesday(d, a, "09:00", "12:00")
    on_wednesday(d, b, "13:00", "18:00")
    am = appointment(w, new_order(d, w), "kitchen", "09:00", "10:00", a, day=WED2,
                     duration_s=1800)
    pm = appointment(w, new_order(d, w), "kitchen", "15:00", "16:00", a, day=WED2,
                     duration_s=1800)
    placed = visits_of(plan(d, WED2))
    assert placed.get(a) == [am] and placed.get(b) == [pm], placed
    ta, tb = w.token("engineer", a), w.token("engineer", b)
    for t in (ta, tb):
        harness.wait_until(lambda: d.get("/v1/admin/tokens/whoami", token=t).status == 200,
                           what="the token loaded")
    r = d.get(f"/v1/engineers/me/route?date={WED2}", token=ta)
    assert r.status == 200, r
    doc = r.json()
    assert (doc["engineer"], doc["day"], doc["station"]) == (a, WED2, ST), doc
    assert [v["appointment"] for v in doc["visits"]] == [am], doc
    v = doc["visits"][0]
    assert (v["type"], v["category"], v["status"], v["price_list"]) == \
        ("installation", "kitchen", "planned", PRICE_LIST), v
    assert v["recipient"] == {"name": "Li Si", "phone": "+86 138 0000 0002",
                              "address": "Dongcheng 1"}, v
    assert v["window"] == {"start": f"{WED2}T09:00:00+08:00", "end": f"{WED2}T10:00:00+08:00"}
    assert v["eta"] >= v["window"]["start"], v
    assert [x["appointment"] for x in
            d.get(f"/v1/engineers/me/route?date={WED2}", token=tb).json()["visits"]] == [pm]
    # Default: today (the test clock's Tuesday): nothing planned.
    r = d.get("/v1/engineers/me/route", token=ta)
    assert r.status == 200 and r.json()["day"] == "2030-01-08" and r.json()["visits"] == [], r
    assert fields(d.get("/v1/engineers/me/route?date=tomorrow", token=ta)) == \
        {"date": "must be a local date YYYY-MM-DD"}
    for t in (w.token("station", ST), w.token("courier", "c-x")):
        harness.wait_until(lambda: d.get("/v1/admin/tokens/whoami", token=t).status == 200,
                           what="the token loaded")
        assert d.get("/v1/engineers/me/route", token=t).status == 403


def test_tomorrow_is_planned_automatically_once_by_two_daemons(w):
    prepare(w)
    no_engineers(w)
    auto = "[dispatch]\nscheduler_interval_ms = 50\n[services]\nplan_at = 20:00\n"
    # Before plan_at nothing is planned.
    early = w.daemon(extra_conf=harness.clock_conf("2030-01-22T19:59:00+08:00") + auto)
    harness.wait_until(lambda: early.get("/v1/stations").status == 200, what="areas loaded")
    eng = create(early, skills=["kitchen"], daily_capacity=3)["id"]
    on_wednesday(early, eng)
    appt = appointment(w, new_order(early, w), "kitchen", "09:00", "13:00", eng, day=WED3)
    time.sleep(1.0)  # twenty ticks
    assert sql(w, f"SELECT count(*) FROM service_auto_plans WHERE day = '{WED3}'") == "0"
    early.stop()
    w.daemons = []
    ds = [w.daemon(extra_conf=harness.clock_conf("2030-01-22T20:00:05+08:00") + auto)
          for _ in range(2)]
    for d in ds:
        harness.wait_until(lambda: d.get("/v1/stations").status == 200, what="areas loaded")
    harness.wait_until(lambda: sql(w, f"SELECT count(*) FROM service_auto_plans WHERE "
                                      f"station_id = '{ST}' AND day = '{WED3}' AND done_at IS NOT NULL")
                       == "1",
                       what="the automatic plan")
    time.sleep(1.0)  # both daemons tick on
    assert sql(w, f"SELECT count(*), min(version), min(reason) FROM service_day_plans "
                  f"WHERE station_id = '{ST}' AND day = '{WED3}'") == "1|1|auto"
    # Every station's day planned once, whichever daemon did it.
    assert sql(w, f"SELECT count(*) FROM service_day_plans WHERE day = '{WED3}'") == \
        sql(w, f"SELECT count(*) FROM service_auto_plans WHERE day = '{WED3}' "
               f"AND done_at IS NOT NULL")
    assert sql(w, f"SELECT max(n) FROM (SELECT count(*) AS n FROM service_day_plans "
                  f"WHERE day = '{WED3}' GROUP BY station_id) x") == "1"
    assert row(w, appt) == ["planned", eng, "-"]
    assert sql(w, f"SELECT count(*) FROM order_events WHERE kind = 'service.planned' "
                  f"AND detail->>'appointment' = '{appt}'") == "1"


if __name__ == "__main__":
    harness.run(globals())
