-- order_tracking_doc: an order's tracking page (GET /v1/orders/{id}/tracking
-- and GET /v1/track/{code}, docs/api.md "Tracking"); NULL when unknown.
--   p_id       the order
--   p_public   true: the public view of the tracking code, which masks
--              personal data: the recipient's name as an initial ("W.", or
--              a CJK name's first character and "*"), the phone's last 4
--              digits; no address, notes, PIN, order id, external id,
--              courier id or failure notes
-- The document: tracking_code, status, station; recipient; events (the
-- timeline in the order it was recorded (times may come from devices): at, kind, shipment, text, and per kind courier
-- {first_name}, reason, attempt, rescheduled_to, place); live (while a
-- shipment is out for delivery and its current stop is not done: the
-- courier's first name, last known position with its device time, and the
-- stop's ETA and window); services and returns (issue 12: the order's
-- service visits and returns, data/sql/aftersales_*_doc.sql; their events'
-- lines get their members from aftersales_*_line.sql); pickup (issue 13:
-- the order's pickup point and parcel, its code in the full view only,
-- pickup_tracking_doc.sql; pickup.* lines from pickup_tracking_line.sql);
-- and, in the full view only, order, external_id
-- and stop (the current attempt: its id, wave, status, proof and PIN).
-- The current attempt is the delivery stop with the highest attempt (for an
-- exchange's replacement order, its exchange stop: it delivers the order).
CREATE OR REPLACE FUNCTION order_tracking_doc(p_id text, p_public boolean) RETURNS jsonb
LANGUAGE sql STABLE AS $$
	WITH o AS (SELECT * FROM orders WHERE id = p_id),
	nship AS (SELECT count(*) AS n,
			 bool_or(status = 'out_for_delivery') AS out
		    FROM shipments WHERE order_id = p_id),
	cur AS (SELECT s.*, c.name AS courier_name
		  FROM stops s LEFT JOIN couriers c ON c.id = s.courier_id
		 WHERE s.order_id = p_id AND s.kind IN ('delivery', 'exchange')
		 ORDER BY s.attempt DESC LIMIT 1),
	ev AS (SELECT e.id, e.at, e.kind, e.shipment_seq AS seq, e.detail,
		      courier_first_name(coalesce(e.detail->>'courier_name', c.name)) AS first_name,
		      CASE e.detail->>'reason'
			   WHEN 'customer_absent' THEN 'the recipient was not there'
			   WHEN 'refused' THEN 'the recipient refused the parcel'
			   WHEN 'address_wrong' THEN 'the address could not be found'
			   WHEN 'damaged' THEN 'the parcel was damaged'
			   WHEN 'no_access' THEN 'the courier could not get in'
			   WHEN 'unsafe' THEN 'it was not safe to deliver'
			   ELSE 'another reason' END AS reason_text,
		      e.detail->>'wave' AS wave
		 FROM order_events e LEFT JOIN couriers c ON c.id = e.detail->>'courier'
		WHERE e.order_id = p_id
		  AND (e.kind IN ('allocated', 'picked', 'packed', 'departed_warehouse',
				  'arrived_at_station', 'out_for_delivery', 'arrived', 'delivered',
				  'failed', 'rescheduled', 'returning_to_warehouse', 'returned',
				  'cancelled', 'payment.collected')
		       OR e.kind LIKE 'service.%' OR e.kind LIKE 'return.%'
		       OR e.kind LIKE 'pickup.%')),
	lines AS (
		SELECT coalesce(jsonb_agg(jsonb_strip_nulls(jsonb_build_object(
			'at', to_char(ev.at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
			'kind', ev.kind,
			'shipment', ev.seq,
			'text', CASE WHEN nship.n > 1 AND ev.seq IS NOT NULL
				     THEN 'Parcel ' || ev.seq || ' of ' || nship.n || ': ' ELSE '' END ||
				CASE ev.kind
				WHEN 'allocated' THEN 'Order confirmed; the parcel is being prepared'
				WHEN 'picked' THEN 'Picked at the warehouse'
				WHEN 'packed' THEN 'Packed'
				WHEN 'departed_warehouse' THEN 'Left the warehouse'
				WHEN 'arrived_at_station' THEN 'Arrived at the delivery station '
							       || o.station_name
				WHEN 'out_for_delivery' THEN 'Out for delivery'
							     || coalesce(' with ' || ev.first_name, '')
				WHEN 'arrived' THEN 'The courier'
						    || coalesce(' ' || ev.first_name, '')
						    || ' has arrived at the delivery address'
				WHEN 'delivered' THEN 'Delivered'
				WHEN 'payment.collected' THEN 'Paid at the door: '
					|| (ev.detail->>'amount') || ' CNY by '
					|| (ev.detail->>'method')
				WHEN 'failed' THEN 'Delivery attempt'
						   || coalesce(' ' || (ev.detail->>'attempt'), '')
						   || ' failed: ' || ev.reason_text
				WHEN 'rescheduled' THEN 'Rescheduled to the delivery wave of '
					|| CASE WHEN ev.wave ~ '^[0-9]{8}-W[0-9]{4}$'
						THEN substr(ev.wave, 1, 4) || '-' || substr(ev.wave, 5, 2) || '-'
						     || substr(ev.wave, 7, 2) || ' ' || substr(ev.wave, 11, 2)
						     || ':' || substr(ev.wave, 13, 2)
						ELSE 'the next day' END
				WHEN 'returning_to_warehouse' THEN 'On its way back to the warehouse'
				WHEN 'returned' THEN 'Returned to the warehouse'
				WHEN 'cancelled' THEN 'Order cancelled'
				END,
			'place', ev.detail->>'place',
			'courier', CASE WHEN ev.first_name IS NOT NULL OR
					     (NOT p_public AND ev.detail ? 'courier')
				   THEN jsonb_build_object('first_name', ev.first_name)
					|| CASE WHEN p_public THEN '{}'::jsonb
						ELSE jsonb_build_object('id', ev.detail->>'courier') END
				   END,
			'reason', CASE WHEN ev.kind = 'failed' THEN ev.detail->>'reason' END,
			'notes', CASE WHEN ev.kind = 'failed' AND NOT p_public
				      THEN ev.detail->>'notes' END,
			'attempt', CASE WHEN ev.kind IN ('failed', 'rescheduled')
					THEN ev.detail->'attempt' END,
			'rescheduled_to', CASE WHEN ev.kind = 'rescheduled'
					       THEN jsonb_strip_nulls(jsonb_build_object(
						       'wave', ev.wave,
						       'window_start', ev.detail->'window_start')) END
			)) || CASE WHEN ev.kind LIKE 'service.%'
				   THEN aftersales_service_line(ev.kind, ev.detail, p_public)
				   WHEN ev.kind LIKE 'return.%'
				   THEN aftersales_return_line(ev.kind, ev.detail, p_public)
				   WHEN ev.kind LIKE 'pickup.%'
				   THEN pickup_tracking_line(ev.kind, ev.detail, p_public)
				   ELSE '{}'::jsonb END ORDER BY ev.id), '[]'::jsonb) AS events
		  FROM ev, o, nship),
	live AS (
		SELECT jsonb_build_object(
			'courier', jsonb_build_object('first_name', courier_first_name(cur.courier_name))
				   || CASE WHEN p_public THEN '{}'::jsonb
					   ELSE jsonb_build_object('id', cur.courier_id) END,
			'position', (SELECT jsonb_build_object(
					'lon', p.lon, 'lat', p.lat, 'accuracy_m', p.accuracy_m,
					'at', to_char(p.at AT TIME ZONE 'UTC',
						      'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'))
				       FROM courier_positions p WHERE p.courier_id = cur.courier_id),
			'stop', jsonb_build_object(
				'status', cur.status, 'attempt', cur.attempt,
				'eta', to_char(cur.eta AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
				'window_start', to_char(cur.window_start AT TIME ZONE 'UTC',
							'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
				'window_end', to_char(cur.window_end AT TIME ZONE 'UTC',
						      'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'))) AS doc
		  FROM cur, nship
		 WHERE nship.out AND cur.courier_id IS NOT NULL
		   AND cur.status IN ('planned', 'arrived'))
	SELECT jsonb_build_object(
		'tracking_code', o.tracking_code,
		'status', o.status,
		'station', jsonb_build_object('id', o.station_id, 'name', o.station_name),
		'recipient', CASE
			WHEN o.recipient IS NULL THEN NULL
			WHEN NOT p_public THEN o.recipient
			ELSE jsonb_build_object(
				'name', (SELECT CASE WHEN c ~ '^[\u3400-\u9fff\uf900-\ufaff\U00020000-\U0002fa1f]'
						     THEN c || '*' ELSE upper(c) || '.' END
					   FROM (SELECT left(btrim(o.recipient->>'name'), 1) AS c) AS x
					  WHERE c <> ''),
				'phone_last4', right(regexp_replace(o.recipient->>'phone', '[^0-9]', '', 'g'),
						     4))
			END,
		'events', lines.events,
		'live', (SELECT doc FROM live),
		'services', aftersales_services_doc(o.id, p_public),
		'returns', aftersales_returns_doc(o.id, p_public),
		'pickup', pickup_tracking_doc(o.id, p_public))
	       -- issue 13: what to pay at the door, and what was (cod_payment_doc)
	       || CASE WHEN o.payment_method IS NULL THEN '{}'::jsonb
		       ELSE jsonb_build_object('payment', cod_payment_doc(o.id, p_public)) END
	       || CASE WHEN p_public THEN '{}'::jsonb ELSE jsonb_build_object(
		'order', o.id,
		'external_id', o.external_id,
		'stop', (SELECT jsonb_build_object(
				'id', cur.id, 'wave', cur.wave_key, 'attempt', cur.attempt,
				'status', cur.status, 'courier', cur.courier_id,
				'eta', to_char(cur.eta AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
				'window_start', to_char(cur.window_start AT TIME ZONE 'UTC',
							'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
				'window_end', to_char(cur.window_end AT TIME ZONE 'UTC',
						      'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
				'proof', cur.proof, 'pin', cur.pin)
			   FROM cur)) END
	  FROM o, lines
$$;
