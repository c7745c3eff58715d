-- aftersales_services_doc: the service visits of an order for its tracking
-- page (order_tracking_doc's "services"), oldest first; '[]' when none.
--   p_public   true: the public view (the engineer's first name only, no
--              ids, no fen members, no failure notes)
-- Each: type, category, status, window {start, end}, engineer {first_name}
-- (+ id), eta, arrived_at, started_at, completed_at, duration_s (started ->
-- completed), charges (service_charges_doc: items [{code, unit, qty,
-- unit_price, amount}], base_fee, total, currency), late, compensation,
-- failed {reason}; in the full view also appointment (its id).
-- plpgsql: money_text (a later file) is looked up when called.
CREATE OR REPLACE FUNCTION aftersales_services_doc(p_order text, p_public boolean)
RETURNS jsonb LANGUAGE plpgsql STABLE AS $fn$
DECLARE
	f constant text := 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"';
BEGIN
	RETURN (SELECT coalesce(jsonb_agg(jsonb_strip_nulls(jsonb_build_object(
			'type', s.type, 'category', s.category, 'status', s.status,
			'window', jsonb_build_object('start', to_char(s.window_start AT TIME ZONE 'UTC', f),
						     'end', to_char(s.window_end AT TIME ZONE 'UTC', f)),
			'engineer', CASE WHEN s.engineer_id IS NOT NULL THEN
				jsonb_build_object('first_name', courier_first_name(c.name))
				|| CASE WHEN p_public THEN '{}'::jsonb
					ELSE jsonb_build_object('id', s.engineer_id) END END,
			'eta', to_char(s.eta AT TIME ZONE 'UTC', f),
			'arrived_at', to_char(s.arrived_at AT TIME ZONE 'UTC', f),
			'started_at', to_char(s.started_at AT TIME ZONE 'UTC', f),
			'completed_at', to_char(s.completed_at AT TIME ZONE 'UTC', f),
			'duration_s', CASE WHEN s.completed_at IS NOT NULL
					   THEN floor(extract(epoch FROM s.completed_at - s.started_at))::bigint
				      END,
			'charges', service_charges_doc(s.charges, s.price_list->>'currency', p_public),
			'late', s.late,
			'compensation', CASE WHEN s.late THEN money_text(s.compensation_fen) END,
			'failed', CASE WHEN s.status = 'failed'
				       THEN jsonb_build_object('reason', s.outcome->>'reason') END))
			|| CASE WHEN p_public THEN '{}'::jsonb
				ELSE jsonb_build_object('appointment', s.id) END
			ORDER BY s.created_at, s.id), '[]'::jsonb)
		  FROM service_appointments s LEFT JOIN couriers c ON c.id = s.engineer_id
		 WHERE s.order_id = p_order);
END
$fn$;
