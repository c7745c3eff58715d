#!/usr/bin/env python3
"""The simulated day of `make demo` (issue 14 part S): a load generator that
replays a compressed day in Beijing against a running dispatchd through its
REST API only, with real tokens, and prints the day's figures.

The daemon must run with the test-only driven clock ([testing] clock =
driven, docs/operations.md "The time source"): this script moves the
daemon's time minute by minute with PUT /v1/admin/clock, paced so that the
day (24 h of orders) takes --wall-seconds of real time; the next day's
deliveries of the evening's orders follow unpaced. Whenever the day needs
the daemon (a wave's plan at its cut-off) the clock waits for it, so the
figures do not depend on the machine's speed.

What happens (all through the API):
  setup       the admin makes tokens (order_service, warehouse, one station
              token per station, one per courier, engineer and pickup point),
              couriers and engineers with shifts, a pickup point per station,
              and a webhook to a receiver in this process;
  orders      on a daily curve (morning and evening peaks), over the
              stations (the sample network places them in proportion to the
              districts' population), small parcels and large appliances
              (some with installation), precise slots, cash on delivery,
              pickup points; some cancelled soon after;
  warehouses  pick, pack and depart at the line-haul departures of their
              chain (the defaults of data/migrations/003_orders.sql); the
              stations scan the parcels in at departure + line-haul;
  waves       planned by the daemon at their cut-offs (the wave scheduler);
  couriers    at the wave's start fetch their route, start it, follow it by
              the planner's ETAs (their vehicle's speed), ping, post stop
              events (a few failures with reasons: retried in a later wave),
              collect cash on delivery, settle at the end of the shift;
  customers   collect pickup parcels with their codes (read, as the shop
              does, from the order's tracking view), ask for returns of
              delivered orders (picked up by couriers);
  engineers   do the installation visits of their day plan.

At the end: a summary table, the figures as name=value lines, and
--out (build/demo/day.json, the contract of /work/notes/wave2.md read by
scripts/demo_report.py).

Python standard library only.
"""
import argparse
import csv
import datetime as dt
import http.client
import http.server
import json
import math
import os
import random
import sys
import threading
import time
import urllib.parse

TZ = dt.timezone(dt.timedelta(hours=8))  # Asia/Shanghai, the sample's [promise] timezone
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Orders per local hour of the day (weights): a night trough, a morning peak
# at 10-11, lunch, and the evening peak at 20-21.
CURVE = [1.0, 0.6, 0.35, 0.25, 0.25, 0.4, 0.9, 2.0, 3.2, 4.3, 5.2, 5.0,
         4.2, 3.9, 3.8, 3.9, 4.0, 4.3, 4.8, 5.6, 6.3, 6.0, 4.4, 2.4]
# The warehouses' chain (data/migrations/003_orders.sql, intake_warehouses
# defaults): handling before a departure, departures (s of the local day),
# line-haul to the stations.
CHAIN = {"rdc": (5400, [18000, 28800, 39600, 46800, 54000, 61200, 72000], 5400),
         "fdc": (1800, [h * 3600 for h in range(6, 23)], 2700)}
# The stations' waves ([promise] waves of the sample config): a precise
# slot belongs to the wave it starts in.
WAVES = [(9, 13), (13, 17), (17, 21), (21, 23)]
REASONS = [("customer_absent", 50), ("no_access", 15), ("address_wrong", 10),
           ("refused", 8), ("damaged", 5), ("unsafe", 3), ("other", 9)]
SURNAMES = ["Wang", "Li", "Zhang", "Liu", "Chen", "Yang", "Zhao", "Huang", "Zhou", "Wu",
            "Xu", "Sun", "Hu", "Zhu", "Gao", "Lin", "He", "Guo", "Ma", "Luo"]
GIVEN = ["Wei", "Fang", "Na", "Min", "Jing", "Li", "Qiang", "Lei", "Jun", "Yang", "Yong",
         "Yan", "Jie", "Tao", "Ming", "Chao", "Xiu", "Hua", "Ping", "Gang"]


def iso(t):
    """Local RFC 3339 of an aware datetime (what the daemon parses)."""
    return t.astimezone(TZ).isoformat(timespec="seconds")


def parse_t(s):
    return dt.datetime.fromisoformat(s.replace("Z", "+00:00"))


def wave_end(start):
    h = start.astimezone(TZ).hour
    return start + dt.timedelta(hours=next((b - a for a, b in WAVES if a == h), 4))


def wave_key(start):
    s = start.astimezone(TZ)
    return s.strftime("%Y%m%d-W%H%M")


class Api:
    """One keep-alive HTTP/1.1 connection to the daemon; answers are
    (status, parsed JSON or None)."""

    def __init__(self, base):
        u = urllib.parse.urlsplit(base)
        self.host, self.port = u.hostname, u.port or 80
        self.conn = None
        self.requests = 0

    def call(self, method, path, token, body=None, key=None, timeout=30):
        headers = {"Authorization": "Bearer " + token}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        if key is not None:
            headers["Idempotency-Key"] = key
        fresh = 0
        attempt = 0
        while True:
            attempt += 1
            try:
                if self.conn is None:
                    self.conn = http.client.HTTPConnection(self.host, self.port, timeout=timeout)
                self.conn.request(method, path, body=data, headers=headers)
                r = self.conn.getresponse()
                raw = r.read()
                self.requests += 1
                if r.getheader("Connection", "").lower() == "close":
                    self.conn.close()
                    self.conn = None
                if r.status in (429, 503) and attempt < 4:
                    time.sleep(float(r.getheader("Retry-After", "1") or 1))
                    continue
                if r.status == 401 and fresh < 60:
                    # A token made a moment ago: the daemon's token cache
                    # knows it within seconds (docs/api.md, tokens).
                    fresh += 1
                    time.sleep(0.1)
                    continue
                try:
                    doc = json.loads(raw) if raw else None
                except ValueError:
                    doc = None
                return r.status, doc
            except (OSError, http.client.HTTPException):
                if self.conn is not None:
                    self.conn.close()
                self.conn = None
                if attempt >= 4:
                    raise
                time.sleep(0.2)


class Receiver:
    """The shop's webhook endpoint: counts distinct deliveries."""

    def __init__(self):
        seen = self.seen = set()
        lock = self.lock = threading.Lock()

        class H(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                n = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(n)
                with lock:
                    seen.add(self.headers.get("Dispatch-Delivery") or str(len(seen)))
                self.send_response(204)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *a):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self):
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks"

    def count(self):
        with self.lock:
            return len(self.seen)

    def close(self):
        self.server.shutdown()
        self.server.server_close()


# ------------------------------------------------------------------ geometry

def rings_of(geom):
    if geom["type"] == "Polygon":
        return [geom["coordinates"]]
    return geom["coordinates"]


def inside(lon, lat, geom):
    """Point in (Multi)Polygon, even-odd over every ring."""
    for poly in rings_of(geom):
        c = False
        for ring in poly:
            j = len(ring) - 1
            for i in range(len(ring)):
                xi, yi = ring[i][0], ring[i][1]
                xj, yj = ring[j][0], ring[j][1]
                if (yi > lat) != (yj > lat) and lon < (xj - xi) * (lat - yi) / (yj - yi) + xi:
                    c = not c
                j = i
        if c:
            return True
    return False


def bbox(geom):
    xs = [p[0] for poly in rings_of(geom) for ring in poly for p in ring]
    ys = [p[1] for poly in rings_of(geom) for ring in poly for p in ring]
    return min(xs), min(ys), max(xs), max(ys)


def km(a, b):
    """Great-circle km between [lon, lat] points."""
    la1, la2 = math.radians(a[1]), math.radians(b[1])
    dla, dlo = la2 - la1, math.radians(b[0] - a[0])
    h = math.sin(dla / 2) ** 2 + math.cos(la1) * math.cos(la2) * math.sin(dlo / 2) ** 2
    return 2 * 6371.0 * math.asin(math.sqrt(min(1.0, h)))


# ------------------------------------------------------------------ the day

