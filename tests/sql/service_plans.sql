-- pgTAP: the engineers' day plans' SQL (issue 12 part P1:
-- data/sql/service_plan_input.sql, service_plan_store.sql,
-- service_auto_claim.sql, service_day_routes_doc.sql): what a day plans,
-- versions, service.planned only on a change, unplaced appointments kept
-- with their reason, capacity moved with a visit (service_capacity_move,
-- part P2) or the visit left unplaced when it cannot, and the fencing of the
-- scheduler's claims.
BEGIN;
\ir fixtures.psql
SELECT plan(26);

INSERT INTO couriers (id, station_id, name, phone, vehicle, skills, kind, daily_capacity) VALUES
	('E1', 'ST1', 'Zhang Gong', '1', 'van', '{kitchen}', 'engineer', 2),
	('E2', 'ST1', 'Li Gong', '3', 'van', '{}', 'engineer', 5),
	('C1', 'ST1', 'Wang Fang', '2', 'e_bike', '{kitchen}', 'courier', NULL);
INSERT INTO courier_shifts (courier_id, tz) VALUES ('E1', 'Asia/Shanghai'), ('C1', 'Asia/Shanghai');
INSERT INTO courier_shift_weekly (courier_id, isodow, start_at, end_at)
VALUES ('E1', 3, '09:00', '18:00'), ('C1', 3, '00:00', '24:00');
INSERT INTO orders (id, external_id, idempotency_key, status, station_id, station_name,
		    district_id, lon, lat, delivery_option, install, promise, created_at)
SELECT 'S' || i, 'ext-S' || i, 'k-S' || i, 'arrived_at_station', 'ST1', 'Station 1', 'D1',
       116.4, 39.9, 'standard', false, '{}', now()
  FROM generate_series(1, 3) AS i;
-- a and c hold a unit of E2's day, b one of E1's (as bookings leave them).
INSERT INTO service_appointments (id, order_id, station_id, category, type, status, day,
				  window_start, window_end, engineer_id, capacity_engineer,
				  duration_s, price_list)
VALUES ('svc_000000000000000a', 'S1', 'ST1', 'kitchen', 'repair', 'booked', '2030-01-09',
	'2030-01-09T09:00+08', '2030-01-09T13:00+08', 'E2', 'E2', 3600, '{}'),
       ('svc_000000000000000b', 'S2', 'ST1', 'cleaning', 'cleaning', 'booked', '2030-01-09',
	'2030-01-09T14:00+08', '2030-01-09T18:00+08', 'E1', 'E1', 1800, '{}'),
       ('svc_000000000000000c', 'S3', 'ST1', 'kitchen', 'repair', 'booked', '2030-01-09',
	'2030-01-09T09:00+08', '2030-01-09T13:00+08', 'E2', 'E2', 1800, '{}');
SELECT service_capacity_add(e, '2030-01-09', '2030-01-09T09:00+08', n)
  FROM (VALUES ('E1', 1), ('E2', 2)) AS x(e, n);

-- What the day plans: engineers only (not the courier), seconds since midnight.
INSERT INTO got SELECT 'in', service_plan_input('ST1', '2030-01-09', 'Asia/Shanghai', 10);
SELECT is((SELECT v->'engineers' FROM got WHERE step = 'in'),
	  '[{"id": "E1", "skills": ["kitchen"], "capacity": 2, "speed_kmh": 25,
	     "shift_start_s": 32400, "shift_end_s": 64800}]'::jsonb,
	  'engineers on shift (E2 has no shift)');
SELECT is((SELECT jsonb_agg(jsonb_build_array(a->>'id', a->'open_s', a->'close_s',
					       a->'duration_s', a->'engineer'))
	     FROM got, jsonb_array_elements(v->'appointments') a WHERE step = 'in'),
	  '[["svc_000000000000000a", 32400, 46800, 3600, "E2"],
	    ["svc_000000000000000c", 32400, 46800, 1800, "E2"],
	    ["svc_000000000000000b", 50400, 64800, 1800, "E1"]]'::jsonb, 'appointments');

-- Version 1: a and c placed on E1 (moved from E2), b left with its reason.
-- E1 holds b's unit and takes 2 a day: a's move fits, c's is refused and c
-- is left unplaced ('capacity'), holding its unit of E2's day.
INSERT INTO got SELECT 'v1', service_plan_store('ST1', '2030-01-09', 'Asia/Shanghai',
	'{"reason": "planned", "fence": null,
	  "visits": [{"appointment": "svc_000000000000000a", "engineer": "E1", "position": 0,
		      "eta_s": 33000.4},
		     {"appointment": "svc_000000000000000c", "engineer": "E1", "position": 1,
		      "eta_s": 37000}],
	  "unassigned": [{"appointment": "svc_000000000000000b", "reason": "skill"}]}');
