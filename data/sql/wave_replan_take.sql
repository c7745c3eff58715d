-- wave_replan_take: take up to p_limit rows of the replan queue
-- (wave_replans_due) for daemon p_by, oldest first: rows no one holds, or
-- held longer than p_stale_s seconds (FOR UPDATE SKIP LOCKED, so two
-- daemons never take one row). The row stays, marked, until the replan's
-- store deletes it (route_plan_store, "fence": {"replan_by"}); a replan that
-- fails leaves it to be taken again after the stale bound.
CREATE OR REPLACE FUNCTION wave_replan_take(p_by text, p_stale_s integer, p_limit integer)
RETURNS TABLE (station_id text, wave_key text, reason text) LANGUAGE sql AS $fn$
	UPDATE wave_replans_due d SET claimed_by = p_by, claimed_at = now()
	  FROM (SELECT q.station_id, q.wave_key FROM wave_replans_due q
		 WHERE q.claimed_at IS NULL
		    OR q.claimed_at < now() - make_interval(secs => p_stale_s)
		 ORDER BY q.since, q.station_id, q.wave_key LIMIT p_limit
		   FOR UPDATE SKIP LOCKED) x
	 WHERE d.station_id = x.station_id AND d.wave_key = x.wave_key
	RETURNING d.station_id, d.wave_key, d.reason;
$fn$;
