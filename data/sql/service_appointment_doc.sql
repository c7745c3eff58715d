-- service_appointment_doc: an appointment as /v1/orders/{id}/services shows
-- it, times local in p_tz: {id, order, line, sku, category, type, status,
-- day, window_start, window_end, with_delivery, engineer: {id, name} | null,
-- duration_s, price_list (the list published when booked), change_until
-- (window_start - p_cutoff_h hours: reschedule or cancel before it), eta,
-- outcome, created_at, updated_at}. NULL when there is no such appointment.
CREATE OR REPLACE FUNCTION service_appointment_doc(p_id text, p_tz text, p_cutoff_h integer)
RETURNS jsonb LANGUAGE plpgsql STABLE AS $fn$
BEGIN
	RETURN (
	SELECT jsonb_build_object(
		'id', a.id, 'order', a.order_id, 'line', a.line_no, 'sku', l.sku,
		'category', a.category, 'type', a.type, 'status', a.status, 'day', a.day,
		'window_start', service_local_text(a.window_start, p_tz),
		'window_end', service_local_text(a.window_end, p_tz),
		'with_delivery', a.with_delivery,
		'engineer', CASE WHEN a.engineer_id IS NULL THEN NULL
				 ELSE jsonb_build_object('id', a.engineer_id, 'name', c.name) END,
		'duration_s', a.duration_s, 'price_list', a.price_list,
		'change_until', service_local_text(a.window_start
						   - make_interval(hours => p_cutoff_h), p_tz),
		'eta', CASE WHEN a.eta IS NULL THEN NULL ELSE service_local_text(a.eta, p_tz) END,
		'outcome', a.outcome,
		'created_at', service_local_text(a.created_at, p_tz),
		'updated_at', service_local_text(a.updated_at, p_tz))
	  FROM service_appointments a
	  LEFT JOIN order_lines l ON l.order_id = a.order_id AND l.line_no = a.line_no
	  LEFT JOIN couriers c ON c.id = a.engineer_id
	 WHERE a.id = p_id);
END
$fn$;
