-- aftersales_return_line: what a return.* order event adds to its line of
-- the tracking timeline (order_tracking_doc): at least "text", and members
-- such as the return id, lines, refund. p_public masks as
-- order_tracking_doc does. Issue 12 part P4 fills this in.
CREATE OR REPLACE FUNCTION aftersales_return_line(p_kind text, p_detail jsonb, p_public boolean)
RETURNS jsonb LANGUAGE sql IMMUTABLE AS $$
	SELECT jsonb_build_object('text', p_kind)
$$;
