-- pickup_points_list: GET /v1/pickup-points: the points the caller may see
-- (pickup_point_visible), optionally of one station, retired ones only when
-- p_retired; ordered by id.
CREATE OR REPLACE FUNCTION pickup_points_list(p_role text, p_scope text[], p_station text,
					      p_retired boolean)
RETURNS jsonb LANGUAGE sql STABLE AS $fn$
	SELECT jsonb_build_object('pickup_points',
		coalesce(jsonb_agg(pickup_point_doc(p.id) ORDER BY p.id), '[]'::jsonb),
		'count', count(*))
	FROM pickup_points p
	WHERE (p_station IS NULL OR p.station_id = p_station)
	  AND (p_retired OR p.retired_at IS NULL)
	  AND pickup_point_visible(p.id, p_role, p_scope)
$fn$;
