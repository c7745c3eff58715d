-- exchange_create: POST /v1/orders/{id}/exchanges (issue 12, part P5;
-- docs/api.md "Exchanges"), in the caller's one transaction. An exchange
-- (换货) is one visit: the courier delivers a replacement and collects the
-- original at the same stop. Everything is made here or nothing is:
--   - a replacement order (orders: external_id = the original's + '/X' + n,
--     n the order's exchanges + 1, or the next n no order bears yet,
--     the original's station, district, point, recipient, client and
--     delivery option; promise {"kind":"exchange",...}), allocated and
--     reserved like any order line: one conditional UPDATE of stock per line
--     (available >= qty), preferring the warehouse of the original line's
--     shipment, then the warehouse with the most available; its shipments,
--     order_lines, a `created` and an `allocated` event per shipment
--     (detail.exchange_of = the original order);
--   - a returns row (kind exchange, exchange_order_id = the replacement) and
--     its return_lines (replacement_sku set);
--   - ONE stops row kind 'exchange' (order_id = the replacement, return_id =
--     the return, status pending, the pickup wave; proof pin with a 6-digit
--     PIN when a replacement sku is large, else photo, as route_plan_store);
--   - order event return.requested on the original order, station feed line
--     return.requested, and a wave_replans_due row when the wave is planned
--     (or being planned) already.
--
-- p_order     the original order id          p_new_id  the replacement's id
-- p_key       the Idempotency-Key            p_body    the canonical request
--             (scope 'exchanges'; the hash covers p_order and p_body)
-- p_req       {"lines":[{"line","qty","replacement_sku"|null}], "reason",
--              "notes", "wave", "window_start", "window_end"} (checked by the daemon),
--             or "wave_error" (the message) instead of the window when the wave
--             is no longer one to offer: refused after the key's check, so a
--             retry of an exchange made before its wave started is a replay
-- p_now       the daemon's clock
-- p_policies  the [returns] policies: {"default":{"window_days",
--             "defect_window_days","quick_refund_max_fen"},"categories":{"C":{...}}}
-- p_actor     the caller's token id (returns.requested_by)
--
-- Returns {"r":"ok","response": text,"stock":[{"w","sku","available"}]} (the
-- 201 body, stored for replays; the reserved rows' new levels, for the
-- daemon's stock hints),
-- {"r":"replay","status","response"}, {"r":"mismatch"}, {"r":"not_found"},
-- {"r":"not_delivered","status"} (409), {"r":"window_closed", "line",
-- "window_days","delivered_at","window_end","category"} (422),
-- {"r":"invalid","field","message"} (422), {"r":"out_of_stock","line","sku",
-- "qty","available"} (409). Refusals keep nothing, not even the key.
--
-- Refund: the replacement of the same sku (or an equal price) refunds nothing
-- (refund_fen 0, policy 'none'). A cheaper replacement refunds the
-- difference, Σ qty × (price − replacement price) in fen, with the returns
-- policy (at_pickup up to the strictest quick_refund_max_fen of the lines'
-- categories, else after_inspection). A dearer one refunds nothing here: the
-- order service charges the difference (the answer's `balance_fen` says how
-- much, never negative).
--
-- Lock order: the idempotency key, then the station's feed head (taken with
-- no change, as stop_event, shipment_scan(_batch) and route_plan_store take
-- it before any order: they hold it while they wait for an order row, so an
-- exchange must never hold the order while it waits for the head), then the
-- original order row (FOR UPDATE: exchanges and returns of one order take
-- turns, so the quantities left are exact), then every stock row of the
-- replacement skus sorted by (warehouse, sku) (as intake_commit and
-- intake_cancel), then the new order's external id, then the wave's
-- wave_replans_due row (after the head, as route_plan_store).
CREATE OR REPLACE FUNCTION exchange_create(p_order text, p_new_id text, p_key text, p_body text,
					   p_req jsonb, p_now timestamptz, p_policies jsonb,
					   p_actor text)
RETURNS jsonb LANGUAGE plpgsql AS $fn$
DECLARE
	hash bytea := sha256(convert_to(p_order || E'\n' || p_body, 'UTF8'));
	k record;
	res jsonb;
