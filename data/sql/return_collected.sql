-- return_collected: the courier has the return's items (stop_event: picked_up
-- on its pickup stop, or delivered on its exchange stop), in the stop
-- event's transaction, after its stop lock (stop_event's lock order: the
-- return row comes after the stop). A return still requested becomes
-- picked_up, with the order event return.picked_up {return, lines, courier,
-- courier_name, stop}; under the at_pickup refund policy the refund is due
-- now (when there is one: an exchange may refund nothing): return.refund_due
-- {return, amount, amount_fen, currency, policy}.
-- p_detail is the stop event's {courier, stop, courier_name}. Returns the
-- return's new status (unchanged when it was not requested).
CREATE OR REPLACE FUNCTION return_collected(p_return text, p_now timestamptz, p_detail jsonb)
RETURNS text LANGUAGE plpgsql AS $fn$
DECLARE
	r returns;
BEGIN
	SELECT * INTO r FROM returns WHERE id = p_return FOR UPDATE;
	IF NOT FOUND OR r.status <> 'requested' THEN
		RETURN r.status;
	END IF;
	UPDATE returns SET status = 'picked_up', picked_up_at = p_now, updated_at = p_now,
		refund_due_at = CASE WHEN r.refund_policy = 'at_pickup' AND r.refund_fen > 0
				     THEN p_now END
	 WHERE id = p_return;
	INSERT INTO order_events (order_id, kind, at, detail)
	VALUES (r.order_id, 'return.picked_up', p_now, p_detail || jsonb_build_object(
		'return', p_return,
		'lines', (SELECT jsonb_agg(jsonb_build_object('line', line_no, 'sku', sku, 'qty', qty)
					   ORDER BY line_no)
			    FROM return_lines WHERE return_id = p_return)));
	IF r.refund_policy = 'at_pickup' AND r.refund_fen > 0 THEN
		INSERT INTO order_events (order_id, kind, at, detail)
		VALUES (r.order_id, 'return.refund_due', p_now, jsonb_build_object(
			'return', p_return, 'amount', money_text(r.refund_fen),
			'amount_fen', r.refund_fen, 'currency', 'CNY', 'policy', 'at_pickup'));
	END IF;
	RETURN 'picked_up';
END
$fn$;
