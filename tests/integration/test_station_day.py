"""A station's day end to end (issue 11, "Tests and figures"): one station of
the Beijing sample network, 300 orders over two waves of one day (150
standard orders in the 13:00 wave, 150 in the 17:00-19:00 precise slot of
the 17:00 wave), 10 couriers made through the couriers API with shifts
covering the day; warehouse scans (picked, packed, departed_warehouse) and
the station's arrival scans in batches; each wave planned automatically at
its cut-off by the wave scheduler as the fixed test clock moves (SIGHUP);
couriers with courier tokens fetch their routes, start them, post pings and
post stop events: most delivered with the proof each stop requires (PIN or
photo reference), some failed with reason codes and rescheduled into the
17:00 wave, where they are delivered (a retry), and one retry fails again
and goes back to the warehouse ([dispatch] max_attempts = 2). One courier
goes off duty mid-wave: the warm-start replan moves its remaining stops to
others while its done stops stay put. A failure after the 17:00 wave was
planned queues its replan (reason retry). The daemon restarts between the
waves.

At the end: every stop is delivered or failed with a reason (and every
failed one rescheduled or sent back), every order delivered, delivered on
its retry or returning after its last attempt, as its shipments say; no
courier acted on another's stop; the feed read from cursor 0 is exactly
what happened (each arrival, each plan version with its changes, each
outcome, the off-duty mark; seq 1..n without gaps) and a reader that
stopped half-way, before the restart, reconnects with its cursor and gets
exactly the rest; the public tracking page of a retried order tells its
story."""
import json
import random
import threading
import uuid

import harness
from test_promise import setup_network, plenty_of_stock, TIANANMEN
from test_webhooks import Receiver, verify, FAST  # the receiver and its signature check

DAY = "2030-01-08"                 # a Tuesday, as harness.TEST_NOW
W1, W2 = "20300108-W1300", "20300108-W1700"
N_PER_WAVE = 150
N_COURIERS = 10
SKU, PIN_SKU = "SKU-00001", "SKU-00002"   # PIN_SKU's orders need a PIN at the door
REASONS = ["customer_absent", "refused", "address_wrong", "damaged", "no_access", "unsafe",
           "other"]
SCHED = ("[dispatch]\nscheduler_interval_ms = 100\nplan_cutoff_minutes = 30\nmax_attempts = 2\n"
         + FAST + "concurrency = 4\n")
HOOKED = ["shipment.out_for_delivery", "shipment.delivered", "shipment.failed",
          "shipment.rescheduled"]




def at(hhmm):
    return f"{DAY}T{hhmm}:00+08:00"


def sql(w, q):
    return w.pg.psql("dispatchd", q)


def rows(w, q):
    out = sql(w, q)
    return [line.split("|") for line in out.splitlines()] if out else []


class Day:
    """The daemon of the day (replaced at the restart), its clock, and what
    the feed must say: every change the test caused, in the order it caused
    them."""

    def __init__(self, w):
        self.w = w
        self.d = None
        self.expected = []        # (kind, data) the feed must hold, in order
        self.outcomes = {}        # stop id -> the 200 answer of its final event
        self.riders = set()       # the tokens of the couriers that posted pings

    def start(self, clock):
        self.d = self.w.daemon(extra_conf=SCHED + harness.clock_conf(at(clock)))
        harness.wait_until(lambda: self.d.get("/v1/stations").status == 200, what="areas loaded")
        return self.d

    def clock(self, hhmm):
        self.d.reload(SCHED + harness.clock_conf(at(hhmm)))

    def req(self, method, path, token, body=None, key=None, expect=200):
        headers = {"Idempotency-Key": key} if key else None
        r = self.d.request(method, path, body=body, token=token, headers=headers)
        if expect is not None:
            assert r.status == expect, (method, path, body, r)
        return r


def known(d, *tokens):
    """Wait until the daemon knows the new tokens (its token cache reloads)."""
    for tok in tokens:
        harness.wait_until(lambda: d.get("/v1/admin/tokens/whoami", token=tok).status == 200,
                           timeout=6, what="the daemon to know a new token")


def station_points(d, n):
    """n distinct points served by Tiananmen's station, and the station."""
    st = d.get(f"/v1/locate?{TIANANMEN}").json()["station"]
    rng = random.Random(11)
    pts = []
    for _ in range(4 * n):
        lat = st["lat"] + rng.uniform(-0.02, 0.02)
        lon = st["lon"] + rng.uniform(-0.02, 0.02)
        r = d.get(f"/v1/locate?lat={lat:.6f}&lon={lon:.6f}")
        if r.status == 200 and r.json()["station"]["id"] == st["id"]:
            pts.append((round(lat, 6), round(lon, 6)))
            if len(pts) == n:
                break
    assert len(pts) == n, len(pts)
    return st, pts


