"""Rate limits: per caller and route class, 429 problem+json with
Retry-After, recovery in the next second, one limit shared by two daemons
through Redis, and each daemon still limiting alone while Redis is down."""
import time

import harness

LIMIT = "[rate_limit]\nread_per_s = {n}\nwrite_per_s = {n}\n"


def burst(d, n, path="/v1/stations"):
    """Statuses of n requests sent back to back."""
    return [d.get(path).status for _ in range(n)]


def test_over_the_limit_is_429_then_recovers(w):
    d = w.daemon(extra_conf=LIMIT.format(n=5))
    statuses = burst(d, 30)
    assert 429 in statuses, statuses
    # A burst may straddle one second boundary: at most two windows' worth pass.
    assert statuses.count(200) + statuses.count(503) <= 10, statuses
    r = d.get("/v1/stations")
    while r.status != 429:
        r = d.get("/v1/stations")
    p = r.json()
    assert p["type"] == "urn:dispatchd:problem:rate-limited" and p["status"] == 429, p
    assert int(r.headers["retry-after"]) >= 1, r.headers
    # The next second admits again; health probes are never limited.
    assert d.get("/healthz").status == 200 and d.get("/readyz").status in (200, 503)
    harness.wait_until(lambda: d.get("/v1/stations").status != 429, what="the next window")
    series = 'dispatchd_rate_limited_total'
    assert d.metric(series) >= 1, d.metric(series)


def test_limit_is_shared_by_two_daemons(w):
    """The window is the wall-clock second (rate_limit.c: time(NULL)); a
    test aligned to it failed under load. Instead a keeps every second used
    up while b asks at most limit - 1 times in all, each of its asks apart by
    more than a sync interval (100 ms): b's own count can never refuse it,
    so a 429 from b is a's count, shared through Redis, in whatever second
    it comes."""
    import threading
    limit = 20
    conf = LIMIT.format(n=limit)
    a, b = w.daemon(extra_conf=conf), w.daemon(extra_conf=conf)
    stop = threading.Event()

    def hammer():
        while not stop.is_set():
            if a.get("/v1/stations").status == 429:
                time.sleep(0.01)   # used up: no need to spin
    t = threading.Thread(target=hammer)
    t.start()
    try:
        statuses = []
        while len(statuses) < limit - 1 and 429 not in statuses:
            time.sleep(0.15)
            statuses.append(b.get("/v1/stations").status)
    finally:
        stop.set()
        t.join()
    assert len(statuses) < limit, statuses
    assert 429 in statuses, f"b never refused what a had used up: {statuses}"


def test_each_daemon_limits_alone_while_redis_is_down(w):
    d = w.daemon(extra_conf=LIMIT.format(n=5))
    w.redis.stop()
    try:
        harness.wait_until(lambda: d.get("/readyz").status == 503, what="redis seen down")
        assert 429 in burst(d, 30)
    finally:
        w.redis.start()


def test_failed_token_attempts_are_throttled_per_address(w):
    """Guessing tokens: requests refused 401 count against the client
    address's public limit, and past it are answered 429."""
    d = w.daemon(extra_conf="[rate_limit]\npublic_per_s = 5\n")
    statuses = [d.get("/v1/stations", token="dsp_admin_" + "A" * 43).status for _ in range(30)]
    assert statuses[0] == 401 and 429 in statuses, statuses
    assert statuses.count(401) <= 10, statuses  # at most two windows' worth
    # A valid token is not held back by the address's failures.
    assert d.get("/v1/stations").status != 429


if __name__ == "__main__":
    harness.run(globals())
