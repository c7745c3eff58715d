"""docs/openapi.yaml against what the daemon really answers (issue 11).

tests/integration/test_openapi.py checks the document without a daemon
(lint, routes, roles, problem types). This test starts one and sends the
issue-11 operations real requests: each answer's status must be one the
operation documents, and its JSON body must match the schema documented for
that status (application/json or application/problem+json), checked by the
small JSON Schema subset below (no jsonschema package needed): $ref, allOf,
oneOf/anyOf, type (with null), enum, const, required, properties, items,
minimum/maximum, minItems/maxItems, pattern. It is also *closed*: a member
of an answer that the schema at that place does not list (when the schema
lists any, and does not allow additionalProperties) is an error, so a
member renamed in the daemon but not in the document is caught, not only a
required one gone missing. The bodies the daemon accepts (2xx) are checked
against the documented request schemas the same way. Every request's
findings are gathered, so one failure lists all the drift at once."""
import json
import re
import time
import uuid

import harness
import test_handheld as hh
import wave_fixtures
from test_openapi import ISSUE_11, deref, load_doc, operations
from test_orders import FDC, new_sku, order_body, sql

DOC = load_doc()
OPS = operations(DOC)
TYPES = {"object": dict, "array": list, "string": str, "boolean": bool, "null": type(None)}


def _type_ok(value, t):
    if t == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if t == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    return isinstance(value, TYPES[t])


def known_members(schema, value, seen=()):
    """The member names the schema lists at this level (through $ref and
    allOf, and the oneOf/anyOf branches the value matches), or None when it
    lists none or allows any (additionalProperties not false)."""
    schema = deref(DOC, schema)
    if not isinstance(schema, dict):
        return None
    names = set(schema.get("properties", {}))
    if schema.get("additionalProperties") not in (None, False):
        return None
    open_ = not names
    for sub in schema.get("allOf", []):
        more = known_members(sub, value)
        if more is None:
            # A branch listing nothing, e.g. only a `type` enum: no opinion.
            continue
        names |= more
        open_ = False
    for key in ("oneOf", "anyOf"):
        for sub in schema.get(key, []):
            if not validate(sub, value, "", closed=False):
                more = known_members(sub, value)
                if more is None:
                    return None
                names |= more
                open_ = False
    return None if open_ else names


def validate(schema, value, where="$", closed=True):
    """The errors of value against schema, as '<where>: <what>' lines."""
    schema = deref(DOC, schema)
    errors = []
    if schema is True or schema == {}:
        return errors
    for sub in schema.get("allOf", []):
        errors += validate(sub, value, where, closed=False)
    for key in ("oneOf", "anyOf"):
        if key in schema:
            ok = [sub for sub in schema[key] if not validate(sub, value, where, closed)]
            if not ok or (key == "oneOf" and len(ok) > 1):
                errors.append(f"{where}: matches {len(ok)} of the {key} branches")
    if "type" in schema:
        types = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        if not any(_type_ok(value, t) for t in types):
            return errors + [f"{where}: {json.dumps(value)[:60]} is not {'/'.join(types)}"]
    if "enum" in schema and value not in schema["enum"]:
        errors.append(f"{where}: {json.dumps(value)[:60]} not in {schema['enum']}")
    if "const" in schema and value != schema["const"]:
        errors.append(f"{where}: {json.dumps(value)[:60]} is not {schema['const']!r}")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if "minimum" in schema and value < schema["minimum"]:
            errors.append(f"{where}: {value} < {schema['minimum']}")
        if "maximum" in schema and value > schema["maximum"]:
            errors.append(f"{where}: {value} > {schema['maximum']}")
    if isinstance(value, str) and "pattern" in schema and not re.search(schema["pattern"], value):
        errors.append(f"{where}: {value!r} does not match {schema['pattern']}")
    if isinstance(value, dict):
        for name in schema.get("required", []):
            if name not in value:
                errors.append(f"{where}: the required member {name!r} is missing")
        for name, sub in schema.get("properties", {}).items():
            if name in value:
                errors += validate(sub, value[name], f"{where}.{name}")
        if closed:
            names = known_members(schema, value)
            if names is not None:
                errors += [f"{where}: member {k!r} is not in the document"
                           for k in sorted(set(value) - names)]
            # Members described only inside allOf branches: check their
            # nested objects closed too.
            for sub in schema.get("allOf", []):
                for name, s in deref(DOC, sub).get("properties", {}).items():
                    if name in value and name not in schema.get("properties", {}):
                        errors += [e for e in validate(s, value[name], f"{where}.{name}")
                                   if "is not in the document" in e]
    if isinstance(value, list):
        if "minItems" in schema and len(value) < schema["minItems"]:
            errors.append(f"{where}: fewer than {schema['minItems']} items")
        if "maxItems" in schema and len(value) > schema["maxItems"]:
            errors.append(f"{where}: more than {schema['maxItems']} items")
        if "items" in schema:
            for i, item in enumerate(value):
                errors += validate(schema["items"], item, f"{where}[{i}]", closed)
    return errors


class Checker:
    """Sends requests and checks each answer against its operation."""

    def __init__(self, d):
        self.d = d
        self.findings = []
        self.checked = set()

    def __call__(self, method, template, path, want, body=None, **kw):
        r = self.d.request(method, path, body=body, **kw)
        what = f"{method} {path} ({template})"
        # The wave scheduler may be planning the same wave: 409 plan-running
        # (itself checked against the document), then again.
        for _ in range(100):
            if not (r.status == 409 and want != 409 and "/waves/" in template and
                    '"urn:dispatchd:problem:plan-running"' in r.body):
                break
            self.check(what, OPS[(method, template)], r)
            time.sleep(0.1)
            r = self.d.request(method, path, body=body, **kw)
        assert r.status == want, f"{what}: {r.status}, expected {want}: {r.body[:400]}"
        self.checked.add((method, template, want))
        # A body the daemon took must be one the document allows, too.
        op = OPS[(method, template)]
        if want < 300 and body is not None:
            media = ((op.get("requestBody") or {}).get("content") or {}).get("application/json")
            if media is None:
                self.findings.append(f"{what}: a request body is not documented")
            else:
                self.findings += [f"{what} request: {e}" for e in validate(media["schema"], body)]
        return self.check(what, OPS[(method, template)], r)

    def check(self, what, op, r):
        want = r.status
        resp = op["responses"].get(str(want))
        if resp is None:
            self.findings.append(f"{what}: status {want} is not documented")
            return r
        resp = deref(DOC, resp)
        if not r.body:
            if resp.get("content"):
                self.findings.append(f"{what}: {want} has no body, the document describes one")
            return r
        ctype = r.headers.get("content-type", "").split(";")[0].strip()
        media = (resp.get("content") or {}).get(ctype)
        if media is None:
            self.findings.append(f"{what}: {want} {ctype} is not documented "
                                 f"(documented: {sorted(resp.get('content') or {})})")
            return r
        self.findings += [f"{what} {want}: {e}" for e in validate(media["schema"], r.json())]
        return r

    def done(self):
        self.findings = list(dict.fromkeys(self.findings))
        assert not self.findings, "docs/openapi.yaml unlike the daemon's answers:\n" + \
            "\n".join(self.findings)


