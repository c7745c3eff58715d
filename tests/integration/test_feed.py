"""The station feed: GET /v1/stations/{id}/feed?cursor=C&wait=S&limit=N.
Every change after a cursor, in order, exactly once, however many sessions
write at once; long polls answered by a commit (LISTEN/NOTIFY), by the
periodic check when a notification is lost, never by a change of another
station; cursors that survive a daemon restart and work on another daemon;
clients that vanish mid-poll are forgotten; 200 waiting polls cost no
PostgreSQL connection beyond the pool and the one listener."""
import json
import os
import signal
import socket
import subprocess
import threading
import time

import harness
from test_authz import DONGCHENG, ORDER, SCAN_SKU
from test_promise import setup_network

FAST = "[rate_limit]\nread_per_s = 1000000\nwrite_per_s = 1000000\n"


def feed_add(w, station, kind="test.change", data=None):
    """One change through station_feed_add in its own transaction; its seq."""
    return int(w.pg.psql("dispatchd", "SELECT station_feed_add('%s', '%s', '%s')"
                         % (station, kind, json.dumps(data or {}))))


def head(w, station):
    v = w.pg.psql("dispatchd", f"SELECT seq FROM station_feed_heads WHERE station_id = '{station}'")
    return int(v) if v else 0


def feed(d, station, cursor=None, wait=None, limit=None, **kw):
    q = "&".join(f"{k}={v}" for k, v in (("cursor", cursor), ("wait", wait), ("limit", limit))
                 if v is not None)
    return d.get(f"/v1/stations/{station}/feed" + (f"?{q}" if q else ""), **kw)


class Poll(threading.Thread):
    """One long poll in the background: .resp and .elapsed once done."""

    def __init__(self, d, station, cursor, wait, token=harness.ADMIN):
        super().__init__(daemon=True)
        self.args = (d, station, cursor, wait, token)
        self.resp = None
        self.start()

    def run(self):
        d, station, cursor, wait, token = self.args
        t0 = time.monotonic()
        self.resp = feed(d, station, cursor=cursor, wait=wait, token=token, timeout=wait + 30)
        self.elapsed = time.monotonic() - t0


def waiters(d, n):
    harness.wait_until(lambda: d.metric("dispatchd_feed_waiters") == n,
                       what=f"{n} waiting poll(s)")


def read_all(d, station, cursor=0, limit=None):
    """Every change after cursor, page by page: (changes, last cursor)."""
    got = []
    while True:
        r = feed(d, station, cursor=cursor, limit=limit)
        assert r.status == 200, r
        page = r.json()
        assert page["station"] == station, page
        got += page["changes"]
        if page["changes"]:
            assert page["next_cursor"] == page["changes"][-1]["seq"], page
        else:
            assert page["next_cursor"] == cursor and not page["more"], page
        cursor = page["next_cursor"]
        if not page["more"]:
            return got, cursor


