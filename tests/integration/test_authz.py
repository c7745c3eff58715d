"""Who may do what: every route of the daemon's route table against every
role (and no token): 2xx where the role may call it, 401 without a valid
token, 403 for a role that may never call it, and 404 for a resource outside
a scoped token's scope, exactly as if it did not exist. A route added to
daemon/api/ without a row here fails test_every_route_has_a_row."""
import os
import re

import harness
import route_table as route_table_c
from test_promise import setup_network, TIANANMEN

WH_IN, WH_OUT = "bj-fdc-01", "bj-rdc-01"   # the warehouse token holds WH_IN only
ST_IN, ST_OUT = "bj-st-001", "bj-st-002"   # the station token holds ST_IN only
WAVE = "20300108-W0900"                      # a wave on the test clock's day

# Callers: name -> (role, scope ids). "none" sends no token.
CALLERS = {
    "none": None,
    "admin": ("admin",),
    "order_service": ("order_service",),
    "warehouse": ("warehouse", WH_IN),
    "station": ("station", ST_IN),
    "courier": ("courier", "c-042"),
    "engineer": ("engineer", "e-007"),
    "pickup_point": ("pickup_point", "authz-pp"),
}
PP_IN, PP_OUT = "authz-pp", "authz-pp-2"   # pickup points of ST_IN; the token holds PP_IN

PUBLIC, ANY = "public", "any"
# (method, pattern): (who may call it, the request to send, 2xx expected of
# an allowed caller, the scoped path parameter's in-scope and out-of-scope
# values as (in, out) for scoped roles).
ORDER = {"external_id": "authz-{n}", "customer": {"lat": 39.9087, "lon": 116.3975},
         "lines": [{"sku": "SKU-00001", "qty": 1}], "delivery_option": "standard"}