# ------------------------------------------------------------------ checker self-tests

def test_the_checker_catches_drift(w):
    """The subset checker is real: a missing required member, a wrong type,
    a value outside an enum, a pattern not matched and an undocumented member
    (also inside an allOf branch, a oneOf branch and an array's items) are
    each reported; a matching answer passes."""
    schema = {"allOf": [
        {"$ref": "#/components/schemas/Problem"},
        {"type": "object", "required": ["hook"], "properties": {
            "hook": {"type": "object", "required": ["id", "events"], "properties": {
                "id": {"type": "string", "pattern": "^wh_[0-9a-f]{4}$"},
                "events": {"type": "array", "items": {"type": "string",
                                                      "enum": ["shipment.delivered"]}},
                "at": {"oneOf": [{"$ref": "#/components/schemas/Point"}, {"type": "null"}]}}}}}]}
    good = {"type": "urn:x", "title": "t", "status": 409,
            "hook": {"id": "wh_00ff", "events": ["shipment.delivered"], "at": None}}
    assert validate(schema, good) == [], validate(schema, good)
    assert validate(schema, dict(good, hook=dict(good["hook"], at={"lat": 1, "lon": 2}))) == []

    def errs(**hook):
        return validate(schema, dict(good, hook=dict(good["hook"], **hook)))
    assert any("'events' is missing" in e for e in validate(
        schema, dict(good, hook={"id": "wh_00ff"}))), "required"
    assert any("is not string" in e for e in errs(id=7)), "type"
    assert any("does not match" in e for e in errs(id="wh_1")), "pattern"
    assert any("not in [" in e for e in errs(events=["shipment.lost"])), "enum"
    assert any("$.hook: member 'extra'" in e for e in errs(extra=1)), "closed, nested"
    assert any("member 'alt'" in e for e in errs(at={"lat": 1, "lon": 2, "alt": 3})), "oneOf"
    assert any("matches 0 of the oneOf" in e for e in errs(at="here")), "oneOf"
    assert any("$: member 'x'" in e for e in validate(schema, dict(good, x=1))), "closed, allOf"
    assert any("'title' is missing" in e for e in validate(
        schema, {k: v for k, v in good.items() if k != "title"})), "required, $ref"


# ------------------------------------------------------------------ live answers

