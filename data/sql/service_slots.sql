-- service_slots: GET /v1/orders/{id}/service-slots. service_offer's checks
-- and windows, each window kept when at least one engineer
-- (service_engineers) has a visit left on its day and in the window:
-- {"r": "ok", "order", "line", "sku", "category", "type", "duration_s",
--  "with_delivery", "slots": [{"day", "window_start", "window_end",
--  "available": engineers}]} (times local, in p_tz), or service_offer's
-- refusal. Read-only: an offer is no promise (service_book decides).
CREATE OR REPLACE FUNCTION service_slots(p_order text, p_line integer, p_type text,
					 p_types jsonb, p_windows jsonb, p_tz text,
					 p_horizon integer, p_now timestamptz,
					 p_with_delivery boolean)
RETURNS jsonb LANGUAGE plpgsql STABLE AS $fn$
DECLARE
	offer jsonb := service_offer(p_order, p_line, p_type, p_types, p_windows, p_tz,
				     p_horizon, p_now, p_with_delivery);
	slots jsonb;
BEGIN
	IF offer->>'r' <> 'ok' THEN
		RETURN offer;
	END IF;
	SELECT coalesce(jsonb_agg(jsonb_build_object(
			'day', w.day, 'window_start', service_local_text(w.window_start, p_tz),
			'window_end', service_local_text(w.window_end, p_tz), 'available', n.available)
		ORDER BY w.window_start), '[]'::jsonb) INTO slots
	  FROM jsonb_to_recordset(offer->'windows')
		AS w(day date, window_start timestamptz, window_end timestamptz, per_engineer integer)
	 CROSS JOIN LATERAL (
		SELECT count(*)::integer AS available
		  FROM service_engineers(offer->>'station', offer->>'category', w.window_start,
					 w.window_end, w.day) e
		 WHERE e.day_visits < e.daily_capacity AND e.window_visits < w.per_engineer) n
	 WHERE n.available > 0;
	RETURN jsonb_build_object('r', 'ok', 'order', p_order, 'line', p_line, 'sku', offer->'sku',
				  'category', offer->'category', 'type', p_type,
				  'duration_s', offer->'duration_s', 'with_delivery', p_with_delivery,
				  'slots', slots);
END
$fn$;
