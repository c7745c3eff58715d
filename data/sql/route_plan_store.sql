-- route_plan_store: publish a new version of the plan of a station and wave
-- and return its document (route_plan_doc). p_plan is
--   {"params", "utc_offset_s", "reason" (default "planned"),
--    "routes": [{"courier" (index), "courier_id", "stops": [{"order_id",
--                "stop_id" (NULL: a new stop), "eta", "window": {start, end},
--                ...}], "geometry" (GeoJSON), "distance_m", "duration_s",
--                "depart", "return"}],
--    "unassigned": [{"order_id", "stop_id", "reason"}], "geojson",
--    "fence": {"auto_epoch": n} | {"replan_by": claimer} (optional)}
-- In one transaction, under an advisory lock per station and wave (so
-- concurrent publishers queue), then the station's feed head (heads
-- before rows, as everywhere): version = previous + 1; each routed stop
-- row is created (status planned, proof pin with a 6-digit PIN when a line
-- of the order is a large SKU, else photo; a drop at a pickup point, issue
-- 13 part R: signature, the point's staff signs, no PIN) or updated (courier, position,
-- eta, window; route_version when its courier or position changed); done
-- stops are never touched; a stop planned before and not routed now goes
-- back to pending (cancelled when its order is). The changes against the
-- previous version (assigned, moved, unassigned) go to route_plans.changes
-- and to the station feed (stop.assigned, stop.moved, then plan.published).
-- Fencing: a plan of the scheduler carries the epoch of its claim
-- (wave_auto_plans, marked done here) or the claimer of its replan
-- (wave_replans_due, deleted here); a claim lost meanwhile refuses the
-- store: NULL, nothing written.
CREATE OR REPLACE FUNCTION route_plan_store(p_station text, p_wave text, p_plan jsonb)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
	pid text := gen_random_uuid()::text;
	fence jsonb := coalesce(p_plan->'fence', '{}'::jsonb);
	ver integer;
	r jsonb;
	s jsonb;
	pos integer;
	sid text;
	prev record;
	placed text[] := '{}';
	chg jsonb := '[]'::jsonb;
	one jsonb;
	rstops jsonb;
	nstops integer := 0;
	nroutes integer := 0;
	v_eta timestamptz;
	v_cid text;
