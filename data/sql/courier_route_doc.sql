-- courier_route_doc: the document of GET /v1/couriers/me/route (docs/api.md):
-- the courier's current route (courier_route_current) with its stops in
-- order, each with what the courier needs at the door: recipient (as the
-- order holds it), point, window, ETA, kind, the lines to hand over (sku,
-- qty, shipment; none at a pickup), the proof required (never the PIN
-- itself: the recipient says it), status and attempt; a stop that collects
-- a return (kind pickup or exchange) names it ("return") and lists what to
-- collect ("collect": line, sku, qty); an order placed with a payment has
-- "payment" (cod_payment_doc: the amount to collect). A drop at a pickup
-- point (issue 13 part R: an order routed to a courier-served point) has
-- "drop": "pickup_point" and "pickup_point" {id, name, address,
-- opening_hours}; its recipient is the point's name and address and its
-- point the point's place, never the customer's. Without a route: version, wave and station
-- null and no stops. Times are RFC 3339 in the plan's local offset.
CREATE OR REPLACE FUNCTION courier_route_doc(p_courier text, p_today text)
RETURNS jsonb LANGUAGE sql STABLE AS $fn$
	SELECT coalesce((
		SELECT jsonb_build_object(
			'courier', p_courier, 'station', c.station_id, 'wave', c.wave_key,
			'version', c.version, 'plan_id', c.plan_id,
			'started', EXISTS (SELECT 1 FROM courier_route_starts rs
					    WHERE rs.courier_id = p_courier
					      AND rs.station_id = c.station_id
					      AND rs.wave_key = c.wave_key),
			'stops', coalesce((
				SELECT jsonb_agg(jsonb_build_object(
					'id', s.id, 'position', s.position, 'order', s.order_id,
					'kind', s.kind, 'attempt', s.attempt, 'status', s.status,
					'recipient', CASE WHEN pp.id IS NULL THEN o.recipient
						ELSE jsonb_build_object('name', pp.name,
									'address', pp.address) END,
					'point', CASE WHEN pp.id IS NOT NULL THEN
						 jsonb_build_object('lon', pp.lon, 'lat', pp.lat)
						 WHEN o.lon IS NULL THEN NULL ELSE
						 jsonb_build_object('lon', o.lon, 'lat', o.lat) END,
					'window', jsonb_build_object(
						'start', route_ts(s.window_start, c.utc_offset_s),
						'end', route_ts(s.window_end, c.utc_offset_s)),
					'eta', route_ts(s.eta, c.utc_offset_s),
					'proof', s.proof,
					'lines', CASE WHEN s.kind = 'pickup' THEN '[]'::jsonb
						 ELSE coalesce((
						SELECT jsonb_agg(jsonb_build_object(
							'sku', l.sku, 'qty', l.qty,
							'shipment', l.shipment_seq) ORDER BY l.line_no)
						  FROM order_lines l
						  JOIN shipments sh ON sh.order_id = l.order_id
								   AND sh.seq = l.shipment_seq
						 WHERE l.order_id = s.order_id
						   AND sh.status <> 'cancelled'), '[]'::jsonb) END)
					|| CASE WHEN s.return_id IS NULL THEN '{}'::jsonb
						ELSE jsonb_build_object('return', s.return_id,
							'collect', coalesce((
							SELECT jsonb_agg(jsonb_build_object(
								'line', rl.line_no, 'sku', rl.sku,
								'qty', rl.qty) ORDER BY rl.line_no)
							  FROM return_lines rl
							 WHERE rl.return_id = s.return_id), '[]'::jsonb)) END
					|| CASE WHEN pp.id IS NULL THEN '{}'::jsonb
						ELSE jsonb_build_object('drop', 'pickup_point',
							'pickup_point', jsonb_build_object(
								'id', pp.id, 'name', pp.name,
								'address', pp.address,
								'opening_hours',
								pp.opening_hours)) END
					|| CASE WHEN o.payment_method IS NULL THEN '{}'::jsonb
						ELSE jsonb_build_object('payment',
							cod_payment_doc(o.id, false)) END
					ORDER BY s.position NULLS LAST, s.id)
				  FROM stops s JOIN orders o ON o.id = s.order_id
				  LEFT JOIN pickup_points pp ON pp.id = o.pickup_point_id
				       AND s.kind = 'delivery'
				 WHERE s.courier_id = p_courier AND s.station_id = c.station_id
				   AND s.wave_key = c.wave_key AND s.status <> 'cancelled'),
				'[]'::jsonb))
		  FROM courier_route_current(p_courier, p_today) c),
		jsonb_build_object('courier', p_courier, 'station', NULL, 'wave', NULL,
				   'version', NULL, 'plan_id', NULL, 'started', false,
				   'stops', '[]'::jsonb))
$fn$;
