-- pgTAP: exchange_create (data/sql/exchange_create.sql): an exchange of two
-- lines whose second replacement has no stock undoes the first line's
-- reservation and keeps nothing (not the key); the same request once
-- there is stock reserves both lines, one shipment per warehouse, and a
-- replay answers the stored text without writing.
BEGIN;
\ir fixtures.psql
SELECT plan(14);

INSERT INTO skus (sku, name, category, weight_g, volume_ml, price_milli) VALUES
	('C', 'Item C', 'test', 100, 100, 50000);
-- The original order: 2 A and the one C there is (W2 holds it reserved:
-- its departure is not part of this test), so C is out of stock everywhere.
DO $$ BEGIN PERFORM stock_set('W2', 'C', 1, 'fixture'); END $$;
INSERT INTO got SELECT 'orders', intake_commit(jsonb_build_array(
	pg_temp.entry('k1', '[{"w": "W2", "sku": "A", "qty": 2},
			      {"w": "W2", "sku": "C", "qty": 1}]')));
SELECT is((SELECT count(*)::integer FROM order_lines WHERE order_id = 'O-k1'), 2,
	  'the original order has two lines');
-- Delivered (as the stop event would make it).
UPDATE shipments SET status = 'delivered' WHERE order_id = 'O-k1';
INSERT INTO order_events (order_id, shipment_seq, kind, at)
VALUES ('O-k1', 1, 'delivered', '2026-11-24T01:00:00Z');

CREATE FUNCTION pg_temp.req(p_lines jsonb) RETURNS jsonb LANGUAGE sql AS $$
	SELECT jsonb_build_object('lines', p_lines, 'reason', 'no_reason', 'notes', '',
		'wave', '20261125-W0900', 'window_start', '2026-11-25T09:00:00+08:00',
		'window_end', '2026-11-25T13:00:00+08:00')
$$;
CREATE FUNCTION pg_temp.pol() RETURNS jsonb LANGUAGE sql AS $$
	SELECT '{"default": {"window_days": 7, "defect_window_days": 15,
			     "quick_refund_max_fen": 20000}, "categories": {}}'::jsonb
$$;
CREATE FUNCTION pg_temp.counts() RETURNS text LANGUAGE sql AS $$
	SELECT (SELECT count(*) FROM orders) || '/' || (SELECT count(*) FROM returns) || '/' ||
	       (SELECT count(*) FROM stops) || '/' || (SELECT count(*) FROM order_events) || '/' ||
	       (SELECT count(*) FROM idempotency_keys WHERE scope = 'exchanges') || '/' ||
	       (SELECT count(*) FROM station_feed)
$$;
INSERT INTO got VALUES ('before', to_jsonb(pg_temp.counts()));

-- 1. Line 1 (A) has stock, line 2 (C) has none anywhere: nothing is kept.
INSERT INTO got SELECT 'refused', exchange_create('O-k1', 'R-1', 'x1', 'body one',
	pg_temp.req('[{"line": 1, "qty": 2, "replacement_sku": null},
		      {"line": 2, "qty": 1, "replacement_sku": null}]'),
	'2026-11-24T02:00:00Z', pg_temp.pol(), 'tok_test');
SELECT is(v, '{"r": "out_of_stock", "line": 2, "sku": "C", "qty": 1, "available": 0}'::jsonb,
	  'the second line is out of stock') FROM got WHERE step = 'refused';
SELECT is(pg_temp.level('W2', 'A'), '5/2/3', 'the first line''s reservation is undone');
SELECT is(to_jsonb(pg_temp.counts()), v, 'no order, return, stop, event, key or feed line kept')
  FROM got WHERE step = 'before';

-- 2. Stock of C in W1 only: line 1 from the original's W2, line 2 from W1.
DO $$ BEGIN PERFORM stock_set('W1', 'C', 1, 'fixture'); END $$;
INSERT INTO got SELECT 'made', exchange_create('O-k1', 'R-1', 'x1', 'body one',
	pg_temp.req('[{"line": 1, "qty": 2, "replacement_sku": null},
		      {"line": 2, "qty": 1, "replacement_sku": null}]'),
	'2026-11-24T02:00:00Z', pg_temp.pol(), 'tok_test');
SELECT is(v->>'r', 'ok', 'the same key succeeds once there is stock') FROM got WHERE step = 'made';
SELECT is(pg_temp.level('W2', 'A'), '5/4/1', 'A reserved in the original''s warehouse');
SELECT is(pg_temp.level('W1', 'C'), '1/1/0', 'C reserved where there is some');
SELECT is((SELECT string_agg(seq || ':' || warehouse_id, ',' ORDER BY seq) FROM shipments
	    WHERE order_id = 'R-1'), '1:W1,2:W2', 'one shipment per warehouse');
SELECT is((SELECT string_agg(line_no || ':' || sku || ':' || shipment_seq, ',' ORDER BY line_no)
	     FROM order_lines WHERE order_id = 'R-1'), '1:A:2,2:C:1',
	  'the lines in their shipments');
SELECT is(v->'stock', '[{"w": "W2", "sku": "A", "available": 1},
			{"w": "W1", "sku": "C", "available": 0}]'::jsonb,
	  'the new levels for the stock hints') FROM got WHERE step = 'made';
SELECT is((SELECT external_id FROM orders WHERE id = 'R-1'), 'EXT-k1/X1', 'the external id');
SELECT is((SELECT kind || ':' || order_id || ':' || return_id FROM stops WHERE order_id = 'R-1'),
	  'exchange:R-1:' || (SELECT id FROM returns WHERE exchange_order_id = 'R-1'),
	  'one exchange stop carrying both');

-- 3. A replay answers the stored text and writes nothing.
INSERT INTO got VALUES ('after', to_jsonb(pg_temp.counts()));
INSERT INTO got SELECT 'replay', exchange_create('O-k1', 'R-2', 'x1', 'body one',
	pg_temp.req('[]'), '2026-11-24T03:00:00Z', pg_temp.pol(), 'tok_test');
SELECT is(r.v->>'response', m.v->>'response', 'the replay is the first answer')
  FROM got r, got m WHERE r.step = 'replay' AND m.step = 'made';
SELECT is(to_jsonb(pg_temp.counts()), v, 'and writes nothing') FROM got WHERE step = 'after';

SELECT * FROM finish();
ROLLBACK;
