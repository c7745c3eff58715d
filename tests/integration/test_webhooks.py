"""Webhooks end to end (issue 11, "Webhooks"): subscriptions and who sees
them, the secret shown once, an event inserted into order_events delivered
to a receiver on loopback and its signature verified exactly as docs/api.md
tells receivers to, a retry after a 500, dead after the retry window (the
test clock jumps a day), the admins' retry of a dead delivery, two daemons
never sending one delivery twice, and a hanging receiver that does not stall
the others."""
import hashlib
import hmac
import http.server
import itertools
import json
import os
import re
import ssl
import subprocess
import threading
import time

import harness

EVENTS = ["shipment.out_for_delivery", "shipment.eta_changed", "shipment.delivered",
          "shipment.failed", "shipment.rescheduled"]
# Quick sender settings for tests: look often, retry soon, give up on a
# silent receiver after a second.
FAST = ("[webhooks]\npoll_interval_ms = 50\nretry_min_ms = 200\nretry_max_s = 1\n"
        "timeout_ms = 1000\n")


class Receiver:
    """An HTTP server on loopback in a thread. Every POST is recorded
    (path, headers, body); what it answers depends on the path:
      /ok          200
      /flaky/N     500 the first N times, then 200
      /fail        500 until fail is cleared, then 200
      /hang        no answer until release() (or 30 s)
      /slow        200 after 20 ms"""

    def __init__(self, tls=None):
        self.lock = threading.Lock()
        self.got = []
        self.counts = {}
        self.fail = True
        self.hanging = 0           # /hang requests started and not answered
        self.released = threading.Event()
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with receiver.lock:
                    receiver.got.append((self.path, dict(self.headers), body))
                    n = receiver.counts[self.path] = receiver.counts.get(self.path, 0) + 1
                status = 200
                if self.path.startswith("/flaky/"):
                    status = 500 if n <= int(self.path.split("/")[2]) else 200
                elif self.path == "/fail":
                    status = 500 if receiver.fail else 200
                elif self.path == "/hang":
                    with receiver.lock:
                        receiver.hanging += 1
                    receiver.released.wait(30)
                    with receiver.lock:
                        receiver.hanging -= 1
                elif self.path == "/slow":
                    time.sleep(0.02)
                out = b'{"ok":true}'
                try:
                    self.send_response(status)
                    self.send_header("Content-Length", str(len(out)))
                    self.end_headers()
                    self.wfile.write(out)
                except OSError:
                    pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.scheme = "http"
        if tls is not None:  # (certificate, key) files: serve https
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(*tls)
            self.server.socket = ctx.wrap_socket(self.server.socket, server_side=True)
            self.scheme = "https"
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path):
        return f"{self.scheme}://127.0.0.1:{self.port}{path}"

    def received(self, path=None):
        with self.lock:
            return [g for g in self.got if path is None or g[0] == path]

    def close(self):
        self.released.set()
        self.server.shutdown()
        self.server.server_close()


def verify(secret, headers, body, tolerance_s=300):
    """The receiver's check, exactly as docs/api.md ("Verifying a delivery")
    gives it: returns the parsed event, or raises ValueError."""
    sig = headers["Dispatch-Signature"]
    parts = dict(p.split("=", 1) for p in sig.split(","))
    t, v1 = parts["t"], parts["v1"]
    if abs(time.time() - int(t)) > tolerance_s:
        raise ValueError("timestamp outside the tolerance")
    expected = hmac.new(secret.encode(), t.encode() + b"." + body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, v1):
        raise ValueError("bad signature")
    return json.loads(body)


_orders = itertools.count(1)


def new_order(w, client_id):
    """An order placed by client_id (orders.client_id, as part A's intake
    fills it), made with SQL."""
    oid = f"O-WH-{next(_orders):04d}"
    w.pg.psql("dispatchd", f"""
        INSERT INTO orders (id, external_id, idempotency_key, status, station_id, station_name,
                            district_id, delivery_option, install, promise, created_at, client_id)
        VALUES ('{oid}', 'EXT-{oid}', 'k-{oid}', 'allocated', 'bj-st-001', 'Station one', 'D1',
                'standard', false, '{{}}', now(), {"NULL" if client_id is None else f"'{client_id}'"})""")
    return oid


