-- wave_plan_input: what the planner plans for a station's wave, in one
-- round trip (svc/wave_planner.c), as
--   {"couriers": [{id, name, vehicle, capacity_kg, capacity_l, speed_kmh,
--                  shift_start, shift_end}],   (epoch seconds, clipped to the wave)
--    "stops": [{order_id, stop_id, kind, return_id, point, lon, lat, slot, weight_g,
--               volume_ml, pickup_weight_g, pickup_volume_ml, status,
--               courier_id, position, started}]}
-- p_keys are the wave's counter keys (the wave and its precise slots),
-- [p_from, p_to) what is left of the wave (its start, or now once it has
-- begun). The couriers are couriers_on_shift() (issue 11, part B) in that
-- window, one row each: a courier with two on-duty stretches in it (off duty
-- and back) is planned over the longest. The stops, in order id order, are
--   - orders booked in the wave with no stop yet, not delivered, returned or
--     cancelled, whose live shipments are all at the station
--     (arrived_at_station) or on the line-haul and due there by the wave's
--     start (departed_warehouse at + the warehouse chain's linehaul_s <= p_from);
--   - this wave's stops that are pending or planned (of orders not
--     cancelled; a pickup's return not cancelled or failed; a pending
--     exchange stop only once its replacement's shipments are at the
--     station or due, as a booked order), and its done stops (arrived,
--     delivered, failed, picked_up) that have a courier: the warm start
--     keeps them in place.
-- Demand (issue 12 part P4): a delivery's is its order's lines (weight_g,
-- volume_ml, carried from the depot); a pickup's is its return's lines
-- (pickup_weight_g, pickup_volume_ml, carried to the route's end; nothing
-- delivered, no slot); an exchange stop has both (the replacement order's
-- lines delivered, the return's collected).
-- Pickup orders (issue 13 part R): an order routed to a pickup point served
-- by a courier (orders.pickup_point_id, pickup_points.shelf false) is a
-- drop at the point: point is its id and lon/lat the point's, not the
-- customer's (the planner makes one visit of the point's drops). An order
-- for the station's own shelf point is never on a route: it is neither
-- booked nor waved here (its parcel is scanned into the shelf at the
-- station, POST /v1/pickup-points/{id}/arrivals).
-- started: the stop's courier has begun the route (a done stop, or a parcel
-- of the courier's stops out for delivery). At most p_limit stops.
-- plpgsql so that couriers_on_shift may be created after this file.
CREATE OR REPLACE FUNCTION wave_plan_input(p_station text, p_wave text, p_keys text[],
					   p_from timestamptz, p_to timestamptz, p_limit integer)
RETURNS jsonb LANGUAGE plpgsql STABLE AS $fn$
DECLARE
	v_couriers jsonb;
	v_stops jsonb;
