-- pgTAP: couriers_on_shift (data/sql/couriers_on_shift.sql) over shifts set
-- with courier_shifts_set and duty marks made with courier_duty_set: the
-- weekly pattern, a dated override, a day off, an off-duty mark (and back
-- on), clipping to the window, merging adjacent shifts, an inactive courier
-- and another station's. Tuesday 2030-01-08 in Asia/Shanghai (UTC+8).
-- Also what going off duty writes: the feed line and today's replans.
BEGIN;
\ir fixtures.psql
SELECT plan(29);

INSERT INTO couriers (id, station_id, name, phone, vehicle, skills, active) VALUES
	('c-week', 'ST1', 'Wang Wei', '+86 138 0000 0001', 'e_bike', '{cold}', true),
	('c-over', 'ST1', 'Li Na', '+86 138 0000 0002', 'van', '{}', true),
	('c-off', 'ST1', 'Zhang San', '+86 138 0000 0003', 'tricycle', '{}', true),
	('c-duty', 'ST1', 'Zhao Liu', '+86 138 0000 0004', 'e_bike', '{}', true),
	('c-split', 'ST1', 'Sun Qi', '+86 138 0000 0005', 'e_bike', '{}', true),
	('c-gone', 'ST1', 'Zhou Ba', '+86 138 0000 0006', 'e_bike', '{}', false),
	('c-other', 'ST2', 'Wu Jiu', '+86 138 0000 0007', 'e_bike', '{}', true),
	('c-none', 'ST1', 'Zheng Shi', '+86 138 0000 0008', 'e_bike', '{}', true);

CREATE FUNCTION pg_temp.shifts(p_station text, p_courier text, p_weekly jsonb,
			       p_dates jsonb DEFAULT '[]') RETURNS jsonb LANGUAGE sql AS $$
	SELECT courier_shifts_set(p_station, p_courier, 'Asia/Shanghai', p_weekly, p_dates,
				  '2030-01-08T00:00:00Z')
$$;
-- Tuesday 08:00-20:00 for most; the weekly pattern of c-split is two
-- touching shifts and one later on.
INSERT INTO got SELECT 'set ' || c, pg_temp.shifts('ST1', c, '[{"dow": 2, "start": "08:00", "end": "20:00"},
				  {"dow": 3, "start": "08:00", "end": "20:00"}]')
  FROM unnest('{c-week,c-duty,c-gone}'::text[]) AS c;
INSERT INTO got SELECT 'set c-other', pg_temp.shifts('ST2', 'c-other', '[{"dow": 2, "start": "08:00", "end": "20:00"}]');
INSERT INTO got SELECT 'set c-split', pg_temp.shifts('ST1', 'c-split', '[{"dow": 2, "start": "08:00", "end": "12:00"},
					  {"dow": 2, "start": "12:00", "end": "13:00"},
					  {"dow": 2, "start": "15:00", "end": "24:00"}]');
INSERT INTO got SELECT 'set c-over', pg_temp.shifts('ST1', 'c-over', '[{"dow": 2, "start": "08:00", "end": "20:00"},
					 {"dow": 3, "start": "08:00", "end": "20:00"}]',
		      '[{"date": "2030-01-08", "start": "10:00", "end": "14:00"}]');
INSERT INTO got SELECT 'set c-off', pg_temp.shifts('ST1', 'c-off', '[{"dow": 2, "start": "08:00", "end": "20:00"},
					{"dow": 3, "start": "08:00", "end": "20:00"}]',
		      '[{"date": "2030-01-08"}]');
SELECT is(pg_temp.shifts('ST2', 'c-week', '[]'), NULL, 'another station''s courier: not set');

-- One window's answer as "courier start-end" (local times), in order.
CREATE FUNCTION pg_temp.on_shift(p_from text, p_to text, p_station text DEFAULT 'ST1')
RETURNS text LANGUAGE sql AS $$
	SELECT coalesce(string_agg(courier_id || ' '
			|| to_char(shift_start AT TIME ZONE 'Asia/Shanghai', 'DD HH24:MI') || '-'
			|| to_char(shift_end AT TIME ZONE 'Asia/Shanghai', 'DD HH24:MI'), ', '
			ORDER BY courier_id, shift_start), '')
	  FROM couriers_on_shift(p_station, p_from::timestamptz, p_to::timestamptz)
$$;

-- 1. The weekly pattern, clipped to the window; overrides, a day off.
SELECT is(pg_temp.on_shift('2030-01-08T09:00:00+08', '2030-01-08T11:00:00+08'),
	  'c-duty 08 09:00-08 11:00, c-over 08 10:00-08 11:00, c-split 08 09:00-08 11:00, '
	  'c-week 08 09:00-08 11:00',
	  'Tuesday 09-11: the weekly ones, the override from 10, not the day off nor the inactive');
