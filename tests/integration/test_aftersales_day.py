"""An installation visit end to end through the REST API only (issue 12):
the station creates an engineer and its shifts, the order service books
the installation of a fridge in an offered window with the published price
list, the station plans the day into engineer routes, the engineer fetches
its route and reports arrived, started and completed with the charges
actually applied (one not on the list refused first), and the order's
tracking page shows who came, when, how long the job took and the itemised
charge. The parts are tested one by one in test_engineers,
test_service_booking and test_service_visits; this checks that they fit."""
import uuid

import harness
from test_service_booking import SERVICES_CONF, ST, new_order, price_list
from test_orders import prepare

TUESDAY_8 = "2030-01-08T08:00:00+08:00"
WEDNESDAY_10 = "2030-01-09T10:00:00+08:00"
WED = "2030-01-09"
WED_AM = "2030-01-09T09:00:00+08:00"


def daemon(w, at):
    prepare(w)
    d = w.daemon(extra_conf=SERVICES_CONF + harness.clock_conf(at)
                 + "[dispatch]\nscheduler_interval_ms = 0\n")
    harness.wait_until(lambda: d.get("/readyz").status == 200, what="ready")
    harness.wait_until(lambda: d.get("/v1/stations").status == 200, what="areas loaded")
    return d


def loaded(d, token):
    harness.wait_until(lambda: d.get("/v1/admin/tokens/whoami", token=token).status == 200,
                       what="the token loaded")
    return token


def ok(r, status=200):
    assert r.status == status, r
    return r.json()


def test_an_installation_booked_planned_done_and_shown(w):
    d = daemon(w, TUESDAY_8)
    station = loaded(d, w.token("station", ST))
    shop = loaded(d, w.token("order_service"))

    # The station's engineer, on shift on Wednesdays.
    eid = "e-" + uuid.uuid4().hex[:10]
    ok(d.request("POST", f"/v1/stations/{ST}/engineers", token=station, body={
        "id": eid, "name": "Zhang Gong", "phone": "+86 139 0000 0001",
        "skills": ["large_appliances"], "daily_capacity": 4}), 201)
    ok(d.request("PUT", f"/v1/stations/{ST}/engineers/{eid}/shifts", token=station,
                 body={"weekly": [{"days": ["wed"], "start": "08:00", "end": "20:00"}]}))

    # The shop books the installation in an offered window.
    order = new_order(d, w, token=shop)
    slots = ok(d.get(f"/v1/orders/{order['id']}/service-slots?type=installation&line=1",
                     token=shop))
    assert WED_AM in [s["window_start"] for s in slots["slots"]], slots
    visit = ok(d.request("POST", f"/v1/orders/{order['id']}/services", token=shop,
                         body={"type": "installation", "line": 1, "window_start": WED_AM},
                         headers={"Idempotency-Key": uuid.uuid4().hex}), 201)
    assert (visit["status"], visit["engineer"]["id"]) == ("booked", eid), visit
    assert visit["price_list"] == price_list(d), visit

    # The station plans Wednesday: the visit is on the engineer's route.
    plan = ok(d.request("POST", f"/v1/stations/{ST}/service-days/{WED}/plan", token=station))
    assert [[v["appointment"] for v in e["visits"]] for e in plan["engineers"]
            if e["engineer"] == eid] == [[visit["id"]]], plan

    # Wednesday 10:00: the engineer's handheld.
    d.stop()
    d = daemon(w, WEDNESDAY_10)
    me = loaded(d, w.token("engineer", eid))
    route = ok(d.get(f"/v1/engineers/me/route?date={WED}", token=me))
    [v] = route["visits"]
    assert (v["appointment"], v["status"], v["price_list"]) == \
        (visit["id"], "planned", visit["price_list"]), v
    url = f"/v1/services/{visit['id']}/events"

    def event(body):
        return d.request("POST", url, token=me, body=body,
                         headers={"Idempotency-Key": uuid.uuid4().hex})

    assert ok(event({"event": "arrived"}))["status"] == "arrived"
    assert ok(event({"event": "started"}))["late"] is False
    # A charge not on the published list is refused and changes nothing.
    r = event({"event": "completed", "charges": [{"code": "gold_plating", "qty": 1}]})
    assert r.status == 422 and r.json()["errors"][0]["field"] == "charges[0].code", r
    assert ok(d.get(f"/v1/services/{visit['id']}", token=me))["status"] == "started"
    done = ok(event({"event": "completed", "charges": [{"code": "pipe_extension", "qty": 2}]}))
    # Free installation by policy: no base fee; 2 m of pipe at 15.00.
    assert (done["status"], done["total"], done["total_fen"]) == ("completed", "30.00", 3000), \
        done

    # The order's tracking page: who came, the window, arrival, duration, charge.
    track = ok(d.get(f"/v1/orders/{order['id']}/tracking", token=shop))
    [svc] = track["services"]
    assert (svc["type"], svc["status"], svc["engineer"]["first_name"]) == \
        ("installation", "completed", "Zhang"), svc
    assert (svc["charges"]["total"], svc["charges"]["currency"]) == ("30.00", "CNY"), svc
    assert svc["arrived_at"] is not None and svc["duration_s"] is not None, svc
    kinds = [e["kind"] for e in track["events"] if e["kind"].startswith("service.")]
    assert kinds == ["service.booked", "service.planned", "service.arrived", "service.started",
                     "service.completed"], kinds
    public = ok(d.get(f"/v1/track/{track['tracking_code']}", token=None))
    assert public["services"][0]["charges"]["total"] == "30.00", public
    assert "id" not in public["services"][0]["engineer"], public


if __name__ == "__main__":
    harness.run(globals())
