-- pgTAP: wave planning's SQL (data/sql/wave_plan_input.sql, route_plan_store.sql,
-- wave_auto_due.sql, wave_auto_claim.sql, wave_replan_take.sql): what a wave
-- plans, versions with stops rows, changes and feed lines, the fencing of
-- the scheduler's claims, and the replan queue.
BEGIN;
\ir fixtures.psql
SELECT plan(29);

INSERT INTO couriers (id, station_id, name, phone, vehicle) VALUES
	('K1', 'ST1', 'Wang Fang', '1', 'e_bike'), ('K2', 'ST1', 'Li Lei', '2', 'van');
-- A round-the-clock weekly shift for both.
INSERT INTO courier_shifts (courier_id, tz)
VALUES ('K1', 'Asia/Shanghai'), ('K2', 'Asia/Shanghai');
INSERT INTO courier_shift_weekly (courier_id, isodow, start_at, end_at)
SELECT k, d, '00:00', '24:00' FROM unnest('{K1,K2}'::text[]) k, generate_series(1, 7) d;
INSERT INTO skus (sku, name, category, weight_g, volume_ml, large) VALUES
	('BIG', 'Fridge', 'test', 50000, 300000, true);
-- Orders of ST1's wave 20300108-W0900: O1 at the station, O2 departed and due
-- (linehaul 5400 s of the rdc W1), O3 departed too late, O4 still at the
-- warehouse, O5 delivered, O6 in another wave.
INSERT INTO orders (id, external_id, idempotency_key, status, station_id, station_name,
		    district_id, lon, lat, delivery_option, install, promise, created_at)
SELECT 'O' || i, 'ext-O' || i, 'k-O' || i,
       (ARRAY['arrived_at_station', 'departed_warehouse', 'departed_warehouse', 'packed',
	      'delivered', 'arrived_at_station'])[i], 'ST1', 'Station 1', 'D1', 116.4, 39.9,
       'standard', false, '{}', now()
  FROM generate_series(1, 6) AS i;
INSERT INTO shipments (order_id, seq, warehouse_id, status)
SELECT id, 1, 'W1', status FROM orders WHERE id ~ '^O[0-9]$';
INSERT INTO order_lines (order_id, line_no, sku, qty, shipment_seq)
SELECT id, 1, CASE WHEN id = 'O2' THEN 'BIG' ELSE 'A' END, 2, 1 FROM orders WHERE id ~ '^O[0-9]$';
INSERT INTO order_capacity (order_id, station_id, counter_key)
SELECT id, 'ST1', CASE WHEN id = 'O6' THEN '20300108-W1300' ELSE '20300108-W0900' END
  FROM orders WHERE id ~ '^O[0-9]$';
INSERT INTO order_events (order_id, shipment_seq, kind, at) VALUES
	('O2', 1, 'departed_warehouse', '2030-01-08T06:00:00+08:00'),
	('O3', 1, 'departed_warehouse', '2030-01-08T08:00:00+08:00');

CREATE TEMP TABLE input AS SELECT wave_plan_input('ST1', '20300108-W0900',
	'{20300108-W0900}', '2030-01-08T09:00:00+08:00', '2030-01-08T13:00:00+08:00', 100) AS v;
SELECT is((SELECT jsonb_agg(s->>'order_id') FROM input, jsonb_array_elements(v->'stops') s),
	  '["O1", "O2"]', 'planned: at the station, or departed and due by the wave start');
SELECT is((SELECT jsonb_agg(c->>'id') FROM input, jsonb_array_elements(v->'couriers') c),
	  '["K1", "K2"]', 'the couriers on shift');
SELECT is((SELECT (v->'couriers'->1->>'capacity_kg')::float8 FROM input), 1200::float8,
	  'with their vehicle profile');
SELECT is((SELECT (v->'stops'->1->>'weight_g')::bigint FROM input), 100000::bigint,
	  'weight of the lines');
SELECT is(wave_plan_input('ST1', '20300108-W0900', '{20300108-W0900}',
	'2030-01-08T14:00:00+08:00', '2030-01-08T13:00:00+08:00', 100)->'couriers', '[]',
	  'a wave over has no one on shift');