ROUTES = {
    ("GET", "/healthz"): (PUBLIC, "/healthz", None),
    ("HEAD", "/healthz"): (PUBLIC, "/healthz", None),
    ("GET", "/readyz"): (PUBLIC, "/readyz", None),
    ("HEAD", "/readyz"): (PUBLIC, "/readyz", None),
    ("GET", "/metrics"): ({"admin"}, "/metrics", None),
    ("GET", "/v1/admin/migrations"): ({"admin"}, "/v1/admin/migrations", None),
    ("PUT", "/v1/admin/log-level"): ({"admin"}, "/v1/admin/log-level", {"level": "info"}),
    ("PUT", "/v1/admin/clock"): ({"admin"}, "/v1/admin/clock", {"at": harness.TEST_NOW}),
    ("GET", "/v1/admin/tokens/whoami"): (ANY, "/v1/admin/tokens/whoami", None),
    ("POST", "/v1/admin/tokens"): ({"admin"}, "/v1/admin/tokens",
                                   {"role": "courier", "courier": "c-1", "label": "authz"}),
    ("GET", "/v1/admin/tokens"): ({"admin"}, "/v1/admin/tokens", None),
    ("DELETE", "/v1/admin/tokens/{id}"): ({"admin"}, "/v1/admin/tokens/{token_id}", None),
    ("GET", "/v1/locate"): ({"admin", "order_service"}, f"/v1/locate?{TIANANMEN}", None),
    ("GET", "/v1/stations"): ({"admin", "order_service"}, "/v1/stations", None),
    ("GET", "/v1/stations/{id}"): ({"admin", "order_service", "station"},
                                   "/v1/stations/{st}", None),
    ("GET", "/v1/promise"): ({"admin", "order_service"},
                             f"/v1/promise?{TIANANMEN}&sku=SKU-00001:1", None),
    ("POST", "/v1/orders"): ({"admin", "order_service"}, "/v1/orders", ORDER),
    ("GET", "/v1/orders/{id}"): ({"admin", "order_service"}, "/v1/orders/{order_id}", None),
    ("POST", "/v1/orders/{id}/cancel"): ({"admin", "order_service"},
                                         "/v1/orders/{order_id}/cancel", None),
    ("POST", "/v1/orders/{id}/exchanges"): ({"admin", "order_service"},
                                            "/v1/orders/{order_id}/exchanges", "exchange"),
    ("GET", "/v1/orders/{id}/tracking"): ({"admin", "order_service"},
                                          "/v1/orders/{order_id}/tracking", None),
    ("GET", "/v1/track/{code}"): (PUBLIC, "/v1/track/{tracking_code}", None),
    ("PUT", "/v1/warehouses/{id}/stock/{sku}"): ({"admin", "warehouse"},
                                                 "/v1/warehouses/{wh}/stock/SKU-00007",
                                                 {"on_hand": 500}),
    ("GET", "/v1/admin/stock-ledger"): ({"admin"}, "/v1/admin/stock-ledger?limit=5", None),
    ("GET", "/v1/warehouses/{id}/stock"): ({"admin", "warehouse"},
                                           "/v1/warehouses/{wh}/stock?limit=2", None),
    ("POST", "/v1/stations/{id}/waves/{key}/plan"): ({"admin", "station"},
                                                     f"/v1/stations/{{st}}/waves/{WAVE}/plan",
                                                     None),
    ("POST", "/v1/stations/{id}/waves/{key}/replan"): ({"admin", "station"},
                                                       f"/v1/stations/{{st}}/waves/{WAVE}/replan",
                                                       {"reason": "authz"}),
    ("GET", "/v1/stations/{id}/waves/{key}/routes"): ({"admin", "station"},
                                                      f"/v1/stations/{{st}}/waves/{WAVE}/routes",
                                                      None),
    # Scans: the order and body depend on the caller (see scan_request); the
    # fresh order's shipment is from WH_IN to ST_IN, so the _out twins get 404.
    ("POST", "/v1/shipments/{order}/{seq}/events"): ({"admin", "warehouse", "station"},
                                                     "/v1/shipments/{order_id}/1/events",
                                                     "scan"),
    ("POST", "/v1/shipments/events"): ({"admin", "warehouse", "station"},
                                       "/v1/shipments/events", "scan"),
    # Couriers of ST_IN: COURIER is created in prepare(); a create gets a fresh id.
    ("GET", "/v1/stations/{id}/couriers"): ({"admin", "station"}, "/v1/stations/{st}/couriers",
                                            None),
    ("POST", "/v1/stations/{id}/couriers"): ({"admin", "station"}, "/v1/stations/{st}/couriers",
                                             {"id": "authz-c-{n}", "name": "Li Lei",
                                              "phone": "13800000000", "vehicle": "e_bike"}),
    ("GET", "/v1/stations/{id}/couriers/{courier}"): ({"admin", "station"},
                                                      "/v1/stations/{st}/couriers/authz-c",
                                                      None),
    ("PATCH", "/v1/stations/{id}/couriers/{courier}"): ({"admin", "station"},
                                                        "/v1/stations/{st}/couriers/authz-c",
                                                        {"name": "Li Lei"}),
    ("DELETE", "/v1/stations/{id}/couriers/{courier}"): ({"admin", "station"},
                                                         "/v1/stations/{st}/couriers/authz-c",
                                                         None),
    ("PUT", "/v1/stations/{id}/couriers/{courier}/shifts"): (
        {"admin", "station"}, "/v1/stations/{st}/couriers/authz-c/shifts",
        {"weekly": [{"days": ["tue"], "start": "08:00", "end": "20:00"}]}),
    ("POST", "/v1/stations/{id}/couriers/{courier}/duty"): (
        {"admin", "station"}, "/v1/stations/{st}/couriers/authz-c/duty", {"on_shift": False}),
    # Engineers of ST_IN (issue 12): ENGINEER is created in prepare(); a
    # create gets a fresh id. Day plans of a day without appointments.
    ("GET", "/v1/stations/{id}/engineers"): ({"admin", "station"},
                                             "/v1/stations/{st}/engineers", None),
    ("POST", "/v1/stations/{id}/engineers"): ({"admin", "station"},
                                              "/v1/stations/{st}/engineers",
                                              {"id": "authz-e-{n}", "name": "Li Gong",
                                               "phone": "13800000002", "daily_capacity": 3}),
    ("GET", "/v1/stations/{id}/engineers/{engineer}"): ({"admin", "station"},
                                                        "/v1/stations/{st}/engineers/authz-e",
                                                        None),
    ("PATCH", "/v1/stations/{id}/engineers/{engineer}"): ({"admin", "station"},
                                                          "/v1/stations/{st}/engineers/authz-e",
                                                          {"daily_capacity": 5}),
    ("DELETE", "/v1/stations/{id}/engineers/{engineer}"): (
        {"admin", "station"}, "/v1/stations/{st}/engineers/authz-e", None),
    ("PUT", "/v1/stations/{id}/engineers/{engineer}/shifts"): (
        {"admin", "station"}, "/v1/stations/{st}/engineers/authz-e/shifts",
        {"weekly": [{"days": ["wed"], "start": "09:00", "end": "18:00"}]}),
    ("POST", "/v1/stations/{id}/engineers/{engineer}/duty"): (
        {"admin", "station"}, "/v1/stations/{st}/engineers/authz-e/duty", {"on_shift": False}),
    ("POST", "/v1/stations/{id}/service-days/{date}/plan"): (
        {"admin", "station"}, "/v1/stations/{st}/service-days/2030-01-09/plan", None),
    ("GET", "/v1/stations/{id}/service-days/{date}/routes"): (
        {"admin", "station"}, "/v1/stations/{st}/service-days/2030-01-09/routes", None),
    ("GET", "/v1/engineers/me/route"): ({"engineer"}, "/v1/engineers/me/route?date=2030-01-09",
                                        None),
    ("GET", "/v1/stations/{id}/feed"): ({"admin", "station"}, "/v1/stations/{st}/feed?wait=0",
                                       None),
    # Webhooks: {webhook_id} is owned by the order_service caller (an admin
    # sees all); {delivery_id} is a dead delivery (only a dead one is retried).
    ("GET", "/v1/webhooks"): ({"admin", "order_service"}, "/v1/webhooks", None),
    ("POST", "/v1/webhooks"): ({"admin", "order_service"}, "/v1/webhooks",
                               {"url": "http://127.0.0.1:9/hooks",
                                "events": ["shipment.delivered"]}),
    ("GET", "/v1/webhooks/{id}"): ({"admin", "order_service"}, "/v1/webhooks/{webhook_id}", None),
    ("DELETE", "/v1/webhooks/{id}"): ({"admin", "order_service"}, "/v1/webhooks/{webhook_id}",
                                      None),
    ("GET", "/v1/admin/webhook-deliveries"): ({"admin"}, "/v1/admin/webhook-deliveries?status=dead",
                                              None),
    ("POST", "/v1/admin/webhook-deliveries/{id}/retry"): (
        {"admin"}, "/v1/admin/webhook-deliveries/{delivery_id}/retry", None),
    # The handheld: the courier is the token's scope (no path parameter);
    # a stop event needs a stop on c-042's route (see stop_request).
    ("GET", "/v1/couriers/me/route"): ({"courier"}, "/v1/couriers/me/route", None),
    ("POST", "/v1/couriers/me/route/start"): ({"courier"}, "/v1/couriers/me/route/start", None),
    ("POST", "/v1/couriers/me/locations"): ({"courier"}, "/v1/couriers/me/locations",
                                            {"pings": [{"at": "2030-01-08T00:00:00.250Z",
                                                        "lon": 116.4, "lat": 39.9,
                                                        "accuracy_m": 5}]}),
    ("POST", "/v1/stops/{id}/events"): ({"courier"}, "/v1/stops/{stop_id}/events", "stop"),
    # Service visits (issue 12 P3): an appointment of ST_IN assigned to the
    # engineer e-007 (see visit_request); station_out reads it as 404.
    ("POST", "/v1/services/{id}/events"): ({"engineer"}, "/v1/services/{appointment}/events",
                                           "visit"),
    ("GET", "/v1/services/{id}"): ({"admin", "order_service", "station", "engineer"},
                                   "/v1/services/{appointment}", "visit"),
    # Returns (issue 12 part P4): the fresh order is delivered, its return
    # is ST_IN's and WH_IN's, in the state the caller's scan needs (see
    # return_request).
    ("POST", "/v1/orders/{id}/returns"): ({"admin", "order_service"},
                                          "/v1/orders/{order_id}/returns", "return"),
    ("GET", "/v1/orders/{id}/returns"): ({"admin", "order_service"},
                                         "/v1/orders/{order_id}/returns", None),
    ("GET", "/v1/returns/{id}"): ({"admin", "order_service", "station", "warehouse"},
                                  "/v1/returns/{return_id}", "return"),
    ("POST", "/v1/returns/{id}/scans"): ({"admin", "station", "warehouse"},
                                         "/v1/returns/{return_id}/scans", "return"),
    ("POST", "/v1/returns/{id}/inspection"): ({"admin", "warehouse"},
                                              "/v1/returns/{return_id}/inspection", "return"),
    # issue 12 part P0: the published price lists
    ("GET", "/v1/service-types"): (PUBLIC, "/v1/service-types?category=large_appliances", None),
    # issue 12 part P2: service bookings of a fresh order's line 1 (SKU-00001,
    # phones: [service.phones.repair] of SERVICES_CONF, an engineer of its
    # station, see fresh_ids); {appointment_id} is a booking of that order.
    ("GET", "/v1/orders/{id}/service-slots"): ({"admin", "order_service"},
                                               "/v1/orders/{order_id}/service-slots?type=repair"
                                               "&line=1", None),
    ("POST", "/v1/orders/{id}/services"): ({"admin", "order_service"},
                                           "/v1/orders/{order_id}/services", "booking"),
    ("GET", "/v1/orders/{id}/services"): ({"admin", "order_service"},
                                          "/v1/orders/{order_id}/services", None),
    ("GET", "/v1/orders/{id}/services/{appointment}"): (
        {"admin", "order_service"}, "/v1/orders/{order_id}/services/{appointment_id}", None),
    ("PATCH", "/v1/orders/{id}/services/{appointment}"): (
        {"admin", "order_service"}, "/v1/orders/{order_id}/services/{appointment_id}",
        {"window_start": "2030-01-10T09:00:00+08:00"}),
    ("DELETE", "/v1/orders/{id}/services/{appointment}"): (
        {"admin", "order_service"}, "/v1/orders/{order_id}/services/{appointment_id}", None),
    # issue 13 part C1: cash on delivery; ST_IN's courier authz-c (see
    # cod_request: a settlement of 1.00 against nothing expected is open).
    ("POST", "/v1/stations/{id}/couriers/{cid}/settlements"): (
        {"admin", "station"}, "/v1/stations/{st}/couriers/authz-c/settlements", "settlement"),
    ("GET", "/v1/stations/{id}/couriers/{cid}/settlements"): (
        {"admin", "station"}, "/v1/stations/{st}/couriers/authz-c/settlements?day=2030-01-08",
        None),
    ("POST", "/v1/stations/{id}/couriers/{cid}/settlements/{sid}/resolution"): (
        {"admin"}, "/v1/stations/{st}/couriers/authz-c/settlements/{sid}/resolution",
        "settlement"),
    ("GET", "/v1/admin/cod-discrepancies"): ({"admin"}, "/v1/admin/cod-discrepancies?status=open",
                                             None),
    # issue 13 part M: COD corrections (a +0.01 correction of authz-c's day
    # leaves it off balance: it closes nothing, and the settlements above stay
    # as cod_request expects).
    ("POST", "/v1/stations/{id}/couriers/{cid}/cod-corrections"): (
        {"admin"}, "/v1/stations/{st}/couriers/authz-c/cod-corrections", "settlement"),
    ("GET", "/v1/stations/{id}/couriers/{cid}/cod-ledger"): (
        {"admin", "station"}, "/v1/stations/{st}/couriers/authz-c/cod-ledger?day=2030-01-08",
        None),
    # issue 13 part C2: pickup points (PP_IN of ST_IN, see pickup_request)
    ("POST", "/v1/pickup-points"): ({"admin", "station"}, "/v1/pickup-points", "pickup"),
    ("GET", "/v1/pickup-points"): ({"admin", "station", "pickup_point"}, "/v1/pickup-points",
                                   None),
    ("GET", "/v1/pickup-points/{id}"): ({"admin", "station", "pickup_point"},
                                        "/v1/pickup-points/{pp}", "pickup"),
    ("PATCH", "/v1/pickup-points/{id}"): ({"admin", "station"}, "/v1/pickup-points/{pp}",
                                          "pickup"),
    ("DELETE", "/v1/pickup-points/{id}"): ({"admin", "station"}, "/v1/pickup-points/{pp}",
                                           "pickup"),
    ("POST", "/v1/pickup-points/{id}/arrivals"): ({"admin", "station", "pickup_point"},
                                                  "/v1/pickup-points/{pp}/arrivals", "pickup"),
    ("POST", "/v1/pickup-points/{id}/collections"): (
        {"admin", "station", "pickup_point"}, "/v1/pickup-points/{pp}/collections", "pickup"),
}
# Service types and windows for the bookings' rows (issue 12 part P2).
SERVICES_CONF = ("[services]\nwindows = 09:00-13:00/50, 14:00-18:00/50\nhorizon_days = 7\n"
                 "change_cutoff_hours = 24\n"
                 "[service.phones.repair]\nduration_minutes = 30\nbase_fee = 50.00\n")
