"""Automatic wave planning with two daemons on one PostgreSQL and Redis
(svc/wave_scheduler.c): at its planning cut-off each wave is planned by
exactly one daemon (one version 1, one claim); a claim a dead daemon left is
taken over with the next fencing epoch; the replan queue is taken by one
daemon and replans warm: done stops and a started courier's next stop stay
where they are, an off-shift courier's stops move to others; every version
writes its changes to the station feed. The daemons run on the fixed test
clock at 12:40, past the 13:00 wave's cut-off (30 minutes)."""
import json

import harness
import wave_fixtures
from test_promise import ready_daemon, plenty_of_stock, ORDER_CLOCK
from test_routes import place_orders

PLAN_CLOCK = "2030-01-08T12:40:00+08:00"
SCHED = "[dispatch]\nscheduler_interval_ms = 100\nplan_cutoff_minutes = 30\n"
# The test's couriers ride a small box, so that a wave needs several of them.
TINY = ("INSERT INTO vehicle_profiles VALUES ('tiny_box', 2.5, 100, 15) "
        "ON CONFLICT (name) DO NOTHING")


def sql(w, q):
    return w.pg.psql("dispatchd", q)


def plans_of(w, st, key):
    return sql(w, "SELECT coalesce(string_agg(version || ':' || reason, ',' ORDER BY version), '')"
                  f" FROM route_plans WHERE station_id = '{st}' AND wave_key = '{key}'")


def feed(w, st, key, after=0):
    rows = sql(w, "SELECT seq, kind, data FROM station_feed "
                  f"WHERE station_id = '{st}' AND seq > {after} AND data->>'wave' = '{key}' "
                  "ORDER BY seq")
    out = []
    for line in rows.splitlines():
        seq, kind, data = line.split("|", 2)
        out.append((int(seq), kind, json.loads(data)))
    return out


def stops_of(w, key):
    rows = sql(w, "SELECT id, order_id, coalesce(courier_id, ''), coalesce(position, -1), status, "
                  f"coalesce(route_version, 0) FROM stops WHERE wave_key = '{key}'")
    out = {}
    for line in rows.splitlines():
        sid, order, courier, pos, status, ver = line.split("|")
        out[sid] = {"order": order, "courier": courier, "position": int(pos), "status": status,
                    "version": int(ver)}
    return out


