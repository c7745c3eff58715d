"""Couriers and their shifts (issue 11, part B): /v1/stations/{id}/couriers
end to end. Create, read, list, change and deactivate couriers; 422 naming
each bad field; 409 for a taken id; 404 for an unknown station and for a
courier of another station through this station's path; station tokens of
another station 404 and courier tokens 403 (as admission does); shifts
(weekly pattern, dated overrides, overlaps refused) shown on the courier and
used by couriers_on_shift(); duty changes at the daemon's test clock
writing the station feed and the replans due of today's waves."""
import uuid

import harness
from test_orders import FDC, new_sku, order_body, post, prepare, sql

ST_IN, ST_OUT = "bj-st-001", "bj-st-002"   # test_orders' DONGCHENG is served by bj-st-001
TODAY, TOMORROW = "20300108", "20300109"     # the test clock: Tuesday 2030-01-08 08:00 +08


def courier_body(cid=None, **extra):
    body = {"id": cid or "c-" + uuid.uuid4().hex[:10], "name": "Wang Wei",
            "phone": "+86 138 0013 8000", "vehicle": "e_bike", "skills": ["cold"]}
    body.update(extra)
    return body


def daemon(w, at=harness.TEST_NOW):
    """A daemon over the Beijing network and catalogue at the test clock at."""
    prepare(w)
    # No automatic planning: the replans due these tests check are left for
    # the test to read (test_wave_scheduler.py covers the scheduler taking them).
    d = w.daemon(extra_conf=harness.clock_conf(at) + "[dispatch]\nscheduler_interval_ms = 0\n")
    harness.wait_until(lambda: d.get("/readyz").status == 200, what="ready")
    harness.wait_until(lambda: d.get("/v1/stations").status == 200, what="areas loaded")
    return d


def create(d, station=ST_IN, **kw):
    body = courier_body(**kw)
    r = d.request("POST", f"/v1/stations/{station}/couriers", body=body)
    assert r.status == 201, r
    return r.json()


def fields(r):
    assert r.status == 422, r
    p = r.json()
    assert p["type"] == "urn:dispatchd:problem:validation-failed", p
    return {e["field"]: e["message"] for e in p["errors"]}


def test_create_read_list_change_and_deactivate(w):
    d = daemon(w)
    c = create(d, cid="c-crud", skills=["cold", "bulky"])
    assert {k: c[k] for k in ("id", "station", "name", "phone", "vehicle", "skills", "active")} \
        == {"id": "c-crud", "station": ST_IN, "name": "Wang Wei", "phone": "+86 138 0013 8000",
            "vehicle": "e_bike", "skills": ["cold", "bulky"], "active": True}, c
    assert c["shifts"] == {"timezone": None, "weekly": [], "overrides": []}, c
    assert c["off_duty"] is None, c
    assert d.get(f"/v1/stations/{ST_IN}/couriers/c-crud").json() == c
    # PATCH changes only what it names.
    r = d.request("PATCH", f"/v1/stations/{ST_IN}/couriers/c-crud",
                  body={"name": "Wang Wu", "vehicle": "van", "skills": []})
    assert r.status == 200, r
    assert (r.json()["name"], r.json()["vehicle"], r.json()["skills"], r.json()["phone"]) == \
        ("Wang Wu", "van", [], "+86 138 0013 8000"), r
    create(d, cid="c-crud-2")
    ids = lambda q="": [x["id"] for x in d.get(f"/v1/stations/{ST_IN}/couriers{q}")
                        .json()["couriers"]]
    assert {"c-crud", "c-crud-2"} <= set(ids()), ids()
    # DELETE deactivates: the record stays, the default list leaves it out.
    r = d.request("DELETE", f"/v1/stations/{ST_IN}/couriers/c-crud")
    assert r.status == 200 and r.json()["active"] is False, r
    assert sql(w, "SELECT active FROM couriers WHERE id = 'c-crud'") == "f"
    assert "c-crud" not in ids() and "c-crud" not in ids("?active=true")
    assert "c-crud" in ids("?active=false") and "c-crud-2" not in ids("?active=false")
    assert {"c-crud", "c-crud-2"} <= set(ids("?active=all"))
    assert d.get(f"/v1/stations/{ST_IN}/couriers/c-crud").json()["active"] is False
    assert fields(d.get(f"/v1/stations/{ST_IN}/couriers?active=maybe")) == \
        {"active": "must be true, false or all"}
    # PATCH active=true brings it back.
    r = d.request("PATCH", f"/v1/stations/{ST_IN}/couriers/c-crud", body={"active": True})
    assert r.status == 200 and r.json()["active"] is True, r
    assert "c-crud" in ids()


