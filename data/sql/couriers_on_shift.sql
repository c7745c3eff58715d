-- couriers_on_shift: the couriers a planner may use in [p_from, p_to): the
-- active couriers of p_station whose shifts overlap the window, each shift
-- clipped to it, minus the times they are marked off duty
-- (courier_duty_offs). A courier's shifts on a local day (in the zone
-- stored with them) are that date's overrides when it has any (none with
-- times: a day off), else the weekly pattern's for that weekday. Adjacent
-- shifts merge; a courier off duty in the middle of a shift, or with two
-- shifts in the window, gets one row per on-duty stretch, in order
-- (courier_id, shift_start). Capacities and speed are its vehicle profile's.
-- p_kind: 'courier' (the default) or 'engineer' (issue 12: engineers are
-- couriers rows of that kind, with their daily_capacity; NULL for couriers).
CREATE OR REPLACE FUNCTION couriers_on_shift(p_station text, p_from timestamptz,
					     p_to timestamptz, p_kind text DEFAULT 'courier')
RETURNS TABLE (courier_id text, name text, vehicle text, capacity_kg float8, capacity_l float8,
	       speed_kmh float8, skills text[], shift_start timestamptz, shift_end timestamptz,
	       daily_capacity integer)
LANGUAGE sql STABLE AS $fn$
	WITH c AS (
		SELECT c.id, c.name, c.vehicle, c.skills, c.daily_capacity, s.tz
		  FROM couriers c JOIN courier_shifts s ON s.courier_id = c.id
		 WHERE c.station_id = p_station AND c.active AND c.kind = p_kind
		   AND p_from < p_to),
	d AS (  -- every local date the window touches, in each courier's zone
		SELECT c.id, c.tz, g::date AS day
		  FROM c, generate_series((p_from AT TIME ZONE c.tz)::date::timestamp,
					  (p_to AT TIME ZONE c.tz)::date::timestamp,
					  interval '1 day') AS g),
	iv AS (
		SELECT d.id, tstzrange((d.day + o.start_at) AT TIME ZONE d.tz,
				       (d.day + o.end_at) AT TIME ZONE d.tz) AS r
		  FROM d JOIN courier_shift_dates o ON o.courier_id = d.id AND o.day = d.day
		 WHERE o.start_at IS NOT NULL
		UNION ALL
		SELECT d.id, tstzrange((d.day + w.start_at) AT TIME ZONE d.tz,
				       (d.day + w.end_at) AT TIME ZONE d.tz)
		  FROM d JOIN courier_shift_weekly w
		    ON w.courier_id = d.id AND w.isodow = extract(isodow FROM d.day)
		 WHERE NOT EXISTS (SELECT 1 FROM courier_shift_dates o
				    WHERE o.courier_id = d.id AND o.day = d.day)),
	shifts AS (
		SELECT iv.id, range_agg(iv.r) * tstzmultirange(tstzrange(p_from, p_to)) AS m
		  FROM iv GROUP BY iv.id),
	offs AS (
		SELECT f.courier_id AS id, range_agg(tstzrange(f.off_from, f.off_until)) AS m
		  FROM courier_duty_offs f JOIN c ON c.id = f.courier_id
		 WHERE f.off_from < p_to AND f.off_until > p_from
		 GROUP BY f.courier_id)
	SELECT c.id, c.name, c.vehicle, v.capacity_kg, v.capacity_l, v.speed_kmh, c.skills,
	       lower(p.r), upper(p.r), c.daily_capacity
	  FROM c JOIN shifts ON shifts.id = c.id
	  JOIN vehicle_profiles v ON v.name = c.vehicle
	  LEFT JOIN offs ON offs.id = c.id
	 CROSS JOIN LATERAL unnest(shifts.m - coalesce(offs.m, '{}'::tstzmultirange)) AS p(r)
	 ORDER BY c.id, lower(p.r)
$fn$;