BEGIN
	-- A wave already over has no one on shift (and no window to ask about).
	v_couriers := '[]'::jsonb;
	IF p_from < p_to THEN
		SELECT coalesce(jsonb_agg(jsonb_build_object(
			'id', c.courier_id, 'name', c.name, 'vehicle', c.vehicle,
			'capacity_kg', c.capacity_kg, 'capacity_l', c.capacity_l,
			'speed_kmh', c.speed_kmh,
			'shift_start', extract(epoch FROM greatest(c.shift_start, p_from)),
			'shift_end', extract(epoch FROM least(c.shift_end, p_to))) ORDER BY c.courier_id),
			'[]'::jsonb)
		  INTO v_couriers
		  FROM (SELECT DISTINCT ON (o.courier_id) o.*
			  FROM couriers_on_shift(p_station, p_from, p_to) o
			 WHERE least(o.shift_end, p_to) > greatest(o.shift_start, p_from)
			 ORDER BY o.courier_id,
				  least(o.shift_end, p_to) - greatest(o.shift_start, p_from) DESC,
				  o.shift_start) c;
	END IF;

	WITH booked AS (
		SELECT o.id AS order_id, NULL::text AS stop_id, NULL::text AS status,
		       NULL::text AS courier_id, NULL::integer AS position,
		       'delivery'::text AS kind, NULL::text AS return_id
		  FROM (SELECT DISTINCT c.order_id FROM order_capacity c
			 WHERE c.station_id = p_station AND c.counter_key = ANY (p_keys)
			   AND NOT c.released) b
		  JOIN orders o ON o.id = b.order_id
		 WHERE o.station_id = p_station
		   AND o.status NOT IN ('delivered', 'returned', 'cancelled',
					'returning_to_warehouse')
		   AND NOT EXISTS (SELECT 1 FROM stops s WHERE s.order_id = o.id)
		   AND NOT EXISTS (SELECT 1 FROM pickup_points pp
				    WHERE pp.id = o.pickup_point_id AND pp.shelf)
		   AND EXISTS (SELECT 1 FROM shipments sh WHERE sh.order_id = o.id
				  AND sh.status <> 'cancelled')
		   AND NOT EXISTS (
			SELECT 1 FROM shipments sh
			  LEFT JOIN intake_warehouses w ON w.id = sh.warehouse_id
			 WHERE sh.order_id = o.id AND sh.status <> 'cancelled'
			   AND NOT (sh.status = 'arrived_at_station'
				    OR sh.status = 'departed_warehouse' AND EXISTS (
					SELECT 1 FROM order_events e
					 WHERE e.order_id = o.id AND e.shipment_seq = sh.seq
					   AND e.kind = 'departed_warehouse'
					   AND e.at + make_interval(secs => coalesce(w.linehaul_s, 0))
					       <= p_from)))
	), waved AS (
		SELECT s.order_id, s.id, s.status, s.courier_id, s.position, s.kind, s.return_id
		  FROM stops s JOIN orders o ON o.id = s.order_id
		  LEFT JOIN returns r ON r.id = s.return_id
		 WHERE s.station_id = p_station AND s.wave_key = p_wave
		   AND (s.status IN ('pending', 'planned') AND o.status <> 'cancelled'
			AND NOT EXISTS (SELECT 1 FROM pickup_points pp
					 WHERE pp.id = o.pickup_point_id AND pp.shelf)
			AND (r.id IS NULL OR r.status NOT IN ('cancelled', 'failed'))
			AND NOT (s.kind = 'exchange' AND s.status = 'pending' AND EXISTS (
				SELECT 1 FROM shipments sh
				  LEFT JOIN intake_warehouses w ON w.id = sh.warehouse_id
				 WHERE sh.order_id = o.id AND sh.status <> 'cancelled'
				   AND NOT (sh.status IN ('arrived_at_station', 'rescheduled')
					    OR sh.status = 'departed_warehouse' AND EXISTS (
						SELECT 1 FROM order_events e
						 WHERE e.order_id = o.id AND e.shipment_seq = sh.seq
						   AND e.kind = 'departed_warehouse'
						   AND e.at + make_interval(
							secs => coalesce(w.linehaul_s, 0))
						       <= p_from))))
			OR s.status IN ('arrived', 'delivered', 'failed', 'picked_up')
			   AND s.courier_id IS NOT NULL)
	), todo AS (
		SELECT * FROM booked UNION ALL SELECT * FROM waved
		ORDER BY 1, 2 NULLS FIRST LIMIT p_limit
	)
	SELECT coalesce(jsonb_agg(jsonb_build_object(
		'order_id', t.order_id, 'stop_id', t.stop_id, 'kind', t.kind,
		'return_id', t.return_id, 'point', pp.id,
		'lon', coalesce(pp.lon, o.lon), 'lat', coalesce(pp.lat, o.lat),
		'slot', CASE WHEN t.kind <> 'pickup' THEN
			(SELECT max(c.counter_key) FROM order_capacity c
			  WHERE c.order_id = o.id AND NOT c.released
			    AND substr(c.counter_key, 10, 1) = 'S') END,
		'weight_g', CASE WHEN t.kind = 'pickup' THEN 0 ELSE w.weight_g END,
		'volume_ml', CASE WHEN t.kind = 'pickup' THEN 0 ELSE w.volume_ml END,
		'pickup_weight_g', pk.weight_g, 'pickup_volume_ml', pk.volume_ml,
		'status', coalesce(t.status, 'new'), 'courier_id', t.courier_id,
		'position', t.position,
		'started', t.courier_id IS NOT NULL AND EXISTS (
			SELECT 1 FROM stops d JOIN orders od ON od.id = d.order_id
			 WHERE d.station_id = p_station AND d.wave_key = p_wave
			   AND d.courier_id = t.courier_id
			   AND (d.status IN ('arrived', 'delivered', 'failed', 'picked_up')
				OR d.status = 'planned' AND od.status = 'out_for_delivery')))
		ORDER BY t.order_id, t.stop_id NULLS FIRST), '[]'::jsonb)
	  INTO v_stops
	  FROM todo t JOIN orders o ON o.id = t.order_id
	  LEFT JOIN pickup_points pp ON pp.id = o.pickup_point_id AND NOT pp.shelf
	       AND t.kind = 'delivery'
	 CROSS JOIN LATERAL (
		SELECT coalesce(sum(l.qty * k.weight_g), 0)::bigint AS weight_g,
		       coalesce(sum(l.qty * k.volume_ml), 0)::bigint AS volume_ml
		  FROM order_lines l JOIN skus k ON k.sku = l.sku WHERE l.order_id = o.id) w
	 CROSS JOIN LATERAL (
		SELECT coalesce(sum(l.qty * k.weight_g), 0)::bigint AS weight_g,
		       coalesce(sum(l.qty * k.volume_ml), 0)::bigint AS volume_ml
		  FROM return_lines l JOIN skus k ON k.sku = l.sku
		 WHERE l.return_id = t.return_id) pk;

	RETURN jsonb_build_object('couriers', v_couriers, 'stops', v_stops);
END
$fn$;
