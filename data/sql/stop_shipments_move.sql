-- stop_shipments_move: move every shipment of an order (but cancelled ones)
-- by event p_to where the lifecycle allows it (shipment_next), in the
-- caller's transaction, appending one order_events row per shipment moved
-- (kind: the state it moved to, so collected_at_point is a delivered event;
-- detail p_detail plus "from", and "event" when it is not the state);
-- then the order follows its shipments once they all share one state, as
-- in shipment_scan. Shipments already where p_to leads, or that cannot go
-- there, are left alone. Returns how many moved.
-- The caller holds the order's row lock (stop_event, courier_route_start).
CREATE OR REPLACE FUNCTION stop_shipments_move(p_order text, p_to text, p_at timestamptz,
					       p_detail jsonb)
RETURNS integer LANGUAGE plpgsql AS $fn$
DECLARE
	sh record;
	nxt text;
	n integer := 0;
	common text;
BEGIN
	FOR sh IN SELECT seq, status FROM shipments
		   WHERE order_id = p_order AND status <> 'cancelled'
		   ORDER BY seq FOR UPDATE LOOP
		nxt := shipment_next(sh.status, p_to);
		IF nxt IS NOT NULL AND nxt <> sh.status THEN
			UPDATE shipments SET status = nxt WHERE order_id = p_order AND seq = sh.seq;
			INSERT INTO order_events (order_id, shipment_seq, kind, at, detail)
			VALUES (p_order, sh.seq, nxt, p_at,
				coalesce(p_detail, '{}'::jsonb) || jsonb_build_object('from', sh.status)
				|| CASE WHEN nxt <> p_to THEN jsonb_build_object('event', p_to)
					ELSE '{}'::jsonb END);
			n := n + 1;
		END IF;
	END LOOP;
	IF n > 0 THEN
		SELECT min(status) INTO common FROM shipments
		 WHERE order_id = p_order AND status <> 'cancelled'
		HAVING count(DISTINCT status) = 1;
		IF common IS NOT NULL THEN
			UPDATE orders SET status = common WHERE id = p_order AND status <> common;
		END IF;
	END IF;
	RETURN n;
END
$fn$;
