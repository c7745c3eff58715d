-- stock_set: set on-hand units (after receiving, a count): available moves by
-- the delta; on-hand below what is reserved is refused. Every accepted change
-- is written to stock_ledger in the same transaction (who: p_actor, a token
-- id; why: p_reason; the old and new on-hand), and nothing about stock is
-- ever changed without its ledger row. Returns {"r":"ok","stock":{...},
-- "ledger":seq}, {"r":"no_warehouse"}, {"r":"no_sku"} or
-- {"r":"below_reserved","stock":{...}}.
CREATE OR REPLACE FUNCTION stock_set(p_w text, p_sku text, p_on_hand integer, p_actor text,
                                     p_reason text DEFAULT '') RETURNS jsonb
LANGUAGE plpgsql AS $fn$
DECLARE
	s stock;
	old_on_hand integer;
	entry bigint;
BEGIN
	IF NOT EXISTS (SELECT 1 FROM warehouses WHERE id = p_w) THEN
		RETURN jsonb_build_object('r', 'no_warehouse');
	END IF;
	IF NOT EXISTS (SELECT 1 FROM skus WHERE sku = p_sku) THEN
		RETURN jsonb_build_object('r', 'no_sku');
	END IF;
	SELECT on_hand INTO old_on_hand FROM stock WHERE warehouse_id = p_w AND sku = p_sku
		FOR UPDATE;
	INSERT INTO stock AS t (warehouse_id, sku, on_hand, reserved, available)
	VALUES (p_w, p_sku, p_on_hand, 0, p_on_hand)
	ON CONFLICT (warehouse_id, sku) DO UPDATE
		SET on_hand = excluded.on_hand, available = excluded.on_hand - t.reserved
		WHERE t.reserved <= excluded.on_hand
	RETURNING t.* INTO s;
	IF NOT FOUND THEN
		SELECT * INTO s FROM stock WHERE warehouse_id = p_w AND sku = p_sku;
		RETURN jsonb_build_object('r', 'below_reserved', 'stock', to_jsonb(s));
	END IF;
	INSERT INTO stock_ledger (actor, warehouse_id, sku, old_on_hand, new_on_hand, reason)
	VALUES (p_actor, p_w, p_sku, old_on_hand, p_on_hand, coalesce(p_reason, ''))
	RETURNING seq INTO entry;
	RETURN jsonb_build_object('r', 'ok', 'stock', to_jsonb(s), 'ledger', entry);
END
$fn$;
