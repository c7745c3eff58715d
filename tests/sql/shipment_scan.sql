-- pgTAP: shipment_next, shipment_scan and shipment_scan_batch
-- (data/sql/shipment_*.sql): the lifecycle table, scans moving a shipment
-- and its order, one event per move, replays, illegal moves naming the
-- state, scope, roles, cancelling only until the warehouse is left, and
-- the reservation consumed (with its ledger row) when it is left.
BEGIN;
\ir fixtures.psql
SELECT plan(40);

INSERT INTO got SELECT 'orders', intake_commit(jsonb_build_array(
	pg_temp.entry('k1', '[{"w": "W1", "sku": "A", "qty": 1}, {"w": "W2", "sku": "A", "qty": 1}]'),
	pg_temp.entry('k2', '[{"w": "W1", "sku": "A", "qty": 1}]'),
	pg_temp.entry('k3', '[{"w": "W1", "sku": "A", "qty": 1}]')));
SELECT is(pg_temp.outcomes(v), '{ok,ok,ok}', 'three orders') FROM got WHERE step = 'orders';

CREATE FUNCTION pg_temp.scan(p_order text, p_seq integer, p_event text, p_role text,
			     p_scope text[], p_key text) RETURNS jsonb LANGUAGE sql AS $$
	SELECT shipment_scan(p_order, p_seq, p_event, '2026-11-23T02:00:00Z', 'dock 4', 'tok_a',
			     p_role, p_scope, p_key)
$$;
CREATE FUNCTION pg_temp.events(p_order text) RETURNS text LANGUAGE sql AS $$
	SELECT string_agg(coalesce(shipment_seq::text, '-') || ':' || kind, ' ' ORDER BY id)
	  FROM order_events WHERE order_id = p_order
$$;

-- 1. The table.
SELECT is(shipment_next('allocated', 'picked'), 'picked', 'allocated -> picked');
SELECT is(shipment_next('packed', 'departed_warehouse'), 'departed_warehouse', 'packed -> departed');
SELECT is(shipment_next('failed', 'returning_to_warehouse'), 'returning_to_warehouse',
	  'failed -> returning');
