-- pgTAP: the service bookings (issue 12 part P2; data/sql/service_*.sql):
-- the windows of [services], service_offer's refusals, the slots offered
-- per engineer capacity and shift, service_book choosing the engineer and
-- refusing once the window or the day is full, cancel and reschedule with
-- the cut-off, the replay of an Idempotency-Key, and service_capacity_move
-- (the day planner's move: never above the daily capacity). Tuesday
-- 2030-01-08 08:00 in Asia/Shanghai; the windows offered are Wednesday's.
BEGIN;
\ir fixtures.psql
SELECT plan(44);

INSERT INTO skus (sku, name, category, weight_g, volume_ml, large, installable) VALUES
	('FRIDGE', 'Fridge', 'large_appliances', 80000, 500000, true, true),
	('TV', 'TV', 'large_appliances', 20000, 200000, true, false);
-- Orders O1..O7 of station ST1: line 1 a fridge, line 2 a TV, line 3 an A.
INSERT INTO orders (id, external_id, idempotency_key, status, station_id, station_name,
		    district_id, lon, lat, delivery_option, install, promise, created_at)
SELECT 'O' || i, 'EXT-O' || i, 'K-O' || i, 'allocated', 'ST1', 'Station one', 'D1', 116.4, 39.9,
       'standard', true,
       '{"standard": {"deliver_by": "2030-01-09T23:00:00+08:00",
		      "window_start": "2030-01-09T10:00:00+08:00",
		      "window_end": "2030-01-09T12:00:00+08:00"}}', '2030-01-08T00:00:00Z'
  FROM generate_series(1, 7) i;
INSERT INTO shipments (order_id, seq, warehouse_id, status)
SELECT 'O' || i, 1, 'W1', 'allocated' FROM generate_series(1, 7) i;
INSERT INTO order_lines (order_id, line_no, sku, qty, shipment_seq)
SELECT 'O' || i, l, (ARRAY['FRIDGE', 'TV', 'A'])[l], 1, 1
  FROM generate_series(1, 7) i, generate_series(1, 3) l;
UPDATE orders SET status = 'cancelled' WHERE id = 'O7';

-- Engineers: e-a all Wednesday (3 visits a day), e-b Wednesday morning (1),
-- e-c all day without the skill, e-d all day at another station.
INSERT INTO couriers (id, station_id, name, phone, vehicle, skills, kind, daily_capacity) VALUES
	('e-a', 'ST1', 'An Engineer', '+86 1', 'van', '{large_appliances}', 'engineer', 3),
	('e-b', 'ST1', 'Bo Engineer', '+86 2', 'van', '{large_appliances}', 'engineer', 1),
	('e-c', 'ST1', 'Ci Engineer', '+86 3', 'van', '{small_appliances}', 'engineer', 5),
	('e-d', 'ST2', 'Di Engineer', '+86 4', 'van', '{large_appliances}', 'engineer', 5);
INSERT INTO got SELECT 'shifts ' || e, courier_shifts_set(s, e, 'Asia/Shanghai',
			  jsonb_build_array(jsonb_build_object('dow', 3, 'start', '08:00', 'end', t)),
			  '[]', '2030-01-08T00:00:00Z')
  FROM (VALUES ('ST1', 'e-a', '20:00'), ('ST1', 'e-b', '13:00'), ('ST1', 'e-c', '20:00'),
	       ('ST2', 'e-d', '20:00')) v(s, e, t);

-- The configuration as the daemon sends it.
CREATE FUNCTION pg_temp.types() RETURNS jsonb LANGUAGE sql AS $$
	SELECT '[{"category": "large_appliances", "type": "installation", "duration_s": 5400,
		  "price_list": {"currency": "CNY", "base_fee_fen": 12000, "free": true, "extras": []}},
		 {"category": "large_appliances", "type": "repair", "duration_s": 3600,
		  "price_list": {"currency": "CNY", "base_fee_fen": 8000, "free": false, "extras": []}}]'::jsonb
$$;
CREATE FUNCTION pg_temp.windows() RETURNS jsonb LANGUAGE sql AS $$
	SELECT '[{"start_s": 32400, "end_s": 46800, "count": 2, "weekdays": 0},
		 {"start_s": 50400, "end_s": 64800, "count": 2, "weekdays": 0}]'::jsonb