def place_orders(day, st, pts, slots, shop):
    """150 standard orders (the 13:00 wave at 08:00) and 150 in the 17:00
    and 19:00 slots (the 17:00 wave); every fifth order has a line of
    PIN_SKU."""
    orders = {}
    for i, (lat, lon) in enumerate(pts):
        body = {"external_id": f"day-{i}", "customer": {"lat": lat, "lon": lon},
                "recipient": {"name": f"Li Na{i}", "phone": f"+86 139 0000 {i:04d}",
                              "address": f"{i} Qianmen St", "notes": "leave with the guard"},
                "lines": [{"sku": PIN_SKU if i % 5 == 0 else SKU, "qty": 1}],
                "delivery_option": "standard"}
        if i >= N_PER_WAVE:
            body["delivery_option"] = "slot"
            body["slot"] = {"start": slots[i % 2]}
        r = day.d.request("POST", "/v1/orders", body=body, headers={"Idempotency-Key": f"day-{i}"},
                          token=shop)
        assert r.status == 201, (i, r)
        o = r.json()
        assert o["station"]["id"] == st, o["station"]
        orders[o["id"]] = o
    return orders


def scan_batch(day, token, scans):
    """One batch request; every scan 200. Arrivals that moved a shipment are
    feed lines."""
    r = day.req("POST", "/v1/shipments/events", token, body={"scans": scans})
    res = r.json()["results"]
    assert [x["status"] for x in res] == [200] * len(scans), [x for x in res if x["status"] != 200]
    for s in scans:
        if s["event"] == "arrived_at_station":
            day.expected.append(("shipment.arrived", {"order": s["order"], "seq": s["seq"]}))
    return res


def wait_version(day, st, wave, version, token):
    def got():
        r = day.d.get(f"/v1/stations/{st}/waves/{wave}/routes", token=token)
        return r.json() if r.status == 200 and r.json()["version"] >= version else None
    plan = harness.wait_until(got, timeout=30, what=f"{wave} version {version}")
    assert plan["version"] == version, (plan["version"], version)
    return plan


def expect_plan(day, plan):
    """A published version: its assigned and moved stops, then the plan."""
    for c in plan["changes"]:
        if c["change"] in ("assigned", "moved"):
            day.expected.append(("stop." + c["change"], {k: v for k, v in c.items()
                                                        if k != "change"}))
    nstops = sum(len(r["stops"]) for r in plan["routes"])
    day.expected.append(("plan.published", {"wave": plan["wave"], "version": plan["version"],
                                            "plan_id": plan["plan_id"], "reason": plan["reason"],
                                            "routes": len(plan["routes"]), "stops": nstops}))


def check_routes(plan, couriers, windows=True):
    seen = [s["stop_id"] for r in plan["routes"] for s in r["stops"]]
    for s in (s for r in plan["routes"] for s in r["stops"] if windows):
        assert s["window"]["start"] <= s["eta"] <= s["window"]["end"], s
    assert len(seen) == len(set(seen)), "a stop on two routes"
    assert plan["unassigned"] == [], plan["unassigned"]
    assert {r["courier_id"] for r in plan["routes"]} <= set(couriers), plan["routes"]


def pings_near(day, tok, stops, hhmm):
    """A batch of pings on the way to the route's first stops (device time
    around the test clock, sent newest first as a handheld catching up)."""
    base = f"{DAY}T{hhmm}"
    items = []
    for k, s in enumerate(stops[:3]):
        p = s["point"]
        items.append({"at": f"{base}:{10 * k:02d}.250+08:00", "lon": p["lon"] - 0.001,
                      "lat": p["lat"], "accuracy_m": 6.0 + k})
    r = day.req("POST", "/v1/couriers/me/locations", tok, body={"pings": items[::-1]},
                expect=202)
    day.riders.add(tok)
    assert r.json()["accepted"] == len(items), r


