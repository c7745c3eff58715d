"""Readiness follows the real backends: stopping Redis or PostgreSQL flips
/readyz to 503 and the dependency gauge to 0; bringing them back flips both
back, without restarting the daemon."""
import harness


def ready_status(d):
    return d.get("/readyz").status


def gauge(d, dep):
    return d.metric(f'dispatchd_dependency_up{{dependency="{dep}"}}')


def test_redis_outage_flips_readiness(w):
    d = w.daemon()
    harness.wait_until(lambda: ready_status(d) == 200, what="ready")
    pid = d.proc.pid
    w.redis.stop()
    harness.wait_until(lambda: ready_status(d) == 503, what="503 with redis down")
    body = d.get("/readyz").json()
    assert body["checks"]["redis"]["up"] is False and body["checks"]["postgres"]["up"] is True
    assert gauge(d, "redis") == 0
    assert d.get("/healthz").status == 200  # alive all along
    w.redis.start()
    harness.wait_until(lambda: ready_status(d) == 200, what="200 with redis back")
    assert gauge(d, "redis") == 1
    assert d.proc.pid == pid and d.proc.poll() is None


def test_postgres_outage_flips_readiness(w):
    d = w.daemon()
    harness.wait_until(lambda: ready_status(d) == 200, what="ready")
    w.pg.stop()
    harness.wait_until(lambda: ready_status(d) == 503, what="503 with postgres down")
    body = d.get("/readyz").json()
    assert body["checks"]["postgres"]["up"] is False and body["checks"]["redis"]["up"] is True
    assert gauge(d, "postgres") == 0
    r = d.get("/v1/admin/migrations")
    assert r.status == 503 and r.headers["content-type"] == "application/problem+json", r
    assert r.json()["type"] == "urn:dispatchd:problem:backend-unavailable", r
    assert int(r.headers["retry-after"]) >= 1, r.headers
    w.pg.start()
    harness.wait_until(lambda: ready_status(d) == 200, what="200 with postgres back")
    assert gauge(d, "postgres") == 1
    assert d.get("/v1/admin/migrations").status == 200
    assert d.proc.poll() is None


def test_starts_with_backends_down_and_recovers(w):
    """The daemon must not wait for the database to start: it listens and
    reports not-ready, then becomes ready when the backends appear."""
    w.redis.stop()
    w.pg.stop()
    try:
        d = w.daemon()
        assert d.get("/healthz").status == 200
        assert ready_status(d) == 503
        # Each outage's reason is logged once, at warning level: after several
        # failed attempts of each (pool_size = 2 connections), still one line.
        harness.wait_until(lambda: d.metric("dispatchd_pg_connect_attempts_total") >= 6
                           and d.metric("dispatchd_redis_connect_attempts_total") >= 3,
                           what="several failed connect attempts")
        for tag in ("pg", "redis"):
            lines = [l for l in d.log().splitlines()
                     if f"{tag}: cannot connect (retrying with backoff)" in l]
            assert len(lines) == 1, lines
            assert lines[0].startswith("<4>") or " warning " in lines[0], lines
    finally:
        w.redis.start()
        w.pg.start()
    harness.wait_until(lambda: ready_status(d) == 200, what="ready after backends start")


if __name__ == "__main__":
    harness.run(globals())
