-- service_plan_store: publish a day plan of a station's engineers
-- (svc/service_planner.c) as the next version of (p_station, p_day), in one
-- transaction. p_plan:
--   {"reason": "planned" | "auto",
--    "fence": {"auto_epoch": n} | null,
--    "basis": the version its input saw (service_plan_input) | absent,
--    "visits": [{"appointment", "engineer", "position", "eta_s"}],
--    "unassigned": [{"appointment", "reason"}],
--    "at": the daemon's clock (RFC 3339), the time of the service.planned
--          events ([testing] clock in tests; absent: now())}
-- eta_s in seconds since p_day's local midnight in zone p_tz.
-- Only appointments still booked or planned on that day are touched (one
-- cancelled meanwhile stays as it is). First the moves: a visit placed on
-- another engineer takes its unit of capacity there (service_capacity_move,
-- part P2, same transaction), tried again while others succeed (one move
-- may wait for another to make room); a move still refused leaves its
-- visit unplaced with reason 'capacity'. A placed appointment becomes
-- planned with its engineer, position, eta and the version, plan_note
-- cleared; an order_events row
-- service.planned {appointment, engineer, engineer_name, eta, window_start,
-- window_end} when its engineer or eta changed. An unplaced one keeps its
-- status and gets plan_note = the reason and the version, and the station
-- feed a service.unassigned {appointment, order, day, reason} line: never
-- dropped. Then a service_day_plans row, the feed line
-- service.plan_published {day, version, engineers, appointments}, and for
-- an automatic plan its service_auto_plans row done. Returns the routes
-- document (service_day_routes_doc), or NULL when fenced out (the claim's
-- epoch is no longer the current one, or the day is done already) or
-- stale: another version was stored after its input was read (basis), so
-- this plan, made without the appointments booked since, would replace a
-- newer one (and hide the visits only that one placed). A stale automatic
-- plan marks its day done: the newer version is the day's plan.
CREATE OR REPLACE FUNCTION service_plan_store(p_station text, p_day date, p_tz text,
					      p_plan jsonb)
RETURNS jsonb LANGUAGE plpgsql AS $fn$
DECLARE
	v_epoch bigint := (p_plan->'fence'->>'auto_epoch')::bigint;
	v_t0 timestamptz := p_day::timestamp AT TIME ZONE p_tz;
	v_version integer;
	v_placed integer := 0;
	v_unplaced integer := 0;
	v_old jsonb;                    -- {appointment: {engineer, eta}} before the moves
	v_ids text[];                   -- moves to make, then the moves refused
	v_to text[];
	v_left_ids text[];
	v_left_to text[];
	v_progress boolean;
	r record;
