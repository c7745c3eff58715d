-- pgTAP: the handheld's SQL (data/sql/stop_event.sql, courier_route_*.sql,
-- stop_shipments_move.sql, courier_positions_flush.sql): a courier's current
-- route, the route start, each stop event with its proofs, replays and
-- mismatched keys, illegal events naming the stop's status, another
-- courier's stop, reschedule into the next wave (and a replan due), the
-- return to the warehouse after the last attempt, feed lines, and the
-- position flush keeping the newest fix and one trail point per 30 s.
BEGIN;
\ir fixtures.psql
SELECT plan(40);

INSERT INTO got SELECT 'orders', intake_commit(jsonb_build_array(
	pg_temp.entry('h1', '[{"w": "W1", "sku": "A", "qty": 2}]'),
	pg_temp.entry('h2', '[{"w": "W1", "sku": "A", "qty": 1}]'),
	pg_temp.entry('h3', '[{"w": "W1", "sku": "A", "qty": 1}]'),
	pg_temp.entry('h4', '[{"w": "W1", "sku": "A", "qty": 1}]')));
SELECT is(pg_temp.outcomes(v), '{ok,ok,ok,ok}', 'four orders') FROM got WHERE step = 'orders';
UPDATE shipments SET status = 'arrived_at_station';
UPDATE orders SET status = 'arrived_at_station';

INSERT INTO couriers (id, station_id, name, phone, vehicle) VALUES
	('ann', 'ST1', 'Ann Lee', '+86 1', 'e_bike'), ('bob', 'ST1', 'Bob Chen', '+86 2', 'van');
INSERT INTO route_plans (plan_id, station_id, wave_key, params, utc_offset_s, unassigned,
			 geojson, version) VALUES
	('p1', 'ST1', '20261123-W0900', '{}', 28800, '[]', '{}', 1),
	('p2', 'ST1', '20261123-W1300', '{}', 28800, '[]', '{}', 1);
INSERT INTO routes (station_id, wave_key, courier, plan_id, stops, geometry, distance_m,
		    duration_s, depart_at, return_at, courier_id)
SELECT 'ST1', '20261123-W0900', i, 'p1', '[]',
       ST_GeomFromText('LINESTRING(116.4 39.9, 116.5 39.9)', 4326), 1, 1, now(), now(), c
  FROM (VALUES (0, 'ann'), (1, 'bob')) AS x(i, c);
INSERT INTO stops (id, station_id, wave_key, order_id, kind, attempt, status, courier_id,
		   route_version, position, eta, window_start, window_end, proof, pin) VALUES
	('stp_000000000000000a', 'ST1', '20261123-W0900', 'O-h1', 'delivery', 1, 'planned', 'ann',
	 1, 0, '2026-11-23T01:30:00Z', '2026-11-23T01:00:00Z', '2026-11-23T05:00:00Z', 'pin',
	 '123456'),
	('stp_000000000000000b', 'ST1', '20261123-W0900', 'O-h2', 'delivery', 1, 'planned', 'ann',
	 1, 1, NULL, '2026-11-23T01:00:00Z', '2026-11-23T05:00:00Z', 'photo', NULL),
	('stp_000000000000000c', 'ST1', '20261123-W0900', 'O-h3', 'delivery', 3, 'planned', 'ann',
	 1, 2, NULL, '2026-11-23T01:00:00Z', '2026-11-23T05:00:00Z', 'photo', NULL),
	('stp_000000000000000d', 'ST1', '20261123-W0900', 'O-h4', 'delivery', 1, 'planned', 'bob',
	 1, 0, NULL, '2026-11-23T01:00:00Z', '2026-11-23T05:00:00Z', 'photo', NULL);

CREATE FUNCTION pg_temp.ev(p_courier text, p_stop text, p_key text, p_req jsonb)
RETURNS jsonb LANGUAGE sql AS $$
	SELECT stop_event(p_courier, p_stop, p_key, p_req, '2026-11-23T02:00:00Z', 3,
		'[{"key": "20261123-W0900", "start": "2026-11-23T01:00:00Z", "end": "2026-11-23T05:00:00Z"},
		  {"key": "20261123-W1300", "start": "2026-11-23T05:00:00Z", "end": "2026-11-23T09:00:00Z"}]')
$$;
CREATE FUNCTION pg_temp.kinds(p_order text) RETURNS text LANGUAGE sql AS $$
	SELECT string_agg(kind, ' ' ORDER BY id) FROM order_events
	 WHERE order_id = p_order AND kind NOT IN ('created', 'allocated')
$$;

