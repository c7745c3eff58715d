-- shipment_scan: apply ONE scan to a shipment, in the caller's transaction.
--   p_order, p_seq   the shipment
--   p_event          the state it moves to (shipment_next's names)
--   p_at, p_place    when (NULL: now) and where (free text, '' for none)
--   p_actor          the caller's token id; p_role its role; p_scope its
--                    warehouse or station ids
--   p_key            the scan's Idempotency-Key
-- Returns one of
--   {"r":"ok","shipment":{order,seq,status,warehouse,at}}   moved, or already
--                    in that state (idempotent: no new event, "moved":false)
--   {"r":"illegal","current":state,"shipment":{...}}         not from this state
--   {"r":"forbidden"}  the role may never scan this event (checked first, so it
--                      tells nothing about the shipment)
--   {"r":"not_found"}  no such shipment, or outside the caller's scope: a
--                      warehouse token sees only shipments from its warehouses,
--                      a station token only those of orders its stations serve
--   {"r":"mismatch"}   the key was used for another shipment or event
-- and for a key seen before, the first answer again with "replay":true.
-- Only ok and illegal answers are remembered (the others changed nothing and
-- depend on who asks). Locks the order row, then the shipment row: cancelling
-- (intake_cancel) locks the order first too, so a scan and a cancel of one
-- order run one after the other; shipment_scan_batch sorts its scans by
-- (order, seq) so concurrent batches lock in one order.
-- An arrived_at_station that moves the shipment appends a shipment.arrived
-- line {order, seq} to the station's feed (station_feed_add). The feed's
-- head row is locked BEFORE the order row (and shipment_scan_batch locks all
-- its stations' heads, sorted, before its first scan): heads then orders
-- everywhere, so two batches unloading at one station never deadlock.
CREATE OR REPLACE FUNCTION shipment_scan(p_order text, p_seq integer, p_event text,
					 p_at timestamptz, p_place text, p_actor text,
					 p_role text, p_scope text[], p_key text)
RETURNS jsonb LANGUAGE plpgsql AS $fn$
DECLARE
	sh record;
	k record;
	nxt text;
	v_at timestamptz := coalesce(p_at, now());
	res jsonb;
	common text;
	v_station text;
BEGIN
	IF NOT (p_role = 'admin' AND p_event IN ('picked', 'packed', 'departed_warehouse',
						 'arrived_at_station')
		OR p_role = 'warehouse' AND p_event IN ('picked', 'packed', 'departed_warehouse')
		OR p_role = 'station' AND p_event = 'arrived_at_station') THEN
		RETURN jsonb_build_object('r', 'forbidden');
	END IF;
	IF p_seq NOT BETWEEN 1 AND 32767 THEN
		RETURN jsonb_build_object('r', 'not_found');
	END IF;
	IF p_event = 'arrived_at_station' THEN
		SELECT station_id INTO v_station FROM orders WHERE id = p_order;
		IF v_station IS NOT NULL THEN
			INSERT INTO station_feed_heads AS h (station_id, seq) VALUES (v_station, 0)
			ON CONFLICT (station_id) DO UPDATE SET seq = h.seq;
		END IF;
	END IF;
	PERFORM 1 FROM orders WHERE id = p_order FOR NO KEY UPDATE;
	SELECT s.status, s.warehouse_id, o.station_id INTO sh
	  FROM shipments s JOIN orders o ON o.id = s.order_id
	 WHERE s.order_id = p_order AND s.seq = p_seq
	   FOR UPDATE OF s;
	IF NOT FOUND THEN
		RETURN jsonb_build_object('r', 'not_found');
	END IF;
	IF p_role = 'warehouse' AND NOT coalesce(sh.warehouse_id = ANY (p_scope), false)
	   OR p_role = 'station' AND NOT coalesce(sh.station_id = ANY (p_scope), false) THEN
		RETURN jsonb_build_object('r', 'not_found');
	END IF;

	-- The key: claimed now, its answer written below; a key already there
	-- (committed, or committed by the transaction we waited for) is a replay.
	INSERT INTO shipment_scan_keys (key, order_id, seq, event, actor, answer)
	VALUES (p_key, p_order, p_seq, p_event, p_actor, '{}')
	ON CONFLICT (key) DO NOTHING;
	IF NOT FOUND THEN
		SELECT * INTO k FROM shipment_scan_keys WHERE key = p_key;
		IF k.order_id = p_order AND k.seq = p_seq AND k.event = p_event THEN
			RETURN k.answer || jsonb_build_object('replay', true);
		END IF;
		RETURN jsonb_build_object('r', 'mismatch');
	END IF;

	nxt := shipment_next(sh.status, p_event);
	IF nxt IS NULL THEN
		res := jsonb_build_object('r', 'illegal', 'current', sh.status);
		nxt := sh.status;
	ELSE
		res := jsonb_build_object('r', 'ok', 'moved', nxt <> sh.status);
	END IF;
	res := res || jsonb_build_object('shipment', jsonb_build_object(
		'order', p_order, 'seq', p_seq, 'status', nxt, 'warehouse', sh.warehouse_id,
		'at', to_char(v_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')));
	IF res->>'r' = 'ok' AND nxt <> sh.status THEN
		UPDATE shipments SET status = nxt WHERE order_id = p_order AND seq = p_seq;
		IF nxt = 'departed_warehouse' THEN
			PERFORM shipment_depart_stock(p_order, p_seq, p_actor);
		END IF;
		INSERT INTO order_events (order_id, shipment_seq, kind, at, detail)
		VALUES (p_order, p_seq, p_event, v_at,
			jsonb_build_object('actor', p_actor, 'role', p_role, 'from', sh.status,
					   'place', nullif(p_place, '')));
		-- The order follows its shipments once they all share one state.
		SELECT min(status) INTO common FROM shipments
		 WHERE order_id = p_order AND status <> 'cancelled'
		HAVING count(DISTINCT status) = 1;
		IF common IS NOT NULL THEN
			UPDATE orders SET status = common WHERE id = p_order AND status <> common;
		END IF;
		IF p_event = 'arrived_at_station' AND sh.station_id IS NOT NULL THEN
			PERFORM station_feed_add(sh.station_id, 'shipment.arrived',
						 jsonb_build_object('order', p_order, 'seq', p_seq));
		END IF;
	END IF;
	UPDATE shipment_scan_keys SET answer = res WHERE key = p_key;
	RETURN res;
END
$fn$;
