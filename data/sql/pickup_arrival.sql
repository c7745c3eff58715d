-- pickup_arrival: POST /v1/pickup-points/{id}/arrivals (docs/api.md,
-- "Pickup points"): the parcel of order p_order, routed to point p_point
-- (orders.pickup_point_id), is scanned in there. It takes one place of the
-- point's capacity (a locker: of its compartments of size p_size), counted
-- under the point's row lock, so concurrent arrivals never exceed it; it gets
-- the first of the daemon's candidate codes that no parcel the point ever
-- had has (p_hashes: their keyed hashes, p_boxes: the codes sealed, both hex,
-- daemon/base/pickup_code.c; PostgreSQL never sees a code), and a hold
-- deadline p_hold_days after p_now; p_key_id (hex) is the fingerprint of
-- the key they were made under, kept with the code. Order event
-- pickup.arrived, feed line pickup.arrived. A parcel of the order already
-- held here is answered again (a repeated scan); one whose code is dead
-- (none since migration 037, or made under another key than p_key_id: the
-- token key file was replaced) gets the candidate code now, with order
-- event and feed line pickup.code_issued, so the order service shows the
-- new code.
-- Only a parcel on its way to the point is taken: the order not cancelled,
-- and each of its shipments (but cancelled ones) out for delivery (a
-- courier-served point: the courier brought it, pickup.handed_over) or, for
-- the station's own shelf (shelf), arrived at the station or out for
-- delivery. A parcel of the order that left the point (collected, expired:
-- its return is on its way) is never scanned in again: illegal.
-- Lock order (stop_event.sql): the station's feed head, the order row, the
-- point row; retired_at is read again under the point's lock, which
-- pickup_point_retire takes too, and so is station_id: a point moved to
-- another station meanwhile (its feed head was not the one locked) is
-- {"r":"retry"}. Returns {"r":"created"|"ok","parcel":doc} | {"r":"retry"}
--   | {"r":"not_found"} | {"r":"invalid","field":f,"message":m}
--   | {"r":"full","held":n} | {"r":"illegal","current":status,"message":m}.
CREATE OR REPLACE FUNCTION pickup_arrival(p_point text, p_order text, p_size text,
					  p_hashes text[], p_boxes text[], p_key_id text,
					  p_hold_days int,
					  p_role text, p_scope text[], p_actor text,
					  p_now timestamptz)
RETURNS jsonb LANGUAGE plpgsql AS $fn$
DECLARE
	p pickup_points;
	o orders;
	v_parcel pickup_parcels;
	v_held int;
	v_cap int;
	v_n int;
	v_id bigint;
	v_bad text;
	v_station text;
	v_key bytea := decode(p_key_id, 'hex');
BEGIN
	SELECT * INTO p FROM pickup_points WHERE id = p_point;
	IF NOT FOUND OR p.retired_at IS NOT NULL
	   OR NOT pickup_point_visible(p_point, p_role, p_scope) THEN
		RETURN jsonb_build_object('r', 'not_found');
	END IF;
	v_station := p.station_id;
	INSERT INTO station_feed_heads AS h (station_id, seq) VALUES (p.station_id, 0)
	ON CONFLICT (station_id) DO UPDATE SET seq = h.seq;
	SELECT * INTO o FROM orders WHERE id = p_order AND pickup_point_id = p_point
	   FOR NO KEY UPDATE;
	IF NOT FOUND THEN
		-- the same answer for no such order and an order routed elsewhere
		RETURN jsonb_build_object('r', 'invalid', 'field', 'order',
					  'message', 'no order routed to this pickup point has this id');
	END IF;
	SELECT * INTO p FROM pickup_points WHERE id = p_point FOR UPDATE;
	IF p.retired_at IS NOT NULL THEN
		RETURN jsonb_build_object('r', 'not_found'); -- retired meanwhile
	ELSIF p.station_id <> v_station THEN
		RETURN jsonb_build_object('r', 'retry'); -- moved: another feed head
	END IF;
	-- the candidate code no parcel of this point ever had
	SELECT u.n INTO v_n FROM unnest(p_hashes) WITH ORDINALITY AS u (h, n)
	 WHERE NOT EXISTS (SELECT 1 FROM pickup_parcels
			    WHERE point_id = p_point AND code_hash = decode(u.h, 'hex'))
	 ORDER BY u.n LIMIT 1;
	SELECT * INTO v_parcel FROM pickup_parcels
	 WHERE order_id = p_order AND point_id = p_point ORDER BY id DESC LIMIT 1;
	IF FOUND AND v_parcel.status = 'held' THEN
		IF (v_parcel.code_hash IS NULL OR v_parcel.code_key_id IS DISTINCT FROM v_key)
		   AND v_n IS NOT NULL THEN
			UPDATE pickup_parcels SET code_hash = decode(p_hashes[v_n], 'hex'),
				code_box = decode(p_boxes[v_n], 'hex'), code_key_id = v_key
			 WHERE id = v_parcel.id;
			INSERT INTO order_events (order_id, kind, at, detail)
			VALUES (p_order, 'pickup.code_issued', p_now,
				jsonb_build_object('point', p_point, 'point_name', p.name,
						   'by', p_actor));
			PERFORM station_feed_add(p.station_id, 'pickup.code_issued',
						 jsonb_build_object('order', p_order,
								    'point', p_point));
		END IF;
		RETURN jsonb_build_object('r', 'ok', 'parcel', pickup_parcel_doc(v_parcel.id));
	ELSIF FOUND THEN
		RETURN jsonb_build_object('r', 'illegal', 'current', v_parcel.status,
					  'message', 'the parcel left this pickup point already ('
						     || v_parcel.status || ')');
	END IF;
	IF o.status = 'cancelled' THEN
		v_bad := 'cancelled';
	ELSE
		SELECT coalesce(min(s.status) FILTER (WHERE s.status <> ALL (
				CASE WHEN p.shelf THEN '{arrived_at_station,out_for_delivery}'::text[]
				     ELSE '{out_for_delivery}'::text[] END)),
				CASE WHEN count(*) = 0 THEN 'cancelled' END)
		  INTO v_bad
		  FROM shipments s WHERE s.order_id = p_order AND s.status <> 'cancelled';
	END IF;
	IF v_bad IS NOT NULL THEN
		RETURN jsonb_build_object('r', 'illegal', 'current', v_bad,
					  'message', 'the order''s parcel is not on its way to this '
						     || 'pickup point (' || v_bad || ')');
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
	IF v_n IS NULL THEN
		RAISE EXCEPTION 'pickup_arrival: no free pickup code among %',
			cardinality(p_hashes);
	END IF;
	INSERT INTO pickup_parcels (point_id, order_id, size, code_hash, code_box, code_key_id,
				    arrived_at, hold_until, arrived_by)
	VALUES (p_point, p_order, p_size, decode(p_hashes[v_n], 'hex'), decode(p_boxes[v_n], 'hex'),
		v_key, p_now, p_now + make_interval(days => p_hold_days), p_actor)
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