def test_issue_11_answers_match_the_document(w):
    d = hh.hd(w)
    c = Checker(d)
    st = "bj-st-001"

    # Orders with a recipient and tracking (the order body, A).
    sku = new_sku(w, {FDC: 10})
    body = order_body([(sku, 1)], recipient=hh.RECIPIENT)
    r = c("POST", "/v1/orders", "/v1/orders", 201, body=body,
          headers={"Idempotency-Key": uuid.uuid4().hex})
    order = r.json()
    oid, code = order["id"], order["tracking_code"]
    c("GET", "/v1/orders/{id}", f"/v1/orders/{oid}", 200)
    c("GET", "/v1/orders/{id}/tracking", f"/v1/orders/{oid}/tracking", 200)
    c("GET", "/v1/track/{code}", f"/v1/track/{code}", 200, token=None)
    c("GET", "/v1/track/{code}", "/v1/track/TRK0000000000000000", 404, token=None)

    # Couriers (B).
    cid = "oa-" + uuid.uuid4().hex[:8]
    base = f"/v1/stations/{st}/couriers"
    new = {"id": cid, "name": "Li Lei", "phone": "+86 139 0000 0001", "vehicle": "e_bike",
           "skills": ["cold"]}
    c("POST", "/v1/stations/{id}/couriers", base, 201, body=new)
    c("POST", "/v1/stations/{id}/couriers", base, 409, body=new)
    c("POST", "/v1/stations/{id}/couriers", base, 422, body=dict(new, id=cid + "x", vehicle="jet"))
    c("GET", "/v1/stations/{id}/couriers", base, 200)
    c("GET", "/v1/stations/{id}/couriers", base + "?active=all", 200)
    c("GET", "/v1/stations/{id}/couriers/{courier}", f"{base}/{cid}", 200)
    c("GET", "/v1/stations/{id}/couriers/{courier}", f"{base}/nobody", 404)
    c("PATCH", "/v1/stations/{id}/couriers/{courier}", f"{base}/{cid}", 200,
      body={"phone": "+86 139 0000 0002"})
    c("PUT", "/v1/stations/{id}/couriers/{courier}/shifts", f"{base}/{cid}/shifts", 200,
      body={"weekly": [{"days": ["mon", "tue", "wed", "thu", "fri"], "start": "08:00",
                        "end": "20:00"}],
            "overrides": [{"date": "2030-01-09", "off": True}]})
    c("PUT", "/v1/stations/{id}/couriers/{courier}/shifts", f"{base}/{cid}/shifts", 422,
      body={"weekly": [{"days": ["xyz"], "start": "08:00", "end": "20:00"}]})
    c("POST", "/v1/stations/{id}/couriers/{courier}/duty", f"{base}/{cid}/duty", 200,
      body={"on_shift": False, "reason": "flat tyre"})
    c("POST", "/v1/stations/{id}/couriers/{courier}/duty", f"{base}/{cid}/duty", 200,
      body={"on_shift": True})
    c("DELETE", "/v1/stations/{id}/couriers/{courier}", f"{base}/{cid}", 200)

    # Waves: plan, routes (current and by version), replan (C).
    key = sql(w, f"SELECT counter_key FROM order_capacity WHERE order_id = '{oid}' "
                 f"AND counter_key LIKE '%-W%'")
    assert key, "the order booked no wave"
    wave = f"/v1/stations/{st}/waves/{key}"
    wave_fixtures.add_couriers(w, st, 2, prefix="oa")
    wave_fixtures.arrive(w, [oid])
    plan = c("POST", "/v1/stations/{id}/waves/{key}/plan", wave + "/plan", 200).json()
    # Not vacuous: the answers checked have the parts the document describes.
    assert plan["routes"] and plan["routes"][0]["stops"] and plan["changes"], plan
    c("POST", "/v1/stations/{id}/waves/{key}/replan", wave + "/replan", 200,
      body={"reason": "urgent stop"})
    c("POST", "/v1/stations/{id}/waves/{key}/replan", wave + "/replan", 422,
      body={"reason": "x", "why": 1})
    c("GET", "/v1/stations/{id}/waves/{key}/routes", wave + "/routes", 200)
    c("GET", "/v1/stations/{id}/waves/{key}/routes", wave + "/routes?version=1", 200)
    c("GET", "/v1/stations/{id}/waves/{key}/routes", wave + "/routes?version=99", 404)
    c("GET", "/v1/stations/{id}/waves/{key}/routes", wave + "/routes?version=x", 422)

    # An admin's subscription to every event of the orders it places (the
    # handheld orders below): their events make deliveries to list.
    c("POST", "/v1/webhooks", "/v1/webhooks", 201,
      body={"url": "http://127.0.0.1:9/hooks", "events": [
          "shipment.out_for_delivery", "shipment.eta_changed", "shipment.delivered",
          "shipment.failed", "shipment.rescheduled"]})

    # Handheld (E): a courier of the test's own station with two stops.
    ann, tok = hh.courier(w, d)
    o1, o2 = hh.at_station_order(w, d), hh.at_station_order(w, d)
    hh.plan(w, hh.WAVE, [ann])
    s1 = hh.stop(w, o1, ann, 0)
    s2 = hh.stop(w, o2, ann, 1, proof="pin", pin="123456")
    o3 = hh.at_station_order(w, d)
    s3 = hh.stop(w, o3, ann, 2, proof="pin", pin="654321")
    mine = c("GET", "/v1/couriers/me/route", "/v1/couriers/me/route", 200, token=tok).json()
    assert len(mine["stops"]) == 3 and mine["stops"][0]["lines"], mine
    c("POST", "/v1/couriers/me/route/start", "/v1/couriers/me/route/start", 200, token=tok)
    _, idle = hh.courier(w, d, "Cai Yun")
    c("GET", "/v1/couriers/me/route", "/v1/couriers/me/route", 200, token=idle)
    c("POST", "/v1/couriers/me/route/start", "/v1/couriers/me/route/start", 200, token=idle)
    c("GET", "/v1/couriers/me/route", "/v1/couriers/me/route", 403)
    c("POST", "/v1/couriers/me/locations", "/v1/couriers/me/locations", 202, token=tok,
      body={"pings": [hh.ping(1), hh.ping(0)]})
    c("POST", "/v1/couriers/me/locations", "/v1/couriers/me/locations", 422, token=tok,
      body={"pings": []})
    ev = "/v1/stops/{id}/events"
    c("POST", ev, f"/v1/stops/{s1}/events", 200, token=tok, body={"event": "arrived"},
      headers={"Idempotency-Key": uuid.uuid4().hex})
    c("POST", ev, f"/v1/stops/{s1}/events", 422, token=tok, body={"event": "delivered"},
      headers={"Idempotency-Key": uuid.uuid4().hex})
    c("POST", ev, f"/v1/stops/{s1}/events", 200, token=tok,
      body={"event": "delivered", "proof": {"photo_ref": "img-1"}},
      headers={"Idempotency-Key": uuid.uuid4().hex})
    c("POST", ev, f"/v1/stops/{s1}/events", 409, token=tok, body={"event": "arrived"},
      headers={"Idempotency-Key": uuid.uuid4().hex})
    c("POST", ev, f"/v1/stops/{s2}/events", 200, token=tok,
      body={"event": "failed", "reason": "customer_absent", "notes": "no answer"},
      headers={"Idempotency-Key": uuid.uuid4().hex})
    c("POST", ev, f"/v1/stops/stp_{'0' * 16}/events", 404, token=tok,
      body={"event": "arrived"}, headers={"Idempotency-Key": uuid.uuid4().hex})
    key = uuid.uuid4().hex
    c("POST", ev, f"/v1/stops/{s3}/events", 200, token=tok, body={"event": "arrived"},
      headers={"Idempotency-Key": key})
    c("POST", ev, f"/v1/stops/{s3}/events", 422, token=tok, body={"event": "picked_up"},
      headers={"Idempotency-Key": key})
    # Tracking while out for delivery (live, stop), and after each outcome.
    seen = {}
    for o in (o1, o2, o3):
        doc = c("GET", "/v1/orders/{id}/tracking", f"/v1/orders/{o}/tracking", 200).json()
        seen[o] = (doc["status"], doc["live"] is not None, doc["stop"] is not None)
        code = sql(w, f"SELECT tracking_code FROM orders WHERE id = '{o}'")
        c("GET", "/v1/track/{code}", f"/v1/track/{code.lower()}", 200, token=None)
    assert seen[o3] == ("out_for_delivery", True, True), seen
    assert seen[o1][0] == "delivered" and seen[o2][0] in ("rescheduled", "failed"), seen
    page = c("GET", "/v1/admin/webhook-deliveries", "/v1/admin/webhook-deliveries?limit=2",
             200).json()
    assert len(page["deliveries"]) == 2 and page["next"], page

    # Feed (D): the handheld station's lines, a page, a beyond-head cursor.
    feed = f"/v1/stations/{hh.ST}/feed"
    first = c("GET", "/v1/stations/{id}/feed", feed + "?cursor=0&limit=1", 200).json()
    assert len(first["changes"]) == 1 and first["more"] is True, first
    c("GET", "/v1/stations/{id}/feed", f"/v1/stations/{st}/feed?cursor=0", 200)
    c("GET", "/v1/stations/{id}/feed", feed + "?cursor=999999", 422)
    c("GET", "/v1/stations/{id}/feed", feed + "?wait=61", 422)

    # Webhooks (F).
    shop = w.token("order_service", label="openapi shop")
    harness.wait_until(lambda: d.get("/v1/admin/tokens/whoami", token=shop).status == 200,
                       timeout=6, what="the daemon to know the shop token")
    r = c("POST", "/v1/webhooks", "/v1/webhooks", 201, token=shop,
          body={"url": "http://127.0.0.1:9/hooks", "events": ["shipment.delivered"]})
    wh = r.json()["id"]
    c("POST", "/v1/webhooks", "/v1/webhooks", 422, token=shop,
      body={"url": "ftp://x", "events": ["shipment.lost"]})
    c("GET", "/v1/webhooks", "/v1/webhooks", 200, token=shop)
    c("GET", "/v1/webhooks", "/v1/webhooks", 200)
    c("GET", "/v1/webhooks/{id}", f"/v1/webhooks/{wh}", 200, token=shop)
    c("GET", "/v1/admin/webhook-deliveries", "/v1/admin/webhook-deliveries?status=dead", 200)
    c("GET", "/v1/admin/webhook-deliveries", "/v1/admin/webhook-deliveries?status=x", 422)
    c("DELETE", "/v1/webhooks/{id}", f"/v1/webhooks/{wh}", 204, token=shop)
    c("GET", "/v1/webhooks/{id}", f"/v1/webhooks/{wh}", 404, token=shop)
    c.done()
    # Every operation of issue 11 was checked with a success answer.
    succeeded = {(m, p) for m, p, status in c.checked if status < 300}
    assert ISSUE_11 <= succeeded, sorted(ISSUE_11 - succeeded)


