-- pgTAP: intake_commit (data/sql/intake_commit.sql), the group commit of a
-- batch of orders: the happy path, never overselling (alone or within a
-- batch), idempotent replay, a reused key, check-only entries, a taken
-- external id, and station capacity (set-wise and order by order).
BEGIN;
\ir fixtures.psql
SELECT plan(48);

-- 1. One order with stock: committed, its stock reserved, its rows written.
INSERT INTO got SELECT 'happy', intake_commit(jsonb_build_array(
	pg_temp.entry('k1', '[{"w": "W1", "sku": "A", "qty": 3}]')));
SELECT is(pg_temp.outcomes(v), '{ok}', 'an order with stock is committed') FROM got WHERE step = 'happy';
SELECT is(v->0->'stock', '[{"w": "W1", "sku": "A", "qty": 3, "available": 7}]'::jsonb,
	  'the result names the reserved row and its new availability')
  FROM got WHERE step = 'happy';
SELECT is(pg_temp.level('W1', 'A'), '10/3/7', 'on hand 10, reserved 3, available 7');
SELECT is((SELECT status FROM orders WHERE id = 'O-k1'), 'allocated', 'the order is allocated');
SELECT is((SELECT count(*)::integer FROM order_lines WHERE order_id = 'O-k1'), 1, 'one line');
SELECT is((SELECT count(*)::integer FROM shipments WHERE order_id = 'O-k1'), 1, 'one shipment');
SELECT is((SELECT array_agg(kind ORDER BY id) FROM order_events WHERE order_id = 'O-k1'),
	  '{created,allocated}', 'its first events: created, then allocated per shipment');
SELECT is((SELECT response FROM idempotency_keys WHERE scope = 'orders' AND key = 'k1'),
	  '{"id": "O-k1"}', 'the key keeps the response for replays');

-- 2. Not enough of one line: nothing kept, the other line given back.
INSERT INTO got SELECT 'short', intake_commit(jsonb_build_array(
	pg_temp.entry('k2', '[{"w": "W1", "sku": "A", "qty": 2}, {"w": "W1", "sku": "B", "qty": 2}]')));
SELECT is(pg_temp.outcomes(v), '{no_stock}', 'an order short of one line is refused')
  FROM got WHERE step = 'short';
SELECT is(pg_temp.level('W1', 'A'), '10/3/7', 'the line it could take is given back');
SELECT is(pg_temp.level('W1', 'B'), '1/0/1', 'the short line is untouched');
SELECT ok(NOT EXISTS (SELECT 1 FROM orders WHERE id = 'O-k2'), 'no order');
SELECT ok(NOT EXISTS (SELECT 1 FROM idempotency_keys WHERE key = 'k2'), 'and no key: a retry may succeed');
SELECT ok((SELECT v->0->'stock' @> '[{"w": "W1", "sku": "B", "available": 1}]' FROM got
	    WHERE step = 'short'), 'the result carries the fresh levels to re-plan on');

-- 3. Never oversell within a batch: 7 left, three orders of 3.
INSERT INTO got SELECT 'race', intake_commit(jsonb_build_array(
	pg_temp.entry('k3a', '[{"w": "W1", "sku": "A", "qty": 3}]'),
	pg_temp.entry('k3b', '[{"w": "W1", "sku": "A", "qty": 3}]'),
	pg_temp.entry('k3c', '[{"w": "W1", "sku": "A", "qty": 3}]')));
SELECT is(pg_temp.outcomes(v), '{ok,ok,no_stock}', 'two fit, the third is refused alone')
  FROM got WHERE step = 'race';
SELECT is(pg_temp.level('W1', 'A'), '10/9/1', 'reserved 9 of 10: never oversold');
SELECT is((SELECT sum(l.qty)::integer FROM order_lines l JOIN orders o ON o.id = l.order_id
	    WHERE l.sku = 'A' AND o.status = 'allocated'), 9, 'reserved equals the order lines');

