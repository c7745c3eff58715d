-- route_plan_store: replace the plan of a station and wave with p_plan
-- ({"params", "utc_offset_s", "routes": [{"courier", "stops", "geometry"
-- (GeoJSON), "distance_m", "duration_s", "depart", "return"}], "unassigned",
-- "geojson"}) and return its document. An advisory lock per station and wave
-- makes concurrent replans queue instead of colliding on the unique key.
CREATE OR REPLACE FUNCTION route_plan_store(p_station text, p_wave text, p_plan jsonb)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
	pid text := gen_random_uuid()::text;
BEGIN
	PERFORM pg_advisory_xact_lock(hashtextextended('routes:' || p_station || ':' || p_wave, 0));
	DELETE FROM route_plans WHERE station_id = p_station AND wave_key = p_wave;
	INSERT INTO route_plans (plan_id, station_id, wave_key, params, utc_offset_s, unassigned,
				 geojson)
	VALUES (pid, p_station, p_wave, p_plan->'params', (p_plan->>'utc_offset_s')::integer,
		p_plan->'unassigned', p_plan->'geojson');
	INSERT INTO routes (station_id, wave_key, courier, plan_id, stops, geometry, distance_m,
			    duration_s, depart_at, return_at)
	SELECT p_station, p_wave, (r->>'courier')::integer, pid, r->'stops',
	       ST_SetSRID(ST_GeomFromGeoJSON(r->'geometry'), 4326),
	       (r->>'distance_m')::double precision, (r->>'duration_s')::double precision,
	       (r->>'depart')::timestamptz, (r->>'return')::timestamptz
	FROM jsonb_array_elements(p_plan->'routes') AS r;
	RETURN route_plan_doc(p_station, p_wave);
END
$$;