def test_returns_answer_as_documented(w):
    """Issue 12 part P4: each returns operation, live (the order is
    delivered with an SQL fixture: its status and delivered event at the test
    clock's instant; test_returns.py delivers through the real path)."""
    d = hh.hd(w)
    c = Checker(d)
    sku = new_sku(w, {FDC: 10})
    oid = c("POST", "/v1/orders", "/v1/orders", 201, body=order_body([(sku, 2)]),
            headers={"Idempotency-Key": uuid.uuid4().hex}).json()["id"]
    path = f"/v1/orders/{oid}/returns"
    body = {"lines": [{"line": 1, "qty": 1}], "reason": "no_reason", "notes": "too small",
            "pickup_wave": "20300108-W0900"}
    c("POST", "/v1/orders/{id}/returns", path, 409, body=body)
    sql(w, f"UPDATE orders SET status = 'delivered' WHERE id = '{oid}'; "
           f"INSERT INTO order_events (order_id, kind, at) "
           f"VALUES ('{oid}', 'delivered', '2030-01-08T00:00:00Z')")
    rid = c("POST", "/v1/orders/{id}/returns", path, 201, body=body,
            headers={"Idempotency-Key": "oa-ret"}).json()["id"]
    c("POST", "/v1/orders/{id}/returns", path, 200, body=body,
      headers={"Idempotency-Key": "oa-ret"})
    c("POST", "/v1/orders/{id}/returns", path, 422, body=dict(body, pickup_wave="20300301-W0900"))
    c("POST", "/v1/orders/{id}/returns", path, 422,
      body=dict(body, lines=[{"line": 1, "qty": 5}]))
    c("GET", "/v1/orders/{id}/returns", path, 200)
    c("GET", "/v1/returns/{id}", f"/v1/returns/{rid}", 200)
    c("GET", "/v1/returns/{id}", "/v1/returns/ret_0000000000000000", 404)
    scans = "/v1/returns/{id}/scans"
    c("POST", scans, f"/v1/returns/{rid}/scans", 409, body={"event": "arrived_at_station"})
    c("POST", scans, f"/v1/returns/{rid}/scans", 422, body={"event": "lost"})
    sql(w, f"UPDATE returns SET status = 'picked_up' WHERE id = '{rid}'")
    for ev in ("arrived_at_station", "departed_station", "received_at_warehouse"):
        c("POST", scans, f"/v1/returns/{rid}/scans", 200, body={"event": ev})
    insp = "/v1/returns/{id}/inspection"
    c("POST", insp, f"/v1/returns/{rid}/inspection", 422,
      body={"lines": [{"line": 1, "result": "failed"}]})
    c("POST", insp, f"/v1/returns/{rid}/inspection", 200,
      body={"lines": [{"line": 1, "result": "passed"}]})
    c("POST", insp, f"/v1/returns/{rid}/inspection", 409,
      body={"lines": [{"line": 1, "result": "passed"}]})
    # The timeline with the return's events, full and public.
    tl = c("GET", "/v1/orders/{id}/tracking", f"/v1/orders/{oid}/tracking", 200).json()
    assert [e for e in tl["events"] if e["kind"] == "return.requested"] and tl["returns"], tl
    code = sql(w, f"SELECT tracking_code FROM orders WHERE id = '{oid}'")
    c("GET", "/v1/track/{code}", f"/v1/track/{code}", 200, token=None)
    # A second delivered order, past its window: 422 naming it.
    old = c("POST", "/v1/orders", "/v1/orders", 201, body=order_body([(sku, 1)]),
            headers={"Idempotency-Key": uuid.uuid4().hex}).json()["id"]
    sql(w, f"UPDATE orders SET status = 'delivered' WHERE id = '{old}'; "
           f"INSERT INTO order_events (order_id, kind, at) "
           f"VALUES ('{old}', 'delivered', '2029-12-01T00:00:00Z')")
    r = c("POST", "/v1/orders/{id}/returns", f"/v1/orders/{old}/returns", 422, body=body)
    assert r.json()["type"].endswith("return-window-closed"), r
    c.done()


def test_issue_12_p0_answers_match_the_document(w):
    """GET /v1/service-types (issue 12 part P0): the price lists, filtered,
    an unknown category and a malformed one."""
    import test_service_types
    d = w.daemon(extra_conf=test_service_types.SERVICES)
    c = Checker(d)
    r = c("GET", "/v1/service-types", "/v1/service-types", 200, token=None)
    assert len(r.json()["service_types"]) == 3, r
    c("GET", "/v1/service-types", "/v1/service-types?category=large_appliances", 200, token=None)
    c("GET", "/v1/service-types", "/v1/service-types?category=phones", 200)
    c("GET", "/v1/service-types", "/v1/service-types?category=Phones", 422, token=None)
    c.done()


