-- aftersales_services_doc: the service visits of an order for its tracking
-- page (order_tracking_doc's "services"), oldest first; '[]' when none.
--   p_public   true: the public view (the engineer's first name only, no ids)
-- Issue 12 part P3 fills this in; until then the list is empty.
CREATE OR REPLACE FUNCTION aftersales_services_doc(p_order text, p_public boolean)
RETURNS jsonb LANGUAGE sql STABLE AS $$
	SELECT '[]'::jsonb
$$;