SELECT is(pg_temp.on_shift('2030-01-08T06:00:00+08', '2030-01-08T09:00:00+08'),
	  'c-duty 08 08:00-08 09:00, c-split 08 08:00-08 09:00, c-week 08 08:00-08 09:00',
	  'a window starting before the shift is clipped to the shift');
SELECT is(pg_temp.on_shift('2030-01-08T19:00:00+08', '2030-01-08T21:00:00+08'),
	  'c-duty 08 19:00-08 20:00, c-split 08 19:00-08 21:00, c-week 08 19:00-08 20:00',
	  'a window ending after the shift is clipped to the shift');
SELECT is(pg_temp.on_shift('2030-01-08T12:30:00+08', '2030-01-08T15:00:00+08'),
	  'c-duty 08 12:30-08 15:00, c-over 08 12:30-08 14:00, c-split 08 12:30-08 13:00, '
	  'c-week 08 12:30-08 15:00',
	  'the override ends at 14:00; c-split''s second shift ends at 13:00');
SELECT is(pg_temp.on_shift('2030-01-08T06:00:00+08', '2030-01-08T14:00:00+08'),
	  'c-duty 08 08:00-08 14:00, c-over 08 10:00-08 14:00, c-split 08 08:00-08 13:00, '
	  'c-week 08 08:00-08 14:00',
	  'touching shifts (08-12, 12-13) are one stretch');
SELECT is(pg_temp.on_shift('2030-01-08T12:00:00+08', '2030-01-08T16:00:00+08'),
	  'c-duty 08 12:00-08 16:00, c-over 08 12:00-08 14:00, c-split 08 12:00-08 13:00, '
	  'c-split 08 15:00-08 16:00, c-week 08 12:00-08 16:00',
	  'two shifts in the window: two rows');
SELECT is(pg_temp.on_shift('2030-01-08T22:00:00+08', '2030-01-09T09:00:00+08'),
	  'c-duty 09 08:00-09 09:00, c-off 09 08:00-09 09:00, c-over 09 08:00-09 09:00, '
	  'c-split 08 22:00-09 00:00, c-week 09 08:00-09 09:00',
	  'across midnight: Tuesday until 24:00, then Wednesday''s pattern (no override that day)');
SELECT is(pg_temp.on_shift('2030-01-12T08:00:00+08', '2030-01-12T20:00:00+08'), '',
	  'Saturday: nobody works');
SELECT is(pg_temp.on_shift('2030-01-08T11:00:00+08', '2030-01-08T10:00:00+08'), '',
	  'an empty window: nobody');
SELECT is(pg_temp.on_shift('2030-01-08T09:00:00+08', '2030-01-08T11:00:00+08', 'ST2'),
	  'c-other 08 09:00-08 11:00', 'another station: only its own courier');
SELECT is((SELECT row(vehicle, capacity_kg, capacity_l, speed_kmh, skills)::text
	     FROM couriers_on_shift('ST1', '2030-01-08T09:00:00+08', '2030-01-08T11:00:00+08')
	    WHERE courier_id = 'c-week'),
	  row('e_bike', 150::float8, 1200::float8, 15::float8, '{cold}'::text[])::text,
	  'the vehicle profile''s capacities and speed, and the skills');
SELECT is((SELECT count(*)::integer FROM couriers_on_shift('ST1', '2030-01-08T09:00:00+08',
							     '2030-01-08T11:00:00+08')
	    WHERE courier_id = 'c-none'), 0, 'a courier without shifts is never on shift');

-- 2. The shifts as the API shows them.
SELECT is(courier_doc('ST1', 'c-split', '2030-01-08T02:00:00Z')->'shifts',
	  '{"timezone": "Asia/Shanghai", "overrides": [], "weekly": [
	    {"days": ["tue"], "start": "08:00", "end": "12:00"},
	    {"days": ["tue"], "start": "12:00", "end": "13:00"},
	    {"days": ["tue"], "start": "15:00", "end": "24:00"}]}'::jsonb, 'c-split''s shifts');
SELECT is(courier_doc('ST1', 'c-week', '2030-01-08T02:00:00Z')->'shifts'->'weekly',
	  '[{"days": ["tue", "wed"], "start": "08:00", "end": "20:00"}]'::jsonb,
	  'days with the same hours are one entry');
SELECT is(courier_doc('ST1', 'c-off', '2030-01-08T02:00:00Z')->'shifts'->'overrides',
	  '[{"date": "2030-01-08", "off": true}]'::jsonb, 'a day off');
