-- pickup_point_used: the places of pickup point p_point taken by orders
-- (issue 13 part C3): the orders routed to it (orders.pickup_point_id) that
-- are not cancelled and whose parcel was not collected nor expired there.
-- intake_commit counts them under the point's row lock before routing one
-- more order there; pickup_points_free gives them to the daemon's cache.
CREATE OR REPLACE FUNCTION pickup_point_used(p_point text) RETURNS integer
LANGUAGE sql STABLE AS $fn$
	SELECT count(*)::integer FROM orders po
	 WHERE po.pickup_point_id = p_point AND po.status <> 'cancelled'
	   AND NOT EXISTS (SELECT 1 FROM pickup_parcels pk
			    WHERE pk.order_id = po.id AND pk.point_id = p_point
			      AND pk.status IN ('collected', 'expired'))
$fn$;