SERVICE_WINDOW = "2030-01-09T09:00:00+08:00"
# Routes whose scope is the shipment's warehouse or its order's station, not
# a path segment: out-of-scope callers get 404 from the query.
SCOPED_BY_SHIPMENT = {("POST", "/v1/shipments/{order}/{seq}/events"),
                      ("GET", "/v1/services/{id}"),
                      ("GET", "/v1/returns/{id}"), ("POST", "/v1/returns/{id}/scans"),
                      ("POST", "/v1/returns/{id}/inspection"),
                      ("POST", "/v1/pickup-points"), ("GET", "/v1/pickup-points/{id}"),
                      ("PATCH", "/v1/pickup-points/{id}"), ("DELETE", "/v1/pickup-points/{id}"),
                      ("POST", "/v1/pickup-points/{id}/arrivals"),
                      ("POST", "/v1/pickup-points/{id}/collections")}
METHOD_BITS = {"GET": "EVHTTP_REQ_GET", "HEAD": "EVHTTP_REQ_HEAD", "POST": "EVHTTP_REQ_POST",
               "PUT": "EVHTTP_REQ_PUT", "DELETE": "EVHTTP_REQ_DELETE",
               "PATCH": "EVHTTP_REQ_PATCH"}


def route_table():
    """(method, pattern) of every route in the tables daemon/api/tables.c
    lists (tests/integration/route_table.py reads them); a method missing
    from METHOD_BITS is an error, not a route left out."""
    return route_table_c.method_patterns(harness.SOURCE_DIR, METHOD_BITS)


