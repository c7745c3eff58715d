-- service_appointment_doc: one service visit (GET /v1/services/{id} and the
-- answer of POST /v1/services/{id}/events, docs/api.md "Service visits");
-- NULL when unknown. Times are RFC 3339 UTC; duration_s is the service's
-- actual duration (started -> completed), planned_duration_s the type's
-- standard one; money as decimal strings beside the fen.
CREATE OR REPLACE FUNCTION service_appointment_doc(p_id text) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $fn$
DECLARE
	a record;
	f constant text := 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"';
BEGIN
	SELECT s.*, c.name AS engineer_name INTO a
	  FROM service_appointments s LEFT JOIN couriers c ON c.id = s.engineer_id
	 WHERE s.id = p_id;
	IF NOT FOUND THEN
		RETURN NULL;
	END IF;
	RETURN jsonb_build_object(
		'id', a.id, 'order', a.order_id, 'station', a.station_id,
		'category', a.category, 'type', a.type, 'status', a.status,
		'window', jsonb_build_object('start', to_char(a.window_start AT TIME ZONE 'UTC', f),
					     'end', to_char(a.window_end AT TIME ZONE 'UTC', f)),
		'with_delivery', a.with_delivery,
		'engineer', CASE WHEN a.engineer_id IS NOT NULL THEN jsonb_build_object(
				'id', a.engineer_id, 'name', a.engineer_name) END,
		'position', a.position, 'plan_version', a.plan_version, 'plan_note', a.plan_note,
		'eta', to_char(a.eta AT TIME ZONE 'UTC', f),
		'arrived_at', to_char(a.arrived_at AT TIME ZONE 'UTC', f),
		'started_at', to_char(a.started_at AT TIME ZONE 'UTC', f),
		'completed_at', to_char(a.completed_at AT TIME ZONE 'UTC', f),
		'duration_s', CASE WHEN a.completed_at IS NOT NULL AND a.started_at IS NOT NULL
				   THEN floor(extract(epoch FROM a.completed_at - a.started_at))::bigint
			      END,
		'planned_duration_s', a.duration_s,
		'charges', service_charges_doc(a.charges, a.price_list->>'currency'),
		'total', CASE WHEN a.total_fen IS NOT NULL THEN money_text(a.total_fen) END,
		'total_fen', a.total_fen,
		'currency', a.price_list->>'currency',
		'late', a.late,
		'compensation', money_text(a.compensation_fen),
		'compensation_fen', a.compensation_fen,
		'outcome', a.outcome,
		'price_list', a.price_list);
END
$fn$;
