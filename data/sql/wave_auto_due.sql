-- wave_auto_due: of the candidate waves (p_stations[i], p_waves[i]: waves
-- whose planning cut-off has passed and that have not ended, from the
-- scheduler's config), those the wave scheduler (svc/wave_scheduler.c)
-- should claim now: no wave_auto_plans row yet, or a claim not done and
-- older than p_stale_s seconds (a dead or stuck daemon's). A wave with
-- nothing to plan (no order booked in it, no pending stop) is recorded done
-- here without a plan (version NULL) and not returned.
CREATE OR REPLACE FUNCTION wave_auto_due(p_stations text[], p_waves text[], p_stale_s integer)
RETURNS TABLE (station_id text, wave_key text) LANGUAGE plpgsql AS $fn$
BEGIN
	-- The waves seen for the first time (once a day each), then their bookings.
	WITH fresh AS MATERIALIZED (
		SELECT c.st, c.wk FROM unnest(p_stations, p_waves) AS c(st, wk)
		 WHERE NOT EXISTS (SELECT 1 FROM wave_auto_plans x
				    WHERE x.station_id = c.st AND x.wave_key = c.wk))
	INSERT INTO wave_auto_plans AS a (station_id, wave_key, epoch, claimed_by, done_at)
	SELECT c.st, c.wk, 0, NULL, now()
	  FROM fresh c
	 WHERE NOT EXISTS (SELECT 1 FROM order_capacity oc
			    WHERE oc.station_id = c.st AND oc.counter_key = c.wk
			      AND NOT oc.released)
	   AND NOT EXISTS (SELECT 1 FROM stops s
			    WHERE s.station_id = c.st AND s.wave_key = c.wk
			      AND s.status = 'pending')
	ON CONFLICT DO NOTHING;
	RETURN QUERY
	SELECT c.st, c.wk
	  FROM unnest(p_stations, p_waves) AS c(st, wk)
	  LEFT JOIN wave_auto_plans a ON a.station_id = c.st AND a.wave_key = c.wk
	 WHERE a.station_id IS NULL
	    OR a.done_at IS NULL AND a.claimed_at < now() - make_interval(secs => p_stale_s);
END
$fn$;
