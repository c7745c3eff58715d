-- plan_run_claim: claim the planning of a station's wave for run p_run.
-- Returns {"r":"claimed"} or, while another run holds it (started less than
-- p_stale_s seconds ago), {"r":"running","run":id,"since":time}. A claim
-- older than that is a dead daemon's and is taken over.
CREATE OR REPLACE FUNCTION plan_run_claim(p_station text, p_wave text, p_run text,
                                          p_stale_s integer) RETURNS jsonb
LANGUAGE plpgsql AS $fn$
DECLARE
	other plan_runs;
BEGIN
	DELETE FROM plan_runs WHERE station_id = p_station AND wave_key = p_wave
		AND started_at < now() - make_interval(secs => p_stale_s);
	INSERT INTO plan_runs (station_id, wave_key, run_id) VALUES (p_station, p_wave, p_run)
		ON CONFLICT (station_id, wave_key) DO NOTHING;
	IF FOUND THEN
		RETURN jsonb_build_object('r', 'claimed');
	END IF;
	SELECT * INTO other FROM plan_runs WHERE station_id = p_station AND wave_key = p_wave;
	RETURN jsonb_build_object('r', 'running', 'run', other.run_id, 'since', other.started_at);
END
$fn$;
