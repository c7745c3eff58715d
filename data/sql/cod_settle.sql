-- cod_settle: POST /v1/stations/{id}/couriers/{cid}/settlements (issue 13,
-- part C1): the cash a courier hands over at the station for one day.
--   p_req    {"day": "YYYY-MM-DD", "handed_fen": n, "notes"?} as the daemon
--            parsed it (stored: the same key with another request is a
--            mismatch)
--   p_key    the Idempotency-Key; p_now, p_actor (the token id)
-- expected = what the courier still holds of the day at this station
-- (cod_day_sums: cash collections + corrections - earlier hand-overs -
-- differences written off), so difference = handed - expected is the day's
-- balance right after it. The hand-over is a ledger row (handover) and a
-- settlement, balanced when handed = expected, else open: a feed line
-- cod.discrepancy until resolved. Its expected includes whatever earlier
-- open settlements of the day left unexplained, so each of them is closed
-- (carried_into this one; status resolved with a resolution row of 0 and a
-- cod.discrepancy feed line with status resolved): a shortfall is open in
-- one settlement only, and a hand-over that makes it good closes it. The
-- day's open settlements then add up to its balance (cod_day_sums).
-- Returns {"r":"ok","settlement":doc} (a replay returns the first answer
--   byte for byte) | {"r":"not_found"} (no such courier at the station) |
--   {"r":"mismatch"}
-- Lock order: the station's feed head, then the key, then the courier's day
-- (cod_day_lock: two requests with one key never both insert, two
-- hand-overs or corrections of one day never compute from the same past),
-- then the day's open settlements (a resolution waits, or finds it closed);
-- stop_event's collections take the feed head first too, so a collection
-- is counted by this hand-over or recorded after it (pending).
CREATE OR REPLACE FUNCTION cod_settle(p_station text, p_courier text, p_key text, p_req jsonb,
				      p_now timestamptz, p_actor text)
RETURNS jsonb LANGUAGE plpgsql AS $fn$
DECLARE
	v_day date := (p_req->>'day')::date;
	v_handed bigint := (p_req->>'handed_fen')::bigint;
	v_expected bigint;
	v_id text;
	v_doc jsonb;
	v_reason text;
	t record;
BEGIN
	IF NOT cod_day_lock(p_station, p_courier, 'cod_settle_key', p_key, v_day) THEN
		RETURN jsonb_build_object('r', 'not_found');
	END IF;
	SELECT * INTO t FROM cod_settlements
	 WHERE station_id = p_station AND idempotency_key = p_key;
	IF FOUND THEN
		IF t.courier_id = p_courier AND t.request = p_req THEN
			RETURN jsonb_build_object('r', 'ok', 'settlement',
						  coalesce(t.answer, cod_settlement_doc(t.id)));
		END IF;
		RETURN jsonb_build_object('r', 'mismatch');
	END IF;
	PERFORM 1 FROM cod_settlements
	  WHERE station_id = p_station AND courier_id = p_courier AND day = v_day
	    AND status = 'open'
	  ORDER BY seq FOR UPDATE;
	SELECT s.cash + s.corr - s.handed - s.written INTO v_expected
	  FROM cod_day_sums(p_station, p_courier, v_day) s;
	v_id := 'set_' || substr(md5(gen_random_uuid()::text), 1, 16);
	v_reason := 'carried into ' || v_id || ': its expected includes this difference';
	INSERT INTO cod_settlements (id, station_id, courier_id, day, expected_fen, handed_fen,
				     notes, status, created_at, created_by, idempotency_key,
				     request)
	VALUES (v_id, p_station, p_courier, v_day, v_expected, v_handed, p_req->>'notes',
		CASE WHEN v_handed = v_expected THEN 'balanced' ELSE 'open' END, p_now, p_actor,
		p_key, p_req);
	INSERT INTO cod_ledger (kind, station_id, courier_id, day, settlement_id, amount_fen, at,
				created_by)
	VALUES ('handover', p_station, p_courier, v_day, v_id, v_handed, p_now, p_actor);
	FOR t IN SELECT * FROM cod_settlements
		  WHERE station_id = p_station AND courier_id = p_courier AND day = v_day
		    AND status = 'open' AND id <> v_id
		  ORDER BY seq LOOP
		INSERT INTO cod_ledger (kind, station_id, courier_id, day, settlement_id, amount_fen,
					reason, at, created_by)
		VALUES ('resolution', p_station, p_courier, v_day, t.id, 0, v_reason, p_now,
			p_actor);
		UPDATE cod_settlements
		   SET status = 'resolved', resolved_at = p_now, resolved_by = p_actor,
		       resolution = v_reason, carried_into = v_id
		 WHERE id = t.id;
		PERFORM station_feed_add(p_station, 'cod.discrepancy', jsonb_build_object(
			'settlement', t.id, 'courier', p_courier,
			'day', to_char(v_day, 'YYYY-MM-DD'),
			'difference', money_text(t.handed_fen - t.expected_fen),
			'difference_fen', t.handed_fen - t.expected_fen,
			'status', 'resolved', 'reason', v_reason, 'carried_into', v_id));
	END LOOP;
	IF v_handed <> v_expected THEN
		PERFORM station_feed_add(p_station, 'cod.discrepancy', jsonb_build_object(
			'settlement', v_id, 'courier', p_courier,
			'day', to_char(v_day, 'YYYY-MM-DD'),
			'expected', money_text(v_expected), 'handed', money_text(v_handed),
			'difference', money_text(v_handed - v_expected),
			'difference_fen', v_handed - v_expected, 'status', 'open'));
	END IF;
	v_doc := cod_settlement_doc(v_id);
	UPDATE cod_settlements SET answer = v_doc WHERE id = v_id;
	RETURN jsonb_build_object('r', 'ok', 'settlement', v_doc);
END
$fn$;
