-- cod_resolve: POST /v1/stations/{id}/couriers/{cid}/settlements/{sid}/resolution
-- (issue 13, part C1; admin): an open discrepancy is resolved with a reason.
-- What it leaves unexplained (cod_settlement_open: its difference less the
-- corrections recorded against it) is written off by a ledger row (kind
-- resolution, amount = minus that: + for cash missing, the reason), never
-- by changing or deleting one; the
-- settlement becomes resolved and the station's feed gets a
-- cod.discrepancy line with status resolved.
-- Returns {"r":"ok","settlement":doc} | {"r":"not_found"} |
--   {"r":"illegal","current":status} (balanced or already resolved; the same
--   reason again answers ok with the settlement as it is: a retry)
-- Lock order: the station's feed head, then the settlement row (as
-- cod_settle and cod_correct, which take the head first: one of them closes
-- the settlement before the other looks at it).
CREATE OR REPLACE FUNCTION cod_resolve(p_station text, p_courier text, p_id text,
				       p_reason text, p_now timestamptz, p_actor text)
RETURNS jsonb LANGUAGE plpgsql AS $fn$
DECLARE
	t record;
BEGIN
	IF NOT EXISTS (SELECT 1 FROM cod_settlements
			WHERE id = p_id AND station_id = p_station AND courier_id = p_courier) THEN
		RETURN jsonb_build_object('r', 'not_found');
	END IF;
	INSERT INTO station_feed_heads AS h (station_id, seq) VALUES (p_station, 0)
	ON CONFLICT (station_id) DO UPDATE SET seq = h.seq;
	SELECT * INTO t FROM cod_settlements WHERE id = p_id FOR UPDATE;
	IF t.status = 'resolved' AND t.resolution = p_reason THEN
		RETURN jsonb_build_object('r', 'ok', 'settlement', cod_settlement_doc(p_id));
	ELSIF t.status <> 'open' THEN
		RETURN jsonb_build_object('r', 'illegal', 'current', t.status);
	END IF;
	INSERT INTO cod_ledger (kind, station_id, courier_id, day, settlement_id, amount_fen,
				reason, at, created_by)
	VALUES ('resolution', t.station_id, t.courier_id, t.day, p_id,
		-cod_settlement_open(p_id), p_reason, p_now, p_actor);
	UPDATE cod_settlements SET status = 'resolved', resolved_at = p_now, resolution = p_reason,
				   resolved_by = p_actor
	 WHERE id = p_id;
	PERFORM station_feed_add(p_station, 'cod.discrepancy', jsonb_build_object(
		'settlement', p_id, 'courier', t.courier_id, 'day', to_char(t.day, 'YYYY-MM-DD'),
		'difference', money_text(t.handed_fen - t.expected_fen),
		'difference_fen', t.handed_fen - t.expected_fen, 'status', 'resolved',
		'reason', p_reason));
	RETURN jsonb_build_object('r', 'ok', 'settlement', cod_settlement_doc(p_id));
END
$fn$;
