-- pickup_point_visible: may a caller of p_role with p_scope see point p_id
-- (admin: every point; station: the points of its stations; pickup_point:
-- its own)? False for no such point: outside the scope is as if it did not
-- exist.
CREATE OR REPLACE FUNCTION pickup_point_visible(p_id text, p_role text, p_scope text[])
RETURNS boolean LANGUAGE sql STABLE AS $fn$
	SELECT EXISTS (SELECT 1 FROM pickup_points p WHERE p.id = p_id AND (
		p_role = 'admin'
		OR p_role = 'station' AND p.station_id = ANY (p_scope)
		OR p_role = 'pickup_point' AND p.id = ANY (p_scope)))
$fn$;