-- 1. The route: Ann's three stops in order, Bob's one; no route: version null.
SELECT is(jsonb_path_query_array(courier_route_doc('ann', '20261123'), '$.stops[*].id'),
	  '["stp_000000000000000a", "stp_000000000000000b", "stp_000000000000000c"]',
	  'Ann''s stops in order');
SELECT is(courier_route_doc('ann', '20261123')->'stops'->0->>'eta',
	  '2026-11-23T09:30:00+08:00', 'ETA in the plan''s local time');
SELECT is(courier_route_doc('ann', '20261123')::text LIKE '%123456%', false,
	  'the PIN is never in the route');
SELECT is(jsonb_array_length(courier_route_doc('bob', '20261123')->'stops'), 1, 'Bob: one stop');
SELECT is(courier_route_doc('ann', '20261124')->'version', 'null'::jsonb,
	  'another day: no route, version null');

-- 2. Route start: the shipments of the route go out, once.
SELECT is(courier_route_start('bob', '20261123', '2026-11-23T01:00:00Z')->'moved', '1'::jsonb,
	  'Bob starts: one shipment out');
SELECT is((SELECT status FROM shipments WHERE order_id = 'O-h4'), 'out_for_delivery', 'moved');
SELECT is(courier_route_start('bob', '20261123', '2026-11-23T01:05:00Z')->'moved', '0'::jsonb,
	  'again: nothing moves');
SELECT is((SELECT detail->>'courier_name' FROM order_events WHERE order_id = 'O-h4'
	    AND kind = 'out_for_delivery'), 'Bob Chen', 'the event names the courier');

-- 3. Another courier's stop, an unknown stop: not found, nothing kept.
SELECT is(pg_temp.ev('bob', 'stp_000000000000000a', 'k0', '{"event": "arrived"}')->>'r',
	  'not_found', 'Bob cannot touch Ann''s stop');
SELECT is(pg_temp.ev('ann', 'stp_00000000000000ff', 'k0', '{"event": "arrived"}')->>'r',
	  'not_found', 'no such stop');

-- 4. Proofs: a missing or wrong PIN is invalid and keeps no key.
SELECT is(pg_temp.ev('ann', 'stp_000000000000000a', 'k1', '{"event": "delivered", "proof": {}}'),
	  '{"r": "invalid", "field": "proof.pin", "message": "this stop requires the recipient''s PIN"}',
	  'PIN missing');
SELECT is(pg_temp.ev('ann', 'stp_000000000000000a', 'k1',
		     '{"event": "delivered", "proof": {"pin": "999999"}}')->>'field', 'proof.pin',
	  'PIN wrong');
SELECT is((SELECT count(*)::integer FROM stop_event_keys), 0, 'no key kept');
SELECT is(pg_temp.ev('ann', 'stp_000000000000000b', 'k1', '{"event": "delivered", "proof": {}}')
	  ->>'field', 'proof.photo_ref', 'photo missing');
SELECT is(pg_temp.ev('ann', 'stp_000000000000000b', 'k1', '{"event": "picked_up"}')->>'field',
	  'event', 'a delivery is not picked up');

-- 5. arrived, delivered, replay, mismatch, illegal.
SELECT is(pg_temp.ev('ann', 'stp_000000000000000a', 'k2', '{"event": "arrived"}')->'stop'->>'status',
	  'arrived', 'arrived');
INSERT INTO got SELECT 'deliver', pg_temp.ev('ann', 'stp_000000000000000a', 'k1',
	'{"event": "delivered", "proof": {"pin": "123456"}}');
SELECT is(v->'stop'->>'status', 'delivered', 'delivered with the PIN') FROM got WHERE step = 'deliver';
SELECT is(pg_temp.kinds('O-h1'), 'arrived out_for_delivery delivered',
	  'the timeline: arrived, out (not started), delivered');
SELECT is((SELECT status FROM orders WHERE id = 'O-h1'), 'delivered', 'the order follows');
SELECT is(pg_temp.ev('ann', 'stp_000000000000000a', 'k1',
		     '{"event": "delivered", "proof": {"pin": "123456"}}'), v, 'a replay: the first answer')
  FROM got WHERE step = 'deliver';
SELECT is(pg_temp.ev('ann', 'stp_000000000000000a', 'k1', '{"event": "arrived"}')->>'r',
	  'mismatch', 'the key with another body');
SELECT is(pg_temp.ev('ann', 'stp_000000000000000a', 'k3',
		     '{"event": "delivered", "proof": {"pin": "123456"}}'),
	  '{"r": "illegal", "current": "delivered"}', 'delivered twice: illegal, naming the status');
