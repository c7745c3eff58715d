-- shipment_depart_stock: a shipment left its warehouse, so its reservation
-- is consumed: for each of its lines the warehouse's on-hand and reserved
-- units both drop by the quantity (available does not move), with a
-- stock_ledger row per SKU (actor p_actor, reason "departed ORDER/SEQ") in
-- the caller's transaction. The caller holds the order's row lock (and, in a
-- batch, every order's), so stock rows are always locked after orders,
-- never before: no cycle with intake_cancel, which locks the same way.
-- Returns the changed rows [{"w","sku","qty","on_hand"}].
CREATE OR REPLACE FUNCTION shipment_depart_stock(p_order text, p_seq integer, p_actor text)
RETURNS jsonb LANGUAGE plpgsql AS $fn$
DECLARE
	done jsonb;
BEGIN
	PERFORM 1 FROM stock s
	 WHERE (s.warehouse_id, s.sku) IN (
		SELECT sh.warehouse_id, l.sku FROM order_lines l
		  JOIN shipments sh ON sh.order_id = l.order_id AND sh.seq = l.shipment_seq
		 WHERE l.order_id = p_order AND l.shipment_seq = p_seq)
	 ORDER BY s.warehouse_id, s.sku
	   FOR UPDATE;
	WITH x AS (
		SELECT sh.warehouse_id AS w, l.sku, sum(l.qty)::integer AS qty
		  FROM order_lines l
		  JOIN shipments sh ON sh.order_id = l.order_id AND sh.seq = l.shipment_seq
		 WHERE l.order_id = p_order AND l.shipment_seq = p_seq
		 GROUP BY 1, 2),
	u AS (
		UPDATE stock s SET on_hand = s.on_hand - x.qty, reserved = s.reserved - x.qty
		  FROM x
		 WHERE s.warehouse_id = x.w AND s.sku = x.sku
		RETURNING x.w, x.sku, x.qty, s.on_hand),
	l AS (
		INSERT INTO stock_ledger (actor, warehouse_id, sku, old_on_hand, new_on_hand, reason)
		SELECT p_actor, u.w, u.sku, u.on_hand + u.qty, u.on_hand,
		       'departed ' || p_order || '/' || p_seq
		  FROM u)
	SELECT coalesce(jsonb_agg(to_jsonb(u) ORDER BY u.w, u.sku), '[]'::jsonb) INTO done FROM u;
	RETURN done;
END
$fn$;
