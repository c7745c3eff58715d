-- shipment_scan_batch: many scans in one round trip (a truck unloading at a
-- station). p_scans: [{"order","seq","event","key","at"?,"place"?}] (at: RFC
-- 3339 or absent for now), validated by the daemon. Each scan is
-- shipment_scan by the same caller; one scan's failure never affects another.
-- Locks, in the order every scan takes them: the feed heads of the stations
-- its arrived_at_station scans reach (sorted), then its orders (by id), then
-- the scans run sorted by (order, seq, position), so two batches lock in the
-- same order and scans of one shipment keep their order in the batch. A
-- departure locks stock rows last: no stock row is ever held while waiting
-- for an order, nor an order while waiting for a feed head.
-- Returns an array of shipment_scan answers, in the order of p_scans.
CREATE OR REPLACE FUNCTION shipment_scan_batch(p_scans jsonb, p_actor text, p_role text,
					       p_scope text[])
RETURNS jsonb LANGUAGE plpgsql AS $fn$
DECLARE
	n integer := jsonb_array_length(p_scans);
	res jsonb[] := array_fill(NULL::jsonb, ARRAY[n]);
	x record;
	st text;
BEGIN
	IF p_role IN ('station', 'admin') THEN
		FOR st IN SELECT DISTINCT o.station_id FROM jsonb_array_elements(p_scans) AS e
			   JOIN orders o ON o.id = e->>'order'
			  WHERE e->>'event' = 'arrived_at_station' AND o.station_id IS NOT NULL
			  ORDER BY 1 LOOP
			INSERT INTO station_feed_heads AS h (station_id, seq) VALUES (st, 0)
			ON CONFLICT (station_id) DO UPDATE SET seq = h.seq;
		END LOOP;
	END IF;
	-- Every order first, in id order, then the scans: a departure locks stock
	-- rows, and no stock row is ever held while waiting for an order.
	PERFORM 1 FROM orders
	 WHERE id IN (SELECT e->>'order' FROM jsonb_array_elements(p_scans) AS t(e))
	 ORDER BY id FOR NO KEY UPDATE;
	FOR x IN SELECT e, i FROM jsonb_array_elements(p_scans) WITH ORDINALITY AS t(e, i)
		  ORDER BY e->>'order', (e->>'seq')::integer, i LOOP
		res[x.i] := shipment_scan(x.e->>'order', (x.e->>'seq')::integer, x.e->>'event',
					  (x.e->>'at')::timestamptz, coalesce(x.e->>'place', ''),
					  p_actor, p_role, p_scope, x.e->>'key');
	END LOOP;
	RETURN coalesce(to_jsonb(res), '[]'::jsonb);
END
$fn$;