def test_two_daemons_plan_each_wave_once_then_replan_warm(w):
    d0 = ready_daemon(w, at=ORDER_CLOCK, extra_conf="[dispatch]\nscheduler_interval_ms = 0\n")
    plenty_of_stock(w)
    st, waves, heavy, away, couriers = place_orders(w, d0)
    st = st["id"]
    d0.stop()
    sql(w, TINY)
    sql(w, f"UPDATE couriers SET vehicle = 'tiny_box' WHERE station_id = '{st}'")
    key = [k for k in waves if k.endswith("-W1300")][0]
    empty = key[:9] + "W0900"  # the morning wave: nothing booked, not over at 12:40
    # A claim on the morning wave left by a daemon that died 10 minutes ago.
    sql(w, "INSERT INTO wave_auto_plans (station_id, wave_key, epoch, claimed_by, claimed_at) "
           f"VALUES ('{st}', '{empty}', 5, 'dead:1:00', now() - interval '10 minutes')")

    a = w.daemon(extra_conf=SCHED + harness.clock_conf(PLAN_CLOCK))
    b = w.daemon(extra_conf=SCHED + harness.clock_conf(PLAN_CLOCK))
    harness.wait_until(lambda: sql(w, "SELECT count(*) FROM wave_auto_plans WHERE "
                                      f"station_id = '{st}' AND done_at IS NOT NULL") == "2",
                       timeout=30, what="both waves of the station done")
    # One version 1, published under one claim (epoch 1) by one daemon.
    assert plans_of(w, st, key) == "1:auto", plans_of(w, st, key)
    claim = sql(w, "SELECT epoch, version, claimed_by FROM wave_auto_plans "
                   f"WHERE station_id = '{st}' AND wave_key = '{key}'").split("|")
    assert claim[:2] == ["1", "1"], claim
    logs = a.log() + b.log()
    assert logs.count(f"planning {st} {key} at its cut-off") == 1, logs[-3000:]
    # The dead daemon's claim was taken over with the next epoch: an empty plan.
    assert sql(w, "SELECT epoch || ':' || version FROM wave_auto_plans "
                  f"WHERE station_id = '{st}' AND wave_key = '{empty}'") == "6:1"
    assert plans_of(w, st, empty) == "1:auto"
    # Stations with nothing booked are recorded done, without a plan.
    harness.wait_until(lambda: sql(w, "SELECT count(*) FROM wave_auto_plans WHERE done_at IS "
                                      "NOT NULL AND version IS NULL") != "0",
                       what="empty waves recorded done")
    assert sql(w, "SELECT count(*) FROM route_plans WHERE station_id <> "
                  f"'{st}'") == "0"

    v1 = a.get(f"/v1/stations/{st}/waves/{key}/routes").json()
    assert v1["version"] == 1 and v1["reason"] == "auto", v1
    routed = [s for r in v1["routes"] for s in r["stops"]]
    assert len(v1["routes"]) >= 3, v1["routes"]
    assert {r["courier_id"] for r in v1["routes"]} <= set(couriers)
    f1 = feed(w, st, key)
    assert [k for _, k, _ in feed(w, st, empty)] == ["plan.published"]
    assert [k for _, k, _ in f1] == ["stop.assigned"] * len(routed) + ["plan.published"], f1
    assert f1[-1][2]["version"] == 1 and f1[-1][2]["stops"] == len(routed), f1[-1]
    assert {x["stop"] for _, k, x in f1 if k == "stop.assigned"} == {s["stop_id"] for s in routed}

    # Courier X delivered its first stop (it has started: its next stop is
    # fixed too); courier Y goes off shift; the queue asks for a replan.
    by_len = sorted(v1["routes"], key=lambda r: -len(r["stops"]))
    x, y = by_len[0], by_len[1]
    assert len(x["stops"]) >= 2, x
    done = x["stops"][0]["stop_id"]
    sql(w, f"UPDATE stops SET status = 'delivered' WHERE id = '{done}'")
    # X's next stop is committed: it stays next even where a plan from
    # scratch would never put it (its customer now lives 6 km away).
    nxt = x["stops"][1]["stop_id"]
    sql(w, "UPDATE orders SET lon = lon + 0.05, lat = lat + 0.03 WHERE id = "
           f"'{x['stops'][1]['order_id']}'")
    sql(w, f"UPDATE couriers SET active = false WHERE id = '{y['courier_id']}'")
    before = stops_of(w, key)
    sql(w, "INSERT INTO wave_replans_due (station_id, wave_key, reason) VALUES "
           f"('{st}', '{key}', 'courier off shift')")
    harness.wait_until(lambda: plans_of(w, st, key) == "1:auto,2:courier off shift",
                       timeout=30, what="the replan published")
    assert sql(w, "SELECT count(*) FROM wave_replans_due") == "0"
    v2 = b.get(f"/v1/stations/{st}/waves/{key}/routes").json()
    assert v2["version"] == 2 and v2["params"]["fixed"] == 2, v2["params"]  # done + next
    after = stops_of(w, key)
    # The done stop never moves; the started courier's next stop stays next.
    assert after[done] == before[done], (before[done], after[done])
    x2 = [r for r in v2["routes"] if r["courier_id"] == x["courier_id"]][0]
    assert [s["stop_id"] for s in x2["stops"][:2]] == [s["stop_id"] for s in x["stops"][:2]]
    assert (after[nxt]["courier"], after[nxt]["position"]) == (x["courier_id"], 1), after[nxt]
    # Y's stops went to others (or, beyond the others' capacity, unassigned).
    assert y["courier_id"] not in {r["courier_id"] for r in v2["routes"]}
    gone = {s["stop_id"] for s in y["stops"]}
    for sid in gone:
        assert after[sid]["courier"] != y["courier_id"], after[sid]
        assert after[sid]["status"] in ("planned", "pending") and after[sid]["version"] == 2
    moved = [c for c in v2["changes"] if c["change"] == "moved" and c["stop"] in gone]
    assert moved and all(c["from"]["courier"] == y["courier_id"] for c in moved), v2["changes"]
    assert len(moved) + len([c for c in v2["changes"] if c["change"] == "unassigned"
                             and c["stop"] in gone]) == len(gone), v2["changes"]
    f2 = feed(w, st, key, after=f1[-1][0])
    assert f2[-1][1] == "plan.published" and f2[-1][2]["version"] == 2 and \
        f2[-1][2]["reason"] == "courier off shift", f2[-1]
    assert [(k, x_["stop"]) for _, k, x_ in f2[:-1]] == \
        [("stop." + c["change"], c["stop"]) for c in v2["changes"]
         if c["change"] in ("assigned", "moved")], (f2, v2["changes"])
    for _, k, x_ in f2[:-1]:
        if k == "stop.moved":
            assert set(x_) == {"stop", "order", "wave", "from", "to", "version"}, x_

    # A replan on demand: version 3, the done stop still where it was, even
    # though X now rides a box that holds its next parcel only (its fixed
    # prefix fits once the delivered parcel no longer counts).
    cap = x["stops"][1]["weight_kg"] + 0.01
    sql(w, f"INSERT INTO vehicle_profiles VALUES ('micro_box', {cap}, 100, 15)")
    sql(w, f"UPDATE couriers SET vehicle = 'micro_box' WHERE id = '{x['courier_id']}'")
    r = a.request("POST", f"/v1/stations/{st}/waves/{key}/replan", body={"reason": "urgent"})
    assert r.status == 200 and r.json()["version"] == 3 and r.json()["reason"] == "urgent", r
    x3 = [rt for rt in r.json()["routes"] if rt["courier_id"] == x["courier_id"]][0]
    assert [s["stop_id"] for s in x3["stops"]] == [done, nxt], x3
    assert stops_of(w, key)[done] == before[done]
    assert a.get(f"/v1/stations/{st}/waves/{key}/routes?version=1").json() == v1
    # Each wave was claimed once by the scheduler: no second automatic plan.
    assert sql(w, "SELECT count(*) FROM route_plans WHERE reason = 'auto'") == "2"
    bad = a.request("POST", f"/v1/stations/{st}/waves/{key}/replan", body={"why": "x"})
    assert bad.status == 422 and {e["field"] for e in bad.json()["errors"]} == {"why", "reason"}


