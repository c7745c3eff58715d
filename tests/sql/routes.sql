-- pgTAP: the route plan functions (data/sql/route_*.sql): local times at a
-- fixed offset, and a station's wave plan stored whole as version 1, then a
-- replan stored whole as version 2 with version 1 kept as it was.
BEGIN;
\ir fixtures.psql
SELECT plan(11);

SELECT is(route_ts('2026-11-23T01:00:00Z', 28800), '2026-11-23T09:00:00+08:00', 'UTC+8');
SELECT is(route_ts('2026-11-23T01:00:00Z', -16200), '2026-11-22T20:30:00-04:30', 'a negative half-hour offset');
SELECT is(route_plan_doc('ST1', '20261123-W0900'), NULL, 'no plan yet');
-- The order a stop row is made for.
INSERT INTO orders (id, external_id, idempotency_key, status, station_id, station_name,
		    district_id, delivery_option, install, promise, created_at)
VALUES ('O-1', 'ext-O-1', 'k-O-1', 'arrived_at_station', 'ST1', 'Station 1', 'D1', 'standard',
	false, '{}', now());

CREATE TEMP TABLE plan AS SELECT jsonb_build_object(
	'params', '{"seed": 1}'::jsonb, 'utc_offset_s', 28800, 'unassigned', '[]'::jsonb,
	'geojson', '{"type": "FeatureCollection", "features": []}'::jsonb,
	'routes', jsonb_build_array(jsonb_build_object(
		'courier', 0, 'stops', '[{"order_id": "O-1"}]'::jsonb,
		'geometry', '{"type": "LineString", "coordinates": [[116.4, 39.9], [116.5, 39.8]]}'::jsonb,
		'distance_m', 1234.5, 'duration_s', 600, 'depart', '2026-11-23T01:00:00Z',
		'return', '2026-11-23T02:00:00Z'))) AS p;
INSERT INTO got SELECT 'first', route_plan_store('ST1', '20261123-W0900', p) FROM plan;
SELECT is(v->'routes'->0->>'depart', '2026-11-23T09:00:00+08:00', 'the stored plan in local time')
  FROM got WHERE step = 'first';
SELECT is(v, route_plan_doc('ST1', '20261123-W0900'), 'store returns the document doc reads')
  FROM got WHERE step = 'first';
INSERT INTO got SELECT 'second', route_plan_store('ST1', '20261123-W0900',
	p || '{"routes": [], "unassigned": [{"order_id": "O-1", "reason": "late"}]}') FROM plan;
SELECT isnt((SELECT v->>'plan_id' FROM got WHERE step = 'second'),
	    (SELECT v->>'plan_id' FROM got WHERE step = 'first'), 'a replan is a new plan');
SELECT is((SELECT string_agg(version::text, ',' ORDER BY version) FROM route_plans
	    WHERE station_id = 'ST1'), '1,2', 'versions 1 and 2');
SELECT is((SELECT count(*)::integer FROM routes r JOIN route_plans p USING (plan_id)
	    WHERE p.station_id = 'ST1' AND p.version = 2), 0, 'routes included');
SELECT is(route_plan_doc('ST1', '20261123-W0900'), (SELECT v FROM got WHERE step = 'second'),
	  'the current version is the highest');
SELECT is(route_plan_doc_version('ST1', '20261123-W0900', 1), (SELECT v FROM got WHERE step = 'first'),
	  'version 1 as it was');
SELECT is(route_plan_doc_version('ST1', '20261123-W0900', 3), NULL, 'no version 3');

SELECT * FROM finish();
ROLLBACK;
