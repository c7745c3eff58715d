-- pickup_expire: the expiry tick's work (svc/pickup_expiry.c): up to p_limit
-- parcels held past their hold_until at p_now go back to the point's
-- station: status expired (the point's place is free), order event
-- pickup.expired and feed line pickup.expired; with p_return they go on to
-- the order's warehouse as a return (returns row, kind return, reason
-- uncollected, status at_station, no refund: every line of the order; the
-- station scans it departed_station and the warehouse received and
-- inspects it as any return, which restores the stock) with feed line
-- return.arrived. Each parcel is taken under the lock order of
-- stop_event.sql (the station's feed head, the order row, the parcel), every
-- lock with SKIP LOCKED: a parcel whose station feed, order or row another
-- transaction holds (another daemon's tick, a collection) is left for a
-- later tick, and the loop goes on with the next due parcel. So the tick
-- never waits while it holds locks (no deadlock, though it holds several
-- stations' heads at once), two daemons ticking at once share the due
-- parcels instead of one waiting for the other and then finding them done,
-- and a parcel expires once (it is re-read under its lock). Also deletes
-- the wrong-code rows (pickup_code_failures) older than a day. Returns the
-- number expired.
CREATE OR REPLACE FUNCTION pickup_expire(p_now timestamptz, p_return boolean, p_limit int)
RETURNS int LANGUAGE plpgsql AS $fn$
DECLARE
	c record;
	v_parcel pickup_parcels;
	v_ret text;
	v_wh text;
	n int := 0;
BEGIN
	DELETE FROM pickup_code_failures WHERE at < p_now - interval '1 day';
	FOR c IN SELECT k.id, p.station_id, p.name, k.order_id
		   FROM pickup_parcels k JOIN pickup_points p ON p.id = k.point_id
		  WHERE k.status = 'held' AND k.hold_until <= p_now
		  ORDER BY p.station_id, k.order_id LOOP
		EXIT WHEN n >= p_limit;
		IF NOT EXISTS (SELECT 1 FROM station_feed_heads WHERE station_id = c.station_id) THEN
			INSERT INTO station_feed_heads (station_id, seq) VALUES (c.station_id, 0)
			ON CONFLICT (station_id) DO NOTHING;
		END IF;
		PERFORM 1 FROM station_feed_heads WHERE station_id = c.station_id
		   FOR UPDATE SKIP LOCKED;
		CONTINUE WHEN NOT FOUND;
		PERFORM 1 FROM orders WHERE id = c.order_id FOR NO KEY UPDATE SKIP LOCKED;
		CONTINUE WHEN NOT FOUND;
		SELECT * INTO v_parcel FROM pickup_parcels WHERE id = c.id FOR UPDATE SKIP LOCKED;
		CONTINUE WHEN NOT FOUND OR v_parcel.status <> 'held' OR v_parcel.hold_until > p_now;
		UPDATE pickup_parcels SET status = 'expired', expired_at = p_now WHERE id = c.id;
		v_ret := NULL;
		IF p_return THEN
			SELECT warehouse_id INTO v_wh FROM shipments
			 WHERE order_id = c.order_id ORDER BY seq LIMIT 1;
			v_ret := 'ret_' || left(replace(gen_random_uuid()::text, '-', ''), 16);
			INSERT INTO returns (id, order_id, kind, reason, notes, status, station_id,
					     wave_key, window_start, window_end, warehouse_id,
					     refund_fen, refund_policy, created_at, updated_at)
			VALUES (v_ret, c.order_id, 'return', 'uncollected',
				'not collected from pickup point ' || v_parcel.point_id, 'at_station',
				c.station_id,
				to_char(p_now AT TIME ZONE 'UTC', 'YYYYMMDD') || '-W0000',
				p_now, p_now + interval '1 second', v_wh, 0, 'none', p_now, p_now);
			INSERT INTO return_lines (return_id, line_no, sku, qty)
			SELECT v_ret, line_no, sku, qty FROM order_lines WHERE order_id = c.order_id;
		END IF;
		INSERT INTO order_events (order_id, kind, at, detail)
		VALUES (c.order_id, 'pickup.expired', p_now,
			jsonb_strip_nulls(jsonb_build_object(
				'point', v_parcel.point_id, 'point_name', c.name,
				'station', c.station_id, 'return', v_ret)));
		PERFORM station_feed_add(c.station_id, 'pickup.expired',
					 jsonb_strip_nulls(jsonb_build_object(
						'order', c.order_id, 'point', v_parcel.point_id,
						'return', v_ret)));
		IF v_ret IS NOT NULL THEN
			PERFORM station_feed_add(c.station_id, 'return.arrived',
						 jsonb_build_object('return', v_ret,
								    'order', c.order_id));
		END IF;
		n := n + 1;
	END LOOP;
	RETURN n;
END
$fn$;
