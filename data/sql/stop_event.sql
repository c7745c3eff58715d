-- stop_event: one event of a courier at a stop (POST /v1/stops/{id}/events,
-- docs/api.md), in one transaction under the stop's row lock.
--   p_courier       the calling courier (the token's scope)
--   p_stop, p_key   the stop and the request's Idempotency-Key
--   p_req           the event as the daemon parsed it: {"event", "reason",
--                   "notes", "proof": {"pin", "photo_ref", "signature_ref"}}
--   p_now           when (the daemon's clock)
--   p_max_attempts  [dispatch] max_attempts: attempts before a failed
--                   delivery goes back to the warehouse
--   p_waves         the station's next waves, [{"key","start","end"}] in
--                   order (RFC 3339): a retry goes to the first starting
--                   after p_now and after the failed stop's wave
-- Events: arrived (planned -> arrived), delivered (the proof the stop
-- requires: pin equal to stops.pin, photo_ref or signature_ref non-empty),
-- failed (a reason code; notes required for other), picked_up (pickup
-- stops). delivered and failed move the order's shipments (of a delivery
-- or an exchange stop) out_for_delivery
-- first if the route was not started, then delivered or failed; a failed
-- delivery is rescheduled (shipments -> rescheduled, a new pending stop
-- attempt+1 in the next wave, a wave_replans_due row, unclaimed, when that
-- wave has a plan or is being planned) while attempt < p_max_attempts, else shipments ->
-- returning_to_warehouse. Every event appends order_events (kind = the
-- event, detail with the courier) and a stop.outcome line to the station's
-- feed.
-- Returns (issue 12 part P4): a stop with a return_id collects a return.
-- picked_up on a pickup stop, and delivered on an exchange stop (which also
-- delivers the replacement order, stops.order_id), mark it picked_up
-- (return_collected: return.picked_up, and return.refund_due under the
-- at_pickup policy). A failed pickup appends return.pickup_failed (and
-- return.pickup_rescheduled with its retry, which keeps the return_id) on
-- the return's order; after the last attempt the return is failed
-- (return.failed). Pickup stops without a return keep the plain picked_up,
-- failed and rescheduled events.
-- Cash on delivery (issue 13, part C1): delivered on a stop whose order is
-- cod (orders.payment_method, cod_amount_fen) requires "collected" {method,
-- amount_fen, reference?, short_reason?} (the daemon checked its shape): at
-- least 0.01 (nothing collected is a failed stop, not a delivery), not
-- more than due, a short_reason when less. It appends a collection to
-- cod_ledger (the day is the wave's date; one per stop, so a replay never
-- counts twice) and the order event payment.collected (a webhook). Other
-- orders refuse "collected".
-- Pickup-point drops (issue 13 part R): delivered on a delivery stop of an
-- order routed to a pickup point (orders.pickup_point_id; the planner only
-- routes courier-served ones) hands the parcel to the point, not to the
-- customer: its shipments go out_for_delivery and stay there (the order is
-- not delivered: the customer collects later), order event
-- pickup.handed_over and feed line pickup.handed_over {order, point,
-- courier}; the outcome says handed_to_point. The point's own arrival scan
-- (pickup_arrival) then takes it in: a place, the code, the hold deadline.
-- Until then the parcel is visibly handed to the point, not yet scanned in.
-- Returns {"r":"ok","stop":{...}} | {"r":"illegal","current":status}
--   | {"r":"invalid","field","message"} | {"r":"not_found"} | {"r":"mismatch"}
-- A key's first ok or illegal answer is kept and returned again for the same
-- request; the same key with another stop or body is a mismatch. not_found
-- and invalid answers keep nothing (a corrected request may reuse the key).
-- Lock order: the station's feed head (station_feed_add's row, taken with
-- no change), then the order row, then the stop, then shipments: heads
-- before orders as shipment_scan(_batch) and route_plan_store take them, so
-- a stop event never deadlocks against a truck's arrivals or a replan. The
-- stop's return row comes last (return_collected, the failed-return update):
-- return_request takes head, order, then inserts; return_scan and
-- return_inspect lock the return row alone.
CREATE OR REPLACE FUNCTION stop_event(p_courier text, p_stop text, p_key text, p_req jsonb,
				      p_now timestamptz, p_max_attempts integer,
				      p_waves jsonb)