def act(day, cid, tok, stop, event, pins, reason=None, arrived_first=False):
    """One courier's event at a stop, with the proof the stop requires. The
    feed gets a stop.outcome for each answered event."""
    path = f"/v1/stops/{stop['id']}/events"
    if arrived_first:
        r = day.req("POST", path, tok, body={"event": "arrived"}, key=uuid.uuid4().hex)
        assert r.json()["status"] == "arrived", r
        day.expected.append(("stop.outcome", {"stop": stop["id"], "order": stop["order"],
                                              "wave": r.json()["wave"], "courier": cid,
                                              "event": "arrived"}))
    if event == "delivered":
        if stop["proof"] == "pin":
            body = {"event": "delivered", "proof": {"pin": pins[stop["id"]]}}
        else:
            assert stop["proof"] == "photo", stop
            body = {"event": "delivered", "proof": {"photo_ref": f"photos/{stop['id']}.jpg"}}
    else:
        body = {"event": "failed", "reason": reason}
        if reason == "other":
            body["notes"] = "gate locked, guard away"
    key = uuid.uuid4().hex
    r = day.req("POST", path, tok, body=body, key=key)
    doc = r.json()
    assert doc["id"] == stop["id"] and doc["status"] == event, doc
    # A replay answers the first answer byte for byte and adds nothing.
    again = day.req("POST", path, tok, body=body, key=key)
    assert again.body == r.body, (again, r)
    line = {"stop": stop["id"], "order": stop["order"], "wave": doc["wave"], "courier": cid,
            "event": event}
    if event == "failed":
        line["reason"] = reason
        retry = doc["outcome"]["retry"]
        if retry is not None:
            line["rescheduled_to"] = retry["wave"]
    day.expected.append(("stop.outcome", line))
    day.outcomes[stop["id"]] = doc
    return doc


def read_feed(day, st, token, cursor=0, limit=None):
    """Every change after cursor (in pages of limit) and the last cursor."""
    out = []
    while True:
        q = f"cursor={cursor}" + (f"&limit={limit}" if limit else "")
        r = day.d.get(f"/v1/stations/{st}/feed?{q}", token=token)
        assert r.status == 200, r
        page = r.json()
        out += page["changes"]
        if page["changes"]:
            assert page["next_cursor"] == page["changes"][-1]["seq"], page
        cursor = page["next_cursor"]
        if not page["more"]:
            return out, cursor


def same_line(got, want):
    return (got["kind"], got["data"]) == want


def strings_and_keys(doc):
    """Every string value and every member name in a JSON document."""
    texts, keys, todo = [], set(), [doc]
    while todo:
        v = todo.pop()
        if isinstance(v, dict):
            keys.update(v)
            todo.extend(v.values())
        elif isinstance(v, list):
            todo.extend(v)
        elif isinstance(v, str):
            texts.append(v)
    return texts, keys