-- 4. The same key and body again: the stored answer, nothing new.
INSERT INTO got SELECT 'replay', intake_commit(jsonb_build_array(
	pg_temp.entry('k1', '[{"w": "W1", "sku": "A", "qty": 3}]', p_id => 'O-k1-again')));
SELECT is(pg_temp.outcomes(v), '{replay}', 'a replayed key is answered from its record')
  FROM got WHERE step = 'replay';
SELECT is(v->0->>'status', '201', 'with the status first sent') FROM got WHERE step = 'replay';
SELECT is(v->0->>'response', '{"id": "O-k1"}', 'and the body first sent') FROM got WHERE step = 'replay';
SELECT is(pg_temp.level('W1', 'A'), '10/9/1', 'a replay reserves nothing');
SELECT ok(NOT EXISTS (SELECT 1 FROM orders WHERE id = 'O-k1-again'), 'a replay creates no order');

-- 5. The same key with another body.
INSERT INTO got SELECT 'mismatch', intake_commit(jsonb_build_array(
	pg_temp.entry('k1', '[{"w": "W1", "sku": "A", "qty": 1}]', p_body => 'another body',
		      p_id => 'O-k1-other')));
SELECT is(pg_temp.outcomes(v), '{mismatch}', 'a key reused with another body is a mismatch')
  FROM got WHERE step = 'mismatch';
SELECT is(pg_temp.level('W1', 'A'), '10/9/1', 'a mismatch reserves nothing');

-- 6. Check-only entries (the daemon found no stock): look the key up only.
INSERT INTO got SELECT 'check', intake_commit(jsonb_build_array(
	pg_temp.entry('k-unknown', '[{"w": "W1", "sku": "A", "qty": 1}]', p_chk => true),
	pg_temp.entry('k1', '[{"w": "W1", "sku": "A", "qty": 3}]', p_chk => true,
		      p_id => 'O-k1-chk')));
SELECT is(pg_temp.outcomes(v), '{absent,replay}', 'check-only: absent, or the replay')
  FROM got WHERE step = 'check';
SELECT ok(NOT EXISTS (SELECT 1 FROM idempotency_keys WHERE key = 'k-unknown'),
	  'a check-only entry claims no key');

-- 7. An external id that belongs to another order: its stock given back.
INSERT INTO got SELECT 'dup', intake_commit(jsonb_build_array(
	pg_temp.entry('k4', '[{"w": "W2", "sku": "A", "qty": 2}]', p_ext => 'EXT-k1')));
SELECT is(pg_temp.outcomes(v), '{duplicate}', 'a taken external id is a duplicate')
  FROM got WHERE step = 'dup';
SELECT is(v->0->>'order_id', 'O-k1', 'naming the order that has it') FROM got WHERE step = 'dup';
SELECT is(pg_temp.level('W2', 'A'), '5/0/5', 'the duplicate keeps no stock');
SELECT ok(NOT EXISTS (SELECT 1 FROM idempotency_keys WHERE key = 'k4'), 'nor its key');

-- 8. Two warehouses: one shipment each.
INSERT INTO got SELECT 'split', intake_commit(jsonb_build_array(
	pg_temp.entry('k5', '[{"w": "W1", "sku": "B", "qty": 1}, {"w": "W2", "sku": "A", "qty": 1}]')));
SELECT is(pg_temp.outcomes(v), '{ok}', 'an order over two warehouses is committed')
  FROM got WHERE step = 'split';
SELECT is((SELECT array_agg(warehouse_id ORDER BY seq) FROM shipments WHERE order_id = 'O-k5'),
	  '{W1,W2}', 'one shipment per warehouse');
SELECT is((SELECT count(*)::integer FROM order_events WHERE order_id = 'O-k5'), 3,
	  'created, and allocated per shipment');

-- 9. Capacity with room for all: booked set-wise.
UPDATE stock SET on_hand = 100, available = 100 - reserved WHERE warehouse_id = 'W2' AND sku = 'A';
INSERT INTO got SELECT 'room', intake_commit(jsonb_build_array(
	pg_temp.entry('c1', '[{"w": "W2", "sku": "A", "qty": 1}]',
		      '[{"st": "ST1", "k": "20261123-W0900", "c": 3}]'),
	pg_temp.entry('c2', '[{"w": "W2", "sku": "A", "qty": 1}]',
		      '[{"st": "ST1", "k": "20261123-W0900", "c": 3}]')));