BEGIN
	INSERT INTO idempotency_keys (scope, key, request_hash, status, response, order_id)
	VALUES ('exchanges', p_key, hash, 201, '', p_new_id)
	ON CONFLICT (scope, key) DO NOTHING;
	IF NOT FOUND THEN
		SELECT t.request_hash, t.status, t.response INTO k
		  FROM idempotency_keys t WHERE t.scope = 'exchanges' AND t.key = p_key;
		IF k.request_hash = hash THEN
			RETURN jsonb_build_object('r', 'replay', 'status', k.status,
						  'response', k.response);
		END IF;
		RETURN jsonb_build_object('r', 'mismatch');
	END IF;
	BEGIN
		res := exchange_create_work(p_order, p_new_id, p_req, p_now, p_policies, p_actor);
	EXCEPTION WHEN SQLSTATE 'DMX01' THEN
		-- A refusal: everything since the key is undone; the key goes too.
		res := SQLERRM::jsonb;
	END;
	IF res->>'r' = 'ok' THEN
		UPDATE idempotency_keys SET response = res->>'response'
		 WHERE scope = 'exchanges' AND key = p_key;
	ELSE
		DELETE FROM idempotency_keys WHERE scope = 'exchanges' AND key = p_key;
	END IF;
	RETURN res;
END
$fn$;