BEGIN
	-- One store of a station's day at a time: versions follow each other.
	PERFORM pg_advisory_xact_lock(hashtext('service_plan'), hashtext(p_station || '/' || p_day));
	-- Lock order as bookings, reschedules, visit and stop events: the
	-- station's feed head (station_feed_add's row, taken here with no
	-- change), then the orders of the plan's appointments (KEY SHARE, as
	-- their order_events rows would take later; in id order), and only then
	-- appointments and engineer-day rows. Taking the head or an order after
	-- an engineer-day row deadlocked against a booking (head, then those
	-- rows) and against an order cancel (order, then those rows).
	INSERT INTO station_feed_heads AS h (station_id, seq) VALUES (p_station, 0)
	ON CONFLICT (station_id) DO UPDATE SET seq = h.seq;
	PERFORM 1 FROM orders o
	 WHERE o.id IN (SELECT a.order_id FROM service_appointments a
			 WHERE a.station_id = p_station
			   AND a.id IN (SELECT x->>'appointment' FROM jsonb_array_elements(
					coalesce(p_plan->'visits', '[]')
					|| coalesce(p_plan->'unassigned', '[]')) x))
	 ORDER BY o.id
	   FOR KEY SHARE;
	IF v_epoch IS NOT NULL THEN
		PERFORM 1 FROM service_auto_plans
		 WHERE station_id = p_station AND day = p_day AND epoch = v_epoch
		   AND done_at IS NULL FOR UPDATE;
		IF NOT FOUND THEN
			RETURN NULL;
		END IF;
	END IF;
	SELECT coalesce(max(version), 0) + 1 INTO v_version
	  FROM service_day_plans WHERE station_id = p_station AND day = p_day;
	IF (p_plan->>'basis')::integer IS DISTINCT FROM v_version - 1
	   AND p_plan->>'basis' IS NOT NULL THEN
		IF v_epoch IS NOT NULL THEN
			UPDATE service_auto_plans SET done_at = now(), version = v_version - 1
			 WHERE station_id = p_station AND day = p_day;
		END IF;
		RETURN NULL;
	END IF;
	SELECT coalesce(jsonb_object_agg(a.id, jsonb_build_object('engineer', a.engineer_id,
								   'eta', a.eta)), '{}'),
	       coalesce(array_agg(a.id ORDER BY a.id) FILTER (
			WHERE a.engineer_id IS DISTINCT FROM v.engineer), '{}'),
	       coalesce(array_agg(v.engineer ORDER BY a.id) FILTER (
			WHERE a.engineer_id IS DISTINCT FROM v.engineer), '{}')
	  INTO v_old, v_ids, v_to
	  FROM jsonb_to_recordset(coalesce(p_plan->'visits', '[]')) AS v(appointment text,
									 engineer text)
	  JOIN service_appointments a ON a.id = v.appointment
	 WHERE a.station_id = p_station AND a.day = p_day AND a.status IN ('booked', 'planned');
	-- The engineer-day rows the moves touch, created if missing and locked
	-- in one sorted pass (as service_capacity_pick and intake_cancel take
	-- them): move by move, each pair in its own order, deadlocked against
	-- a cancel of an order holding units of two of them.
	INSERT INTO service_capacity (engineer_id, day)
	SELECT c.id, p_day FROM couriers c
	 WHERE c.kind = 'engineer'
	   AND (c.id = ANY (v_to) OR c.id IN (SELECT a.capacity_engineer FROM service_appointments a
					       WHERE a.id = ANY (v_ids)))
	 ORDER BY c.id
	ON CONFLICT DO NOTHING;
	PERFORM 1 FROM service_capacity c
	 WHERE c.day = p_day
	   AND (c.engineer_id = ANY (v_to)
		OR c.engineer_id IN (SELECT a.capacity_engineer FROM service_appointments a
				      WHERE a.id = ANY (v_ids)))
	 ORDER BY c.engineer_id
	   FOR UPDATE;
	LOOP
		EXIT WHEN cardinality(v_ids) = 0;
		v_progress := false;
		v_left_ids := '{}';
		v_left_to := '{}';
		FOR i IN 1 .. cardinality(v_ids) LOOP
			IF service_capacity_move(v_ids[i], v_to[i]) THEN
				v_progress := true;
			ELSE
				v_left_ids := v_left_ids || v_ids[i];
				v_left_to := v_left_to || v_to[i];
			END IF;
		END LOOP;
		v_ids := v_left_ids;
		v_to := v_left_to;
		EXIT WHEN NOT v_progress;
	END LOOP;
	FOR r IN
		SELECT a.id, a.order_id, v_old->a.id->>'engineer' AS old_engineer,
		       (v_old->a.id->>'eta')::timestamptz AS old_eta,
		       a.window_start, a.window_end, v.engineer, v.position,
		       v_t0 + make_interval(secs => round(v.eta_s)) AS eta
		  FROM jsonb_to_recordset(coalesce(p_plan->'visits', '[]'))
		       AS v(appointment text, engineer text, position integer, eta_s float8)
		  JOIN service_appointments a ON a.id = v.appointment
		 WHERE a.station_id = p_station AND a.day = p_day
		   AND a.status IN ('booked', 'planned') AND a.id <> ALL (v_ids)
		 ORDER BY a.id
		   FOR UPDATE OF a
	LOOP
		UPDATE service_appointments
		   SET status = 'planned', engineer_id = r.engineer, position = r.position,
		       eta = r.eta, plan_version = v_version, plan_note = NULL, updated_at = now()
		 WHERE id = r.id;
		IF r.old_engineer IS DISTINCT FROM r.engineer OR r.old_eta IS DISTINCT FROM r.eta THEN
			INSERT INTO order_events (order_id, kind, at, detail)
			VALUES (r.order_id, 'service.planned',
				coalesce(nullif(p_plan->>'at', '')::timestamptz, now()), jsonb_build_object(
				'appointment', r.id, 'engineer', r.engineer,
				'engineer_name', (SELECT name FROM couriers WHERE id = r.engineer),
				'eta', service_ts(r.eta, p_tz),
				'window_start', service_ts(r.window_start, p_tz),
				'window_end', service_ts(r.window_end, p_tz)));
		END IF;
		v_placed := v_placed + 1;
	END LOOP;
	FOR r IN
		SELECT a.id, a.order_id, u.reason
		  FROM (SELECT x.appointment, x.reason
			  FROM jsonb_to_recordset(coalesce(p_plan->'unassigned', '[]'))
			       AS x(appointment text, reason text)
			UNION ALL
			SELECT m, 'capacity' FROM unnest(v_ids) AS m) AS u
		  JOIN service_appointments a ON a.id = u.appointment
		 WHERE a.station_id = p_station AND a.day = p_day
		   AND a.status IN ('booked', 'planned')
		 ORDER BY a.window_start, a.id
		   FOR UPDATE OF a
	LOOP
		UPDATE service_appointments
		   SET plan_note = r.reason, plan_version = v_version, updated_at = now()
		 WHERE id = r.id;
		PERFORM station_feed_add(p_station, 'service.unassigned', jsonb_build_object(
			'appointment', r.id, 'order', r.order_id, 'day', p_day::text,
			'reason', r.reason));
		v_unplaced := v_unplaced + 1;
	END LOOP;
	INSERT INTO service_day_plans (station_id, day, version, reason, engineers, appointments,
				       unassigned)
	VALUES (p_station, p_day, v_version, coalesce(p_plan->>'reason', 'planned'),
		(SELECT count(DISTINCT engineer_id) FROM service_appointments
		  WHERE station_id = p_station AND day = p_day AND plan_version = v_version
		    AND plan_note IS NULL),
		v_placed, v_unplaced);
	PERFORM station_feed_add(p_station, 'service.plan_published', jsonb_build_object(
		'day', p_day::text, 'version', v_version,
		'engineers', (SELECT engineers FROM service_day_plans
			       WHERE station_id = p_station AND day = p_day AND version = v_version),
		'appointments', v_placed));
	IF v_epoch IS NOT NULL THEN
		UPDATE service_auto_plans SET done_at = now(), version = v_version
		 WHERE station_id = p_station AND day = p_day;
	END IF;
	RETURN service_day_routes_doc(p_station, p_day, p_tz);
END
$fn$;
