-- pickup_parcel_doc: one parcel at a pickup point as the point sees it
-- (docs/api.md "Pickup points"): never its code (only the order service's
-- tracking view shows it, order_tracking_doc).
CREATE OR REPLACE FUNCTION pickup_parcel_doc(p_id bigint)
RETURNS jsonb LANGUAGE sql STABLE AS $fn$
	SELECT jsonb_strip_nulls(jsonb_build_object(
		'order', order_id, 'point', point_id, 'size', size, 'status', status,
		'arrived_at', to_char(arrived_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
		'hold_until', to_char(hold_until AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
		'collected_at', to_char(collected_at AT TIME ZONE 'UTC',
					'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
		'expired_at', to_char(expired_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')))
	FROM pickup_parcels WHERE id = p_id
$fn$;
