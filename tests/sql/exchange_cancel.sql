-- pgTAP: cancelling an exchange's replacement order (intake_cancel, while
-- none of its shipments has left) calls the exchange off: its return is
-- cancelled (return.cancelled on the original order's timeline) and its
-- exchange stop too, so no courier is sent and the lines may be returned
-- or exchanged again; a plain return of the same order is untouched.
BEGIN;
\ir fixtures.psql
SELECT plan(8);

INSERT INTO got SELECT 'orders', intake_commit(jsonb_build_array(
	pg_temp.entry('k1', '[{"w": "W2", "sku": "A", "qty": 2}]')));
UPDATE shipments SET status = 'delivered' WHERE order_id = 'O-k1';
UPDATE orders SET status = 'delivered' WHERE id = 'O-k1';
INSERT INTO order_events (order_id, shipment_seq, kind, at)
VALUES ('O-k1', 1, 'delivered', '2026-11-24T01:00:00Z');

CREATE FUNCTION pg_temp.req(p_qty integer) RETURNS jsonb LANGUAGE sql AS $$
	SELECT jsonb_build_object('lines', jsonb_build_array(jsonb_build_object('line', 1,
		'qty', p_qty, 'replacement_sku', NULL)), 'reason', 'no_reason', 'notes', '',
		'wave', '20261125-W0900', 'window_start', '2026-11-25T09:00:00+08:00',
		'window_end', '2026-11-25T13:00:00+08:00')
$$;
CREATE FUNCTION pg_temp.pol() RETURNS jsonb LANGUAGE sql AS $$
	SELECT '{"default": {"window_days": 7, "defect_window_days": 15,
			     "quick_refund_max_fen": 20000}, "categories": {}}'::jsonb
$$;

-- A return of one A, and an exchange of the other.
INSERT INTO got SELECT 'return', return_request('O-k1',
	'{"lines": [{"line": 1, "qty": 1}], "reason": "no_reason", "notes": "",
	  "pickup_wave": "20261125-W0900"}', NULL, pg_temp.pol(),
	'[{"key": "20261125-W0900", "start": "2026-11-25T09:00:00+08:00",
	   "end": "2026-11-25T13:00:00+08:00"}]', '2026-11-24T02:00:00Z', 'tok_test');
INSERT INTO got SELECT 'made', exchange_create('O-k1', 'R-1', 'x1', 'body one',
	pg_temp.req(1), '2026-11-24T02:00:00Z', pg_temp.pol(), 'tok_test');
SELECT is(v->>'r', 'ok', 'the exchange is made') FROM got WHERE step = 'made';

INSERT INTO got SELECT 'cancel', intake_cancel('R-1', 'customer changed their mind');
SELECT is(v->>'r', 'ok', 'the replacement is cancelled') FROM got WHERE step = 'cancel';
SELECT is((SELECT status FROM returns WHERE exchange_order_id = 'R-1'), 'cancelled',
	  'the exchange''s return is cancelled with it');
SELECT is((SELECT status FROM stops WHERE order_id = 'R-1' AND kind = 'exchange'), 'cancelled',
	  'and its exchange stop: no courier goes to collect');
SELECT is((SELECT count(*)::integer FROM order_events
	    WHERE order_id = 'O-k1' AND kind = 'return.cancelled'
	      AND detail->>'return' = (SELECT id FROM returns WHERE exchange_order_id = 'R-1')),
	  1, 'return.cancelled on the original order''s timeline');
SELECT is((SELECT aftersales_return_line(kind, detail, true)->>'text' FROM order_events
	    WHERE order_id = 'O-k1' AND kind = 'return.cancelled'),
	  'The exchange was called off: its replacement order was cancelled',
	  'the timeline says why');
SELECT is((SELECT status FROM returns WHERE kind = 'return' AND order_id = 'O-k1'), 'requested',
	  'the plain return of the same order is untouched');
-- The line is free again: the exchanged unit may be exchanged once more.
INSERT INTO got SELECT 'again', exchange_create('O-k1', 'R-2', 'x2', 'body two',
	pg_temp.req(1), '2026-11-24T03:00:00Z', pg_temp.pol(), 'tok_test');
SELECT is(v->>'r', 'ok', 'the line can be exchanged again') FROM got WHERE step = 'again';

SELECT * FROM finish();
ROLLBACK;
