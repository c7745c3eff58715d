-- pgTAP: station_feed_add and station_feed_read (data/sql/station_feed_*.sql)
-- and the feed line of an arrived_at_station scan (shipment_scan): numbers
-- per station from 1 with no gap, the feed append-only, pages after a
-- cursor with next_cursor, more and the head, and one shipment.arrived
-- {order, seq} per shipment that arrives (none for a re-scan or a replay).
BEGIN;
\ir fixtures.psql
SELECT plan(24);

-- 1. Numbering: per station, from 1, in call order.
SELECT is(station_feed_add('S1', 'test.a', '{"n": 1}'), 1::bigint, 'S1 starts at 1');
SELECT is(station_feed_add('S1', 'test.b', NULL), 2::bigint, 'then 2');
SELECT is(station_feed_add('S2', 'test.a', '{}'), 1::bigint, 'S2 has its own numbers');
SELECT is(station_feed_add('S1', 'test.c', '{"x": [1, 2]}'), 3::bigint, 'S1 goes on at 3');
SELECT is((SELECT seq FROM station_feed_heads WHERE station_id = 'S1'), 3::bigint, 'the head is 3');
SELECT is((SELECT array_agg(seq ORDER BY seq) FROM station_feed WHERE station_id = 'S1'),
	  '{1,2,3}'::bigint[], 'no gap');
SELECT is((SELECT data FROM station_feed WHERE station_id = 'S1' AND seq = 2), '{}'::jsonb,
	  'NULL data is an empty object');

-- 2. Append-only.
SELECT throws_ok($$UPDATE station_feed SET kind = 'x' WHERE station_id = 'S1'$$, '42501', NULL,
		 'no update');
SELECT throws_ok($$DELETE FROM station_feed WHERE station_id = 'S1'$$, '42501', NULL, 'no delete');
SELECT throws_ok($$INSERT INTO station_feed (station_id, seq, kind) VALUES ('S1', 2, 'dup')$$,
		 '23505', NULL, 'a number is never reused');

-- 3. Reading pages.
SELECT is((SELECT head FROM station_feed_read('S1', 0, 100)), 3::bigint, 'read: the head');
SELECT is((SELECT n FROM station_feed_read('S1', 0, 100)), 3, 'read: all three');
SELECT is((SELECT doc->'changes' FROM station_feed_read('S1', 0, 2)) @> '[{"seq": 1, "kind": "test.a",
	  "data": {"n": 1}}, {"seq": 2, "kind": "test.b"}]'::jsonb, true, 'read: a page of two, in order');
SELECT is((SELECT (doc->>'next_cursor', doc->>'more', n) FROM station_feed_read('S1', 0, 2)),
	  ROW('2'::text, 'true'::text, 2), 'read: next cursor 2, more');
SELECT is((SELECT (doc->>'next_cursor', doc->>'more', n) FROM station_feed_read('S1', 2, 2)),
	  ROW('3'::text, 'false'::text, 1), 'read: the last one, no more');
SELECT is((SELECT (doc->>'next_cursor', doc->>'more', n, doc->'changes') FROM station_feed_read('S1', 3, 2)),
	  ROW('3'::text, 'false'::text, 0, '[]'::jsonb), 'read: nothing after the head, cursor kept');
SELECT is((SELECT (head, n) FROM station_feed_read('S9', 0, 10)), ROW(0::bigint, 0),
	  'read: a station without a feed has head 0');
SELECT matches((SELECT doc->'changes'->0->>'at' FROM station_feed_read('S1', 0, 1)),
	       '^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$', 'read: at in UTC, RFC 3339');

-- 4. The arrived_at_station scan appends shipment.arrived for the order's station.
INSERT INTO got SELECT 'orders', intake_commit(jsonb_build_array(
	pg_temp.entry('f1', '[{"w": "W1", "sku": "A", "qty": 1}]')));
CREATE FUNCTION pg_temp.scan(p_event text, p_key text) RETURNS jsonb LANGUAGE sql AS $$
	SELECT shipment_scan('O-f1', 1, p_event, NULL, '', 'tok_a', 'admin', NULL, p_key)
$$;
SELECT is(pg_temp.scan('picked', 'f-p')->>'r', 'ok', 'picked');
SELECT is((SELECT count(*)::integer FROM station_feed WHERE station_id = 'ST1'), 0,
	  'a warehouse scan adds nothing to the feed');
SELECT pg_temp.scan('packed', 'f-k');
SELECT pg_temp.scan('departed_warehouse', 'f-d');
SELECT is(pg_temp.scan('arrived_at_station', 'f-a')->'shipment'->>'status', 'arrived_at_station',
	  'arrived');
SELECT is((SELECT array_agg(ROW(seq, kind, data)::text) FROM station_feed WHERE station_id = 'ST1'),
	  ARRAY[ROW(1::bigint, 'shipment.arrived', '{"order": "O-f1", "seq": 1}'::jsonb)::text],
	  'one shipment.arrived {order, seq} on the order''s station');
SELECT is(pg_temp.scan('arrived_at_station', 'f-a')->>'replay', 'true', 'a replay');
SELECT is((SELECT count(*)::integer FROM (SELECT shipment_scan_batch(
	'[{"order": "O-f1", "seq": 1, "event": "arrived_at_station", "key": "f-a2"}]',
	'tok_a', 'station', '{ST1}')) b, station_feed WHERE station_id = 'ST1'), 1,
	  'neither a replay nor a re-scan adds a line');

SELECT * FROM finish();
ROLLBACK;
