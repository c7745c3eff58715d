-- pgTAP: pickup routing (issue 13 part R; migration 035, wave_plan_input,
-- stop_event, courier_route_doc, pickup_point_used / pickup_point_recount):
-- an order for a courier-served point is a drop at the point's place in the
-- wave's input, an order for the station's shelf is not there at all; the
-- courier's route shows the point, not the customer; delivered at the drop
-- hands the parcel to the point (pickup.handed_over, the order not
-- delivered) until the point's arrival scan takes it in; and the point's
-- counter pickup_points.used equals the recount after every kind of change
-- (intake, arrival, collection, cancellation, expiry, an order re-routed by
-- hand, a failed drop sending the parcel back to the warehouse, migration
-- 040), so that a point whose orders all went back can be retired.
BEGIN;
\ir fixtures.psql
SELECT plan(32);

INSERT INTO areas (kind, id, name, props, geom, point, area_m2) VALUES
	('station', 'ST1', 'Station one', '{"district": "D1"}',
	 ST_Multi(ST_MakeEnvelope(116.3, 39.8, 116.5, 40.0, 4326)),
	 ST_SetSRID(ST_MakePoint(116.4, 39.9), 4326), 1e8);
INSERT INTO pickup_points (id, station_id, name, address, lon, lat, capacity, shelf) VALUES
	('P1', 'ST1', 'Lane 5 shop', '5 Lane', 116.45, 39.95, 3, false),
	('P2', 'ST1', 'Kiosk', '2 Road', 116.35, 39.85, 5, false),
	('PS', 'ST1', 'Station shelf', 'at the station', 116.4, 39.9, 5, true);

CREATE FUNCTION pg_temp.pe(p_key text, p_point text) RETURNS jsonb LANGUAGE sql AS $$
	SELECT pg_temp.entry(p_key, '[{"w": "W1", "sku": "A", "qty": 1}]')
	       || jsonb_build_object('opt', 'pickup', 'pp', p_point)
$$;
-- Every point's counter equals its recount.
CREATE FUNCTION pg_temp.exact() RETURNS boolean LANGUAGE sql AS $$
	SELECT bool_and(used = pickup_point_recount(id)) FROM pickup_points
$$;
CREATE FUNCTION pg_temp.used(p_point text) RETURNS int LANGUAGE sql AS $$
	SELECT used FROM pickup_points WHERE id = p_point
$$;

-- 1. Intake takes places: three for P1 (then full), one on the shelf.
SELECT is((SELECT jsonb_agg(e->>'r') FROM jsonb_array_elements(intake_commit(jsonb_build_array(
	pg_temp.pe('k1', 'P1'), pg_temp.pe('k2', 'P1'), pg_temp.pe('k3', 'P1'),
	pg_temp.pe('k4', 'P1'), pg_temp.pe('k5', 'PS'),
	pg_temp.entry('k6', '[{"w": "W1", "sku": "A", "qty": 1}]')))) e),
	  '["ok", "ok", "ok", "pickup_full", "ok", "ok"]', 'intake: P1 full after three');
SELECT is(pg_temp.used('P1') || '/' || pg_temp.used('PS'), '3/1', 'the counters after intake');
SELECT ok(pg_temp.exact(), 'counter = recount after intake');
SELECT is(pickup_point_used('P1'), 3, 'pickup_point_used reads the counter');
SELECT is((SELECT used FROM pickup_points_free() WHERE id = 'P1'), 3, 'and the cache query');

-- 2. The wave's input: P1's orders are drops at P1's place; the shelf order
-- is not on any route; the customer order is at the customer.
UPDATE shipments SET status = 'arrived_at_station';
UPDATE orders SET status = 'arrived_at_station';
INSERT INTO order_capacity (order_id, station_id, counter_key)
SELECT id, 'ST1', '20261123-W0900' FROM orders;
CREATE TEMP TABLE input AS SELECT wave_plan_input('ST1', '20261123-W0900', '{20261123-W0900}',
	'2026-11-23T09:00:00+08:00', '2026-11-23T13:00:00+08:00', 100) AS v;
SELECT is((SELECT jsonb_agg(jsonb_build_array(s->>'order_id', s->'point', s->'lon', s->'lat')
			    ORDER BY s->>'order_id')
	     FROM input, jsonb_array_elements(v->'stops') s),
	  '[["O-k1", "P1", 116.45, 39.95], ["O-k2", "P1", 116.45, 39.95],
	    ["O-k3", "P1", 116.45, 39.95], ["O-k6", null, 116.4, 39.9]]',
	  'drops at the point''s place; the shelf order O-k5 is left out');