def test_a_stations_day(w):
    setup_network(w)
    day = Day(w)
    d = day.start("08:00")
    plenty_of_stock(w)
    st_doc, pts = station_points(d, 2 * N_PER_WAVE)
    st = st_doc["id"]
    st_tok = w.token("station", st, label="station day")
    known(d, st_tok)

    # Ten couriers through the couriers API, on shift 08:00-21:00 every day.
    couriers = [f"day-c{i:02d}" for i in range(N_COURIERS)]
    names = {}
    for i, cid in enumerate(couriers):
        names[cid] = ["Wang Wei", "Li Qiang", "Zhang Min", "Liu Yang", "Chen Jie", "Yang Fan",
                      "Zhao Lei", "Huang Yu", "Zhou Tao", "Wu Hao"][i]
        day.req("POST", f"/v1/stations/{st}/couriers", st_tok, expect=201,
                body={"id": cid, "name": names[cid], "phone": f"+86 138 0000 {i:04d}",
                      "vehicle": "e_bike"})
        day.req("PUT", f"/v1/stations/{st}/couriers/{cid}/shifts", st_tok,
                body={"weekly": [{"days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
                                  "start": "08:00", "end": "21:00"}]})
    toks = {cid: w.token("courier", cid, label=f"handheld {cid}") for cid in couriers}
    known(d, *toks.values())

    # 300 orders: the standard ones go to the 13:00 wave, the others to the
    # 17:00 and 19:00 slots (the 17:00 wave).
    slots = [at("17:00"), at("19:00")]
    promise = d.get(f"/v1/promise?{TIANANMEN}&sku={SKU}:1").json()
    assert set(slots) <= {s["start"] for s in promise["slots"]}, promise["slots"]
    # The shop's order_service client places them, subscribed to the
    # shipment events of its orders (part F).
    shop = w.token("order_service", label="the shop")
    known(d, shop)
    receiver = Receiver()
    receiver.server.socket.listen(256)  # a shop's backlog, not Python's 5
    hook = day.req("POST", "/v1/webhooks", shop, expect=201,
                   body={"url": receiver.url("/ok"), "events": HOOKED}).json()
    orders = place_orders(day, st, pts, slots, shop)
    ids = list(orders)
    wave_of = {}
    for oid, key in rows(w, "SELECT order_id, counter_key FROM order_capacity "
                            f"WHERE station_id = '{st}' AND counter_key LIKE '%-W%'"):
        wave_of[oid] = key
    first, second = ids[:N_PER_WAVE], ids[N_PER_WAVE:]
    assert {wave_of[o] for o in first} == {W1} and {wave_of[o] for o in second} == {W2}, \
        sorted(set(wave_of.values()))
    # The catalogue's large SKUs go through large windows, not waves: mark
    # this small one large once ordered, so that its stops need a PIN.
    sql(w, f"UPDATE skus SET large = true WHERE sku = '{PIN_SKU}'")
    shipments = rows(w, "SELECT order_id, seq, warehouse_id FROM shipments WHERE order_id IN ("
                        + ", ".join(f"'{o}'" for o in ids) + ") ORDER BY order_id, seq")
    assert len(shipments) >= len(ids), len(shipments)
    wh_tok = w.token("warehouse", *sorted({s[2] for s in shipments}), label="warehouses")
    known(d, wh_tok)

    # Warehouse scans in batches (one event per batch, all 300 shipments),
    # at 08:00: the parcels leave for the station.
    for ev in ("picked", "packed", "departed_warehouse"):
        scan_batch(day, wh_tok, [{"order": o, "seq": int(s), "event": ev,
                                  "key": f"wh-{o}-{s}-{ev}", "place": "dock 2"}
                                 for o, s, _ in shipments])
    # The 13:00 wave's parcels are scanned in at the station at 11:00.
    day.clock("11:00")
    arrive1 = [{"order": o, "seq": int(s), "event": "arrived_at_station", "key": f"in-{o}-{s}"}
               for o, s, _ in shipments if o in set(first)]
    scan_batch(day, st_tok, arrive1)

    # 12:31: past the 13:00 wave's cut-off (30 min): planned automatically.
    day.clock("12:31")
    v1 = wait_version(day, st, W1, 1, st_tok)
    assert v1["reason"] == "auto", v1["reason"]
    check_routes(v1, couriers)
    assert sorted(s["order_id"] for r in v1["routes"] for s in r["stops"]) == sorted(first)
    expect_plan(day, v1)
    # The 09:00 wave had nothing booked: no plan for it, no feed line.
    harness.wait_until(lambda: sql(w, "SELECT count(*) FROM wave_auto_plans WHERE station_id = "
                                      f"'{st}' AND wave_key = '20300108-W0900' "
                                      "AND done_at IS NOT NULL") == "1", what="09:00 done")
    assert d.get(f"/v1/stations/{st}/waves/20300108-W0900/routes", token=st_tok).status == 404

    pins = dict(rows(w, f"SELECT id, pin FROM stops WHERE station_id = '{st}' AND proof = 'pin'"))
    assert pins and all(len(p) == 6 and p.isdigit() for p in pins.values()), pins
    pin_orders = {o for i, o in enumerate(ids) if i % 5 == 0}
    # The shop reads a PIN from the order_service tracking view.
    some_pin = sorted(pins)[0]
    pin_order = sql(w, f"SELECT order_id FROM stops WHERE id = '{some_pin}'")
    full = d.get(f"/v1/orders/{pin_order}/tracking").json()
    assert full["stop"]["id"] == some_pin and full["stop"]["pin"] == pins[some_pin], full["stop"]
    # A stop needs a PIN exactly when its order has a large line.
    assert set(sql(w, f"SELECT order_id FROM stops WHERE station_id = '{st}' "
                      "AND proof = 'pin'").split()) == pin_orders & set(first)
    assert sql(w, f"SELECT string_agg(DISTINCT proof, ',') FROM stops WHERE station_id = '{st}' "
                  "AND proof <> 'pin'") == "photo"

    # 13:05: the couriers fetch their routes, start them and ping.
    day.clock("13:05")
    routes = {}
    for cid in couriers:
        doc = day.req("GET", "/v1/couriers/me/route", toks[cid]).json()
        mine = [r for r in v1["routes"] if r["courier_id"] == cid]
        if not mine:
            assert doc["version"] is None and doc["stops"] == [], doc
            continue
        assert (doc["courier"], doc["wave"], doc["version"], doc["started"]) == \
            (cid, W1, 1, False), doc
        assert [s["id"] for s in doc["stops"]] == [s["stop_id"] for s in mine[0]["stops"]]
        assert all(s["recipient"]["name"].startswith("Li Na") for s in doc["stops"])
        # The PIN is text: it must be in no string and under no member of
        # the route (numbers are not searched: a 6-digit PIN turns up by
        # chance in the digits of a coordinate).
        texts, keys = strings_and_keys(doc)
        assert "pin" not in keys and all(pins.get(s["id"]) not in t for s in doc["stops"]
                                         if s["proof"] == "pin" for t in texts), \
            "the courier never sees a PIN"
        routes[cid] = doc["stops"]
        r = day.req("POST", "/v1/couriers/me/route/start", toks[cid]).json()
        assert (r["wave"], r["version"], r["stops"]) == (W1, 1, len(doc["stops"])), r
        assert r["moved"] == len(doc["stops"]), r
        pings_near(day, toks[cid], doc["stops"], "13:05")
    assert len(routes) >= 2, routes.keys()
    # Out for delivery with the courier, the stop and its ETA.
    cid0 = sorted(routes)[0]
    s0 = routes[cid0][0]
    detail = json.loads(sql(w, f"SELECT detail FROM order_events WHERE order_id = '{s0['order']}'"
                               " AND kind = 'out_for_delivery'"))
    assert (detail["courier"], detail["courier_name"], detail["stop"]) == \
        (cid0, names[cid0], s0["id"]) and detail["eta"], detail

    # No courier acts on another's stop: 404, nothing changes.
    a, b = sorted(routes)[:2]
    theirs = routes[b][0]
    r = day.req("POST", f"/v1/stops/{theirs['id']}/events", toks[a], key=uuid.uuid4().hex,
                body={"event": "arrived"}, expect=404)
    assert r.json()["type"] == "urn:dispatchd:problem:not-found", r
    assert sql(w, f"SELECT status FROM stops WHERE id = '{theirs['id']}'") == "planned"
    # A wrong PIN is 422 naming it.
    some = [(c, s) for c in routes for s in routes[c] if s["proof"] == "pin"][0]
    wrong = "000000" if pins[some[1]["id"]] != "000000" else "111111"
    r = day.req("POST", f"/v1/stops/{some[1]['id']}/events", toks[some[0]], expect=422,
                key=uuid.uuid4().hex, body={"event": "delivered", "proof": {"pin": wrong}})
    assert "proof.pin" in [e["field"] for e in r.json()["errors"]], r

    # The first half of each route: mostly delivered, every 9th stop failed
    # (reason codes in turn). The courier with the longest route does 2 stops
    # only, then goes off duty.
    off = max(routes, key=lambda c: (len(routes[c]), c))
    n_fail = [0]
    failed_w1 = {}

    def work(cid, stops):
        for s in stops:
            n_fail[0] += 1
            if n_fail[0] % 9 == 0:
                reason = REASONS[len(failed_w1) % len(REASONS)]
                doc = act(day, cid, toks[cid], s, "failed", pins, reason=reason,
                          arrived_first=True)
                assert doc["outcome"]["reason"] == reason, doc
                retry = doc["outcome"]["retry"]
                assert retry["wave"] == W2 and retry["attempt"] == 2, doc
                failed_w1[s["id"]] = (s["order"], retry["stop"])
            else:
                act(day, cid, toks[cid], s, "delivered", pins, arrived_first=(s["proof"] == "pin"))

    done_before = {}
    for cid in sorted(routes):
        k = 2 if cid == off else len(routes[cid]) // 2
        work(cid, routes[cid][:k])
        done_before[cid] = [s["id"] for s in routes[cid][:k]]
    assert len(failed_w1) >= 2, "some first attempts failed"

    # 13:45: the courier goes off duty (flat tyre); the wave is replanned
    # warm: its done stops stay, its remaining stops move to others.
    day.clock("13:45")
    before = {sid: row for sid, *row in rows(w, "SELECT id, courier_id, position, status, "
                                               f"route_version FROM stops WHERE wave_key = '{W1}'"
                                               f" AND station_id = '{st}'")}
    r = day.req("POST", f"/v1/stations/{st}/couriers/{off}/duty", st_tok,
                body={"on_shift": False, "reason": "flat tyre"}).json()
    assert r["changed"] is True and r["on_shift"] is False and W1 in r["replans_due"], r
    day.expected.append(("courier.off_shift", {"courier": off, "at": r["at"],
                                               "reason": "flat tyre"}))
    v2 = wait_version(day, st, W1, 2, st_tok)
    expect_plan(day, v2)
    assert v2["reason"] == "courier.off_shift", v2["reason"]
    after = {sid: row for sid, *row in rows(w, "SELECT id, courier_id, position, status, "
                                              f"route_version FROM stops WHERE wave_key = '{W1}' "
                                              f"AND station_id = '{st}'")}
    done_ids = [sid for c in done_before for sid in done_before[c]]
    for sid in done_ids:
        assert after[sid] == before[sid], (sid, before[sid], after[sid])
    left = [s["id"] for s in routes[off][2:]]
    assert left, "the courier had stops left"
    moved_to = {}
    for sid in left:
        assert after[sid][0] != off and after[sid][2] == "planned", (
            "the off-duty courier kept a stop it will never serve (its on-duty stretch before "
            "now is still a vehicle of the replan)", sid, after[sid])
        moved_to[sid] = after[sid][0]
    moved = {c["stop"]: c for c in v2["changes"] if c["change"] == "moved"}
    for sid in left:
        assert moved[sid]["from"]["courier"] == off and \
            moved[sid]["to"]["courier"] == moved_to[sid], moved.get(sid)
    assert off not in {rt["courier_id"] for rt in v2["routes"]}, "the off-duty courier routed"
    check_routes(v2, [c for c in couriers if c != off], windows=False)
    # The wave is under way: nobody is routed before now.
    for s in (s for rt in v2["routes"] for s in rt["stops"] if after[s["stop_id"]][2] == "planned"):
        assert s["eta"] >= at("13:45"), s
    # The courier no longer has those stops: acting on one is 404.
    day.req("POST", f"/v1/stops/{left[0]}/events", toks[off], key=uuid.uuid4().hex,
            body={"event": "arrived"}, expect=404)

    # The rest of the 13:00 wave, on version 2; one courier's last stop is
    # still ahead of it when the 17:00 wave is planned.
    day.clock("14:30")
    late = None
    for cid in sorted(set(couriers) - {off}):
        doc = day.req("GET", "/v1/couriers/me/route", toks[cid]).json()
        if doc["version"] is None:
            continue
        assert (doc["wave"], doc["version"]) == (W1, 2), doc
        day.req("POST", "/v1/couriers/me/route/start", toks[cid])  # the stops it got
        todo = [s for s in doc["stops"] if s["status"] == "planned"]
        if late is None and len(todo) > 1:
            late, todo = (cid, todo[-1]), todo[:-1]
        work(cid, todo)
    assert late is not None
    left_w1 = rows(w, f"SELECT id FROM stops WHERE wave_key = '{W1}' AND station_id = '{st}'"
                      " AND status NOT IN ('delivered', 'failed')")
    assert left_w1 == [[late[1]["id"]]], left_w1

    # A station screen read its feed so far, then stopped.
    mid_tok = w.token("station", st, label="station screen")
    known(d, mid_tok)
    seen_mid, cursor_mid = read_feed(day, st, mid_tok, limit=50)
    assert cursor_mid == len(day.expected), (cursor_mid, len(day.expected))

    # 15:00: the daemon restarts.
    d.stop()
    assert d.failure() is None, d.failure()
    d = day.start("15:00")

    # 16:00: the 17:00 wave's parcels are scanned in, while the screen
    # long-polls from its cursor: it wakes with the first arrival.
    day.clock("16:00")
    polled = []
    poll = threading.Thread(target=lambda: polled.append(d.get(
        f"/v1/stations/{st}/feed?cursor={cursor_mid}&wait=20", token=mid_tok, timeout=30)))
    poll.start()
    harness.wait_until(lambda: d.metric("dispatchd_http_inflight_requests") == 1,
                       what="the poll waiting")
    arrive2 = [{"order": o, "seq": int(s), "event": "arrived_at_station", "key": f"in-{o}-{s}"}
               for o, s, _ in shipments if o in set(second)]
    scan_batch(day, st_tok, arrive2)
    poll.join()
    assert polled and polled[0].status == 200, polled
    woke = polled[0].json()["changes"]
    assert woke and woke[0]["seq"] == cursor_mid + 1 and woke[0]["kind"] == "shipment.arrived", woke

    # 16:31: the 17:00 wave is planned at its cut-off: its new orders and
    # the retries of the 13:00 wave's failures; the off-duty courier is off
    # until the end of its day.
    day.clock("16:31")
    v1b = wait_version(day, st, W2, 1, st_tok)
    assert v1b["reason"] == "auto", v1b["reason"]
    check_routes(v1b, [c for c in couriers if c != off])
    routed = {s["stop_id"]: s["order_id"] for r in v1b["routes"] for s in r["stops"]}
    retries = {retry: order for order, retry in failed_w1.values()}
    assert set(retries) <= set(routed), "every retry planned"
    assert sorted(routed.values()) == sorted(second + list(retries.values()))
    expect_plan(day, v1b)

    # 16:45: the late stop fails; its retry lands in the 17:00 wave, which
    # has a plan already: the wave is replanned (version 2, reason retry)
    # and the retry assigned.
    day.clock("16:45")
    cid, s = late
    doc = act(day, cid, toks[cid], s, "failed", pins, reason="no_access", arrived_first=True)
    retry = doc["outcome"]["retry"]
    assert (retry["wave"], retry["attempt"]) == (W2, 2), doc
    failed_w1[s["id"]] = (s["order"], retry["stop"])
    retries[retry["stop"]] = s["order"]
    v2b = wait_version(day, st, W2, 2, st_tok)
    assert v2b["reason"] == "retry", v2b["reason"]
    check_routes(v2b, [c for c in couriers if c != off])
    assert [c["change"] for c in v2b["changes"] if c["stop"] == retry["stop"]] == ["assigned"]
    assert sorted(s["order_id"] for r in v2b["routes"] for s in r["stops"]) == \
        sorted(second + list(retries.values()))
    expect_plan(day, v2b)
    pins = dict(rows(w, f"SELECT id, pin FROM stops WHERE station_id = '{st}' AND proof = 'pin'"))

    # 17:05: the second wave. Every stop delivered but one retry, which
    # fails again: its order goes back to the warehouse (max_attempts 2).
    day.clock("17:05")
    last_retry = sorted(retries)[0]
    live_seen = False
    for cid in sorted(set(couriers) - {off}):
        doc = day.req("GET", "/v1/couriers/me/route", toks[cid]).json()
        if doc["version"] is None:
            continue
        if doc["wave"] == W1:
            # No stop of the 17:00 wave (the planner may leave a courier
            # idle): its finished 13:00 route is what it sees (docs/api.md).
            assert cid not in {rt["courier_id"] for rt in v2b["routes"]}, (cid, doc["version"])
            assert all(s["status"] in ("delivered", "failed") for s in doc["stops"]), doc
            continue
        assert (doc["wave"], doc["version"]) == (W2, 2), doc
        r = day.req("POST", "/v1/couriers/me/route/start", toks[cid]).json()
        assert r["moved"] == len(doc["stops"]), (r, doc["stops"])
        pings_near(day, toks[cid], doc["stops"], "17:05")
        if not live_seen:
            # The customer's page: out for delivery with the courier's first
            # name and live position.
            code = orders[doc["stops"][0]["order"]]["tracking_code"]
            page = d.get(f"/v1/track/{code}", token=None).json()
            assert page["status"] == "out_for_delivery", page["status"]
            live = page["live"]
            assert live["courier"] == {"first_name": names[cid].split()[0]}, live
            assert live["position"] is not None and live["stop"]["status"] == "planned", live
            live_seen = True
        for s in doc["stops"]:
            if s["id"] == last_retry:
                res = act(day, cid, toks[cid], s, "failed", pins, reason="customer_absent")
                assert res["outcome"]["retry"] is None and \
                    res["outcome"]["returning_to_warehouse"] is True, res
            else:
                act(day, cid, toks[cid], s, "delivered", pins, arrived_first=(s["attempt"] == 2))
    assert live_seen
    # The off-duty courier: no route in either wave's current version.
    off_doc = day.req("GET", "/v1/couriers/me/route", toks[off]).json()
    assert off_doc["version"] is None and off_doc["stops"] == [], off_doc

    # Every stop delivered or failed with a reason, each failure rescheduled
    # or sent back; nobody acted on another courier's stop.
    stops = rows(w, "SELECT id, order_id, wave_key, attempt, status, courier_id, "
                    f"coalesce(outcome::text, 'null') FROM stops WHERE station_id = '{st}'")
    assert len(stops) == 2 * N_PER_WAVE + len(failed_w1), len(stops)
    by_order = {}
    for sid, oid, wave, attempt, status, cid, outcome in stops:
        outcome = json.loads(outcome)
        by_order.setdefault(oid, []).append((int(attempt), status, sid))
        assert status in ("delivered", "failed"), (sid, status)
        assert sid in day.outcomes, ("a stop nobody acted on", sid)
        assert day.outcomes[sid]["outcome"]["courier"] == cid, (sid, cid, day.outcomes[sid])
        if outcome is not None:
            assert outcome.get("courier", cid) == cid, (sid, outcome)
        if status == "failed":
            reason = day.outcomes[sid]["outcome"]["reason"]
            assert reason in REASONS, (sid, reason)
    returned = retries[last_retry]
    states = {oid: (status, set(ship.split(","))) for oid, status, ship in rows(
        w, "SELECT o.id, o.status, string_agg(DISTINCT s.status, ',') FROM orders o "
           f"JOIN shipments s ON s.order_id = o.id WHERE o.station_id = '{st}' GROUP BY o.id")}
    assert set(states) == set(ids), len(states)
    for oid in ids:
        attempts = sorted(by_order[oid])
        order_status, ship = states[oid]
        if oid == returned:
            assert [(n, s) for n, s, _ in attempts] == [(1, "failed"), (2, "failed")], attempts
            assert order_status == "returning_to_warehouse" and \
                ship == {"returning_to_warehouse"}, (order_status, ship)
        elif len(attempts) == 2:
            assert [(n, s) for n, s, _ in attempts] == [(1, "failed"), (2, "delivered")], attempts
            assert attempts[1][2] in retries
            assert order_status == "delivered" and ship == {"delivered"}, (order_status, ship)
        else:
            assert [(n, s) for n, s, _ in attempts] == [(1, "delivered")], (oid, attempts)
            assert order_status == "delivered" and ship == {"delivered"}, (order_status, ship)

    # The feed from cursor 0 is exactly the day, seq 1..n without gaps.
    feed, head = read_feed(day, st, st_tok)
    assert [c["seq"] for c in feed] == list(range(1, len(feed) + 1)), "gaps or disorder"
    assert head == len(feed) == len(day.expected), (head, len(feed), len(day.expected))
    for got, want in zip(feed, day.expected):
        assert same_line(got, want), (got, want)
    kinds = [c["kind"] for c in feed]
    assert kinds.count("plan.published") == 4 and kinds.count("courier.off_shift") == 1, kinds
    assert kinds.count("stop.outcome") == len([k for k, _ in day.expected
                                               if k == "stop.outcome"])
    # The screen that stopped before the restart gets exactly the rest.
    rest, end = read_feed(day, st, mid_tok, cursor=cursor_mid, limit=37)
    assert rest == feed[cursor_mid:] and end == head, (len(rest), len(feed) - cursor_mid)
    assert seen_mid == feed[:cursor_mid]

    # The shop received each shipment event of its orders once or more
    # (at least once: deduplicated on the delivery id), signed, also those
    # recorded around the restart.
    if receiver is not None:
        want = {int(i): (k, o) for i, k, o in rows(
            w, "SELECT e.id, e.kind, e.order_id FROM order_events e JOIN orders o "
               f"ON o.id = e.order_id WHERE o.station_id = '{st}' AND e.kind IN ("
               + ", ".join(f"'{k[9:]}'" for k in HOOKED) + ")")}
        assert len(want) >= 2 * len(ids), len(want)

        def got():
            out = {}
            for path, headers, body in receiver.received("/ok"):
                ev = verify(hook["secret"], headers, body)
                assert headers["Dispatch-Event"] == ev["type"], (headers, ev)
                out[headers["Dispatch-Delivery"]] = ev
            return out
        harness.wait_until(lambda: len({e["id"] for e in got().values()}) >= len(want),
                           timeout=30, what="every webhook delivered")
        events = {e["id"]: e for e in got().values()}
        assert set(events) == set(want), (len(events), len(want))
        for eid, e in events.items():
            kind, oid = want[eid]
            assert e["type"] == "shipment." + kind and e["data"]["order"] == oid, e
            assert e["data"]["tracking_code"] == orders[oid]["tracking_code"], e
        receiver.close()

    # The pings reached PostgreSQL: a position for every courier that rode.
    rode = {c for c in couriers if toks[c] in day.riders}
    harness.wait_until(lambda: set(sql(w, "SELECT courier_id FROM courier_positions WHERE "
                                          "courier_id LIKE 'day-c%'").split()) == rode,
                       timeout=5, what="the couriers' positions flushed")

    # The public tracking page of a retried order tells its story.
    retried = sorted(set(retries.values()) - {returned})[0]
    code = orders[retried]["tracking_code"]
    page = d.get(f"/v1/track/{code}", token=None)
    assert page.status == 200, page
    doc = page.json()
    assert doc["status"] == "delivered" and doc["recipient"]["name"] == "L.", doc
    ev = [e["kind"] for e in doc["events"]]
    assert ev == ["allocated", "picked", "packed", "departed_warehouse", "arrived_at_station",
                  "out_for_delivery", "arrived", "failed", "rescheduled", "out_for_delivery",
                  "arrived", "delivered"], ev
    fail = [e for e in doc["events"] if e["kind"] == "failed"][0]
    assert fail["reason"] in REASONS and "notes" not in fail, fail
    resched = [e for e in doc["events"] if e["kind"] == "rescheduled"][0]
    assert resched["rescheduled_to"]["wave"] == W2, resched
    ofd = [e for e in doc["events"] if e["kind"] == "out_for_delivery"]
    assert all(e["courier"]["first_name"] and "id" not in e["courier"] for e in ofd), ofd
    assert "Qianmen" not in page.body and retried not in page.body
    # The order that failed twice is on its way back to the warehouse.
    back = d.get(f"/v1/track/{orders[returned]['tracking_code']}", token=None).json()
    assert back["status"] == "returning_to_warehouse", back["status"]
    back_kinds = [e["kind"] for e in back["events"]]
    assert back_kinds[-2:] == ["failed", "returning_to_warehouse"] and \
        back_kinds.count("failed") == 2 and back_kinds.count("rescheduled") == 1, back_kinds


if __name__ == "__main__":
    harness.run(globals())
