-- order_doc: the order as GET /v1/orders/{id} shows it (without events); the
-- daemon builds the 201 body of POST /v1/orders in the same shape. It holds
-- the recipient in full: only roles that may see personal data read it
-- (order_service, admin); the public view is order_tracking_doc's.
CREATE OR REPLACE FUNCTION order_doc(p_id text) RETURNS jsonb LANGUAGE sql STABLE AS $$
	SELECT jsonb_build_object(
		'id', o.id, 'external_id', o.external_id, 'status', o.status,
		'created_at', to_char(o.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
		'station', jsonb_build_object('id', o.station_id, 'name', o.station_name,
					      'district', o.district_id),
		'customer', CASE WHEN o.lon IS NULL THEN NULL
				 ELSE jsonb_build_object('lat', o.lat, 'lon', o.lon) END,
		'delivery_option', o.delivery_option, 'install', o.install,
		'lines', (SELECT jsonb_agg(jsonb_build_object('sku', l.sku, 'qty', l.qty)
					   ORDER BY l.line_no)
			    FROM order_lines l WHERE l.order_id = o.id),
		'shipments', (SELECT jsonb_agg(jsonb_build_object(
					'seq', s.seq, 'warehouse', s.warehouse_id, 'status', s.status,
					'lines', (SELECT jsonb_agg(jsonb_build_object('sku', l.sku,
										      'qty', l.qty)
								   ORDER BY l.line_no)
						    FROM order_lines l
						   WHERE l.order_id = o.id AND l.shipment_seq = s.seq))
					ORDER BY s.seq)
				FROM shipments s WHERE s.order_id = o.id),
		'promise', o.promise, 'tracking_code', o.tracking_code, 'recipient', o.recipient)
	       -- issue 13: "payment" only for orders placed with one (cod_payment_doc)
	       || CASE WHEN o.payment_method IS NULL THEN '{}'::jsonb
		       ELSE jsonb_build_object('payment', cod_payment_doc(o.id, false)) END
	       -- issue 13: the pickup point of a delivery_option "pickup" order
	       || CASE WHEN o.pickup_point_id IS NULL THEN '{}'::jsonb
		       ELSE jsonb_build_object('pickup_point', o.pickup_point_id) END
	FROM orders o WHERE o.id = p_id
$$;
