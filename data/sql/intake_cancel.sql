-- intake_cancel: cancel an order: release its reservations and its station
-- capacity (order_capacity) and append the event, unless a shipment has left
-- its warehouse. Returns {"r":"ok","order","stock","capacity"} (stock: the
-- released rows with their new availability; capacity: the counters given
-- back [{"st","k"}]), {"r":"ok","order","stock":[]} when it was already
-- cancelled, {"r":"not_found"} or {"r":"shipped","shipments":[seq...]}.
-- An exchange's replacement calls that exchange off: its exchange stop and
-- return are cancelled (return.cancelled {return, exchange_order, reason} on
-- the original order), first, before any stock row. Then it locks stock
-- rows, then capacity counters, each sorted, as intake_commit; then the
-- engineer-day rows of its service visits not begun (issue 12), which it
-- cancels (service.cancelled events, by 'order').
CREATE OR REPLACE FUNCTION intake_cancel(p_id text, p_reason text) RETURNS jsonb
LANGUAGE plpgsql AS $fn$
DECLARE
	st text;
	gone jsonb;
	released jsonb;
	cap jsonb;
BEGIN
	SELECT status INTO st FROM orders WHERE id = p_id FOR UPDATE;
	IF NOT FOUND THEN
		RETURN jsonb_build_object('r', 'not_found');
	END IF;
	IF st = 'cancelled' THEN
		RETURN jsonb_build_object('r', 'ok', 'order', order_doc(p_id), 'stock', '[]'::jsonb);
	END IF;
	SELECT jsonb_agg(seq ORDER BY seq) INTO gone FROM shipments
	 WHERE order_id = p_id AND status NOT IN ('allocated', 'picked', 'packed');
	IF gone IS NOT NULL THEN
		RETURN jsonb_build_object('r', 'shipped', 'shipments', gone);
	END IF;
	-- The replacement of an exchange (issue 12): the exchange is called off.
	-- Its exchange stop, then its return (stop_event's order: the order,
	-- the stop, the return) are cancelled, so no courier goes to collect and
	-- the lines may be returned again; return.cancelled on the original.
	-- Before any stock row: the event's foreign key waits for the original
	-- order, which exchange_create holds (FOR UPDATE) while it takes stock
	-- rows, so holding stock here could close a cycle.
	UPDATE stops SET status = 'cancelled', updated_at = now()
	 WHERE order_id = p_id AND kind = 'exchange' AND status IN ('pending', 'planned');
	WITH x AS (
		UPDATE returns SET status = 'cancelled', updated_at = now()
		 WHERE exchange_order_id = p_id AND status = 'requested'
		RETURNING id, order_id)
	INSERT INTO order_events (order_id, kind, detail)
	SELECT x.order_id, 'return.cancelled', jsonb_build_object('return', x.id,
		'exchange_order', p_id, 'reason', 'replacement_cancelled')
	  FROM x ORDER BY x.id;
	PERFORM 1 FROM stock s
	 WHERE (s.warehouse_id, s.sku) IN (
		SELECT sh.warehouse_id, l.sku FROM order_lines l
		  JOIN shipments sh ON sh.order_id = l.order_id AND sh.seq = l.shipment_seq
		 WHERE l.order_id = p_id)
	 ORDER BY s.warehouse_id, s.sku
	   FOR UPDATE;
	WITH u AS (
		UPDATE stock s SET available = s.available + x.qty, reserved = s.reserved - x.qty
		  FROM (SELECT sh.warehouse_id AS w, l.sku, sum(l.qty)::integer AS qty
			  FROM order_lines l
			  JOIN shipments sh ON sh.order_id = l.order_id AND sh.seq = l.shipment_seq
			 WHERE l.order_id = p_id
			 GROUP BY 1, 2) AS x
		 WHERE s.warehouse_id = x.w AND s.sku = x.sku
		RETURNING x.w, x.sku, x.qty, s.available)
	SELECT coalesce(jsonb_agg(to_jsonb(u) ORDER BY u.w, u.sku), '[]'::jsonb) INTO released FROM u;
	-- Give back its station capacity (in (station, key) order, as bookings lock).
	WITH rel AS (
		UPDATE order_capacity AS oc SET released = true
		 WHERE oc.order_id = p_id AND NOT oc.released
		RETURNING oc.station_id, oc.counter_key)
	SELECT coalesce(jsonb_agg(jsonb_build_object('st', station_id, 'k', counter_key)
				  ORDER BY station_id, counter_key), '[]'::jsonb) INTO cap FROM rel;
	PERFORM capacity_release(c->>'st', c->>'k') FROM jsonb_array_elements(cap) AS c;
	-- Its service visits not yet begun are cancelled too and give their
	-- engineer-day units back (in (engineer, day) order, as bookings lock).
	PERFORM service_capacity_add(a.capacity_engineer, a.day, a.window_start, -1)
	   FROM (SELECT * FROM service_appointments
		  WHERE order_id = p_id AND status IN ('booked', 'planned')
		    AND capacity_engineer IS NOT NULL
		  ORDER BY capacity_engineer, day, id) a;
	WITH c AS (
		UPDATE service_appointments
		   SET status = 'cancelled', capacity_engineer = NULL, updated_at = now(),
		       outcome = jsonb_build_object('by', 'order', 'reason', 'order cancelled')
		 WHERE order_id = p_id AND status IN ('booked', 'planned')
		RETURNING id, type, day, window_start, window_end)
	INSERT INTO order_events (order_id, kind, detail)
	SELECT p_id, 'service.cancelled', jsonb_build_object(
		'appointment', c.id, 'type', c.type, 'day', c.day,
		'window_start', to_char(c.window_start AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
		'window_end', to_char(c.window_end AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
		'reason', 'order cancelled', 'by', 'order')
	  FROM c ORDER BY c.id;
	UPDATE shipments SET status = 'cancelled' WHERE order_id = p_id;
	UPDATE orders SET status = 'cancelled', cancelled_at = now() WHERE id = p_id;
	INSERT INTO order_events (order_id, kind, detail)
	VALUES (p_id, 'cancelled', jsonb_build_object('reason', p_reason, 'released', released));
	RETURN jsonb_build_object('r', 'ok', 'order', order_doc(p_id), 'stock', released,
				  'capacity', cap);
END
$fn$;