SELECT is((SELECT count(*)::integer FROM station_feed WHERE station_id = 'ST1'
	    AND kind = 'stop.outcome' AND data->>'stop' = 'stp_000000000000000a'), 2,
	  'two feed lines: arrived and delivered');

-- 6. failed, attempt 1 of 3: rescheduled into the wave after the stop's.
INSERT INTO got SELECT 'fail', pg_temp.ev('ann', 'stp_000000000000000b', 'k4',
	'{"event": "failed", "reason": "customer_absent", "notes": "no answer"}');
SELECT is(v->'stop'->'outcome'->'retry'->>'wave', '20261123-W1300', 'retry in the next wave')
  FROM got WHERE step = 'fail';
SELECT is((SELECT status || ' ' || attempt || ' ' || coalesce(courier_id, '-') FROM stops
	    WHERE order_id = 'O-h2' AND attempt = 2), 'pending 2 -', 'a pending stop, attempt 2');
SELECT is((SELECT status FROM shipments WHERE order_id = 'O-h2'), 'rescheduled', 'rescheduled');
SELECT is(pg_temp.kinds('O-h2'), 'out_for_delivery failed rescheduled', 'the timeline says so');
SELECT is((SELECT detail - 'retry_stop' - 'from' FROM order_events WHERE order_id = 'O-h2'
	    AND kind = 'rescheduled'),
	  '{"wave": "20261123-W1300", "window_start": "2026-11-23T05:00:00Z", "attempt": 2,
	    "courier": "ann", "stop": "stp_000000000000000b"}', 'rescheduled detail');
SELECT is((SELECT reason FROM wave_replans_due WHERE wave_key = '20261123-W1300'), 'retry',
	  'the next wave has a plan: a replan is due');
SELECT is((SELECT data->>'rescheduled_to' FROM station_feed WHERE kind = 'stop.outcome'
	    AND data->>'stop' = 'stp_000000000000000b'), '20261123-W1300', 'the feed says where');
SELECT is(pg_temp.ev('ann', 'stp_000000000000000b', 'k5', '{"event": "arrived"}'),
	  '{"r": "illegal", "current": "failed"}', 'a failed stop is done');

-- 7. failed, attempt 3 of 3: back to the warehouse.
SELECT is(pg_temp.ev('ann', 'stp_000000000000000c', 'k6',
		     '{"event": "failed", "reason": "refused"}')->'stop'->'outcome'->>'returning_to_warehouse',
	  'true', 'the last attempt returns');
SELECT is((SELECT status FROM shipments WHERE order_id = 'O-h3'), 'returning_to_warehouse',
	  'returning');
SELECT is((SELECT count(*)::integer FROM stops WHERE order_id = 'O-h3'), 1, 'no new stop');

-- 8. The position flush: the newest fix by device time, one trail point per 30 s.
SELECT FROM courier_positions_flush(
	'[{"c": "ann", "t": 1795000010000, "lon": 116.1, "lat": 39.1, "acc": 5}]',
	'[{"c": "ann", "b": 59833333, "t": 1795000010000, "lon": 116.1, "lat": 39.1, "acc": 5},
	  {"c": "ann", "b": 59833333, "t": 1795000000000, "lon": 116.0, "lat": 39.0, "acc": 5}]');
SELECT FROM courier_positions_flush(
	'[{"c": "ann", "t": 1795000005000, "lon": 116.2, "lat": 39.2, "acc": 5}]',
	'[{"c": "ann", "b": 59833333, "t": 1795000005000, "lon": 116.2, "lat": 39.2, "acc": 5}]');
SELECT is((SELECT lon FROM courier_positions WHERE courier_id = 'ann'), 116.1::float8,
	  'an older fix never replaces a newer one');
SELECT FROM courier_positions_flush(
	'[{"c": "ann", "t": 1795000039000, "lon": 116.3, "lat": 39.3, "acc": 5}]', '[]');
SELECT is((SELECT lon FROM courier_positions WHERE courier_id = 'ann'), 116.1::float8,
	  'a newer fix within 30 s of device time waits');
SELECT FROM courier_positions_flush(
	'[{"c": "ann", "t": 1795000040000, "lon": 116.4, "lat": 39.4, "acc": 5}]', '[]');
SELECT is((SELECT lon FROM courier_positions WHERE courier_id = 'ann'), 116.4::float8,
	  '30 s newer: written');
SELECT is((SELECT count(*)::integer FROM courier_trail WHERE courier_id = 'ann'), 1,
	  'one trail point for the bucket');

SELECT * FROM finish();
ROLLBACK;
