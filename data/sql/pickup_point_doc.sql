-- pickup_point_doc: one pickup point as the API shows it (docs/api.md,
-- "Pickup points"): its record and how many parcels it holds now (held, and
-- per compartment size for a locker). NULL when there is no such point.
CREATE OR REPLACE FUNCTION pickup_point_doc(p_id text)
RETURNS jsonb LANGUAGE sql STABLE AS $fn$
	SELECT jsonb_build_object(
		'id', p.id, 'station', p.station_id, 'name', p.name, 'address', p.address,
		'lon', p.lon, 'lat', p.lat, 'opening_hours', p.opening_hours, 'kind', p.kind,
		'capacity', p.capacity, 'held', h.n, 'retired', p.retired_at IS NOT NULL)
	       || CASE WHEN p.kind = 'locker' THEN jsonb_build_object(
			'compartments', p.compartments,
			'held_by_size', jsonb_build_object('S', h.s, 'M', h.m, 'L', h.l))
		  ELSE '{}'::jsonb END
	FROM pickup_points p,
	     LATERAL (SELECT count(*)::int AS n, count(*) FILTER (WHERE size = 'S')::int AS s,
			     count(*) FILTER (WHERE size = 'M')::int AS m,
			     count(*) FILTER (WHERE size = 'L')::int AS l
		      FROM pickup_parcels WHERE point_id = p.id AND status = 'held') h
	WHERE p.id = p_id
$fn$;
