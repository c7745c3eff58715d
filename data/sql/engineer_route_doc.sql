-- engineer_route_doc: the document of GET /v1/engineers/me/route
-- (docs/api.md): engineer p_engineer's planned visits of local day p_day
-- (zone p_tz) in order, each with what the engineer needs at the door:
-- recipient (name, phone, address as the order holds them), point, window,
-- eta, type, category, status, and the price list published when it was
-- booked (the charges the handheld may offer). Visits still only booked
-- (not on a day plan yet) and cancelled ones are not shown, nor planned
-- ones the current day plan could not place (plan_note: the station's
-- routes list them as unassigned; their old position and eta are void).
CREATE OR REPLACE FUNCTION engineer_route_doc(p_engineer text, p_day date, p_tz text)
RETURNS jsonb LANGUAGE sql STABLE AS $fn$
	SELECT jsonb_build_object(
		'engineer', p_engineer, 'day', p_day::text,
		'station', (SELECT station_id FROM couriers WHERE id = p_engineer),
		'visits', coalesce((
			SELECT jsonb_agg(jsonb_build_object(
				'appointment', a.id, 'position', a.position, 'status', a.status,
				'eta', service_ts(a.eta, p_tz),
				'window', jsonb_build_object('start', service_ts(a.window_start, p_tz),
							     'end', service_ts(a.window_end, p_tz)),
				'order', a.order_id, 'type', a.type, 'category', a.category,
				'duration_s', a.duration_s, 'recipient', o.recipient,
				'point', CASE WHEN o.lon IS NULL THEN NULL ELSE
					 jsonb_build_object('lon', o.lon, 'lat', o.lat) END,
				'price_list', a.price_list)
				ORDER BY a.position NULLS LAST, a.window_start, a.id)
			  FROM service_appointments a JOIN orders o ON o.id = a.order_id
			 WHERE a.engineer_id = p_engineer AND a.day = p_day
			   AND a.status NOT IN ('booked', 'cancelled')
			   AND (a.status <> 'planned' OR a.plan_note IS NULL)), '[]'::jsonb))
$fn$;