def test_invalid_bodies_are_422_naming_each_field_and_change_nothing(w):
    d = daemon(w)
    before = sql(w, "SELECT count(*) FROM couriers")
    url = f"/v1/stations/{ST_IN}/couriers"
    got = fields(d.request("POST", url, body={"id": "bad id!", "phone": "call me",
                                              "vehicle": "Rocket", "skills": ["a", "a"],
                                              "colour": "red"}))
    assert set(got) == {"id", "name", "phone", "vehicle", "skills[1]", "colour"}, got
    got = fields(d.request("POST", url, body=courier_body(name="   ", skills="cold")))
    assert set(got) == {"name", "skills"}, got
    # A vehicle of the right form with no profile: PostgreSQL says so.
    assert fields(d.request("POST", url, body=courier_body(vehicle="rocket"))) == \
        {"vehicle": "no such vehicle profile"}
    assert d.request("POST", url, body="{not json", headers={}).status == 400
    assert sql(w, "SELECT count(*) FROM couriers") == before
    create(d, cid="c-valid")
    got = fields(d.request("PATCH", f"{url}/c-valid", body={"id": "c-other", "active": "no",
                                                            "phone": ""}))
    assert set(got) == {"id", "active", "phone"}, got
    assert fields(d.request("PATCH", f"{url}/c-valid", body={"vehicle": "rocket"})) == \
        {"vehicle": "no such vehicle profile"}
    assert d.get(f"{url}/c-valid").json()["vehicle"] == "e_bike"


def test_ids_are_unique_and_stations_keep_to_their_own(w):
    d = daemon(w)
    create(d, cid="c-taken")
    for station in (ST_IN, ST_OUT):
        r = d.request("POST", f"/v1/stations/{station}/couriers", body=courier_body("c-taken"))
        assert r.status == 409 and r.json()["type"] == "urn:dispatchd:problem:already-exists", r
    assert sql(w, "SELECT station_id FROM couriers WHERE id = 'c-taken'") == ST_IN
    # Another station's courier does not exist through this station's path.
    create(d, station=ST_OUT, cid="c-elsewhere")
    base = f"/v1/stations/{ST_IN}/couriers/c-elsewhere"
    for method, path, body in (("GET", base, None), ("PATCH", base, {"name": "X"}),
                               ("DELETE", base, None),
                               ("PUT", base + "/shifts", {"weekly": []}),
                               ("POST", base + "/duty", {"on_shift": False})):
        r = d.request(method, path, body=body)
        assert r.status == 404 and r.json()["detail"] == "no such courier", (method, path, r)
    assert "c-elsewhere" not in [c["id"] for c in d.get(f"/v1/stations/{ST_IN}/couriers?active=all")
                                 .json()["couriers"]]
    c = d.get(f"/v1/stations/{ST_OUT}/couriers/c-elsewhere").json()
    assert (c["name"], c["active"], c["shifts"]["weekly"]) == ("Wang Wei", True, []), c
    # A station that does not exist.
    r = d.get("/v1/stations/no-such-station/couriers")
    assert r.status == 404 and r.json()["detail"] == "no such station", r
    r = d.request("POST", "/v1/stations/no-such-station/couriers", body=courier_body())
    assert r.status == 404, r
    assert d.get(f"/v1/stations/{ST_IN}/couriers/nobody").status == 404