$$;
CREATE FUNCTION pg_temp.slots(p_order text, p_line integer, p_type text,
			      p_delivery boolean DEFAULT false) RETURNS jsonb LANGUAGE sql AS $$
	SELECT service_slots(p_order, p_line, p_type, pg_temp.types(), pg_temp.windows(),
			     'Asia/Shanghai', 1, '2030-01-08T00:00:00Z', p_delivery)
$$;
-- The slots as "HH:MM=available" (local window starts).
CREATE FUNCTION pg_temp.offered(p_order text, p_line integer DEFAULT 1) RETURNS text
LANGUAGE sql AS $$
	SELECT coalesce(string_agg(substr(s->>'window_start', 12, 5) || '=' || (s->>'available'),
				   ' ' ORDER BY s->>'window_start'), '')
	  FROM jsonb_array_elements(pg_temp.slots(p_order, p_line, 'installation')->'slots') s
$$;
CREATE FUNCTION pg_temp.book(p_order text, p_start text, p_key text DEFAULT NULL,
			     p_type text DEFAULT 'installation', p_line integer DEFAULT 1)
RETURNS jsonb LANGUAGE sql AS $$
	SELECT service_book(p_order, p_line, p_type, pg_temp.types(), pg_temp.windows(),
			    'Asia/Shanghai', 1, 24, '2030-01-08T00:00:00Z', p_start::timestamptz,
			    false, 'tok-1', coalesce(p_key, 'key-' || p_order || '-' || p_start),
			    jsonb_build_object('order', p_order, 'start', p_start))
$$;
CREATE FUNCTION pg_temp.change(p_appointment text, p_start text,
			       p_now text DEFAULT '2030-01-08T00:00:00Z') RETURNS jsonb
LANGUAGE sql AS $$
	SELECT service_change(a.order_id, a.id, pg_temp.types(), pg_temp.windows(),
			      'Asia/Shanghai', 1, 24, p_now::timestamptz, p_start::timestamptz,
			      false, 'changed my mind', 'tok-1')
	  FROM service_appointments a WHERE a.id = p_appointment
$$;
CREATE FUNCTION pg_temp.visits() RETURNS text LANGUAGE sql AS $$
	SELECT coalesce(string_agg(engineer_id || '=' || visits || ' ' || windows::text, '; '
				   ORDER BY engineer_id), '')
	  FROM service_capacity WHERE visits > 0
$$;
CREATE FUNCTION pg_temp.appt(p_order text) RETURNS text LANGUAGE sql AS $$
	SELECT id FROM service_appointments WHERE order_id = p_order AND status <> 'cancelled'
$$;

-- 1. Windows: two per day, in time order, in the zone; a weekday mask.
SELECT is((SELECT string_agg(to_char(window_start AT TIME ZONE 'UTC', 'DD HH24:MI') || '/'
				 || per_engineer, ' ' ORDER BY window_start)
	     FROM service_windows(pg_temp.windows(), 'Asia/Shanghai', '2030-01-09', '2030-01-10')),
	  '09 01:00/2 09 06:00/2 10 01:00/2 10 06:00/2', 'two windows a day, local times');
SELECT is((SELECT count(*)::integer FROM service_windows(
		'[{"start_s": 32400, "end_s": 46800, "count": 1, "weekdays": 4}]',
		'Asia/Shanghai', '2030-01-07', '2030-01-13')), 1, 'weekdays: Wednesday only');

-- 2. What cannot be booked at all.
SELECT is(pg_temp.slots('O9', 1, 'installation')->>'r', 'not_found', 'no such order');
SELECT is(pg_temp.slots('O7', 1, 'installation')->>'r', 'cancelled', 'a cancelled order');
SELECT is(pg_temp.slots('O1', 9, 'installation')->>'r', 'no_line', 'no such line');
SELECT is(pg_temp.slots('O1', 1, 'cleaning'), '{"r": "unknown_type", "category": "large_appliances"}',
	  'a type not configured for the category');
SELECT is(pg_temp.slots('O1', 3, 'installation')->>'r', 'unknown_type', 'a category without services');
SELECT is(pg_temp.slots('O1', 2, 'installation'), '{"r": "not_installable", "sku": "TV"}',
	  'installation of a sku that is not installable');
SELECT is(pg_temp.slots('O1', 2, 'repair')->>'r', 'ok', 'but its repair is offered');

