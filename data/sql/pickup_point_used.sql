-- pickup_point_used: the places of pickup point p_point taken by orders
-- (issue 13 parts C3 and R): its counter pickup_points.used, kept by the
-- triggers of migration 035 in the transaction of every change (intake,
-- cancellation, collection, expiry); pickup_point_recount gives the same
-- number by counting. intake_commit reads it under the point's row lock
-- before routing one more order there.
CREATE OR REPLACE FUNCTION pickup_point_used(p_point text) RETURNS integer
LANGUAGE sql STABLE AS $fn$
	SELECT used FROM pickup_points WHERE id = p_point
$fn$;