def test_station_tokens_see_their_own_stations_only_and_couriers_none(w):
    d = daemon(w)
    create(d, cid="c-scope")
    tok = {"in": w.token("station", ST_IN, label="couriers st1"),
           "out": w.token("station", ST_OUT, label="couriers st2"),
           "courier": w.token("courier", "c-scope", label="couriers courier"),
           "shop": w.token("order_service", label="couriers shop")}
    harness.wait_until(lambda: all(d.get("/v1/admin/tokens/whoami", token=t).status == 200
                                   for t in tok.values()), timeout=6, what="tokens known")
    url = f"/v1/stations/{ST_IN}/couriers"
    assert d.get(url, token=tok["in"]).status == 200
    r = d.request("POST", url, body=courier_body("c-by-station"), token=tok["in"])
    assert r.status == 201 and r.json()["station"] == ST_IN, r
    r = d.request("POST", f"{url}/c-scope/duty", body={"on_shift": False}, token=tok["in"])
    assert r.status == 200, r
    for t, status in (("out", 404), ("courier", 403), ("shop", 403)):
        for method, path, body in (("GET", url, None), ("POST", url, courier_body()),
                                   ("GET", f"{url}/c-scope", None),
                                   ("PATCH", f"{url}/c-scope", {"name": "X"}),
                                   ("DELETE", f"{url}/c-scope", None),
                                   ("PUT", f"{url}/c-scope/shifts", {"weekly": []}),
                                   ("POST", f"{url}/c-scope/duty", {"on_shift": True})):
            r = d.request(method, path, body=body, token=tok[t])
            assert r.status == status, (t, method, path, r)
    c = d.get(f"{url}/c-scope").json()
    assert (c["name"], c["active"], c["off_duty"] is not None) == ("Wang Wei", True, True), c


def test_shifts_are_stored_shown_and_used(w):
    d = daemon(w)
    create(d, cid="c-shift", vehicle="tricycle")
    url = f"/v1/stations/{ST_IN}/couriers/c-shift/shifts"
    body = {"weekly": [{"days": ["mon", "tue", "wed", "thu", "fri"], "start": "08:00",
                        "end": "12:00"},
                       {"days": ["tue", "mon"], "start": "13:00", "end": "20:00"}],
            "overrides": [{"date": "2030-01-08", "start": "10:00", "end": "14:00"},
                          {"date": "2030-01-08", "start": "15:00", "end": "24:00"},
                          {"date": "2030-01-09", "off": True}]}
    r = d.request("PUT", url, body=body)
    assert r.status == 200, r
    s = r.json()["shifts"]
    assert s == {"timezone": "Asia/Shanghai",
                 "weekly": [{"days": ["mon", "tue", "wed", "thu", "fri"], "start": "08:00",
                             "end": "12:00"},
                            {"days": ["mon", "tue"], "start": "13:00", "end": "20:00"}],
                 "overrides": body["overrides"]}, s
    assert d.get(f"/v1/stations/{ST_IN}/couriers/c-shift").json()["shifts"] == s
    on = lambda a, b: sql(w, f"SELECT string_agg(to_char(shift_start AT TIME ZONE "
                             f"'Asia/Shanghai', 'DD HH24:MI') || '-' || to_char(shift_end AT "
                             f"TIME ZONE 'Asia/Shanghai', 'DD HH24:MI') || ' ' || vehicle || ' ' "
                             f"|| capacity_kg, ', ' ORDER BY shift_start) FROM couriers_on_shift("
                             f"'{ST_IN}', '{a}', '{b}') WHERE courier_id = 'c-shift'")
    # Tuesday: the overrides replace the weekly pattern; Wednesday is off;
    # Thursday is the pattern's morning.
    assert on("2030-01-08T00:00:00+08", "2030-01-11T00:00:00+08") == \
        "08 10:00-08 14:00 tricycle 300, 08 15:00-09 00:00 tricycle 300, " \
        "10 08:00-10 12:00 tricycle 300", on("2030-01-08T00:00:00+08", "2030-01-11T00:00:00+08")
    assert on("2030-01-07T09:00:00+08", "2030-01-07T14:00:00+08") == \
        "07 09:00-07 12:00 tricycle 300, 07 13:00-07 14:00 tricycle 300"
    # A PUT replaces everything; an empty one clears.
    r = d.request("PUT", url, body={"weekly": [{"days": ["sat"], "start": "09:00",
                                               "end": "17:00"}]})
    assert r.status == 200 and r.json()["shifts"]["overrides"] == [], r
    assert on("2030-01-07T00:00:00+08", "2030-01-12T00:00:00+08") is None or \
        on("2030-01-07T00:00:00+08", "2030-01-12T00:00:00+08") == ""
    r = d.request("PUT", url, body={})
    assert r.status == 200 and r.json()["shifts"]["weekly"] == [], r