def test_every_route_has_a_row(w):
    table = route_table()
    assert len(table) >= 20, table
    assert table == set(ROUTES), ("routes without a row", table - set(ROUTES),
                                  "rows without a route", set(ROUTES) - table)


def prepare(w):
    setup_network(w)
    # A driven clock (it answers PUT /v1/admin/clock), left at TEST_NOW.
    d = w.daemon(extra_conf=SERVICES_CONF + harness.clock_conf(driven=True))
    harness.wait_until(lambda: d.get("/v1/stations").status == 200, what="areas loaded")
    # A stored plan, so that reading the wave's routes is a 200.
    r = d.request("POST", f"/v1/stations/{ST_IN}/waves/{WAVE}/plan")
    assert r.status == 200, r
    # A courier of ST_IN for the couriers' routes.
    r = d.request("POST", f"/v1/stations/{ST_IN}/couriers",
                  body={"id": "authz-c", "name": "Han Meimei", "phone": "13800000001",
                        "vehicle": "van"})
    assert r.status in (201, 409), r   # 409: made by an earlier test of this world
    r = d.request("POST", f"/v1/stations/{ST_IN}/engineers",
                  body={"id": "authz-e", "name": "Han Gong", "phone": "13800000003",
                        "daily_capacity": 4})
    assert r.status in (201, 409), r
    tokens = {"none": None}
    for name, spec in CALLERS.items():
        if spec is not None:
            tokens[name] = w.token(*spec, label=f"authz {name}")
    # Out-of-scope twins: the same roles holding only the other resource.
    tokens["warehouse_out"] = w.token("warehouse", WH_OUT, label="authz warehouse elsewhere")
    tokens["station_out"] = w.token("station", ST_OUT, label="authz station elsewhere")
    tokens["pickup_point_out"] = w.token("pickup_point", PP_OUT, label="authz point elsewhere")
    w.pg.psql("dispatchd", f"""
        INSERT INTO pickup_points (id, station_id, name, lon, lat, capacity)
        VALUES ('{PP_IN}', '{ST_IN}', 'Authz point', 116.4, 39.9, 100000),
               ('{PP_OUT}', '{ST_IN}', 'Authz point 2', 116.4, 39.9, 100000)
        ON CONFLICT DO NOTHING""")
    harness.wait_until(lambda: all(d.get("/v1/admin/tokens/whoami", token=t).status == 200
                                   for n, t in tokens.items() if t is not None),
                       timeout=6, what="the daemon to know every token")
    return d, tokens


