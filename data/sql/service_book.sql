-- service_book: POST /v1/orders/{id}/services in one transaction. The
-- Idempotency-Key p_key is taken first (an advisory lock on it, then
-- service_booking_keys): the same key with the same order and body
-- replays the first answer, with another body it is refused. Then the
-- order row (FOR NO KEY UPDATE: one booking of an order at a time, and a
-- cancel waits for us or we see it), service_offer's
-- checks, the window (one of those offered), and service_capacity_pick
-- chooses the engineer under the engineer-day rows' locks; the unit is
-- taken (service_capacity_add), the appointment inserted (status booked,
-- the price list snapshot, its duration), an order event service.booked
-- {appointment, type, category, line, day, window_start, window_end,
-- with_delivery, engineer, engineer_name} and a feed line service.booked
-- {appointment, order, day}; a day whose automatic plan is done or under
-- way is planned again (service_day_replan_due). Answers {"r": ...}:
--   ok {appointment}    replay {appointment}     mismatch (key reused)
--   service_offer's refusals      exists {appointment}: that line already
--   has a visit of this type booked     not_offered     exhausted
-- A refusal changes nothing. p_request: the body as the daemon checked it.
CREATE OR REPLACE FUNCTION service_book(p_order text, p_line integer, p_type text,
					p_types jsonb, p_windows jsonb, p_tz text,
					p_horizon integer, p_cutoff_h integer, p_now timestamptz,
					p_window_start timestamptz, p_with_delivery boolean,
					p_actor text, p_key text, p_request jsonb)
RETURNS jsonb LANGUAGE plpgsql AS $fn$
DECLARE
	k record;
	offer jsonb;
	w record;
	pick jsonb;
	other text;
	id text := 'svc_' || substr(md5(gen_random_uuid()::text), 1, 16);
	doc jsonb;
BEGIN
	PERFORM pg_advisory_xact_lock(hashtextextended('service_booking_keys:' || p_key, 0));
	SELECT * INTO k FROM service_booking_keys WHERE key = p_key;
	IF FOUND THEN
		IF k.order_id = p_order AND k.request = p_request THEN
			RETURN jsonb_build_object('r', 'replay', 'appointment', k.answer);
		END IF;
		RETURN jsonb_build_object('r', 'mismatch');
	END IF;
	-- Lock order as stop_event and service_event: the station's feed head
	-- (station_feed_add takes it below), then the order.
	INSERT INTO station_feed_heads AS h (station_id, seq)
	SELECT o.station_id, 0 FROM orders o WHERE o.id = p_order
	ON CONFLICT (station_id) DO UPDATE SET seq = h.seq;
	PERFORM 1 FROM orders WHERE orders.id = p_order FOR NO KEY UPDATE;
	offer := service_offer(p_order, p_line, p_type, p_types, p_windows, p_tz, p_horizon,
			       p_now, p_with_delivery);
	IF offer->>'r' <> 'ok' THEN
		RETURN offer;
	END IF;
	SELECT * INTO w
	  FROM jsonb_to_recordset(offer->'windows')
		AS x(day date, window_start timestamptz, window_end timestamptz, per_engineer integer)
	 WHERE x.window_start = p_window_start;
	IF NOT FOUND THEN
		RETURN jsonb_build_object('r', 'not_offered');
	END IF;
	SELECT a.id INTO other FROM service_appointments a
	 WHERE a.order_id = p_order AND a.line_no = p_line AND a.type = p_type
	   AND a.status IN ('booked', 'planned', 'arrived', 'started')
	 LIMIT 1;
	IF FOUND THEN
		RETURN jsonb_build_object('r', 'exists', 'appointment', other);
	END IF;
	pick := service_capacity_pick(offer->>'station', offer->>'category', w.window_start,
				      w.window_end, w.day, w.per_engineer);
	IF pick->>'r' <> 'ok' THEN
		RETURN pick;
	END IF;
	PERFORM service_capacity_add(pick->>'engineer', w.day, w.window_start, 1);
	INSERT INTO service_appointments (id, order_id, station_id, category, type, status, day,
					  window_start, window_end, with_delivery, engineer_id,
					  capacity_engineer, duration_s, price_list, booked_by,
					  line_no, created_at, updated_at)
	VALUES (id, p_order, offer->>'station', offer->>'category', p_type, 'booked', w.day,
		w.window_start, w.window_end, p_with_delivery, pick->>'engineer',
		pick->>'engineer', (offer->>'duration_s')::integer, offer->'price_list', p_actor,
		p_line, p_now, p_now);
	INSERT INTO order_events (order_id, kind, at, detail)
	VALUES (p_order, 'service.booked', p_now, jsonb_build_object(
		'appointment', id, 'type', p_type, 'category', offer->>'category', 'line', p_line,
		'day', w.day, 'window_start', service_local_text(w.window_start, p_tz),
		'window_end', service_local_text(w.window_end, p_tz),
		'with_delivery', p_with_delivery, 'engineer', pick->>'engineer',
		'engineer_name', pick->>'name'));
	PERFORM station_feed_add(offer->>'station', 'service.booked',
				 jsonb_build_object('appointment', id, 'order', p_order, 'day', w.day));
	PERFORM service_day_replan_due(offer->>'station', w.day);
	doc := service_appointment_doc(id, p_tz, p_cutoff_h);
	INSERT INTO service_booking_keys (key, order_id, request, appointment_id, answer, actor)
	VALUES (p_key, p_order, p_request, id, doc, p_actor);
	RETURN jsonb_build_object('r', 'ok', 'appointment', doc);
END
$fn$;
