"""Fixtures of the wave planning tests (test_routes.py, test_wave_scheduler.py):
couriers of a station, shipments brought to the station, and until part B's
couriers_on_shift() lands (data/sql/couriers_on_shift.sql), a stand-in for it
created here only when the database has none: every active courier of the
station, on shift for the whole window asked. Where part B's shift tables
exist, the couriers get a round-the-clock weekly shift instead, so that its
couriers_on_shift() gives the same answer."""

COURIERS_ON_SHIFT_STUB = """
DO $do$ BEGIN
IF to_regprocedure('couriers_on_shift(text, timestamptz, timestamptz)') IS NULL THEN
	CREATE FUNCTION couriers_on_shift(p_station text, p_from timestamptz, p_to timestamptz)
	RETURNS TABLE (courier_id text, name text, vehicle text, capacity_kg float8,
		       capacity_l float8, speed_kmh float8, skills text[],
		       shift_start timestamptz, shift_end timestamptz)
	LANGUAGE sql STABLE AS $f$
		SELECT c.id, c.name, c.vehicle, v.capacity_kg, v.capacity_l, v.speed_kmh,
		       c.skills, p_from, p_to
		  FROM couriers c JOIN vehicle_profiles v ON v.name = c.vehicle
		 WHERE c.station_id = p_station AND c.active
	$f$;
END IF;
END $do$;
"""


def couriers_on_shift_stub(w):
    w.pg.psql("dispatchd", COURIERS_ON_SHIFT_STUB)


def add_couriers(w, station, n, vehicle="e_bike", prefix="c"):
    """n active couriers of station riding vehicle; their ids, sorted."""
    couriers_on_shift_stub(w)
    ids = [f"{prefix}-{station}-{i:02d}" for i in range(n)]
    values = ", ".join(f"('{c}', '{station}', 'Courier {c}', '1380000{i:04d}', '{vehicle}')"
                       for i, c in enumerate(ids))
    w.pg.psql("dispatchd", "INSERT INTO couriers (id, station_id, name, phone, vehicle) "
                           f"VALUES {values} ON CONFLICT (id) DO NOTHING")
    if w.pg.psql("dispatchd", "SELECT to_regclass('courier_shift_weekly') IS NOT NULL") == "t":
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
