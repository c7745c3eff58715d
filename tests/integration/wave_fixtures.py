"""Fixtures of the wave planning tests (test_routes.py, test_wave_scheduler.py):
couriers of a station on a round-the-clock weekly shift (so that
couriers_on_shift() has them for any window), and shipments brought to the
station."""

def add_couriers(w, station, n, vehicle="e_bike", prefix="c"):
    """n active couriers of station riding vehicle; their ids, sorted."""
    ids = [f"{prefix}-{station}-{i:02d}" for i in range(n)]
    values = ", ".join(f"('{c}', '{station}', 'Courier {c}', '1380000{i:04d}', '{vehicle}')"
                       for i, c in enumerate(ids))
    w.pg.psql("dispatchd", "INSERT INTO couriers (id, station_id, name, phone, vehicle) "
                           f"VALUES {values} ON CONFLICT (id) DO NOTHING")
    listed = ", ".join(f"'{c}'" for c in ids)
    w.pg.psql("dispatchd", f"""
        INSERT INTO courier_shifts (courier_id, tz)
        SELECT id, 'Asia/Shanghai' FROM couriers WHERE id IN ({listed})
        ON CONFLICT DO NOTHING;
        INSERT INTO courier_shift_weekly (courier_id, isodow, start_at, end_at)
        SELECT id, d, '00:00', '24:00' FROM couriers, generate_series(1, 7) d
         WHERE id IN ({listed}) ON CONFLICT DO NOTHING""")
    return ids


def arrive(w, order_ids):
    """The orders' shipments are at their station (the station's scan-in)."""
    if not order_ids:
        return
    ids = ", ".join(f"'{o}'" for o in order_ids)
    w.pg.psql("dispatchd", "UPDATE shipments SET status = 'arrived_at_station' "
                           f"WHERE order_id IN ({ids}) AND status <> 'cancelled'")