-- 3. Slots: the morning has e-a and e-b, the afternoon e-a only (e-b is off,
-- e-c has no skill, e-d is another station's); with the delivery: the
-- window containing 10:00 on the delivery day.
SELECT is(pg_temp.offered('O1'), '09:00=2 14:00=1', 'Wednesday: two engineers, then one');
SELECT is(pg_temp.slots('O1', 1, 'installation', true)->'slots',
	  '[{"day": "2030-01-09", "window_start": "2030-01-09T09:00:00+08:00",
	     "window_end": "2030-01-09T13:00:00+08:00", "available": 2}]',
	  'with_delivery: the delivery day''s window that contains the promise');
SELECT is((pg_temp.slots('O1', 1, 'installation')->>'duration_s'), '5400', 'the type''s duration');

-- 4. Booking: the least loaded engineer, then the window's limit (2 per
-- engineer) and the daily capacity (e-b: 1) refuse.
INSERT INTO got VALUES ('b1', pg_temp.book('O1', '2030-01-09T09:00:00+08:00'));
SELECT is((SELECT v->>'r' || ' ' || (v->'appointment'->'engineer'->>'id') FROM got WHERE step = 'b1'),
	  'ok e-a', 'the first goes to e-a (fewest visits, then id)');
SELECT is((SELECT (v->'appointment') - 'id' - 'created_at' - 'updated_at' FROM got WHERE step = 'b1'),
	  '{"order": "O1", "line": 1, "sku": "FRIDGE", "station": "ST1",
	    "category": "large_appliances", "type": "installation", "status": "booked",
	    "day": "2030-01-09", "window_start": "2030-01-09T09:00:00+08:00",
	    "window_end": "2030-01-09T13:00:00+08:00", "with_delivery": false,
	    "engineer": {"id": "e-a", "name": "An Engineer"}, "planned_duration_s": 5400,
	    "duration_s": null, "price_list": {"currency": "CNY", "base_fee_fen": 12000,
	    "free": true, "extras": []}, "change_until": "2030-01-08T09:00:00+08:00",
	    "position": null, "plan_version": null, "plan_note": null, "eta": null,
	    "arrived_at": null, "started_at": null, "completed_at": null, "charges": null,
	    "total": null, "total_fen": null, "currency": "CNY", "late": false,
	    "compensation": "0.00", "compensation_fen": 0, "outcome": null}', 'the appointment document with the price list');
SELECT is(pg_temp.book('O2', '2030-01-09T09:00:00+08:00')->'appointment'->'engineer'->>'id', 'e-b',
	  'the second to e-b');
SELECT is(pg_temp.book('O3', '2030-01-09T09:00:00+08:00')->'appointment'->'engineer'->>'id', 'e-a',
	  'the third to e-a again (e-b''s day is full)');
SELECT is(pg_temp.offered('O4'), '14:00=1', 'the morning is no longer offered');
SELECT is(pg_temp.book('O4', '2030-01-09T09:00:00+08:00'), '{"r": "exhausted"}',
	  'a fourth in the morning: capacity exhausted');
SELECT is(pg_temp.book('O4', '2030-01-09T12:00:00+08:00'), '{"r": "not_offered"}',
	  'a time that is no window');
SELECT is(pg_temp.book('O4', '2030-01-10T09:00:00+08:00'), '{"r": "not_offered"}',
	  'a window beyond the horizon');
-- Wednesday's automatic plan is done already: a visit booked into it
-- reopens its claim (it would never be planned otherwise).
INSERT INTO service_auto_plans (station_id, day, epoch, claimed_by, done_at, version)
VALUES ('ST1', '2030-01-09', 1, 'd1', now(), 1);
SELECT is(pg_temp.book('O4', '2030-01-09T14:00:00+08:00')->'appointment'->'engineer'->>'id', 'e-a',
	  'the afternoon: e-a''s third visit');
SELECT is((SELECT epoch || ' ' || coalesce(done_at::text, '-') FROM service_auto_plans),
	  '2 -', 'the booking reopened the day''s automatic plan');
SELECT is((SELECT station_id || ':' || epoch
	     FROM service_auto_claim('{ST1}', '2030-01-09', 'd2', 60, 5)), 'ST1:3',
	  'which a scheduler claims again');
UPDATE service_auto_plans SET done_at = now();
SELECT is(pg_temp.book('O5', '2030-01-09T14:00:00+08:00'), '{"r": "exhausted"}',
	  'e-a''s day is full: exhausted although the window has room');