# What scan rows order: in bj-st-001's district, a SKU that of the Beijing
# warehouses only bj-fdc-01 stocks (66 units), so the shipment is WH_IN's
# and ST_IN's.
DONGCHENG = {"lat": 39.936261, "lon": 116.441397}
SCAN_SKU = "SKU-00033"


def scan_request(d, role, path, n):
    """A scan legal for role on a fresh order from WH_IN to ST_IN: a
    station's arrived_at_station needs the shipment to have left its
    warehouse first (scanned by admin); anyone else scans picked. Returns
    (url, body, headers)."""
    o = d.request("POST", "/v1/orders", body=dict(ORDER, external_id=f"authz-scan-o{n}",
                                                  customer=DONGCHENG,
                                                  lines=[{"sku": SCAN_SKU, "qty": 1}]),
                  headers={"Idempotency-Key": f"authz-scan-o{n}"})
    assert o.status == 201, o
    order = o.json()
    assert (order["shipments"][0]["warehouse"], order["station"]["id"]) == (WH_IN, ST_IN), order
    event = "picked"
    if role == "station":
        for step in ("picked", "packed", "departed_warehouse"):
            r = d.request("POST", f"/v1/shipments/{order['id']}/1/events", body={"event": step},
                          headers={"Idempotency-Key": f"authz-prep-{n}-{step}"})
            assert r.status == 200, r
        event = "arrived_at_station"
    if path == "/v1/shipments/events":
        return path, {"scans": [{"order": order["id"], "seq": 1, "event": event,
                                 "key": f"authz-scan-{n}"}]}, None
    return (path.format(order_id=order["id"]), {"event": event},
            {"Idempotency-Key": f"authz-scan-{n}"})


HAND_WAVE = "20300108-W1300"   # c-042's route (a wave of its own, beside WAVE's plan)


def stop_request(w, path, order_id, n):
    """A planned stop of order_id on c-042's current route (SQL fixtures:
    the courier, once a plan with its route, then the stop). Returns (url,
    body, headers) of an arrived event."""
    def q(text):
        return w.pg.psql("dispatchd", text)
    if not getattr(w, "authz_hand_plan", False):
        q(f"INSERT INTO couriers (id, station_id, name, phone, vehicle) VALUES ('c-042', "
          f"'{ST_IN}', 'Courier Forty-Two', '+86 1', 'e_bike'); "
          f"INSERT INTO route_plans (plan_id, station_id, wave_key, params, utc_offset_s, "
          f"unassigned, geojson) VALUES ('authz-hand', '{ST_IN}', '{HAND_WAVE}', '{{}}', 28800, "
          f"'[]', '{{}}'); "
          f"INSERT INTO routes (station_id, wave_key, courier, plan_id, stops, geometry, "
          f"distance_m, duration_s, depart_at, return_at, courier_id) VALUES ('{ST_IN}', "
          f"'{HAND_WAVE}', 0, 'authz-hand', '[]', "
          f"ST_GeomFromText('LINESTRING(116.4 39.9, 116.5 39.9)', 4326), 1, 1, now(), now(), "
          f"'c-042')")
        w.authz_hand_plan = True
    sid = f"stp_{n:016x}"
    q(f"INSERT INTO stops (id, station_id, wave_key, order_id, status, courier_id, position) "
      f"VALUES ('{sid}', '{ST_IN}', '{HAND_WAVE}', '{order_id}', 'planned', 'c-042', {n})")
    return path.format(stop_id=sid), {"event": "arrived"}, {"Idempotency-Key": f"authz-stop-{n}"}


def return_request(w, role, path, order_id, n):
    """The fresh order delivered (SQL fixture: its status and delivered event
    at the test clock's instant, inside any return window), and for the
    /v1/returns/ paths a return of its line 1 by ST_IN to WH_IN in the state
    the caller's request needs: received for an inspection, at_station for
    a warehouse's scan, else picked_up. Returns (url, body, headers)."""
    def q(text):
        return w.pg.psql("dispatchd", text)
    q(f"UPDATE orders SET status = 'delivered' WHERE id = '{order_id}'; "
      f"INSERT INTO order_events (order_id, kind, at) "
      f"VALUES ('{order_id}', 'delivered', '2030-01-08T00:00:00Z')")
    if "/v1/orders/" in path:
        return (path.format(order_id=order_id),
                {"lines": [{"line": 1, "qty": 1}], "reason": "no_reason",
                 "pickup_wave": "20300108-W0900"}, None)
    rid = f"ret_{n:016x}"
    status = "received" if path.endswith("/inspection") else \
        "at_station" if role == "warehouse" and path.endswith("/scans") else "picked_up"
    q(f"INSERT INTO returns (id, order_id, kind, reason, status, station_id, wave_key, "
      f"window_start, window_end, warehouse_id, refund_fen, refund_policy) VALUES ('{rid}', "
      f"'{order_id}', 'return', 'no_reason', '{status}', '{ST_IN}', '{HAND_WAVE}', "
      f"'2030-01-08T05:00:00Z', '2030-01-08T09:00:00Z', '{WH_IN}', 0, 'at_pickup'); "
      f"INSERT INTO return_lines (return_id, line_no, sku, qty) "
      f"VALUES ('{rid}', 1, 'SKU-00001', 1)")
    body = None
    if path.endswith("/scans"):
        body = {"event": "received_at_warehouse" if role == "warehouse"
                else "arrived_at_station"}
    elif path.endswith("/inspection"):
        body = {"lines": [{"line": 1, "result": "failed", "reason": "authz"}]}
    return path.format(return_id=rid), body, None


