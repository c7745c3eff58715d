-- courier_duty_set: mark a station's courier (or engineer: p_kind; NULL
-- either) off duty at p_now (until the end of that local day in p_tz, or
-- until marked back on), or back on.
-- In the caller's transaction, when something changes:
--   - station_feed_add(station, 'courier.off_shift' | 'courier.on_shift',
--     {courier, at, reason}) (an engineer's: 'engineer.off_shift' |
--     'engineer.on_shift', {engineer, at, reason}; engineers have no waves);
--   - going off: a wave_replans_due row (reason 'courier.off_shift') for
--     each of today's waves (local day of p_now) where the courier has
--     planned stops or whose automatic plan is under way, so the wave
--     scheduler replans them without the courier (a replan of one already
--     under way loses its claim: its store is refused, it runs again).
-- Marking off a courier already off (or on one already on) changes nothing.
-- Locks: the couriers row FOR NO KEY UPDATE, then the station's feed head.
-- Not FOR UPDATE: bookings, day plans and wave plans hold the head while
-- their foreign keys read this row (KEY SHARE), which FOR UPDATE blocks.
-- Returns {"r": "not_found"} or {"r": "ok", "courier", "on_shift", "changed",
-- "at", "until" (off only), "reason", "replans_due": [wave keys]}.
CREATE OR REPLACE FUNCTION courier_duty_set(p_station text, p_courier text, p_on boolean,
					    p_reason text, p_actor text, p_now timestamptz,
					    p_tz text, p_kind text DEFAULT NULL)
RETURNS jsonb LANGUAGE plpgsql AS $fn$
DECLARE
	cur courier_duty_offs%ROWTYPE;
	v_until timestamptz;
	v_at text := to_char(p_now AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"');
	v_waves jsonb := '[]';
	v_kind text;
BEGIN
	SELECT kind INTO v_kind FROM couriers
	 WHERE id = p_courier AND station_id = p_station AND (p_kind IS NULL OR kind = p_kind)
	   FOR NO KEY UPDATE; -- lets foreign keys' KEY SHARE pass: bookings hold the head
	IF NOT FOUND THEN
		RETURN jsonb_build_object('r', 'not_found');
	END IF;
	SELECT * INTO cur FROM courier_duty_offs
	 WHERE courier_id = p_courier AND off_from <= p_now AND off_until > p_now
	 ORDER BY off_from DESC LIMIT 1;
	IF p_on THEN
		IF cur.id IS NULL THEN
			RETURN jsonb_build_object('r', 'ok', 'courier', p_courier, 'on_shift', true,
						  'changed', false, 'at', v_at,
						  'replans_due', v_waves);
		END IF;
		UPDATE courier_duty_offs SET off_until = p_now, on_by = p_actor
		 WHERE courier_id = p_courier AND off_from <= p_now AND off_until > p_now;
		PERFORM station_feed_add(p_station, v_kind || '.on_shift', jsonb_build_object(
			v_kind, p_courier, 'at', v_at, 'reason', p_reason));
		RETURN jsonb_build_object('r', 'ok', 'courier', p_courier, 'on_shift', true,
					  'changed', true, 'at', v_at, 'reason', p_reason,
					  'replans_due', v_waves);
	END IF;
	IF cur.id IS NOT NULL THEN
		RETURN jsonb_build_object('r', 'ok', 'courier', p_courier, 'on_shift', false,
			'changed', false,
			'at', to_char(cur.off_from AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
			'until', to_char(cur.off_until AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
			'reason', cur.reason, 'replans_due', v_waves);
	END IF;
	v_until := (date_trunc('day', p_now AT TIME ZONE p_tz) + interval '1 day') AT TIME ZONE p_tz;
	INSERT INTO courier_duty_offs (courier_id, off_from, off_until, reason, off_by)
	VALUES (p_courier, p_now, v_until, p_reason, p_actor);
	PERFORM station_feed_add(p_station, v_kind || '.off_shift', jsonb_build_object(
		v_kind, p_courier, 'at', v_at, 'reason', p_reason));
	-- Today's waves where the courier has planned stops, and those whose
	-- automatic plan is under way (it may have read the courier on shift).
	SELECT coalesce(jsonb_agg(w.wave_key ORDER BY w.wave_key), '[]') INTO v_waves
	  FROM (SELECT s.wave_key FROM stops s
		 WHERE s.courier_id = p_courier AND s.station_id = p_station
		   AND s.status = 'planned'
		   AND s.wave_key LIKE to_char(p_now AT TIME ZONE p_tz, 'YYYYMMDD') || '-W%'
		UNION
		SELECT a.wave_key FROM wave_auto_plans a
		 WHERE a.station_id = p_station AND a.done_at IS NULL
		   AND a.wave_key LIKE to_char(p_now AT TIME ZONE p_tz, 'YYYYMMDD') || '-W%'
		   AND v_kind = 'courier') w;
	-- A replan of one of them already under way read the courier on shift:
	-- its claim is dropped, so its store is refused and it runs again.
	INSERT INTO wave_replans_due (station_id, wave_key, reason, since)
	SELECT p_station, w, 'courier.off_shift', p_now
	  FROM jsonb_array_elements_text(v_waves) AS w
	ON CONFLICT (station_id, wave_key) DO UPDATE SET claimed_by = NULL, claimed_at = NULL;
	RETURN jsonb_build_object('r', 'ok', 'courier', p_courier, 'on_shift', false,
		'changed', true, 'at', v_at,
		'until', to_char(v_until AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
		'reason', p_reason, 'replans_due', v_waves);
END
$fn$;
