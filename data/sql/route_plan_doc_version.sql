-- route_plan_doc_version: version p_version (NULL: the current one, the
-- highest) of the plan of a station and wave as the API document, or NULL.
-- Routes name their courier (courier_id and name; NULL for plans made
-- before couriers were records) and their stops carry stop ids.
CREATE OR REPLACE FUNCTION route_plan_doc_version(p_station text, p_wave text,
						  p_version integer)
RETURNS jsonb LANGUAGE sql STABLE AS $$
	SELECT jsonb_build_object(
		'station', p.station_id, 'wave', p.wave_key, 'plan_id', p.plan_id,
		'version', p.version, 'reason', p.reason,
		'planned_at', route_ts(p.created_at, p.utc_offset_s), 'params', p.params,
		'routes', coalesce((
			SELECT jsonb_agg(jsonb_build_object(
				'courier', r.courier, 'courier_id', r.courier_id,
				'courier_name', c.name, 'distance_m', r.distance_m,
				'duration_s', r.duration_s,
				'depart', route_ts(r.depart_at, p.utc_offset_s),
				'return', route_ts(r.return_at, p.utc_offset_s),
				'stops', r.stops) ORDER BY r.courier)
			FROM routes r LEFT JOIN couriers c ON c.id = r.courier_id
			WHERE r.plan_id = p.plan_id), '[]'::jsonb),
		'unassigned', p.unassigned, 'changes', p.changes, 'geojson', p.geojson)
	FROM route_plans p
	WHERE p.station_id = p_station AND p.wave_key = p_wave
	  AND (p.version = p_version OR p_version IS NULL)
	ORDER BY p.version DESC LIMIT 1
$$;
