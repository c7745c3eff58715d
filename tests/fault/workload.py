"""The fault tests' shared parts (docs/reliability.md): the network and data a
workload runs on, the mixed workload itself with its history, the offline
check of that history against PostgreSQL, the SQL invariant checker
(tests/fault/invariants.sql) and the figures written to the build folder's
reliability.txt. Standard library only; uses tests/integration/harness.py.

The history is Jepsen's: one entry per request, made when it is invoked
(op, its arguments, the ids it names) and completed with what came back (a
status, or None when the connection failed: indeterminate). Only 2xx
answers are promises the daemon made; each must be in PostgreSQL at the
end. A definite refusal (503 from an outage) must have changed nothing."""
import http.client
import json
import os
import random
import socket
import struct
import subprocess
import sys
import threading
import time
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "integration"))

import harness  # noqa: E402
import wave_fixtures  # noqa: E402
from test_service_booking import SERVICES_CONF  # noqa: E402
from test_returns import RETURNS_CONF  # noqa: E402
from test_webhooks import FAST, Receiver  # noqa: E402
from test_handheld import RECIPIENT  # noqa: E402

CTL = os.path.join(harness.BUILD_DIR, "dispatchctl")
RDC, FDC = "bj-rdc-01", "bj-fdc-01"
DONGCHENG = {"lat": 39.936261, "lon": 116.441397}   # served by bj-st-001
ST = "bj-st-001"
# Service windows offered from the test clock's Tuesday: Wednesday to the next
# Tuesday, 09:00 and 14:00 (SERVICES_CONF), one engineer of 4 visits a day.
SERVICE_WINDOWS = [f"2030-01-{d:02d}T{h}:00:00+08:00" for d in range(9, 16) for h in ("09", "14")]
WEBHOOK_EVENTS = ["shipment.delivered", "shipment.failed", "shipment.rescheduled",
                  "service.booked", "return.requested"]
# Stops planned before the load starts, for the couriers' events; every
# third is cash on delivery.
STOPS = 40
COD_AMOUNT = "12.34"
# Every fault test's load is bounded in time, never in speed: each round runs
# this long (FAULT_ROUND_S overrides it), with THREADS clients.
ROUND_S = float(os.environ.get("FAULT_ROUND_S", "1.0"))
THREADS = 4
SCAN_STEPS = ["picked", "packed", "departed_warehouse"]
# The shipment lifecycle, in order: a scan acknowledged at step i leaves the
# shipment at i or later.
LIFECYCLE = ["allocated", "picked", "packed", "departed_warehouse", "arrived_at_station",
             "out_for_delivery", "delivered"]


def sql(w, q):
    return w.pg.psql("dispatchd", q)