def test_invalid_shifts_are_422_naming_the_entry(w):
    d = daemon(w)
    create(d, cid="c-badshift")
    url = f"/v1/stations/{ST_IN}/couriers/c-badshift/shifts"
    good = {"weekly": [{"days": ["mon"], "start": "08:00", "end": "20:00"}]}
    assert d.request("PUT", url, body=good).status == 200
    cases = [
        ({"weekly": [{"days": ["mon", "tue"], "start": "08:00", "end": "12:00"},
                     {"days": ["wed", "tue"], "start": "11:00", "end": "15:00"}]},
         {"weekly[1]": "overlaps weekly[0] on tue"}),
        ({"weekly": [{"days": ["monday"], "start": "8:00", "end": "25:00"}]},
         {"weekly[0].days": "must name days as mon, tue, wed, thu, fri, sat, sun",
          "weekly[0].start": "must be a local time HH:MM (00:00-23:59)",
          "weekly[0].end": "must be a local time HH:MM (00:01-24:00)"}),
        ({"weekly": [{"days": ["mon", "mon"], "start": "20:00", "end": "08:00"}]},
         {"weekly[0].days": "names a day twice",
          "weekly[0].end": "must be after start (a shift ends by 24:00; split a night shift "
                           "at midnight)"}),
        ({"weekly": [{"days": [], "start": "08:00", "end": "09:00", "note": 1}]},
         {"weekly[0].days": "must be an array of mon, tue, wed, thu, fri, sat, sun",
          "weekly[0].note": "is not a known member"}),
        ({"overrides": [{"date": "2030-02-30", "start": "08:00", "end": "09:00"},
                        {"date": "2030-03-01", "off": True, "start": "08:00"},
                        {"date": "2030-03-02", "off": False}]},
         {"overrides[0].date": "must be a date YYYY-MM-DD",
          "overrides[1].off": "a day off has no start or end",
          "overrides[2].off": "must be true (or leave it out and give start and end)"}),
        ({"overrides": [{"date": "2030-03-01", "start": "08:00", "end": "12:00"},
                        {"date": "2030-03-01", "off": True}]},
         {"overrides[1]": "overrides[1] makes that date a day off"}),
        ({"overrides": [{"date": "2030-03-01", "start": "08:00", "end": "12:00"},
                        {"date": "2030-03-01", "start": "11:59", "end": "13:00"}]},
         {"overrides[1]": "overlaps overrides[0] on the same date"}),
        ({"weekly": {"mon": "08:00-20:00"}, "extra": []},
         {"weekly": "must be an array of at most 64 {days, start, end}",
          "extra": "is not a known member"}),
    ]
    for body, want in cases:
        assert fields(d.request("PUT", url, body=body)) == want, body
    # Touching shifts are fine; nothing above changed the stored ones.
    assert d.get(f"/v1/stations/{ST_IN}/couriers/c-badshift").json()["shifts"]["weekly"] == \
        good["weekly"]
    r = d.request("PUT", url, body={"weekly": [{"days": ["mon"], "start": "08:00",
                                               "end": "12:00"},
                                              {"days": ["mon"], "start": "12:00",
                                               "end": "24:00"}]})
    assert r.status == 200, r
    assert d.request("PUT", f"/v1/stations/{ST_IN}/couriers/nobody/shifts",
                     body=good).status == 404


