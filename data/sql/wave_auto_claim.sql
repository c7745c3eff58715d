-- wave_auto_claim: claim the automatic planning of a station's wave for
-- daemon p_by (svc/wave_scheduler.c). Returns the claim's fencing epoch (1
-- for the first claim, one more at each take-over), or NULL when the wave is
-- done or another daemon's claim is younger than p_stale_s seconds. The
-- store (route_plan_store, "fence": {"auto_epoch"}) publishes only for the
-- current epoch, so a claimer that was taken over cannot publish late.
CREATE OR REPLACE FUNCTION wave_auto_claim(p_station text, p_wave text, p_by text,
					   p_stale_s integer)
RETURNS bigint LANGUAGE sql AS $fn$
	INSERT INTO wave_auto_plans AS a (station_id, wave_key, epoch, claimed_by)
	VALUES (p_station, p_wave, 1, p_by)
	ON CONFLICT (station_id, wave_key) DO UPDATE
	   SET epoch = a.epoch + 1, claimed_by = p_by, claimed_at = now()
	 WHERE a.done_at IS NULL AND a.claimed_at < now() - make_interval(secs => p_stale_s)
	RETURNING epoch;
$fn$;