def setup(w):
    """Districts, stations, warehouses, the seed catalogue, one SKU of the
    test's with plenty of stock at the RDC, and a courier; once per world."""
    if getattr(w, "fault_ready", False):
        return
    # No districts (the city's detailed polygons take seconds to load at each
    # start): stations and warehouses are all the workload needs.
    for kind, path in (("station", "data/beijing/network.geojson"),
                       ("warehouse", "data/beijing/network.geojson")):
        r = subprocess.run([CTL, "areas", "import", os.path.join(harness.SOURCE_DIR, path),
                            "--kind", kind, "--dsn", w.pg.dsn], capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
    r = subprocess.run([CTL, "seed", "--catalogue",
                        os.path.join(harness.SOURCE_DIR, "data", "catalogue"),
                        "--dsn", w.pg.dsn], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    w.sku = "FAULT-" + uuid.uuid4().hex[:8]
    sql(w, "INSERT INTO skus (sku, name, category, weight_g, volume_ml, large) "
           f"VALUES ('{w.sku}', 'fault', 'test', 500, 1000, false)")
    sql(w, f"INSERT INTO stock VALUES ('{RDC}', '{w.sku}', 1000000, 0, 1000000)")
    # An installable fridge for service bookings (at the FDC).
    w.fridge = "FAULT-F-" + uuid.uuid4().hex[:8]
    sql(w, "INSERT INTO skus (sku, name, category, weight_g, volume_ml, installable) "
           f"VALUES ('{w.fridge}', 'fridge', 'large_appliances', 5000, 1000, true); "
           f"INSERT INTO stock VALUES ('{FDC}', '{w.fridge}', 1000000, 0, 1000000)")
    sql(w, "INSERT INTO couriers (id, station_id, name, phone, vehicle, skills, kind, "
           f"daily_capacity) VALUES ('fault-e1', '{ST}', 'Engineer F', '+86 1', 'van', "
           "'{large_appliances}', 'engineer', 4); "
           "INSERT INTO courier_shifts (courier_id, tz) VALUES ('fault-e1', 'Asia/Shanghai'); "
           "INSERT INTO courier_shift_weekly SELECT 'fault-e1', d, '08:00', '20:00' "
           "FROM generate_series(1, 7) d")
    [w.courier_id] = wave_fixtures.add_couriers(w, ST, 1, prefix="fault")
    w.courier_token = w.token("courier", w.courier_id, label="fault courier")
    w.shop_token = w.token("order_service", label="fault shop")
    w.receiver = Receiver()
    w.fault_ready = True


def conf():
    return (harness.clock_conf() + SERVICES_CONF + RETURNS_CONF
            + "[dispatch]\nscheduler_interval_ms = 0\nmax_attempts = 2\n" + FAST)


def prepare_stops(w, d, n=STOPS):
    """n orders of the shop brought to the station and planned into the
    courier's route (the real path: scans, then the wave planner); returns
    [{"stop", "order", "wave", "proof"}] of its planned stops."""
    harness.wait_until(lambda: d.get("/v1/admin/tokens/whoami", token=w.shop_token).status
                       == 200, timeout=6, what="the shop's token")
    if not getattr(w, "hooked", False):
        r = d.request("POST", "/v1/webhooks", token=w.shop_token,
                      body={"url": w.receiver.url("/ok"), "events": WEBHOOK_EVENTS})
        assert r.status == 201, r
        w.hooked = True
    orders, cod = [], set()
    for i in range(n):
        body = {"external_id": "FLT-S-" + uuid.uuid4().hex[:12], "customer": DONGCHENG,
                "delivery_option": "standard", "lines": [{"sku": w.sku, "qty": 2}]}
        if i % 3 == 0:   # cash on delivery: the delivery records a collection
            body.update(recipient=RECIPIENT, payment={"method": "cod", "currency": "CNY",
                                                      "amount": COD_AMOUNT})
        r = d.request("POST", "/v1/orders", token=w.shop_token,
                      headers={"Idempotency-Key": uuid.uuid4().hex}, body=body)
        assert r.status == 201, r
        orders.append(r.json()["id"])
        if i % 3 == 0:
            cod.add(orders[-1])
    for ev in ("picked", "packed", "departed_warehouse", "arrived_at_station"):
        r = d.request("POST", "/v1/shipments/events", body={"scans": [
            {"order": o, "seq": 1, "event": ev, "key": uuid.uuid4().hex} for o in orders]})
        assert r.status == 200 and all(x["status"] == 200 for x in r.json()["results"]), r
    ids = ", ".join(f"'{o}'" for o in orders)
    keys = sql(w, "SELECT DISTINCT counter_key FROM order_capacity WHERE order_id IN "
                  f"({ids}) AND counter_key LIKE '%-W%'").splitlines()
    for key in keys:
        r = d.request("POST", f"/v1/stations/{ST}/waves/{key}/plan")
        if r.status == 409:   # planned before: replan with the new orders
            r = d.request("POST", f"/v1/stations/{ST}/waves/{key}/replan",
                          body={"reason": "fault test"})
        assert r.status == 200, r
    stops = []
    for line in sql(w, "SELECT id, order_id, wave_key, proof, coalesce(pin, '') FROM stops "
                       f"WHERE order_id IN ({ids}) AND status = 'planned' "
                       f"AND courier_id = '{w.courier_id}'").splitlines():
        sid, oid, wave, proof, pin = line.split("|")
        stops.append({"stop": sid, "order": oid, "wave": wave, "cod": oid in cod,
                      "proof": {"pin": {"pin": pin}, "photo": {"photo_ref": "photo-1"},
                                "signature": {"signature_ref": "sig-1"}}.get(proof, {})})
    assert len(stops) == n, (len(stops), n)
    return stops


def start(w, extra_conf="", areas=True):
    """A daemon on the world; returns (daemon, ms from spawn to /readyz 200).
    The bound is generous (shared, loaded CI machines, sanitizers): the
    figure itself goes to reliability.txt against the 2 s target."""
    t0 = time.monotonic()
    d = w.daemon(extra_conf=conf() + extra_conf)
    harness.wait_until(lambda: d.get("/readyz", token=None).status == 200, timeout=20,
                       interval=0.01, what="/readyz 200")
    ready_ms = (time.monotonic() - t0) * 1000
    if areas:   # reported by /readyz, not required by it: loaded in the background
        harness.wait_until(lambda: d.get("/v1/stations").status == 200, timeout=60,
                           what="areas loaded")
    return d, ready_ms


class History:
    """The requests of a test, in order of invocation, thread-safe."""

    def __init__(self):
        self.ops = []
        self.lock = threading.Lock()
        self.acked_orders = []      # ids of orders answered 201 (for cancels and scans)

    def invoke(self, op, **args):
        e = dict(op=op, invoke=time.monotonic(), status=None, **args)
        with self.lock:
            self.ops.append(e)
        return e

    def complete(self, e, status, **got):
        e.update(status=status, done=time.monotonic(), **got)
        if e["op"] == "order" and status == 201:
            with self.lock:
                self.acked_orders.append(e["id"])

    def acked(self, op=None):
        return [e for e in self.ops if e["status"] is not None and 200 <= e["status"] < 300
                and (op is None or e["op"] == op)]

    def count(self, pred):
        return sum(1 for e in self.ops if pred(e))

    def writes(self):
        return [e for e in self.ops if e["op"] != "promise"]


class Load:
    """THREADS clients sending the mixed workload to whichever daemon is
    current (Load.d, swapped by the test across restarts) until stopped."""

    def __init__(self, w, history, d, seed=1, stops=(), timeout=10):
        self.w, self.h, self.d = w, history, d
        self.timeout = timeout      # how long a client waits for an answer
        self.stops = list(stops)    # planned stops for the courier's events
        self.delivered = []         # (order, wave) of stops answered delivered
        self.svc_orders = []        # fridge orders answered 201, for bookings
        self.stop_ev = threading.Event()
        self.seed = seed
        self.threads = []
        self.scanned = {}           # order id -> next scan step index
        self.lock = threading.Lock()

    def start(self):
        self.stop_ev.clear()
        self.threads = [threading.Thread(target=self.client, args=(self.seed * 100 + i,))
                        for i in range(THREADS)]
        for t in self.threads:
            t.start()

    def stop(self):
        self.stop_ev.set()
        for t in self.threads:
            t.join()

    def pick_order(self, rng):
        with self.h.lock:
            if not self.h.acked_orders:
                return None
            return rng.choice(self.h.acked_orders[-50:])

    def client(self, seed):
        rng = random.Random(seed)
        while not self.stop_ev.is_set():
            kind = rng.choices(["order", "promise", "cancel", "scan", "stock", "ping",
                                "stop", "fridge", "book", "return"],
                               weights=[5, 2, 1, 2, 1, 1, 2, 1, 1, 1])[0]
            try:
                getattr(self, "op_" + kind)(rng)
            except ConnectionRefusedError:
                time.sleep(0.02)   # between a kill and the restart: never sent
            except (OSError, http.client.HTTPException):
                pass   # indeterminate: the entry keeps status None

    def send(self, e, method, path, body=None, key=None, token=harness.ADMIN):
        headers = {"Idempotency-Key": key} if key else None
        try:
            r = self.d.request(method, path, body=body, headers=headers, token=token,
                               timeout=self.timeout)
        except ConnectionRefusedError:
            e["refused"] = True   # nothing was sent: neither ok nor indeterminate
            raise
        e["retry_after"] = r.headers.get("retry-after")
        e["ctype"] = r.headers.get("content-type")
        return r

    def op_order(self, rng):
        ext = "FLT-" + uuid.uuid4().hex[:16]
        body = {"external_id": ext, "customer": DONGCHENG, "delivery_option": "standard",
                "lines": [{"sku": self.w.sku, "qty": rng.randint(1, 3)}]}
        e = self.h.invoke("order", ext=ext, key=uuid.uuid4().hex, body=body)
        r = self.send(e, "POST", "/v1/orders", key=e["key"], body=body)
        self.h.complete(e, r.status, id=r.json().get("id") if r.status == 201 else None)

    def op_promise(self, rng):
        e = self.h.invoke("promise")
        r = self.send(e, "GET", f"/v1/promise?lat={DONGCHENG['lat']}&lon={DONGCHENG['lon']}"
                                f"&sku={self.w.sku}:1")
        self.h.complete(e, r.status)

    def op_cancel(self, rng):
        oid = self.pick_order(rng)
        if oid is None:
            return
        with self.lock:
            if oid in self.scanned:
                return   # scanned orders are the scans' (a departed one cannot be cancelled)
            self.scanned[oid] = -1
        e = self.h.invoke("cancel", id=oid)
        r = self.send(e, "POST", f"/v1/orders/{oid}/cancel", body={"reason": "customer"})
        self.h.complete(e, r.status)

    def op_scan(self, rng):
        oid = self.pick_order(rng)
        if oid is None:
            return
        with self.lock:
            step = self.scanned.get(oid, 0)
            if step < 0 or step >= len(SCAN_STEPS):
                return
            self.scanned[oid] = step + 1
        e = self.h.invoke("scan", id=oid, event=SCAN_STEPS[step])
        r = self.send(e, "POST", f"/v1/shipments/{oid}/1/events", key=uuid.uuid4().hex,
                      body={"event": SCAN_STEPS[step]})
        self.h.complete(e, r.status)
        if r.status != 200:
            with self.lock:
                self.scanned[oid] = step   # may be tried again

    def op_stock(self, rng):
        # A count of the test's SKU at the RDC: far above what is reserved.
        n = rng.randint(900000, 1000000)
        why = "fault " + uuid.uuid4().hex[:12]
        e = self.h.invoke("stock", on_hand=n, reason=why)
        r = self.send(e, "PUT", f"/v1/warehouses/{RDC}/stock/{self.w.sku}",
                      body={"on_hand": n, "reason": why})
        self.h.complete(e, r.status)

    def op_stop(self, rng):
        if not self.stops:
            return
        st = rng.choice(self.stops)
        ev = rng.choices(["arrived", "delivered", "failed"], weights=[3, 5, 2])[0]
        body = {"event": ev}
        if ev == "delivered":
            body["proof"] = st["proof"]
            if st["cod"]:
                body["collected"] = {"method": "cash", "amount": COD_AMOUNT}
        elif ev == "failed":
            body["reason"] = "customer_absent"
        e = self.h.invoke("stop", id=st["stop"], event=ev)
        r = self.send(e, "POST", f"/v1/stops/{st['stop']}/events", body=body,
                      key=uuid.uuid4().hex, token=self.w.courier_token)
        self.h.complete(e, r.status)
        if r.status == 200 and ev == "delivered":
            with self.lock:
                self.delivered.append((st["order"], st["wave"]))

    def op_fridge(self, rng):
        ext = "FLT-F-" + uuid.uuid4().hex[:12]
        body = {"external_id": ext, "customer": DONGCHENG, "delivery_option": "standard",
                "lines": [{"sku": self.w.fridge, "qty": 1}]}
        e = self.h.invoke("order", ext=ext, key=uuid.uuid4().hex, body=body,
                          token=self.w.shop_token)
        r = self.send(e, "POST", "/v1/orders", key=e["key"], token=self.w.shop_token,
                      body=body)
        self.h.complete(e, r.status, id=r.json().get("id") if r.status == 201 else None)
        if r.status == 201:
            with self.lock:
                self.svc_orders.append(e["id"])

    def op_book(self, rng):
        with self.lock:
            if not self.svc_orders:
                return
            oid = rng.choice(self.svc_orders)
        e = self.h.invoke("book", order=oid)
        r = self.send(e, "POST", f"/v1/orders/{oid}/services", key=uuid.uuid4().hex,
                      token=self.w.shop_token,
                      body={"type": "installation", "line": 1,
                            "window_start": rng.choice(SERVICE_WINDOWS)})
        self.h.complete(e, r.status, id=r.json().get("id") if r.status == 201 else None)

    def op_return(self, rng):
        with self.lock:
            if not self.delivered:
                return
            oid, wave = rng.choice(self.delivered)
        e = self.h.invoke("return", order=oid)
        r = self.send(e, "POST", f"/v1/orders/{oid}/returns", key=uuid.uuid4().hex,
                      token=self.w.shop_token,
                      body={"lines": [{"line": 1, "qty": 1}], "reason": "no_reason",
                            "pickup_wave": wave})
        self.h.complete(e, r.status, id=r.json().get("id") if r.status == 201 else None)

    def op_ping(self, rng):
        e = self.h.invoke("ping")
        now = time.time()
        t = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now))
        r = self.send(e, "POST", "/v1/couriers/me/locations", token=self.w.courier_token,
                      body={"pings": [{"at": f"{t}.{int(now * 1000) % 1000:03d}Z",
                                       "lon": 116.40 + rng.uniform(-0.01, 0.01),
                                       "lat": 39.90 + rng.uniform(-0.01, 0.01),
                                       "accuracy_m": 8.5}]})
        self.h.complete(e, r.status)