def stop(w, order, wave, courier, status="planned"):
    sid = "stp_" + uuid.uuid4().hex[:16]
    sql(w, f"INSERT INTO stops (id, station_id, wave_key, order_id, status, courier_id, "
           f"position) VALUES ('{sid}', '{ST_IN}', '{wave}', '{order}', '{status}', "
           f"'{courier}', 0)")
    return sid


def test_duty_writes_the_feed_and_the_replans_due(w):
    d = daemon(w)
    create(d, cid="c-duty")
    r = d.request("PUT", f"/v1/stations/{ST_IN}/couriers/c-duty/shifts",
                  body={"weekly": [{"days": ["tue", "wed"], "start": "07:00", "end": "20:00"}]})
    assert r.status == 200, r
    sku = new_sku(w, {FDC: 10})
    orders = []
    for _ in range(4):
        r = post(d, order_body([(sku, 1)]))
        assert r.status == 201, r
        orders.append(r.json()["id"])
    stop(w, orders[0], f"{TODAY}-W0900", "c-duty")
    stop(w, orders[1], f"{TODAY}-W0900", "c-duty")
    stop(w, orders[2], f"{TODAY}-W1400", "c-duty", status="delivered")
    stop(w, orders[3], f"{TOMORROW}-W0900", "c-duty")
    feed_before = int(sql(w, f"SELECT count(*) FROM station_feed WHERE station_id = '{ST_IN}'"))
    url = f"/v1/stations/{ST_IN}/couriers/c-duty/duty"
    assert fields(d.request("POST", url, body={"reason": 7})) == {
        "on_shift": "is required: true or false",
        "reason": "must be a string of at most 200 bytes"}
    r = d.request("POST", url, body={"on_shift": False, "reason": "flat tyre"})
    assert r.status == 200, r
    # The test clock says 08:00 in Beijing: off until local midnight.
    assert r.json() == {"courier": "c-duty", "on_shift": False, "changed": True,
                        "at": "2030-01-08T00:00:00Z", "until": "2030-01-08T16:00:00Z",
                        "reason": "flat tyre", "replans_due": [f"{TODAY}-W0900"]}, r
    assert sql(w, f"SELECT string_agg(wave_key || ' ' || reason, ',') FROM wave_replans_due "
                  f"WHERE station_id = '{ST_IN}'") == f"{TODAY}-W0900 courier.off_shift"
    feed = lambda: sql(w, f"SELECT string_agg(kind || ' ' || (data->>'courier') || ' ' || "
                          f"(data->>'at') || ' ' || (data->>'reason'), '; ' ORDER BY seq) "
                          f"FROM station_feed WHERE station_id = '{ST_IN}' AND seq > {feed_before}")
    assert feed() == "courier.off_shift c-duty 2030-01-08T00:00:00Z flat tyre", feed()
    c = d.get(f"/v1/stations/{ST_IN}/couriers/c-duty").json()
    assert c["off_duty"] == {"since": "2030-01-08T00:00:00Z", "until": "2030-01-08T16:00:00Z",
                             "reason": "flat tyre"}, c
    on_now = lambda: sql(w, f"SELECT count(*) FROM couriers_on_shift('{ST_IN}', "
                            f"'2030-01-08T08:00:00+08', '2030-01-08T12:00:00+08') "
                            f"WHERE courier_id = 'c-duty'")
    assert on_now() == "0"
    # Off again: nothing changes, no second line.
    r = d.request("POST", url, body={"on_shift": False})
    assert r.status == 200 and r.json()["changed"] is False, r
    assert feed().count("courier.") == 1
    # Back on (the clock has not moved: the off mark ends now, so on from now).
    r = d.request("POST", url, body={"on_shift": True, "reason": "tyre fixed"})
    assert r.status == 200, r
    assert (r.json()["on_shift"], r.json()["changed"]) == (True, True), r
    assert feed() == "courier.off_shift c-duty 2030-01-08T00:00:00Z flat tyre; " \
                     "courier.on_shift c-duty 2030-01-08T00:00:00Z tyre fixed", feed()
    assert d.get(f"/v1/stations/{ST_IN}/couriers/c-duty").json()["off_duty"] is None
    assert on_now() == "1"
    r = d.request("POST", url, body={"on_shift": True})
    assert r.status == 200 and r.json()["changed"] is False, r
    assert feed().count("courier.") == 2
    # Who marked it, for the record.
    assert sql(w, "SELECT off_by <> '' AND on_by <> '' FROM courier_duty_offs "
                  "WHERE courier_id = 'c-duty'") == "t"