def test_issue_12_p2_answers_match_the_document(w):
    """Service slots and bookings (issue 12 part P2): slots, a booking and
    its replay, the list and one appointment, a reschedule, a cancel, and
    the refusals (validation, slot not offered, capacity exhausted, already
    booked, not found, too late, cancelled twice)."""
    import test_service_booking as sb
    d = sb.daemon(w)
    sb.engineers(w, ("eng-a", ["large_appliances"], 2, sb.EVERY_DAY),
                 ("eng-b", ["large_appliances"], 1, sb.WED_MORNING))
    c = Checker(d)
    o = sb.new_order(d, w, [sb.new_sku(w, installable=False)])
    slots_t, svc_t = "/v1/orders/{id}/service-slots", "/v1/orders/{id}/services"
    one_t = "/v1/orders/{id}/services/{appointment}"
    base = f"/v1/orders/{o['id']}"
    r = c("GET", slots_t, f"{base}/service-slots?type=installation&line=1", 200)
    assert len(r.json()["slots"]) == 14, r
    c("GET", slots_t, f"{base}/service-slots?type=installation&line=1&with_delivery=true", 200)
    c("GET", slots_t, f"{base}/service-slots?type=installation&line=2", 422)
    c("GET", slots_t, "/v1/orders/ord_nope/service-slots?type=installation&line=1", 404)
    body = {"type": "installation", "line": 1, "window_start": sb.WED_AM}
    key = {"Idempotency-Key": "openapi-svc-1"}
    a = c("POST", svc_t, f"{base}/services", 201, body=body, headers=key).json()
    c("POST", svc_t, f"{base}/services", 201, body=body, headers=key)
    c("POST", svc_t, f"{base}/services", 422, body=dict(body, line=3), headers=key)
    c("POST", svc_t, f"{base}/services", 422,
      body={"type": "repair", "line": 1, "window_start": "2030-01-09T10:00:00+08:00"},
      headers={"Idempotency-Key": "openapi-svc-2"})
    c("POST", svc_t, f"{base}/services", 409, body=dict(body, window_start=sb.WED_PM),
      headers={"Idempotency-Key": "openapi-svc-3"})
    for i in range(2):   # eng-a and eng-b take the rest of Wednesday morning
        other = sb.new_order(d, w)
        c("POST", svc_t, f"/v1/orders/{other['id']}/services", 201, body=body,
          headers={"Idempotency-Key": f"openapi-svc-fill-{i}"})
    other = sb.new_order(d, w)
    c("POST", svc_t, f"/v1/orders/{other['id']}/services", 409, body=body,
      headers={"Idempotency-Key": "openapi-svc-full"})
    c("GET", svc_t, f"{base}/services", 200)
    one = f"{base}/services/{a['id']}"
    c("GET", one_t, one, 200)
    c("GET", one_t, f"{base}/services/svc_0000000000000000", 404)
    c("PATCH", one_t, one, 200, body={"window_start": sb.THU_PM})
    c("PATCH", one_t, one, 422, body={"window_start": "2030-01-10T12:00:00+08:00"})
    late = sb.daemon(w, at="2030-01-10T10:00:00+08:00")
    lc = Checker(late)
    r = lc("DELETE", one_t, one, 409)
    assert r.json()["type"].endswith(":too-late-to-cancel"), r
    lc.done()
    c("DELETE", one_t, one, 200, body={"reason": "openapi"})
    c("DELETE", one_t, one, 409)
def test_issue_12_p3_visits_match_the_document(w):
    """issue 12 part P3: visit events (each kind, a refused charge, an
    illegal one, another's visit), the visit document by each reader, and
    the tracking views with service lines and services (full and public)."""
    import test_service_visits as sv
    d = sv.visits_daemon(w)
    c = Checker(d)
    eid, tok = sv.engineer(w, d)
    oid = sv.order(w)
    aid = sv.appointment(w, oid, eid, "repair", sv.REPAIR_LIST)
    aid2 = sv.appointment(w, oid, eid)
    ev, one = "/v1/services/{id}/events", "/v1/services/{id}"

    def post(a, want, body):
        return c("POST", ev, f"/v1/services/{a}/events", want, token=tok, body=body,
                 headers={"Idempotency-Key": uuid.uuid4().hex})
    c("GET", one, f"/v1/services/{aid}", 200, token=tok)
    post(aid, 200, {"event": "arrived"})
    post(aid, 409, {"event": "completed"})
    post(aid, 200, {"event": "started"})
    post(aid, 422, {"event": "completed", "charges": [{"code": "gold", "qty": 1}]})
    post(aid, 422, {"event": "completed", "charges": [{"code": "replacement_part", "qty": 1,
                                                       "unit_price": 300}]})
    post(aid, 200, {"event": "completed", "notes": "valve replaced",
                    "charges": [{"code": "replacement_part", "qty": 1, "unit_price": "280.00"}]})
    post(aid2, 200, {"event": "failed", "reason": "parts_missing", "notes": "no valve"})
    post("svc_" + "0" * 16, 404, {"event": "arrived"})
    c("GET", one, f"/v1/services/{aid}", 200)
    c("GET", one, f"/v1/services/{aid}", 404, token=sv.engineer(w, d, "Zhao Lei")[1])
    c("GET", "/v1/orders/{id}/tracking", f"/v1/orders/{oid}/tracking", 200)
    code = sql(w, f"SELECT tracking_code FROM orders WHERE id = '{oid}'")
    pub = c("GET", "/v1/track/{code}", f"/v1/track/{code}", 200, token=None).json()
    assert [e["kind"] for e in pub["events"]] == ["service.arrived", "service.started",
                                                  "service.completed", "service.failed"], pub
    c.done()


