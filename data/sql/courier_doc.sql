-- courier_doc: one courier (or engineer: p_kind) of a station as the API
-- shows it (docs/api.md, "Couriers", "Engineers"): its record (an engineer's
-- with its provider and daily_capacity), its shifts (local times, the zone they are in)
-- and, when it is marked off duty at p_now, since when, until when and why.
-- NULL when the station has no such courier of that kind (a courier of
-- another station, or an engineer asked for as a courier, included).
-- p_kind NULL: either kind (SQL callers naming the id; the API always says). Times are UTC ("2030-01-08T02:00:00Z").
CREATE OR REPLACE FUNCTION courier_doc(p_station text, p_courier text, p_now timestamptz,
				       p_kind text DEFAULT NULL)
RETURNS jsonb LANGUAGE sql STABLE AS $fn$
	SELECT jsonb_build_object(
		'id', c.id, 'station', c.station_id, 'name', c.name, 'phone', c.phone,
		'vehicle', c.vehicle, 'skills', to_jsonb(c.skills), 'active', c.active,
		'shifts', jsonb_build_object(
			'timezone', s.tz,
			'weekly', coalesce((
				SELECT jsonb_agg(jsonb_build_object(
					'days', w.days, 'start', to_char(w.start_at, 'HH24:MI'),
					'end', to_char(w.end_at, 'HH24:MI')) ORDER BY w.start_at, w.first)
				  FROM (SELECT x.start_at, x.end_at, min(x.isodow) AS first,
					       jsonb_agg((ARRAY['mon', 'tue', 'wed', 'thu', 'fri', 'sat',
							       'sun'])[x.isodow] ORDER BY x.isodow) AS days
					  FROM courier_shift_weekly x WHERE x.courier_id = c.id
					 GROUP BY x.start_at, x.end_at) w), '[]'::jsonb),
			'overrides', coalesce((
				SELECT jsonb_agg(CASE WHEN o.start_at IS NULL
					THEN jsonb_build_object('date', o.day::text, 'off', true)
					ELSE jsonb_build_object('date', o.day::text,
						'start', to_char(o.start_at, 'HH24:MI'),
						'end', to_char(o.end_at, 'HH24:MI')) END
					ORDER BY o.day, o.start_at)
				  FROM courier_shift_dates o WHERE o.courier_id = c.id), '[]'::jsonb)),
		'off_duty', (
			SELECT jsonb_build_object(
				'since', to_char(f.off_from AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
				'until', to_char(f.off_until AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
				'reason', f.reason)
			  FROM courier_duty_offs f
			 WHERE f.courier_id = c.id AND f.off_from <= p_now AND f.off_until > p_now
			 ORDER BY f.off_from DESC LIMIT 1),
		'created_at', to_char(c.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
		'updated_at', to_char(c.updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'))
		|| CASE WHEN c.kind = 'engineer' THEN jsonb_build_object(
			'provider', c.provider, 'daily_capacity', c.daily_capacity) ELSE '{}' END
	  FROM couriers c LEFT JOIN courier_shifts s ON s.courier_id = c.id
	 WHERE c.id = p_courier AND c.station_id = p_station
	   AND (p_kind IS NULL OR c.kind = p_kind)
$fn$;
