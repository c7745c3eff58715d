-- service_day_routes_doc: the current day plan of a station's engineers
-- (GET /v1/stations/{id}/service-days/{date}/routes, docs/api.md): its
-- version, and per engineer the visits it placed, in order, each with its
-- eta, window, order, category, type, status, recipient and point; then the
-- appointments it could not place with their reason. Without a plan:
-- version null, no engineers. Times are RFC 3339 in zone p_tz.
CREATE OR REPLACE FUNCTION service_day_routes_doc(p_station text, p_day date, p_tz text)
RETURNS jsonb LANGUAGE sql STABLE AS $fn$
	WITH p AS (SELECT * FROM service_day_plans
		    WHERE station_id = p_station AND day = p_day
		    ORDER BY version DESC LIMIT 1)
	SELECT jsonb_build_object(
		'station', p_station, 'day', p_day::text,
		'version', (SELECT version FROM p), 'reason', (SELECT reason FROM p),
		'planned_at', (SELECT service_ts(created_at, p_tz) FROM p),
		'engineers', coalesce((
			SELECT jsonb_agg(jsonb_build_object(
				'engineer', c.id, 'name', c.name, 'phone', c.phone,
				'visits', (
					SELECT jsonb_agg(jsonb_build_object(
						'appointment', a.id, 'position', a.position,
						'status', a.status, 'eta', service_ts(a.eta, p_tz),
						'window', jsonb_build_object(
							'start', service_ts(a.window_start, p_tz),
							'end', service_ts(a.window_end, p_tz)),
						'order', a.order_id, 'category', a.category, 'type', a.type,
						'duration_s', a.duration_s, 'recipient', o.recipient,
						'point', CASE WHEN o.lon IS NULL THEN NULL ELSE
							 jsonb_build_object('lon', o.lon, 'lat', o.lat) END)
						ORDER BY a.position, a.id)
					  FROM service_appointments a JOIN orders o ON o.id = a.order_id
					 WHERE a.station_id = p_station AND a.day = p_day
					   AND a.engineer_id = c.id AND a.plan_version = p.version
					   AND a.plan_note IS NULL AND a.status <> 'cancelled'))
				ORDER BY c.id)
			  FROM p JOIN couriers c ON c.id IN (
				SELECT a.engineer_id FROM service_appointments a
				 WHERE a.station_id = p_station AND a.day = p_day
				   AND a.plan_version = p.version AND a.plan_note IS NULL
				   AND a.status <> 'cancelled')), '[]'::jsonb),
		'unassigned', coalesce((
			SELECT jsonb_agg(jsonb_build_object(
				'appointment', a.id, 'order', a.order_id, 'reason', a.plan_note,
				'window', jsonb_build_object(
					'start', service_ts(a.window_start, p_tz),
					'end', service_ts(a.window_end, p_tz)))
				ORDER BY a.window_start, a.id)
			  FROM p JOIN service_appointments a
			    ON a.station_id = p_station AND a.day = p_day AND a.plan_version = p.version
			 WHERE a.plan_note IS NOT NULL AND a.status IN ('booked', 'planned')),
			'[]'::jsonb))
$fn$;
