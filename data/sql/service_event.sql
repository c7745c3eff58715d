-- service_event: one event of an engineer at a service visit (POST
-- /v1/services/{id}/events, docs/api.md "Service visits"), in one
-- transaction under the appointment's row lock.
--   p_engineer      the calling engineer (the token's scope)
--   p_id, p_key     the appointment and the request's Idempotency-Key
--   p_req           the event as the daemon parsed it (api/visit_body.c):
--                   {"event", "charges": [{"code", "qty", "unit_price"?}],
--                   "reason", "notes"}; unit_price written "15.00"
--   p_now           when (the daemon's clock)
--   p_comp_fen      [services] late_compensation in fen (the config
--                   snapshot of the request)
--   p_tz, p_cutoff_h  [promise] timezone and [services] change_cutoff_hours:
--                   how the answer (service_appointment_doc) shows times
--   p_offset_s      the zone's UTC offset, kept in the events' detail so
--                   that the timeline shows local times
-- Transitions: booked|planned -> arrived -> started -> completed; failed
-- from booked, planned, arrived or started. started after window_end sets
-- late and compensation_fen = p_comp_fen. completed checks the charges
-- against the appointment's price_list snapshot (a code not on it, a
-- unit_price above its price_fen, a qty above its max_qty: invalid, naming
-- charges[i].code / unit_price / qty, nothing changed) and sets charges and
-- total_fen = (free ? 0 : base_fee_fen) + sum of qty * unit_price (the list
-- price when none given). Each event appends order_events service.<event>
-- (webhooks deliver them) and a service.outcome line to the station's feed.
-- Returns {"r":"ok","service":doc} | {"r":"illegal","current":status}
--   | {"r":"invalid","field","message"} | {"r":"not_found"} | {"r":"mismatch"}
-- A key's first ok or illegal answer is kept and returned again for the
-- same request; the same key with another appointment or body is a
-- mismatch; not_found and invalid keep nothing (as stop_event).
-- Lock order as stop_event: the station's feed head, the order, the
-- appointment.
CREATE OR REPLACE FUNCTION service_event(p_engineer text, p_id text, p_key text, p_req jsonb,
					 p_now timestamptz, p_comp_fen bigint,
					 p_offset_s integer, p_tz text, p_cutoff_h integer)
RETURNS jsonb LANGUAGE plpgsql AS $fn$
DECLARE
	a record;
	k record;
	c record;
	x jsonb;
	ev text := p_req->>'event';
	oid text;
	st text;
	ename text;
	res jsonb;
	detail jsonb;
	items jsonb := '[]'::jsonb;
	price bigint;
	sum_fen bigint := 0;
	base bigint;
	v_charges jsonb;
	v_late boolean;
	v_comp bigint;
	bad text;
	f constant text := 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"';
BEGIN
	SELECT order_id, station_id INTO oid, st FROM service_appointments WHERE id = p_id;
	IF NOT FOUND THEN
		RETURN jsonb_build_object('r', 'not_found');
	END IF;
	INSERT INTO station_feed_heads AS h (station_id, seq) VALUES (st, 0)
	ON CONFLICT (station_id) DO UPDATE SET seq = h.seq;
	PERFORM 1 FROM orders WHERE id = oid FOR NO KEY UPDATE;
	SELECT * INTO a FROM service_appointments WHERE id = p_id FOR UPDATE;
	-- Only the caller's own visits: anything else does not exist.
	IF a.engineer_id IS DISTINCT FROM p_engineer THEN
		RETURN jsonb_build_object('r', 'not_found');
	END IF;

	INSERT INTO service_event_keys (engineer_id, key, appointment_id, request, answer)
	VALUES (p_engineer, p_key, p_id, p_req, '{}')
	ON CONFLICT (engineer_id, key) DO NOTHING;
	IF NOT FOUND THEN
		SELECT * INTO k FROM service_event_keys
		 WHERE engineer_id = p_engineer AND key = p_key;
		IF k.appointment_id = p_id AND k.request = p_req THEN
			RETURN k.answer;
		END IF;
		RETURN jsonb_build_object('r', 'mismatch');
	END IF;

	IF ev = 'arrived' AND a.status NOT IN ('booked', 'planned')
	   OR ev = 'started' AND a.status <> 'arrived'
	   OR ev = 'completed' AND a.status <> 'started'
	   OR ev = 'failed' AND a.status NOT IN ('booked', 'planned', 'arrived', 'started')
	   OR ev NOT IN ('arrived', 'started', 'completed', 'failed') THEN
		res := jsonb_build_object('r', 'illegal', 'current', a.status);
		UPDATE service_event_keys SET answer = res
		 WHERE engineer_id = p_engineer AND key = p_key;
		RETURN res;
	END IF;

	-- The charges against the price list of the booking.
	IF ev = 'completed' THEN
		FOR c IN SELECT ch, n - 1 AS i
			   FROM jsonb_array_elements(coalesce(p_req->'charges', '[]'::jsonb))
				WITH ORDINALITY AS y (ch, n) ORDER BY n LOOP
			SELECT e INTO x FROM jsonb_array_elements(a.price_list->'extras') AS e
			 WHERE e->>'code' = c.ch->>'code';
			price := replace(c.ch->>'unit_price', '.', '')::bigint;
			IF x IS NULL THEN
				bad := format('charges[%s].code:%s is not on the price list of this '
					      'appointment (%s)', c.i, c.ch->>'code',
					      coalesce((SELECT string_agg(e->>'code', ', ')
						 FROM jsonb_array_elements(a.price_list->'extras') e),
						       'no extras'));
			ELSIF price > (x->>'price_fen')::bigint THEN
				bad := format('charges[%s].unit_price:%s is above the list price %s',
					      c.i, c.ch->>'unit_price',
					      money_text((x->>'price_fen')::bigint));
			ELSIF (c.ch->>'qty')::integer > (x->>'max_qty')::integer THEN
				bad := format('charges[%s].qty:%s is above the list''s max_qty %s',
					      c.i, c.ch->>'qty', x->>'max_qty');
			END IF;
			EXIT WHEN bad IS NOT NULL;
			price := coalesce(price, (x->>'price_fen')::bigint);
			items := items || jsonb_build_object('code', c.ch->>'code',
				'unit', x->>'unit', 'qty', (c.ch->>'qty')::integer,
				'unit_price_fen', price,
				'amount_fen', price * (c.ch->>'qty')::bigint);
			sum_fen := sum_fen + price * (c.ch->>'qty')::bigint;
		END LOOP;
		IF bad IS NOT NULL THEN
			DELETE FROM service_event_keys WHERE engineer_id = p_engineer AND key = p_key;
			RETURN jsonb_build_object('r', 'invalid', 'field', split_part(bad, ':', 1),
						  'message', substr(bad, strpos(bad, ':') + 1));
		END IF;
		base := CASE WHEN coalesce((a.price_list->>'free')::boolean, false) THEN 0
			     ELSE coalesce((a.price_list->>'base_fee_fen')::bigint, 0) END;
		v_charges := jsonb_build_object('items', items, 'base_fee_fen', base,
			'base_fee_waived', coalesce((a.price_list->>'free')::boolean, false),
			'total_fen', base + sum_fen);
	END IF;

	SELECT name INTO ename FROM couriers WHERE id = p_engineer;
	detail := jsonb_build_object('appointment', p_id, 'engineer', p_engineer,
		'engineer_name', ename, 'type', a.type,
		'window_start', to_char(a.window_start AT TIME ZONE 'UTC', f),
		'window_end', to_char(a.window_end AT TIME ZONE 'UTC', f),
		'utc_offset_s', p_offset_s);
	IF ev = 'arrived' THEN
		UPDATE service_appointments SET status = 'arrived', arrived_at = p_now,
			updated_at = p_now WHERE id = p_id;
	ELSIF ev = 'started' THEN
		v_late := p_now > a.window_end;
		v_comp := CASE WHEN v_late THEN greatest(p_comp_fen, 0) ELSE 0 END;
		UPDATE service_appointments SET status = 'started', started_at = p_now,
			late = v_late, compensation_fen = v_comp, updated_at = p_now
		 WHERE id = p_id;
		detail := detail || jsonb_build_object('late', v_late,
			'compensation', money_text(v_comp), 'compensation_fen', v_comp);
	ELSIF ev = 'completed' THEN
		UPDATE service_appointments SET status = 'completed', completed_at = p_now,
			charges = v_charges, total_fen = (v_charges->>'total_fen')::bigint,
			outcome = CASE WHEN p_req ? 'notes'
				       THEN jsonb_build_object('notes', p_req->>'notes') END,
			updated_at = p_now
		 WHERE id = p_id;
		detail := detail || jsonb_build_object(
			'started_at', to_char(a.started_at AT TIME ZONE 'UTC', f),
			'completed_at', to_char(p_now AT TIME ZONE 'UTC', f),
			'duration_s', floor(extract(epoch FROM p_now - a.started_at))::bigint,
			'charges', v_charges,
			'total', money_text((v_charges->>'total_fen')::bigint),
			'currency', a.price_list->>'currency',
			'late', a.late,
			'compensation', money_text(a.compensation_fen),
			'compensation_fen', a.compensation_fen);
	ELSE -- failed
		UPDATE service_appointments SET status = 'failed',
			outcome = jsonb_strip_nulls(jsonb_build_object('reason', p_req->>'reason',
				'notes', p_req->>'notes', 'at', to_char(p_now AT TIME ZONE 'UTC', f))),
			updated_at = p_now
		 WHERE id = p_id;
		detail := detail || jsonb_build_object('reason', p_req->>'reason',
						       'notes', p_req->>'notes');
	END IF;
	INSERT INTO order_events (order_id, kind, at, detail)
	VALUES (oid, 'service.' || ev, p_now, detail);
	PERFORM station_feed_add(st, 'service.outcome', jsonb_strip_nulls(jsonb_build_object(
		'appointment', p_id, 'order', oid, 'engineer', p_engineer, 'event', ev,
		'reason', p_req->>'reason', 'late', detail->'late',
		'total', detail->'total')));
	res := jsonb_build_object('r', 'ok', 'service', service_appointment_doc(p_id, p_tz, p_cutoff_h));
	UPDATE service_event_keys SET answer = res WHERE engineer_id = p_engineer AND key = p_key;
	RETURN res;
END
$fn$;
