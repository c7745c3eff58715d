"""The HTTP surface of the foundation: health, readiness, metrics, admin,
and the error contract (problem+json for 400/404/405/413/422)."""
import hashlib
import os
import socket

import harness


def test_healthz_and_readyz(w):
    d = w.daemon()
    r = d.get("/healthz")
    assert r.status == 200 and r.json()["status"] == "ok", r
    r = harness.wait_until(lambda: (lambda x: x if x.status == 200 else None)(d.get("/readyz")),
                           what="ready")
    body = r.json()
    assert body["checks"]["postgres"]["up"] is True and body["checks"]["redis"]["up"] is True
    assert r.headers["content-type"] == "application/json"
    assert "x-request-id" in r.headers


def test_request_id_is_echoed(w):
    d = w.daemon()
    r = d.get("/healthz", headers={"X-Request-Id": "abc-123"})
    assert r.headers["x-request-id"] == "abc-123", r.headers


def test_unknown_route_is_404_problem(w):
    d = w.daemon()
    r = d.get("/v1/nowhere")
    assert r.status == 404
    assert r.headers["content-type"] == "application/problem+json"
    p = r.json()
    assert p["status"] == 404 and p["title"] == "Not Found" and p["detail"], p
    assert p["type"] == "urn:dispatchd:problem:not-found", p


def test_wrong_method_is_405_with_allow(w):
    d = w.daemon()
    r = d.request("DELETE", "/healthz")
    assert r.status == 405, r
    assert r.headers["content-type"] == "application/problem+json"
    assert "GET" in r.headers["allow"], r.headers
    assert "DELETE" in r.json()["detail"]
    assert r.json()["type"] == "urn:dispatchd:problem:method-not-allowed"


def test_route_body_limit_is_413_problem(w):
    d = w.daemon()
    r = d.request("PUT", "/v1/admin/log-level", body="x" * 5000,
                  headers={"Content-Type": "application/json"})
    assert r.status == 413, r
    assert r.headers["content-type"] == "application/problem+json"
    assert "4096" in r.json()["detail"]
    assert r.json()["type"] == "urn:dispatchd:problem:body-too-large"


def test_server_body_limit_is_413(w):
    """Over max_body_bytes the body is refused from its Content-Length,
    before any of it is read."""
    d = w.daemon()
    s = socket.create_connection(("127.0.0.1", d.port), timeout=5)
    s.sendall(b"PUT /v1/admin/log-level HTTP/1.1\r\nHost: x\r\n"
              b"Content-Type: application/json\r\nContent-Length: 2097152\r\n\r\n")
    head = s.recv(4096).decode("latin-1")
    s.close()
    assert head.startswith("HTTP/1.1 413"), head
    assert d.get("/healthz").status == 200


def test_malformed_json_is_400_problem(w):
    d = w.daemon()
    r = d.request("PUT", "/v1/admin/log-level", body='{"level": ',
                  headers={"Content-Type": "application/json"})
    assert r.status == 400, r
    assert r.headers["content-type"] == "application/problem+json"
    assert "malformed JSON" in r.json()["detail"]
    assert r.json()["type"] == "urn:dispatchd:problem:malformed-request"
    r = d.request("PUT", "/v1/admin/log-level", body='[1,2]')
    assert r.status == 400 and "object" in r.json()["detail"], r


def test_invalid_field_is_422_listing_it(w):
    d = w.daemon()
    r = d.request("PUT", "/v1/admin/log-level", body={"level": "loud"})
    assert r.status == 422, r
    p = r.json()
    assert p["errors"][0]["field"] == "level", p
    assert p["type"] == "urn:dispatchd:problem:validation-failed", p
    r = d.request("PUT", "/v1/admin/log-level", body={"level": "debug"})
    assert r.status == 200 and r.json()["level"] == "debug", r


def test_migrations_listed_from_postgres(w):
    d = w.daemon()
    harness.wait_until(lambda: d.get("/readyz").status == 200, what="ready")
    r = d.get("/v1/admin/migrations")
    assert r.status == 200, r
    names = [m["name"] for m in r.json()["migrations"]]
    assert names[0] == "001_foundation.sql", names
    # And the function and view files of data/sql, each with its md5.
    sql_dir = os.path.join(harness.SOURCE_DIR, "data", "sql")
    want = {f: hashlib.md5(open(os.path.join(sql_dir, f), "rb").read()).hexdigest()
            for f in os.listdir(sql_dir) if f.endswith(".sql")}
    got = {f["name"]: f["checksum"] for f in r.json()["functions"]}
    assert got == want, (got, want)
    assert all(f["applied_at"].endswith("Z") for f in r.json()["functions"]), r