def test_concurrent_writers_read_in_order_exactly_once(w):
    d = w.daemon(extra_conf=FAST)
    writers, each, stations = 6, 200, ("st-a", "st-b")
    procs = []
    for k in range(writers):
        # One psql per writer, one transaction per statement (autocommit).
        script = "".join("SELECT station_feed_add('%s', 'test.change', '{\"w\": %d, \"i\": %d}');\n"
                         % (stations[i % 2], k, i) for i in range(each))
        p = harness.spawn(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", w.pg.dsn],
                          stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
        p.stdin.write(script)
        p.stdin.close()
        procs.append(p)
    # A reader with a cursor while they write: small pages, never a gap.
    seen, cursor = [], 0
    while any(p.poll() is None for p in procs) or cursor < head(w, "st-a"):
        page = feed(d, "st-a", cursor=cursor, limit=7).json()
        for c in page["changes"]:
            assert c["seq"] == cursor + 1, (cursor, c)  # in order, no gap, no repeat
            cursor = c["seq"]
            seen.append(c)
        assert page["next_cursor"] == cursor, page
        assert len(page["changes"]) <= 7
    assert all(p.wait(timeout=60) == 0 for p in procs)
    total = writers * each // 2
    assert [c["seq"] for c in seen] == list(range(1, total + 1))
    assert sorted((c["data"]["w"], c["data"]["i"]) for c in seen) == \
        sorted((k, i) for k in range(writers) for i in range(0, each, 2))
    for k in range(writers):  # each writer's own changes keep its order
        mine = [c["data"]["i"] for c in seen if c["data"]["w"] == k]
        assert mine == sorted(mine), mine
    assert all(c["kind"] == "test.change" and c["at"].endswith("Z") for c in seen)
    # The other station is numbered on its own, from 1.
    b, _ = read_all(d, "st-b")
    assert [c["seq"] for c in b] == list(range(1, writers * each // 2 + 1))
    # Pages: limit and more; the default page is 100.
    r = feed(d, "st-a", cursor=0, limit=500).json()
    assert len(r["changes"]) == 500 and r["more"] is True and r["next_cursor"] == 500, total
    r = feed(d, "st-a", cursor=500, limit=500).json()
    assert len(r["changes"]) == total - 500 and r["more"] is False and r["next_cursor"] == total
    r = feed(d, "st-a", cursor=0).json()
    assert len(r["changes"]) == 100 and r["more"] is True and r["next_cursor"] == 100, r
    r = feed(d, "st-a", cursor=total - 1, limit=1).json()
    assert [c["seq"] for c in r["changes"]] == [total] and r["more"] is False
    r = feed(d, "st-a", cursor=total).json()
    assert r == {"station": "st-a", "changes": [], "next_cursor": total, "more": False}, r
    # A station without any change: an empty feed at 0.
    assert feed(d, "st-none").json() == {"station": "st-none", "changes": [], "next_cursor": 0,
                                         "more": False}


def test_long_poll_wakes_on_commit_and_only_its_station(w):
    d = w.daemon(extra_conf=FAST)
    feed_add(w, "st-w1")
    c1, c2 = head(w, "st-w1"), head(w, "st-w2")
    mine = Poll(d, "st-w1", c1, 40)
    other = Poll(d, "st-w2", c2, 5)
    waiters(d, 2)
    seq = feed_add(w, "st-w1", "shipment.arrived", {"order": "O-1", "seq": 1})
    mine.join(timeout=45)
    assert mine.resp.status == 200, mine.resp
    page = mine.resp.json()
    assert [(c["seq"], c["kind"], c["data"]) for c in page["changes"]] == \
        [(seq, "shipment.arrived", {"order": "O-1", "seq": 1})], page
    assert page["next_cursor"] == seq
    assert mine.elapsed < 40, "answered by the commit, not at the end of its wait"
    # The other station's poll was not woken: still waiting, then empty.
    assert other.is_alive(), "a change of st-w1 answered a poll of st-w2"
    other.join(timeout=40)
    assert other.resp.status == 200 and other.resp.json()["changes"] == [], other.resp
    assert other.resp.json()["next_cursor"] == c2
    # It ran to the end of its wait (libevent starts a timer from the loop's
    # cached time, which a busy loop leaves a little behind: not to the ms).
    assert other.elapsed >= 4.5, other.elapsed
    assert d.metric("dispatchd_feed_notifications_total") >= 1
    waiters(d, 0)


def test_wait_outlives_the_request_deadline(w):
    # A 1 s request deadline: a 3 s wait still ends in 200, not 503.
    d = w.daemon(extra_conf=FAST, server_conf="request_timeout_ms = 1000\n")
    r = feed(d, "st-t", cursor=head(w, "st-t"), wait=3, timeout=20)
    assert r.status == 200 and r.json()["changes"] == [], r
    # And a change mid-wait is still answered after the deadline would have cut it.
    p = Poll(d, "st-t", head(w, "st-t"), 6)
    waiters(d, 1)
    time.sleep(1.5)
    seq = feed_add(w, "st-t")
    p.join(timeout=30)
    assert p.resp.status == 200 and [c["seq"] for c in p.resp.json()["changes"]] == [seq], p.resp


def test_lost_notification_is_caught_by_the_check(w):
    d = w.daemon(extra_conf=FAST)
    c = head(w, "st-n")
    checks = d.metric("dispatchd_feed_check_wakes_total")
    p = Poll(d, "st-n", c, 40)
    waiters(d, 1)
    # A change written without station_feed_add: no NOTIFY at all.
    w.pg.psql("dispatchd",
              "BEGIN; INSERT INTO station_feed_heads AS h VALUES ('st-n', 1) ON CONFLICT "
              "(station_id) DO UPDATE SET seq = h.seq + 1; INSERT INTO station_feed (station_id, "
              "seq, kind) SELECT 'st-n', seq, 'test.silent' FROM station_feed_heads WHERE "
              "station_id = 'st-n'; COMMIT;")
    p.join(timeout=45)
    assert p.resp.status == 200, p.resp
    assert [x["kind"] for x in p.resp.json()["changes"]] == ["test.silent"], p.resp
    assert p.elapsed < 40, "the periodic check answered it before the wait's end"
    assert d.metric("dispatchd_feed_check_wakes_total") > checks


def test_listener_reconnects(w):
    d = w.daemon(extra_conf=FAST)
    harness.wait_until(lambda: d.metric("dispatchd_feed_listener_up") == 1, what="the listener")
    connects = d.metric("dispatchd_feed_listener_connects_total")
    w.pg.psql("postgres", "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                          "WHERE application_name = 'dispatchd-feed'")
    harness.wait_until(lambda: d.metric("dispatchd_feed_listener_connects_total") > connects,
                       what="a new listener connection")
    harness.wait_until(lambda: d.metric("dispatchd_feed_listener_up") == 1, what="listening again")
    notes = d.metric("dispatchd_feed_notifications_total")
    p = Poll(d, "st-r", head(w, "st-r"), 40)
    waiters(d, 1)
    seq = feed_add(w, "st-r")
    p.join(timeout=45)
    assert [c["seq"] for c in p.resp.json()["changes"]] == [seq], p.resp
    assert d.metric("dispatchd_feed_notifications_total") > notes  # woken by the new LISTEN


def test_reconnect_after_restart_gets_exactly_the_rest(w):
    d = w.daemon(extra_conf=FAST)
    for i in range(10):
        feed_add(w, "st-s", data={"i": i})
    page = feed(d, "st-s", cursor=0, limit=4).json()
    assert [c["data"]["i"] for c in page["changes"]] == [0, 1, 2, 3] and page["more"]
    cursor = page["next_cursor"]
    d.stop()
    for i in range(10, 13):  # changes while no daemon runs
        feed_add(w, "st-s", data={"i": i})
    d2 = w.daemon(extra_conf=FAST)
    rest, last = read_all(d2, "st-s", cursor=cursor, limit=5)
    assert [c["data"]["i"] for c in rest] == list(range(4, 13)), rest
    assert [c["seq"] for c in rest] == list(range(cursor + 1, 14)) and last == 13
    # And a long poll from the last cursor gets the next one only.
    p = Poll(d2, "st-s", last, 40)
    waiters(d2, 1)
    feed_add(w, "st-s", data={"i": 13})
    p.join(timeout=45)
    assert [c["data"]["i"] for c in p.resp.json()["changes"]] == [13], p.resp


def test_scan_through_one_daemon_wakes_a_poll_on_another(w):
    # The arrived_at_station scan appends shipment.arrived {order, seq} to
    # the order's station's feed; two daemons share the database, and the
    # commit on the first wakes the poll waiting on the second.
    setup_network(w)
    d1 = w.daemon(extra_conf=FAST + harness.clock_conf())
    d2 = w.daemon(extra_conf=FAST + harness.clock_conf())
    harness.wait_until(lambda: d1.get("/v1/stations").status == 200, what="areas loaded")
    o = d1.request("POST", "/v1/orders", body=dict(ORDER, external_id="feed-o1",
                                                   customer=DONGCHENG,
                                                   lines=[{"sku": SCAN_SKU, "qty": 1}]),
                   headers={"Idempotency-Key": "feed-o1"})
    assert o.status == 201, o
    order = o.json()["id"]
    station = o.json()["station"]["id"]
    for step in ("picked", "packed", "departed_warehouse"):
        r = d1.request("POST", f"/v1/shipments/{order}/1/events", body={"event": step},
                       headers={"Idempotency-Key": f"feed-{step}"})
        assert r.status == 200, r
    before = head(w, station)
    tok = w.token("station", station, label="feed station")
    # Both daemons learn the new token on their own (its notification or
    # their refresh): the scan goes through d1, the poll through d2.
    for d, name in ((d1, "d1"), (d2, "d2")):
        harness.wait_until(lambda: d.get("/v1/admin/tokens/whoami", token=tok).status == 200,
                           what=f"{name} to know the token")
    p = Poll(d2, station, before, 40, token=tok)
    waiters(d2, 1)
    r = d1.request("POST", f"/v1/shipments/{order}/1/events", body={"event": "arrived_at_station"},
                   headers={"Idempotency-Key": "feed-arrived"}, token=tok)
    assert r.status == 200 and r.json()["status"] == "arrived_at_station", r
    p.join(timeout=45)
    assert p.resp.status == 200, p.resp
    changes = p.resp.json()["changes"]
    assert [(c["seq"], c["kind"], c["data"]) for c in changes] == \
        [(before + 1, "shipment.arrived", {"order": order, "seq": 1})], changes
    assert p.elapsed < 40
    # A replay of the scan and a re-scan add nothing.
    r = d1.request("POST", f"/v1/shipments/{order}/1/events", body={"event": "arrived_at_station"},
                   headers={"Idempotency-Key": "feed-arrived"}, token=tok)
    assert r.status == 200, r
    r = d1.request("POST", "/v1/shipments/events", token=tok, body={"scans": [
        {"order": order, "seq": 1, "event": "arrived_at_station", "key": "feed-arrived-2"}]})
    assert r.status == 200, r
    assert head(w, station) == before + 1


def test_postgres_restart_mid_poll(w):
    # PostgreSQL goes away under a waiting poll and comes back: the poll
    # keeps waiting (it holds no connection), the listener reconnects, and a
    # change committed afterwards answers it.
    d = w.daemon(extra_conf=FAST)
    c = head(w, "st-p")
    p = Poll(d, "st-p", c, 50)
    waiters(d, 1)
    w.pg.stop()
    harness.wait_until(lambda: d.metric("dispatchd_feed_listener_up") == 0, what="listener down")
    w.pg.start()
    harness.wait_until(lambda: d.metric("dispatchd_feed_listener_up") == 1, what="listener up")
    if not p.is_alive():
        # The poll may also end while PostgreSQL is away (seen under ASan on a
        # loaded machine): then only as a 503 with Retry-After, and the
        # handheld's next poll from the same cursor waits for the change.
        assert p.resp.status == 503 and p.resp.headers.get("retry-after"), p.resp
        p = Poll(d, "st-p", c, 50)
        waiters(d, 1)
    seq = feed_add(w, "st-p")
    p.join(timeout=55)
    assert p.resp.status == 200 and [x["seq"] for x in p.resp.json()["changes"]] == [seq], p.resp
    assert p.elapsed < 50


def test_concurrent_batches_at_one_station_never_deadlock(w):
    # Trucks unloading at one station at once: batches of arrivals over
    # overlapping orders, sent together. Each arrival appends to the
    # station's feed; the heads are locked before the orders, so no batch
    # deadlocks against another, and every shipment arrives exactly once.
    setup_network(w)
    d = w.daemon(extra_conf=FAST + harness.clock_conf(), server_conf="")
    harness.wait_until(lambda: d.get("/v1/stations").status == 200, what="areas loaded")
    orders = []
    for n in range(9):
        o = d.request("POST", "/v1/orders", body=dict(ORDER, external_id=f"feed-b{n}",
                                                      customer=DONGCHENG,
                                                      lines=[{"sku": SCAN_SKU, "qty": 1}]),
                      headers={"Idempotency-Key": f"feed-b{n}"})
        assert o.status == 201, o
        orders.append(o.json()["id"])
        station = o.json()["station"]["id"]
        for step in ("picked", "packed", "departed_warehouse"):
            r = d.request("POST", f"/v1/shipments/{orders[-1]}/1/events", body={"event": step},
                          headers={"Idempotency-Key": f"feed-b{n}-{step}"})
            assert r.status == 200, r
    before = head(w, station)
    # Two batches overlapping on orders 3..5, lined up behind a lock on the
    # scan keys so that both are under way at once: each has locked its
    # first order (or, as they must, the station's feed head) when released.
    results = [None] * 2
    orders.sort()  # a batch scans in order id order
    parts = (orders[0:6], orders[3:9])

    def batch(k):
        results[k] = d.request("POST", "/v1/shipments/events", timeout=30, body={"scans": [
            {"order": o, "seq": 1, "event": "arrived_at_station", "key": f"feed-b-{k}-{o}"}
            for o in parts[k]]})

    sess = w.pg.hold_lock("shipment_scan_keys")
    threads = [threading.Thread(target=batch, args=(k,)) for k in range(2)]
    for t in threads:
        t.start()
    harness.wait_until(lambda: w.pg.psql("dispatchd", "SELECT count(*) FROM pg_stat_activity "
                                         "WHERE wait_event_type = 'Lock' AND query LIKE "
                                         "'%shipment_scan_batch%'") == "2",
                       what="both batches under way")
    w.pg.release(sess)
    for t in threads:
        t.join(timeout=60)
    for r in results:
        assert r is not None and r.status == 200, r
        assert all(x["status"] == 200 for x in r.json()["results"]), r
    changes, _ = read_all(d, station, cursor=before)
    assert sorted(c["data"]["order"] for c in changes) == sorted(orders), changes  # once each
    assert all(c["kind"] == "shipment.arrived" for c in changes)


def raw_poll(port, path, token):
    """A GET sent on a raw socket, not read yet: the socket."""
    s = socket.create_connection(("127.0.0.1", port), timeout=30)
    s.sendall((f"GET {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n"
               "Connection: close\r\n\r\n").encode())
    return s


def read_answer(s):
    data = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    s.close()
    head_, _, body = data.partition(b"\r\n\r\n")
    return int(head_.split()[1]), json.loads(body)


def test_client_vanishing_mid_poll_is_forgotten(w):
    d = w.daemon(extra_conf=FAST)
    socks = [raw_poll(d.port, f"/v1/stations/st-v/feed?cursor={head(w, 'st-v')}&wait=50",
                      w.admin_token) for _ in range(5)]
    waiters(d, 5)
    for s in socks[:4]:
        s.close()
    waiters(d, 1)  # the four that left are gone, the fifth still waits
    harness.wait_until(lambda: d.metric("dispatchd_http_inflight_requests") == 1,
                       what="only the fifth request in flight")
    seq = feed_add(w, "st-v")
    status, body = read_answer(socks[4])
    assert status == 200 and [c["seq"] for c in body["changes"]] == [seq], body
    waiters(d, 0)
    assert d.metric("dispatchd_http_inflight_requests") == 0
    # A client gone while its page is being read: nothing breaks either.
    s = raw_poll(d.port, "/v1/stations/st-v/feed?cursor=0&wait=5", w.admin_token)
    s.close()
    assert d.get("/healthz").status == 200


def test_200_waiting_polls_hold_no_pg_connection(w):
    d = w.daemon(extra_conf=FAST)  # pool_size = 2 (harness)
    stations = [f"st-c{i}" for i in range(20)]
    heads = {s: head(w, s) for s in stations}
    socks = [(s, raw_poll(d.port, f"/v1/stations/{s}/feed?cursor={heads[s]}&wait=50",
                          w.admin_token)) for s in stations for _ in range(10)]
    waiters(d, 200)
    backends = int(w.pg.psql("postgres", "SELECT count(*) FROM pg_stat_activity "
                                         "WHERE application_name LIKE 'dispatchd%'"))
    assert backends <= 2 + 1, backends  # the pool and the listener
    queries = d.metric("dispatchd_pg_queries_total")
    seqs = {s: feed_add(w, s, data={"s": s}) for s in stations}
    for s, sock in socks:
        status, body = read_answer(sock)
        assert status == 200 and [c["seq"] for c in body["changes"]] == [seqs[s]], body
        assert body["changes"][0]["data"] == {"s": s}
    waiters(d, 0)
    # The ten polls of a station share their read: about one query per
    # change (plus the periodic checks), not one per poll (200).
    assert d.metric("dispatchd_pg_queries_total") - queries < 100, \
        d.metric("dispatchd_pg_queries_total") - queries


def test_bad_parameters_are_422_naming_them(w):
    d = w.daemon(extra_conf=FAST)
    for q, fields in (("cursor=-1", ["cursor"]), ("cursor=abc", ["cursor"]),
                      ("cursor=", ["cursor"]), ("cursor=1234567890123456789", ["cursor"]),
                      ("wait=61", ["wait"]), ("wait=1.5", ["wait"]), ("wait=-1", ["wait"]),
                      ("limit=0", ["limit"]), ("limit=501", ["limit"]), ("limit=x", ["limit"]),
                      ("cursor=x&wait=99&limit=0", ["cursor", "wait", "limit"])):
        r = d.get(f"/v1/stations/st-q/feed?{q}")
        assert r.status == 422, (q, r)
        assert [e["field"] for e in r.json()["errors"]] == fields, (q, r)
        assert all(f in r.json()["detail"] for f in fields), r
    # A cursor beyond the head (a database restored from a backup): 422 with the head.
    feed_add(w, "st-q")
    h = head(w, "st-q")
    for wait in (0, 2):
        r = feed(d, "st-q", cursor=h + 5, wait=wait)
        assert r.status == 422 and r.json()["errors"][0]["field"] == "cursor", r
        assert r.json()["head"] == h, r
    assert feed(d, "st-q", cursor=h, wait=0).status == 200
    assert feed(d, "st-q", wait=60, cursor=0).status == 200  # at once: changes are there


def test_sigterm_answers_waiting_polls(w):
    d = w.daemon(extra_conf=FAST)
    c = head(w, "st-z")
    p = Poll(d, "st-z", c, 50)
    waiters(d, 1)
    d.signal(signal.SIGTERM)
    p.join(timeout=20)
    assert p.resp is not None and p.resp.status == 200, p.resp
    assert p.resp.json() == {"station": "st-z", "changes": [], "next_cursor": c, "more": False}
    assert p.elapsed < 50
    assert d.wait_exit() == 0


def test_feed_bench_runs_and_names_its_figures(w):
    # dispatch-feed-bench (make bench's feed suite) for a token run against
    # this module's daemon: its figures are named feed_*, the run is valid
    # (every poll ends at its station's head, no gap, no error) and the
    # daemon's backends stay within the pool and the listener. Not a speed test.
    from test_bench import figures
    d = w.daemon(extra_conf=FAST)
    env = dict(os.environ, BENCH_ADMIN_TOKEN=w.admin_token)
    r = subprocess.run([os.path.join(harness.BUILD_DIR, "dispatch-feed-bench"), "--url",
                        f"http://127.0.0.1:{d.port}", "--dsn", w.pg.dsn, "--polls", "40",
                        "--stations", "8", "--changes", "24", "--rate", "40"],
                       env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, (r.stdout, r.stderr)
    fig = figures("feed", r.stdout)
    assert list(fig)[-1] == "feed_wakeup_p99_ms", fig  # the headline comes last
    assert fig["feed_polls"] == "40" and fig["feed_changes"] == "24", fig
    assert fig["feed_errors"] == "0" and fig["feed_gaps"] == "0" and fig["feed_missed"] == "0"
    # Each change reaches the 5 polls of its station.
    assert int(fig["feed_wakeups"]) == 24 * 5, fig
    assert 1 <= int(fig["feed_pg_connections"]) <= 2 + 1, fig
    assert float(fig["feed_wakeup_p99_ms"]) >= float(fig["feed_wakeup_p50_ms"]) > 0, fig
    r = subprocess.run([os.path.join(harness.BUILD_DIR, "dispatch-feed-bench"), "--polls", "0"],
                       capture_output=True, text=True, timeout=10)
    assert r.returncode == 2 and "usage" in r.stderr, r


if __name__ == "__main__":
    harness.run(globals())
