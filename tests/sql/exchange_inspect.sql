-- pgTAP: the inspection of an exchange under the after_inspection policy
-- (return_inspect): as for a return, the refund due is that of the passed
-- lines only (each line's per-unit price difference, return_lines
-- .unit_price_fen), never the difference of a line that failed.
BEGIN;
\ir fixtures.psql
SELECT plan(4);

INSERT INTO skus (sku, name, category, weight_g, volume_ml, price_milli) VALUES
	('P', 'Item P', 'test', 100, 100, 100000),
	('P2', 'Item P2', 'test', 100, 100, 100000),
	('Q', 'Item Q', 'test', 100, 100, 60000);
DO $$ BEGIN
	PERFORM stock_set('W2', 'P', 1, 'fixture'), stock_set('W2', 'P2', 1, 'fixture'),
		stock_set('W2', 'Q', 5, 'fixture');
END $$;
INSERT INTO got SELECT 'orders', intake_commit(jsonb_build_array(
	pg_temp.entry('k1', '[{"w": "W2", "sku": "P", "qty": 1},
			      {"w": "W2", "sku": "P2", "qty": 1}]')));
UPDATE shipments SET status = 'delivered' WHERE order_id = 'O-k1';
UPDATE orders SET status = 'delivered' WHERE id = 'O-k1';
INSERT INTO order_events (order_id, shipment_seq, kind, at)
VALUES ('O-k1', 1, 'delivered', '2026-11-24T01:00:00Z');

-- Both lines exchanged for the cheaper Q: 40.00 back per line, 80.00 in
-- all, above quick_refund_max (0): after inspection.
INSERT INTO got SELECT 'made', exchange_create('O-k1', 'R-1', 'x1', 'body one',
	'{"lines": [{"line": 1, "qty": 1, "replacement_sku": "Q"},
		    {"line": 2, "qty": 1, "replacement_sku": "Q"}], "reason": "no_reason",
	  "notes": "", "wave": "20261125-W0900", "window_start": "2026-11-25T09:00:00+08:00",
	  "window_end": "2026-11-25T13:00:00+08:00"}', '2026-11-24T02:00:00Z',
	'{"default": {"window_days": 7, "defect_window_days": 15,
		      "quick_refund_max_fen": 0}, "categories": {}}', 'tok_test');
SELECT is((SELECT refund_fen || ':' || refund_policy FROM returns WHERE exchange_order_id = 'R-1'),
	  '8000:after_inspection', 'the exchange refunds 80.00 after inspection');

-- Collected and back at the warehouse; line 1 passes, line 2 fails.
UPDATE returns SET status = 'received' WHERE exchange_order_id = 'R-1';
INSERT INTO got SELECT 'inspected', return_inspect(
	(SELECT id FROM returns WHERE exchange_order_id = 'R-1'),
	'[{"line": 1, "result": "passed", "reason": ""},
	  {"line": 2, "result": "failed", "reason": "scratched"}]',
	'admin', '{}', 'tok_w', '2026-11-26T02:00:00Z');
SELECT is(v->>'r', 'ok', 'inspected') FROM got WHERE step = 'inspected';
SELECT is((SELECT detail->>'amount_fen' FROM order_events
	    WHERE order_id = 'O-k1' AND kind = 'return.refund_due'), '4000',
	  'the refund due is the passed line''s difference only');
SELECT is((SELECT refund_fen FROM returns WHERE exchange_order_id = 'R-1'), 4000::bigint,
	  'and the return says so');

SELECT * FROM finish();
ROLLBACK;