def test_no_courier_on_shift_publishes_every_stop_unassigned(w):
    d = ready_daemon(w, at=ORDER_CLOCK, extra_conf="[dispatch]\nscheduler_interval_ms = 0\n")
    plenty_of_stock(w)
    st, waves, heavy, away, couriers = place_orders(w, d)
    sql(w, f"UPDATE couriers SET active = false WHERE station_id = '{st['id']}'")
    key = [k for k in waves if k.endswith("-W1300")][0]
    r = d.request("POST", f"/v1/stations/{st['id']}/waves/{key}/plan")
    assert r.status == 200, r
    plan = r.json()
    assert plan["routes"] == [] and plan["params"]["couriers"] == 0, plan
    # (The world is shared: a stop the test above delivered stays as it is.)
    done = set(sql(w, "SELECT order_id FROM stops WHERE status = 'delivered'").split())
    assert sorted(u["order_id"] for u in plan["unassigned"]) == \
        sorted(waves[key] - {away} - done), plan["unassigned"]
    assert plan["unassigned"], plan
    assert {u["reason"] for u in plan["unassigned"]} == {"no_courier"}, plan["unassigned"]


def test_a_wave_under_way_is_planned_from_now(w):
    """(After the tests above, in the same world: the 13:00 wave's orders and
    couriers exist.) At 14:00 the wave has begun: its couriers are on shift
    from now, so no route leaves and no stop is due before 14:00."""
    d = ready_daemon(w, at="2030-01-08T14:00:00+08:00",
                     extra_conf="[dispatch]\nscheduler_interval_ms = 0\n")
    st = d.get("/v1/locate?lat=39.9087&lon=116.3975").json()["station"]["id"]
    sql(w, f"UPDATE couriers SET active = true, vehicle = 'e_bike' WHERE station_id = '{st}'")
    r = d.request("POST", f"/v1/stations/{st}/waves/20300108-W1300/replan",
                  body={"reason": "under way"})
    assert r.status == 200 and r.json()["routes"], r
    for route in r.json()["routes"]:
        assert route["depart"] >= "2030-01-08T14:00:00+08:00", route
        assert all(s["eta"] >= "2030-01-08T14:00:00+08:00" for s in route["stops"]), route



def test_a_replan_taken_again_fences_out_the_older_take(w):
    # A replan row taken, then unclaimed (a retry or a duty change came
    # while it was planned: stop_event, courier_duty_set) and taken again
    # by the same daemon: the two takes claim it under different names, so
    # the first take's store (its plan read the wave before the change) is
    # refused instead of deleting the row the second take must serve.
    d = ready_daemon(w, at=PLAN_CLOCK, extra_conf=SCHED)
    key = "20300108-W1300"
    hold = w.pg.hold_lock("plan_runs")  # the replans wait at their plan_run_claim
    sql(w, "INSERT INTO wave_replans_due (station_id, wave_key, reason) "
           f"VALUES ('bj-st-001', '{key}', 'retry')")

    def claimer():
        return sql(w, "SELECT coalesce(claimed_by, '') FROM wave_replans_due "
                      f"WHERE station_id = 'bj-st-001' AND wave_key = '{key}'")
    harness.wait_until(lambda: claimer() != "", what="the replan taken")
    first = claimer()
    sql(w, "UPDATE wave_replans_due SET claimed_by = NULL, claimed_at = NULL "
           f"WHERE station_id = 'bj-st-001' AND wave_key = '{key}'")
    harness.wait_until(lambda: claimer() != "", what="the replan taken again")
    second = claimer()
    w.pg.release(hold)
    assert first != second, (first, second)
    assert first.startswith(second.rsplit("/", 1)[0] + "/"), (first, second)  # one daemon
    d.stop()

if __name__ == "__main__":
    harness.run(globals())
