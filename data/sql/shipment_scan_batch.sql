-- shipment_scan_batch: many scans in one round trip (a truck unloading at a
-- station). p_scans: [{"order","seq","event","key","at"?,"place"?}] (at: RFC
-- 3339 or absent for now), validated by the daemon. Each scan is
-- shipment_scan by the same caller; one scan's failure never affects another.
-- The batch locks its orders (by id) before any scan; scans run sorted by
-- (order, seq, position), so two batches lock in the same order and scans of
-- one shipment keep their order in the batch.
-- Returns an array of shipment_scan answers, in the order of p_scans.
CREATE OR REPLACE FUNCTION shipment_scan_batch(p_scans jsonb, p_actor text, p_role text,
					       p_scope text[])
RETURNS jsonb LANGUAGE plpgsql AS $fn$
DECLARE
	n integer := jsonb_array_length(p_scans);
	res jsonb[] := array_fill(NULL::jsonb, ARRAY[n]);
	x record;
BEGIN
	-- Every order first, in id order, then the scans: a departure locks stock
	-- rows, and no stock row is ever held while waiting for an order.
	PERFORM 1 FROM orders
	 WHERE id IN (SELECT e->>'order' FROM jsonb_array_elements(p_scans) AS t(e))
	 ORDER BY id FOR UPDATE;
	FOR x IN SELECT e, i FROM jsonb_array_elements(p_scans) WITH ORDINALITY AS t(e, i)
		  ORDER BY e->>'order', (e->>'seq')::integer, i LOOP
		res[x.i] := shipment_scan(x.e->>'order', (x.e->>'seq')::integer, x.e->>'event',
					  (x.e->>'at')::timestamptz, coalesce(x.e->>'place', ''),
					  p_actor, p_role, p_scope, x.e->>'key');
	END LOOP;
	RETURN coalesce(to_jsonb(res), '[]'::jsonb);
END
$fn$;
