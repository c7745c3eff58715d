-- pgTAP: pickup points (issue 13 part C2; data/sql/pickup_*.sql): the
-- records' scope, capacity counted per point and per locker size, the code
-- taken from the daemon's candidates (the first whose hash the point never
-- had: a collected parcel's code is not issued again), a repeated scan, only
-- a parcel on its way (not at the warehouse; never again once it left),
-- collection by code hash (retry under the same key; the key with another
-- code is a mismatch; a reused, wrong or never-issued code get one answer;
-- the wrong-code limit), and expiry back to the station and on as a
-- return, once. Codes here are stand-ins: their hash is sha256 of the
-- digits (the daemon's is a keyed BLAKE2b PostgreSQL cannot make).
BEGIN;
\ir fixtures.psql
SELECT plan(47);

INSERT INTO areas (kind, id, name, props, geom, point, area_m2) VALUES
	('station', 'ST1', 'Station one', '{"district": "D1"}',
	 ST_Multi(ST_MakeEnvelope(116.3, 39.8, 116.5, 40.0, 4326)),
	 ST_SetSRID(ST_MakePoint(116.4, 39.9), 4326), 1e8);
INSERT INTO got SELECT 'o' || i, intake_commit(jsonb_build_array(
	pg_temp.entry('pk' || i, '[{"w": "W1", "sku": "A", "qty": 1}]')))
FROM generate_series(1, 5) i;

CREATE FUNCTION pg_temp.save(p_id text, p_body text, p_role text DEFAULT 'admin',
			     p_scope text[] DEFAULT '{}') RETURNS jsonb LANGUAGE sql AS $$
	SELECT pickup_point_save(p_id, p_body::jsonb, p_role, p_scope, '2026-11-23T02:00:00Z')
$$;
CREATE FUNCTION pg_temp.h(p_code text) RETURNS text LANGUAGE sql AS $$
	SELECT encode(sha256(convert_to(p_code, 'UTF8')), 'hex')
$$;
CREATE FUNCTION pg_temp.arrive(p_order text, p_codes text[], p_point text DEFAULT 'P1',
			       p_size text DEFAULT NULL, p_key_id text DEFAULT repeat('aa', 8))
RETURNS jsonb LANGUAGE sql AS $$
	SELECT pickup_arrival(p_point, p_order, p_size,
			      ARRAY(SELECT pg_temp.h(c) FROM unnest(p_codes) WITH ORDINALITY u (c, n)
				    ORDER BY n),
			      ARRAY(SELECT repeat('00', 48) FROM unnest(p_codes)), p_key_id, 3,
			      'admin', '{}',
			      'tok_test', '2026-11-23T02:00:00Z')
$$;
CREATE FUNCTION pg_temp.collect(p_code text, p_key text, p_limits int[] DEFAULT '{5,600,50,3600}')
RETURNS jsonb LANGUAGE sql AS $$
	SELECT pickup_collect('P1', pg_temp.h(p_code), p_key, p_limits, 'pickup_point', '{P1}',
			      'tok_pp', '2026-11-24T02:00:00Z')
$$;

-- Records and scope.
SELECT is(pg_temp.save(NULL, '{"id": "P1", "station": "ST1", "name": "Shop", "lon": 116.4,
	  "lat": 39.9, "capacity": 2}')->>'r', 'created', 'admin creates');
SELECT is(pg_temp.save(NULL, '{"id": "P2", "station": "ST1", "name": "Other", "lon": 116.4,
	  "lat": 39.9, "capacity": 1}', 'station', '{ST9}')->>'r', 'not_found',
	  'a station creates no point of another station');
SELECT is(pg_temp.save(NULL, '{"id": "P2", "station": "ST7", "name": "x", "lon": 1, "lat": 1,
	  "capacity": 1}')->>'r', 'no_station', 'an unknown station is named');
SELECT is(pg_temp.save(NULL, '{"id": "L1", "station": "ST1", "name": "Locker", "lon": 116.4,
	  "lat": 39.9, "kind": "locker", "capacity": 2, "compartments": {"S": 1, "M": 1, "L": 0}}',
	  'station', '{ST1}')->>'r', 'created', 'its station creates a locker');
SELECT ok(pickup_point_visible('P1', 'pickup_point', '{P1}')
	  AND NOT pickup_point_visible('P1', 'pickup_point', '{L1}')
	  AND NOT pickup_point_visible('P1', 'station', '{ST9}'), 'visibility by role and scope');
UPDATE orders SET pickup_point_id = 'P1' WHERE id IN ('O-pk1', 'O-pk2', 'O-pk3');
UPDATE orders SET pickup_point_id = 'L1' WHERE id = 'O-pk4';
SELECT is(pg_temp.arrive('O-pk1', '{111111}'),
	  '{"r": "illegal", "current": "allocated", "message": "the order''s parcel is not on its way to this pickup point (allocated)"}',
	  'a parcel still at the warehouse is not scanned in');
UPDATE shipments SET status = 'out_for_delivery' WHERE order_id LIKE 'O-pk%';

-- Arrivals: the first free candidate code, capacity, a repeated scan.
SELECT is(pg_temp.arrive('O-pk1', '{111111,222222}')->>'r', 'created', 'held');
SELECT is(pg_temp.arrive('O-pk2', '{111111,222222}')->>'r', 'created', 'a second one held');
SELECT is((SELECT string_agg(encode(code_hash, 'hex'), ',' ORDER BY order_id)
	    FROM pickup_parcels), pg_temp.h('111111') || ',' || pg_temp.h('222222'),
	  'a code in use is skipped');
SELECT is(pg_temp.arrive('O-pk3', '{333333}'), '{"r": "full", "held": 2}', 'the point is full');
SELECT is(pg_temp.arrive('O-pk1', '{444444}')->>'r', 'ok', 'a repeated scan answers the parcel');
SELECT is((SELECT count(*)::int FROM pickup_parcels WHERE point_id = 'P1'), 2,
	  'and takes no second place');
SELECT is(pg_temp.arrive('O-pk4', '{555555}', 'P1')->>'field', 'order',
	  'an order routed elsewhere is refused');
SELECT is(pg_temp.arrive('O-nope', '{555555}', 'P1')->'message',
	  pg_temp.arrive('O-pk4', '{555555}', 'P1')->'message', 'the same answer as no order');
SELECT is(pg_temp.arrive('O-pk4', '{555555}', 'L1')->>'field', 'size', 'a locker needs a size');
SELECT is(pg_temp.arrive('O-pk4', '{555555}', 'L1', 'L')->>'r', 'full',
	  'a locker counts places per size');
SELECT is(pg_temp.arrive('O-pk4', '{555555}', 'L1', 'S')->>'r', 'created', 'an S place is free');
SELECT is(pg_temp.save('P1', '{"capacity": 1}')->>'r', 'below_held',
	  'capacity below what is held is refused');
SELECT is(pickup_point_retire('L1', 'admin', '{}', now())->>'r', 'holding',
	  'a point holding parcels is not retired');

-- Collections.
SELECT is(pg_temp.collect('999999', 'k1')->'message', to_jsonb(
	  'no parcel at this pickup point waits for this code'::text), 'a wrong code');
SELECT is(pg_temp.collect('111111', 'k1')->'parcel'->>'status', 'collected', 'collected');
SELECT is(pg_temp.collect('111111', 'k1')->'parcel'->>'status', 'collected',
	  'the same key answers again');
SELECT is(pg_temp.collect('111111', 'k2'), pg_temp.collect('999999', 'k3'),
	  'a reused code answers as a wrong one');
SELECT is(pg_temp.collect('222222', 'k1'), '{"r": "mismatch"}',
	  'the key of a collection with another code is a mismatch');
SELECT is((SELECT count(*)::int FROM pickup_code_failures WHERE point_id = 'P1'), 3,
	  'each wrong code is counted, nothing else');
SELECT is(pg_temp.collect('222222', 'k4', '{3,600,50,3600}'), '{"r": "limited", "retry_after": 600}',
	  'over the caller''s limit even the right code is refused, until the window passes');
SELECT is(pg_temp.collect('222222', 'k4', '{9,600,3,60}'), '{"r": "limited", "retry_after": 60}',
	  'and over the point''s');
-- Over the limit by more than one: the wait lasts until enough of them
-- left the window (here the 2nd oldest of 3 with a limit of 2), not the oldest.
INSERT INTO pickup_code_failures (point_id, actor, at) VALUES
	('P1', 'tok_x', '2026-11-24T01:51:40Z'), ('P1', 'tok_x', '2026-11-24T01:53:20Z'),
	('P1', 'tok_x', '2026-11-24T01:55:00Z');
SELECT is(pickup_collect('P1', pg_temp.h('222222'), 'k5', '{2,600,50,3600}', 'pickup_point',
			 '{P1}', 'tok_x', '2026-11-24T02:00:00Z'),
	  '{"r": "limited", "retry_after": 200}', 'retry_after: until the count is below the limit');
SELECT is((SELECT status FROM pickup_parcels WHERE order_id = 'O-pk2'), 'held', 'still held');
SELECT is(pg_temp.arrive('O-pk3', '{111111,333333}')->>'r', 'created',
	  'a place freed by the collection is taken');
SELECT is((SELECT encode(code_hash, 'hex') FROM pickup_parcels WHERE order_id = 'O-pk3'),
	  pg_temp.h('333333'), 'a collected parcel''s code is never issued again at its point');
SELECT is((SELECT string_agg(kind, ',' ORDER BY id) FROM order_events
	    WHERE order_id = 'O-pk1' AND kind LIKE 'pickup.%'), 'pickup.arrived,pickup.collected',
	  'the order events');
SELECT is((SELECT string_agg(kind, ',' ORDER BY seq) FROM station_feed
	    WHERE station_id = 'ST1' AND data->>'order' = 'O-pk1'),
	  'pickup.arrived,pickup.collected', 'the feed lines');

-- Expiry: once, back to the station, on to W1 as a return of every line.
SELECT is(pickup_expire('2026-11-26T01:59:59Z', true, 100), 0, 'nothing due before hold_until');
SELECT is(pickup_expire('2026-11-26T02:00:00Z', true, 100), 3, 'the held parcels expire');
SELECT is((SELECT string_agg(r.order_id || ':' || r.reason || ':' || r.status || ':' ||
			     r.warehouse_id || ':' || l.qty, ',' ORDER BY r.order_id)
	    FROM returns r JOIN return_lines l ON l.return_id = r.id),
	  'O-pk2:uncollected:at_station:W1:1,O-pk3:uncollected:at_station:W1:1,'
	  'O-pk4:uncollected:at_station:W1:1', 'each goes on as a return');
SELECT is(pickup_expire('2026-11-27T00:00:00Z', true, 100), 0, 'an expired parcel stays expired');
SELECT is(pg_temp.arrive('O-pk2', '{777777}')->>'current', 'expired',
	  'an expired parcel is not scanned in again');
-- A parcel held when migration 037 dropped its 6-digit code: its next scan
-- gives it a code (the first the point never had), answered as a repeat.
UPDATE orders SET pickup_point_id = 'P1', status = 'out_for_delivery' WHERE id = 'O-pk5';
INSERT INTO pickup_parcels (point_id, order_id, arrived_at, hold_until)
VALUES ('P1', 'O-pk5', '2026-11-26T03:00:00Z', '2026-11-29T03:00:00Z');
SELECT is(pg_temp.arrive('O-pk5', '{111111,888888}')->>'r', 'ok', 'a codeless parcel scanned again');
SELECT is((SELECT encode(code_hash, 'hex') FROM pickup_parcels WHERE order_id = 'O-pk5'),
	  pg_temp.h('888888'), 'gets a code now');
-- The token key file replaced: a repeated scan under the same key keeps the
-- code; under another key (its fingerprint) the dead code is replaced, and
-- the order service learns of it (order event and feed line).
SELECT is(pg_temp.arrive('O-pk5', '{999000}')->>'r', 'ok', 'scanned again under the same key');
SELECT is((SELECT encode(code_hash, 'hex') FROM pickup_parcels WHERE order_id = 'O-pk5'),
	  pg_temp.h('888888'), 'keeps its code');
SELECT is(pg_temp.arrive('O-pk5', '{888888,999000}', 'P1', NULL, repeat('bb', 8))->>'r', 'ok',
	  'scanned again after the key changed');
SELECT is((SELECT encode(code_hash, 'hex') || ':' || encode(code_key_id, 'hex')
	     FROM pickup_parcels WHERE order_id = 'O-pk5'),
	  pg_temp.h('999000') || ':' || repeat('bb', 8), 'a new code under the new key');
SELECT is((SELECT string_agg(kind, ',' ORDER BY id) FROM order_events
	    WHERE order_id = 'O-pk5' AND kind LIKE 'pickup.%')
	  || '/' || (SELECT string_agg(kind, ',' ORDER BY seq) FROM station_feed
		     WHERE station_id = 'ST1' AND data->>'order' = 'O-pk5'),
	  'pickup.code_issued,pickup.code_issued/pickup.code_issued,pickup.code_issued',
	  'each new code is an order event and a feed line');
SELECT is((SELECT count(*)::int FROM returns WHERE order_id = 'O-pk2'), 1, 'nor returned twice');
-- The point moved to another station between the arrival's first read and
-- its lock (played by a trigger on the feed head it locks): the feed head
-- locked is the wrong one, so the scan is answered as one to send again.
INSERT INTO areas (kind, id, name, props, geom, point, area_m2) VALUES
	('station', 'ST2', 'Station two', '{"district": "D1"}',
	 ST_Multi(ST_MakeEnvelope(116.3, 39.8, 116.5, 40.0, 4326)),
	 ST_SetSRID(ST_MakePoint(116.4, 39.9), 4326), 1e8);
CREATE FUNCTION test_move_p1() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	UPDATE pickup_points SET station_id = 'ST2' WHERE id = 'P1';
	RETURN NEW;
END
$$;
CREATE TRIGGER test_move_p1 BEFORE INSERT ON station_feed_heads
	FOR EACH ROW EXECUTE FUNCTION test_move_p1();
SELECT is(pg_temp.arrive('O-pk5', '{999000}'), '{"r": "retry"}',
	  'a point moved station meanwhile: send again');
DROP TRIGGER test_move_p1 ON station_feed_heads;

SELECT * FROM finish();
ROLLBACK;
