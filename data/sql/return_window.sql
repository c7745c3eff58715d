-- return_window: may lines of order p_order still be returned for p_reason
-- at p_now (issue 12, returns and exchanges)? The window runs from the
-- order's delivery (its last `delivered` event): window_days days for any
-- reason, defect_window_days for defective, damaged_in_transit and
-- wrong_item, per product category ([returns.CATEGORY], else [returns]);
-- with lines of several categories the strictest (shortest) window counts.
--   p_categories  the categories of the lines returned
--   p_policies    {"default": {"window_days", "defect_window_days",
--                  "quick_refund_max_fen"}, "categories": {CAT: {...}}}
--                 (the daemon's config snapshot, api/returns.c)
-- Returns {"r":"open","delivered_at","window_days","window_end"}
--   | {"r":"closed", same members} | {"r":"not_delivered","status"};
-- window_days is the window of the reason (the defect window for a
-- defect), as exchange_create names it.
-- Part P5 (exchanges) applies the same rules through this function.
CREATE OR REPLACE FUNCTION return_window(p_order text, p_categories text[], p_reason text,
					 p_policies jsonb, p_now timestamptz)
RETURNS jsonb LANGUAGE plpgsql STABLE AS $fn$
DECLARE
	v_status text;
	v_at timestamptz;
	v_days integer;
	v_member text := CASE WHEN p_reason IN ('defective', 'damaged_in_transit', 'wrong_item')
			      THEN 'defect_window_days' ELSE 'window_days' END;
	v_closes timestamptz;
	doc jsonb;
BEGIN
	SELECT status INTO v_status FROM orders WHERE id = p_order;
	SELECT max(at) INTO v_at FROM order_events WHERE order_id = p_order AND kind = 'delivered';
	IF v_status IS DISTINCT FROM 'delivered' OR v_at IS NULL THEN
		RETURN jsonb_build_object('r', 'not_delivered', 'status', v_status);
	END IF;
	SELECT min(coalesce((p_policies->'categories'->c->>v_member)::integer,
			    (p_policies->'default'->>v_member)::integer, 0))
	  INTO v_days FROM unnest(p_categories) c;
	v_days := coalesce(v_days, (p_policies->'default'->>v_member)::integer, 0);
	v_closes := v_at + make_interval(days => v_days);
	doc := jsonb_build_object('delivered_at',
				  to_char(v_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
				  'window_days', v_days,
				  'window_end',
				  to_char(v_closes AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'));
	RETURN doc || jsonb_build_object('r', CASE WHEN p_now <= v_closes THEN 'open'
						   ELSE 'closed' END);
END
$fn$;