def test_issue_12_p5_answers_match_the_document(w):
    """POST /v1/orders/{id}/exchanges (issue 12 part P5): created, replayed,
    out of stock, outside the window, not delivered, invalid."""
    import test_exchanges as tx
    d = tx.xd(w)
    c = Checker(d)
    sku = new_sku(w, {FDC: 6})
    none_left = new_sku(w, {FDC: 0})
    o = tx.delivered_order(w, d, sku, qty=2)
    path = f"/v1/orders/{o['id']}/exchanges"
    t = "/v1/orders/{id}/exchanges"
    key = uuid.uuid4().hex
    body = {"lines": [{"line": 1, "qty": 1}], "reason": "no_reason", "notes": "too small",
            "pickup_wave": tx.WAVE}
    c("POST", t, path, 201, body=body, headers={"Idempotency-Key": key})
    c("POST", t, path, 201, body=body, headers={"Idempotency-Key": key})
    c("POST", t, path, 422, body=dict(body, notes="other"), headers={"Idempotency-Key": key})
    c("POST", t, path, 409, body=dict(body, lines=[{"line": 1, "qty": 1,
                                                     "replacement_sku": none_left}]),
      headers={"Idempotency-Key": uuid.uuid4().hex})
    c("POST", t, path, 422, body=dict(body, pickup_wave="2030-01-08"),
      headers={"Idempotency-Key": uuid.uuid4().hex})
    old = tx.delivered_order(w, d, sku, at="2029-12-01T00:00:00Z")
    c("POST", t, f"/v1/orders/{old['id']}/exchanges", 422, body=body,
      headers={"Idempotency-Key": uuid.uuid4().hex})
    fresh = tx.post(d, order_body([(sku, 1)])).json()
    c("POST", t, f"/v1/orders/{fresh['id']}/exchanges", 409, body=body,
      headers={"Idempotency-Key": uuid.uuid4().hex})
    c("POST", t, "/v1/orders/ord_none/exchanges", 404, body=body,
      headers={"Idempotency-Key": uuid.uuid4().hex})
    c.done()


def test_issue_12_p1_answers_match_the_document(w):
    """Engineers, their day plans and their route (issue 12, part P1)."""
    import test_engineers as te
    d = te.daemon(w)
    te.no_engineers(w)
    c = Checker(d)
    st, day = te.ST, "2030-01-30"  # a Wednesday of its own
    eid = "oa-e-" + uuid.uuid4().hex[:8]
    base = f"/v1/stations/{st}/engineers"
    one = "/v1/stations/{id}/engineers/{engineer}"
    new = {"id": eid, "name": "Zhang Gong", "phone": "+86 139 0000 0009",
           "skills": ["large_appliances"], "daily_capacity": 3, "provider": "Haier Service"}
    c("POST", "/v1/stations/{id}/engineers", base, 201, body=new)
    c("POST", "/v1/stations/{id}/engineers", base, 409, body=new)
    c("POST", "/v1/stations/{id}/engineers", base, 422, body=dict(new, daily_capacity=0))
    c("GET", "/v1/stations/{id}/engineers", base, 200)
    c("GET", "/v1/stations/{id}/engineers", base + "?active=all", 200)
    c("GET", one, f"{base}/{eid}", 200)
    c("GET", one, f"{base}/nobody", 404)
    c("PATCH", one, f"{base}/{eid}", 200, body={"daily_capacity": 4, "provider": None})
    c("PUT", one + "/shifts", f"{base}/{eid}/shifts", 200,
      body={"weekly": [{"days": ["wed"], "start": "09:00", "end": "18:00"}]})
    c("POST", one + "/duty", f"{base}/{eid}/duty", 200, body={"on_shift": False})
    c("POST", one + "/duty", f"{base}/{eid}/duty", 200, body={"on_shift": True})
    placed = te.appointment(w, te.new_order(d, w), "large_appliances", "09:00", "13:00", eid,
                            day=day)
    te.appointment(w, te.new_order(d, w), "air_conditioners", "09:00", "13:00", eid, day=day)
    plan = "/v1/stations/{id}/service-days/{date}/plan"
    routes = "/v1/stations/{id}/service-days/{date}/routes"
    doc = c("POST", plan, f"/v1/stations/{st}/service-days/{day}/plan", 200).json()
    assert [v["appointment"] for e in doc["engineers"] for v in e["visits"]] == [placed], doc
    assert len(doc["unassigned"]) == 1, doc
    c("POST", plan, f"/v1/stations/{st}/service-days/2030-13-01/plan", 422)
    c("GET", routes, f"/v1/stations/{st}/service-days/{day}/routes", 200)
    c("GET", routes, f"/v1/stations/{st}/service-days/2031-01-01/routes", 200)
    c("GET", routes, f"/v1/stations/nope/service-days/{day}/routes", 404)
    tok = w.token("engineer", eid, label="openapi engineer")
    harness.wait_until(lambda: d.get("/v1/admin/tokens/whoami", token=tok).status == 200,
                       timeout=6, what="the daemon to know the engineer token")
    me = "/v1/engineers/me/route"
    mine = c("GET", me, f"{me}?date={day}", 200, token=tok).json()
    assert [v["appointment"] for v in mine["visits"]] == [placed], mine
    c("GET", me, me, 200, token=tok)
    c("GET", me, f"{me}?date=soon", 422, token=tok)
    c("GET", me, me, 403)
    c("DELETE", one, f"{base}/{eid}", 200)
    c.done()
    p1 = {(m, p) for (m, p) in OPS if "/engineers" in p or "/service-days/" in p}
    succeeded = {(m, p) for m, p, status in c.checked if status < 300}
    assert len(p1) == 10 and p1 <= succeeded, sorted(p1 - succeeded)