RETURNS jsonb LANGUAGE plpgsql AS $fn$
DECLARE
	s record;
	k record;
	ev text := p_req->>'event';
	oid text;
	st text;
	cname text;
	res jsonb;
	doc jsonb;
	detail jsonb;
	w jsonb;
	retry_id text;
	rorder text;
	v_outcome jsonb;
	bad text;
	pay record;
	pt pickup_points;
	coll jsonb := p_req->'collected';
	v_at text := to_char(p_now AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"');
BEGIN
	SELECT order_id, station_id INTO oid, st FROM stops WHERE id = p_stop;
	IF NOT FOUND THEN
		RETURN jsonb_build_object('r', 'not_found');
	END IF;
	INSERT INTO station_feed_heads AS h (station_id, seq) VALUES (st, 0)
	ON CONFLICT (station_id) DO UPDATE SET seq = h.seq;
	-- NO KEY UPDATE: excludes the other writers of this order (they take
	-- the same) but not the key-share lock of a foreign-key check, so a
	-- session inserting an order_events row of it (courier_eta_refresh, which
	-- holds stops) never waits on us while we wait on its stops.
	PERFORM 1 FROM orders WHERE id = oid FOR NO KEY UPDATE;
	SELECT * INTO s FROM stops WHERE id = p_stop FOR UPDATE;
	-- Only a stop of the caller's current route: anything else does not exist.
	IF s.courier_id IS DISTINCT FROM p_courier OR NOT EXISTS (
		SELECT 1 FROM (SELECT p.plan_id FROM route_plans p
				WHERE p.station_id = s.station_id AND p.wave_key = s.wave_key
				ORDER BY p.version DESC LIMIT 1) cur
		  JOIN routes r ON r.plan_id = cur.plan_id AND r.courier_id = p_courier) THEN
		RETURN jsonb_build_object('r', 'not_found');
	END IF;

	-- The key: claimed now; a key already there is a replay or a mismatch.
	INSERT INTO stop_event_keys (courier_id, key, stop_id, request, answer)
	VALUES (p_courier, p_key, p_stop, p_req, '{}')
	ON CONFLICT (courier_id, key) DO NOTHING;
	IF NOT FOUND THEN
		SELECT * INTO k FROM stop_event_keys WHERE courier_id = p_courier AND key = p_key;
		IF k.stop_id = p_stop AND k.request = p_req THEN
			RETURN k.answer;
		END IF;
		RETURN jsonb_build_object('r', 'mismatch');
	END IF;

	-- What the stop requires (not remembered: the courier corrects and retries).
	IF ev = 'delivered' AND s.kind = 'pickup' THEN
		bad := 'event:delivered is for delivery stops; this stop is a pickup (picked_up)';
	ELSIF ev = 'picked_up' AND s.kind <> 'pickup' THEN
		bad := 'event:picked_up is for pickup stops; this stop is a' ||
		       CASE s.kind WHEN 'exchange' THEN 'n exchange' ELSE ' delivery' END
		       || ' (delivered)';
	ELSIF ev = 'delivered' AND s.proof = 'pin' AND coalesce(p_req->'proof'->>'pin', '') = '' THEN
		bad := 'proof.pin:this stop requires the recipient''s PIN';
	ELSIF ev = 'delivered' AND s.proof = 'pin' AND p_req->'proof'->>'pin' IS DISTINCT FROM s.pin THEN
		bad := 'proof.pin:the PIN does not match';
	ELSIF ev = 'delivered' AND s.proof = 'photo'
	      AND coalesce(p_req->'proof'->>'photo_ref', '') = '' THEN
		bad := 'proof.photo_ref:this stop requires a photo reference';
	ELSIF ev = 'delivered' AND s.proof = 'signature'
	      AND coalesce(p_req->'proof'->>'signature_ref', '') = '' THEN
		bad := 'proof.signature_ref:this stop requires a signature reference';
	END IF;
	IF bad IS NULL AND ev = 'delivered' THEN
		SELECT payment_method, cod_amount_fen INTO pay FROM orders WHERE id = oid;
		IF pay.payment_method IS DISTINCT FROM 'cod' AND coll IS NOT NULL THEN
			bad := 'collected:this order has nothing to collect '
			       || '(it is not cash on delivery)';
		ELSIF pay.payment_method = 'cod' AND coll IS NULL THEN
			bad := 'collected:this order is cash on delivery: '
			       || 'record what was collected ('
			       || money_text(pay.cod_amount_fen) || ' CNY due)';
		ELSIF pay.payment_method = 'cod' AND (coll->>'amount_fen')::bigint <= 0 THEN
			bad := 'collected.amount:must be at least 0.01: a delivery where nothing '
			       || 'was collected is a failed stop (reason refused), not a delivery';
		ELSIF pay.payment_method = 'cod'
		      AND (coll->>'amount_fen')::bigint > pay.cod_amount_fen THEN
			bad := 'collected.amount:is more than the amount due ('
			       || money_text(pay.cod_amount_fen) || ' CNY)';
		ELSIF pay.payment_method = 'cod'
		      AND (coll->>'amount_fen')::bigint < pay.cod_amount_fen
		      AND coll->>'short_reason' IS NULL THEN
			bad := 'collected.short_reason:is required when less than the amount due ('
			       || money_text(pay.cod_amount_fen) || ' CNY) is collected';
		ELSIF pay.payment_method = 'cod'
		      AND (coll->>'amount_fen')::bigint = pay.cod_amount_fen
		      AND coll->>'short_reason' IS NOT NULL THEN
			bad := 'collected.short_reason:is only for a collection below '
			       || 'the amount due';
		END IF;
	END IF;
	IF bad IS NOT NULL THEN
		DELETE FROM stop_event_keys WHERE courier_id = p_courier AND key = p_key;
		RETURN jsonb_build_object('r', 'invalid', 'field', split_part(bad, ':', 1),
					  'message', substr(bad, strpos(bad, ':') + 1));
	END IF;

	-- The stop's state: only planned or arrived stops take events, and only
	-- a planned one takes arrived. A delivery's shipments must be at the
	-- station or out with the courier.
	IF s.status NOT IN ('planned', 'arrived') OR ev = 'arrived' AND s.status <> 'planned' THEN
		res := jsonb_build_object('r', 'illegal', 'current', s.status);
	ELSIF s.kind IN ('delivery', 'exchange') AND ev IN ('delivered', 'failed') AND EXISTS (
		SELECT 1 FROM shipments WHERE order_id = oid AND status NOT IN (
			'cancelled', 'arrived_at_station', 'rescheduled', 'out_for_delivery')) THEN
		res := jsonb_build_object('r', 'illegal', 'current', s.status, 'shipments',
			(SELECT jsonb_agg(status ORDER BY seq) FROM shipments WHERE order_id = oid));
	END IF;
	IF res IS NOT NULL THEN
		UPDATE stop_event_keys SET answer = res WHERE courier_id = p_courier AND key = p_key;
		RETURN res;
	END IF;

	SELECT name INTO cname FROM couriers WHERE id = p_courier;
	detail := jsonb_build_object('courier', p_courier, 'stop', p_stop);
	v_outcome := jsonb_build_object('event', ev, 'at', v_at, 'courier', p_courier);
	IF ev = 'arrived' THEN
		INSERT INTO order_events (order_id, kind, at, detail)
		VALUES (oid, 'arrived', p_now, detail);
	ELSIF ev = 'picked_up' AND s.return_id IS NOT NULL THEN
		PERFORM return_collected(s.return_id, p_now,
					 detail || jsonb_build_object('courier_name', cname));
	ELSIF ev = 'picked_up' THEN
		INSERT INTO order_events (order_id, kind, at, detail)
		VALUES (oid, 'picked_up', p_now, detail);
	ELSIF ev = 'delivered' THEN
		v_outcome := v_outcome || jsonb_build_object('proof', s.proof,
			'photo_ref', p_req->'proof'->'photo_ref',
			'signature_ref', p_req->'proof'->'signature_ref');
		IF s.kind = 'delivery' THEN
			SELECT p.* INTO pt FROM orders o
			  JOIN pickup_points p ON p.id = o.pickup_point_id
			 WHERE o.id = oid;
		END IF;
		IF s.kind IN ('delivery', 'exchange') THEN
			PERFORM stop_shipments_move(oid, 'out_for_delivery', p_now,
				detail || jsonb_build_object('courier_name', cname, 'eta', s.eta));
		END IF;
		IF pt.id IS NOT NULL THEN
			INSERT INTO order_events (order_id, kind, at, detail)
			VALUES (oid, 'pickup.handed_over', p_now, detail || jsonb_build_object(
				'courier_name', cname, 'point', pt.id, 'point_name', pt.name,
				'proof', s.proof));
			PERFORM station_feed_add(s.station_id, 'pickup.handed_over',
						 jsonb_build_object('order', oid, 'point', pt.id,
								    'courier', p_courier,
								    'stop', p_stop));
			v_outcome := v_outcome || jsonb_build_object('handed_to_point', pt.id);
		ELSIF s.kind IN ('delivery', 'exchange') THEN
			PERFORM stop_shipments_move(oid, 'delivered', p_now,
				detail || jsonb_build_object('proof', s.proof));
		END IF;
		IF s.kind = 'exchange' AND s.return_id IS NOT NULL THEN
			PERFORM return_collected(s.return_id, p_now,
						 detail || jsonb_build_object('courier_name', cname));
		END IF;
		IF coll IS NOT NULL THEN
			INSERT INTO cod_ledger (kind, station_id, courier_id, day, order_id,
						stop_id, method, amount_fen, due_fen,
						reference, short_reason, at)
			VALUES ('collection', s.station_id, p_courier,
				to_date(left(s.wave_key, 8), 'YYYYMMDD'), oid, p_stop,
				coll->>'method', (coll->>'amount_fen')::bigint, pay.cod_amount_fen,
				coll->>'reference', coll->>'short_reason', p_now);
			INSERT INTO order_events (order_id, kind, at, detail)
			VALUES (oid, 'payment.collected', p_now, jsonb_strip_nulls(detail
				|| jsonb_build_object('courier_name', cname,
					'amount', money_text((coll->>'amount_fen')::bigint),
					'amount_fen', (coll->>'amount_fen')::bigint,
					'currency', 'CNY',
					'method', coll->>'method', 'reference', coll->>'reference',
					'due', money_text(pay.cod_amount_fen),
					'due_fen', pay.cod_amount_fen,
					'short_reason', coll->>'short_reason')));
			v_outcome := v_outcome || jsonb_build_object('collected', jsonb_strip_nulls(
				jsonb_build_object('method', coll->>'method',
					'amount', money_text((coll->>'amount_fen')::bigint),
					'amount_fen', (coll->>'amount_fen')::bigint,
					'due', money_text(pay.cod_amount_fen),
					'reference', coll->>'reference',
					'short_reason', coll->>'short_reason')));
		END IF;
	ELSE -- failed
		v_outcome := v_outcome || jsonb_build_object('reason', p_req->>'reason',
							  'notes', p_req->>'notes');
		IF s.return_id IS NOT NULL THEN
			SELECT order_id INTO rorder FROM returns WHERE id = s.return_id;
			INSERT INTO order_events (order_id, kind, at, detail)
			VALUES (rorder, 'return.pickup_failed', p_now, detail || jsonb_build_object(
				'return', s.return_id, 'reason', p_req->>'reason',
				'notes', p_req->>'notes', 'attempt', s.attempt));
		END IF;
		IF s.kind IN ('delivery', 'exchange') THEN
			PERFORM stop_shipments_move(oid, 'out_for_delivery', p_now,
				detail || jsonb_build_object('courier_name', cname, 'eta', s.eta));
			PERFORM stop_shipments_move(oid, 'failed', p_now,
				detail || jsonb_build_object('reason', p_req->>'reason',
					'notes', p_req->>'notes', 'attempt', s.attempt));
		ELSIF s.return_id IS NULL THEN
			INSERT INTO order_events (order_id, kind, at, detail)
			VALUES (oid, 'failed', p_now, detail || jsonb_build_object(
				'reason', p_req->>'reason', 'notes', p_req->>'notes',
				'attempt', s.attempt, 'kind', 'pickup'));
		END IF;
		SELECT x INTO w FROM jsonb_array_elements(coalesce(p_waves, '[]'::jsonb)) AS x
		 WHERE (x->>'start')::timestamptz > p_now AND x->>'key' > s.wave_key
		 ORDER BY (x->>'start')::timestamptz LIMIT 1;
		IF s.attempt < p_max_attempts AND w IS NOT NULL THEN
			retry_id := 'stp_' || substr(md5(gen_random_uuid()::text), 1, 16);
			INSERT INTO stops (id, station_id, wave_key, order_id, kind, attempt, status,
					   window_start, window_end, proof, pin, return_id)
			VALUES (retry_id, s.station_id, w->>'key', oid, s.kind, s.attempt + 1,
				'pending', (w->>'start')::timestamptz, (w->>'end')::timestamptz,
				s.proof, s.pin, s.return_id);
			IF s.return_id IS NOT NULL THEN
				INSERT INTO order_events (order_id, kind, at, detail)
				VALUES (rorder, 'return.pickup_rescheduled', p_now,
					detail || jsonb_build_object('return', s.return_id,
						'wave', w->>'key', 'window_start', w->>'start',
						'window_end', w->>'end', 'attempt', s.attempt + 1,
						'retry_stop', retry_id));
			END IF;
			IF s.kind IN ('delivery', 'exchange') THEN
				PERFORM stop_shipments_move(oid, 'rescheduled', p_now,
					detail || jsonb_build_object('wave', w->>'key',
						'window_start', w->>'start', 'attempt', s.attempt + 1,
						'retry_stop', retry_id));
			ELSIF s.return_id IS NULL THEN
				INSERT INTO order_events (order_id, kind, at, detail)
				VALUES (oid, 'rescheduled', p_now, detail || jsonb_build_object(
					'wave', w->>'key', 'window_start', w->>'start',
					'attempt', s.attempt + 1, 'retry_stop', retry_id,
					'kind', 'pickup'));
			END IF;
			-- The wave is planned, or being planned (its cut-off passed, or
			-- a plan runs): its plan may have read its stops already. A
			-- replan already claimed is unclaimed, so that its store is
			-- refused and it runs again with this stop.
			IF EXISTS (SELECT 1 FROM route_plans
				    WHERE station_id = s.station_id AND wave_key = w->>'key')
			   OR EXISTS (SELECT 1 FROM wave_auto_plans
				       WHERE station_id = s.station_id AND wave_key = w->>'key')
			   OR EXISTS (SELECT 1 FROM plan_runs
				       WHERE station_id = s.station_id
					 AND wave_key = w->>'key') THEN
				INSERT INTO wave_replans_due (station_id, wave_key, reason, since)
				VALUES (s.station_id, w->>'key', 'retry', p_now)
				ON CONFLICT (station_id, wave_key)
				DO UPDATE SET claimed_by = NULL, claimed_at = NULL;
			END IF;
			v_outcome := v_outcome || jsonb_build_object('retry', jsonb_build_object(
				'stop', retry_id, 'wave', w->>'key', 'window_start', w->>'start',
				'attempt', s.attempt + 1));
		ELSE
			IF s.return_id IS NOT NULL THEN
				UPDATE returns SET status = 'failed', updated_at = p_now
				 WHERE id = s.return_id AND status = 'requested';
				INSERT INTO order_events (order_id, kind, at, detail)
				VALUES (rorder, 'return.failed', p_now, detail || jsonb_build_object(
					'return', s.return_id, 'attempts', s.attempt));
			END IF;
			IF s.kind IN ('delivery', 'exchange') THEN
				PERFORM stop_shipments_move(oid, 'returning_to_warehouse', p_now,
					detail || jsonb_build_object('attempts', s.attempt,
						'why', CASE WHEN w IS NULL AND s.attempt < p_max_attempts
							    THEN 'no_wave' ELSE 'max_attempts' END));
			END IF;
			v_outcome := v_outcome || jsonb_build_object('retry', NULL,
				'returning_to_warehouse', s.kind IN ('delivery', 'exchange'));
		END IF;
	END IF;

	UPDATE stops SET status = CASE ev WHEN 'arrived' THEN 'arrived' WHEN 'delivered'
				  THEN 'delivered' WHEN 'failed' THEN 'failed' ELSE 'picked_up' END,
		outcome = CASE WHEN ev = 'arrived' THEN s.outcome ELSE v_outcome END,
		updated_at = p_now
	 WHERE id = p_stop;
	PERFORM station_feed_add(s.station_id, 'stop.outcome', jsonb_strip_nulls(
		jsonb_build_object('stop', p_stop, 'order', oid, 'wave', s.wave_key,
			'courier', p_courier, 'event', ev, 'reason', p_req->>'reason',
			'collected', v_outcome->'collected'->>'amount',
			'rescheduled_to', v_outcome->'retry'->>'wave')));
	doc := jsonb_build_object('id', p_stop, 'order', oid, 'wave', s.wave_key, 'kind', s.kind,
		'attempt', s.attempt,
		'status', (SELECT status FROM stops WHERE id = p_stop),
		'outcome', v_outcome,
		'shipments', (SELECT coalesce(jsonb_agg(jsonb_build_object('seq', seq,
			'status', status) ORDER BY seq), '[]'::jsonb)
			FROM shipments WHERE order_id = oid));
	res := jsonb_build_object('r', 'ok', 'stop', doc);
	UPDATE stop_event_keys SET answer = res WHERE courier_id = p_courier AND key = p_key;
	RETURN res;
END
$fn$;
