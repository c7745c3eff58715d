-- aftersales_service_line: what a service.* order event adds to its line of
-- the tracking timeline (order_tracking_doc): at least "text", and members
-- such as engineer {first_name}, window, eta, charges. p_public masks as
-- order_tracking_doc does. Issue 12 part P3 fills this in.
CREATE OR REPLACE FUNCTION aftersales_service_line(p_kind text, p_detail jsonb, p_public boolean)
RETURNS jsonb LANGUAGE sql IMMUTABLE AS $$
	SELECT jsonb_build_object('text', p_kind)
$$;
