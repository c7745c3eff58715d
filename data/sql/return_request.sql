-- return_request: POST /v1/orders/{id}/returns (docs/api.md, "Returns"), in
-- one transaction: the return, its lines, its pickup stop and the events.
--   p_order     the order
--   p_req       the body as api/returns.c checked it: {"lines": [{"line",
--               "qty"}] (distinct lines), "reason", "notes", "pickup_wave"}
--   p_key       the Idempotency-Key, or NULL
--   p_policies  the return policies (return_window's argument)
--   p_waves     the station's pickup waves offered now, [{"key", "start",
--               "end"}] (RFC 3339 in the station's local offset)
--   p_now       the daemon's clock;  p_actor  the token id
-- The window (return_window) decides first; then each line must be one of
-- the order's, its qty at most what was delivered minus what earlier
-- returns and exchanges (not cancelled or failed) took; the wave must be
-- offered. The refund is Σ qty × skus.price_milli / 10 fen (fixed now per
-- line); its policy is at_pickup when it is at most the quick_refund_max_fen
-- of the strictest of the lines' categories, else after_inspection. The
-- pickup stop: kind pickup, return_id, attempt 1, pending, in the chosen
-- wave with its window, no courier; a wave_replans_due row when that wave
-- has a plan or is being planned (as stop_event's retries). Events: order
-- event return.requested (webhook) and feed line return.requested.
-- Returns {"r":"ok","return":doc,"replay":bool} | {"r":"not_found"}
--   | {"r":"not_delivered","status"} | {"r":"closed", window members}
--   | {"r":"invalid","field","message"} | {"r":"wave","offered":[keys]}
--   | {"r":"mismatch"} (the key made another return)
-- Lock order: the station's feed head, then the order row (NO KEY UPDATE,
-- as stop_event), so two returns of one order count each other's lines.
CREATE OR REPLACE FUNCTION return_request(p_order text, p_req jsonb, p_key text,
					  p_policies jsonb, p_waves jsonb, p_now timestamptz,
					  p_actor text)
RETURNS jsonb LANGUAGE plpgsql AS $fn$
DECLARE
	o record;
	prev record;
	win jsonb;
	w jsonb;
	l record;
	i integer := 0;
	v_id text := 'ret_' || substr(md5(gen_random_uuid()::text), 1, 16);
	v_stop text := 'stp_' || substr(md5(gen_random_uuid()::text), 1, 16);
	v_refund bigint := 0;
	v_quick bigint;
	v_policy text;
	v_wh text;
	v_cats text[];
BEGIN
	SELECT station_id INTO o FROM orders WHERE id = p_order;
	IF NOT FOUND THEN
		RETURN jsonb_build_object('r', 'not_found');
	END IF;
	INSERT INTO station_feed_heads AS h (station_id, seq) VALUES (o.station_id, 0)
	ON CONFLICT (station_id) DO UPDATE SET seq = h.seq;
	PERFORM 1 FROM orders WHERE id = p_order FOR NO KEY UPDATE;

	IF p_key IS NOT NULL THEN
		SELECT id, request INTO prev FROM returns
		 WHERE order_id = p_order AND idempotency_key = p_key;
		IF FOUND THEN
			IF prev.request = p_req THEN
				RETURN jsonb_build_object('r', 'ok', 'replay', true,
							  'return', return_doc(prev.id, false));
			END IF;
			RETURN jsonb_build_object('r', 'mismatch');
		END IF;
	END IF;

	-- The lines: the order's, within what is left to return.
	FOR l IN SELECT x.ord, (x.v->>'line')::integer AS line_no, (x.v->>'qty')::integer AS qty,
			ol.sku, ol.qty AS ordered, k.category, k.price_milli, sh.warehouse_id,
			coalesce((SELECT sum(rl.qty) FROM return_lines rl
				   JOIN returns r ON r.id = rl.return_id
				  WHERE r.order_id = p_order AND rl.line_no = ol.line_no
				    AND r.status NOT IN ('cancelled', 'failed')), 0) AS taken
		   FROM jsonb_array_elements(p_req->'lines') WITH ORDINALITY AS x(v, ord)
		   LEFT JOIN order_lines ol ON ol.order_id = p_order
					   AND ol.line_no = (x.v->>'line')::integer
		   LEFT JOIN skus k ON k.sku = ol.sku
		   LEFT JOIN shipments sh ON sh.order_id = p_order AND sh.seq = ol.shipment_seq
		  ORDER BY x.ord LOOP
		IF l.sku IS NULL THEN
			RETURN jsonb_build_object('r', 'invalid', 'field', 'lines[' || i || '].line',
						  'message', 'the order has no line ' || l.line_no);
		END IF;
		IF l.qty > l.ordered - l.taken THEN
			RETURN jsonb_build_object('r', 'invalid', 'field', 'lines[' || i || '].qty',
				'message', 'at most ' || greatest(l.ordered - l.taken, 0)
					   || ' of line ' || l.line_no || ' can be returned ('
					   || l.ordered || ' delivered, ' || l.taken
					   || ' returned already)');
		END IF;
		v_cats := v_cats || l.category;
		v_wh := coalesce(v_wh, l.warehouse_id);
		i := i + 1;
	END LOOP;

	win := return_window(p_order, v_cats, p_req->>'reason', p_policies, p_now);
	IF win->>'r' <> 'open' THEN
		RETURN win;
	END IF;

	SELECT x INTO w FROM jsonb_array_elements(coalesce(p_waves, '[]'::jsonb)) x
	 WHERE x->>'key' = p_req->>'pickup_wave';
	IF w IS NULL THEN
		RETURN jsonb_build_object('r', 'wave', 'offered',
			(SELECT coalesce(jsonb_agg(x->'key'), '[]'::jsonb)
			   FROM jsonb_array_elements(coalesce(p_waves, '[]'::jsonb)) x));
	END IF;

	SELECT min(coalesce((p_policies->'categories'->c->>'quick_refund_max_fen')::bigint,
			    (p_policies->'default'->>'quick_refund_max_fen')::bigint, 0))
	  INTO v_quick FROM unnest(v_cats) c;
	SELECT coalesce(sum((x->>'qty')::bigint * (k.price_milli / 10)), 0) INTO v_refund
	  FROM jsonb_array_elements(p_req->'lines') x
	  JOIN order_lines ol ON ol.order_id = p_order AND ol.line_no = (x->>'line')::integer
	  JOIN skus k ON k.sku = ol.sku;
	v_policy := CASE WHEN v_refund <= coalesce(v_quick, 0) THEN 'at_pickup'
			 ELSE 'after_inspection' END;

	INSERT INTO returns (id, order_id, kind, reason, notes, status, station_id, wave_key,
			     window_start, window_end, warehouse_id, refund_fen, refund_policy,
			     requested_by, idempotency_key, request, created_at, updated_at)
	VALUES (v_id, p_order, 'return', p_req->>'reason', coalesce(p_req->>'notes', ''),
		'requested', o.station_id, w->>'key', (w->>'start')::timestamptz,
		(w->>'end')::timestamptz, v_wh, v_refund, v_policy, p_actor, p_key, p_req,
		p_now, p_now);
	INSERT INTO return_lines (return_id, line_no, sku, qty, unit_price_fen, category)
	SELECT v_id, ol.line_no, ol.sku, (x->>'qty')::integer, k.price_milli / 10, k.category
	  FROM jsonb_array_elements(p_req->'lines') x
	  JOIN order_lines ol ON ol.order_id = p_order AND ol.line_no = (x->>'line')::integer
	  JOIN skus k ON k.sku = ol.sku;
	INSERT INTO stops (id, station_id, wave_key, order_id, kind, attempt, status,
			   window_start, window_end, proof, return_id, created_at, updated_at)
	VALUES (v_stop, o.station_id, w->>'key', p_order, 'pickup', 1, 'pending',
		(w->>'start')::timestamptz, (w->>'end')::timestamptz, 'none', v_id, p_now, p_now);
	IF EXISTS (SELECT 1 FROM route_plans
		    WHERE station_id = o.station_id AND wave_key = w->>'key')
	   OR EXISTS (SELECT 1 FROM wave_auto_plans
		       WHERE station_id = o.station_id AND wave_key = w->>'key')
	   OR EXISTS (SELECT 1 FROM plan_runs
		       WHERE station_id = o.station_id AND wave_key = w->>'key') THEN
		INSERT INTO wave_replans_due (station_id, wave_key, reason, since)
		VALUES (o.station_id, w->>'key', 'pickup', p_now)
		ON CONFLICT (station_id, wave_key) DO UPDATE SET claimed_by = NULL, claimed_at = NULL;
	END IF;
	INSERT INTO order_events (order_id, kind, at, detail)
	VALUES (p_order, 'return.requested', p_now, jsonb_build_object(
		'return', v_id, 'reason', p_req->>'reason', 'wave', w->>'key',
		'window_start', w->>'start', 'window_end', w->>'end', 'stop', v_stop,
		'lines', (SELECT jsonb_agg(jsonb_build_object('line', line_no, 'sku', sku,
							      'qty', qty) ORDER BY line_no)
			    FROM return_lines WHERE return_id = v_id),
		'amount', money_text(v_refund), 'amount_fen', v_refund, 'currency', 'CNY',
		'policy', v_policy));
	PERFORM station_feed_add(o.station_id, 'return.requested', jsonb_build_object(
		'return', v_id, 'order', p_order, 'wave', w->>'key', 'stop', v_stop));
	RETURN jsonb_build_object('r', 'ok', 'replay', false, 'return', return_doc(v_id, false));
END
$fn$;
