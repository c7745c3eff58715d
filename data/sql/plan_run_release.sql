-- plan_run_release: the run p_run of a station's wave has ended (stored or
-- failed): let the next one plan. Releases nothing another run holds.
CREATE OR REPLACE FUNCTION plan_run_release(p_station text, p_wave text, p_run text)
RETURNS void LANGUAGE sql AS $fn$
	DELETE FROM plan_runs WHERE station_id = p_station AND wave_key = p_wave AND run_id = p_run;
$fn$;
