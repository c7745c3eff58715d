-- pickup_arrival: POST /v1/pickup-points/{id}/arrivals (docs/api.md,
-- "Pickup points"): the parcel of order p_order, routed to point p_point
-- (orders.pickup_point_id), is scanned in there. It takes one place of the
-- point's capacity (a locker: of its compartments of size p_size), counted
-- under the point's row lock, so concurrent arrivals never exceed it; it gets
-- the first of p_codes (random 6-digit codes made by the daemon) that no
-- other parcel held at the point has, and a hold deadline p_hold_days after
-- p_now. Order event pickup.arrived, feed line pickup.arrived. A parcel of
-- the order already held here is answered again (a repeated scan).
-- Lock order (stop_event.sql): the station's feed head, the order row, the
-- point row. Returns {"r":"created"|"ok","parcel":doc} | {"r":"not_found"}
--   | {"r":"invalid","field":f,"message":m} | {"r":"full","held":n}
--   | {"r":"illegal","current":status}.
CREATE OR REPLACE FUNCTION pickup_arrival(p_point text, p_order text, p_size text,
					  p_codes text[], p_hold_days int, p_role text,
					  p_scope text[], p_actor text, p_now timestamptz)
RETURNS jsonb LANGUAGE plpgsql AS $fn$
DECLARE
	p pickup_points;
	v_parcel pickup_parcels;
	v_held int;
	v_cap int;
	v_code text;
	v_id bigint;
BEGIN
	SELECT * INTO p FROM pickup_points WHERE id = p_point;
	IF NOT FOUND OR p.retired_at IS NOT NULL
	   OR NOT pickup_point_visible(p_point, p_role, p_scope) THEN
		RETURN jsonb_build_object('r', 'not_found');
	END IF;
	INSERT INTO station_feed_heads AS h (station_id, seq) VALUES (p.station_id, 0)
	ON CONFLICT (station_id) DO UPDATE SET seq = h.seq;
	PERFORM 1 FROM orders WHERE id = p_order AND pickup_point_id = p_point FOR NO KEY UPDATE;
	IF NOT FOUND THEN
		-- the same answer for no such order and an order routed elsewhere
		RETURN jsonb_build_object('r', 'invalid', 'field', 'order',
					  'message', 'no order routed to this pickup point has this id');
	END IF;
	SELECT * INTO p FROM pickup_points WHERE id = p_point FOR UPDATE;
	SELECT * INTO v_parcel FROM pickup_parcels
	 WHERE order_id = p_order AND point_id = p_point AND status IN ('held', 'collected')
	 ORDER BY id DESC LIMIT 1;
	IF FOUND AND v_parcel.status = 'held' THEN
		RETURN jsonb_build_object('r', 'ok', 'parcel', pickup_parcel_doc(v_parcel.id));
	ELSIF FOUND THEN
		RETURN jsonb_build_object('r', 'illegal', 'current', v_parcel.status);
	END IF;
	IF p.kind = 'locker' AND p_size IS NULL THEN
		RETURN jsonb_build_object('r', 'invalid', 'field', 'size',
					  'message', 'a locker needs the compartment size: S, M or L');
	ELSIF p.kind = 'point' AND p_size IS NOT NULL THEN
		RETURN jsonb_build_object('r', 'invalid', 'field', 'size',
					  'message', 'only a locker takes a size');
	END IF;
	SELECT count(*) INTO v_held FROM pickup_parcels
	 WHERE point_id = p_point AND status = 'held'
	   AND (p_size IS NULL OR size = p_size);
	v_cap := CASE WHEN p.kind = 'locker' THEN coalesce((p.compartments->>p_size)::int, 0)
		      ELSE p.capacity END;
	IF v_held >= v_cap THEN
		RETURN jsonb_build_object('r', 'full', 'held', v_held);
	END IF;
	SELECT c INTO v_code FROM unnest(p_codes) WITH ORDINALITY AS u (c, n)
	 WHERE NOT EXISTS (SELECT 1 FROM pickup_parcels
			    WHERE point_id = p_point AND status = 'held' AND code = u.c)
	 ORDER BY n LIMIT 1;
	IF v_code IS NULL THEN
		RAISE EXCEPTION 'pickup_arrival: no free pickup code among %', cardinality(p_codes);
	END IF;
	INSERT INTO pickup_parcels (point_id, order_id, size, code, arrived_at, hold_until,
				    arrived_by)
	VALUES (p_point, p_order, p_size, v_code, p_now, p_now + make_interval(days => p_hold_days),
		p_actor)
	RETURNING id INTO v_id;
	INSERT INTO order_events (order_id, kind, at, detail)
	VALUES (p_order, 'pickup.arrived', p_now,
		jsonb_build_object('point', p_point, 'point_name', p.name, 'by', p_actor,
				   'hold_until', p_now + make_interval(days => p_hold_days)));
	PERFORM station_feed_add(p.station_id, 'pickup.arrived',
				 jsonb_build_object('order', p_order, 'point', p_point,
						    'hold_until',
						    p_now + make_interval(days => p_hold_days)));
	RETURN jsonb_build_object('r', 'created', 'parcel', pickup_parcel_doc(v_id));
END
$fn$;
