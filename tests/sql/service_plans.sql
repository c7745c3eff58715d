-- pgTAP: the engineers' day plans' SQL (issue 12 part P1:
-- data/sql/service_plan_input.sql, service_plan_store.sql,
-- service_auto_claim.sql, service_day_routes_doc.sql): what a day plans,
-- versions, service.planned only on a change, unplaced appointments kept
-- with their reason, and the fencing of the scheduler's claims.
BEGIN;
\ir fixtures.psql
SELECT plan(17);

-- Part P2 provides service_capacity_move; a stand-in records the moves.
CREATE TEMP TABLE moves (appointment text, engineer text);
DO $$ BEGIN
	IF to_regprocedure('service_capacity_move(text,text)') IS NULL THEN
		CREATE FUNCTION service_capacity_move(p_appointment text, p_engineer text)
		RETURNS void LANGUAGE sql AS 'INSERT INTO moves VALUES (p_appointment, p_engineer)';
	END IF;
END $$;

INSERT INTO couriers (id, station_id, name, phone, vehicle, skills, kind, daily_capacity) VALUES
	('E1', 'ST1', 'Zhang Gong', '1', 'van', '{kitchen}', 'engineer', 2),
	('C1', 'ST1', 'Wang Fang', '2', 'e_bike', '{kitchen}', 'courier', NULL);
INSERT INTO courier_shifts (courier_id, tz) VALUES ('E1', 'Asia/Shanghai'), ('C1', 'Asia/Shanghai');
INSERT INTO courier_shift_weekly (courier_id, isodow, start_at, end_at)
VALUES ('E1', 3, '09:00', '18:00'), ('C1', 3, '00:00', '24:00');
INSERT INTO orders (id, external_id, idempotency_key, status, station_id, station_name,
		    district_id, lon, lat, delivery_option, install, promise, created_at)
SELECT 'S' || i, 'ext-S' || i, 'k-S' || i, 'arrived_at_station', 'ST1', 'Station 1', 'D1',
       116.4, 39.9, 'standard', false, '{}', now()
  FROM generate_series(1, 2) AS i;
INSERT INTO service_appointments (id, order_id, station_id, category, type, status, day,
				  window_start, window_end, engineer_id, duration_s, price_list)
VALUES ('svc_000000000000000a', 'S1', 'ST1', 'kitchen', 'repair', 'booked', '2030-01-09',
	'2030-01-09T09:00+08', '2030-01-09T13:00+08', NULL, 3600, '{}'),
       ('svc_000000000000000b', 'S2', 'ST1', 'cleaning', 'cleaning', 'booked', '2030-01-09',
	'2030-01-09T14:00+08', '2030-01-09T18:00+08', 'E1', 1800, '{}');

-- What the day plans: engineers only (not the courier), seconds since midnight.
INSERT INTO got SELECT 'in', service_plan_input('ST1', '2030-01-09', 'Asia/Shanghai', 10);
SELECT is((SELECT v->'engineers' FROM got WHERE step = 'in'),
	  '[{"id": "E1", "skills": ["kitchen"], "capacity": 2, "speed_kmh": 25,
	     "shift_start_s": 32400, "shift_end_s": 64800}]'::jsonb, 'engineers on shift');
SELECT is((SELECT jsonb_agg(jsonb_build_array(a->>'id', a->'open_s', a->'close_s',
					       a->'duration_s', a->'engineer'))
	     FROM got, jsonb_array_elements(v->'appointments') a WHERE step = 'in'),
	  '[["svc_000000000000000a", 32400, 46800, 3600, null],
	    ["svc_000000000000000b", 50400, 64800, 1800, "E1"]]'::jsonb, 'appointments');

-- Version 1: a placed (moved to E1), b left with its reason.
INSERT INTO got SELECT 'v1', service_plan_store('ST1', '2030-01-09', 'Asia/Shanghai',
	'{"reason": "planned", "fence": null,
	  "visits": [{"appointment": "svc_000000000000000a", "engineer": "E1", "position": 0,
		      "eta_s": 33000.4}],
	  "unassigned": [{"appointment": "svc_000000000000000b", "reason": "skill"}]}');
SELECT is((SELECT v->'version' FROM got WHERE step = 'v1'), '1', 'version 1');
SELECT is((SELECT v->'engineers'->0->'visits'->0->>'eta' FROM got WHERE step = 'v1'),
	  '2030-01-09T09:10:00+08:00', 'the eta, local');
SELECT is((SELECT v->'unassigned' FROM got WHERE step = 'v1'),
	  '[{"appointment": "svc_000000000000000b", "order": "S2", "reason": "skill",
	     "window": {"start": "2030-01-09T14:00:00+08:00", "end": "2030-01-09T18:00:00+08:00"}}]',
	  'the unplaced one');
SELECT is((SELECT array_agg(status || ' ' || coalesce(engineer_id, '-') || ' ' ||
			    coalesce(plan_note, '-') ORDER BY id) FROM service_appointments),
	  ARRAY['planned E1 -', 'booked E1 skill'], 'statuses: the unplaced one kept booked');
SELECT is((SELECT count(*) FROM order_events WHERE kind = 'service.planned'), 1::bigint,
	  'service.planned for the placed one');
SELECT is((SELECT array_agg(kind ORDER BY seq) FROM station_feed WHERE station_id = 'ST1'),
	  ARRAY['service.unassigned', 'service.plan_published'], 'feed lines');
SELECT is((SELECT count(*) FROM service_day_plans), 1::bigint, 'one version row');
SELECT is((SELECT count(*) FROM moves) + (SELECT count(*) FROM pg_proc
	   WHERE proname = 'service_capacity_move' AND prosrc NOT LIKE '%moves%'), 1::bigint,
	  'the move to E1 moved its capacity');

-- Version 2, the same plan: no new service.planned.
SELECT is((service_plan_store('ST1', '2030-01-09', 'Asia/Shanghai',
	'{"reason": "planned", "visits": [{"appointment": "svc_000000000000000a",
	  "engineer": "E1", "position": 0, "eta_s": 33000}], "unassigned": []}')->>'version'),
	  '2', 'version 2');
SELECT is((SELECT count(*) FROM order_events WHERE kind = 'service.planned'), 1::bigint,
	  'no service.planned when nothing changed');

-- Claims: one daemon gets the day; a fenced store under another epoch is refused.
SELECT is((SELECT array_agg(station_id || ':' || epoch)
	     FROM service_auto_claim('{ST1,ST2}', '2030-01-09', 'd1', 60, 5)),
	  ARRAY['ST1:1', 'ST2:1'], 'd1 claims both');
SELECT is((SELECT count(*) FROM service_auto_claim('{ST1,ST2}', '2030-01-09', 'd2', 60, 5)),
	  0::bigint, 'd2 gets nothing while the claims are fresh');
SELECT is(service_plan_store('ST1', '2030-01-09', 'Asia/Shanghai',
	'{"reason": "auto", "fence": {"auto_epoch": 2}, "visits": [], "unassigned": []}'),
	  NULL, 'a store under another epoch is refused');
SELECT is(service_plan_store('ST1', '2030-01-09', 'Asia/Shanghai',
	'{"reason": "auto", "fence": {"auto_epoch": 1}, "visits": [], "unassigned": []}')
	  ->>'reason', 'auto', 'the claimed store publishes');
SELECT is((SELECT array_agg(station_id || ':' || version) FROM service_auto_plans
	    WHERE done_at IS NOT NULL), ARRAY['ST1:3'], 'and marks the day done with its version');

SELECT * FROM finish();
ROLLBACK;
