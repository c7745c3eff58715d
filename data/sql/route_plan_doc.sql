-- route_plan_doc: the stored plan of a station and wave as the API document,
-- or NULL.
CREATE OR REPLACE FUNCTION route_plan_doc(p_station text, p_wave text)
RETURNS jsonb LANGUAGE sql STABLE AS $$
	SELECT jsonb_build_object(
		'station', p.station_id, 'wave', p.wave_key, 'plan_id', p.plan_id,
		'planned_at', route_ts(p.created_at, p.utc_offset_s), 'params', p.params,
		'routes', coalesce((
			SELECT jsonb_agg(jsonb_build_object(
				'courier', r.courier, 'distance_m', r.distance_m,
				'duration_s', r.duration_s,
				'depart', route_ts(r.depart_at, p.utc_offset_s),
				'return', route_ts(r.return_at, p.utc_offset_s),
				'stops', r.stops) ORDER BY r.courier)
			FROM routes r WHERE r.plan_id = p.plan_id), '[]'::jsonb),
		'unassigned', p.unassigned, 'geojson', p.geojson)
	FROM route_plans p WHERE p.station_id = p_station AND p.wave_key = p_wave
$$;
