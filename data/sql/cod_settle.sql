-- cod_settle: POST /v1/stations/{id}/couriers/{cid}/settlements (issue 13,
-- part C1): the cash a courier hands over at the station for one day.
--   p_req    {"day": "YYYY-MM-DD", "handed_fen": n, "notes"?} as the daemon
--            parsed it (stored: the same key with another request is a
--            mismatch)
--   p_key    the Idempotency-Key; p_now, p_actor (the token id)
-- expected = the day's cash collections + corrections - the hand-overs
-- recorded before - the differences written off by resolutions (cod_ledger:
-- what the courier still holds); the hand-over is a ledger row (handover)
-- and a settlement, balanced when handed = expected, else open: a feed line
-- cod.discrepancy until POST .../resolution.
-- Returns {"r":"ok","settlement":doc} (a replay returns the first one) |
--   {"r":"not_found"} (no such courier at the station) | {"r":"mismatch"}
-- Lock order: the station's feed head, then the key, then the courier's day
-- (cod_day_lock: two requests with one key never both insert, two
-- hand-overs or corrections of one day never compute from the same past);
-- stop_event's collections take no such lock: one committed after the read
-- counts in the next settlement.
CREATE OR REPLACE FUNCTION cod_settle(p_station text, p_courier text, p_key text, p_req jsonb,
				      p_now timestamptz, p_actor text)
RETURNS jsonb LANGUAGE plpgsql AS $fn$
DECLARE
	v_day date := (p_req->>'day')::date;
	v_handed bigint := (p_req->>'handed_fen')::bigint;
	v_expected bigint;
	v_id text;
	t record;
BEGIN
	IF NOT cod_day_lock(p_station, p_courier, 'cod_settle_key', p_key, v_day) THEN
		RETURN jsonb_build_object('r', 'not_found');
	END IF;
	SELECT * INTO t FROM cod_settlements
	 WHERE station_id = p_station AND idempotency_key = p_key;
	IF FOUND THEN
		IF t.courier_id = p_courier AND t.request = p_req THEN
			RETURN jsonb_build_object('r', 'ok',
						  'settlement', cod_settlement_doc(t.id));
		END IF;
		RETURN jsonb_build_object('r', 'mismatch');
	END IF;
	SELECT coalesce(sum(amount_fen) FILTER (WHERE kind = 'collection' AND method = 'cash'), 0)
	       + coalesce(sum(amount_fen) FILTER (WHERE kind = 'correction'), 0)
	       - coalesce(sum(amount_fen) FILTER (WHERE kind = 'handover'), 0)
	       - coalesce(sum(amount_fen) FILTER (WHERE kind = 'resolution'), 0)
	  INTO v_expected
	  FROM cod_ledger WHERE courier_id = p_courier AND day = v_day;
	v_id := 'set_' || substr(md5(gen_random_uuid()::text), 1, 16);
	INSERT INTO cod_settlements (id, station_id, courier_id, day, expected_fen, handed_fen,
				     notes, status, created_at, created_by, idempotency_key,
				     request)
	VALUES (v_id, p_station, p_courier, v_day, v_expected, v_handed, p_req->>'notes',
		CASE WHEN v_handed = v_expected THEN 'balanced' ELSE 'open' END, p_now, p_actor,
		p_key, p_req);
	INSERT INTO cod_ledger (kind, station_id, courier_id, day, settlement_id, amount_fen, at)
	VALUES ('handover', p_station, p_courier, v_day, v_id, v_handed, p_now);
	IF v_handed <> v_expected THEN
		PERFORM station_feed_add(p_station, 'cod.discrepancy', jsonb_build_object(
			'settlement', v_id, 'courier', p_courier,
			'day', to_char(v_day, 'YYYY-MM-DD'),
			'expected', money_text(v_expected), 'handed', money_text(v_handed),
			'difference', money_text(v_handed - v_expected),
			'difference_fen', v_handed - v_expected, 'status', 'open'));
	END IF;
	RETURN jsonb_build_object('r', 'ok', 'settlement', cod_settlement_doc(v_id));
END
$fn$;