def check_history(w, h, strict_503=True):
    """Every acknowledged write is in PostgreSQL; with strict_503, every
    write refused with 503 changed nothing. Returns (the number of
    acknowledged writes checked, the 503-answered writes that did change
    it: none when strict). Pings are not checked: live positions are Redis's (flushed to
    PostgreSQL in batches), so an acknowledged ping may die with the daemon
    by design (docs/reliability.md)."""
    orders = {}
    for line in sql(w, "SELECT id, external_id, status FROM orders").splitlines():
        oid, ext, status = line.split("|")
        orders[oid] = (ext, status)
    by_ext = {v[0]: k for k, v in orders.items()}
    ships = {}
    for line in sql(w, "SELECT order_id, status FROM shipments WHERE seq = 1").splitlines():
        oid, status = line.split("|")
        ships[oid] = status
    reasons = set(sql(w, "SELECT reason FROM stock_ledger WHERE reason LIKE 'fault %'")
                  .splitlines())
    stops = dict(line.split("|") for line in sql(w, "SELECT id, status FROM stops")
                 .splitlines())
    visits = set(sql(w, "SELECT id FROM service_appointments").splitlines())
    rets = set(sql(w, "SELECT id FROM returns").splitlines())
    after = {"arrived": ("arrived", "delivered", "failed"), "delivered": ("delivered",),
             "failed": ("failed",)}
    lost, checked = [], 0
    for e in h.acked():
        op = e["op"]
        if op == "order":
            ok = e["id"] in orders and orders[e["id"]][0] == e["ext"]
        elif op == "cancel":
            ok = orders.get(e["id"], ("", ""))[1] == "cancelled"
        elif op == "scan":
            st = ships.get(e["id"])
            ok = st in LIFECYCLE and LIFECYCLE.index(st) >= LIFECYCLE.index(e["event"])
        elif op == "stock":
            ok = e["reason"] in reasons
        elif op == "stop":
            ok = stops.get(e["id"]) in after[e["event"]]
        elif op == "book":
            ok = e["id"] in visits
        elif op == "return":
            ok = e["id"] in rets
        else:
            continue
        checked += 1
        if not ok:
            lost.append(e)
    assert not lost, f"{len(lost)} acknowledged writes not in PostgreSQL: {lost[:5]}"
    changed = []
    for e in h.ops:
        if e["status"] != 503:
            continue
        if e["op"] == "order" and e["ext"] in by_ext:
            changed.append(e)
        elif e["op"] == "stock" and e["reason"] in reasons:
            changed.append(e)
    assert not (strict_503 and changed), \
        f"{len(changed)} requests answered 503 changed the database: {changed[:5]}"
    return checked, changed


