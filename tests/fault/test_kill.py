"""Fault tests of the daemon's own process (issue 15; docs/reliability.md):

- SIGKILL at a random moment of each round of mixed load (orders, promises,
  cancels, scans, stock counts, pings), restarted at once: FAULT_ROUNDS
  rounds (20 in `make test`, 200 with `make fault-long`). The daemon is
  ready again after each restart (the time to /readyz 200 is reported
  against the 2 s target); at the end every 2xx of the history is in
  PostgreSQL and tests/fault/invariants.sql finds nothing.
- SIGTERM under load: requests in flight complete with their answers, the
  daemon exits 0 within its drain time, nothing acknowledged is lost."""
import os
import random
import signal
import statistics
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import workload  # noqa: E402
from workload import harness  # noqa: E402

ROUNDS = int(os.environ.get("FAULT_ROUNDS", "20"))


def test_sigkill_under_mixed_load(w):
    workload.setup(w)
    rng = random.Random(int(os.environ.get("FAULT_SEED", "15")))
    h = workload.History()
    d, first_ms = workload.start(w)
    load = workload.Load(w, h, d, stops=workload.prepare_stops(w, d))
    load.start()
    ready, per_round, serving = [], [], []
    try:
        for n in range(ROUNDS):
            before = h.count(lambda e: not e.get("refused"))
            # Killed at a random moment of the round's load: in odd rounds
            # while it is still starting (ready, areas still loading: orders
            # refused, the rest served), in even rounds once it serves orders
            # again (areas loaded; /readyz does not wait for them, so that
            # time is reported on its own).
            if n % 2 == 0:
                t0 = time.monotonic()
                harness.wait_until(lambda: d.get("/v1/stations").status == 200, timeout=60,
                                   interval=0.02, what="areas loaded")
                if ready:
                    serving.append(ready[-1] + (time.monotonic() - t0) * 1000)
            time.sleep(rng.uniform(0.05, 1.0) * workload.ROUND_S)
            d.proc.kill()   # SIGKILL
            d.proc.wait(timeout=10)
            d.stop()
            w.daemons.remove(d)
            d, ms = workload.start(w, areas=False)
            load.d = d
            ready.append(ms)
            per_round.append(h.count(lambda e: not e.get("refused")) - before)
            assert d.proc.poll() is None
    finally:
        load.stop()
    d.stop()
    acked = len(h.acked())
    assert acked > ROUNDS, f"only {acked} requests acknowledged in {ROUNDS} rounds"
    for op in ("order", "scan", "cancel", "stock", "stop", "book", "return"):
        assert h.acked(op), f"no {op} acknowledged: the load did not exercise it"
    checked, _ = workload.check_history(w, h)
    workload.check_invariants(w)
    collections = int(workload.sql(w, "SELECT count(*) FROM cod_ledger WHERE kind = 'collection'"))
    assert collections > 0, "no cash-on-delivery stop was delivered"
    # `make fault-long`'s figures stand beside those of `make test`.
    workload.report("sigkill" if ROUNDS <= 20 else "sigkill_long", {
        "cod_collections": collections,
        "rounds_survived": ROUNDS,
        "requests": h.count(lambda e: not e.get("refused")),
        "requests_per_round_median": int(statistics.median(per_round)),
        "acknowledged": acked,
        "acknowledged_by_kind": " ".join(f"{op}:{len(h.acked(op))}" for op in (
            "order", "promise", "cancel", "scan", "stock", "ping", "stop", "book", "return")),
        "acknowledged_writes_checked": checked,
        "indeterminate": h.count(lambda e: e["status"] is None and not e.get("refused")),
        "refused_while_down": h.count(lambda e: e.get("refused", False)),
        "ready_after_restart_ms_median": round(statistics.median(ready)),
        "ready_after_restart_ms_max": round(max(ready)),
        "ready_within_2s_rounds": sum(1 for x in ready if x <= 2000),
        "orders_served_after_restart_ms_median": round(statistics.median(serving or [0])),
        "orders_served_after_restart_ms_max": round(max(serving or [0])),
    })


def test_sigterm_drains_in_flight_requests(w):
    """SIGTERM with clients sending: every request the daemon had accepted
    gets its answer (no connection dropped mid-request with a status never
    sent), the daemon exits 0 within its drain time, and every 2xx is in
    PostgreSQL."""
    workload.setup(w)
    h = workload.History()
    d, _ = workload.start(w)
    load = workload.Load(w, h, d, seed=2)
    load.start()
    try:
        harness.wait_until(lambda: len(h.acked("order")) >= 20, timeout=60,
                           what="orders flowing")
        inflight = d.metric("dispatchd_http_inflight_requests")
        t0 = time.monotonic()
        d.signal(signal.SIGTERM)
        rc = d.wait_exit(timeout=harness.STOP_TIMEOUT_S)
        exit_s = time.monotonic() - t0
    finally:
        load.stop()
    assert rc == 0, f"dispatchd exited with {rc}:\n" + d.log()[-3000:]
    # Every answer that came is a real one: no 5xx from a request cut off by
    # the shutdown; a new request on a kept-alive connection may be refused
    # 503 with Retry-After (docs/operations.md, "Shutdown"), nothing else.
    cut = [e for e in h.ops if e["status"] is not None and e["status"] >= 500
           and not (e["status"] == 503 and e.get("retry_after"))]
    assert not cut, f"requests answered {cut[0]['status']} during the drain: {cut[:3]}"
    checked, _ = workload.check_history(w, h)
    workload.check_invariants(w)
    workload.report("sigterm", {
        "requests": len(h.ops),
        "in_flight_at_sigterm": int(inflight or 0),
        "indeterminate": h.count(lambda e: e["status"] is None and not e.get("refused")),
        "acknowledged_writes_checked": checked,
        "exit_code": rc,
        "exit_after_sigterm_ms": round(exit_s * 1000),
    })


if __name__ == "__main__":
    harness.run(globals())
