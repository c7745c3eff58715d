-- aftersales_returns_doc: the returns and exchanges of an order for its
-- tracking page (order_tracking_doc's "returns"), oldest first; '[]' when none.
--   p_public   true: the public view (no ids of people)
-- Issue 12 part P4 fills this in; until then the list is empty.
CREATE OR REPLACE FUNCTION aftersales_returns_doc(p_order text, p_public boolean)
RETURNS jsonb LANGUAGE sql STABLE AS $$
	SELECT '[]'::jsonb
$$;
