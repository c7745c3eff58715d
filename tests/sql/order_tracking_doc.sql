-- pgTAP: order_tracking_doc and courier_first_name (data/sql/), the
-- tracking page: its timeline texts, the live section while out for
-- delivery, and the masking of the public view.
BEGIN;
\ir fixtures.psql
SELECT plan(29);

SELECT is(courier_first_name('Li Lei'), 'Li', 'a first name is the first word');
SELECT is(courier_first_name('  Anna   Maria Schmidt '), 'Anna', 'spaces around do not count');
SELECT is(courier_first_name('王小明'), '王', 'a CJK name without space: its first character');
SELECT is(courier_first_name('Wang'), 'Wang', 'one Latin word is itself');
SELECT is(courier_first_name(''), NULL, 'a blank name is none');

SELECT is(order_tracking_doc('O-nobody', true), NULL, 'an unknown order has no tracking page');
SELECT is(pg_temp.outcomes(intake_commit(jsonb_build_array(
	pg_temp.entry('k1', '[{"w": "W1", "sku": "A", "qty": 1}]')))), '{ok}', 'an order');
UPDATE orders SET recipient = '{"name": "wang wei", "phone": "+86 138-0013-5678",
	"address": "Gate 3, 12 Dongsi Street\nFlat 402", "notes": "call on arrival"}'
 WHERE id = 'O-k1';

-- Through the warehouse and out for delivery with a courier, as the scans,
-- part C's stops and part E's route start leave it.
INSERT INTO couriers (id, station_id, name, phone, vehicle)
VALUES ('c-1', 'ST1', 'Li Lei', '13900000000', 'e_bike');
INSERT INTO stops (id, station_id, wave_key, order_id, attempt, status, courier_id, route_version,
		   position, eta, window_start, window_end, proof, pin)
VALUES ('stp_00000000000000a1', 'ST1', '20261123-W0900', 'O-k1', 1, 'planned', 'c-1', 1, 0,
	'2026-11-23T02:30:00Z', '2026-11-23T01:00:00Z', '2026-11-23T04:00:00Z', 'pin', '482913');
INSERT INTO courier_positions (courier_id, at, lon, lat, accuracy_m)
VALUES ('c-1', '2026-11-23T02:05:00Z', 116.41, 39.93, 8);
INSERT INTO order_events (order_id, shipment_seq, kind, at, detail) VALUES
	('O-k1', 1, 'picked', '2026-11-23T01:10:00Z', '{"actor": "tok_w", "place": "dock 4"}'),
	('O-k1', 1, 'packed', '2026-11-23T01:20:00Z', '{"actor": "tok_w"}'),
	('O-k1', 1, 'departed_warehouse', '2026-11-23T01:30:00Z', '{"actor": "tok_w"}'),
	('O-k1', 1, 'arrived_at_station', '2026-11-23T01:50:00Z', '{"actor": "tok_s"}'),
	('O-k1', 1, 'out_for_delivery', '2026-11-23T02:00:00Z',
	 '{"courier": "c-1", "courier_name": "Li Lei", "stop": "stp_00000000000000a1"}'),
	('O-k1', 1, 'eta_changed', '2026-11-23T02:05:00Z', '{"courier": "c-1"}');
UPDATE shipments SET status = 'out_for_delivery' WHERE order_id = 'O-k1';
UPDATE orders SET status = 'out_for_delivery' WHERE id = 'O-k1';

INSERT INTO got SELECT 'full', order_tracking_doc('O-k1', false);
INSERT INTO got SELECT 'public', order_tracking_doc('O-k1', true);
SELECT is((SELECT array_agg(e->>'kind') FROM got, jsonb_array_elements(v->'events') AS e
	    WHERE step = 'public'),
	  '{allocated,picked,packed,departed_warehouse,arrived_at_station,out_for_delivery}',
	  'the timeline, oldest first, without ETA changes');
SELECT is((SELECT array_agg(e->>'text') FROM got, jsonb_array_elements(v->'events') AS e
	    WHERE step = 'public'),
	  '{"Order confirmed; the parcel is being prepared","Picked at the warehouse","Packed",'
	  '"Left the warehouse","Arrived at the delivery station Station one",'
	  '"Out for delivery with Li"}', 'each event with its text');
SELECT is(v->'events'->1->>'place', 'dock 4', 'a scan''s place') FROM got WHERE step = 'public';
SELECT is(v->'events'->5->'courier', '{"first_name": "Li"}', 'the public courier: first name only')
  FROM got WHERE step = 'public';
SELECT is(v->'events'->5->'courier', '{"first_name": "Li", "id": "c-1"}',
	  'the full view names the courier''s id too') FROM got WHERE step = 'full';
SELECT is(v->'live', '{"courier": {"first_name": "Li"},
	"position": {"lon": 116.41, "lat": 39.93, "accuracy_m": 8, "at": "2026-11-23T02:05:00.000Z"},
	"stop": {"status": "planned", "attempt": 1, "eta": "2026-11-23T02:30:00.000Z",
		 "window_start": "2026-11-23T01:00:00.000Z", "window_end": "2026-11-23T04:00:00.000Z"}}',
	  'live: the courier, the last position and the stop''s ETA and window')
  FROM got WHERE step = 'public';
SELECT is(v->'recipient', '{"name": "W.", "phone_last4": "5678"}', 'the public recipient is masked')
  FROM got WHERE step = 'public';
SELECT is(v->'recipient', (SELECT recipient FROM orders WHERE id = 'O-k1'),
	  'the full view has the recipient as entered') FROM got WHERE step = 'full';
