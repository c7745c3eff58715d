-- pickup_collect: POST /v1/pickup-points/{id}/collections (docs/api.md,
-- "Pickup points"): the customer shows code p_code at point p_point. The
-- parcel held there with this code is collected (order event
-- pickup.collected, feed line pickup.collected), its shipments delivered
-- (stop_shipments_move: the delivered event) and the code is dead. A
-- wrong code, a code already used and a code of a parcel that never existed
-- get the same answer ({"r":"invalid"} naming code), so the answer says
-- nothing of which parcels exist. The same Idempotency-Key p_key with the
-- same code answers the collection again (a retry); another key reusing the
-- code is refused like a wrong one.
-- Lock order (stop_event.sql): the idempotency key (the parcel's
-- collect_key), the station's feed head, the order row, the parcel, the
-- order's shipments.
-- Returns {"r":"ok","parcel":doc} | {"r":"not_found"} (no such point for
-- this caller) | {"r":"invalid","field":"code","message":m}.
CREATE OR REPLACE FUNCTION pickup_collect(p_point text, p_code text, p_key text,
					  p_role text, p_scope text[], p_actor text,
					  p_now timestamptz)
RETURNS jsonb LANGUAGE plpgsql AS $fn$
DECLARE
	p pickup_points;
	v_parcel pickup_parcels;
	v_no jsonb := jsonb_build_object('r', 'invalid', 'field', 'code',
					 'message', 'no parcel at this pickup point waits for this code');
BEGIN
	SELECT * INTO p FROM pickup_points WHERE id = p_point;
	IF NOT FOUND OR NOT pickup_point_visible(p_point, p_role, p_scope) THEN
		RETURN jsonb_build_object('r', 'not_found');
	END IF;
	-- a retry of a collection done under this key
	SELECT * INTO v_parcel FROM pickup_parcels
	 WHERE point_id = p_point AND status = 'collected' AND collect_key = p_key
	   AND code = p_code;
	IF FOUND THEN
		RETURN jsonb_build_object('r', 'ok', 'parcel', pickup_parcel_doc(v_parcel.id));
	END IF;
	SELECT * INTO v_parcel FROM pickup_parcels
	 WHERE point_id = p_point AND status = 'held' AND code = p_code;
	IF NOT FOUND THEN
		RETURN v_no;
	END IF;
	INSERT INTO station_feed_heads AS h (station_id, seq) VALUES (p.station_id, 0)
	ON CONFLICT (station_id) DO UPDATE SET seq = h.seq;
	PERFORM 1 FROM orders WHERE id = v_parcel.order_id FOR NO KEY UPDATE;
	SELECT * INTO v_parcel FROM pickup_parcels WHERE id = v_parcel.id FOR UPDATE;
	IF v_parcel.status <> 'held' THEN
		-- collected or expired meanwhile: the retry under the same key, or dead
		IF v_parcel.status = 'collected' AND v_parcel.collect_key = p_key THEN
			RETURN jsonb_build_object('r', 'ok', 'parcel',
						  pickup_parcel_doc(v_parcel.id));
		END IF;
		RETURN v_no;
	END IF;
	UPDATE pickup_parcels SET status = 'collected', collected_at = p_now,
		collected_by = p_actor, collect_key = p_key
	 WHERE id = v_parcel.id;
	-- The customer has the parcel: the order is delivered (the delivered
	-- webhook, the return window). A parcel on the station's own shelf was
	-- never out with a courier: it goes out and is delivered at the counter.
	PERFORM stop_shipments_move(v_parcel.order_id, 'out_for_delivery', p_now,
				    jsonb_build_object('point', p_point, 'point_name', p.name));
	PERFORM stop_shipments_move(v_parcel.order_id, 'delivered', p_now,
				    jsonb_build_object('point', p_point, 'point_name', p.name,
						       'by', p_actor, 'proof', 'pickup_code'));
	INSERT INTO order_events (order_id, kind, at, detail)
	VALUES (v_parcel.order_id, 'pickup.collected', p_now,
		jsonb_build_object('point', p_point, 'point_name', p.name, 'by', p_actor));
	PERFORM station_feed_add(p.station_id, 'pickup.collected',
				 jsonb_build_object('order', v_parcel.order_id, 'point', p_point));
	RETURN jsonb_build_object('r', 'ok', 'parcel', pickup_parcel_doc(v_parcel.id));
END
$fn$;