def test_issue_13_c1_cod_answers_match_the_document(w):
    """Issue 13 part C1: a cash-on-delivery order, its stop delivered with
    what was collected, the route and tracking showing it, a short hand-over,
    the day, the open discrepancy and its resolution."""
    import test_cod as cod
    d = hh.hd(w)
    c = Checker(d)
    sku = new_sku(w, {FDC: 10})
    body = order_body([(sku, 1)], recipient=hh.RECIPIENT,
                      payment={"method": "cod", "amount": "0.30", "currency": "CNY"})
    o = c("POST", "/v1/orders", "/v1/orders", 201, body=body,
          headers={"Idempotency-Key": uuid.uuid4().hex}).json()
    c("POST", "/v1/orders", "/v1/orders", 422,
      body=dict(body, payment={"method": "cod", "amount": 0.3, "currency": "CNY"}),
      headers={"Idempotency-Key": uuid.uuid4().hex})
    sql(w, f"UPDATE shipments SET status = 'arrived_at_station' WHERE order_id = '{o['id']}'")
    ann, tok = hh.courier(w, d)
    hh.plan(w, hh.WAVE, [ann])
    sid = hh.stop(w, o["id"], ann, 0)
    c("GET", "/v1/couriers/me/route", "/v1/couriers/me/route", 200, token=tok)
    ev = "/v1/stops/{id}/events"
    c("POST", ev, f"/v1/stops/{sid}/events", 422, token=tok,
      body={"event": "delivered", "proof": cod.PHOTO,
            "collected": {"method": "cash", "amount": "0.20"}},
      headers={"Idempotency-Key": uuid.uuid4().hex})
    c("POST", ev, f"/v1/stops/{sid}/events", 200, token=tok,
      body={"event": "delivered", "proof": cod.PHOTO,
            "collected": {"method": "cash", "amount": "0.20", "short_reason": "customer_short"}},
      headers={"Idempotency-Key": uuid.uuid4().hex})
    c("GET", "/v1/orders/{id}", f"/v1/orders/{o['id']}", 200)
    c("GET", "/v1/orders/{id}/tracking", f"/v1/orders/{o['id']}/tracking", 200)
    c("GET", "/v1/track/{code}", f"/v1/track/{o['tracking_code']}", 200, token=None)
    base = f"/v1/stations/{hh.ST}/couriers/{ann}/settlements"
    t = "/v1/stations/{id}/couriers/{cid}/settlements"
    st = c("POST", t, base, 201, body={"day": "2030-01-08", "handed": "0.10", "notes": "short"},
           headers={"Idempotency-Key": "oa-set"}).json()
    c("POST", t, base, 422, body={"day": "2030-01-08", "handed": "0.20"},
      headers={"Idempotency-Key": "oa-set"})
    c("POST", t, base, 422, body={"day": "2030-01-08", "handed": 0.1},
      headers={"Idempotency-Key": uuid.uuid4().hex})
    c("POST", t, f"/v1/stations/{hh.ST}/couriers/nobody/settlements", 404,
      body={"day": "2030-01-08", "handed": "0.10"}, headers={"Idempotency-Key": "oa-x"})
    c("GET", t, base + "?day=2030-01-08", 200)
    c("GET", t, base + "?day=yesterday", 422)
    c("GET", "/v1/admin/cod-discrepancies", "/v1/admin/cod-discrepancies?status=open", 200)
    c("GET", "/v1/admin/cod-discrepancies", "/v1/admin/cod-discrepancies?status=x", 422)
    r = "/v1/stations/{id}/couriers/{cid}/settlements/{sid}/resolution"
    c("POST", r, f"{base}/{st['id']}/resolution", 422, body={"reason": ""})
    c("POST", r, f"{base}/{st['id']}/resolution", 200, body={"reason": "counted again"})
    c("POST", r, f"{base}/{st['id']}/resolution", 409, body={"reason": "other"})
    c("POST", r, f"{base}/set_0000000000000000/resolution", 404, body={"reason": "x"})
    c("GET", "/v1/admin/cod-discrepancies", "/v1/admin/cod-discrepancies", 200)
    c.done()


def test_issue_13_c1_cod_corrections_answer_as_documented(w):
    """Issue 13 part C1 (part M): a short hand-over, a correction that
    balances the day and closes it, its replay, bad input, and the ledger."""
    import test_cod as cod
    d = hh.hd(w)
    c = Checker(d)
    ann, tok = hh.courier(w, d)
    o = cod.cod_order(w, d, amount="0.30")
    hh.plan(w, hh.WAVE, [ann])
    assert cod.delivered(d, tok, hh.stop(w, o["id"], ann, 0),
                         {"method": "cash", "amount": "0.30"}).status == 200
    assert cod.settle(d, ann, {"day": "2030-01-08", "handed": "0.20"}).status == 201
    t = "/v1/stations/{id}/couriers/{cid}/cod-corrections"
    url = f"/v1/stations/{hh.ST}/couriers/{ann}/cod-corrections"
    body = {"day": "2030-01-08", "amount": "-0.10", "reason": "counted twice",
            "order": o["id"]}
    r = c("POST", t, url, 201, body=body, headers={"Idempotency-Key": "oa-corr"})
    assert len(r.json()["closed"]) == 1, r.json()
    c("POST", t, url, 201, body=body, headers={"Idempotency-Key": "oa-corr"})
    c("POST", t, url, 422, body=dict(body, amount="0.10"), headers={"Idempotency-Key": "oa-corr"})
    c("POST", t, url, 422, body=dict(body, amount=-0.1), headers={"Idempotency-Key": "oa-c2"})
    c("POST", t, f"/v1/stations/{hh.ST}/couriers/nobody/cod-corrections", 404, body=body,
      headers={"Idempotency-Key": "oa-c3"})
    c("POST", t, url, 403, body=body, token=tok, headers={"Idempotency-Key": "oa-c4"})
    lt = "/v1/stations/{id}/couriers/{cid}/cod-ledger"
    lg = f"/v1/stations/{hh.ST}/couriers/{ann}/cod-ledger"
    r = c("GET", lt, lg + "?day=2030-01-08", 200)
    assert [e["kind"] for e in r.json()["entries"]] == \
        ["collection", "handover", "correction", "resolution"], r.json()
    c("GET", lt, lg + "?day=tomorrow", 422)
    c("GET", lt, f"/v1/stations/{hh.ST}/couriers/nobody/cod-ledger?day=2030-01-08", 404)
    c.done()