def test_unmigrated_schema_is_named(w):
    """A database never migrated, or migrated before data/sql existed (no
    schema_functions): 503 saying to run dispatchctl migrate."""
    w.pg.psql("postgres", "CREATE DATABASE bare OWNER dispatchd")
    w.pg.psql("postgres", "CREATE DATABASE halfway OWNER dispatchd")
    w.pg.psql("halfway", "CREATE TABLE schema_migrations (version integer PRIMARY KEY, name text "
                         "NOT NULL, checksum text NOT NULL, applied_at timestamptz NOT NULL "
                         "DEFAULT now())", user="dispatchd")
    dsn = w.pg.dsn
    for db in ("bare", "halfway"):
        w.pg.dsn = dsn.replace("dbname=dispatchd", f"dbname={db}")
        try:
            d = w.daemon()
        finally:
            w.pg.dsn = dsn
        harness.wait_until(lambda: d.metric('dispatchd_dependency_up{dependency="postgres"}') == 1,
                           what="postgres up")
        r = d.get("/v1/admin/migrations")
        assert r.status == 503 and "not migrated" in r.json()["detail"], (db, r)
        d.stop()


def test_metrics_count_requests_per_route_and_status(w):
    d = w.daemon()
    harness.wait_until(lambda: d.get("/readyz").status == 200, what="ready")
    for _ in range(3):
        d.get("/healthz")
    d.get("/v1/nowhere")
    r = d.get("/metrics")
    assert r.status == 200
    assert r.headers["content-type"].startswith("text/plain; version=0.0.4")
    text = r.body
    assert 'dispatchd_http_requests_total{route="/healthz",method="GET",status="200"} ' in text
    line = [l for l in text.splitlines()
            if l.startswith('dispatchd_http_requests_total{route="/healthz",method="GET",status="200"}')][0]
    assert int(line.split()[-1]) >= 4, line  # 3 + the start-up probe
    assert 'dispatchd_http_requests_total{route="unmatched",method="GET",status="404"} 1' in text
    assert 'dispatchd_http_request_duration_seconds_bucket{route="/healthz",method="GET",status="200",le="+Inf"}' in text
    assert 'dispatchd_dependency_up{dependency="postgres"} 1' in text
    assert 'dispatchd_dependency_up{dependency="redis"} 1' in text


def test_client_gone_with_query_in_flight(w):
    """A client that disconnects while its PostgreSQL query waits on a lock:
    the daemon must neither crash nor leak (the ASan build checks) and keep serving."""
    d = w.daemon()
    harness.wait_until(lambda: d.get("/readyz").status == 200, what="ready")
    lock = w.pg.hold_lock("schema_migrations")
    s = socket.create_connection(("127.0.0.1", d.port))
    s.sendall(f"GET /v1/admin/migrations HTTP/1.1\r\nHost: x\r\n"
              f"Authorization: Bearer {w.admin_token}\r\n\r\n".encode())
    harness.wait_until(lambda: d.metric("dispatchd_http_inflight_requests") == 1,
                       what="the request in flight")
    s.close()
    harness.wait_until(lambda: d.metric("dispatchd_http_inflight_requests") == 1,
                       what="still waiting on the lock")
    w.pg.release(lock)
    # The departed client's read is not finished: it is counted as 499.
    series = ('dispatchd_http_requests_total{route="/v1/admin/migrations",method="GET",'
              'status="499"}')
    harness.wait_until(lambda: d.metric(series) == 1, what="the request counted as 499")
    r = d.get("/v1/admin/migrations")
    assert r.status == 200, r
    assert d.get("/healthz").status == 200
    # The departed client's request is finished, not left in flight.
    harness.wait_until(lambda: d.metric("dispatchd_http_inflight_requests") == 0,
                       what="the departed request finished")


def test_backend_wait_past_request_timeout_is_503(w):
    # The query itself may wait for minutes: the answer can only come from
    # the request timeout, whose detail names it (the client's 60 s is a
    # guard against a hang, not a bound on speed).
    d = w.daemon(server_conf="request_timeout_ms = 300\n",
                 extra_conf="[postgres]\nquery_timeout_ms = 600000\n")
    harness.wait_until(lambda: d.get("/readyz").status == 200, what="ready")
    lock = w.pg.hold_lock("schema_migrations")
    try:
        r = d.get("/v1/admin/migrations", timeout=60)
    finally:
        w.pg.release(lock)
    assert r.status == 503, r
    assert r.json()["detail"] == "timed out waiting for a backend", r
    assert d.get("/v1/admin/migrations").status == 200



def test_every_problem_type_is_documented(w):
    """Clients branch on `type`: each one the daemon can answer is listed in
    docs/api.md with its status, and the docs list no type that does not exist."""
    import re
    src = open(os.path.join(harness.SOURCE_DIR, "daemon", "io", "problem.c")).read()
    rows = re.findall(r'\{(\d{3}), DM_PROBLEM_URN "([a-z-]+)"', src)
    assert len(rows) >= 15, rows
    doc = open(os.path.join(harness.SOURCE_DIR, "docs", "api.md")).read()
    documented = dict(re.findall(r"^\| `urn:dispatchd:problem:([a-z-]+)` \| (\d{3}) \|", doc, re.M))
    for status, slug in rows:
        assert documented.get(slug) == status, f"{slug} ({status}) not documented as such in docs/api.md"
    assert set(documented) == {slug for _, slug in rows}, set(documented) ^ {s for _, s in rows}


if __name__ == "__main__":
    harness.run(globals())
