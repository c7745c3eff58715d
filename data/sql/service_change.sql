-- service_change: PATCH (reschedule, p_window_start set) and DELETE (cancel,
-- p_window_start NULL) of /v1/orders/{id}/services/{appointment}, in one
-- transaction under the appointment's row lock. Only while booked or
-- planned, and only before window_start - p_cutoff_h hours (p_now). A
-- reschedule is a booking of the new window (service_offer's checks with
-- the appointment's order, line and type; service_capacity_pick with the
-- appointment's own unit not counting) that gives the old unit back; the
-- appointment is booked again (off its day's plan) with the engineer picked.
-- A cancel gives the unit back and keeps {by, reason} as its outcome.
-- Order events service.rescheduled {appointment, type, from: {window_start,
-- window_end}, day, window_start, window_end, with_delivery, engineer,
-- engineer_name} / service.cancelled {appointment, type, day, window_start,
-- window_end, reason, by}; feed lines service.cancelled {appointment,
-- order, day, reason} for the day left and service.booked {appointment,
-- order, day} for the day taken (whose automatic plan, done or under way,
-- is made again: service_day_replan_due). Answers {"r": ...}: ok {appointment},
-- not_found, illegal {current}, too_late {cutoff}, and for a reschedule
-- service_offer's refusals, not_offered, exhausted. A refusal changes
-- nothing.
CREATE OR REPLACE FUNCTION service_change(p_order text, p_appointment text, p_types jsonb,
					  p_windows jsonb, p_tz text, p_horizon integer,
					  p_cutoff_h integer, p_now timestamptz,
					  p_window_start timestamptz, p_with_delivery boolean,
					  p_reason text, p_actor text)
RETURNS jsonb LANGUAGE plpgsql AS $fn$
DECLARE
	a record;
	cutoff timestamptz;
	offer jsonb;
	w record;
	pick jsonb;
BEGIN
	-- Lock order as stop_event and service_event: the station's feed head
	-- (station_feed_add takes it below), then the order.
	INSERT INTO station_feed_heads AS h (station_id, seq)
	SELECT o.station_id, 0 FROM orders o WHERE o.id = p_order
	ON CONFLICT (station_id) DO UPDATE SET seq = h.seq;
	PERFORM 1 FROM orders WHERE id = p_order FOR NO KEY UPDATE;
	SELECT * INTO a FROM service_appointments
	 WHERE id = p_appointment AND order_id = p_order FOR UPDATE;
	IF NOT FOUND THEN
		RETURN jsonb_build_object('r', 'not_found');
	END IF;
	IF a.status NOT IN ('booked', 'planned') THEN
		RETURN jsonb_build_object('r', 'illegal', 'current', a.status);
	END IF;
	cutoff := a.window_start - make_interval(hours => p_cutoff_h);
	IF p_now >= cutoff THEN
		RETURN jsonb_build_object('r', 'too_late', 'cutoff', service_local_text(cutoff, p_tz));
	END IF;
	IF p_window_start IS NULL THEN
		IF a.capacity_engineer IS NOT NULL THEN
			PERFORM service_capacity_add(a.capacity_engineer, a.day, a.window_start, -1);
		END IF;
		UPDATE service_appointments
		   SET status = 'cancelled', capacity_engineer = NULL, updated_at = p_now,
		       outcome = jsonb_build_object('by', p_actor, 'reason', coalesce(p_reason, ''))
		 WHERE id = a.id;
		INSERT INTO order_events (order_id, kind, at, detail)
		VALUES (p_order, 'service.cancelled', p_now, jsonb_build_object(
			'appointment', a.id, 'type', a.type, 'day', a.day,
			'window_start', service_local_text(a.window_start, p_tz),
			'window_end', service_local_text(a.window_end, p_tz),
			'reason', coalesce(p_reason, ''), 'by', p_actor));
		PERFORM station_feed_add(a.station_id, 'service.cancelled', jsonb_build_object(
			'appointment', a.id, 'order', p_order, 'day', a.day, 'reason', 'cancelled'));
		RETURN jsonb_build_object('r', 'ok', 'appointment',
					  service_appointment_doc(a.id, p_tz, p_cutoff_h));
	END IF;
	-- A reschedule that does not name with_delivery keeps the visit's.
	p_with_delivery := coalesce(p_with_delivery, a.with_delivery);
	offer := service_offer(p_order, a.line_no, a.type, p_types, p_windows, p_tz, p_horizon,
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
	pick := service_capacity_pick(a.station_id, a.category, w.window_start, w.window_end, w.day,
				      w.per_engineer, a.id, a.capacity_engineer, a.day);
	IF pick->>'r' <> 'ok' THEN
		RETURN pick;
	END IF;
	IF a.capacity_engineer IS NOT NULL THEN
		PERFORM service_capacity_add(a.capacity_engineer, a.day, a.window_start, -1);
	END IF;
	PERFORM service_capacity_add(pick->>'engineer', w.day, w.window_start, 1);
	UPDATE service_appointments
	   SET status = 'booked', day = w.day, window_start = w.window_start,
	       window_end = w.window_end, with_delivery = p_with_delivery,
	       engineer_id = pick->>'engineer', capacity_engineer = pick->>'engineer',
	       plan_version = NULL, position = NULL, eta = NULL, plan_note = NULL,
	       updated_at = p_now
	 WHERE id = a.id;
	INSERT INTO order_events (order_id, kind, at, detail)
	VALUES (p_order, 'service.rescheduled', p_now, jsonb_build_object(
		'appointment', a.id, 'type', a.type,
		'from', jsonb_build_object('window_start', service_local_text(a.window_start, p_tz),
					   'window_end', service_local_text(a.window_end, p_tz)),
		'day', w.day, 'window_start', service_local_text(w.window_start, p_tz),
		'window_end', service_local_text(w.window_end, p_tz),
		'with_delivery', p_with_delivery, 'engineer', pick->>'engineer',
		'engineer_name', pick->>'name'));
	PERFORM station_feed_add(a.station_id, 'service.cancelled', jsonb_build_object(
		'appointment', a.id, 'order', p_order, 'day', a.day, 'reason', 'rescheduled'));
	PERFORM station_feed_add(a.station_id, 'service.booked', jsonb_build_object(
		'appointment', a.id, 'order', p_order, 'day', w.day));
	PERFORM service_day_replan_due(a.station_id, w.day);
	RETURN jsonb_build_object('r', 'ok', 'appointment',
				  service_appointment_doc(a.id, p_tz, p_cutoff_h));
END
$fn$;