-- Version 1: O1 on K1, O2 on K2.
CREATE TEMP TABLE plan AS SELECT jsonb_build_object(
	'params', '{}'::jsonb, 'utc_offset_s', 28800, 'unassigned', '[]'::jsonb,
	'geojson', '{"type": "FeatureCollection", "features": []}'::jsonb,
	'routes', jsonb_build_array(
		jsonb_build_object('courier', 0, 'courier_id', 'K1',
			'stops', '[{"order_id": "O1", "stop_id": null, "eta": "2030-01-08T09:10:00+08:00",
				    "window": {"start": "2030-01-08T09:00:00+08:00",
					       "end": "2030-01-08T13:00:00+08:00"}}]'::jsonb,
			'geometry', '{"type": "LineString", "coordinates": [[116.4, 39.9], [116.5, 39.8]]}'::jsonb,
			'distance_m', 100, 'duration_s', 60, 'depart', '2030-01-08T01:00:00Z',
			'return', '2030-01-08T02:00:00Z'),
		jsonb_build_object('courier', 1, 'courier_id', 'K2',
			'stops', '[{"order_id": "O2", "stop_id": null, "eta": "2030-01-08T09:20:00+08:00"}]'::jsonb,
			'geometry', '{"type": "LineString", "coordinates": [[116.4, 39.9], [116.5, 39.8]]}'::jsonb,
			'distance_m', 100, 'duration_s', 60, 'depart', '2030-01-08T01:00:00Z',
			'return', '2030-01-08T02:00:00Z'))) AS p;
INSERT INTO got SELECT 'v1', route_plan_store('ST1', '20300108-W0900', p) FROM plan;
SELECT is((SELECT (v->>'version')::integer FROM got WHERE step = 'v1'), 1, 'version 1');
SELECT is((SELECT string_agg(order_id || ':' || courier_id || ':' || position || ':' || status
			     || ':' || route_version || ':' || proof, ',' ORDER BY order_id)
	     FROM stops), 'O1:K1:0:planned:1:photo,O2:K2:0:planned:1:pin',
	  'stops rows: courier, position, version; a large SKU asks for a PIN');
SELECT ok((SELECT pin ~ '^[0-9]{6}$' FROM stops WHERE order_id = 'O2'), 'a 6-digit PIN');
SELECT is((SELECT v->'routes'->0->'stops'->0->>'stop_id' FROM got WHERE step = 'v1'),
	  (SELECT id FROM stops WHERE order_id = 'O1'), 'the document carries stop ids');
SELECT is((SELECT v->'routes'->1->>'courier_name' FROM got WHERE step = 'v1'), 'Li Lei',
	  'and courier names');
SELECT is((SELECT string_agg(kind, ',' ORDER BY seq) FROM station_feed WHERE station_id = 'ST1'),
	  'stop.assigned,stop.assigned,plan.published', 'feed: assigned stops, then the plan');
SELECT is((SELECT data - 'plan_id' FROM station_feed WHERE station_id = 'ST1'
	    AND kind = 'plan.published'),
	  '{"wave": "20300108-W0900", "version": 1, "reason": "planned", "routes": 2, "stops": 2}',
	  'plan.published data');

-- The stops now exist: the input carries them with their place.
SELECT is((SELECT jsonb_agg(jsonb_build_array(s->>'order_id', s->>'courier_id', s->>'status'))
	     FROM jsonb_array_elements(wave_plan_input('ST1', '20300108-W0900', '{20300108-W0900}',
		'2030-01-08T09:00:00+08:00', '2030-01-08T13:00:00+08:00', 100)->'stops') s),
	  '[["O1", "K1", "planned"], ["O2", "K2", "planned"]]', 'planned stops are planned again');

-- Version 2: O1 delivered (done, untouched), O2 moves to K1 after it.
UPDATE stops SET status = 'delivered' WHERE order_id = 'O1';
INSERT INTO got SELECT 'v2', route_plan_store('ST1', '20300108-W0900', jsonb_set(p, '{routes}',
	jsonb_build_array(jsonb_set(p->'routes'->0, '{stops}', jsonb_build_array(
		jsonb_build_object('order_id', 'O1', 'stop_id', (SELECT id FROM stops WHERE order_id = 'O1')),
		jsonb_build_object('order_id', 'O2', 'stop_id', (SELECT id FROM stops WHERE order_id = 'O2'),
				   'eta', '2030-01-08T09:30:00+08:00'))))) || '{"reason": "courier off"}')
  FROM plan;