def add_event(w, order, kind, detail=None, n=1):
    """Append n order_events rows (as parts E and C do); returns their ids."""
    d = json.dumps(detail or {"courier": "c-042"}).replace("'", "''")
    out = w.pg.psql("dispatchd", f"""
        INSERT INTO order_events (order_id, shipment_seq, kind, detail)
        SELECT '{order}', 1, '{kind}', '{d}'::jsonb FROM generate_series(1, {n})
        RETURNING id""")
    return [int(x) for x in out.split()]


def clients(w, d, n=2):
    """n order_service tokens known to the daemon: [(token, id)]."""
    toks = [w.token("order_service", label=f"shop {i}") for i in range(n)]
    harness.wait_until(lambda: all(d.get("/v1/admin/tokens/whoami", token=t).status == 200
                                   for t in toks), timeout=6, what="the daemon to know the tokens")
    return [(t, d.get("/v1/admin/tokens/whoami", token=t).json()["id"]) for t in toks]


def subscribe(d, token, url, events=("shipment.delivered",)):
    r = d.request("POST", "/v1/webhooks", body={"url": url, "events": list(events)},
                  token=token)
    assert r.status == 201, r
    return r.json()


def deliveries(d, **q):
    qs = "&".join(f"{k}={v}" for k, v in q.items())
    r = d.get("/v1/admin/webhook-deliveries?" + qs)
    assert r.status == 200, r
    return r.json()["deliveries"]


def test_subscriptions_and_who_sees_them(w):
    d = w.daemon()
    (a, a_id), (b, b_id) = clients(w, d)
    created = subscribe(d, a, "http://127.0.0.1:9/hooks?shop=a",
                        ["shipment.delivered", "shipment.failed"])
    assert created["secret"].startswith("whsec_") and len(created["secret"]) >= 40, created
    assert (created["owner"], created["url"], created["events"]) == \
        (a_id, "http://127.0.0.1:9/hooks?shop=a", ["shipment.delivered", "shipment.failed"])
    hid = created["id"]
    # The secret is shown once: no read ever shows it again.
    got = d.get(f"/v1/webhooks/{hid}", token=a)
    assert got.status == 200 and "secret" not in got.json(), got
    assert created["secret"] not in d.get("/v1/webhooks", token=a).body
    assert created["secret"] not in d.get("/v1/webhooks").body
    assert [h["id"] for h in d.get("/v1/webhooks", token=a).json()["webhooks"]] == [hid]
    # Another client: as if it did not exist.
    assert d.get("/v1/webhooks", token=b).json()["webhooks"] == []
    assert d.get(f"/v1/webhooks/{hid}", token=b).status == 404
    assert d.request("DELETE", f"/v1/webhooks/{hid}", token=b).status == 404
    # The admin sees all, and may subscribe on a client's behalf.
    assert hid in [h["id"] for h in d.get("/v1/webhooks").json()["webhooks"]]
    assert d.get(f"/v1/webhooks/{hid}").status == 200
    r = d.request("POST", "/v1/webhooks", body={"url": "http://127.0.0.1:9/b", "owner": b_id,
                                                "events": ["shipment.rescheduled"]})
    assert r.status == 201 and r.json()["owner"] == b_id, r
    assert [h["id"] for h in d.get("/v1/webhooks", token=b).json()["webhooks"]] == [r.json()["id"]]
    assert [h["owner"] for h in d.get(f"/v1/webhooks?owner={b_id}").json()["webhooks"]] == [b_id]
    # Bad bodies: 422 naming the field; nothing stored.
    # A URL libevent cannot parse crashed the daemon (evhttp_uri_free(NULL),
    # found by tests/fuzz/fuzz_access_body.c): 422 like any other bad URL.
    bad = [({"url": "https://shop.\x7fxample.com/hooks", "events": ["shipment.delivered"]}, "url"),
           ({"url": "http://[::1]:9/hooks", "events": ["shipment.delivered"]}, "url"),
           ({"url": "ftp://shop.example/x", "events": ["shipment.delivered"]}, "url"),
           ({"url": "http://user:pw@shop.example/x", "events": ["shipment.delivered"]}, "url"),
           ({"url": "http://127.0.0.1:9/x", "events": []}, "events"),
           ({"url": "http://127.0.0.1:9/x", "events": ["shipment.picked"]}, "events"),
           ({"url": "http://127.0.0.1:9/x", "events": ["shipment.failed"] * 2}, "events"),
           ({"url": "http://127.0.0.1:9/x", "events": EVENTS, "secret": "mine"}, "secret"),
           ({"url": "http://127.0.0.1:9/x", "events": EVENTS, "owner": b_id}, "owner")]
    for body, field in bad:
        r = d.request("POST", "/v1/webhooks", body=body, token=a)
        assert r.status == 422, (body, r)
        assert field in [e["field"] for e in r.json()["errors"]], (body, r)
    assert len(d.get("/v1/webhooks", token=a).json()["webhooks"]) == 1
    r = d.request("POST", "/v1/webhooks", token=a,
                  body={"url": "https://shop.example/hooks", "events": EVENTS})
    assert r.status == 201 and r.json()["url"] == "https://shop.example/hooks", r
    assert d.request("DELETE", f"/v1/webhooks/{r.json()['id']}", token=a).status == 204
    # Delete: the owner may; then it is gone.
    assert d.request("DELETE", f"/v1/webhooks/{hid}", token=a).status == 204
    assert d.get(f"/v1/webhooks/{hid}", token=a).status == 404
    assert d.get(f"/v1/webhooks/{hid}").status == 404
    assert d.get("/v1/webhooks/wh_nothex").status == 404
    assert d.get("/v1/admin/webhook-deliveries?status=lost").status == 422


