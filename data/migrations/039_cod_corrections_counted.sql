-- 039: corrections recorded before 038 against the settlement that counted
-- their money, and the feed lines 038 did not write (issue 13; docs/api.md
-- "Cash on delivery", "A correction that explains the open discrepancy
-- closes it"). Appended only: cod_ledger is never updated or deleted.
--
-- 1. Before 038 a correction never named a settlement (settlement_id NULL):
-- one recorded after the hand-over of a settlement still open is pending
-- now. cod_correct records a correction against the open settlement only
-- when that settlement counted its money; for these old rows the one sign
-- of that is an order whose collection precedes the settlement's hand-over.
-- Each such correction gets a net-zero pair of correction rows: minus its
-- amount unattached (pending moves back) and its amount against the
-- settlement (its open moves), so balance, pending and open still add up
-- (open = balance + pending). One that brings the settlement to exactly 0
-- closes it as cod_correct does (a resolution row of 0 naming the attached
-- row, a cod.discrepancy feed line with status resolved). Corrections
-- without such an order stay pending, as cod_correct now records them: the
-- next hand-over expects them, and a resolution does not write off money
-- the courier may still hold.
--
-- 2. Settlements 038 closed (carried_into set, resolved_by NULL: cod_settle
-- always names its actor) got no cod.discrepancy line with status
-- resolved on their station's feed: appended now, as cod_settle writes it.
--
-- Both call station_feed_add (data/sql, applied after migrations): a
-- database holding such rows has it from its earlier runs; a new one has
-- no rows, so it is never called. Without it the feed lines are skipped
-- with a notice (the ledger rows are still appended).
DO $mig$
DECLARE
	c record;
	v_id bigint;
	v_open bigint;
	v_diff bigint;
	v_reason text;
	v_feed boolean := to_regprocedure('station_feed_add(text, text, jsonb)') IS NOT NULL
			  AND to_regprocedure('money_text(bigint)') IS NOT NULL;
BEGIN
	FOR c IN SELECT l.id, l.station_id, l.courier_id, l.day, l.order_id, l.amount_fen,
			l.reason, t.id AS sid
		   FROM cod_ledger l
		   JOIN cod_settlements t ON t.station_id = l.station_id
					 AND t.courier_id = l.courier_id AND t.day = l.day
					 AND t.status = 'open'
		   JOIN cod_ledger h ON h.settlement_id = t.id AND h.kind = 'handover'
		  WHERE l.kind = 'correction' AND l.settlement_id IS NULL AND l.id > h.id
		    AND l.order_id IS NOT NULL
		    AND EXISTS (SELECT 1 FROM cod_ledger o
				 WHERE o.kind = 'collection' AND o.order_id = l.order_id
				   AND o.station_id = l.station_id AND o.courier_id = l.courier_id
				   AND o.day = l.day AND o.id < h.id)
		  ORDER BY l.id LOOP
		CONTINUE WHEN NOT EXISTS (SELECT 1 FROM cod_settlements
					   WHERE id = c.sid AND status = 'open');
		v_reason := 'correction ' || c.id || ' recorded against ' || c.sid
			    || ', whose hand-over counted its order: ' || c.reason;
		INSERT INTO cod_ledger (kind, station_id, courier_id, day, order_id, amount_fen,
					reason, at)
		VALUES ('correction', c.station_id, c.courier_id, c.day, c.order_id, -c.amount_fen,
			v_reason, now());
		INSERT INTO cod_ledger (kind, station_id, courier_id, day, order_id, settlement_id,
					amount_fen, reason, at)
		VALUES ('correction', c.station_id, c.courier_id, c.day, c.order_id, c.sid,
			c.amount_fen, v_reason, now())
		RETURNING id INTO v_id;
		SELECT t.handed_fen - t.expected_fen,
		       t.handed_fen - t.expected_fen
		       - coalesce((SELECT sum(l.amount_fen) FROM cod_ledger l
				    WHERE l.settlement_id = t.id AND l.kind = 'correction'), 0)
		  INTO v_diff, v_open
		  FROM cod_settlements t WHERE t.id = c.sid;
		CONTINUE WHEN v_open <> 0;
		v_reason := 'balanced by correction ' || v_id || ': ' || c.reason;
		INSERT INTO cod_ledger (kind, station_id, courier_id, day, settlement_id, amount_fen,
					reason, correction_id, at)
		VALUES ('resolution', c.station_id, c.courier_id, c.day, c.sid, 0, v_reason, v_id,
			now());
		UPDATE cod_settlements SET status = 'resolved', resolved_at = now(),
					   resolution = v_reason
		 WHERE id = c.sid;
		IF v_feed THEN
			PERFORM station_feed_add(c.station_id, 'cod.discrepancy', jsonb_build_object(
				'settlement', c.sid, 'courier', c.courier_id,
				'day', to_char(c.day, 'YYYY-MM-DD'),
				'difference', money_text(v_diff), 'difference_fen', v_diff,
				'status', 'resolved', 'reason', v_reason, 'correction', v_id));
		END IF;
	END LOOP;
	IF NOT v_feed THEN
		IF EXISTS (SELECT 1 FROM cod_settlements
			    WHERE carried_into IS NOT NULL AND resolved_by IS NULL) THEN
			RAISE NOTICE '039: station_feed_add missing, no feed lines for settlements '
				     'closed by 038';
		END IF;
		RETURN;
	END IF;
	FOR c IN SELECT t.* FROM cod_settlements t
		  WHERE t.carried_into IS NOT NULL AND t.resolved_by IS NULL
		    AND NOT EXISTS (SELECT 1 FROM station_feed f
				     WHERE f.station_id = t.station_id AND f.kind = 'cod.discrepancy'
				       AND f.data->>'settlement' = t.id
				       AND f.data->>'status' = 'resolved')
		  ORDER BY t.station_id, t.seq LOOP
		PERFORM station_feed_add(c.station_id, 'cod.discrepancy', jsonb_build_object(
			'settlement', c.id, 'courier', c.courier_id, 'day', to_char(c.day, 'YYYY-MM-DD'),
			'difference', money_text(c.handed_fen - c.expected_fen),
			'difference_fen', c.handed_fen - c.expected_fen, 'status', 'resolved',
			'reason', c.resolution, 'carried_into', c.carried_into));
	END LOOP;
END
$mig$;