def test_deactivating_takes_the_courier_off_duty(w):
    """DELETE is also "off duty from now": the feed says so (reason
    deactivated) and today's waves with its planned stops are due for a
    replan; deactivating it again writes nothing more."""
    d = daemon(w)
    create(d, cid="c-leaving")
    sku = new_sku(w, {FDC: 10})
    r = post(d, order_body([(sku, 1)]))
    assert r.status == 201, r
    stop(w, r.json()["id"], f"{TODAY}-W1400", "c-leaving")
    sql(w, f"DELETE FROM wave_replans_due WHERE station_id = '{ST_IN}'")
    seq = sql(w, f"SELECT coalesce(max(seq), 0) FROM station_feed WHERE station_id = '{ST_IN}'")
    lines = lambda: sql(w, f"SELECT string_agg(kind || ' ' || (data->>'courier') || ' ' || "
                           f"(data->>'reason'), '; ' ORDER BY seq) FROM station_feed "
                           f"WHERE station_id = '{ST_IN}' AND seq > {seq}")
    r = d.request("DELETE", f"/v1/stations/{ST_IN}/couriers/c-leaving")
    assert r.status == 200 and r.json()["active"] is False, r
    assert r.json()["off_duty"]["reason"] == "deactivated", r
    assert lines() == "courier.off_shift c-leaving deactivated", lines()
    assert sql(w, f"SELECT string_agg(wave_key, ',') FROM wave_replans_due "
                  f"WHERE station_id = '{ST_IN}'") == f"{TODAY}-W1400"
    assert d.request("DELETE", f"/v1/stations/{ST_IN}/couriers/c-leaving").status == 200
    r = d.request("PATCH", f"/v1/stations/{ST_IN}/couriers/c-leaving", body={"name": "Xu"})
    assert r.status == 200, r
    assert lines() == "courier.off_shift c-leaving deactivated", lines()


def test_duty_follows_the_test_clock(w):
    """The daemon's clock (here 18:30 local), not PostgreSQL's now(), says
    when the courier went off and which day's waves are replanned."""
    d = daemon(w, at="2030-01-09T18:30:00+08:00")
    create(d, cid="c-late")
    sku = new_sku(w, {FDC: 10})
    r = post(d, order_body([(sku, 1)]))
    assert r.status == 201, r
    stop(w, r.json()["id"], f"{TOMORROW}-W1400", "c-late")
    r = d.request("POST", f"/v1/stations/{ST_IN}/couriers/c-late/duty",
                  body={"on_shift": False, "reason": "sick"})
    assert r.status == 200, r
    assert (r.json()["at"], r.json()["until"], r.json()["replans_due"]) == \
        ("2030-01-09T10:30:00Z", "2030-01-09T16:00:00Z", [f"{TOMORROW}-W1400"]), r


if __name__ == "__main__":
    harness.run(globals())
