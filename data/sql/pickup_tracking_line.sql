-- pickup_tracking_line: the members of a pickup.* line on an order's
-- tracking timeline (order_tracking_doc): its text and the point's name.
-- Never the code (it is not in the events), in either view.
CREATE OR REPLACE FUNCTION pickup_tracking_line(p_kind text, p_detail jsonb, p_public boolean)
RETURNS jsonb LANGUAGE sql IMMUTABLE AS $fn$
	SELECT jsonb_strip_nulls(jsonb_build_object(
		'text', CASE p_kind
			WHEN 'pickup.arrived' THEN 'Ready for pickup at ' || (p_detail->>'point_name')
			WHEN 'pickup.handed_over' THEN 'Handed to pickup point '
				|| (p_detail->>'point_name') || ', not yet scanned in'
			WHEN 'pickup.code_issued' THEN 'New pickup code for '
				|| (p_detail->>'point_name')
			WHEN 'pickup.collected' THEN 'Collected at ' || (p_detail->>'point_name')
			WHEN 'pickup.expired' THEN 'Not collected in time: back to the station'
			ELSE 'Pickup point' END,
		'point', p_detail->>'point',
		'hold_until', p_detail->>'hold_until'))
$fn$;