SELECT is(pg_temp.visits(), 'e-a=3 {"2030-01-09T01:00:00Z": 2, "2030-01-09T06:00:00Z": 1}; '
	  'e-b=1 {"2030-01-09T01:00:00Z": 1}', 'the counts');
SELECT is(pg_temp.book('O1', '2030-01-09T14:00:00+08:00', 'another-key')->>'r', 'exists',
	  'the same line and type twice');
SELECT is((SELECT count(*)::integer FROM order_events WHERE kind = 'service.booked'), 4,
	  'one service.booked event per booking');
SELECT is((SELECT count(*)::integer FROM station_feed WHERE station_id = 'ST1'
	     AND kind = 'service.booked'), 4, 'and one feed line');

-- 5. Idempotency-Key: the same body replays, another is refused.
SELECT is(pg_temp.book('O1', '2030-01-09T09:00:00+08:00'),
	  jsonb_build_object('r', 'replay', 'appointment', (SELECT v->'appointment' FROM got
							     WHERE step = 'b1')),
	  'the same key and body: the first answer again');
SELECT is(pg_temp.book('O2', '2030-01-09T09:00:00+08:00', 'key-O1-2030-01-09T09:00:00+08:00'),
	  '{"r": "mismatch"}', 'the key with another body');

-- 6. Cancel and reschedule before the cut-off (Wednesday 09:00 - 24 h).
SELECT is(pg_temp.change(pg_temp.appt('O4'), NULL)->'appointment'->>'status', 'cancelled',
	  'cancel');
SELECT is(pg_temp.visits(), 'e-a=2 {"2030-01-09T01:00:00Z": 2, "2030-01-09T06:00:00Z": 0}; '
	  'e-b=1 {"2030-01-09T01:00:00Z": 1}', 'its unit is given back');
SELECT is((SELECT count(*)::integer FROM service_auto_plans WHERE done_at IS NOT NULL), 1,
	  'a refused booking (exhausted) or a cancel does not reopen it');
SELECT is(pg_temp.change(pg_temp.appt('O3'), '2030-01-09T14:00:00+08:00')->'appointment'->>'window_start',
	  '2030-01-09T14:00:00+08:00', 'reschedule O3 to the afternoon');
SELECT is(pg_temp.visits(), 'e-a=2 {"2030-01-09T01:00:00Z": 1, "2030-01-09T06:00:00Z": 1}; '
	  'e-b=1 {"2030-01-09T01:00:00Z": 1}', 'the unit moved to the new window');
SELECT is((SELECT epoch || ' ' || coalesce(done_at::text, '-') FROM service_auto_plans),
	  '4 -', 'a reschedule onto the day reopens it too');
SELECT is(pg_temp.change(pg_temp.appt('O1'), NULL, '2030-01-08T01:00:00Z'),
	  '{"r": "too_late", "cutoff": "2030-01-08T09:00:00+08:00"}', 'after the cut-off: too late');
SELECT is((SELECT string_agg(kind, ',' ORDER BY id) FROM order_events
	    WHERE kind IN ('service.cancelled', 'service.rescheduled')),
	  'service.cancelled,service.rescheduled', 'the events');

-- 7. service_capacity_move: never above the daily capacity.
SELECT is(service_capacity_move(pg_temp.appt('O1'), 'e-b'), false, 'e-b''s day is full');
SELECT is(service_capacity_move(pg_temp.appt('O2'), 'e-a'), true, 'O2 to e-a');
INSERT INTO got VALUES ('move O1', to_jsonb(service_capacity_move(pg_temp.appt('O1'), 'e-b')));
SELECT is((SELECT v FROM got WHERE step = 'move O1'), 'true', 'then O1 to e-b');
SELECT is(pg_temp.visits(), 'e-a=2 {"2030-01-09T01:00:00Z": 1, "2030-01-09T06:00:00Z": 1}; '
	  'e-b=1 {"2030-01-09T01:00:00Z": 1}', 'the units followed');
SELECT is((SELECT engineer_id || ' ' || capacity_engineer FROM service_appointments
	    WHERE id = pg_temp.appt('O1')), 'e-b e-b', 'and the engineer');
SELECT is(service_capacity_move(pg_temp.appt('O4'), 'e-a'), false, 'a cancelled one holds no unit');

SELECT * FROM finish();
ROLLBACK;
