-- cod_correct: POST /v1/stations/{id}/couriers/{cid}/cod-corrections (issue
-- 13, part M; admin): a correction of a courier's day is a new cod_ledger
-- row (kind correction, signed amount, reason, optional order); nothing is
-- changed or deleted.
--   p_req    {"day": "YYYY-MM-DD", "amount_fen": n (non-zero), "reason",
--            "order"?, "settlement"?} as the daemon parsed it (stored: the same key with
--            another request is a mismatch)
--   p_key    the Idempotency-Key (per station, apart from the settlements'
--            keys); p_now, p_actor (the token id)
-- A correction is recorded against the day's open settlement (if any: at
-- most one is open, cod_settle; settlement_id) only when it is about money
-- that settlement counted: with "settlement" (the admin names it; it must
-- be that open settlement, and with "order" too, that order's collection
-- must precede its hand-over), or with "order" alone when a collection row
-- of that order precedes the settlement's hand-over row. Attached, it moves
-- the settlement's open amount (cod_settlement_open) by minus the amount;
-- the correction that brings it to exactly 0 closes it: resolved ("balanced
-- by correction N: reason"), with a resolution row of amount 0 naming the
-- correction (the correction itself accounts for the difference, so
-- nothing more is written off) and a cod.discrepancy feed line with status
-- resolved. One that leaves it off closes nothing: the next hand-over, or
-- an admin's resolution, settles it. Any other correction (money the open
-- settlement never counted: an order collected after its hand-over or not
-- recorded at all, or no order and no settlement named) is pending
-- (cod_day_sums): the next hand-over's expected includes it, and resolving
-- the open settlement does not write it off.
-- Returns {"r":"ok","answer":{correction, closed: [settlement ids], day:
--   cod_day_doc}} (a replay returns the first answer as it was) |
--   {"r":"not_found"} (no such courier at the station) | {"r":"mismatch"} |
--   {"r":"bad_order"} (the order has no stop or collection of the courier's
--   day) | {"r":"bad_settlement"} ("settlement" is not the day's open
--   settlement, or did not count the order's collection)
-- Lock order: as cod_settle (cod_day_lock: the station's feed head, the
-- key, the courier's day), then the day's open settlement: a correction and
-- a hand-over of one day are counted one after the other.
CREATE OR REPLACE FUNCTION cod_correct(p_station text, p_courier text, p_key text, p_req jsonb,
				       p_now timestamptz, p_actor text)
RETURNS jsonb LANGUAGE plpgsql AS $fn$
DECLARE
	v_day date := (p_req->>'day')::date;
	v_order text := p_req->>'order';
	v_reason text := p_req->>'reason';
	v_id bigint;
	v_closed jsonb := '[]';
	v_resolution text;
	v_answer jsonb;
	t record;
	v_open cod_settlements;
	v_counted boolean;
	v_attach text;
BEGIN
	IF NOT cod_day_lock(p_station, p_courier, 'cod_correct_key', p_key, v_day) THEN
		RETURN jsonb_build_object('r', 'not_found');
	END IF;
	SELECT * INTO t FROM cod_corrections
	 WHERE station_id = p_station AND idempotency_key = p_key;
	IF FOUND THEN
		IF t.courier_id = p_courier AND t.request = p_req THEN
			RETURN jsonb_build_object('r', 'ok', 'answer', t.answer);
		END IF;
		RETURN jsonb_build_object('r', 'mismatch');
	END IF;
	IF v_order IS NOT NULL
	   AND NOT EXISTS (SELECT 1 FROM stops s
			    WHERE s.order_id = v_order AND s.courier_id = p_courier
			      AND s.station_id = p_station
			      AND left(s.wave_key, 8) = to_char(v_day, 'YYYYMMDD'))
	   AND NOT EXISTS (SELECT 1 FROM cod_ledger l
			    WHERE l.order_id = v_order AND l.courier_id = p_courier
			      AND l.station_id = p_station AND l.day = v_day) THEN
		RETURN jsonb_build_object('r', 'bad_order');
	END IF;
	SELECT * INTO v_open FROM cod_settlements
	 WHERE station_id = p_station AND courier_id = p_courier AND day = v_day
	   AND status = 'open'
	 ORDER BY seq DESC LIMIT 1 FOR UPDATE;
	-- Did the open settlement count the order's collection (a collection
	-- row of it before the settlement's hand-over row)?
	v_counted := v_order IS NOT NULL AND v_open.id IS NOT NULL
		     AND EXISTS (SELECT 1 FROM cod_ledger c, cod_ledger h
				  WHERE h.settlement_id = v_open.id AND h.kind = 'handover'
				    AND c.kind = 'collection' AND c.order_id = v_order
				    AND c.courier_id = p_courier AND c.station_id = p_station
				    AND c.day = v_day AND c.id < h.id);
	IF p_req->>'settlement' IS NOT NULL THEN
		IF v_open.id IS DISTINCT FROM p_req->>'settlement'
		   OR (v_order IS NOT NULL AND NOT v_counted) THEN
			RETURN jsonb_build_object('r', 'bad_settlement');
		END IF;
		v_attach := v_open.id;
	ELSIF v_counted THEN
		v_attach := v_open.id;
	END IF;
	v_open.id := v_attach;
	INSERT INTO cod_ledger (kind, station_id, courier_id, day, order_id, settlement_id,
				amount_fen, reason, at, created_by)
	VALUES ('correction', p_station, p_courier, v_day, v_order, v_open.id,
		(p_req->>'amount_fen')::bigint, v_reason, p_now, p_actor)
	RETURNING id INTO v_id;
	IF v_open.id IS NOT NULL AND cod_settlement_open(v_open.id) = 0 THEN
		v_resolution := 'balanced by correction ' || v_id || ': ' || v_reason;
		INSERT INTO cod_ledger (kind, station_id, courier_id, day, settlement_id,
					amount_fen, reason, correction_id, at, created_by)
		VALUES ('resolution', p_station, p_courier, v_day, v_open.id, 0, v_resolution, v_id,
			p_now, p_actor);
		UPDATE cod_settlements
		   SET status = 'resolved', resolved_at = p_now, resolved_by = p_actor,
		       resolution = v_resolution
		 WHERE id = v_open.id;
		PERFORM station_feed_add(p_station, 'cod.discrepancy',
			jsonb_build_object('settlement', v_open.id, 'courier', p_courier,
				'day', to_char(v_day, 'YYYY-MM-DD'),
				'difference', money_text(v_open.handed_fen - v_open.expected_fen),
				'difference_fen', v_open.handed_fen - v_open.expected_fen,
				'status', 'resolved', 'reason', v_resolution,
				'correction', v_id));
		v_closed := v_closed || to_jsonb(v_open.id);
	END IF;
	v_answer := jsonb_build_object('correction', cod_entry_doc(v_id), 'closed', v_closed,
				       'day', cod_day_doc(p_station, p_courier, v_day));
	INSERT INTO cod_corrections (ledger_id, station_id, courier_id, idempotency_key, request,
				     answer)
	VALUES (v_id, p_station, p_courier, p_key, p_req, v_answer);
	RETURN jsonb_build_object('r', 'ok', 'answer', v_answer);
END
$fn$;