class Day:
    def __init__(self, args):
        self.a = args
        self.rng = random.Random(args.seed)
        self.api = Api(args.base)
        self.admin = args.admin_token
        self.day = dt.date.fromisoformat(args.day)
        self.t0 = dt.datetime.combine(self.day, dt.time(0, 0), TZ)
        self.now = self.t0
        self.run = args.run_id
        self.log_lines = []
        self.n_fig = {}
        # state
        self.orders = {}        # id -> dict
        self.rejected = {}      # reason -> n
        self.ship_todo = []     # shipments waiting for the warehouse: dicts
        self.arrivals = []      # (time, station, order, seq)
        self.waves = {}         # (station, key) -> {"start","end","cut","orders":set}
        self.plans = {}         # (station, key) -> latest plan doc
        self.plan_versions = []  # solve_ms of every version seen
        self.couriers = {}      # id -> dict(station, token, name, vehicle, next_t, cod_fen, ...)
        self.stop_seen = set()
        self.failed_stops = 0
        self.delivered_stops = 0
        self.returns = {}       # return id -> dict
        self.returns_picked = 0
        self.exchanges_done = 0
        self.exchanges_asked = 0
        self.pickup_pending = []  # (time, order) parcels to scan in at their point
        self.collect_todo = []    # (time, order) customers coming to collect
        self.pickups_collected = 0
        self.pickups_held = 0
        self.cancelled = 0
        self.cod_fen = 0
        self.engineer_jobs = 0
        self.installs_booked = 0
        self.days_waited = set()
        self.feed_cursor = {}
        self.feed_lines = 0
        self.next_feed = self.t0
        self.replacements = {}  # exchange replacement orders: not counted as accepted
        self.visits = []
        self.sample_visit = None
        self.settlements = []
        self.path_cache = {}
        self.stop_status = {}   # stop id -> the status our last event gave it
        self.replan_wait = set()  # waves given a retry or a pickup after their plan

    # -------------------------------------------------------------- helpers
    def say(self, *parts):
        if not self.a.quiet:
            print("demo_day:", *parts, flush=True)

    def call(self, method, path, token=None, body=None, key=None, ok=(200, 201, 202)):
        st, doc = self.api.call(method, path, token or self.admin, body, key)
        if ok is not None and st not in ok:
            raise RuntimeError(f"{method} {path}: HTTP {st} {json.dumps(doc)[:300]}")
        return st, doc

    def set_clock(self, t):
        self.now = t
        self.call("PUT", "/v1/admin/clock", body={"at": iso(t)})

    def token(self, role, label, **scope):
        body = {"role": role, "label": label, "expires_in": "7d"}
        body.update(scope)
        _, doc = self.call("POST", "/v1/admin/tokens", body=body)
        return doc["token"]

    # -------------------------------------------------------------- setup
    def load_network(self):
        net = json.load(open(os.path.join(self.a.data, "beijing", "network.geojson")))
        self.stations, self.warehouses = {}, {}
        for f in net["features"]:
            p = f["properties"]
            if p["kind"] == "station":
                self.stations[p["id"]] = {"id": p["id"], "name": p["name"],
                                          "point": [p["lon"], p["lat"]],
                                          "area": f["geometry"], "district": p["district"]}
            else:
                self.warehouses[p["id"]] = {"id": p["id"], "name": p["name"],
                                            "point": [p["lon"], p["lat"]], "kind": p["kind"]}
        cities = json.load(open(os.path.join(self.a.data, "cities", "beijing.geojson")))
        self.districts = []
        for i, f in enumerate(cities["features"]):
            p = f["properties"]
            self.districts.append({"id": str(p.get("adcode", p.get("id", i))),
                                   "name": p.get("name", str(i)), "geometry": f["geometry"]})
        ids = sorted(self.stations)
        if self.a.stations and self.a.stations < len(ids):
            # Fewer stations, still in proportion to the districts' (the
            # network's stations are): each district keeps its share, at
            # least one, by largest remainder; its first stations by id.
            by_d = {}
            for s in ids:
                by_d.setdefault(self.stations[s]["district"], []).append(s)
            n = max(self.a.stations, len(by_d)) if self.a.stations >= len(by_d) \
                else self.a.stations
            share = {d: n * len(v) / len(ids) for d, v in by_d.items()}
            keep = {d: max(1, int(x)) if self.a.stations >= len(by_d) else int(x)
                    for d, x in share.items()}
            for d in sorted(by_d, key=lambda d: (-(share[d] - int(share[d])), d)):
                if sum(keep.values()) >= n:
                    break
                keep[d] += 1
            if sum(keep.values()) == 0:
                keep[max(by_d, key=lambda d: len(by_d[d]))] = 1
            ids = sorted(s for d, v in by_d.items() for s in v[:min(len(v), keep[d])])
        self.active = ids
        # The hub: the first station of Chaoyang (the CBD), busier than the
        # rest (--hub-share of the orders), so that its waves need several
        # couriers: the report's chosen routes.
        cbd = [x for x in ids if self.stations[x]["district"] == "110105"]
        self.hub = cbd[0] if cbd else ids[0]
        skus = list(csv.DictReader(open(os.path.join(self.a.data, "catalogue", "skus.csv"))))
        self.small = [s for s in skus if s["large_item"] != "1"]
        self.large = [s for s in skus if s["large_item"] == "1" and s["installable"] == "1"]
        self.price = {s["sku"]: s["price_cny"] for s in skus}
        vel = {"A": 6, "B": 3, "C": 1}
        self.small_w = [vel.get(s["velocity"], 1) for s in self.small]

    def setup(self):
        self.set_clock(self.t0)
        self.shop = self.token("order_service", f"demo day {self.run} shop")
        self.wh_tok = self.token("warehouse", f"demo day {self.run} warehouses",
                                 warehouses=sorted(self.warehouses))
        self.st_tok = {}
        self.points = {}
        for st in self.active:
            self.st_tok[st] = self.token("station", f"demo {st}", stations=[st])
        # A day run before on this database left its couriers and engineers
        # at these stations: they go (deactivated), this day's take over.
        for st in self.active:
            for kind in ("couriers", "engineers"):
                _, doc = self.call("GET", f"/v1/stations/{st}/{kind}", self.st_tok[st])
                for c in doc.get(kind, []):
                    self.call("DELETE", f"/v1/stations/{st}/{kind}/{c['id']}", self.st_tok[st])
        # Couriers: e-bikes, one more for every 8 expected orders a wave.
        per_station = max(1.0, self.a.orders * (1 - self.a.hub_share) / max(1, len(self.active)))
        n_c = max(2, min(8, int(math.ceil(per_station / 12.0))))
        n = 0
        for st in self.active:
            hub_c = int(math.ceil(self.a.orders * self.a.hub_share / 12.0))
            for k in range(max(n_c, min(12, hub_c)) if st == self.hub else n_c):
                n += 1
                cid = f"{st}-c{k + 1}-{self.run}"
                name = f"{self.rng.choice(SURNAMES)} {self.rng.choice(GIVEN)}"
                vehicle = "e_bike" if k % 3 != 2 else "tricycle"
                self.call("POST", f"/v1/stations/{st}/couriers", self.st_tok[st],
                          body={"id": cid, "name": name, "phone": f"+86 138 {n:04d} {k:04d}",
                                "vehicle": vehicle}, ok=(201, 409))
                self.call("PUT", f"/v1/stations/{st}/couriers/{cid}/shifts", self.st_tok[st],
                          body={"weekly": [{"days": ["mon", "tue", "wed", "thu", "fri", "sat",
                                                     "sun"], "start": "08:00", "end": "23:00"}]})
                self.couriers[cid] = {"id": cid, "station": st, "name": name, "vehicle": vehicle,
                                      "token": self.token("courier", f"handheld {cid}",
                                                          courier=cid),
                                      "next": None, "route": None, "cod_fen": 0, "km": 0.0,
                                      "stops": 0, "pos": self.stations[st]["point"],
                                      "waves": set()}
        # An installation engineer per station (large appliances).
        self.engineers = {}
        for st in self.active:
            eid = f"{st}-e1-{self.run}"
            name = f"{self.rng.choice(SURNAMES)} {self.rng.choice(GIVEN)}"
            self.call("POST", f"/v1/stations/{st}/engineers", self.st_tok[st],
                      body={"id": eid, "name": name, "phone": "+86 139 0000 0000",
                            "vehicle": "van", "skills": ["large_appliances"],
                            "daily_capacity": 6, "provider": "Demo Appliance Service"},
                      ok=(201, 409))
            self.call("PUT", f"/v1/stations/{st}/engineers/{eid}/shifts", self.st_tok[st],
                      body={"weekly": [{"days": ["mon", "tue", "wed", "thu", "fri", "sat",
                                                 "sun"], "start": "08:00", "end": "19:00"}]})
            self.engineers[eid] = {"id": eid, "station": st, "name": name, "todo": [],
                                   "token": self.token("engineer", f"handheld {eid}",
                                                       engineer=eid), "fetched": set()}
        # A pickup point (a shop near the station) per station.
        for st in self.active:
            p = self.stations[st]["point"]
            pid = f"pp-{st}-{self.run}"
            self.call("POST", "/v1/pickup-points", self.st_tok[st],
                      body={"id": pid, "station": st, "name": f"{self.stations[st]['name']} "
                            "corner shop", "address": "by the station",
                            "lon": round(p[0] + 0.004, 6), "lat": round(p[1] + 0.003, 6),
                            "opening_hours": "Mo-Su 08:00-22:00", "capacity": 200},
                      ok=(201, 409))
            self.points[st] = {"id": pid, "point": [round(p[0] + 0.004, 6),
                                                    round(p[1] + 0.003, 6)],
                               "token": self.token("pickup_point", f"point {pid}",
                                                   pickup_point=pid)}
        self.receiver = Receiver()
        _, hook = self.call("POST", "/v1/webhooks", self.shop,
                  body={"url": self.receiver.url(),
                        "events": ["shipment.delivered", "shipment.failed",
                                   "shipment.out_for_delivery", "payment.collected",
                                   "return.picked_up", "return.refund_due"]})
        self.hook = hook["id"]
        self.say(f"setup: {len(self.active)} stations, {len(self.couriers)} couriers, "
                 f"{len(self.points)} pickup points, {self.api.requests} requests")

    # -------------------------------------------------------------- orders
    def order_times(self):
        """The day's order arrival instants, sorted."""
        hours = 23  # orders until 23:00; later ones would be promised the day after next
        w = CURVE[:hours]
        total = sum(w)
        times = []
        for h in range(hours):
            n = self.a.orders * w[h] / total
            k = int(n) + (1 if self.rng.random() < n - int(n) else 0)
            for _ in range(k):
                times.append(self.t0 + dt.timedelta(hours=h, seconds=self.rng.uniform(0, 3600)))
        times.sort()
        scale = self.a.hours / 24.0
        return [self.t0 + (t - self.t0) * scale for t in times]

    def customer_point(self, st):
        s = self.stations[st]
        x0, y0, x1, y1 = bbox(s["area"])
        # Most customers near the station, in its area.
        for _ in range(60):
            r = 0.025 * math.sqrt(self.rng.random())
            a = self.rng.uniform(0, 2 * math.pi)
            lon, lat = s["point"][0] + r * math.cos(a) * 1.3, s["point"][1] + r * math.sin(a)
            if x0 <= lon <= x1 and y0 <= lat <= y1 and inside(lon, lat, s["area"]):
                return round(lon, 6), round(lat, 6)
        return s["point"][0], s["point"][1]

    def place_order(self, n):
        rng = self.rng
        st = self.hub if rng.random() < self.a.hub_share else rng.choice(self.active)
        lon, lat = self.customer_point(st)
        kind = rng.random()
        large = kind < self.a.large_share
        if large:
            sku = rng.choice(self.large)
            lines = [{"sku": sku["sku"], "qty": 1}]
        else:
            k = 1 if rng.random() < 0.75 else 2
            picked = set()
            while len(picked) < k:
                picked.add(rng.choices(self.small, weights=self.small_w)[0]["sku"])
            lines = [{"sku": s, "qty": 1 if rng.random() < 0.85 else 2} for s in sorted(picked)]
        name = f"{rng.choice(SURNAMES)} {rng.choice(GIVEN)}"
        body = {"external_id": f"demo-{self.run}-{n:05d}", "customer": {"lat": lat, "lon": lon},
                "lines": lines, "delivery_option": "standard",
                "recipient": {"name": name, "phone": f"+86 139 {n % 10000:04d} {n:04d}"[:20],
                              "address": f"{rng.randint(1, 200)} {self.stations[st]['name']} Rd"}}
        mode = "standard"
        if large:
            body["install"] = rng.random() < 0.6
            mode = "large"
        else:
            u = rng.random()
            if u < self.a.slot_share:
                mode = "slot"
            elif u < self.a.slot_share + self.a.pickup_share:
                mode = "pickup"
                body["delivery_option"] = "pickup"
                body["pickup_point"] = self.points[st]["id"]
        if mode == "slot":
            q = "&".join(f"sku={urllib.parse.quote(l['sku'])}:{l['qty']}" for l in lines)
            st_, doc = self.call("GET", f"/v1/promise?lat={lat}&lon={lon}&{q}", self.shop,
                                 ok=None)
            slots = (doc or {}).get("slots") or [] if st_ == 200 else []
            # Customers pick one of the first few slots offered.
            if slots:
                body["delivery_option"] = "slot"
                body["slot"] = {"start": rng.choice(slots[:4])["start"]}
            else:
                mode = "standard"
        cod = not large and mode != "pickup" and rng.random() < self.a.cod_share
        if cod:
            fen = 0
            for l in lines:
                fen += int(round(float(self.price[l["sku"]]) * 100)) * l["qty"]
            body["payment"] = {"method": "cod", "amount": f"{fen // 100}.{fen % 100:02d}",
                               "currency": "CNY"}
        status, doc = self.call("POST", "/v1/orders", self.shop, body=body,
                                key=body["external_id"], ok=None)
        if status != 201:
            reason = ((doc or {}).get("type") or f"http-{status}").rsplit(":", 1)[-1]
            self.rejected[reason] = self.rejected.get(reason, 0) + 1
            return
        o = {"id": doc["id"], "station": st, "mode": mode, "cod_fen": None,
             "placed": self.now, "hour": self.now.astimezone(TZ).hour,
             "promise": doc.get("promise") or {}, "tracking": doc["tracking_code"],
             "shipments": [(s["seq"], s["warehouse"]) for s in doc["shipments"]],
             "point": [lon, lat], "delivered_at": None, "status": "placed",
             "install": body.get("install", False), "lines": lines, "attempts": 0}
        if cod:
            o["cod_fen"] = int(body["payment"]["amount"].replace(".", ""))
        self.orders[o["id"]] = o
        # Its wave: the standard promise's, or the one holding the chosen slot.
        wv = self.order_wave(o)
        if wv is not None:
            wv["orders"].add(o["id"])
            o["wave"] = wv["key"]
        for seq, wh in o["shipments"]:
            self.ship_todo.append({"order": o["id"], "seq": seq, "wh": wh, "at": self.now,
                                   "station": st})
        if mode == "large" and body.get("install"):
            self.book_install(o)
        if rng.random() < self.a.cancel_share and mode != "large":
            o["cancel_at"] = self.now + dt.timedelta(minutes=rng.randint(3, 20))

    def book_install(self, o):
        """The customer books the installation of a large appliance in the
        first window offered (from tomorrow): an engineer's visit."""
        code, doc = self.call("GET", f"/v1/orders/{o['id']}/service-slots?type=installation"
                                     "&line=1", self.shop, ok=None)
        slots = (doc or {}).get("slots") or [] if code == 200 else []
        if not slots:
            return
        code, doc = self.call("POST", f"/v1/orders/{o['id']}/services", self.shop,
                              body={"type": "installation", "line": 1,
                                    "window_start": slots[0]["window_start"]},
                              key=f"{self.run}-svc-{o['id']}", ok=(201, 409, 422))
        if code == 201:
            o["appointment"] = doc["id"]
            o["appointment_day"] = doc["day"]
            self.installs_booked += 1

    def want_wave(self, st, ws, we):
        key = wave_key(ws)
        w = self.waves.setdefault((st, key), {"station": st, "key": key, "start": ws,
                                              "end": we, "cut": ws - dt.timedelta(minutes=30),
                                              "planned": False, "orders": set(), "extra": 0})
        return w

    def order_wave(self, o):
        """The wave an order is booked in (None: a large item's window)."""
        p = o["promise"]
        if o["mode"] == "large":
            return None
        if o["mode"] == "slot" and p.get("slot"):
            s = parse_t(p["slot"]["start"]).astimezone(TZ)
            for a, b in WAVES:
                if a <= s.hour < b:
                    d = dt.datetime.combine(s.date(), dt.time(a), TZ)
                    return self.want_wave(o["station"], d, d + dt.timedelta(hours=b - a))
        std = p.get("standard") or {}
        if std.get("window_start"):
            return self.want_wave(o["station"], parse_t(std["window_start"]),
                                  parse_t(std["window_end"]))
        return None

    # -------------------------------------------------------------- warehouses and stations
    def departure_for(self, wh, t):
        kind = "rdc" if "rdc" in wh else "fdc"
        handling, deps, linehaul = CHAIN[kind]
        ready = t + dt.timedelta(seconds=handling)
        base = dt.datetime.combine(ready.astimezone(TZ).date(), dt.time(0), TZ)
        for day in range(3):
            for d in deps:
                cand = base + dt.timedelta(days=day, seconds=d)
                if cand >= ready:
                    return cand, cand + dt.timedelta(seconds=linehaul)
        return None, None

    def warehouse_tick(self):
        """Departures due now: picked, packed, departed in batches; arrivals."""
        due, keep = [], []
        for s in self.ship_todo:
            if "dep" not in s:
                s["dep"], s["arr"] = self.departure_for(s["wh"], s["at"])
            o = self.orders.get(s["order"]) or self.replacements[s["order"]]
            if o.get("status") == "cancelled":
                continue
            if s["dep"] - dt.timedelta(minutes=15) <= self.now:
                due.append(s)
            else:
                keep.append(s)
        self.ship_todo = keep
        if due:
            for ev in ("picked", "packed", "departed_warehouse"):
                self.scan(self.wh_tok, [{"order": s["order"], "seq": s["seq"], "event": ev,
                                         "key": f"{self.run}-{s['order']}-{s['seq']}-{ev}",
                                         "place": s["wh"]} for s in due])
            for s in due:
                self.arrivals.append(s)
        now_in, later = [], []
        for s in self.arrivals:
            (now_in if s["arr"] <= self.now else later).append(s)
        self.arrivals = later
        by_st = {}
        for s in now_in:
            by_st.setdefault(s["station"], []).append(s)
        for st, items in sorted(by_st.items()):
            self.scan(self.st_tok[st], [{"order": s["order"], "seq": s["seq"],
                                         "event": "arrived_at_station",
                                         "key": f"{self.run}-{s['order']}-{s['seq']}-in"}
                                        for s in items])
            for s in items:
                (self.orders.get(s["order"]) or self.replacements[s["order"]])["at_station"] = \
                    self.now

    def scan(self, tok, scans):
        for i in range(0, len(scans), 200):
            _, doc = self.call("POST", "/v1/shipments/events", tok,
                               body={"scans": scans[i:i + 200]})
            for r in doc["results"]:
                if r["status"] == 409 and r.get("type", "").endswith("illegal-transition"):
                    continue  # cancelled meanwhile

    def cancel_tick(self):
        for o in self.orders.values():
            t = o.get("cancel_at")
            if t is not None and t <= self.now and o["status"] == "placed":
                st, _ = self.call("POST", f"/v1/orders/{o['id']}/cancel", self.shop,
                                  body={"reason": "customer changed their mind"}, ok=(200, 409))
                o.pop("cancel_at")
                if st == 200:
                    o["status"] = "cancelled"
                    self.cancelled += 1

    # -------------------------------------------------------------- waves
    def plans_tick(self):
        """Waves past their cut-off: wait for the daemon's automatic plan
        before the wave starts (the clock stands still meanwhile)."""
        for (st, key), w in sorted(self.waves.items()):
            if w["planned"] or self.now < w["start"]:
                continue
            deadline = time.monotonic() + self.a.plan_wait_s
            plan = None
            while time.monotonic() < deadline:
                code, doc = self.call("GET", f"/v1/stations/{st}/waves/{key}/routes",
                                      self.st_tok[st], ok=(200, 404))
                if code == 200:
                    plan = doc
                    break
                if not w["extra"] and all(self.orders[i]["status"] == "cancelled"
                                          for i in w["orders"]):
                    break  # nothing booked there is left to plan
                time.sleep(0.05)
            w["planned"] = True
            if plan is not None:
                self.take_plan(st, key, plan)
            for cid, c in self.couriers.items():
                if c["station"] == st:
                    c["next"] = self.now

    def take_plan(self, st, key, plan):
        old = self.plans.get((st, key))
        if old is None or plan["version"] > old["version"]:
            self.plans[(st, key)] = plan
            ms = (plan.get("params") or {}).get("solve_ms")
            if ms is not None and (old is None or plan["version"] != old["version"]):
                self.plan_versions.append(float(ms))

    def refresh_plans(self):
        """The last versions (replans: retries, returns) of the waves planned."""
        for (st, key), plan in sorted(self.plans.items()):
            if True:
                code, doc = self.call("GET", f"/v1/stations/{st}/waves/{key}/routes",
                                      self.st_tok[st], ok=(200, 404))
                if code == 200:
                    self.take_plan(st, key, doc)

    # -------------------------------------------------------------- couriers
    def couriers_tick(self):
        for cid in sorted(self.couriers):
            c = self.couriers[cid]
            if c["next"] is None or c["next"] > self.now:
                continue
            self.courier_step(c)

    def courier_step(self, c):
        tok = c["token"]
        _, route = self.call("GET", "/v1/couriers/me/route", tok)
        c["next"] = None
        if route["version"] is None or not route["stops"]:
            return
        todo = [s for s in route["stops"] if s["status"] in ("planned", "arrived")]
        if not todo:
            return
        start = parse_t(todo[0]["window"]["start"]) if todo[0].get("window") else self.now
        wave_start = self.waves.get((c["station"], route["wave"]), {}).get("start", start)
        if self.now < wave_start:
            c["next"] = wave_start
            return
        if not route["started"]:
            self.call("POST", "/v1/couriers/me/route/start", tok)
            c["waves"].add(route["wave"])
            c.setdefault("started_at", {})[route["wave"]] = self.now
        pings = []
        for s in todo:
            eta = parse_t(s["eta"])
            if eta > self.now:
                c["next"] = eta
                break
            self.stop_event(c, dict(s, wave=route["wave"]))
            pt = [s["point"]["lon"], s["point"]["lat"]] if s.get("point") else c["pos"]
            c["km"] += km(c["pos"], pt) * 1.3
            c["pos"] = pt
            pings.append({"at": iso(eta), "lon": pt[0], "lat": pt[1], "accuracy_m": 8.0,
                          "speed": 4.0})
        else:
            # Route done: back to the station; the next wave's route later.
            home = self.stations[c["station"]]["point"]
            c["km"] += km(c["pos"], home) * 1.3
            c["pos"] = home
            c["next"] = None
        if pings:
            self.call("POST", "/v1/couriers/me/locations", tok, body={"pings": pings[-100:]})
        if c["next"] is None:
            c["last_done"] = self.now

    def stop_event(self, c, s):
        rng = self.rng
        o = self.orders.get(s["order"])
        path = f"/v1/stops/{s['id']}/events"
        key = f"{self.run}-{s['id']}"
        if s["kind"] == "pickup":
            if rng.random() < 0.03:
                body = {"event": "failed", "reason": "customer_absent"}
            else:
                body = {"event": "picked_up"}
            code, doc = self.call("POST", path, c["token"], body=body, key=key, ok=(200, 409, 404))
            if code == 200:
                self.stop_status[s["id"]] = doc["status"]
            if code == 200 and doc["status"] == "picked_up":
                self.returns_picked += 1
            c["stops"] += 1
            return
        fail = rng.random() < self.a.fail_rate
        method = None   # how a COD order was paid at the door
        if o is not None and o.get("cod_fen") and rng.random() < 0.02:
            body = {"event": "failed", "reason": "refused"}
        elif fail:
            reason = rng.choices([r for r, _ in REASONS], weights=[w for _, w in REASONS])[0]
            body = {"event": "failed", "reason": reason}
            if reason == "other":
                body["notes"] = "gate locked, guard away"
        else:
            if s["proof"] == "pin":
                _, tr = self.call("GET", f"/v1/orders/{s['order']}/tracking", self.shop)
                body = {"event": "delivered", "proof": {"pin": (tr.get("stop") or {}).get("pin")}}
            elif s["proof"] == "signature":
                # a pickup point's drop: the point's staff sign for the parcels
                body = {"event": "delivered",
                        "proof": {"signature_ref": f"signatures/{s['id']}.png"}}
            else:
                body = {"event": "delivered", "proof": {"photo_ref": f"photos/{s['id']}.jpg"}}
            if o is not None and o.get("cod_fen"):
                due = o["cod_fen"]
                method = rng.choice(["cash", "cash", "card", "mobile"])
                coll = {"method": method, "amount": f"{due // 100}.{due % 100:02d}"}
                if method != "cash":
                    coll["reference"] = f"POS-{rng.randint(100000, 999999)}"
                body["collected"] = coll
        code, doc = self.call("POST", path, c["token"], body=body, key=key, ok=(200, 409, 404))
        c["stops"] += 1
        if code != 200:
            return
        self.stop_status[s["id"]] = doc["status"]
        if doc["status"] == "delivered" and s["kind"] == "exchange":
            self.returns_picked += 1
            self.exchanges_done += 1
            return
        if doc["status"] == "delivered":
            self.delivered_stops += 1
            if o is not None:
                o["delivered_at"] = self.now
                o["status"] = "delivered"
                o["courier"] = c["id"]
                if o.get("cod_fen"):
                    c["cod_fen"] += o["cod_fen"]
                    # the ledger's day is the stop's wave date
                    o["cod_method"] = method
                    o["cod_day"] = f"{s['wave'][:4]}-{s['wave'][4:6]}-{s['wave'][6:8]}"
                    self.cod_fen += o["cod_fen"]
                if o["mode"] == "pickup":
                    self.pickup_pending.append((self.now + dt.timedelta(minutes=10), o["id"]))
                elif rng.random() < self.a.return_share:
                    o["return_at"] = self.now + dt.timedelta(minutes=rng.randint(30, 240))
        elif doc["status"] == "failed":
            self.failed_stops += 1
            if o is not None:
                o["attempts"] += 1
                retry = (doc.get("outcome") or {}).get("retry")
                if retry:
                    ws = parse_t(retry["window_start"])
                    # The retry's wave: planned (or replanned) by the daemon.
                    w = self.want_wave(c["station"], ws, wave_end(ws))
                    w["extra"] += 1
                    if w["planned"]:
                        self.replan_wait.add((c["station"], w["key"]))
                else:
                    o["status"] = "returning"

    # -------------------------------------------------------------- pickups and returns
    def pickup_tick(self):
        keep = []
        for t, oid in self.pickup_pending:
            if t > self.now:
                keep.append((t, oid))
                continue
            o = self.orders[oid]
            pt = self.points[o["station"]]
            code, _ = self.call("POST", f"/v1/pickup-points/{pt['id']}/arrivals", pt["token"],
                                body={"order": oid}, ok=(200, 201, 409, 422))
            if code in (200, 201):
                self.pickups_held += 1
                o["held_at"] = self.now
                # Most customers come the same evening or the next morning.
                if self.rng.random() < 0.92:
                    self.collect_todo.append((self.now + dt.timedelta(
                        minutes=self.rng.randint(20, 600)), oid))
        self.pickup_pending = keep
        keep = []
        for t, oid in self.collect_todo:
            if t > self.now:
                keep.append((t, oid))
                continue
            o = self.orders[oid]
            _, tr = self.call("GET", f"/v1/orders/{oid}/tracking", self.shop)
            code_ = (tr.get("pickup") or {}).get("code")
            pt = self.points[o["station"]]
            st, _ = self.call("POST", f"/v1/pickup-points/{pt['id']}/collections", pt["token"],
                              body={"code": code_}, key=f"{self.run}-col-{oid}", ok=(200, 422))
            if st == 200:
                self.pickups_collected += 1
                o["collected_at"] = self.now
        self.collect_todo = keep

    def returns_tick(self):
        for o in self.orders.values():
            t = o.get("return_at")
            if t is None or t > self.now:
                continue
            o.pop("return_at")
            # The next wave of the station starting an hour from now or later.
            body = {"lines": [{"line": 1, "qty": 1}],
                    "reason": self.rng.choice(["no_reason", "no_reason", "defective"])}
            exchange = self.rng.random() < self.a.exchange_share
            what = "exchanges" if exchange else "returns"
            if exchange:
                body = {"lines": [{"line": 1, "qty": 1}], "reason": "no_reason",
                        "notes": "another colour"}
            for w in self.next_waves(o["station"]):
                body["pickup_wave"] = w
                code, doc = self.call("POST", f"/v1/orders/{o['id']}/{what}", self.shop,
                                      body=body, key=f"{self.run}-ret-{o['id']}",
                                      ok=(200, 201, 409, 422))
                if code in (200, 201):
                    self.returns[doc["id"]] = {"order": o["id"], "wave": w, "kind": doc["kind"]}
                    self.exchanges_asked += doc["kind"] == "exchange"
                    rep = doc.get("replacement_order")
                    if rep:
                        # The replacement leaves its warehouse like any order;
                        # the exchange stop hands it over and collects the return.
                        for sh in rep.get("shipments", []):
                            self.ship_todo.append({"order": rep["id"], "seq": sh["seq"],
                                                   "wh": sh["warehouse"], "at": self.now,
                                                   "station": o["station"]})
                        self.replacements[rep["id"]] = {
                            "id": rep["id"], "station": o["station"], "status": "placed",
                            "mode": "exchange", "point": o["point"]}
                    # The pickup wave asked for (YYYYMMDD-WHHMM, local).
                    ws = dt.datetime.strptime(w, "%Y%m%d-W%H%M").replace(tzinfo=TZ)
                    wv = self.want_wave(o["station"], ws, wave_end(ws))
                    wv["extra"] += 1
                    if wv["planned"]:
                        self.replan_wait.add((o["station"], wv["key"]))
                    break
                if code != 422:
                    break

    def next_waves(self, st):
        local = self.now.astimezone(TZ)
        out = []
        for day in range(2):
            d = local.date() + dt.timedelta(days=day)
            for hh in (9, 13, 17, 21):
                s = dt.datetime.combine(d, dt.time(hh), TZ)
                if s >= self.now + dt.timedelta(hours=1):
                    out.append(wave_key(s))
        return out[:2]

    def replans_tick(self):
        """Waves given a retry or a pickup after their plan: the daemon
        replans them; pick up the new version (couriers see it on their
        next step)."""
        for st, key in sorted(self.replan_wait):
            old = self.plans.get((st, key), {}).get("version", 0)
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline:
                code, doc = self.call("GET", f"/v1/stations/{st}/waves/{key}/routes",
                                      self.st_tok[st], ok=(200, 404))
                if code == 200 and doc["version"] > old:
                    self.take_plan(st, key, doc)
                    break
                time.sleep(0.05)
            for c in self.couriers.values():
                if c["station"] == st and c["next"] is None:
                    c["next"] = self.now
        self.replan_wait = set()

    # -------------------------------------------------------------- station feeds
    def feeds_tick(self):
        """Every two hours each station's screen reads its feed from its
        cursor (arrivals, plans, stop outcomes, pickups, COD lines)."""
        if self.now < self.next_feed:
            return
        self.next_feed = self.now + dt.timedelta(hours=2)
        for st in self.active:
            while True:
                cur = self.feed_cursor.get(st, 0)
                _, doc = self.call("GET", f"/v1/stations/{st}/feed?cursor={cur}&limit=500",
                                   self.st_tok[st])
                self.feed_lines += len(doc["changes"])
                self.feed_cursor[st] = doc["next_cursor"]
                if not doc["more"]:
                    break

    # -------------------------------------------------------------- engineers
    def engineers_tick(self):
        """Each engineer reads the day's plan at 08:00 and again every two
        hours until 16:00 (visits booked late are replanned), then at each
        visit's eta arrives and starts, and completes it after about its
        duration with some extras of its price list."""
        check = False
        while self.eng_checks and self.eng_checks[0] <= self.now:
            self.eng_checks.pop(0)
            check = True
        day = self.now.astimezone(TZ).date()
        if check and day not in self.days_waited:
            self.days_waited.add(day)
            self.wait_service_days()
        for eid in sorted(self.engineers):
            e = self.engineers[eid]
            if check:
                _, doc = self.call("GET", "/v1/engineers/me/route", e["token"])
                for v in doc.get("visits", []):
                    if v["appointment"] not in e["fetched"] and v["status"] in ("planned",
                                                                                "booked"):
                        e["fetched"].add(v["appointment"])
                        e["todo"].append({"v": v, "at": parse_t(v["eta"]), "step": "arrive"})
            for job in list(e["todo"]):
                if job["at"] > self.now:
                    continue
                self.visit_step(e, job)

    def wait_service_days(self):
        """Today's engineer day plans hold every visit booked for today
        (planned by the daemon at [services] plan_at the day before, and
        again for later bookings): wait for them, the clock standing still."""
        day = self.now.astimezone(TZ).date().isoformat()
        want = {}
        for o in self.orders.values():
            if o.get("appointment_day") == day and o["status"] != "cancelled":
                want.setdefault(o["station"], set()).add(o["appointment"])
        deadline = time.monotonic() + self.a.plan_wait_s
        for st, appts in sorted(want.items()):
            asked = False
            while time.monotonic() < deadline:
                code, doc = self.call("GET", f"/v1/stations/{st}/service-days/{day}/routes",
                                      self.st_tok[st], ok=(200, 404))
                seen = set()
                if code == 200:
                    seen = {v["appointment"] for e in doc.get("engineers", [])
                            for v in e["visits"]} | {u["appointment"] for u in
                                                     doc.get("unassigned", [])}
                if appts <= seen:
                    break
                if not asked:
                    # The station's dispatcher plans the day now rather
                    # than wait for the scheduler's turn.
                    asked = True
                    self.call("POST", f"/v1/stations/{st}/service-days/{day}/plan",
                              self.st_tok[st], ok=(200, 409, 422))
                    continue
                time.sleep(0.1)

    def visit_step(self, e, job):
        v, rng = job["v"], self.rng
        path = f"/v1/services/{v['appointment']}/events"
        key = f"{self.run}-{v['appointment']}-{job['step']}"
        if job["step"] == "arrive":
            if rng.random() < 0.03:
                self.call("POST", path, e["token"], body={"event": "failed",
                                                          "reason": "customer_absent"},
                          key=key, ok=(200, 409, 404))
                e["todo"].remove(job)
                return
            self.call("POST", path, e["token"], body={"event": "arrived"}, key=key,
                      ok=(200, 409, 404))
            self.call("POST", path, e["token"], body={"event": "started"}, key=key + "-s",
                      ok=(200, 409, 404))
            job["step"] = "complete"
            job["at"] = self.now + dt.timedelta(seconds=v.get("duration_s", 5400) *
                                                rng.uniform(0.7, 1.15))
            return
        extras = (v.get("price_list") or {}).get("extras") or []
        charges = []
        for x in extras:
            if rng.random() < 0.35:
                charges.append({"code": x["code"], "qty": rng.randint(1, max(1, min(
                    3, x.get("max_qty", 1))))})
        code, doc = self.call("POST", path, e["token"], body={"event": "completed",
                                                              "charges": charges},
                              key=key, ok=(200, 409, 404))
        e["todo"].remove(job)
        if code == 200 and doc["status"] == "completed":
            self.engineer_jobs += 1
            if self.sample_visit is None or (charges and not self.sample_visit["charges"]):
                self.sample_visit = self.visit_doc(e, doc)

    def visit_doc(self, e, doc):
        """The day.json sample visit from the visit's document and its
        order's timeline."""
        items = ((doc.get("charges") or {}).get("items")) or []
        _, order = self.call("GET", f"/v1/orders/{doc['order']}", self.shop)
        evs = [{"at": x["at"], "kind": x["kind"],
                "text": x["kind"].replace("service.", "").replace("_", " ")}
               for x in order.get("events", []) if x["kind"].startswith("service.")]
        ws = parse_t(doc["window_start"]).astimezone(TZ)
        we = parse_t(doc["window_end"]).astimezone(TZ)
        return {"appointment": doc["id"], "engineer": e["id"],
                "window": f"{ws:%Y-%m-%d %H:%M}-{we:%H:%M}",
                "arrived_at": doc.get("arrived_at") or "",
                "duration_min": round((doc.get("duration_s") or 0) / 60.0, 1),
                "charges": [{"code": i["code"], "qty": i["qty"], "unit_price": i["unit_price"]}
                            for i in items],
                "total": doc.get("total") or "0.00", "events": evs}

    # -------------------------------------------------------------- settlement
    def settle(self):
        """End of the shift: each courier hands over the cash collected
        (one courier is a little short: an open discrepancy)."""
        short_done = False
        for cid in sorted(self.couriers):
            c = self.couriers[cid]
            if not c.get("cod_day"):
                continue
            for day, fen in sorted(c["cod_day"].items()):
                handed = fen
                if not short_done and fen > 5000:
                    handed, short_done = fen - 1000, True
                st = c["station"]
                code, doc = self.call("POST", f"/v1/stations/{st}/couriers/{cid}/settlements",
                                      self.st_tok[st],
                                      body={"day": day,
                                            "handed": f"{handed // 100}.{handed % 100:02d}",
                                            "notes": "end of shift"},
                                      key=f"{self.run}-set-{cid}-{day}", ok=(200, 201, 409, 422))
                self.settlements.append({"courier": cid, "day": day, "expected_fen": fen,
                                         "handed_fen": handed, "code": code,
                                         "status": (doc or {}).get("status")})

    # -------------------------------------------------------------- the loop
    def run_day(self):
        self.replan_wait = set()
        self.eng_checks = [self.t0 + dt.timedelta(days=d, hours=h) for d in range(3)
                           for h in (8, 10, 12, 14, 16)]
        times = self.order_times()
        day_end = self.t0 + dt.timedelta(hours=self.a.hours)
        horizon = self.t0 + dt.timedelta(hours=self.a.hours + self.a.tail_hours)
        wall0 = time.monotonic()
        i, n = 0, 0
        t = self.t0
        step = dt.timedelta(minutes=1)
        last_report = t
        while t <= horizon:
            self.set_clock(t)
            while i < len(times) and times[i] <= t:
                n += 1
                self.place_order(n)
                i += 1
            self.cancel_tick()
            self.warehouse_tick()
            self.plans_tick()
            if self.replan_wait:
                self.replans_tick()
            self.couriers_tick()
            self.pickup_tick()
            self.returns_tick()
            self.engineers_tick()
            self.feeds_tick()
            if t - last_report >= dt.timedelta(hours=3):
                last_report = t
                self.say(f"{iso(t)} orders={len(self.orders)} delivered={self.delivered_stops} "
                         f"failed={self.failed_stops} requests={self.api.requests} "
                         f"wall={time.monotonic() - wall0:.0f}s")
            if t >= day_end and self.idle():
                break
            # Pacing: the day (not its tail) over --wall-seconds.
            if t < day_end and self.a.wall_seconds > 0:
                target = wall0 + (t - self.t0).total_seconds() / (self.a.hours * 3600.0) \
                    * self.a.wall_seconds
                lag = target - time.monotonic()
                if lag > 0:
                    time.sleep(lag)
            # The tail (the next day's deliveries of the day's orders) in
            # 5-minute steps: fewer clock moves, events at most 5 min late.
            if t < day_end:
                t += step
            else:
                due = [c["next"] for c in self.couriers.values() if c["next"] is not None] + \
                    [j["at"] for e in self.engineers.values() for j in e["todo"]]
                soon = min([d for d in due if d > t] + [t + 5 * step])
                t += max(step, dt.timedelta(minutes=math.ceil((soon - t).total_seconds() / 60)))
        self.end = t
        self.collect_cod_days()
        self.settle()
        self.wall_s = time.monotonic() - wall0

    def idle(self):
        """Nothing left to happen: every order delivered, cancelled or out
        of the couriers' hands, no courier with work, no parcel waiting."""
        if self.ship_todo or self.arrivals or self.pickup_pending or self.collect_todo:
            return False
        if any(c["next"] is not None for c in self.couriers.values()):
            return False
        if any(e["todo"] for e in self.engineers.values()):
            return False
        if self.installs_booked and self.now < self.t0 + dt.timedelta(days=1, hours=17):
            return False  # the next day's installations still to come
        if any(not w["planned"] for w in self.waves.values()):
            return False
        return not any(o.get("return_at") for o in self.orders.values())

    def collect_cod_days(self):
        """The cash each courier collected per wave day (the ledger's day):
        what they hand over (card and mobile payments are not handed in)."""
        for c in self.couriers.values():
            c["cod_day"] = {}
        for o in self.orders.values():
            if o.get("cod_method") == "cash" and o["status"] == "delivered" and o.get("courier"):
                c = self.couriers[o["courier"]]
                c["cod_day"][o["cod_day"]] = c["cod_day"].get(o["cod_day"], 0) + o["cod_fen"]

    # -------------------------------------------------------------- figures
    def deadline(self, o):
        p = o["promise"]
        if o["mode"] == "slot" and p.get("slot"):
            return parse_t(p["slot"]["end"])
        std = p.get("standard") or {}
        return parse_t(std["deliver_by"]) if std.get("deliver_by") else None

    def figures(self):
        self.refresh_plans()
        acc = len(self.orders)
        due, on_time, by_st = 0, 0, {}
        for o in self.orders.values():
            if o["status"] == "cancelled" or o["mode"] == "large":
                continue
            d = self.deadline(o)
            if d is None or (d > self.end and o["delivered_at"] is None):
                continue  # due after the simulated horizon
            due += 1
            ok = o["delivered_at"] is not None and o["delivered_at"] <= d
            on_time += ok
            s = by_st.setdefault(o["station"], {"station": o["station"], "delivered": 0,
                                                "on_time": 0})
            s["delivered"] += o["delivered_at"] is not None
            s["on_time"] += ok
        for s in by_st.values():
            s["pct"] = round(100.0 * s["on_time"] / s["delivered"], 1) if s["delivered"] else 0.0
        self.on_time_by_station = [by_st[k] for k in sorted(by_st)]
        routes, per_c_km, per_c_busy = 0, {}, {}
        for plan in self.plans.values():
            for r in plan["routes"]:
                routes += 1
                cid = r["courier_id"]
                per_c_km[cid] = per_c_km.get(cid, 0.0) + r["distance_m"] / 1000.0
                per_c_busy[cid] = per_c_busy.get(cid, 0.0) + r["duration_s"] / 60.0
        self.per_c_busy = per_c_busy
        worked = [c for c in self.couriers.values() if c["stops"] > 0]
        stops = sum(c["stops"] for c in worked)
        ms = sorted(self.plan_versions)
        p95 = ms[min(len(ms) - 1, int(math.ceil(0.95 * len(ms))) - 1)] if ms else 0.0
        split = sum(1 for o in self.orders.values() if len(o["shipments"]) > 1)
        time.sleep(self.a.webhook_settle_s)
        f = {
            "orders_accepted": acc,
            "orders_rejected": sum(self.rejected.values()),
            "orders_rejected_by_reason": dict(sorted(self.rejected.items())),
            "split_shipments": split,
            "on_time_pct": round(100.0 * on_time / due, 2) if due else 0.0,
            "failed_deliveries": self.failed_stops,
            "routes": routes,
            "stops_per_courier": round(stops / len(worked), 2) if worked else 0.0,
            "km_per_courier": round(sum(per_c_km.values()) / len(per_c_km), 2) if per_c_km else 0.0,
            "planner_ms_p95": round(p95, 1),
            "engineer_jobs": self.engineer_jobs,
            "returns_picked_up": self.returns_picked,
            "cod_collected_cny": f"{self.cod_fen // 100}.{self.cod_fen % 100:02d}",
            "pickups_collected": self.pickups_collected,
            "webhooks_delivered": self.receiver.count(),
        }
        # Extra counts for the table (not in day.json's figures).
        self.extra = {"orders_due": due, "on_time": on_time,
                      "delivered": sum(1 for o in self.orders.values()
                                       if o["delivered_at"] is not None),
                      "cancelled": self.cancelled, "plans": len(self.plans),
                      "plan_versions": len(ms), "couriers_working": len(worked),
                      "pickups_held": self.pickups_held,
                      "installs_booked": self.installs_booked,
                      "returns_requested": len(self.returns),
                      "exchanges_done": self.exchanges_done,
                      "exchanges_asked": self.exchanges_asked, "feed_lines": self.feed_lines,
                      "settlements": len(self.settlements), "requests": self.api.requests,
                      "wall_s": round(self.wall_s, 1),
                      "simulated": f"{iso(self.t0)} .. {iso(self.end)}"}
        return f

    def day_json(self, f):
        names = {}
        for s in self.stations.values():
            names[s["district"]] = s.get("district_name") or s["district"]
        net = json.load(open(os.path.join(self.a.data, "beijing", "network.geojson")))
        for feat in net["features"]:
            p = feat["properties"]
            if p["kind"] == "station":
                names[p["district"]] = p["district_name"]
        cities = json.load(open(os.path.join(self.a.data, "cities", "beijing.geojson")))
        districts = [{"id": str(feat.get("id")), "name": names.get(str(feat.get("id")),
                                                                    feat["properties"]["name"]),
                      "geometry": feat["geometry"]} for feat in cities["features"]]
        stations = [{"id": s["id"], "name": s["name"], "point": s["point"], "area": s["area"]}
                    for s in (self.stations[k] for k in sorted(self.stations))]
        whs = [{"id": w["id"], "name": w["name"], "point": w["point"]}
               for w in (self.warehouses[k] for k in sorted(self.warehouses))]
        pps = [{"id": p["id"], "name": f"{self.stations[st]['name']} corner shop",
                "point": p["point"]} for st, p in sorted(self.points.items())]
        # The chosen station and wave: the one with the most routes, then stops.
        chosen = None
        if self.plans:
            (st, key), plan = max(self.plans.items(), key=lambda kv: (
                len(kv[1]["routes"]), sum(len(r["stops"]) for r in kv[1]["routes"]), kv[0]))
            feats = {ft["properties"].get("vehicle"): ft for ft in
                     (plan.get("geojson") or {}).get("features", [])
                     if (ft.get("geometry") or {}).get("type") == "LineString"}
            routes = []
            for r in plan["routes"]:
                c = self.couriers.get(r["courier_id"], {})
                ft = feats.get(r["courier"])
                path = ft["geometry"]["coordinates"] if ft else []
                stops = []
                for k, s in enumerate(r["stops"]):
                    o = self.orders.get(s["order_id"], {})
                    stops.append({"seq": k + 1, "order": s["order_id"],
                                  "kind": s.get("kind", "delivery"),
                                  "point": o.get("point") or (path[k + 1] if len(path) > k + 1
                                                              else self.stations[st]["point"]),
                                  "eta": s["eta"],
                                  "status": self.stop_status.get(s["stop_id"], "planned")})
                routes.append({"courier": r["courier_id"], "vehicle": c.get("vehicle", "e_bike"),
                               "km": round(r["distance_m"] / 1000.0, 2), "path": path,
                               "stops": stops})
            chosen = {"station": st, "wave": key, "routes": routes}
        sample = self.sample_parcel()
        per_hour = [0] * 24
        for o in self.orders.values():
            per_hour[o["hour"]] += 1
        util = []
        for cid in sorted(self.couriers):
            c = self.couriers[cid]
            busy = self.per_c_busy.get(cid, 0.0)
            days = max(1, len({k[:8] for k in c["waves"]}))
            shift = 900.0 * days
            util.append({"courier": cid, "station": c["station"], "busy_min": round(busy, 1),
                         "shift_min": shift, "pct": round(100.0 * busy / shift, 1)})
        return {"city": "Beijing", "day": self.day.isoformat(),
                "generated_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
                "figures": f, "districts": districts, "stations": stations,
                "warehouses": whs, "pickup_points": pps,
                "chosen_routes": chosen or {"station": "", "wave": "", "routes": []},
                "sample_parcel": sample, "sample_visit": self.sample_visit_doc(),
                "orders_per_hour": per_hour, "on_time_by_station": self.on_time_by_station,
                "courier_utilisation": util}

    def sample_parcel(self):
        """A delivered parcel's public timeline: one that was retried if any."""
        cands = [o for o in self.orders.values() if o["delivered_at"] is not None]
        cands.sort(key=lambda o: (-o["attempts"], o["placed"], o["id"]))
        if not cands:
            return {"order": "", "tracking_code": "", "events": []}
        o = cands[0]
        _, page = self.call("GET", f"/v1/track/{o['tracking']}", self.shop)
        evs = [{"at": e.get("at", ""), "kind": e.get("kind", ""),
                "text": e.get("text") or e.get("kind", "")} for e in page.get("events", [])]
        return {"order": o["id"], "tracking_code": o["tracking"], "events": evs}

    def sample_visit_doc(self):
        if self.sample_visit is not None:
            return self.sample_visit
        return {"appointment": "", "engineer": "", "window": "", "arrived_at": "",
                "duration_min": 0.0, "charges": [], "total": "0.00", "events": []}


    def write_try(self, path, doc):
        """Shell assignments for `make demo`'s closing lines: a delivered
        parcel, the chosen station and wave with a station token, and a
        courier with a route on the day the clock stopped, with its token."""
        sp = doc["sample_parcel"]
        ch = doc["chosen_routes"]
        last = self.now.astimezone(TZ).strftime("%Y%m%d")
        cands = sorted(cid for cid, c in self.couriers.items()
                       if any(k.startswith(last) for k in c["waves"]))
        cands = cands or sorted(cid for cid, c in self.couriers.items() if c["stops"])
        cid = cands[0] if cands else sorted(self.couriers)[0]
        st = ch["station"] or self.active[0]
        vals = {"TRY_ORDER": sp["order"], "TRY_TRACKING_CODE": sp["tracking_code"],
                "TRY_STATION": st, "TRY_STATION_TOKEN": self.st_tok[st],
                "TRY_WAVE": ch["wave"], "TRY_COURIER": cid,
                "TRY_COURIER_TOKEN": self.couriers[cid]["token"], "TRY_SHOP_TOKEN": self.shop}
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            for k, v in vals.items():
                fh.write(f"{k}='{v}'\n")


