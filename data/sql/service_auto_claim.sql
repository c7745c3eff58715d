-- service_auto_claim: claim the automatic day plans of p_day for daemon p_by
-- (svc/service_scheduler.c): of the stations p_stations, at most p_room
-- whose day is not done and not held by a claim younger than p_stale_s
-- seconds. Returns each claimed station with its fencing epoch (1 for the
-- first claim, one more at each take-over); service_plan_store publishes
-- an automatic plan only under the current epoch and marks the day done,
-- so a day is planned once by exactly one daemon.
CREATE OR REPLACE FUNCTION service_auto_claim(p_stations text[], p_day date, p_by text,
					      p_stale_s integer, p_room integer)
RETURNS TABLE (station_id text, epoch bigint) LANGUAGE sql AS $fn$
	INSERT INTO service_auto_plans AS a (station_id, day, epoch, claimed_by)
	SELECT s, p_day, 1, p_by
	  FROM unnest(p_stations) AS s
	 WHERE NOT EXISTS (SELECT 1 FROM service_auto_plans x
			    WHERE x.station_id = s AND x.day = p_day
			      AND (x.done_at IS NOT NULL
				   OR x.claimed_at >= now() - make_interval(secs => p_stale_s)))
	 ORDER BY s LIMIT greatest(p_room, 0)
	ON CONFLICT (station_id, day) DO UPDATE
	   SET epoch = a.epoch + 1, claimed_by = p_by, claimed_at = now()
	 WHERE a.done_at IS NULL AND a.claimed_at < now() - make_interval(secs => p_stale_s)
	RETURNING a.station_id, a.epoch;
$fn$;