-- A stop of a shelf order (the point became a shelf after planning) leaves too.
INSERT INTO stops (id, station_id, wave_key, order_id, kind, attempt, status, window_start,
		   window_end, proof) VALUES
	('stp_00000000000000f5', 'ST1', '20261123-W0900', 'O-k5', 'delivery', 1, 'pending',
	 '2026-11-23T01:00:00Z', '2026-11-23T05:00:00Z', 'photo');
SELECT is((SELECT count(*)::int FROM jsonb_array_elements(wave_plan_input('ST1',
	'20261123-W0900', '{20261123-W0900}', '2026-11-23T09:00:00+08:00',
	'2026-11-23T13:00:00+08:00', 100)->'stops') s WHERE s->>'order_id' = 'O-k5'), 0,
	  'a pending stop of a shelf order is not planned either');

-- 3. The courier's route: the drop shows the point, not the customer.
UPDATE orders SET recipient = '{"name": "Zhang San", "phone": "+86 1"}';
INSERT INTO couriers (id, station_id, name, phone, vehicle) VALUES
	('ann', 'ST1', 'Ann Lee', '+86 1', 'e_bike');
INSERT INTO route_plans (plan_id, station_id, wave_key, params, utc_offset_s, unassigned,
			 geojson, version) VALUES
	('p1', 'ST1', '20261123-W0900', '{}', 28800, '[]', '{}', 1);
INSERT INTO routes (station_id, wave_key, courier, plan_id, stops, geometry, distance_m,
		    duration_s, depart_at, return_at, courier_id) VALUES
	('ST1', '20261123-W0900', 0, 'p1', '[]',
	 ST_GeomFromText('LINESTRING(116.4 39.9, 116.5 39.9)', 4326), 1, 1, now(), now(), 'ann');
INSERT INTO stops (id, station_id, wave_key, order_id, kind, attempt, status, courier_id,
		   route_version, position, window_start, window_end, proof)
SELECT 'stp_00000000000000a' || n, 'ST1', '20261123-W0900', 'O-k' || n, 'delivery', 1,
       'planned', 'ann', 1, n - 1, '2026-11-23T01:00:00Z', '2026-11-23T05:00:00Z', 'signature'
  FROM generate_series(1, 2) n;
SELECT is((courier_route_doc('ann', '20261123')->'stops'->0)
	  - '{id,position,order,kind,attempt,status,window,eta,lines}'::text[],
	  '{"drop": "pickup_point", "proof": "signature", "point": {"lon": 116.45, "lat": 39.95},
	    "recipient": {"name": "Lane 5 shop", "address": "5 Lane"},
	    "pickup_point": {"id": "P1", "name": "Lane 5 shop", "address": "5 Lane",
			     "opening_hours": ""}}',
	  'the drop: the point''s name, address and place, never the customer''s');

-- 4. delivered at the drop hands the parcel to the point: not delivered.
CREATE FUNCTION pg_temp.ev(p_stop text, p_key text, p_req jsonb)
RETURNS jsonb LANGUAGE sql AS $$
	SELECT stop_event('ann', p_stop, p_key, p_req, '2026-11-23T02:00:00Z', 3, '[]')
$$;
SELECT is(pg_temp.ev('stp_00000000000000a1', 'e1',
		     '{"event": "delivered", "proof": {"signature_ref": "sig-1"}}')
	  ->'stop'->'outcome'->>'handed_to_point', 'P1', 'delivered: handed to the point');
SELECT is((SELECT status FROM orders WHERE id = 'O-k1') || '/' ||
	  (SELECT string_agg(status, ',') FROM shipments WHERE order_id = 'O-k1'),
	  'out_for_delivery/out_for_delivery', 'the order is not delivered to the customer');
SELECT is((SELECT string_agg(kind, ',' ORDER BY id) FROM order_events
	    WHERE order_id = 'O-k1' AND kind IN ('delivered', 'pickup.handed_over')),
	  'pickup.handed_over', 'the timeline says handed to the point');
SELECT is((SELECT data FROM station_feed WHERE station_id = 'ST1' AND kind = 'pickup.handed_over'),
	  '{"order": "O-k1", "point": "P1", "courier": "ann", "stop": "stp_00000000000000a1"}',
	  'and the station''s feed');
