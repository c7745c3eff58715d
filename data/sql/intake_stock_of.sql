-- intake_stock_of: current availability of every warehouse for the SKUs of
-- one order entry (an intake_commit batch entry).
CREATE OR REPLACE FUNCTION intake_stock_of(o jsonb) RETURNS jsonb LANGUAGE sql STABLE AS $$
	SELECT coalesce(jsonb_agg(jsonb_build_object('w', s.warehouse_id, 'sku', s.sku,
						     'available', s.available)), '[]'::jsonb)
	  FROM stock s
	 WHERE s.sku = ANY (ARRAY(SELECT l->>'sku' FROM jsonb_array_elements(o->'lines') AS l))
$$;