def test_an_event_is_delivered_signed(w):
    rx = Receiver()
    try:
        d = w.daemon(extra_conf=FAST)
        (a, a_id), (b, b_id) = clients(w, d)
        sub = subscribe(d, a, rx.url("/ok"), ["shipment.delivered", "shipment.out_for_delivery"])
        other = subscribe(d, b, rx.url("/ok"), EVENTS)
        order = new_order(w, a_id)
        code = w.pg.psql("dispatchd", f"SELECT tracking_code FROM orders WHERE id = '{order}'")
        # Not subscribed (failed), not a webhook kind (arrived): nothing.
        add_event(w, order, "failed", {"reason": "refused"})
        add_event(w, order, "arrived")
        [ev] = add_event(w, order, "delivered", {"courier": "c-042", "proof": "photo"})
        [(path, headers, body)] = harness.wait_until(lambda: rx.received(), what="a delivery")
        time.sleep(0.3)  # anything else would have come by now
        assert len(rx.received()) == 1, rx.received()
        doc = verify(sub["secret"], headers, body)
        assert doc == {"id": ev, "type": "shipment.delivered", "created_at": doc["created_at"],
                       "data": {"order": order, "external_id": f"EXT-{order}", "shipment": 1,
                                "tracking_code": code,
                                "detail": {"courier": "c-042", "proof": "photo"}}}, doc
        assert headers["Dispatch-Event"] == "shipment.delivered"
        assert headers["Content-Type"] == "application/json"
        # A wrong secret, or a changed body, fails the check.
        for secret, b2 in ((other["secret"], body), (sub["secret"], body + b" ")):
            try:
                verify(secret, headers, b2)
                raise AssertionError("a forged delivery verified")
            except ValueError:
                pass
        # The admins' view: delivered after one attempt, named by Dispatch-Delivery.
        [row] = deliveries(d, status="delivered")
        assert (str(row["id"]), row["webhook"], row["event_id"], row["attempts"],
                row["last_status"], row["owner"]) == \
            (headers["Dispatch-Delivery"], sub["id"], ev, 1, 200, a_id), row
        assert row["body"] == doc and row["delivered_at"] is not None, row
        assert deliveries(d, status="pending") == [] and deliveries(d, status="dead") == []
        assert d.metric('dispatchd_webhook_attempts_total{result="delivered"}') == 1
        assert d.metric('dispatchd_webhook_attempts_total{result="failed"}') == 0
        harness.wait_until(lambda: d.metric("dispatchd_webhook_deliveries_inflight") == 0,
                           what="the delivery to end")
        # An order without a client (placed before 019) or another client's: no delivery.
        add_event(w, new_order(w, None), "delivered")
        add_event(w, new_order(w, "tok_0000000000000000"), "delivered")
        # A deleted subscription gets nothing more.
        assert d.request("DELETE", f"/v1/webhooks/{sub['id']}", token=a).status == 204
        add_event(w, order, "out_for_delivery")
        time.sleep(0.5)
        assert len(rx.received()) == 1, rx.received()
        assert w.pg.psql("dispatchd", "SELECT count(*) FROM webhook_outbox") == "0"
    finally:
        rx.close()