BEGIN
	PERFORM pg_advisory_xact_lock(hashtextextended('routes:' || p_station || ':' || p_wave, 0));
	-- The feed head before any row (the replan's due row, stops): the order
	-- of shipment_scan, stop_event and courier_duty_set, so none deadlocks
	-- with a publish.
	INSERT INTO station_feed_heads AS h (station_id, seq) VALUES (p_station, 0)
	ON CONFLICT (station_id) DO UPDATE SET seq = h.seq;
	IF fence ? 'auto_epoch' THEN
		PERFORM 1 FROM wave_auto_plans
		 WHERE station_id = p_station AND wave_key = p_wave AND done_at IS NULL
		   AND epoch = (fence->>'auto_epoch')::bigint
		   FOR UPDATE;
		IF NOT FOUND THEN
			RETURN NULL;
		END IF;
	END IF;
	IF fence ? 'replan_by' THEN
		DELETE FROM wave_replans_due
		 WHERE station_id = p_station AND wave_key = p_wave
		   AND claimed_by = fence->>'replan_by';
		IF NOT FOUND THEN
			RETURN NULL;
		END IF;
	END IF;
	SELECT coalesce(max(version), 0) + 1 INTO ver
	  FROM route_plans WHERE station_id = p_station AND wave_key = p_wave;
	INSERT INTO route_plans (plan_id, station_id, wave_key, params, utc_offset_s, unassigned,
				 geojson, version, reason)
	VALUES (pid, p_station, p_wave, p_plan->'params', (p_plan->>'utc_offset_s')::integer,
		p_plan->'unassigned', p_plan->'geojson', ver,
		coalesce(nullif(p_plan->>'reason', ''), 'planned'));

	FOR r IN SELECT value FROM jsonb_array_elements(p_plan->'routes') LOOP
		v_cid := r->>'courier_id';
		rstops := '[]'::jsonb;
		pos := 0;
		FOR s IN SELECT value FROM jsonb_array_elements(r->'stops') LOOP
			v_eta := (s->>'eta')::timestamptz;
			SELECT * INTO prev FROM stops
			 WHERE id = s->>'stop_id'
			    OR s->>'stop_id' IS NULL AND order_id = s->>'order_id'
			       AND station_id = p_station AND wave_key = p_wave
			       AND status IN ('pending', 'planned')
			 ORDER BY attempt DESC LIMIT 1
			   FOR UPDATE;
			IF NOT FOUND THEN
				sid := 'stp_' || substr(md5(gen_random_uuid()::text), 1, 16);
				INSERT INTO stops (id, station_id, wave_key, order_id, attempt, status,
						   courier_id, route_version, position, eta,
						   window_start, window_end, proof, pin)
				SELECT sid, p_station, p_wave, s->>'order_id',
				       coalesce((SELECT max(attempt) FROM stops x
						  WHERE x.order_id = s->>'order_id'
						    AND x.kind = 'delivery'), 0) + 1,
				       'planned', v_cid, ver, pos, v_eta,
				       (s->'window'->>'start')::timestamptz,
				       (s->'window'->>'end')::timestamptz,
				       CASE WHEN pdrop THEN 'signature' WHEN lg THEN 'pin'
					    ELSE 'photo' END,
				       CASE WHEN lg AND NOT pdrop
					    THEN lpad((floor(random() * 1000000))::integer::text,
						      6, '0') END
				  FROM (SELECT EXISTS (SELECT 1 FROM order_lines l
							JOIN skus k ON k.sku = l.sku
						       WHERE l.order_id = s->>'order_id'
							 AND k.large) AS lg,
					       EXISTS (SELECT 1 FROM orders o
						       WHERE o.id = s->>'order_id'
							 AND o.pickup_point_id IS NOT NULL)
					       AS pdrop) x;
				one := jsonb_build_object('change', 'assigned', 'stop', sid,
					'order', s->>'order_id', 'wave', p_wave, 'courier', v_cid,
					'position', pos, 'eta', s->>'eta', 'version', ver);
			ELSIF prev.status NOT IN ('pending', 'planned') THEN
				-- done: stays where it is (the warm start's fixed prefix)
				sid := prev.id;
				one := NULL;
			ELSE
				sid := prev.id;
				IF prev.status = 'pending' OR prev.courier_id IS NULL THEN
					one := jsonb_build_object('change', 'assigned', 'stop', sid,
						'order', prev.order_id, 'wave', p_wave,
						'courier', v_cid, 'position', pos, 'eta', s->>'eta',
						'version', ver);
				ELSIF prev.courier_id IS DISTINCT FROM v_cid
				      OR prev.position IS DISTINCT FROM pos THEN
					one := jsonb_build_object('change', 'moved', 'stop', sid,
						'order', prev.order_id, 'wave', p_wave,
						'from', jsonb_build_object('courier', prev.courier_id,
									   'position', prev.position),
						'to', jsonb_build_object('courier', v_cid,
									 'position', pos),
						'version', ver);
				ELSE
					one := NULL;
				END IF;
				UPDATE stops SET status = 'planned', courier_id = v_cid, position = pos,
					eta = v_eta,
					window_start = (s->'window'->>'start')::timestamptz,
					window_end = (s->'window'->>'end')::timestamptz,
					route_version = CASE WHEN one IS NULL THEN route_version
							     ELSE ver END,
					updated_at = now()
				 WHERE id = sid;
			END IF;
			IF one IS NOT NULL THEN
				chg := chg || jsonb_build_array(one);
			END IF;
			placed := placed || sid;
			rstops := rstops || jsonb_build_array(s - 'stop_id' ||
							       jsonb_build_object('stop_id', sid));
			pos := pos + 1;
		END LOOP;
		nstops := nstops + pos;
		nroutes := nroutes + 1;
		INSERT INTO routes (station_id, wave_key, courier, plan_id, stops, geometry,
				    distance_m, duration_s, depart_at, return_at, courier_id)
		VALUES (p_station, p_wave, (r->>'courier')::integer, pid, rstops,
			ST_SetSRID(ST_GeomFromGeoJSON(r->'geometry'), 4326),
			(r->>'distance_m')::double precision, (r->>'duration_s')::double precision,
			(r->>'depart')::timestamptz, (r->>'return')::timestamptz, v_cid);
	END LOOP;

	-- Planned before, not routed now: unassigned.
	FOR prev IN SELECT st.*, o.status AS order_status FROM stops st
			JOIN orders o ON o.id = st.order_id
		     WHERE st.station_id = p_station AND st.wave_key = p_wave
		       AND st.status = 'planned' AND NOT st.id = ANY (placed)
		     ORDER BY st.id FOR UPDATE OF st LOOP
		chg := chg || jsonb_build_array(jsonb_build_object('change', 'unassigned',
			'stop', prev.id, 'order', prev.order_id, 'wave', p_wave,
			'from', jsonb_build_object('courier', prev.courier_id,
						   'position', prev.position),
			'reason', CASE WHEN prev.order_status = 'cancelled' THEN 'cancelled'
				       ELSE coalesce((SELECT u->>'reason'
						       FROM jsonb_array_elements(p_plan->'unassigned') u
						      WHERE u->>'order_id' = prev.order_id LIMIT 1),
						     'not_planned') END,
			'version', ver));
		UPDATE stops SET status = CASE WHEN prev.order_status = 'cancelled'
					       THEN 'cancelled' ELSE 'pending' END,
			courier_id = NULL, position = NULL, eta = NULL, route_version = ver,
			updated_at = now()
		 WHERE id = prev.id;
	END LOOP;

	UPDATE route_plans SET changes = chg WHERE plan_id = pid;
	FOR one IN SELECT value FROM jsonb_array_elements(chg) LOOP
		IF one->>'change' IN ('assigned', 'moved') THEN
			PERFORM station_feed_add(p_station, 'stop.' || (one->>'change'),
						 one - 'change');
		END IF;
	END LOOP;
	PERFORM station_feed_add(p_station, 'plan.published', jsonb_build_object(
		'wave', p_wave, 'version', ver, 'plan_id', pid,
		'reason', coalesce(nullif(p_plan->>'reason', ''), 'planned'),
		'routes', nroutes, 'stops', nstops));
	IF fence ? 'auto_epoch' THEN
		UPDATE wave_auto_plans SET done_at = now(), version = ver
		 WHERE station_id = p_station AND wave_key = p_wave;
	END IF;
	RETURN route_plan_doc(p_station, p_wave);
END
$$;
