-- pickup_tracking_doc: the `pickup` member of an order's tracking page
-- (order_tracking_doc; docs/api.md "Tracking" and "Pickup points"): NULL
-- unless the order is routed to a pickup point; else the point (id, name,
-- address, opening hours, lon, lat) and its latest parcel's status
-- (awaiting_arrival before the scan-in, handed_to_point once a courier
-- handed it to a courier-served point [issue 13 part R] and until the
-- point scans it in, then held, collected or expired)
-- with hold_until. Never the pickup code: PostgreSQL holds it sealed, and
-- the daemon puts it in (daemon/api/tracking.c) for the order service only
-- (which shows it to its customer), only while the parcel is held; never in
-- admin's view nor the public view of the tracking code.
CREATE OR REPLACE FUNCTION pickup_tracking_doc(p_order text, p_public boolean)
RETURNS jsonb LANGUAGE sql STABLE AS $fn$
	SELECT jsonb_strip_nulls(jsonb_build_object(
		'point', jsonb_build_object('id', p.id, 'name', p.name, 'address', p.address,
					    'opening_hours', p.opening_hours, 'lon', p.lon,
					    'lat', p.lat),
		'status', coalesce(k.status, CASE WHEN EXISTS (
			SELECT 1 FROM order_events e
			 WHERE e.order_id = o.id AND e.kind = 'pickup.handed_over')
			THEN 'handed_to_point' ELSE 'awaiting_arrival' END),
		'hold_until', to_char(k.hold_until AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')))
	FROM orders o JOIN pickup_points p ON p.id = o.pickup_point_id
	LEFT JOIN LATERAL (SELECT * FROM pickup_parcels
			    WHERE order_id = o.id AND point_id = p.id
			    ORDER BY id DESC LIMIT 1) k ON true
	WHERE o.id = p_order
$fn$;
