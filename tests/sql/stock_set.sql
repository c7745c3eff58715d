-- pgTAP: stock_set (data/sql/stock_set.sql): on-hand counts move
-- availability by the delta, never below what is reserved.
BEGIN;
\ir fixtures.psql
SELECT plan(16);

SELECT is(stock_set('W2', 'B', 7, 'tok_test')->>'r', 'ok', 'a new row is created');
SELECT is(pg_temp.level('W2', 'B'), '7/0/7', 'with on hand = available');
SELECT is(stock_set('W9', 'A', 1, 'tok_test'), '{"r": "no_warehouse"}'::jsonb, 'an unknown warehouse is refused');
SELECT is(stock_set('W1', 'Z', 1, 'tok_test'), '{"r": "no_sku"}'::jsonb, 'an unknown SKU is refused');
SELECT ok(NOT EXISTS (SELECT 1 FROM stock WHERE sku = 'Z' OR warehouse_id = 'W9'), 'and writes nothing');

-- With 3 reserved by an order.
SELECT is(pg_temp.outcomes(intake_commit(jsonb_build_array(
	pg_temp.entry('k1', '[{"w": "W1", "sku": "A", "qty": 3}]')))), '{ok}', 'an order reserves 3');
SELECT is(stock_set('W1', 'A', 5, 'tok_test')->'stock'->>'available', '2', 'on hand 5 leaves 2 available');
SELECT is(pg_temp.level('W1', 'A'), '5/3/2', 'the reservation is kept');
SELECT is(stock_set('W1', 'A', 3, 'tok_test')->'stock'->>'available', '0', 'on hand = reserved leaves 0');
INSERT INTO got SELECT 'below', stock_set('W1', 'A', 2, 'tok_test');
SELECT is(v->>'r', 'below_reserved', 'on hand below reserved is refused') FROM got WHERE step = 'below';
SELECT is(pg_temp.level('W1', 'A'), '3/3/0', 'and changes nothing');
SELECT throws_ok($$SELECT stock_set('W2', 'B', -1, 'tok_test')$$, '23514', NULL, 'a negative count is refused');

-- The ledger: one row per accepted change, with who, why, old and new.
SELECT is(stock_set('W2', 'B', 9, 'tok_0123456789abcdef', 'recount')->>'r', 'ok', 'a recount');
SELECT is((SELECT row(actor, old_on_hand, new_on_hand, reason)::text FROM stock_ledger
            WHERE warehouse_id = 'W2' AND sku = 'B' ORDER BY seq DESC LIMIT 1),
          '(tok_0123456789abcdef,7,9,recount)', 'is written to the ledger with who and why');
SELECT is((SELECT old_on_hand FROM stock_ledger WHERE warehouse_id = 'W2' AND sku = 'B'
            ORDER BY seq LIMIT 1), NULL, 'a new row has no old level');
SELECT is((SELECT count(*)::int FROM stock_ledger WHERE warehouse_id = 'W1' AND sku = 'A'
            AND new_on_hand = 2), 0, 'a refused change writes no ledger row');

SELECT * FROM finish();
ROLLBACK;