def engineer_for(w, station):
    """An engineer of station for phones, on shift every day, all day (SQL:
    the engineers' API is part P1's)."""
    eid = f"authz-eng-{station}"
    w.pg.psql("dispatchd", f"""
        INSERT INTO couriers (id, station_id, name, phone, vehicle, skills, kind, daily_capacity)
        VALUES ('{eid}', '{station}', 'Engineer', '+86 1', 'van', '{{phones}}', 'engineer', 50)
        ON CONFLICT DO NOTHING;
        INSERT INTO courier_shifts (courier_id, tz) VALUES ('{eid}', 'Asia/Shanghai')
        ON CONFLICT DO NOTHING;
        INSERT INTO courier_shift_weekly SELECT '{eid}', g, '00:00', '24:00'
          FROM generate_series(1, 7) g ON CONFLICT DO NOTHING""")


def booking_request(path, order_id, n):
    """A booking of order_id's line 1 in SERVICE_WINDOW. Returns (url, body, headers)."""
    return (path.format(order_id=order_id),
            {"type": "repair", "line": 1, "window_start": SERVICE_WINDOW},
            {"Idempotency-Key": f"authz-svc-{n}"})


def visit_request(w, method, path, order_id, n):
    """A planned service appointment of order_id at ST_IN assigned to the
    engineer e-007 (SQL fixtures, made once: the engineer). Returns (url,
    body, headers): an arrived event for the POST, nothing for the GET."""
    def q(text):
        return w.pg.psql("dispatchd", text)
    if not getattr(w, "authz_engineer", False):
        q(f"INSERT INTO couriers (id, station_id, name, phone, vehicle, kind, daily_capacity) "
          f"VALUES ('e-007', '{ST_IN}', 'Engineer Seven', '+86 2', 'van', 'engineer', 4)")
        w.authz_engineer = True
    aid = f"svc_{n:016x}"
    q(f"INSERT INTO service_appointments (id, order_id, station_id, category, type, status, "
      f"day, window_start, window_end, engineer_id, duration_s, price_list) VALUES ('{aid}', "
      f"'{order_id}', '{ST_IN}', 'large_appliances', 'installation', 'planned', '2030-01-08', "
      f"'2030-01-08T01:00:00Z', '2030-01-08T05:00:00Z', 'e-007', 5400, "
      f"'{{\"currency\": \"CNY\", \"base_fee_fen\": 0, \"free\": true, \"extras\": []}}')")
    url = path.format(appointment=aid)
    if method == "GET":
        return url, None, None
    return url, {"event": "arrived"}, {"Idempotency-Key": f"authz-visit-{n}"}


def exchange_request(w, path, order_id, n):
    """An exchange of the fresh order's line, delivered now (SQL: the
    shipment and order delivered, the `delivered` event at the test clock).
    Returns (url, body, headers)."""
    w.pg.psql("dispatchd", f"UPDATE shipments SET status = 'delivered' WHERE order_id = "
                           f"'{order_id}'; UPDATE orders SET status = 'delivered' WHERE id = "
                           f"'{order_id}'; INSERT INTO order_events (order_id, shipment_seq, "
                           f"kind, at) VALUES ('{order_id}', 1, 'delivered', "
                           f"'2030-01-08T00:00:00Z')")
    return (path.format(order_id=order_id),
            {"lines": [{"line": 1, "qty": 1}], "reason": "no_reason", "pickup_wave": HAND_WAVE},
            {"Idempotency-Key": f"authz-exchange-{n}"})


def cod_request(d, path, n):
    """A hand-over of authz-c's day, the resolution of an open one made by
    admin (1.00 handed, nothing expected), or a correction of 0.01. Returns
    (url, body, headers)."""
    if path.endswith("/cod-corrections"):
        return (path.format(st=ST_IN), {"day": "2030-01-08", "amount": "0.01", "reason": "authz"},
                {"Idempotency-Key": f"authz-corr-{n}"})
    if path.endswith("/resolution"):
        r = d.request("POST", f"/v1/stations/{ST_IN}/couriers/authz-c/settlements",
                      body={"day": "2030-01-08", "handed": "1.00"},
                      headers={"Idempotency-Key": f"authz-set-open-{n}"})
        assert r.status == 201 and r.json()["status"] == "open", r
        return path.format(st=ST_IN, sid=r.json()["id"]), {"reason": "authz"}, None
    return (path.format(st=ST_IN), {"day": "2030-01-08", "handed": "0.00"},
            {"Idempotency-Key": f"authz-set-{n}"})


