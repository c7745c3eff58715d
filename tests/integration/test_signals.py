"""Signals: SIGHUP reloads (a broken file keeps the running config and the
daemon keeps serving), SIGTERM drains in-flight requests and exits 0."""
import signal
import socket
import threading

import harness


def reloads(d, result):
    return d.metric(f'dispatchd_config_reloads_total{{result="{result}"}}')


def test_good_reload_applies_new_limits(w):
    d = w.daemon()
    big = '{"level":"info"' + " " * 3000 + '}'   # 3 KB, white space (another member is a 422)
    assert d.request("PUT", "/v1/admin/log-level", body=big).status == 200
    d.write_conf(d.conf_text().replace("[server]\n", "[server]\nmax_body_bytes = 2048\n"))
    d.signal(signal.SIGHUP)
    harness.wait_until(lambda: reloads(d, "ok") == 1, what="reload counted")
    r = d.request("PUT", "/v1/admin/log-level", body=big)
    assert r.status == 413, r
    assert "reloaded" in d.log()


def test_broken_reload_keeps_serving_old_config(w):
    d = w.daemon()
    harness.wait_until(lambda: d.get("/readyz").status == 200, what="ready")
    d.write_conf(d.conf_text() + "\n[server]\nlisten_port = not-a-port\n")
    d.signal(signal.SIGHUP)
    harness.wait_until(lambda: reloads(d, "failed") == 1, what="failed reload counted")
    assert d.get("/healthz").status == 200
    assert d.get("/readyz").status == 200
    log = d.log()
    assert "reload failed, keeping the running config" in log, log
    assert "listen_port" in log and "line " in log, log
    # And the daemon still reloads once the file is fixed.
    d.write_conf()
    d.signal(signal.SIGHUP)
    harness.wait_until(lambda: reloads(d, "ok") == 1, what="good reload after a bad one")


def test_fixed_key_change_is_kept_on_reload(w):
    d = w.daemon()
    d.write_conf(d.conf_text().replace("pool_size = 2", "pool_size = 7"))
    d.signal(signal.SIGHUP)
    harness.wait_until(lambda: reloads(d, "ok") == 1, what="reload")
    assert "[postgres] pool_size cannot change on reload" in d.log()
    body = harness.wait_until(lambda: (lambda r: r if r.status == 200 else None)(d.get("/readyz")),
                              what="ready").json()
    assert body["checks"]["postgres"]["connections_total"] == 2


def test_test_clock_is_refused_on_reload_where_forbidden(w):
    """Under DISPATCH_FORBID_TEST_CLOCK (set by the shipped unit), a reload
    that turns the test clock on is refused and the running config kept."""
    d = w.daemon(env={"DISPATCH_FORBID_TEST_CLOCK": "1"})
    d.write_conf(d.conf_text() + harness.clock_conf("2030-01-08T10:59:00+08:00"))
    d.signal(signal.SIGHUP)
    harness.wait_until(lambda: reloads(d, "failed") == 1, what="failed reload counted")
    assert reloads(d, "ok") == 0
    log = d.log()
    assert "[testing] clock = fixed is refused: DISPATCH_FORBID_TEST_CLOCK is set" in log, log
    assert "test clock:" not in log, log
    # Without the variable the same file is accepted, and says so.
    e = w.daemon()
    e.reload(harness.clock_conf("2030-01-08T10:59:00+08:00"))
    assert "test clock: fixed at 2030-01-08T02:59:00Z; tests only" in e.log()


def test_sigterm_drains_in_flight_requests(w):
    d = w.daemon()
    harness.wait_until(lambda: d.get("/readyz").status == 200, what="ready")
    lock = w.pg.hold_lock("schema_migrations")
    result = {}

    def slow():
        result["r"] = d.get("/v1/admin/migrations", timeout=20)

    t = threading.Thread(target=slow)
    t.start()
    harness.wait_until(lambda: d.metric("dispatchd_http_inflight_requests") == 1,
                       what="the slow request in flight")
    d.signal(signal.SIGTERM)
    harness.wait_until(lambda: "SIGTERM: stopping; draining 1 in-flight request(s)" in d.log(),
                       what="the drain to start")
    assert d.proc.poll() is None, "exited with a request in flight"
    # New connections are refused while draining.
    try:
        socket.create_connection(("127.0.0.1", d.port), timeout=1).close()
        refused = False
    except OSError:
        refused = True
    assert refused, "still accepting while draining"
    w.pg.release(lock)
    t.join(timeout=20)
    assert result["r"].status == 200, result
    assert d.wait_exit(timeout=10) == 0
    assert "drained; exiting" in d.log()


def test_sigterm_drain_deadline(w):
    d = w.daemon(server_conf="drain_timeout_ms = 500\n")
    harness.wait_until(lambda: d.get("/readyz").status == 200, what="ready")
    lock = w.pg.hold_lock("schema_migrations")
    s = socket.create_connection(("127.0.0.1", d.port))
    s.sendall(f"GET /v1/admin/migrations HTTP/1.1\r\nHost: x\r\n"
              f"Authorization: Bearer {w.admin_token}\r\n\r\n".encode())
    harness.wait_until(lambda: d.metric("dispatchd_http_inflight_requests") == 1,
                       what="the slow request in flight")
    d.signal(signal.SIGTERM)
    # Exits although the request never finishes (the lock is still held).
    assert d.wait_exit(timeout=60) == 0
    assert "drain deadline passed with 1 request(s) in flight; exiting" in d.log()
    s.close()
    w.pg.release(lock)


if __name__ == "__main__":
    harness.run(globals())
