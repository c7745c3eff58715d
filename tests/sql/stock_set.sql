-- pgTAP: stock_set (data/sql/stock_set.sql): on-hand counts move
-- availability by the delta, never below what is reserved.
BEGIN;
\ir fixtures.psql
SELECT plan(12);

SELECT is(stock_set('W2', 'B', 7)->>'r', 'ok', 'a new row is created');
SELECT is(pg_temp.level('W2', 'B'), '7/0/7', 'with on hand = available');
SELECT is(stock_set('W9', 'A', 1), '{"r": "no_warehouse"}'::jsonb, 'an unknown warehouse is refused');
SELECT is(stock_set('W1', 'Z', 1), '{"r": "no_sku"}'::jsonb, 'an unknown SKU is refused');
SELECT ok(NOT EXISTS (SELECT 1 FROM stock WHERE sku = 'Z' OR warehouse_id = 'W9'), 'and writes nothing');

-- With 3 reserved by an order.
SELECT is(pg_temp.outcomes(intake_commit(jsonb_build_array(
	pg_temp.entry('k1', '[{"w": "W1", "sku": "A", "qty": 3}]')))), '{ok}', 'an order reserves 3');
SELECT is(stock_set('W1', 'A', 5)->'stock'->>'available', '2', 'on hand 5 leaves 2 available');
SELECT is(pg_temp.level('W1', 'A'), '5/3/2', 'the reservation is kept');
SELECT is(stock_set('W1', 'A', 3)->'stock'->>'available', '0', 'on hand = reserved leaves 0');
INSERT INTO got SELECT 'below', stock_set('W1', 'A', 2);
SELECT is(v->>'r', 'below_reserved', 'on hand below reserved is refused') FROM got WHERE step = 'below';
SELECT is(pg_temp.level('W1', 'A'), '3/3/0', 'and changes nothing');
SELECT throws_ok($$SELECT stock_set('W2', 'B', -1)$$, '23514', NULL, 'a negative count is refused');

SELECT * FROM finish();
ROLLBACK;