SELECT is(courier_doc('ST2', 'c-week', '2030-01-08T02:00:00Z'), NULL,
	  'another station''s courier has no doc here');

-- 3. Off duty: at 10:00 until marked on at 11:00; the feed and replans.
INSERT INTO got SELECT 'orders', intake_commit(jsonb_build_array(
	pg_temp.entry('k1', '[{"w": "W1", "sku": "A", "qty": 1}]'),
	pg_temp.entry('k2', '[{"w": "W1", "sku": "A", "qty": 1}]'),
	pg_temp.entry('k3', '[{"w": "W1", "sku": "A", "qty": 1}]')));
INSERT INTO stops (id, station_id, wave_key, order_id, status, courier_id, position) VALUES
	('stp_0000000000000001', 'ST1', '20300108-W0900', 'O-k1', 'planned', 'c-duty', 0),
	('stp_0000000000000002', 'ST1', '20300108-W1400', 'O-k2', 'delivered', 'c-duty', 0),
	('stp_0000000000000003', 'ST1', '20300109-W0900', 'O-k3', 'planned', 'c-duty', 0);
INSERT INTO got SELECT 'off', courier_duty_set('ST1', 'c-duty', false, 'flat tyre', 'tok_s',
					      '2030-01-08T10:00:00+08', 'Asia/Shanghai');
SELECT is(v, '{"r": "ok", "courier": "c-duty", "on_shift": false, "changed": true,
	  "at": "2030-01-08T02:00:00Z", "until": "2030-01-08T16:00:00Z", "reason": "flat tyre",
	  "replans_due": ["20300108-W0900"]}'::jsonb, 'off until the end of the local day')
  FROM got WHERE step = 'off';
SELECT is((SELECT string_agg(wave_key || ' ' || reason, ',') FROM wave_replans_due
	    WHERE station_id = 'ST1'), '20300108-W0900 courier.off_shift',
	  'a replan of today''s wave with planned stops only (not done, not tomorrow)');
SELECT is((SELECT kind || ' ' || data::text FROM station_feed WHERE station_id = 'ST1'),
	  'courier.off_shift {"at": "2030-01-08T02:00:00Z", "reason": "flat tyre", "courier": "c-duty"}',
	  'the feed line');
SELECT is(courier_duty_set('ST1', 'c-duty', false, 'again', 'tok_s', '2030-01-08T10:30:00+08',
			   'Asia/Shanghai')->>'changed', 'false', 'off again: nothing changes');
SELECT is((SELECT count(*)::integer FROM station_feed WHERE station_id = 'ST1'), 1,
	  'and no second feed line');
SELECT is(courier_doc('ST1', 'c-duty', '2030-01-08T02:30:00Z')->'off_duty',
	  '{"since": "2030-01-08T02:00:00Z", "until": "2030-01-08T16:00:00Z",
	    "reason": "flat tyre"}'::jsonb, 'the courier doc shows it');
SELECT is(pg_temp.on_shift('2030-01-08T09:00:00+08', '2030-01-08T12:00:00+08'),
	  'c-duty 08 09:00-08 10:00, c-over 08 10:00-08 12:00, c-split 08 09:00-08 12:00, '
	  'c-week 08 09:00-08 12:00', 'off duty from 10:00: c-duty works 09-10 only');
SELECT is(pg_temp.on_shift('2030-01-09T09:00:00+08', '2030-01-09T10:00:00+08'),
	  'c-duty 09 09:00-09 10:00, c-off 09 09:00-09 10:00, c-over 09 09:00-09 10:00, '
	  'c-week 09 09:00-09 10:00', 'the mark ends with the local day');
SELECT is(courier_duty_set('ST1', 'c-duty', true, 'fixed', 'tok_s', '2030-01-08T11:00:00+08',
			   'Asia/Shanghai')->>'changed', 'true', 'back on at 11:00');
SELECT is(pg_temp.on_shift('2030-01-08T09:00:00+08', '2030-01-08T12:00:00+08'),
	  'c-duty 08 09:00-08 10:00, c-duty 08 11:00-08 12:00, c-over 08 10:00-08 12:00, '
	  'c-split 08 09:00-08 12:00, c-week 08 09:00-08 12:00', 'c-duty: 09-10 and 11-12');
SELECT is((SELECT string_agg(kind, ',' ORDER BY seq) FROM station_feed WHERE station_id = 'ST1'),
	  'courier.off_shift,courier.on_shift', 'the feed says both');
SELECT is(courier_duty_set('ST2', 'c-duty', false, '', 'tok_s', '2030-01-08T11:00:00+08',
			   'Asia/Shanghai'), '{"r": "not_found"}'::jsonb,
	  'another station cannot mark it');

SELECT * FROM finish();
ROLLBACK;