def check_invariants(w):
    """Run tests/fault/invariants.sql: it prints the violating rows, none
    when the database is sound."""
    r = subprocess.run(["psql", "-X", "-q", "-A", "-t", "-F", " | ", "-v", "ON_ERROR_STOP=1",
                        "-h", "127.0.0.1", "-p", str(w.pg.port), "-U", "postgres",
                        "-d", "dispatchd", "-f", os.path.join(HERE, "invariants.sql")],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    bad = [line for line in r.stdout.splitlines() if line.strip()]
    assert not bad, "invariants violated:\n" + "\n".join(bad[:40])


def report(section, figures):
    """The test's figures into build/reliability.txt (harness.reliability_report)."""
    harness.reliability_report(section, figures)


class Proxy:
    """A TCP proxy on loopback between the daemon and a backend, in threads,
    whose trouble the test sets: mode "pass" forwards; "delay" holds every
    chunk DELAY_S before forwarding it; "stall" accepts and reads but
    forwards nothing (connections hang); "reset" resets every connection,
    open and new (SO_LINGER 0: an RST, not a FIN)."""
    DELAY_S = 0.2

    def __init__(self, target_port):
        self.target = target_port
        self.mode = "pass"
        self.lock = threading.Lock()
        self.conns = []
        self.srv = socket.socket()
        self.srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.srv.bind(("127.0.0.1", 0))
        self.srv.listen(256)
        self.port = self.srv.getsockname()[1]
        self.closed = False
        threading.Thread(target=self.accept, daemon=True).start()

    def set(self, mode):
        self.mode = mode
        if mode == "reset":
            with self.lock:
                conns, self.conns = self.conns, []
            for s in conns:
                self.rst(s)

    @staticmethod
    def rst(s):
        try:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            s.close()
        except OSError:
            pass

    def accept(self):
        while not self.closed:
            try:
                c, _ = self.srv.accept()
            except OSError:
                return
            if self.mode == "reset":
                self.rst(c)
                continue
            try:
                b = socket.create_connection(("127.0.0.1", self.target), timeout=5)
                b.settimeout(None)
            except OSError:
                self.rst(c)
                continue
            with self.lock:
                self.conns += [c, b]
            threading.Thread(target=self.pipe, args=(c, b), daemon=True).start()
            threading.Thread(target=self.pipe, args=(b, c), daemon=True).start()

    def pipe(self, src, dst):
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                while self.mode == "stall" and not self.closed:
                    time.sleep(0.05)
                if self.mode == "delay":
                    time.sleep(self.DELAY_S)
                dst.sendall(data)
        except OSError:
            pass
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def close(self):
        self.closed = True
        self.set("reset")
        self.srv.close()