SELECT is((SELECT v->'version' FROM got WHERE step = 'v1'), '1', 'version 1');
SELECT is((SELECT v->'engineers'->0->'visits'->0->>'eta' FROM got WHERE step = 'v1'),
	  '2030-01-09T09:10:00+08:00', 'the eta, local');
SELECT is((SELECT jsonb_agg(u->>'appointment' || ' ' || (u->>'reason'))
	     FROM got, jsonb_array_elements(v->'unassigned') u WHERE step = 'v1'),
	  '["svc_000000000000000c capacity", "svc_000000000000000b skill"]',
	  'the unplaced ones, with their reasons');
SELECT is((SELECT array_agg(status || ' ' || engineer_id || ' ' || capacity_engineer || ' ' ||
			    coalesce(plan_note, '-') ORDER BY id) FROM service_appointments),
	  ARRAY['planned E1 E1 -', 'booked E1 E1 skill', 'booked E2 E2 capacity'],
	  'statuses: the unplaced ones kept booked, with their units');
SELECT is((SELECT count(*) FROM order_events WHERE kind = 'service.planned'), 1::bigint,
	  'service.planned for the placed one');
SELECT is((SELECT array_agg(kind ORDER BY seq) FROM station_feed WHERE station_id = 'ST1'),
	  ARRAY['service.unassigned', 'service.unassigned', 'service.plan_published'],
	  'feed lines');
SELECT is((SELECT count(*) FROM service_day_plans), 1::bigint, 'one version row');
SELECT is((SELECT array_agg(engineer_id || ':' || visits ORDER BY engineer_id)
	     FROM service_capacity WHERE day = '2030-01-09'),
	  ARRAY['E1:2', 'E2:1'], 'the move to E1 moved its unit');

-- Version 2, the same plan: no new service.planned.
SELECT is((service_plan_store('ST1', '2030-01-09', 'Asia/Shanghai',
	'{"reason": "planned", "visits": [{"appointment": "svc_000000000000000a",
	  "engineer": "E1", "position": 0, "eta_s": 33000}], "unassigned": []}')->>'version'),
	  '2', 'version 2');
SELECT is((SELECT count(*) FROM order_events WHERE kind = 'service.planned'), 1::bigint,
	  'no service.planned when nothing changed');

-- A plan made from an input read before version 2 was stored (basis 1) is
-- stale: refused, nothing changes (a stays placed by version 2).
SELECT is((SELECT v->'basis' FROM got WHERE step = 'in'), '0', 'the input names its basis');
SELECT is(service_plan_input('ST1', '2030-01-09', 'Asia/Shanghai', 10)->'basis', '2',
	  'the basis is the current version');
SELECT is(service_plan_store('ST1', '2030-01-09', 'Asia/Shanghai',
	'{"reason": "planned", "basis": 1, "visits": [], "unassigned":
	  [{"appointment": "svc_000000000000000a", "reason": "time_window"}]}'),
	  NULL, 'a stale plan is refused');
SELECT is((SELECT max(version) FROM service_day_plans), 2, 'no version stored');
SELECT is((SELECT status || ' ' || plan_version || ' ' || coalesce(plan_note, '-')
	     FROM service_appointments WHERE id = 'svc_000000000000000a'),
	  'planned 2 -', 'the newer plan stays');
SELECT is(service_plan_store('ST1', '2030-01-09', 'Asia/Shanghai',
	'{"reason": "planned", "basis": 2, "visits": [{"appointment": "svc_000000000000000a",
	  "engineer": "E1", "position": 0, "eta_s": 33000}], "unassigned": []}')->>'version',
	  '3', 'a plan on the current version is stored');
SELECT is(jsonb_array_length(engineer_route_doc('E1', '2030-01-09', 'Asia/Shanghai')->'visits'),
	  1, 'a on E1''s handheld');
-- Version 4 cannot place a: it keeps its status (planned) with its reason,
-- and leaves E1's handheld as it leaves the routes.
INSERT INTO got SELECT 'v4', service_plan_store('ST1', '2030-01-09', 'Asia/Shanghai',
	'{"reason": "planned", "basis": 3, "visits": [], "unassigned":
	  [{"appointment": "svc_000000000000000a", "reason": "time_window"}]}');
SELECT is((SELECT v->'unassigned'->0->>'appointment' FROM got WHERE step = 'v4'),
	  'svc_000000000000000a', 'v4 reports a unassigned');
SELECT is(engineer_route_doc('E1', '2030-01-09', 'Asia/Shanghai')->'visits', '[]',
	  'and E1''s handheld no longer shows it with its old eta');

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
	    WHERE done_at IS NOT NULL), ARRAY['ST1:5'], 'and marks the day done with its version');

SELECT * FROM finish();
ROLLBACK;