SELECT is(v->'stop'->>'pin', '482913', 'the full view has the stop''s PIN') FROM got WHERE step = 'full';
SELECT ok(NOT (v ?| '{order,external_id,stop}') AND v->>'tracking_code' LIKE 'TRK%',
	  'the public view has the tracking code, not the order''s ids nor the stop')
  FROM got WHERE step = 'public';
SELECT ok(strpos(v::text, 'wang') = 0 AND strpos(v::text, '0013') = 0
	  AND strpos(v::text, 'Dongsi') = 0 AND strpos(v::text, 'arrival') = 0
	  AND strpos(v::text, '482913') = 0 AND strpos(v::text, 'O-k1') = 0
	  AND strpos(v::text, 'c-1') = 0 AND strpos(v::text, 'tok_') = 0,
	  'no personal data, PIN, order id, courier id or token id in the public text')
  FROM got WHERE step = 'public';

-- A failed attempt, rescheduled: no live section; the reason is public,
-- the courier's notes are not.
UPDATE stops SET status = 'failed' WHERE id = 'stp_00000000000000a1';
UPDATE shipments SET status = 'rescheduled' WHERE order_id = 'O-k1';
INSERT INTO stops (id, station_id, wave_key, order_id, attempt, status)
VALUES ('stp_00000000000000a2', 'ST1', '20261124-W1400', 'O-k1', 2, 'pending');
INSERT INTO order_events (order_id, shipment_seq, kind, at, detail) VALUES
	('O-k1', 1, 'failed', '2026-11-23T02:40:00Z',
	 '{"courier": "c-1", "reason": "customer_absent", "notes": "neighbour Mr Zhao says away", "attempt": 1}'),
	('O-k1', 1, 'rescheduled', '2026-11-23T02:41:00Z',
	 '{"wave": "20261124-W1400", "window_start": "2026-11-24T06:00:00Z", "attempt": 2}');
INSERT INTO got SELECT 'failed', order_tracking_doc('O-k1', true);
INSERT INTO got SELECT 'failed_full', order_tracking_doc('O-k1', false);
SELECT is(v->'live', 'null', 'no live section once the stop failed') FROM got WHERE step = 'failed';
SELECT is((v->'events'->6) - 'at', '{"kind": "failed", "shipment": 1, "reason": "customer_absent",
	"attempt": 1, "courier": {"first_name": "Li"},
	"text": "Delivery attempt 1 failed: the recipient was not there"}',
	  'a failure with its reason, without the courier''s notes') FROM got WHERE step = 'failed';
SELECT is(v->'events'->6->>'notes', 'neighbour Mr Zhao says away', 'the full view has the notes')
  FROM got WHERE step = 'failed_full';
SELECT is((v->'events'->7) - 'at', '{"kind": "rescheduled", "shipment": 1, "attempt": 2,
	"rescheduled_to": {"wave": "20261124-W1400", "window_start": "2026-11-24T06:00:00Z"},
	"text": "Rescheduled to the delivery wave of 2026-11-24 14:00"}', 'rescheduled to when')
  FROM got WHERE step = 'failed';
SELECT is(v->'stop'->>'id', 'stp_00000000000000a2', 'the current stop is the latest attempt')
  FROM got WHERE step = 'failed_full';

-- A CJK name is masked to its first character.
UPDATE orders SET recipient = '{"name": "王伟"}' WHERE id = 'O-k1';
SELECT is(order_tracking_doc('O-k1', true)->'recipient', '{"name": "王*", "phone_last4": null}',
	  'a CJK name: its first character and *');

-- intake_commit stores what the entry carries: recipient, code, client;
-- an entry without a code (older daemons) gets one drawn in SQL.
SELECT is(pg_temp.outcomes(intake_commit(jsonb_build_array(
	pg_temp.entry('k2', '[{"w": "W1", "sku": "A", "qty": 1}]')
	  || '{"rcp": {"name": "Anna", "notes": "x"}, "cli": "tok_shop"}'::jsonb,
	pg_temp.entry('k3', '[{"w": "W1", "sku": "A", "qty": 1}]') - 'trk'))), '{ok,ok}',
	  'two orders, one without a code');
SELECT is((SELECT array[recipient::text, tracking_code, client_id] FROM orders WHERE id = 'O-k2'),
	  array['{"name": "Anna", "notes": "x"}', 'TRK' || upper(substr(md5('k2'), 1, 16)), 'tok_shop'],
	  'the recipient, the daemon''s code and the placing client are stored');
SELECT ok((SELECT tracking_code ~ '^TRK[0-9A-F]{16}$' AND recipient IS NULL AND client_id IS NULL
	     FROM orders WHERE id = 'O-k3'), 'a code is drawn when the entry has none');

-- An order in two parcels: each shipment's lines say which.
SELECT is(pg_temp.outcomes(intake_commit(jsonb_build_array(
	pg_temp.entry('k4', '[{"w": "W1", "sku": "A", "qty": 1}, {"w": "W2", "sku": "A", "qty": 1}]')))),
	  '{ok}', 'an order from two warehouses');
SELECT is((SELECT array_agg(e->>'text') FROM jsonb_array_elements(
		order_tracking_doc('O-k4', true)->'events') AS e),
	  '{"Parcel 1 of 2: Order confirmed; the parcel is being prepared",'
	  '"Parcel 2 of 2: Order confirmed; the parcel is being prepared"}',
	  'each parcel named in its events');

SELECT * FROM finish();
ROLLBACK;
