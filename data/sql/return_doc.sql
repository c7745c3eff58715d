-- return_doc: the document of one return or exchange (GET /v1/returns/{id},
-- docs/api.md "Returns"; tracking's returns list), NULL when unknown.
--   p_public  true: the tracking code's public view (no order, stop or
--             courier ids, no notes, no token ids)
-- {id, kind, status, reason, lines: [{line, sku, qty, refund, refund_fen,
--  result, result_reason}], pickup: {wave, window_start, window_end,
--  attempt, status[, stop]}, refund: {amount, amount_fen, currency, policy,
--  due_at}, station, created_at, picked_up_at, received_at, inspected_at
--  [, order, exchange_order, warehouse, notes]}. Times are UTC RFC 3339.
-- plpgsql so that money_text may be created after this file.
CREATE OR REPLACE FUNCTION return_doc(p_return text, p_public boolean)
RETURNS jsonb LANGUAGE plpgsql STABLE AS $fn$
DECLARE
	r returns;
	s record;
	doc jsonb;
BEGIN
	SELECT * INTO r FROM returns WHERE id = p_return;
	IF NOT FOUND THEN
		RETURN NULL;
	END IF;
	SELECT id, wave_key, window_start, window_end, attempt, status INTO s FROM stops
	 WHERE return_id = p_return ORDER BY attempt DESC LIMIT 1;
	doc := jsonb_build_object(
		'id', r.id, 'kind', r.kind, 'status', r.status, 'reason', r.reason,
		'station', r.station_id,
		'lines', (SELECT coalesce(jsonb_agg(jsonb_strip_nulls(jsonb_build_object(
				'line', l.line_no, 'sku', l.sku, 'qty', l.qty,
				'replacement_sku', l.replacement_sku,
				'refund', money_text(l.qty * l.unit_price_fen),
				'refund_fen', l.qty * l.unit_price_fen,
				'result', l.result,
				'result_reason', l.result_reason)) ORDER BY l.line_no), '[]'::jsonb)
			    FROM return_lines l WHERE l.return_id = r.id),
		'pickup', jsonb_build_object(
			'wave', coalesce(s.wave_key, r.wave_key),
			'window_start', to_char(coalesce(s.window_start, r.window_start)
						AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
			'window_end', to_char(coalesce(s.window_end, r.window_end)
					      AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
			'attempt', s.attempt, 'status', s.status),
		'refund', jsonb_build_object(
			'amount', money_text(r.refund_fen), 'amount_fen', r.refund_fen,
			'currency', 'CNY', 'policy', r.refund_policy,
			'due_at', to_char(r.refund_due_at AT TIME ZONE 'UTC',
					  'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')),
		'created_at', to_char(r.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
		'picked_up_at', to_char(r.picked_up_at AT TIME ZONE 'UTC',
					'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
		'received_at', to_char(r.received_at AT TIME ZONE 'UTC',
				       'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
		'inspected_at', to_char(r.inspected_at AT TIME ZONE 'UTC',
					'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'));
	IF NOT p_public THEN
		doc := doc || jsonb_build_object('order', r.order_id,
			'exchange_order', r.exchange_order_id, 'warehouse', r.warehouse_id,
			'notes', r.notes, 'requested_by', r.requested_by);
		doc := jsonb_set(doc, '{pickup,stop}', coalesce(to_jsonb(s.id), 'null'::jsonb));
	END IF;
	RETURN doc;
END
$fn$;
