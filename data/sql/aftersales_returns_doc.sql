-- aftersales_returns_doc: the returns and exchanges of an order for its
-- tracking page (order_tracking_doc's "returns"), oldest first; '[]' when
-- none. Each is return_doc(id, p_public).
--   p_public   true: the public view (no ids of people, orders or stops)
-- plpgsql so that return_doc may be created after this file.
CREATE OR REPLACE FUNCTION aftersales_returns_doc(p_order text, p_public boolean)
RETURNS jsonb LANGUAGE plpgsql STABLE AS $fn$
BEGIN
	RETURN (SELECT coalesce(jsonb_agg(return_doc(r.id, p_public) ORDER BY r.created_at, r.id),
				'[]'::jsonb)
		  FROM returns r WHERE r.order_id = p_order);
END
$fn$;
