-- service_appointment_doc: a service visit as the API shows it, the one
-- document of /v1/orders/{id}/services[/{appointment}] (booking),
-- /v1/services/{id} and the answers of POST /v1/services/{id}/events
-- (docs/api.md "Service bookings", "Service visits"); NULL when unknown.
-- Times are RFC 3339 in p_tz with its offset: {id, order, line, sku,
-- station, category, type, status, day, window_start, window_end,
-- with_delivery, engineer: {id, name} | null, planned_duration_s (the
-- type's standard duration), duration_s (started -> completed, null until
-- then), price_list (the list published when booked), change_until
-- (window_start - p_cutoff_h hours: reschedule or cancel before it),
-- position, plan_version, plan_note, eta, arrived_at, started_at,
-- completed_at, charges (service_charges_doc), total, total_fen, currency,
-- late, compensation, compensation_fen, outcome, created_at, updated_at}.
-- Money as decimal strings beside the fen.
CREATE OR REPLACE FUNCTION service_appointment_doc(p_id text, p_tz text, p_cutoff_h integer)
RETURNS jsonb LANGUAGE plpgsql STABLE AS $fn$
DECLARE
	a record;
BEGIN
	SELECT s.*, c.name AS engineer_name, l.sku INTO a
	  FROM service_appointments s
	  LEFT JOIN couriers c ON c.id = s.engineer_id
	  LEFT JOIN order_lines l ON l.order_id = s.order_id AND l.line_no = s.line_no
	 WHERE s.id = p_id;
	IF NOT FOUND THEN
		RETURN NULL;
	END IF;
	RETURN jsonb_build_object(
		'id', a.id, 'order', a.order_id, 'line', a.line_no, 'sku', a.sku,
		'station', a.station_id, 'category', a.category, 'type', a.type,
		'status', a.status, 'day', a.day,
		'window_start', service_local_text(a.window_start, p_tz),
		'window_end', service_local_text(a.window_end, p_tz),
		'with_delivery', a.with_delivery,
		'engineer', CASE WHEN a.engineer_id IS NOT NULL THEN jsonb_build_object(
				'id', a.engineer_id, 'name', a.engineer_name) END,
		'planned_duration_s', a.duration_s,
		'duration_s', CASE WHEN a.completed_at IS NOT NULL AND a.started_at IS NOT NULL
				   THEN floor(extract(epoch FROM a.completed_at - a.started_at))::bigint
			      END,
		'price_list', a.price_list,
		'change_until', service_local_text(a.window_start
						   - make_interval(hours => p_cutoff_h), p_tz),
		'position', a.position, 'plan_version', a.plan_version, 'plan_note', a.plan_note,
		'eta', service_local_text(a.eta, p_tz),
		'arrived_at', service_local_text(a.arrived_at, p_tz),
		'started_at', service_local_text(a.started_at, p_tz),
		'completed_at', service_local_text(a.completed_at, p_tz),
		'charges', service_charges_doc(a.charges, a.price_list->>'currency'),
		'total', CASE WHEN a.total_fen IS NOT NULL THEN money_text(a.total_fen) END,
		'total_fen', a.total_fen,
		'currency', a.price_list->>'currency',
		'late', a.late,
		'compensation', money_text(a.compensation_fen),
		'compensation_fen', a.compensation_fen,
		'outcome', a.outcome,
		'created_at', service_local_text(a.created_at, p_tz),
		'updated_at', service_local_text(a.updated_at, p_tz));
END
$fn$;