SELECT is(pickup_tracking_doc('O-k1', false)->>'status', 'handed_to_point',
	  'the tracking page: handed to the point, not yet scanned in');
SELECT is(pg_temp.used('P1'), 3, 'the place stays taken');

-- 5. The point scans it in: a place, a code, the hold deadline.
SELECT is(pickup_arrival('P1', 'O-k1', NULL, ARRAY[repeat('11', 32)], ARRAY[repeat('00', 48)], repeat('aa', 8), 3,
			 'pickup_point', '{P1}', 'tok_pp', '2026-11-23T03:00:00Z')->>'r', 'created',
	  'the arrival scan takes it in');
SELECT is(pickup_tracking_doc('O-k1', false)->>'status', 'held', 'then held');
SELECT ok(pg_temp.exact(), 'counter = recount after an arrival');
-- The shelf's order, at the station, is scanned into the shelf.
SELECT is(pickup_arrival('PS', 'O-k5', NULL, ARRAY[repeat('22', 32)], ARRAY[repeat('00', 48)], repeat('aa', 8), 3,
			 'station', '{ST1}', 'tok_st', '2026-11-23T03:00:00Z')->>'r', 'created',
	  'a shelf order is scanned in');

-- 6. Collection, cancellation, expiry, re-routing: the counter follows.
SELECT is(pickup_collect('P1', repeat('11', 32), 'c1', '{5,600,50,3600}', 'admin', '{}', 'tok',
			 '2026-11-23T04:00:00Z')->>'r', 'ok', 'collected');
SELECT is((SELECT string_agg(kind || ':' || (detail->>'from') || ':' || (detail->>'event'), ','
			     ORDER BY id)
	    FROM order_events WHERE order_id = 'O-k1' AND at = '2026-11-23T04:00:00Z'
	      AND kind NOT LIKE 'pickup.%'),
	  'delivered:out_for_delivery:collected_at_point',
	  'a collection delivers in one lifecycle step (collected_at_point)');
SELECT is(shipment_next('arrived_at_station', 'collected_at_point') || ','
	  || shipment_next('delivered', 'collected_at_point') || ','
	  || coalesce(shipment_next('departed_warehouse', 'collected_at_point'), 'illegal'),
	  'delivered,delivered,illegal', 'from the shelf too; never from the warehouse''s side');
SELECT is(pg_temp.used('P1'), 2, 'a collection frees a place');
SELECT ok(pg_temp.exact(), 'counter = recount after a collection');
SELECT is(pickup_expire('2026-11-27T00:00:00Z', false, 10), 1, 'the shelf parcel expires');
SELECT is(pg_temp.used('PS') || '/' || pg_temp.exact()::text, '0/true',
	  'an expiry frees a place, counter = recount');
UPDATE shipments SET status = 'packed' WHERE order_id = 'O-k3';
SELECT is(intake_cancel('O-k3', 'customer')->>'r', 'ok', 'O-k3 cancelled');
SELECT is(pg_temp.used('P1') || '/' || pg_temp.exact()::text, '1/true',
	  'a cancellation frees a place, counter = recount');
UPDATE orders SET pickup_point_id = 'P2' WHERE id IN ('O-k2', 'O-k6');
SELECT is(pg_temp.used('P1') || '/' || pg_temp.used('P2') || '/' || pg_temp.exact()::text,
	  '0/2/true', 're-routed by hand: both points follow, counter = recount');

-- 7. A drop that failed for good sends the parcel back: the order gives its
-- place back (migration 040), so the point can be retired.
UPDATE shipments SET status = 'out_for_delivery' WHERE order_id = 'O-k2';
SELECT is(pg_temp.ev('stp_00000000000000a2', 'e2', '{"event": "failed", "reason": "closed"}')
	  ->'stop'->'outcome'->>'returning_to_warehouse', 'true',
	  'a failed drop with no wave left sends the parcel back');
SELECT is(pg_temp.used('P2') || '/' || pg_temp.exact()::text, '1/true',
	  'the returning order gives its place back, counter = recount');
UPDATE shipments SET status = 'returning_to_warehouse' WHERE order_id = 'O-k6';
SELECT is(pg_temp.used('P2') || '/' || pg_temp.exact()::text, '0/true',
	  'any writer of shipments.status moves the counter, counter = recount');
SELECT is(pickup_point_retire('P2', 'admin', '{}', '2026-11-27T00:00:00Z')->>'r', 'ok',
	  'a point whose orders all went back is retired');

SELECT * FROM finish();
ROLLBACK;
