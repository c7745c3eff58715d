-- service_offer: what may be booked for a service of type p_type on line
-- p_line of order p_order, before any engineer is looked at: the order
-- exists and is not cancelled, the line exists, the type exists for the
-- line's sku category (installation: the sku is installable), and the
-- windows offered. Read-only. Answers {"r": ...}:
--   ok              {station, line, sku, category, type, duration_s,
--                    price_list, windows: [{day, window_start, window_end,
--                    per_engineer}]}
--   not_found       no such order
--   cancelled       the order is cancelled
--   no_line         the order has no line p_line
--   unknown_type    {category}: no such type for the line's category
--   not_installable {sku}: installation of a sku that is not installable
-- p_types: every configured service type, [{"category", "type",
-- "duration_s", "price_list"}]; p_windows, p_tz: service_windows's.
-- Windows offered: from the local day after p_now's to p_horizon days
-- ahead; with p_with_delivery, only the window of the order's delivery
-- day that contains or follows the promised delivery (the promise's slot
-- start, else its large or standard wave start), if it starts after p_now.
CREATE OR REPLACE FUNCTION service_offer(p_order text, p_line integer, p_type text,
					 p_types jsonb, p_windows jsonb, p_tz text,
					 p_horizon integer, p_now timestamptz,
					 p_with_delivery boolean)
RETURNS jsonb LANGUAGE plpgsql STABLE AS $fn$
DECLARE
	o record;
	l record;
	t jsonb;
	today date := (p_now AT TIME ZONE p_tz)::date;
	delivery timestamptz;
	wins jsonb;
BEGIN
	SELECT id, status, station_id, promise INTO o FROM orders WHERE id = p_order;
	IF NOT FOUND THEN
		RETURN jsonb_build_object('r', 'not_found');
	END IF;
	IF o.status = 'cancelled' THEN
		RETURN jsonb_build_object('r', 'cancelled');
	END IF;
	SELECT ol.sku, s.category, s.installable INTO l
	  FROM order_lines ol JOIN skus s ON s.sku = ol.sku
	 WHERE ol.order_id = p_order AND ol.line_no = p_line;
	IF NOT FOUND THEN
		RETURN jsonb_build_object('r', 'no_line');
	END IF;
	SELECT e INTO t FROM jsonb_array_elements(coalesce(p_types, '[]'::jsonb)) e
	 WHERE e->>'category' = l.category AND e->>'type' = p_type LIMIT 1;
	IF t IS NULL THEN
		RETURN jsonb_build_object('r', 'unknown_type', 'category', l.category);
	END IF;
	IF p_type = 'installation' AND NOT l.installable THEN
		RETURN jsonb_build_object('r', 'not_installable', 'sku', l.sku);
	END IF;
	IF p_with_delivery THEN
		delivery := coalesce(o.promise->'slot'->>'start', o.promise->'large'->>'window_start',
				     o.promise->'standard'->>'window_start')::timestamptz;
		SELECT coalesce(jsonb_agg(to_jsonb(w)), '[]'::jsonb) INTO wins
		  FROM (SELECT * FROM service_windows(p_windows, p_tz,
						      (delivery AT TIME ZONE p_tz)::date,
						      (delivery AT TIME ZONE p_tz)::date) v
			 WHERE v.window_end > delivery
			 ORDER BY v.window_start LIMIT 1) w
		 WHERE w.window_start > p_now;
	ELSE
		SELECT coalesce(jsonb_agg(to_jsonb(w) ORDER BY w.window_start), '[]'::jsonb) INTO wins
		  FROM service_windows(p_windows, p_tz, today + 1, today + greatest(p_horizon, 0)) w
		 WHERE p_horizon >= 1;
	END IF;
	RETURN jsonb_build_object('r', 'ok', 'station', o.station_id, 'line', p_line,
				  'sku', l.sku, 'category', l.category, 'type', p_type,
				  'duration_s', (t->>'duration_s')::integer,
				  'price_list', t->'price_list', 'windows', wins);
END
$fn$;