SELECT is(shipment_next('rescheduled', 'out_for_delivery'), 'out_for_delivery', 'rescheduled goes out again');
SELECT is(shipment_next('picked', 'picked'), 'picked', 'a re-scan stays');
SELECT is(shipment_next('allocated', 'packed'), NULL, 'no skipping');
SELECT is(shipment_next('departed_warehouse', 'cancelled'), NULL, 'no cancel after departure');
SELECT is(shipment_next('delivered', 'failed'), NULL, 'delivered is final');
SELECT is((SELECT count(*)::integer FROM unnest('{allocated,picked,packed,departed_warehouse,
	arrived_at_station,out_for_delivery,delivered,failed,rescheduled,returning_to_warehouse,
	returned,cancelled}'::text[]) AS f, unnest('{allocated,picked,packed,departed_warehouse,
	arrived_at_station,out_for_delivery,delivered,failed,rescheduled,returning_to_warehouse,
	returned,cancelled}'::text[]) AS t WHERE f <> t AND shipment_next(f, t) = t), 14,
	  'fourteen legal transitions');

-- 2. The warehouse picks, packs and ships; the station receives.
INSERT INTO got SELECT 'pick', pg_temp.scan('O-k1', 1, 'picked', 'warehouse', '{W1}', 'p1');
SELECT is(v->>'r', 'ok', 'W1 picks its shipment') FROM got WHERE step = 'pick';
SELECT is(v->'shipment', '{"order": "O-k1", "seq": 1, "status": "picked", "warehouse": "W1",
	  "at": "2026-11-23T02:00:00.000Z"}'::jsonb, 'the answer is the shipment') FROM got WHERE step = 'pick';
SELECT is((SELECT status FROM shipments WHERE order_id = 'O-k1' AND seq = 1), 'picked', 'stored');
SELECT is((SELECT status FROM orders WHERE id = 'O-k1'), 'allocated',
	  'the order waits for its other shipment');
SELECT is((SELECT detail FROM order_events WHERE order_id = 'O-k1' AND kind = 'picked'),
	  '{"actor": "tok_a", "role": "warehouse", "from": "allocated", "place": "dock 4"}'::jsonb,
	  'the event says who, from what, where');
-- Replay: the first answer, no second event.
SELECT is(pg_temp.scan('O-k1', 1, 'picked', 'warehouse', '{W1}', 'p1'),
	  (SELECT v || '{"replay": true}' FROM got WHERE step = 'pick'), 'the same key replays');
SELECT is(pg_temp.scan('O-k1', 2, 'picked', 'warehouse', '{W2}', 'p1'), '{"r": "mismatch"}'::jsonb,
	  'the key on another shipment is a mismatch');
-- A re-scan with a new key: ok, nothing moves, no event.
SELECT is(pg_temp.scan('O-k1', 1, 'picked', 'admin', NULL, 'p1b')->>'moved', 'false',
	  'a re-scan of the same state is ok and moves nothing');
SELECT is(pg_temp.events('O-k1'), '-:created 1:allocated 2:allocated 1:picked', 'one picked event');
SELECT is(pg_temp.scan('O-k1', 2, 'picked', 'warehouse', '{W2}', 'p2')->>'r', 'ok', 'W2 picks');
SELECT is((SELECT status FROM orders WHERE id = 'O-k1'), 'picked', 'the order follows both');

-- 3. Scope and roles: out of scope is not_found, like a missing shipment.
SELECT is(pg_temp.scan('O-k1', 1, 'packed', 'warehouse', '{W2}', 'x1'), '{"r": "not_found"}'::jsonb,
	  'another warehouse does not see it');
SELECT is(pg_temp.scan('O-k1', 9, 'packed', 'admin', NULL, 'x2'), '{"r": "not_found"}'::jsonb,
	  'no such shipment');
SELECT is(pg_temp.scan('O-k2', 1, 'arrived_at_station', 'station', '{ST2}', 'x3'),
	  '{"r": "not_found"}'::jsonb, 'another station does not see it');
SELECT is(pg_temp.scan('O-k2', 1, 'picked', 'station', '{ST1}', 'x4'), '{"r": "forbidden"}'::jsonb,
	  'a station may not pick');
SELECT is(pg_temp.scan('O-k2', 1, 'arrived_at_station', 'warehouse', '{W1}', 'x5'),
	  '{"r": "forbidden"}'::jsonb, 'a warehouse may not receive at the station');
SELECT is(pg_temp.scan('O-k2', 1, 'delivered', 'admin', NULL, 'x6'), '{"r": "forbidden"}'::jsonb,
	  'delivered is not a scan');
SELECT is((SELECT count(*)::integer FROM shipment_scan_keys WHERE key LIKE 'x%'), 0,
	  'refusals keep no key');

-- 4. Illegal: 409 material, naming the state; remembered for its key.
INSERT INTO got SELECT 'illegal', pg_temp.scan('O-k2', 1, 'arrived_at_station', 'station',
					       '{ST1}', 'i1');
SELECT is(v->>'r', 'illegal', 'arriving before leaving is illegal') FROM got WHERE step = 'illegal';
SELECT is(v->>'current', 'allocated', 'and names the current state') FROM got WHERE step = 'illegal';
SELECT is(pg_temp.events('O-k2'), '-:created 1:allocated', 'no event for it');

-- 5. The batch: to the station and in, scans of one shipment in order.
INSERT INTO got SELECT 'batch', shipment_scan_batch('[
	{"order": "O-k2", "seq": 1, "event": "picked", "key": "b1"},
	{"order": "O-k2", "seq": 1, "event": "packed", "key": "b2", "place": "line 2"},
	{"order": "O-k1", "seq": 1, "event": "departed_warehouse", "key": "b3"},
	{"order": "O-k2", "seq": 1, "event": "departed_warehouse", "key": "b4",
	 "at": "2026-11-23T03:00:00+08:00"},
	{"order": "O-nobody", "seq": 1, "event": "picked", "key": "b5"}]', 'tok_b', 'warehouse',
	'{W1}');
SELECT is((SELECT array_agg(x->>'r' ORDER BY i) FROM got,
		  jsonb_array_elements(v) WITH ORDINALITY AS t(x, i) WHERE step = 'batch'),
	  '{ok,ok,illegal,ok,not_found}', 'one answer per scan, in the order given');
SELECT is(pg_temp.events('O-k2'), '-:created 1:allocated 1:picked 1:packed 1:departed_warehouse',
	  'the events in scan order');
SELECT is((SELECT at FROM order_events WHERE order_id = 'O-k2' AND kind = 'departed_warehouse'),
	  '2026-11-22T19:00:00Z'::timestamptz, 'at the time given');
SELECT is(pg_temp.level('W1', 'A'), '9/2/7',
	  'the departure consumed its reservation: on hand and reserved down, available kept');
SELECT is((SELECT actor || ' ' || old_on_hand || '->' || new_on_hand || ' ' || reason
	     FROM stock_ledger WHERE reason LIKE 'departed%'),
	  'tok_b 10->9 departed O-k2/1', 'with its ledger row naming the scanner and the shipment');
SELECT is(shipment_scan_batch('[{"order": "O-k2", "seq": 1, "event": "arrived_at_station",
	  "key": "b6"}]', 'tok_c', 'station', '{ST1}')->0->'shipment'->>'status',
	  'arrived_at_station', 'the station receives it');
SELECT is((SELECT status FROM orders WHERE id = 'O-k2'), 'arrived_at_station',
	  'the single-shipment order follows');

-- 6. Cancel: allowed while packed, refused once departed.
UPDATE shipments SET status = 'packed' WHERE order_id = 'O-k3';
SELECT is(intake_cancel('O-k3', 'changed my mind')->>'r', 'ok', 'a packed order can be cancelled');
SELECT is(intake_cancel('O-k2', 'too late'), '{"r": "shipped", "shipments": [1]}'::jsonb,
	  'an order at the station cannot');

SELECT * FROM finish();
ROLLBACK;