def pickup_request(w, method, path, order_id, n):
    """A request on pickup point PP_IN (a fresh point for a DELETE): a
    create at ST_IN, an arrival of order_id routed to PP_IN, a collection of
    its parcel held there with code n (SQL fixtures). Returns (url, body,
    headers)."""
    def q(text):
        return w.pg.psql("dispatchd", text)
    if path == "/v1/pickup-points":
        return path, {"id": f"authz-new-{n}", "station": ST_IN, "name": "New", "lon": 116.4,
                      "lat": 39.9, "capacity": 3}, None
    pp = PP_IN
    if method == "DELETE":
        pp = f"authz-del-{n}"
        q(f"INSERT INTO pickup_points (id, station_id, name, lon, lat, capacity) "
          f"VALUES ('{pp}', '{ST_IN}', 'Retire me', 116.4, 39.9, 1)")
    url = path.format(pp=pp)
    if method == "PATCH":
        return url, {"name": "Authz point"}, None
    if path.endswith("/arrivals") or path.endswith("/collections"):
        q(f"UPDATE orders SET pickup_point_id = '{PP_IN}' WHERE id = '{order_id}'; "
          f"UPDATE shipments SET status = 'out_for_delivery' WHERE order_id = '{order_id}'")
    if path.endswith("/arrivals"):
        return url, {"order": order_id}, None
    if path.endswith("/collections"):
        code = f"{n % 10 ** 8:08d}"
        q(f"INSERT INTO pickup_parcels (point_id, order_id, code_hash, arrived_at, hold_until) "
          f"VALUES ('{PP_IN}', '{order_id}', "
          f"decode('{harness.pickup_code_hash(w, code)}', 'hex'), now(), "
          f"now() + interval '3 days')")
        return url, {"code": code}, {"Idempotency-Key": f"authz-pk-{n}"}
    return url, None, None


def fresh_ids(w, d, path, seq, shop):
    """The ids a row's path names, made fresh for one request: an order
    (from ORDER), a courier token, for a service path an engineer of the
    order's station and for {appointment_id} a booking, for {webhook_id} and
    {delivery_id} a webhook of shop (the order_service token's id) with a
    dead delivery. seq numbers the keys."""
    o = d.request("POST", "/v1/orders", body=dict(ORDER, external_id=f"authz-o{next(seq)}"),
                  headers={"Idempotency-Key": f"authz-o{next(seq)}"})
    assert o.status == 201, o
    t = d.request("POST", "/v1/admin/tokens", body={"role": "courier", "courier": "c-9"})
    assert t.status == 201, t
    harness.TOKENS_ISSUED.append(t.json()["token"])
    ids = {"order_id": o.json()["id"], "token_id": t.json()["id"],
           "tracking_code": o.json()["tracking_code"]}
    if "service" in path:
        engineer_for(w, o.json()["station"]["id"])
    if "{appointment_id}" in path:
        b = d.request("POST", f"/v1/orders/{ids['order_id']}/services",
                      body={"type": "repair", "line": 1, "window_start": SERVICE_WINDOW},
                      headers={"Idempotency-Key": f"authz-svc-o{next(seq)}"})
        assert b.status == 201, b
        ids["appointment_id"] = b.json()["id"]
    if "{webhook_id}" in path or "{delivery_id}" in path:
        h = d.request("POST", "/v1/webhooks", body={"url": "http://127.0.0.1:9/authz",
                                                    "events": ["shipment.failed"],
                                                    "owner": shop})
        assert h.status == 201, h
        ids["webhook_id"] = h.json()["id"]
        ids["delivery_id"] = w.pg.psql("dispatchd", f"""
            INSERT INTO webhook_outbox (webhook_id, event_id, event, body, status)
            VALUES ('{h.json()["id"]}', 1, 'shipment.failed', '{{}}', 'dead')
            RETURNING id""")
    return ids


def request_for(w, d, method, path, body, role, ids, n):
    """(url, body, headers) of a row's request as role sends it: the row's
    body kind ("scan", "stop", ...) made by its fixture above, or its path
    filled with ids and the in-scope warehouse and station."""
    if body == "scan":
        return scan_request(d, role, path, n)
    if body == "stop":
        return stop_request(w, path, ids["order_id"], n)
    if body == "return":
        return return_request(w, role, path, ids["order_id"], n)
    if body == "booking":
        return booking_request(path, ids["order_id"], n)
    if body == "visit":
        return visit_request(w, method, path, ids["order_id"], n)
    if body == "exchange":
        return exchange_request(w, path, ids["order_id"], n)
    if body == "settlement":
        return cod_request(d, path, n)
    if body == "pickup":
        return pickup_request(w, method, path, ids["order_id"], n)
    return path.format(wh=WH_IN, st=ST_IN, **ids), body, None

def send(d, token, method, path, body, n, headers=None):
    if isinstance(body, dict) and "external_id" in body:
        body = dict(body, external_id=body["external_id"].format(n=n))
    if isinstance(body, dict) and "{n}" in str(body.get("id", "")):
        body = dict(body, id=body["id"].format(n=n))
    if path == "/v1/orders":
        headers = {"Idempotency-Key": f"authz-{n}"}
    return d.request(method, path, body=body, headers=headers, token=token)