SELECT is(pg_temp.outcomes(v), '{ok,ok}', 'a counter with room books every order')
  FROM got WHERE step = 'room';
SELECT is((SELECT booked || '/' || capacity FROM capacity_counters
	    WHERE station_id = 'ST1' AND counter_key = '20261123-W0900'), '2/3', 'booked 2 of 3');
SELECT is((SELECT count(*)::integer FROM order_capacity WHERE order_id IN ('O-c1', 'O-c2')), 2,
	  'each order records the counter it holds');

-- 10. Capacity short for some: order by order, the ones that miss undone alone.
INSERT INTO got SELECT 'full', intake_commit(jsonb_build_array(
	pg_temp.entry('c3', '[{"w": "W2", "sku": "A", "qty": 1}]',
		      '[{"st": "ST1", "k": "20261123-W0900", "c": 3}]'),
	pg_temp.entry('c4', '[{"w": "W2", "sku": "A", "qty": 1}]',
		      '[{"st": "ST1", "k": "20261123-S1100", "c": 5}, {"st": "ST1", "k": "20261123-W0900", "c": 3}]'),
	pg_temp.entry('c5', '[{"w": "W2", "sku": "A", "qty": 1}]')));
SELECT is(pg_temp.outcomes(v), '{ok,capacity_full,ok}',
	  'the order that finds the counter full is refused; the others are not')
  FROM got WHERE step = 'full';
SELECT is(v->1->'counter', '{"st": "ST1", "k": "20261123-W0900", "c": 3}'::jsonb,
	  'capacity_full names the counter') FROM got WHERE step = 'full';
SELECT is((SELECT booked FROM capacity_counters WHERE counter_key = '20261123-W0900'), 3,
	  'the counter is full, never over');
SELECT is((SELECT booked FROM capacity_counters WHERE counter_key = '20261123-S1100'), 0,
	  'the refused order gives back the place it had taken on its other counter');
SELECT is(pg_temp.level('W2', 'A'), '100/5/95', 'and its stock (k5, c1, c2, c3, c5 hold one each)');
SELECT ok(NOT EXISTS (SELECT 1 FROM orders WHERE id = 'O-c4'), 'no order for it');
SELECT ok(NOT EXISTS (SELECT 1 FROM idempotency_keys WHERE key = 'c4'), 'nor its key');

-- 11. A capacity lowered below what is booked: full, nobody un-booked.
INSERT INTO got SELECT 'lowered', intake_commit(jsonb_build_array(
	pg_temp.entry('c6', '[{"w": "W2", "sku": "A", "qty": 1}]',
		      '[{"st": "ST1", "k": "20261123-W0900", "c": 1}]')));
SELECT is(pg_temp.outcomes(v), '{capacity_full}', 'a lowered capacity makes the counter full')
  FROM got WHERE step = 'lowered';
SELECT is((SELECT booked FROM capacity_counters WHERE counter_key = '20261123-W0900'), 3,
	  'and un-books nobody');

-- 12. The backstop: the table refuses a negative availability whatever the caller.
SELECT throws_ok($$UPDATE stock SET available = -1, reserved = on_hand + 1
		  WHERE warehouse_id = 'W1' AND sku = 'A'$$, '23514', NULL,
		 'stock can never go below zero');
SELECT throws_ok($$UPDATE capacity_counters SET booked = capacity + 1$$, '23514', NULL,
		 'a counter can never be booked over its capacity');
SELECT is((SELECT sum(reserved)::integer FROM stock),
	  (SELECT sum(l.qty)::integer FROM order_lines l JOIN orders o ON o.id = l.order_id
	    WHERE o.status = 'allocated'),
	  'every reserved unit is an order line, and every order line is reserved');

SELECT * FROM finish();
ROLLBACK;