-- The work of exchange_create; a refusal raises SQLSTATE DMX01 with the
-- answer as its message (so the caller's block undoes what was done).
CREATE OR REPLACE FUNCTION exchange_create_work(p_order text, p_new_id text, p_req jsonb,
						p_now timestamptz, p_policies jsonb,
						p_actor text)
RETURNS jsonb LANGUAGE plpgsql AS $fn$
DECLARE
	o orders%ROWTYPE;
	l record;
	pol jsonb;
	v_days integer;
	wend timestamptz;
	defect boolean := (p_req->>'reason') IN ('defective', 'damaged_in_transit', 'wrong_item');
	i integer := 0;
	-- [{n, line, sku, qty, rsku, orig_w, category, price, rprice, large, w}]
	lines jsonb := '[]'::jsonb;
	x jsonb;
	w text;
	avail integer;
	ret_id text := 'ret_' || substr(md5(gen_random_uuid()::text), 1, 16);
	stop_id text := 'stp_' || substr(md5(gen_random_uuid()::text), 1, 16);
	n_exch integer;
	v_ext text;
	v_promise jsonb;
	refund bigint := 0;
	balance bigint := 0;
	quick bigint;
	v_policy text;
	v_large boolean := false;
	v_ret_wh text;
	v_doc jsonb;
	v_feed bigint;
	v_stock jsonb := '[]'::jsonb;
	at_text text;
	v_st text;
BEGIN
	IF p_req ? 'wave_error' THEN
		RAISE EXCEPTION USING ERRCODE = 'DMX01', MESSAGE = jsonb_build_object(
			'r', 'invalid', 'field', 'pickup_wave',
			'message', p_req->>'wave_error')::text;
	END IF;
	-- The feed head before the order (see the lock order above); an order's
	-- station never changes, so it can be read before the order is locked.
	SELECT station_id INTO v_st FROM orders WHERE id = p_order;
	IF v_st IS NOT NULL THEN
		INSERT INTO station_feed_heads AS h (station_id, seq) VALUES (v_st, 0)
		ON CONFLICT (station_id) DO UPDATE SET seq = h.seq;
	END IF;
	SELECT * INTO o FROM orders WHERE id = p_order FOR UPDATE;
	IF NOT FOUND THEN
		RAISE EXCEPTION USING ERRCODE = 'DMX01',
			MESSAGE = jsonb_build_object('r', 'not_found')::text;
	END IF;

	-- Each line: of the order, delivered, in its window, not exchanged or
	-- returned already beyond its quantity, its replacement a sku of the
	-- same category.
	FOR x IN SELECT value FROM jsonb_array_elements(p_req->'lines') LOOP
		SELECT ol.line_no, ol.sku, ol.qty, sh.warehouse_id, sh.status AS sh_status,
		       sh.seq, k.category, k.price_milli,
		       (SELECT max(e.at) FROM order_events e
			 WHERE e.order_id = ol.order_id AND e.kind = 'delivered'
			   AND (e.shipment_seq = ol.shipment_seq OR e.shipment_seq IS NULL))
			       AS delivered_at,
		       (SELECT coalesce(sum(rl.qty), 0) FROM return_lines rl
			  JOIN returns r ON r.id = rl.return_id
			 WHERE r.order_id = ol.order_id AND rl.line_no = ol.line_no
			   AND r.status NOT IN ('cancelled', 'failed')) AS taken
		  INTO l
		  FROM order_lines ol
		  JOIN shipments sh ON sh.order_id = ol.order_id AND sh.seq = ol.shipment_seq
		  JOIN skus k ON k.sku = ol.sku
		 WHERE ol.order_id = p_order AND ol.line_no = (x->>'line')::integer;
		IF NOT FOUND THEN
			RAISE EXCEPTION USING ERRCODE = 'DMX01', MESSAGE = jsonb_build_object(
				'r', 'invalid', 'field', format('lines[%s].line', i),
				'message', 'the order has no such line')::text;
		END IF;
		IF l.sh_status <> 'delivered' OR l.delivered_at IS NULL THEN
			RAISE EXCEPTION USING ERRCODE = 'DMX01', MESSAGE = jsonb_build_object(
				'r', 'not_delivered', 'status', o.status, 'line', l.line_no)::text;
		END IF;
		pol := coalesce(p_policies->'categories'->l.category, p_policies->'default');
		v_days := coalesce((pol->>CASE WHEN defect THEN 'defect_window_days'
					     ELSE 'window_days' END)::integer, 0);
		wend := l.delivered_at + make_interval(days => v_days);
		IF p_now > wend THEN
			RAISE EXCEPTION USING ERRCODE = 'DMX01', MESSAGE = jsonb_build_object(
				'r', 'window_closed', 'line', l.line_no, 'category', l.category,
				'window_days', v_days,
				'delivered_at', to_char(l.delivered_at AT TIME ZONE 'UTC',
							'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
				'window_end', to_char(wend AT TIME ZONE 'UTC',
						      'YYYY-MM-DD"T"HH24:MI:SS"Z"'))::text;
		END IF;
		IF (x->>'qty')::integer > l.qty - l.taken THEN
			RAISE EXCEPTION USING ERRCODE = 'DMX01', MESSAGE = jsonb_build_object(
				'r', 'invalid', 'field', format('lines[%s].qty', i),
				'message', format(
					'at most %s (delivered %s, returned or exchanged %s)',
					greatest(l.qty - l.taken, 0), l.qty, l.taken))::text;
		END IF;
		lines := lines || jsonb_build_object('n', i, 'line', l.line_no, 'sku', l.sku,
			'qty', (x->>'qty')::integer,
			'rsku', coalesce(x->>'replacement_sku', l.sku), 'orig_w', l.warehouse_id,
			'category', l.category, 'price', l.price_milli);
		i := i + 1;
	END LOOP;
	FOR x IN SELECT value FROM jsonb_array_elements(lines) LOOP
		SELECT k.category, k.price_milli, k.large INTO l
		  FROM skus k WHERE k.sku = x->>'rsku';
		IF NOT FOUND OR l.category <> x->>'category' THEN
			RAISE EXCEPTION USING ERRCODE = 'DMX01', MESSAGE = jsonb_build_object(
				'r', 'invalid',
				'field', format('lines[%s].replacement_sku', x->>'n'),
				'message', CASE WHEN NOT FOUND THEN 'no such SKU'
					   ELSE 'must be a SKU of the same category (' ||
						(x->>'category') || ')' END)::text;
		END IF;
		lines := jsonb_set(lines, ARRAY[x->>'n'], x || jsonb_build_object(
			'rprice', l.price_milli, 'large', l.large));
		v_large := v_large OR l.large;
	END LOOP;

	-- Reserve: lock every stock row of the replacement skus in (warehouse,
	-- sku) order, then one conditional UPDATE per line in the preferred
	-- warehouse with enough.
	PERFORM 1 FROM stock s
	 WHERE s.sku IN (SELECT y->>'rsku' FROM jsonb_array_elements(lines) AS y)
	 ORDER BY s.warehouse_id, s.sku
	   FOR UPDATE;
	FOR x IN SELECT value FROM jsonb_array_elements(lines) LOOP
		w := NULL;
		UPDATE stock s SET available = s.available - (x->>'qty')::integer,
				   reserved = s.reserved + (x->>'qty')::integer
		 WHERE (s.warehouse_id, s.sku) = (
			SELECT c.warehouse_id, c.sku FROM stock c
			 WHERE c.sku = x->>'rsku' AND c.available >= (x->>'qty')::integer
			 ORDER BY c.warehouse_id = x->>'orig_w' DESC, c.available DESC,
				  c.warehouse_id
			 LIMIT 1)
		   AND s.available >= (x->>'qty')::integer
		RETURNING s.warehouse_id, s.available INTO w, avail;
		IF w IS NULL THEN
			SELECT coalesce(max(available), 0) INTO avail
			  FROM stock WHERE sku = x->>'rsku';
			RAISE EXCEPTION USING ERRCODE = 'DMX01', MESSAGE = jsonb_build_object(
				'r', 'out_of_stock', 'line', (x->'line'), 'sku', x->>'rsku',
				'qty', (x->'qty'), 'available', avail)::text;
		END IF;
		lines := jsonb_set(lines, ARRAY[x->>'n'], x || jsonb_build_object('w', w));
		v_stock := v_stock || jsonb_build_object('w', w, 'sku', x->>'rsku',
							 'available', avail);
	END LOOP;

	-- Refund by the returns rules (see the head of exchange_create).
	SELECT coalesce(sum(GREATEST((y->>'price')::bigint - (y->>'rprice')::bigint, 0)
			    * (y->>'qty')::bigint), 0) / 10,
	       coalesce(sum(GREATEST((y->>'rprice')::bigint - (y->>'price')::bigint, 0)
			    * (y->>'qty')::bigint), 0) / 10
	  INTO refund, balance
	  FROM jsonb_array_elements(lines) AS y;
	SELECT min(coalesce((coalesce(p_policies->'categories'->(y->>'category'),
				      p_policies->'default')->>'quick_refund_max_fen')::bigint, 0))
	  INTO quick FROM jsonb_array_elements(lines) AS y;
	v_policy := CASE WHEN refund = 0 THEN 'none'
			 WHEN refund <= quick THEN 'at_pickup' ELSE 'after_inspection' END;

	-- The replacement order.
	SELECT count(*) + 1 INTO n_exch FROM returns WHERE order_id = p_order AND kind = 'exchange';
	v_ext := o.external_id || '/X' || n_exch;
	-- The shop's own orders may bear that name already (any printable
	-- external_id is theirs): take the next free one rather than fail the
	-- unique index on every retry.
	WHILE EXISTS (SELECT 1 FROM orders WHERE external_id = v_ext) LOOP
		n_exch := n_exch + 1;
		v_ext := o.external_id || '/X' || n_exch;
	END LOOP;
	at_text := to_char(p_now AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"');
	v_promise := jsonb_build_object('kind', 'exchange', 'exchange_of', p_order,
		'return', ret_id, 'wave', p_req->>'wave',
		'window_start', p_req->>'window_start', 'window_end', p_req->>'window_end');
	INSERT INTO orders (id, external_id, idempotency_key, status, station_id, station_name,
			    district_id, lon, lat, delivery_option, install, promise, created_at,
			    recipient, tracking_code, client_id)
	VALUES (p_new_id, v_ext, 'exchange:' || ret_id, 'allocated', o.station_id,
		o.station_name, o.district_id, o.lon, o.lat, o.delivery_option, false, v_promise,
		p_now, o.recipient, 'TRK' || upper(substr(md5(gen_random_uuid()::text), 1, 16)),
		o.client_id);
	-- Shipments: one per warehouse, numbered in warehouse order.
	INSERT INTO shipments (order_id, seq, warehouse_id, status)
	SELECT p_new_id, row_number() OVER (ORDER BY y.w), y.w, 'allocated'
	  FROM (SELECT DISTINCT z->>'w' AS w FROM jsonb_array_elements(lines) AS z) y;
	INSERT INTO order_lines (order_id, line_no, sku, qty, shipment_seq)
	SELECT p_new_id, (y->>'n')::integer + 1, y->>'rsku', (y->>'qty')::integer, sh.seq
	  FROM jsonb_array_elements(lines) AS y
	  JOIN shipments sh ON sh.order_id = p_new_id AND sh.warehouse_id = y->>'w';
	INSERT INTO order_events (order_id, shipment_seq, kind, at, detail)
	VALUES (p_new_id, NULL, 'created', p_now, jsonb_build_object('station', o.station_id,
		'promise', v_promise, 'exchange_of', p_order, 'return', ret_id));
	INSERT INTO order_events (order_id, shipment_seq, kind, at, detail)
	SELECT p_new_id, sh.seq, 'allocated', p_now, jsonb_build_object(
		'warehouse', sh.warehouse_id, 'exchange_of', p_order, 'return', ret_id,
		'lines', (SELECT jsonb_agg(jsonb_build_object('sku', ol.sku, 'qty', ol.qty)
					   ORDER BY ol.line_no)
			    FROM order_lines ol
			   WHERE ol.order_id = p_new_id AND ol.shipment_seq = sh.seq))
	  FROM shipments sh WHERE sh.order_id = p_new_id ORDER BY sh.seq;

	-- The return, its lines, the one exchange stop.
	SELECT y->>'orig_w' INTO v_ret_wh FROM jsonb_array_elements(lines) AS y LIMIT 1;
	INSERT INTO returns (id, order_id, kind, reason, notes, status, station_id, wave_key,
			     window_start, window_end, warehouse_id, exchange_order_id, refund_fen,
			     refund_policy, requested_by, created_at, updated_at)
	VALUES (ret_id, p_order, 'exchange', p_req->>'reason', coalesce(p_req->>'notes', ''),
		'requested', o.station_id, p_req->>'wave', (p_req->>'window_start')::timestamptz,
		(p_req->>'window_end')::timestamptz, v_ret_wh, p_new_id, refund, v_policy,
		p_actor, p_now, p_now);
	-- unit_price_fen: what one unit refunds (the price difference, never
	-- negative); category: the sku's (its return policy), as returns keep.
	INSERT INTO return_lines (return_id, line_no, sku, qty, replacement_sku, unit_price_fen,
				  category)
	SELECT ret_id, (y->>'line')::smallint, y->>'sku', (y->>'qty')::integer, y->>'rsku',
	       GREATEST((y->>'price')::bigint - (y->>'rprice')::bigint, 0) / 10, y->>'category'
	  FROM jsonb_array_elements(lines) AS y;
	INSERT INTO stops (id, station_id, wave_key, order_id, kind, attempt, status, window_start,
			   window_end, proof, pin, return_id, created_at, updated_at)
	VALUES (stop_id, o.station_id, p_req->>'wave', p_new_id, 'exchange', 1, 'pending',
		(p_req->>'window_start')::timestamptz, (p_req->>'window_end')::timestamptz,
		CASE WHEN v_large THEN 'pin' ELSE 'photo' END,
		CASE WHEN v_large THEN lpad((floor(random() * 1000000))::integer::text, 6, '0') END,
		ret_id, p_now, p_now);

	INSERT INTO order_events (order_id, kind, at, detail)
	VALUES (p_order, 'return.requested', p_now, jsonb_build_object(
		'return', ret_id, 'kind', 'exchange', 'replacement_order', p_new_id,
		'wave', p_req->>'wave', 'window_start', p_req->>'window_start',
		'window_end', p_req->>'window_end', 'stop', stop_id, 'reason', p_req->>'reason',
		'lines', (SELECT jsonb_agg(jsonb_build_object('line', (y->'line'), 'sku', y->>'sku',
				'qty', (y->'qty'), 'replacement_sku', y->>'rsku')
				ORDER BY (y->>'n')::integer)
			    FROM jsonb_array_elements(lines) AS y)));

	-- A wave planned (or being planned) already may have read its stops:
	-- replan it with this one (as stop_event does for a retry).
	IF EXISTS (SELECT 1 FROM route_plans
		    WHERE station_id = o.station_id AND wave_key = p_req->>'wave')
	   OR EXISTS (SELECT 1 FROM wave_auto_plans
		       WHERE station_id = o.station_id AND wave_key = p_req->>'wave')
	   OR EXISTS (SELECT 1 FROM plan_runs
		       WHERE station_id = o.station_id AND wave_key = p_req->>'wave') THEN
		INSERT INTO wave_replans_due (station_id, wave_key, reason, since)
		VALUES (o.station_id, p_req->>'wave', 'exchange', p_now)
		ON CONFLICT (station_id, wave_key)
		DO UPDATE SET claimed_by = NULL, claimed_at = NULL;
	END IF;
	v_feed := station_feed_add(o.station_id, 'return.requested', jsonb_build_object(
		'return', ret_id, 'order', p_order, 'wave', p_req->>'wave', 'stop', stop_id,
		'kind', 'exchange', 'replacement_order', p_new_id));

	v_doc := jsonb_build_object(
		'id', ret_id, 'kind', 'exchange', 'order', p_order, 'status', 'requested',
		'reason', p_req->>'reason', 'notes', coalesce(p_req->>'notes', ''),
		'created_at', at_text,
		'lines', (SELECT jsonb_agg(jsonb_build_object('line', (y->'line'), 'sku', y->>'sku',
				'qty', (y->'qty'), 'replacement_sku', y->>'rsku',
				'warehouse', y->>'w')
				ORDER BY (y->>'n')::integer)
			    FROM jsonb_array_elements(lines) AS y),
		'refund', jsonb_build_object('amount', money_text(refund), 'amount_fen', refund,
					     'currency', 'CNY', 'policy', v_policy),
		'balance', money_text(balance), 'balance_fen', balance,
		'wave', p_req->>'wave',
		'window', jsonb_build_object('start', p_req->>'window_start',
					     'end', p_req->>'window_end'),
		'stop', jsonb_build_object('id', stop_id, 'kind', 'exchange', 'status', 'pending',
					   'wave', p_req->>'wave',
					   'proof', CASE WHEN v_large THEN 'pin' ELSE 'photo' END),
		'replacement_order', order_doc(p_new_id));
	RETURN jsonb_build_object('r', 'ok', 'response', v_doc::text, 'stock', v_stock);
END
$fn$;