def test_every_route_against_every_role(w):
    d, tokens = prepare(w)
    seq = iter(range(1, 100000))
    failures = []

    shop = d.get("/v1/admin/tokens/whoami", token=tokens["order_service"]).json()["id"]

    checked = 0
    for (method, pattern), (who, path, body) in sorted(ROUTES.items()):
        for caller, token in tokens.items():
            checked += 1
            role = caller.split("_out")[0] if caller.endswith("_out") else caller
            out_of_scope = caller.endswith("_out")
            ids = fresh_ids(w, d, path, seq, shop)
            n = next(seq)
            url, req, headers = request_for(w, d, method, path, body, role, ids, n)
            r = send(d, token, method, url, req, n, headers)
            if who == PUBLIC:
                want = "2xx"
            elif caller == "none":
                want = 401
            elif who != ANY and role not in who:
                want = 403
            elif out_of_scope and ("{wh}" in path or "{st}" in path or
                                   (method, pattern) in SCOPED_BY_SHIPMENT):
                want = 404
            else:
                want = "2xx"
            got_ok = (200 <= r.status < 300) if want == "2xx" else r.status == want
            if want == 404:
                got_ok = got_ok and r.json()["detail"] == "no such resource"
            if want == 401:
                got_ok = got_ok and r.headers.get("www-authenticate", "").startswith("Bearer")
            if want == 403:
                got_ok = got_ok and r.json()["type"] == "urn:dispatchd:problem:forbidden"
            if not got_ok:
                failures.append(f"{method} {pattern} as {caller}: want {want}, got {r.status} "
                                f"{r.body[:160]}")
    assert not failures, "\n".join(failures)
    harness.reliability_report("authorisation", {"routes": len(ROUTES),
                                                 "callers": len(tokens),
                                                 "route_caller_pairs_checked": checked})


def test_metrics_are_served_to_operators_without_a_token(w):
    d = w.daemon()
    assert d.get("/metrics", token=None).status == 401
    r = d.get("/metrics", token=None, operator=True)
    assert r.status == 200 and "dispatchd_http_requests_total" in r.body, r
    # The operators' listener serves health and metrics only.
    assert d.get("/v1/admin/migrations", token=None, operator=True).status == 404
    assert d.get("/v1/admin/migrations", operator=True).status == 404


def test_writes_are_audited_with_the_token_id_never_the_token(w):
    d, tokens = prepare(w)
    r = d.request("PUT", f"/v1/warehouses/{WH_IN}/stock/SKU-00009", body={"on_hand": 77},
                  token=tokens["warehouse"])
    assert r.status == 200, r
    who = d.request("GET", "/v1/admin/tokens/whoami", token=tokens["warehouse"]).json()
    line = harness.wait_until(
        lambda: next((l for l in d.log().splitlines() if " audit: " in l and "SKU-00009" in l),
                     None), what="the audit line")
    assert who["id"] in line and "authz warehouse" in line and "-> 200" in line, line
    assert tokens["warehouse"] not in d.log()
    # The change is in the stock ledger with who, why, from and to; admin reads it.
    r = d.request("PUT", f"/v1/warehouses/{WH_IN}/stock/SKU-00009",
                  body={"on_hand": 80, "reason": "cycle count"}, token=tokens["warehouse"])
    assert r.status == 200, r
    led = d.get(f"/v1/admin/stock-ledger?warehouse={WH_IN}&sku=SKU-00009&limit=1").json()
    e = led["entries"][0]
    assert (e["actor"], e["actor_label"], e["old_on_hand"], e["new_on_hand"], e["reason"]) == \
        (who["id"], "authz warehouse", 77, 80, "cycle count"), e
    assert led["next"] == e["seq"], led  # a full page: older entries follow
    older = d.get(f"/v1/admin/stock-ledger?warehouse={WH_IN}&sku=SKU-00009&before={e['seq']}")
    assert [x["new_on_hand"] for x in older.json()["entries"]][0] == 77, older
    assert d.get("/v1/admin/stock-ledger", token=tokens["warehouse"]).status == 403
    assert d.get("/v1/admin/stock-ledger?limit=0").status == 422
    # Reads are not audited; order-service writes are not either.
    d.get(f"/v1/warehouses/{WH_IN}/stock?limit=1", token=tokens["warehouse"])
    assert not [l for l in d.log().splitlines() if " audit: " in l and "GET " in l]


def test_passwords_never_reach_the_log(w):
    """A DSN password and a Redis password (which this Redis refuses, so the
    daemon logs the failure) appear in no log line, even at debug."""
    env = {"DISPATCH_PG_DSN": w.pg.dsn + " password=s3cret-pg",
           "DISPATCH_REDIS_PASSWORD": "s3cret-redis"}
    d = w.daemon(extra_conf="[log]\nlevel = debug\n", env=env)
    harness.wait_until(lambda: "redis" in d.log() and "AUTH" in d.log().upper(),
                       what="the refused Redis AUTH logged")
    d.get("/v1/admin/migrations")
    assert "s3cret" not in d.log(), [l for l in d.log().splitlines() if "s3cret" in l]


def test_constant_time_comparison_is_the_only_hash_comparison(w):
    """Reads the code path: the token cache compares hashes only through
    dm_token_hash_equal, which is libsodium's sodium_memcmp."""
    src = open(os.path.join(harness.SOURCE_DIR, "daemon", "base", "token.c")).read()
    body = src[src.index("\ndm_token_hash_equal("):]
    body = body[:body.index("\n}\n")]
    assert "sodium_memcmp" in body and "memcmp(" not in body.replace("sodium_memcmp(", ""), body
    cache = open(os.path.join(harness.SOURCE_DIR, "daemon", "svc", "tokens.c")).read()
    assert "dm_token_hash_equal(" in cache
    assert not re.search(r"[^_]memcmp\([^)]*hash", cache), "a plain memcmp on a hash"


if __name__ == "__main__":
    harness.run(globals())
