-- cod_correct: POST /v1/stations/{id}/couriers/{cid}/cod-corrections (issue
-- 13, part M; admin): a correction of a courier's day is a new cod_ledger
-- row (kind correction, signed amount, reason, optional order); nothing is
-- changed or deleted.
--   p_req    {"day": "YYYY-MM-DD", "amount_fen": n (non-zero), "reason",
--            "order"?} as the daemon parsed it (stored: the same key with
--            another request is a mismatch)
--   p_key    the Idempotency-Key (per station, apart from the settlements'
--            keys); p_now, p_actor (the token id)
-- The day is then recomputed. A correction that brings the day's balance
-- (cash collected + corrections - handed - written off) to exactly 0
-- closes the day's open settlements: each becomes resolved ("balanced by
-- correction N: reason"), with a resolution row of amount 0 naming the
-- correction (the correction itself accounts for the difference, so
-- nothing more is written off) and a cod.discrepancy feed line with status
-- resolved. A correction that leaves the day off balance closes nothing:
-- the next hand-over, or an admin's resolution, settles it.
-- Returns {"r":"ok","answer":{correction, closed: [settlement ids], day:
--   cod_day_doc}} (a replay returns the first answer as it was) |
--   {"r":"not_found"} (no such courier at the station) | {"r":"mismatch"} |
--   {"r":"bad_order"} (the order has no stop or collection of the courier's
--   day)
-- Lock order: as cod_settle (cod_day_lock: the station's feed head, the
-- key, the courier's day), then the day's open settlements: a correction and a
-- hand-over of one day are counted one after the other.
CREATE OR REPLACE FUNCTION cod_correct(p_station text, p_courier text, p_key text, p_req jsonb,
				       p_now timestamptz, p_actor text)
RETURNS jsonb LANGUAGE plpgsql AS $fn$
DECLARE
	v_day date := (p_req->>'day')::date;
	v_order text := p_req->>'order';
	v_reason text := p_req->>'reason';
	v_id bigint;
	v_balance bigint;
	v_closed jsonb := '[]';
	v_resolution text;
	v_answer jsonb;
	t record;
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
			      AND l.day = v_day) THEN
		RETURN jsonb_build_object('r', 'bad_order');
	END IF;
	INSERT INTO cod_ledger (kind, station_id, courier_id, day, order_id, amount_fen, reason, at,
				created_by)
	VALUES ('correction', p_station, p_courier, v_day, v_order, (p_req->>'amount_fen')::bigint,
		v_reason, p_now, p_actor)
	RETURNING id INTO v_id;
	v_resolution := 'balanced by correction ' || v_id || ': ' || v_reason;
	SELECT coalesce(sum(amount_fen) FILTER (WHERE kind = 'collection' AND method = 'cash'), 0)
	       + coalesce(sum(amount_fen) FILTER (WHERE kind = 'correction'), 0)
	       - coalesce(sum(amount_fen) FILTER (WHERE kind IN ('handover', 'resolution')), 0)
	  INTO v_balance
	  FROM cod_ledger WHERE courier_id = p_courier AND day = v_day;
	IF v_balance = 0 THEN
		FOR t IN SELECT * FROM cod_settlements
			  WHERE courier_id = p_courier AND day = v_day AND status = 'open'
			  ORDER BY seq FOR UPDATE LOOP
			INSERT INTO cod_ledger (kind, station_id, courier_id, day, settlement_id,
						amount_fen, reason, correction_id, at, created_by)
			VALUES ('resolution', t.station_id, t.courier_id, t.day, t.id, 0,
				v_resolution, v_id, p_now, p_actor);
			UPDATE cod_settlements
			   SET status = 'resolved', resolved_at = p_now, resolved_by = p_actor,
			       resolution = v_resolution
			 WHERE id = t.id;
			PERFORM station_feed_add(t.station_id, 'cod.discrepancy',
				jsonb_build_object('settlement', t.id, 'courier', t.courier_id,
					'day', to_char(t.day, 'YYYY-MM-DD'),
					'difference', money_text(t.handed_fen - t.expected_fen),
					'difference_fen', t.handed_fen - t.expected_fen,
					'status', 'resolved', 'reason', v_resolution,
					'correction', v_id));
			v_closed := v_closed || to_jsonb(t.id);
		END LOOP;
	END IF;
	v_answer := jsonb_build_object('correction', cod_entry_doc(v_id), 'closed', v_closed,
				       'day', cod_day_doc(p_station, p_courier, v_day));
	INSERT INTO cod_corrections (ledger_id, station_id, courier_id, idempotency_key, request,
				     answer)
	VALUES (v_id, p_station, p_courier, p_key, p_req, v_answer);
	RETURN jsonb_build_object('r', 'ok', 'answer', v_answer);
END
$fn$;
