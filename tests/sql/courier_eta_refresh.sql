-- pgTAP: courier_eta_refresh (data/sql/courier_eta_refresh.sql): ETAs move
-- only for started routes, only beyond the threshold, the later stops keep
-- their spacing, and each move is an eta_changed event.
BEGIN;
\ir fixtures.psql
SELECT plan(7);

INSERT INTO got SELECT 'orders', intake_commit(jsonb_build_array(
	pg_temp.entry('e1', '[{"w": "W1", "sku": "A", "qty": 1}]'),
	pg_temp.entry('e2', '[{"w": "W1", "sku": "A", "qty": 1}]')));
SELECT is(pg_temp.outcomes(v), '{ok,ok}', 'two orders') FROM got WHERE step = 'orders';
-- Both at 116.4 39.9 (the fixture's customer point).
INSERT INTO couriers (id, station_id, name, phone, vehicle) VALUES
	('eve', 'ST1', 'Eve', '+86 3', 'e_bike');
INSERT INTO stops (id, station_id, wave_key, order_id, status, courier_id, position, eta) VALUES
	('stp_00000000000000e1', 'ST1', '20261123-W0900', 'O-e1', 'planned', 'eve', 0,
	 '2026-11-23T01:30:00Z'),
	('stp_00000000000000e2', 'ST1', '20261123-W0900', 'O-e2', 'planned', 'eve', 1,
	 '2026-11-23T01:40:00Z');

-- 10 km east of the stops: 1.3 x 10 km at 15 km/h is 52 minutes.
CREATE FUNCTION pg_temp.refresh(p_lon float8) RETURNS integer LANGUAGE sql AS $$
	SELECT courier_eta_refresh(jsonb_build_array(jsonb_build_object(
		'c', 'eve', 't', 1, 'lon', p_lon, 'lat', 39.9)), '2026-11-23T01:00:00Z', 600)
$$;
SELECT is(pg_temp.refresh(116.5173), 0, 'not started: nothing moves');
INSERT INTO courier_route_starts VALUES ('eve', 'ST1', '20261123-W0900', 1, now());
SELECT is(pg_temp.refresh(116.5173), 2, 'started, 22 minutes late: both stops move');
SELECT is((SELECT to_char(eta AT TIME ZONE 'UTC', 'HH24:MI') FROM stops
	    WHERE id = 'stp_00000000000000e1'), '01:52', 'the next stop at now + 52 min');
SELECT is((SELECT extract(epoch FROM max(eta) - min(eta))::integer FROM stops
	    WHERE courier_id = 'eve'), 600, 'the second keeps its 10 minutes');
SELECT is((SELECT detail->>'previous' FROM order_events WHERE order_id = 'O-e1'
	    AND kind = 'eta_changed'), '2026-11-23T01:30:00Z', 'the event names the old ETA');
SELECT is(pg_temp.refresh(116.52), 0, 'a few metres more: below the threshold');

SELECT * FROM finish();
ROLLBACK;