FIGURES = ["orders_accepted", "orders_rejected", "split_shipments", "on_time_pct",
           "failed_deliveries", "routes", "stops_per_courier", "km_per_courier",
           "planner_ms_p95", "engineer_jobs", "returns_picked_up", "cod_collected_cny",
           "pickups_collected", "webhooks_delivered"]


def print_figures(day, f):
    rows = [(k, f[k]) for k in FIGURES]
    rows.insert(2, ("  by reason", ", ".join(f"{k} {v}" for k, v in
                                            f["orders_rejected_by_reason"].items()) or "none"))
    rows += [("(orders due in the horizon)", day.extra["orders_due"]),
             ("(delivered)", day.extra["delivered"]), ("(cancelled)", day.extra["cancelled"]),
             ("(pickups held)", day.extra["pickups_held"]),
             ("(installations booked)", day.extra["installs_booked"]),
             ("(returns and exchanges requested)", day.extra["returns_requested"]),
             ("(exchanges asked, handed over)",
              f"{day.extra['exchanges_asked']}, {day.extra['exchanges_done']}"),
             ("(station feed lines read)", day.extra["feed_lines"]),
             ("(plans, versions)", f"{day.extra['plans']}, {day.extra['plan_versions']}"),
             ("(couriers working)", day.extra["couriers_working"]),
             ("(settlements)", day.extra["settlements"]),
             ("(requests, wall s)", f"{day.extra['requests']}, {day.extra['wall_s']}"),
             ("(simulated)", day.extra["simulated"])]
    w = max(len(k) for k, _ in rows)
    print(f"\nThe simulated day in Beijing, {day.day.isoformat()}")
    print("-" * (w + 30))
    for k, v in rows:
        print(f"{k.ljust(w)}  {v}")
    print("-" * (w + 30))
    for k in FIGURES:
        print(f"{k}={f[k]}")
        if k == "orders_rejected":
            for r, n in f["orders_rejected_by_reason"].items():
                print(f"orders_rejected_{r.replace('-', '_')}={n}")
    sys.stdout.flush()


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--base", required=True, help="the daemon, http://127.0.0.1:PORT")
    ap.add_argument("--admin-token-file", help="file holding an admin token")
    ap.add_argument("--admin-token", default=os.environ.get("DISPATCH_ADMIN_TOKEN"))
    ap.add_argument("--day", default="2030-01-08", help="the local day simulated (YYYY-MM-DD)")
    ap.add_argument("--hours", type=float, default=24.0, help="hours of orders (default 24)")
    ap.add_argument("--tail-hours", type=float, default=24.0,
                    help="hours after the day for the deliveries it promised")
    ap.add_argument("--orders", type=int, default=1300, help="orders placed over the day")
    ap.add_argument("--stations", type=int, default=40,
                    help="this many of the 80 stations, in proportion to the districts (0: all)")
    ap.add_argument("--wall-seconds", type=float, default=180.0,
                    help="real seconds the day takes (0: as fast as possible)")
    ap.add_argument("--seed", type=int, default=14)
    ap.add_argument("--run-id", default=None, help="suffix of ids and keys (default: time)")
    ap.add_argument("--data", default=os.path.join(ROOT, "data"))
    ap.add_argument("--out", default=os.path.join(ROOT, "build", "demo", "day.json"))
    ap.add_argument("--try-file", default=None,
                    help="write shell assignments of ids and tokens to try afterwards (0600)")
    ap.add_argument("--hub-share", type=float, default=0.15,
                    help="share of the orders for the busy central station (the report's routes)")
    ap.add_argument("--slot-share", type=float, default=0.15)
    ap.add_argument("--pickup-share", type=float, default=0.08)
    ap.add_argument("--cod-share", type=float, default=0.12)
    ap.add_argument("--large-share", type=float, default=0.05)
    ap.add_argument("--cancel-share", type=float, default=0.02)
    ap.add_argument("--return-share", type=float, default=0.03)
    ap.add_argument("--exchange-share", type=float, default=0.35,
                    help="share of the returns that are exchanges")
    ap.add_argument("--fail-rate", type=float, default=0.03)
    ap.add_argument("--plan-wait-s", type=float, default=60.0,
                    help="real seconds to wait for a wave's automatic plan")
    ap.add_argument("--webhook-settle-s", type=float, default=2.0)
    ap.add_argument("--quiet", action="store_true")
    a = ap.parse_args(argv)
    if a.admin_token is None and a.admin_token_file:
        a.admin_token = open(a.admin_token_file).read().strip()
    if not a.admin_token:
        ap.error("an admin token is needed (--admin-token-file or DISPATCH_ADMIN_TOKEN)")
    if a.run_id is None:
        a.run_id = format(int(time.time()) % 1000000, "x")
    day = Day(a)
    day.load_network()
    day.setup()
    day.run_day()
    f = day.figures()
    doc = day.day_json(f)
    os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
    tmp = a.out + ".tmp"
    with open(tmp, "w") as fh:
        json.dump(doc, fh, ensure_ascii=False, separators=(",", ":"))
    os.replace(tmp, a.out)
    print_figures(day, f)
    if a.try_file:
        day.write_try(a.try_file, doc)
    # The receiver goes away with this process: so does its subscription.
    day.call("DELETE", f"/v1/webhooks/{day.hook}", day.shop, ok=(200, 204, 404))
    day.receiver.close()
    return doc


if __name__ == "__main__":
    main()
