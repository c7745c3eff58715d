-- pgTAP: intake_cancel (data/sql/intake_cancel.sql): a cancel gives the
-- stock and the station capacity back exactly once, appends its event, and
-- is refused once a shipment has left its warehouse.
BEGIN;
\ir fixtures.psql
SELECT plan(24);

INSERT INTO got SELECT 'orders', intake_commit(jsonb_build_array(
	pg_temp.entry('k1', '[{"w": "W1", "sku": "A", "qty": 4}, {"w": "W2", "sku": "A", "qty": 2}]',
		      '[{"st": "ST1", "k": "20261123-W0900", "c": 2}, {"st": "ST1", "k": "20261123-S0900", "c": 1}]'),
	pg_temp.entry('k2', '[{"w": "W1", "sku": "A", "qty": 1}]',
		      '[{"st": "ST1", "k": "20261123-W0900", "c": 2}]')));
SELECT is(pg_temp.outcomes(v), '{ok,ok}', 'two orders committed') FROM got WHERE step = 'orders';
SELECT is(pg_temp.level('W1', 'A'), '10/5/5', 'W1 holds 5 for them');
SELECT is((SELECT booked FROM capacity_counters WHERE counter_key = '20261123-W0900'), 2,
	  'the wave is full');

-- 1. Cancel: stock and capacity back, the order, shipments and event.
INSERT INTO got SELECT 'cancel', intake_cancel('O-k1', 'changed my mind');
SELECT is(v->>'r', 'ok', 'an allocated order is cancelled') FROM got WHERE step = 'cancel';
SELECT is(v->'stock', '[{"w": "W1", "sku": "A", "qty": 4, "available": 9},
			{"w": "W2", "sku": "A", "qty": 2, "available": 5}]'::jsonb,
	  'it names the released rows and their new availability') FROM got WHERE step = 'cancel';
SELECT is(v->'capacity', '[{"st": "ST1", "k": "20261123-S0900"}, {"st": "ST1", "k": "20261123-W0900"}]'::jsonb,
	  'and the counters given back') FROM got WHERE step = 'cancel';
SELECT is(pg_temp.level('W1', 'A'), '10/1/9', 'W1 stock given back');
SELECT is(pg_temp.level('W2', 'A'), '5/0/5', 'W2 stock given back');
SELECT is((SELECT booked FROM capacity_counters WHERE counter_key = '20261123-W0900'), 1,
	  'a place on the wave given back');
SELECT is((SELECT booked FROM capacity_counters WHERE counter_key = '20261123-S0900'), 0,
	  'the slot given back');
SELECT is(v->'order'->>'status', 'cancelled', 'the order document says cancelled')
  FROM got WHERE step = 'cancel';
SELECT is((SELECT array_agg(DISTINCT status) FROM shipments WHERE order_id = 'O-k1'), '{cancelled}',
	  'every shipment cancelled');
SELECT ok((SELECT cancelled_at IS NOT NULL FROM orders WHERE id = 'O-k1'), 'cancelled_at is set');
SELECT is((SELECT detail->>'reason' FROM order_events WHERE order_id = 'O-k1' AND kind = 'cancelled'),
	  'changed my mind', 'the cancelled event keeps the reason');
SELECT ok((SELECT bool_and(released) FROM order_capacity WHERE order_id = 'O-k1'),
	  'its capacity is marked released');

-- 2. Cancel again: nothing given back twice.
INSERT INTO got SELECT 'again', intake_cancel('O-k1', 'again');
SELECT is(v->>'r', 'ok', 'cancelling a cancelled order is ok') FROM got WHERE step = 'again';
SELECT is(v->'stock', '[]'::jsonb, 'and releases nothing') FROM got WHERE step = 'again';
SELECT is(pg_temp.level('W1', 'A'), '10/1/9', 'stock unchanged by the second cancel');
SELECT is((SELECT booked FROM capacity_counters WHERE counter_key = '20261123-W0900'), 1,
	  'capacity unchanged by the second cancel');
SELECT is((SELECT count(*)::integer FROM order_events WHERE order_id = 'O-k1' AND kind = 'cancelled'),
	  1, 'one cancelled event');

-- 3. Unknown, and shipped.
SELECT is(intake_cancel('O-nobody', 'x'), '{"r": "not_found"}'::jsonb, 'an unknown order is not_found');
UPDATE shipments SET status = 'departed_warehouse' WHERE order_id = 'O-k2';
SELECT is(intake_cancel('O-k2', 'too late'), '{"r": "shipped", "shipments": [1]}'::jsonb,
	  'an order whose shipment left is not cancelled');
SELECT is(pg_temp.level('W1', 'A'), '10/1/9', 'and keeps its reservation');

-- 4. What a cancel gave back can be ordered again.
INSERT INTO got SELECT 'reorder', intake_commit(jsonb_build_array(
	pg_temp.entry('k3', '[{"w": "W1", "sku": "A", "qty": 9}]',
		      '[{"st": "ST1", "k": "20261123-W0900", "c": 2}]')));
SELECT is(pg_temp.outcomes(v), '{ok}', 'the released stock and place are booked again')
  FROM got WHERE step = 'reorder';

SELECT * FROM finish();
ROLLBACK;
