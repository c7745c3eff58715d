-- service_plan_input: what the day plan of a station's engineers plans
-- (svc/service_planner.c), for local day p_day in zone p_tz. Times are
-- seconds since that day's local midnight (float8).
--   basis         the day's current plan version (0: none), which the
--                 plan made of this input replaces (service_plan_store
--                 refuses it when another version was stored meanwhile)
--   engineers     the engineers on shift that day (couriers_on_shift, kind
--                 'engineer'): each once, with its longest on-duty stretch
--                 (shift_start_s, shift_end_s), its vehicle's speed_kmh, its
--                 skills (product categories) and capacity = daily_capacity
--                 minus the day's visits it has already made (arrived,
--                 started, completed or failed), at least 0
--   appointments  the day's booked or planned appointments (at most
--                 p_limit, by window): id, order, lon/lat of the order (NULL
--                 for an order without a point), category, window open_s and
--                 close_s, duration_s, engineer (the current one)
CREATE OR REPLACE FUNCTION service_plan_input(p_station text, p_day date, p_tz text,
					      p_limit integer)
RETURNS jsonb LANGUAGE sql STABLE AS $fn$
	WITH b AS (SELECT (p_day::timestamp AT TIME ZONE p_tz) AS t0,
			  ((p_day + 1)::timestamp AT TIME ZONE p_tz) AS t1),
	e AS (
		SELECT DISTINCT ON (s.courier_id) s.*
		  FROM b, couriers_on_shift(p_station, b.t0, b.t1, 'engineer') s
		 ORDER BY s.courier_id, s.shift_end - s.shift_start DESC, s.shift_start)
	SELECT jsonb_build_object(
		'basis', (SELECT coalesce(max(d.version), 0) FROM service_day_plans d
			   WHERE d.station_id = p_station AND d.day = p_day),
		'engineers', coalesce((
			SELECT jsonb_agg(jsonb_build_object(
				'id', e.courier_id, 'speed_kmh', e.speed_kmh, 'skills', to_jsonb(e.skills),
				'capacity', greatest(0, e.daily_capacity - (
					SELECT count(*) FROM service_appointments a
					 WHERE a.engineer_id = e.courier_id AND a.day = p_day
					   AND a.status IN ('arrived', 'started', 'completed', 'failed'))),
				'shift_start_s', extract(epoch FROM e.shift_start - b.t0)::float8,
				'shift_end_s', extract(epoch FROM e.shift_end - b.t0)::float8)
				ORDER BY e.courier_id)
			  FROM e, b), '[]'::jsonb),
		'appointments', coalesce((
			SELECT jsonb_agg(x.doc ORDER BY x.window_start, x.id)
			  FROM (SELECT a.id, a.window_start, jsonb_build_object(
					'id', a.id, 'order', a.order_id, 'lon', o.lon, 'lat', o.lat,
					'category', a.category,
					'open_s', extract(epoch FROM a.window_start - b.t0)::float8,
					'close_s', extract(epoch FROM a.window_end - b.t0)::float8,
					'duration_s', a.duration_s, 'engineer', a.engineer_id) AS doc
				  FROM b, service_appointments a JOIN orders o ON o.id = a.order_id
				 WHERE a.station_id = p_station AND a.day = p_day
				   AND a.status IN ('booked', 'planned')
				 ORDER BY a.window_start, a.id LIMIT p_limit) x), '[]'::jsonb))
$fn$;