def test_issue_13_c2_pickup_points_answer_as_documented(w):
    """Issue 13 part C2: each pickup point operation, live, with the orders'
    tracking pages once a parcel is held (the code in the full view) and
    after its collection."""
    d = hh.hd(w)
    c = Checker(d)
    pid = "oa-pp-" + uuid.uuid4().hex[:6]
    base = {"id": pid, "station": "bj-st-001", "name": "Lane 5 shop", "address": "5 Lane",
            "lon": 116.44, "lat": 39.93, "opening_hours": "Mo-Su 08:00-22:00", "capacity": 1}
    c("POST", "/v1/pickup-points", "/v1/pickup-points", 201, body=base)
    c("POST", "/v1/pickup-points", "/v1/pickup-points", 409, body=base)
    c("POST", "/v1/pickup-points", "/v1/pickup-points", 422, body=dict(base, capacity=1.5))
    c("POST", "/v1/pickup-points", "/v1/pickup-points", 201,
      body={"id": pid + "-l", "station": "bj-st-001", "name": "Locker", "lon": 116.4,
            "lat": 39.9, "kind": "locker", "compartments": {"S": 2, "L": 1}})
    c("GET", "/v1/pickup-points", "/v1/pickup-points?station=bj-st-001", 200)
    c("GET", "/v1/pickup-points", "/v1/pickup-points?retired=maybe", 422)
    one = "/v1/pickup-points/{id}"
    c("GET", one, f"/v1/pickup-points/{pid}-l", 200)
    c("GET", one, "/v1/pickup-points/oa-none", 404)
    c("PATCH", one, f"/v1/pickup-points/{pid}", 200, body={"capacity": 2})
    c("PATCH", one, f"/v1/pickup-points/{pid}", 422, body={"capacity": -1})
    sku = new_sku(w, {FDC: 10})
    orders = [c("POST", "/v1/orders", "/v1/orders", 201, body=order_body([(sku, 1)]),
                headers={"Idempotency-Key": uuid.uuid4().hex}).json() for _ in range(3)]
    sql(w, f"UPDATE orders SET pickup_point_id = '{pid}' WHERE id IN "
           f"({','.join(repr(o['id']) for o in orders)}); UPDATE shipments SET status = "
           f"'out_for_delivery' WHERE order_id IN ({','.join(repr(o['id']) for o in orders)})")
    arr = "/v1/pickup-points/{id}/arrivals"
    at = f"/v1/pickup-points/{pid}/arrivals"
    c("POST", arr, at, 201, body={"order": orders[0]["id"]})
    c("POST", arr, at, 200, body={"order": orders[0]["id"]})
    c("POST", arr, at, 201, body={"order": orders[1]["id"]})
    c("POST", arr, at, 409, body={"order": orders[2]["id"]})
    c("POST", arr, at, 422, body={"order": orders[2]["id"], "size": "S"})
    c("POST", arr, "/v1/pickup-points/oa-none/arrivals", 404, body={"order": "x"})
    c("PATCH", one, f"/v1/pickup-points/{pid}", 409, body={"capacity": 1})
    c("DELETE", one, f"/v1/pickup-points/{pid}", 409)
    c("DELETE", one, f"/v1/pickup-points/{pid}-l", 200)
    tr = "/v1/orders/{id}/tracking"
    c("GET", tr, f"/v1/orders/{orders[0]['id']}/tracking", 200)
    c("GET", "/v1/track/{code}", f"/v1/track/{orders[0]['tracking_code']}", 200, token=None)
    shop = w.token("order_service", label="oa pickup shop")
    pp = w.token("pickup_point", pid, label="oa pickup point")
    harness.wait_until(lambda: d.get(f"/v1/orders/{orders[0]['id']}/tracking",
                                     token=shop).status == 200, what="the shop token known")
    harness.wait_until(lambda: d.get(f"/v1/pickup-points/{pid}", token=pp).status == 200,
                       what="the point token known")
    code = c("GET", tr, f"/v1/orders/{orders[0]['id']}/tracking", 200,
             token=shop).json()["pickup"]["code"]
    wrong = f"{(int(code) + 1) % 10 ** 8:08d}"
    col = "/v1/pickup-points/{id}/collections"
    cat = f"/v1/pickup-points/{pid}/collections"
    c("POST", col, cat, 200, body={"code": code}, headers={"Idempotency-Key": "oa-pk"})
    c("POST", col, cat, 200, body={"code": code}, headers={"Idempotency-Key": "oa-pk"})
    c("POST", col, cat, 422, body={"code": wrong}, headers={"Idempotency-Key": "oa-pk"})
    c("POST", col, cat, 422, body={"code": code}, headers={"Idempotency-Key": "oa-pk2"})
    c("POST", col, "/v1/pickup-points/oa-none/collections", 404, body={"code": code},
      headers={"Idempotency-Key": "oa-pk3"})
    for i in range(5):
        c("POST", col, cat, 422, body={"code": wrong}, headers={"Idempotency-Key": f"oa-w{i}"},
          token=pp)
    c("POST", col, cat, 429, body={"code": wrong}, headers={"Idempotency-Key": "oa-w5"}, token=pp)
    c("GET", tr, f"/v1/orders/{orders[0]['id']}/tracking", 200)
    c.done()


def test_issue_14_driven_clock_answers_as_documented(w):
    """Issue 14 part S: the driven clock moved (and its instant shown by the
    promise: a slot that has started is no longer offered), a bad instant,
    and 404 under a fixed clock."""
    from test_promise import setup_network
    setup_network(w)
    setup = w.daemon(extra_conf=harness.clock_conf(driven=True))
    harness.wait_until(lambda: setup.get("/v1/stations").status == 200, what="areas loaded")
    c = Checker(setup)
    promise = "/v1/promise?lat=39.9087&lon=116.3975&sku=SKU-00001:1"
    before = setup.get(promise)
    c("PUT", "/v1/admin/clock", "/v1/admin/clock", 200, body={"at": "2030-01-08T16:30:00+08:00"})
    after = setup.get(promise)
    if before.status == 200 and after.status == 200:
        starts = [s["start"] for s in after.json().get("slots", [])]
        assert all(s >= "2030-01-08T16:30" for s in starts), starts
        assert starts != [s["start"] for s in before.json().get("slots", [])], starts
    c("PUT", "/v1/admin/clock", "/v1/admin/clock", 422, body={"at": "2030-01-08 16:30"})
    c("PUT", "/v1/admin/clock", "/v1/admin/clock", 422,
      body={"at": "2030-01-08T16:30:00+08:00", "x": 1})
    c.done()
    setup.stop()
    fixed = w.daemon(extra_conf=harness.clock_conf())
    c = Checker(fixed)
    c("PUT", "/v1/admin/clock", "/v1/admin/clock", 404, body={"at": "2030-01-08T16:30:00+08:00"})
    c.done()


if __name__ == "__main__":
    harness.run(globals())
