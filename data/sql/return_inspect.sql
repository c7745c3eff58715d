-- return_inspect: POST /v1/returns/{id}/inspection (docs/api.md, "Returns";
-- docs/warehouse.md, "Returns back into stock"), in one transaction: a
-- received return's lines are each passed or failed (with a reason), the
-- return becomes inspected, and each passed line goes back into available
-- stock of the return's warehouse: stock.on_hand + qty and available + qty
-- (reserved unchanged), with its stock_ledger row (actor p_actor, reason
-- 'return ret_…', old and new on_hand): stock never changes without its
-- ledger row. Order event return.inspected {return, lines, passed, failed};
-- under the after_inspection policy with passed lines, return.refund_due
-- {return, amount, amount_fen, currency, policy} for the passed lines only
-- (returns.refund_fen becomes that amount; an exchange's lines refund their
-- price difference the same way).
--   p_lines   [{"line", "result": "passed"|"failed", "reason"}] as
--             api/returns.c checked it (distinct lines)
-- Scope: a warehouse token only for its warehouses (else not found).
-- Returns {"r":"ok","return":doc} | {"r":"not_found"}
--   | {"r":"illegal","current":status} | {"r":"invalid","field","message"}.
-- Lock order: the order row (KEY SHARE), the return row, then the stock rows
-- in sku order (as intake takes several stock rows): an exchange of the same
-- order holds the order while it takes stock rows.
CREATE OR REPLACE FUNCTION return_inspect(p_return text, p_lines jsonb, p_role text,
					  p_scope text[], p_actor text, p_now timestamptz)
RETURNS jsonb LANGUAGE plpgsql AS $fn$
DECLARE
	r returns;
	l record;
	v_old integer;
	v_new integer;
	v_passed integer := 0;
	v_failed integer := 0;
	v_refund bigint := 0;
BEGIN
	-- The order first (KEY SHARE: what its events' foreign key takes anyway),
	-- as exchange_create holds it FOR UPDATE while it takes stock rows.
	PERFORM 1 FROM orders WHERE id = (SELECT order_id FROM returns WHERE id = p_return)
	   FOR KEY SHARE;
	SELECT * INTO r FROM returns WHERE id = p_return FOR UPDATE;
	IF NOT FOUND OR p_role = 'warehouse' AND NOT r.warehouse_id = ANY (p_scope) THEN
		RETURN jsonb_build_object('r', 'not_found');
	END IF;
	IF r.status <> 'received' THEN
		RETURN jsonb_build_object('r', 'illegal', 'current', r.status);
	END IF;
	FOR l IN SELECT x.v, x.ord - 1 AS i, rl.line_no
		   FROM jsonb_array_elements(p_lines) WITH ORDINALITY x(v, ord)
		   LEFT JOIN return_lines rl ON rl.return_id = p_return
					    AND rl.line_no = (x.v->>'line')::integer
		  ORDER BY x.ord LOOP
		IF l.line_no IS NULL THEN
			RETURN jsonb_build_object('r', 'invalid', 'field', 'lines[' || l.i || '].line',
				'message', 'the return has no line ' || (l.v->>'line'));
		END IF;
	END LOOP;
	SELECT rl.line_no INTO l FROM return_lines rl
	 WHERE rl.return_id = p_return AND NOT EXISTS (
		SELECT 1 FROM jsonb_array_elements(p_lines) x
		 WHERE (x->>'line')::integer = rl.line_no)
	 ORDER BY rl.line_no LIMIT 1;
	IF FOUND THEN
		RETURN jsonb_build_object('r', 'invalid', 'field', 'lines',
			'message', 'every line of the return needs a result; line '
				   || l.line_no || ' has none');
	END IF;

	FOR l IN SELECT rl.*, x->>'result' AS res, x->>'reason' AS why
		   FROM return_lines rl
		   JOIN jsonb_array_elements(p_lines) x ON (x->>'line')::integer = rl.line_no
		  WHERE rl.return_id = p_return
		  ORDER BY rl.sku, rl.line_no LOOP
		UPDATE return_lines SET result = l.res, result_reason = nullif(l.why, '')
		 WHERE return_id = p_return AND line_no = l.line_no;
		IF l.res = 'passed' THEN
			v_passed := v_passed + 1;
			v_refund := v_refund + l.qty * l.unit_price_fen;
			SELECT on_hand INTO v_old FROM stock
			 WHERE warehouse_id = r.warehouse_id AND sku = l.sku FOR UPDATE;
			INSERT INTO stock AS t (warehouse_id, sku, on_hand, reserved, available)
			VALUES (r.warehouse_id, l.sku, l.qty, 0, l.qty)
			ON CONFLICT (warehouse_id, sku) DO UPDATE
				SET on_hand = t.on_hand + excluded.on_hand,
				    available = t.available + excluded.available
			RETURNING on_hand INTO v_new;
			INSERT INTO stock_ledger (at, actor, warehouse_id, sku, old_on_hand, new_on_hand,
						  reason)
			VALUES (p_now, p_actor, r.warehouse_id, l.sku, v_old, v_new,
				'return ' || p_return);
		ELSE
			v_failed := v_failed + 1;
		END IF;
	END LOOP;

	-- Returns and exchanges alike (an exchange's lines keep their per-unit
	-- price difference, part P5): the passed lines' refund only; with every
	-- line passed, the refund fixed when requested (an exchange's was summed
	-- in milli before rounding to fen).
	IF v_failed = 0 THEN
		v_refund := r.refund_fen;
	END IF;
	UPDATE returns SET status = 'inspected', inspected_at = p_now, updated_at = p_now,
		refund_fen = CASE WHEN refund_policy = 'after_inspection'
				  THEN v_refund ELSE refund_fen END,
		refund_due_at = CASE WHEN refund_policy = 'after_inspection' AND v_refund > 0
				     THEN p_now ELSE refund_due_at END
	 WHERE id = p_return;
	INSERT INTO order_events (order_id, kind, at, detail)
	VALUES (r.order_id, 'return.inspected', p_now, jsonb_build_object(
		'return', p_return, 'by', p_actor, 'passed', v_passed, 'failed', v_failed,
		'lines', (SELECT jsonb_agg(jsonb_strip_nulls(jsonb_build_object('line', line_no,
				'sku', sku, 'qty', qty, 'result', result, 'reason', result_reason))
				ORDER BY line_no)
			    FROM return_lines WHERE return_id = p_return)));
	IF r.refund_policy = 'after_inspection' AND v_refund > 0 THEN
		INSERT INTO order_events (order_id, kind, at, detail)
		VALUES (r.order_id, 'return.refund_due', p_now, jsonb_build_object(
			'return', p_return, 'amount', money_text(v_refund), 'amount_fen', v_refund,
			'currency', 'CNY', 'policy', 'after_inspection'));
	END IF;
	RETURN jsonb_build_object('r', 'ok', 'return', return_doc(p_return, false));
END
$fn$;
