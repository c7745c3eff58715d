-- pgTAP: orders for a pickup point (issue 13 part C3; intake_commit's pp,
-- pickup_point_used, pickup_points_free): within one batch the point's
-- places are counted order by order (the one past capacity is pickup_full
-- and gives its stock and key back), an unknown, retired or other
-- station's point is pickup_invalid, a cancelled order or a collected
-- parcel frees its place, and the cache's query shows the free places.
BEGIN;
\ir fixtures.psql
SELECT plan(15);

INSERT INTO areas (kind, id, name, props, geom, point, area_m2) VALUES
	('station', 'ST1', 'Station one', '{"district": "D1"}',
	 ST_Multi(ST_MakeEnvelope(116.3, 39.8, 116.5, 40.0, 4326)),
	 ST_SetSRID(ST_MakePoint(116.4, 39.9), 4326), 1e8);
INSERT INTO pickup_points (id, station_id, name, lon, lat, capacity) VALUES
	('P1', 'ST1', 'Shop', 116.4, 39.9, 2),
	('P9', 'ST9', 'Elsewhere', 116.4, 39.9, 5);
INSERT INTO pickup_points (id, station_id, name, lon, lat, capacity, retired_at) VALUES
	('PR', 'ST1', 'Gone', 116.4, 39.9, 5, now());

CREATE FUNCTION pg_temp.pe(p_key text, p_point text) RETURNS jsonb LANGUAGE sql AS $$
	SELECT pg_temp.entry(p_key, '[{"w": "W1", "sku": "A", "qty": 1}]')
	       || jsonb_build_object('opt', 'pickup', 'pp', p_point)
$$;

INSERT INTO got VALUES ('batch', intake_commit(jsonb_build_array(
	pg_temp.pe('k1', 'P1'), pg_temp.pe('k2', 'P1'), pg_temp.pe('k3', 'P1'),
	pg_temp.pe('k4', 'P9'), pg_temp.pe('k5', 'PR'), pg_temp.pe('k6', 'NOPE'))));
SELECT is((SELECT jsonb_agg(e->>'r') FROM jsonb_array_elements((SELECT v FROM got
	  WHERE step = 'batch')) e),
	  '["ok", "ok", "pickup_full", "pickup_invalid", "pickup_invalid", "pickup_invalid"]',
	  'places counted order by order in one batch; unknown, retired, other station refused');
SELECT is((SELECT v->2->>'point' FROM got WHERE step = 'batch'), 'P1', 'pickup_full names it');
SELECT is((SELECT string_agg(id, ',' ORDER BY id) FROM orders WHERE pickup_point_id = 'P1'),
	  'O-k1,O-k2', 'the two placed orders are routed to P1');
SELECT is((SELECT available FROM stock WHERE warehouse_id = 'W1' AND sku = 'A'), 8,
	  'the refused orders gave their stock back');
SELECT is((SELECT count(*)::int FROM idempotency_keys WHERE key IN ('k3', 'k4', 'k5', 'k6')), 0,
	  'and their keys');
SELECT is(pickup_point_used('P1'), 2, 'two places taken');
SELECT is((SELECT used FROM pickup_points_free() WHERE id = 'P1'), 2, 'the cache query sees them');
SELECT is((SELECT count(*)::int FROM pickup_points_free() WHERE id = 'PR'), 0,
	  'a retired point is not in the cache');

-- A cancelled order frees its place.
SELECT is(intake_cancel('O-k2', 'customer')->>'r' IS NOT NULL, true,
	  'cancel answers');
SELECT is(pickup_point_used('P1'), 1, 'a cancelled order frees its place');
SELECT is(intake_commit(jsonb_build_array(pg_temp.pe('k7', 'P1')))->0->>'r', 'ok',
	  'the freed place is taken again');
SELECT is(intake_commit(jsonb_build_array(pg_temp.pe('k8', 'P1')))->0->>'r', 'pickup_full',
	  'then full again');

-- A collected parcel frees its place.
UPDATE shipments SET status = 'out_for_delivery' WHERE order_id = 'O-k1';
SELECT is(pickup_arrival('P1', 'O-k1', NULL, ARRAY[repeat('ab', 32)], ARRAY[repeat('00', 48)], repeat('aa', 8), 3,
			 'admin', '{}', 'tok_test', '2026-11-23T03:00:00Z')->>'r', 'created',
	  'the parcel arrives');
SELECT is(pickup_collect('P1', repeat('ab', 32), 'c1', '{5,600,50,3600}', 'admin', '{}',
			 'tok_test', '2026-11-23T04:00:00Z')->>'r', 'ok', 'collected');
SELECT is(pickup_point_used('P1'), 1, 'a collected parcel frees its place');

SELECT * FROM finish();
ROLLBACK;
