-- pickup_point_recount: the places of pickup point p_point taken by orders,
-- counted over every order routed to it (orders.pickup_point_id): not
-- cancelled, no parcel of it collected or expired there, and its shipments
-- not all gone back to the warehouse or delivered (pickup_place_taken,
-- migrations 035 and 040). The counter pickup_points.used must
-- always equal it; tests/sql/pickup_routing.sql checks that after each kind
-- of change, and an operator may compare the two (docs/operations.md).
CREATE OR REPLACE FUNCTION pickup_point_recount(p_point text) RETURNS integer
LANGUAGE sql STABLE AS $fn$
	SELECT count(*)::integer FROM orders o
	 WHERE o.pickup_point_id = p_point AND pickup_place_taken(o.id, p_point, o.status)
$fn$;