SELECT is((SELECT v->>'version' || ':' || (v->>'reason') FROM got WHERE step = 'v2'),
	  '2:courier off', 'version 2 with its reason');
SELECT is((SELECT string_agg(order_id || ':' || courier_id || ':' || position || ':' || status
			     || ':' || route_version, ',' ORDER BY order_id)
	     FROM stops), 'O1:K1:0:delivered:1,O2:K1:1:planned:2', 'the done stop untouched');
SELECT is((SELECT changes FROM route_plans WHERE version = 2),
	  jsonb_build_array(jsonb_build_object('change', 'moved',
		'stop', (SELECT id FROM stops WHERE order_id = 'O2'), 'order', 'O2',
		'wave', '20300108-W0900', 'from', '{"courier": "K2", "position": 0}'::jsonb,
		'to', '{"courier": "K1", "position": 1}'::jsonb, 'version', 2)), 'the changes');
SELECT is((SELECT string_agg(kind, ',' ORDER BY seq) FROM station_feed
	    WHERE station_id = 'ST1' AND seq > 3), 'stop.moved,plan.published', 'feed of version 2');

-- Version 3 routes nobody: O2 back to pending, "unassigned".
INSERT INTO got SELECT 'v3', route_plan_store('ST1', '20300108-W0900', p || '{"routes": [],
	"unassigned": [{"order_id": "O2", "reason": "no_courier"}]}') FROM plan;
SELECT is((SELECT status || ':' || coalesce(courier_id, '-') FROM stops WHERE order_id = 'O2'),
	  'pending:-', 'a stop routed no more goes back to pending');
SELECT is((SELECT changes->0->>'change' || ':' || (changes->0->>'reason') FROM route_plans
	    WHERE version = 3), 'unassigned:no_courier', 'unassigned, with the reason');

-- The scheduler's claims: a fencing epoch per take-over.
SELECT is(wave_auto_claim('ST1', '20300108-W1300', 'd1', 60), 1::bigint, 'first claim: epoch 1');
SELECT is(wave_auto_claim('ST1', '20300108-W1300', 'd2', 60), NULL, 'a live claim is not taken');
UPDATE wave_auto_plans SET claimed_at = now() - interval '2 minutes';
SELECT is(wave_auto_claim('ST1', '20300108-W1300', 'd2', 60), 2::bigint, 'a stale one is: epoch 2');
SELECT is(route_plan_store('ST1', '20300108-W1300', (SELECT p FROM plan) || '{"routes": [], "fence": {"auto_epoch": 1}}'),
	  NULL, 'the stale claimer''s store is refused');
SELECT is(route_plan_store('ST1', '20300108-W1300', (SELECT p FROM plan) || '{"routes": [], "fence": {"auto_epoch": 2}}')->>'version',
	  '1', 'the current claimer''s is stored');
SELECT ok((SELECT done_at IS NOT NULL AND version = 1 FROM wave_auto_plans
	    WHERE wave_key = '20300108-W1300'), 'and marks the wave done');
SELECT is((SELECT count(*)::integer FROM wave_auto_due('{ST1,ST1,ST2}',
	    '{20300108-W1300,20300108-W1700,20300108-W0900}', 60)), 0,
	  'nothing due: done, or nothing booked');
SELECT is((SELECT count(*)::integer FROM wave_auto_plans WHERE done_at IS NOT NULL
	    AND version IS NULL), 2, 'waves with nothing booked are recorded done');

-- The replan queue.
INSERT INTO wave_replans_due (station_id, wave_key, reason) VALUES ('ST1', '20300108-W0900', 'x');
SELECT is((SELECT count(*)::integer FROM wave_replan_take('d1', 60, 10)), 1, 'taken');
SELECT is((SELECT count(*)::integer FROM wave_replan_take('d2', 60, 10)), 0, 'by one daemon only');

SELECT * FROM finish();
ROLLBACK;