def test_retried_after_500_then_delivered(w):
    rx = Receiver()
    try:
        d = w.daemon(extra_conf=FAST)
        [(a, a_id)] = clients(w, d, 1)
        sub = subscribe(d, a, rx.url("/flaky/2"), ["shipment.failed"])
        [ev] = add_event(w, new_order(w, a_id), "failed", {"reason": "customer_absent"})
        # After the first 500 it waits as pending, saying why.
        row = harness.wait_until(
            lambda: next(iter(r for r in deliveries(d, webhook=sub["id"])
                              if r["attempts"] >= 1), None), what="the first attempt")
        assert row["last_status"] == 500 and row["last_error"] == "answered 500", row
        row = harness.wait_until(lambda: next(iter(deliveries(d, status="delivered",
                                                               webhook=sub["id"])), None),
                                 what="the delivery after two 500s")
        assert (row["attempts"], row["last_status"], row["event_id"]) == (3, 200, ev), row
        got = rx.received("/flaky/2")
        assert len(got) == 3, got
        # The same delivery each time: same id and body, signed afresh.
        assert len({g[1]["Dispatch-Delivery"] for g in got}) == 1
        assert len({g[2] for g in got}) == 1
        for g in got:
            verify(sub["secret"], g[1], g[2])
        assert d.metric('dispatchd_webhook_attempts_total{result="failed"}') == 2
        assert d.metric('dispatchd_webhook_attempts_total{result="delivered"}') == 1
        # Nobody listening: no status, a reason, and retried.
        gone = subscribe(d, a, "http://127.0.0.1:1/nobody", ["shipment.delivered"])
        add_event(w, new_order(w, a_id), "delivered")
        row = harness.wait_until(
            lambda: next(iter(r for r in deliveries(d, webhook=gone["id"])
                              if r["attempts"] >= 2), None), what="two refused attempts")
        assert row["status"] == "pending" and row["last_status"] is None, row
        assert row["last_error"] in ("connection closed before an answer", "connection failed"), row
        # (Deleting it deletes its deliveries: the next tests see none.)
        assert d.request("DELETE", f"/v1/webhooks/{gone['id']}", token=a).status == 204
        assert deliveries(d, webhook=gone["id"]) == []
    finally:
        rx.close()


def test_dead_after_the_retry_window_and_retried_by_an_admin(w):
    rx = Receiver()
    try:
        d = w.daemon(extra_conf=FAST)
        [(a, a_id)] = clients(w, d, 1)
        sub = subscribe(d, a, rx.url("/fail"), ["shipment.rescheduled"])
        add_event(w, new_order(w, a_id), "rescheduled", {"wave": "20300108-W1300"})
        harness.wait_until(lambda: len(rx.received()) >= 2, what="two attempts")
        [row] = deliveries(d, webhook=sub["id"])
        assert row["status"] == "pending", row
        # A day later (the test clock jumps 25 h): the next failure is the last.
        d.reload(FAST + "[testing]\nclock = offset\nclock_offset_s = 90000\n")
        row = harness.wait_until(lambda: next(iter(deliveries(d, status="dead",
                                                              webhook=sub["id"])), None),
                                 what="the delivery to die")
        assert (row["id"], row["last_status"], row["next_at"]) == (row["id"], 500, None), row
        n = len(rx.received())
        time.sleep(0.5)
        assert len(rx.received()) == n, "a dead delivery was sent again"
        assert deliveries(d, status="pending") == []
        # (The row is committed before the sender hears back: wait for it.)
        harness.wait_until(lambda: d.metric("dispatchd_webhook_dead_total") == 1,
                           what="the death counted")
        assert "is dead after" in d.log()
        # Only a dead one may be retried; the admin's retry sends it once more.
        assert d.request("POST", f"/v1/admin/webhook-deliveries/{row['id']}/retry",
                         token=a).status == 403
        assert d.request("POST", "/v1/admin/webhook-deliveries/999999/retry").status == 404
        rx.fail = False
        r = d.request("POST", f"/v1/admin/webhook-deliveries/{row['id']}/retry")
        assert r.status == 200 and r.json()["status"] == "pending", r
        row = harness.wait_until(lambda: next(iter(deliveries(d, status="delivered",
                                                              webhook=sub["id"])), None),
                                 what="the retried delivery")
        assert row["last_status"] == 200, row
        r = d.request("POST", f"/v1/admin/webhook-deliveries/{row['id']}/retry")
        assert r.status == 409 and r.json()["current_status"] == "delivered", r
    finally:
        rx.close()


