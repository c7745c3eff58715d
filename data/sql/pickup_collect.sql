-- pickup_collect: POST /v1/pickup-points/{id}/collections (docs/api.md,
-- "Pickup points"): the customer shows their code at point p_point; p_hash
-- is its keyed hash (hex, daemon/base/pickup_code.c: PostgreSQL never sees
-- a code). The parcel held there with this code is collected (order event
-- pickup.collected, feed line pickup.collected), its shipments delivered
-- by the lifecycle's collected_at_point (shipment_next: from out for
-- delivery or, on the station's shelf, arrived at the station; one
-- delivered event each, stop_shipments_move) and the code is dead. A
-- wrong code, a code already used and a code of a parcel that never existed
-- get the same answer ({"r":"invalid"} naming code), so the answer says
-- nothing of which parcels exist; each is a row of pickup_code_failures.
-- Wrong codes are limited (p_limits: {per caller, its window in seconds,
-- per point, its window}): once the caller p_actor has p_limits[1] of them
-- in the last p_limits[2] s, or the point p_limits[3] in the last
-- p_limits[4] s, every collection there is {"r":"limited","retry_after":s}
-- (the seconds until enough of the counted ones left their window for the
-- count to be below the limit again), right code or not, so the limit says
-- nothing either. The same Idempotency-Key p_key
-- with the same code answers the collection again (a retry); the key of a
-- collection at this point with another code is {"r":"mismatch"}.
-- Lock order (stop_event.sql): a transaction advisory lock per caller, then
-- one per point (at the idempotency key's place: they make the key check,
-- the counts of wrong codes and the collection one step, so neither two
-- daemons nor two requests at once pass a limit, the caller's one neither
-- by sending to several points at once), the station's feed head, the order row,
-- the parcel, the order's shipments.
-- Returns {"r":"ok","parcel":doc} | {"r":"not_found"} (no such point for
-- this caller) | {"r":"invalid","field":"code","message":m}
--   | {"r":"limited","retry_after":s} | {"r":"mismatch"}.
CREATE OR REPLACE FUNCTION pickup_collect(p_point text, p_hash text, p_key text,
					  p_limits int[], p_role text, p_scope text[],
					  p_actor text, p_now timestamptz)
RETURNS jsonb LANGUAGE plpgsql AS $fn$
DECLARE
	p pickup_points;
	v_parcel pickup_parcels;
	v_hash bytea := decode(p_hash, 'hex');
	v_wait double precision;
	v_count bigint;
	v_no jsonb := jsonb_build_object('r', 'invalid', 'field', 'code',
					 'message', 'no parcel at this pickup point waits for this code');
BEGIN
	SELECT * INTO p FROM pickup_points WHERE id = p_point;
	IF NOT FOUND OR NOT pickup_point_visible(p_point, p_role, p_scope) THEN
		RETURN jsonb_build_object('r', 'not_found');
	END IF;
	-- the caller's lock first: its wrong codes are counted over every point
	PERFORM pg_advisory_xact_lock(hashtextextended('pickup_collect actor ' || p_actor, 0));
	PERFORM pg_advisory_xact_lock(hashtextextended('pickup_collect ' || p_point, 0));
	-- a retry of a collection done under this key
	SELECT * INTO v_parcel FROM pickup_parcels
	 WHERE point_id = p_point AND status = 'collected' AND collect_key = p_key
	 ORDER BY id LIMIT 1;
	IF FOUND AND v_parcel.code_hash = v_hash THEN
		RETURN jsonb_build_object('r', 'ok', 'parcel', pickup_parcel_doc(v_parcel.id));
	ELSIF FOUND THEN
		RETURN jsonb_build_object('r', 'mismatch');
	END IF;
	-- Over a limit: wait until the count is below it again, when the
	-- (count - limit + 1)-th oldest counted row leaves its window.
	SELECT count(*) INTO v_count FROM pickup_code_failures
	 WHERE actor = p_actor AND at > p_now - make_interval(secs => p_limits[2]);
	IF v_count >= p_limits[1] THEN
		SELECT extract(epoch FROM at + make_interval(secs => p_limits[2]) - p_now)
		  INTO v_wait FROM pickup_code_failures
		 WHERE actor = p_actor AND at > p_now - make_interval(secs => p_limits[2])
		 ORDER BY at OFFSET v_count - p_limits[1] LIMIT 1;
	END IF;
	SELECT count(*) INTO v_count FROM pickup_code_failures
	 WHERE point_id = p_point AND at > p_now - make_interval(secs => p_limits[4]);
	IF v_count >= p_limits[3] THEN
		SELECT greatest(v_wait, extract(epoch FROM at + make_interval(secs => p_limits[4])
							   - p_now))
		  INTO v_wait FROM pickup_code_failures
		 WHERE point_id = p_point AND at > p_now - make_interval(secs => p_limits[4])
		 ORDER BY at OFFSET v_count - p_limits[3] LIMIT 1;
	END IF;
	IF v_wait IS NOT NULL THEN
		RETURN jsonb_build_object('r', 'limited',
					  'retry_after', greatest(1, ceil(v_wait))::int);
	END IF;
	SELECT * INTO v_parcel FROM pickup_parcels
	 WHERE point_id = p_point AND code_hash = v_hash AND status = 'held';
	IF FOUND THEN
		INSERT INTO station_feed_heads AS h (station_id, seq) VALUES (p.station_id, 0)
		ON CONFLICT (station_id) DO UPDATE SET seq = h.seq;
		PERFORM 1 FROM orders WHERE id = v_parcel.order_id FOR NO KEY UPDATE;
		-- expired meanwhile (the expiry tick takes no advisory lock): dead
		SELECT * INTO v_parcel FROM pickup_parcels WHERE id = v_parcel.id FOR UPDATE;
	END IF;
	IF v_parcel.id IS NULL OR v_parcel.status <> 'held' THEN
		INSERT INTO pickup_code_failures (point_id, actor, at)
		VALUES (p_point, p_actor, p_now);
		RETURN v_no;
	END IF;
	UPDATE pickup_parcels SET status = 'collected', collected_at = p_now,
		collected_by = p_actor, collect_key = p_key
	 WHERE id = v_parcel.id;
	-- The customer has the parcel: the order is delivered (the delivered
	-- webhook, the return window), in one step from where it waited.
	PERFORM stop_shipments_move(v_parcel.order_id, 'collected_at_point', p_now,
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