def test_two_daemons_never_send_one_delivery_twice(w):
    """A burst of deliveries, two daemons claiming at once, and a third
    session holding half the rows locked (as a claim in flight would): the
    daemons skip locked rows rather than wait for them, and once released
    every delivery arrives exactly once."""
    rx = Receiver()
    sess = None
    try:
        w.token("order_service", label="shop race")
        a_id = w.pg.psql("dispatchd", "SELECT id FROM api_tokens WHERE label = 'shop race'")
        hid = "wh_00000000000000aa"
        w.pg.psql("dispatchd", f"""
            INSERT INTO webhooks (id, owner, url, events, secret, created_by)
            VALUES ('{hid}', '{a_id}', '{rx.url("/slow")}', '{{shipment.eta_changed}}',
                    'whsec_race', '{a_id}')""")
        n = 200
        add_event(w, new_order(w, a_id), "eta_changed", {"stop": "stp_0000000000000001"}, n=n)
        locked = int(w.pg.psql("dispatchd", "SELECT count(*) FROM webhook_outbox "
                                            f"WHERE webhook_id = '{hid}' AND id % 2 = 0"))
        sess = w.pg.session()
        sess.stdin.write("BEGIN; SELECT id FROM webhook_outbox WHERE webhook_id = "
                         f"'{hid}' AND id % 2 = 0 FOR UPDATE;\n")
        sess.stdin.flush()
        harness.wait_until(lambda: w.pg.psql("dispatchd", "SELECT count(*) FROM pg_stat_activity "
                                                          "WHERE state = 'idle in transaction'")
                           == "1", what="the locks")
        conf = FAST + "concurrency = 4\n[log]\nlevel = debug\n"
        d1 = w.daemon(extra_conf=conf)
        d2 = w.daemon(extra_conf=conf)
        harness.wait_until(lambda: len(rx.received()) >= n - locked, timeout=60,
                           what="every unlocked delivery")
        time.sleep(0.3)
        assert len(rx.received()) == n - locked, len(rx.received())
        harness.Postgres.release(sess)
        sess = None
        harness.wait_until(lambda: len(rx.received()) >= n, timeout=60, what="every delivery")
        time.sleep(0.5)
        got = [g[1]["Dispatch-Delivery"] for g in rx.received()]
        twice = {k for k in got if got.count(k) > 1}
        assert len(got) == n and not twice, (len(got), sorted(twice)[:10])
        # The receipts come before each daemon records its answer: wait for
        # the records, then check each was sent once.
        harness.wait_until(lambda: w.pg.psql(
            "dispatchd", "SELECT count(*) FROM webhook_outbox WHERE status <> 'pending' "
            f"AND webhook_id = '{hid}'") == str(n), timeout=30, what="every delivery recorded")
        # Every one delivered; an attempt may have timed out on a loaded
        # machine (1 s) before reaching the receiver, so attempts may be 2,
        # but no receipt came twice (above).
        assert w.pg.psql("dispatchd", "SELECT count(*) FROM webhook_outbox WHERE status = "
                         f"'delivered' AND webhook_id = '{hid}'") == str(n)
        # Both daemons sent some (each logs its attempts at debug level).
        sent = [len(re.findall(r"attempt [0-9]+: 200 ok", d.log())) for d in (d1, d2)]
        assert sum(sent) == n and min(sent) > 0, sent
    finally:
        if sess is not None:
            harness.Postgres.release(sess)
        rx.close()


def test_a_hanging_receiver_does_not_stall_the_others(w):
    rx = Receiver()
    try:
        d = w.daemon(extra_conf=FAST.replace("timeout_ms = 1000", "timeout_ms = 3000"))
        [(a, a_id)] = clients(w, d, 1)
        hang = subscribe(d, a, rx.url("/hang"), ["shipment.out_for_delivery"])
        subscribe(d, a, rx.url("/ok"), ["shipment.out_for_delivery"])
        order = new_order(w, a_id)
        add_event(w, order, "out_for_delivery", {"courier": "c-042", "eta": "x"})
        harness.wait_until(lambda: rx.hanging == 1, what="the hanging receiver to be called")
        # While that one hangs, the other is served, and later events too.
        harness.wait_until(lambda: rx.received("/ok"), what="the other receiver")
        assert rx.hanging == 1
        add_event(w, order, "out_for_delivery", {"courier": "c-042", "eta": "y"})
        harness.wait_until(lambda: len(rx.received("/ok")) == 2, what="the next event")
        assert rx.hanging >= 1
        # The hanging one times out and waits for its retry.
        row = harness.wait_until(
            lambda: next(iter(r for r in deliveries(d, webhook=hang["id"])
                              if r["attempts"] >= 1), None), what="the timeout")
        assert row["status"] == "pending" and row["last_status"] is None, row
        assert row["last_error"] in ("timed out", "no answer within 3000 ms"), row
    finally:
        rx.close()


def self_signed(w):
    """A self-signed certificate for 127.0.0.1 (its IP in subjectAltName):
    (certificate, key) file paths."""
    cert, key = os.path.join(w.root, "rx.crt"), os.path.join(w.root, "rx.key")
    if not os.path.exists(cert):
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout",
                        key, "-out", cert, "-days", "2", "-subj", "/CN=127.0.0.1",
                        "-addext", "subjectAltName=IP:127.0.0.1"],
                       check=True, capture_output=True)
    return cert, key


def test_https_receivers_are_verified(w):
    cert, key = self_signed(w)
    rx = Receiver(tls=(cert, key))
    try:
        d = w.daemon(extra_conf=FAST + f"ca_file = {cert}\n")
        [(a, a_id)] = clients(w, d, 1)
        sub = subscribe(d, a, rx.url("/ok"), ["shipment.delivered"])
        [ev] = add_event(w, new_order(w, a_id), "delivered")
        [(path, headers, body)] = harness.wait_until(lambda: rx.received(), what="a delivery")
        assert verify(sub["secret"], headers, body)["id"] == ev
        harness.wait_until(lambda: deliveries(d, status="delivered", webhook=sub["id"]),
                           what="delivered over https")
        d.stop()
        # A daemon trusting only the system's CAs refuses the self-signed receiver.
        d2 = w.daemon(extra_conf=FAST)
        add_event(w, new_order(w, a_id), "delivered")
        row = harness.wait_until(
            lambda: next(iter(r for r in deliveries(d2, status="pending", webhook=sub["id"])
                              if r["attempts"] >= 1), None), what="a refused certificate")
        assert row["last_status"] is None and row["last_error"].startswith("tls: "), row
        assert len(rx.received()) == 1
        d2.stop()
        # A CA file that cannot be read stops the start, saying why.
        try:
            w.daemon(extra_conf=FAST + "ca_file = /nonexistent/ca.pem\n")
            raise RuntimeError("dispatchd started without its CA file")
        except AssertionError as e:
            # The reason is in the error, or (when the start was cut short
            # waiting for /healthz, as a slow sanitized build may be) in the log.
            log = open(os.path.join(w.root, f"dispatchd-{w.seq}.log"), errors="replace").read()
            assert "cannot load the CA certificates of /nonexistent/ca.pem" in str(e) + log, e
    finally:
        rx.close()


if __name__ == "__main__":
    harness.run(globals())
