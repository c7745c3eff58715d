-- 011: booking station capacity with the order. intake_commit (003) now
-- also books each order's capacity counters (010) in the same transaction:
-- "cap" in an order's entry lists [{"st": station, "k": counter key,
-- "c": capacity}]; a counter with no place left undoes that order alone
-- ({"r": "capacity_full", "counter": {...}}), never the others of its batch.
-- intake_cancel gives the capacity back and reports it ("capacity").

CREATE OR REPLACE FUNCTION intake_commit(batch jsonb) RETURNS jsonb LANGUAGE plpgsql AS $fn$
DECLARE
	n integer := jsonb_array_length(batch);
	res jsonb[] := array_fill(NULL::jsonb, ARRAY[n]);
	owned integer[];
	placed integer[] := '{}';
	kept integer[];
	o jsonb;
	i integer;
	got integer;
	took jsonb;
	k record;
	r record;
	avail integer;
	booked jsonb;
	cc record;
	tight text[];  -- "station|key" of counters without room for all their orders
	missed jsonb;  -- the counter an order could not get
BEGIN
	-- 1. Claim the keys, in key order. A key inserted by a transaction still
	-- running makes this wait for it; then it is someone else's (step 5).
	WITH claimed AS (
		INSERT INTO idempotency_keys AS t (scope, key, request_hash, status, response, order_id)
		SELECT 'orders', e->>'key', sha256(convert_to(e->>'body', 'UTF8')), 201, e->>'resp',
		       e->>'id'
		  FROM jsonb_array_elements(batch) AS e
		 WHERE NOT coalesce((e->>'chk')::boolean, false)
		 ORDER BY e->>'key'
		ON CONFLICT (scope, key) DO NOTHING
		RETURNING t.order_id)
	SELECT coalesce(array_agg(x.i ORDER BY x.i), '{}') INTO owned
	  FROM jsonb_array_elements(batch) WITH ORDINALITY AS x(e, i)
	  JOIN claimed c ON c.order_id = x.e->>'id';

	-- 2. Lock the stock rows of the claimed orders, in (warehouse, sku) order.
	-- Row by row: index lookups whatever the planner thinks of the JSON.
	FOR r IN SELECT DISTINCT l->>'w' AS w, l->>'sku' AS sku
		   FROM unnest(owned) AS x(i), jsonb_array_elements(batch->(x.i - 1)->'lines') AS l
		  ORDER BY 1, 2 LOOP
		PERFORM 1 FROM stock WHERE warehouse_id = r.w AND sku = r.sku FOR UPDATE;
	END LOOP;

	-- 2b. The capacity counters the claimed orders book, created if new and
	-- locked in (station, key) order, after the stock rows: the same order in
	-- every transaction, so concurrent batches cannot deadlock.
	INSERT INTO capacity_counters (station_id, counter_key, capacity, booked)
	SELECT DISTINCT ON (c->>'st', c->>'k') c->>'st', c->>'k', (c->>'c')::integer, 0
	  FROM unnest(owned) AS x(i), jsonb_array_elements(batch->(x.i - 1)->'cap') AS c
	 ORDER BY c->>'st', c->>'k'
	ON CONFLICT (station_id, counter_key) DO NOTHING;
	PERFORM 1 FROM capacity_counters
	 WHERE (station_id, counter_key) IN (
		SELECT c->>'st', c->>'k'
		  FROM unnest(owned) AS x(i), jsonb_array_elements(batch->(x.i - 1)->'cap') AS c)
	 ORDER BY station_id, counter_key
	   FOR UPDATE;

	-- 3. Reserve, order by order: one conditional UPDATE per line; an order
	-- missing any line gives back what it took.
	FOREACH i IN ARRAY owned LOOP
		o := batch->(i - 1);
		took := '[]';
		got := 0;
		FOR r IN SELECT * FROM jsonb_to_recordset(o->'lines') AS l(w text, sku text, qty integer)
		LOOP
			UPDATE stock SET available = available - r.qty, reserved = reserved + r.qty
			 WHERE warehouse_id = r.w AND sku = r.sku AND available >= r.qty
			RETURNING available INTO avail;
			EXIT WHEN NOT FOUND;
			got := got + 1;
			took := took || jsonb_build_object('w', r.w, 'sku', r.sku, 'qty', r.qty,
							   'available', avail);
		END LOOP;
		IF got = jsonb_array_length(o->'lines') THEN
			placed := placed || i;
			res[i] := jsonb_build_object('r', 'ok', 'stock', took);
		ELSE
			PERFORM intake_release(took);
			DELETE FROM idempotency_keys WHERE scope = 'orders' AND key = o->>'key';
			res[i] := jsonb_build_object('r', 'no_stock', 'stock', intake_stock_of(o));
		END IF;
	END LOOP;

	-- 3b. Their station capacity (wave; precise slot; large window), set-wise:
	-- one UPDATE books every counter with room for all the orders that want
	-- it (the common case)...
	WITH want AS (
		SELECT c->>'st' AS st, c->>'k' AS ck, count(*)::integer AS nb,
		       max((c->>'c')::integer) AS cap
		  FROM unnest(placed) AS x(i),
		       jsonb_array_elements(coalesce(batch->(x.i - 1)->'cap', '[]')) AS c
		 GROUP BY 1, 2),
	up AS (
		UPDATE capacity_counters AS t SET booked = t.booked + w.nb, capacity = w.cap
		  FROM want w
		 WHERE t.station_id = w.st AND t.counter_key = w.ck AND t.booked + w.nb <= w.cap
		RETURNING t.station_id, t.counter_key)
	SELECT coalesce(array_agg(w.st || '|' || w.ck), '{}') INTO tight
	  FROM want w
	 WHERE NOT EXISTS (SELECT 1 FROM up WHERE up.station_id = w.st AND up.counter_key = w.ck);

	-- ...and counters without room for all go order by order: one conditional
	-- increment each; an order that misses one gives back its stock and the
	-- places it holds (set-wise or here), alone.
	IF cardinality(tight) > 0 THEN
		kept := '{}';
		FOREACH i IN ARRAY placed LOOP
			o := batch->(i - 1);
			took := res[i]->'stock';
			booked := '[]';
			missed := NULL;
			FOR cc IN SELECT * FROM jsonb_to_recordset(coalesce(o->'cap', '[]'))
					AS x(st text, k text, c integer) LOOP
				CONTINUE WHEN NOT (cc.st || '|' || cc.k) = ANY (tight);
				UPDATE capacity_counters AS t SET booked = t.booked + 1, capacity = cc.c
				 WHERE t.station_id = cc.st AND t.counter_key = cc.k AND t.booked < cc.c;
				IF NOT FOUND THEN
					missed := jsonb_build_object('st', cc.st, 'k', cc.k, 'c', cc.c);
					EXIT;
				END IF;
				booked := booked || jsonb_build_object('st', cc.st, 'k', cc.k);
			END LOOP;
			IF missed IS NULL THEN
				kept := kept || i;
				CONTINUE;
			END IF;
			PERFORM capacity_release(b->>'st', b->>'k') FROM jsonb_array_elements(booked) AS b;
			PERFORM capacity_release(c->>'st', c->>'k')
			   FROM jsonb_array_elements(coalesce(o->'cap', '[]')) AS c
			  WHERE NOT ((c->>'st') || '|' || (c->>'k')) = ANY (tight);
			PERFORM intake_release(took);
			DELETE FROM idempotency_keys WHERE scope = 'orders' AND key = o->>'key';
			res[i] := jsonb_build_object('r', 'capacity_full', 'stock', intake_stock_of(o),
						     'counter', missed);
		END LOOP;
		placed := kept;
	END IF;

	-- 4. The orders; an external id already taken gives its stock back.
	WITH ins AS (
		INSERT INTO orders AS t (id, external_id, idempotency_key, status, station_id,
					 station_name, district_id, lon, lat, delivery_option,
					 install, promise, created_at)
		SELECT e->>'id', e->>'ext', e->>'key', 'allocated', e->>'st', e->>'stn', e->>'dist',
		       (e->>'lon')::double precision, (e->>'lat')::double precision, e->>'opt',
		       (e->>'inst')::boolean, e->'promise', (e->>'at')::timestamptz
		  FROM unnest(placed) AS x(i), LATERAL (SELECT batch->(x.i - 1)) AS y(e)
		 ORDER BY e->>'ext'
		ON CONFLICT (external_id) DO NOTHING
		RETURNING t.id)
	SELECT coalesce(array_agg(x.i ORDER BY x.i), '{}') INTO kept
	  FROM unnest(placed) AS x(i) JOIN ins ON ins.id = batch->(x.i - 1)->>'id';
	IF cardinality(kept) < cardinality(placed) THEN
		FOREACH i IN ARRAY placed LOOP
			CONTINUE WHEN i = ANY (kept);
			o := batch->(i - 1);
			PERFORM intake_release(res[i]->'stock');
			PERFORM capacity_release(c->>'st', c->>'k')
			   FROM jsonb_array_elements(coalesce(o->'cap', '[]')) AS c;
			DELETE FROM idempotency_keys WHERE scope = 'orders' AND key = o->>'key';
			res[i] := jsonb_build_object('r', 'duplicate', 'order_id',
				(SELECT id FROM orders WHERE external_id = o->>'ext'));
		END LOOP;
	END IF;

	-- The capacity they hold, for cancellation.
	INSERT INTO order_capacity (order_id, station_id, counter_key)
	SELECT e->>'id', c->>'st', c->>'k'
	  FROM unnest(kept) AS x(i), LATERAL (SELECT batch->(x.i - 1)) AS y(e),
	       jsonb_array_elements(coalesce(e->'cap', '[]')) AS c;

	-- Their shipments, lines (the reservations) and first events.
	INSERT INTO shipments (order_id, seq, warehouse_id, status)
	SELECT e->>'id', (s->>'seq')::smallint, s->>'w', 'allocated'
	  FROM unnest(kept) AS x(i), LATERAL (SELECT batch->(x.i - 1)) AS y(e),
	       jsonb_array_elements(e->'ships') AS s;
	INSERT INTO order_lines (order_id, line_no, sku, qty, shipment_seq)
	SELECT e->>'id', (l->>'n')::smallint, l->>'sku', (l->>'qty')::integer,
	       (l->>'ship')::smallint
	  FROM unnest(kept) AS x(i), LATERAL (SELECT batch->(x.i - 1)) AS y(e),
	       jsonb_array_elements(e->'lines') AS l;
	INSERT INTO order_events (order_id, shipment_seq, kind, at, detail)
	SELECT e->>'id', s.seq, CASE WHEN s.seq IS NULL THEN 'created' ELSE 'allocated' END,
	       (e->>'at')::timestamptz,
	       CASE WHEN s.seq IS NULL
		    THEN jsonb_build_object('station', e->>'st', 'promise', e->'promise')
		    ELSE jsonb_build_object('warehouse', s.sh->>'w', 'lines', s.sh->'lines') END
	  FROM unnest(kept) AS x(i), LATERAL (SELECT batch->(x.i - 1)) AS y(e),
	       LATERAL (SELECT NULL::smallint, NULL::jsonb
			UNION ALL
			SELECT (sh->>'seq')::smallint, sh FROM jsonb_array_elements(e->'ships') AS sh)
		       AS s(seq, sh)
	 ORDER BY x.i, s.seq NULLS FIRST;

	-- 5. Keys that were someone else's, and check-only entries.
	FOR i IN 1..n LOOP
		CONTINUE WHEN res[i] IS NOT NULL;
		o := batch->(i - 1);
		SELECT t.request_hash, t.status, t.response INTO k
		  FROM idempotency_keys t WHERE t.scope = 'orders' AND t.key = o->>'key';
		IF NOT FOUND THEN
			res[i] := jsonb_build_object('r', CASE WHEN coalesce((o->>'chk')::boolean, false)
							THEN 'absent' ELSE 'retry' END);
		ELSIF k.request_hash = sha256(convert_to(o->>'body', 'UTF8')) THEN
			res[i] := jsonb_build_object('r', 'replay', 'status', k.status, 'response',
						     k.response);
		ELSE
			res[i] := jsonb_build_object('r', 'mismatch');
		END IF;
	END LOOP;
	RETURN to_jsonb(res);
END
$fn$;


CREATE OR REPLACE FUNCTION intake_cancel(p_id text, p_reason text) RETURNS jsonb LANGUAGE plpgsql AS $fn$
DECLARE
	st text;
	gone jsonb;
	released jsonb;
	cap jsonb;
BEGIN
	SELECT status INTO st FROM orders WHERE id = p_id FOR UPDATE;
	IF NOT FOUND THEN
		RETURN jsonb_build_object('r', 'not_found');
	END IF;
	IF st = 'cancelled' THEN
		RETURN jsonb_build_object('r', 'ok', 'order', order_doc(p_id), 'stock', '[]'::jsonb);
	END IF;
	SELECT jsonb_agg(seq ORDER BY seq) INTO gone FROM shipments
	 WHERE order_id = p_id AND status NOT IN ('allocated', 'picked');
	IF gone IS NOT NULL THEN
		RETURN jsonb_build_object('r', 'shipped', 'shipments', gone);
	END IF;
	PERFORM 1 FROM stock s
	 WHERE (s.warehouse_id, s.sku) IN (
		SELECT sh.warehouse_id, l.sku FROM order_lines l
		  JOIN shipments sh ON sh.order_id = l.order_id AND sh.seq = l.shipment_seq
		 WHERE l.order_id = p_id)
	 ORDER BY s.warehouse_id, s.sku
	   FOR UPDATE;
	WITH u AS (
		UPDATE stock s SET available = s.available + x.qty, reserved = s.reserved - x.qty
		  FROM (SELECT sh.warehouse_id AS w, l.sku, sum(l.qty)::integer AS qty
			  FROM order_lines l
			  JOIN shipments sh ON sh.order_id = l.order_id AND sh.seq = l.shipment_seq
			 WHERE l.order_id = p_id
			 GROUP BY 1, 2) AS x
		 WHERE s.warehouse_id = x.w AND s.sku = x.sku
		RETURNING x.w, x.sku, x.qty, s.available)
	SELECT coalesce(jsonb_agg(to_jsonb(u) ORDER BY u.w, u.sku), '[]'::jsonb) INTO released FROM u;
	-- Give back its station capacity (in (station, key) order, as bookings lock).
	WITH rel AS (
		UPDATE order_capacity AS oc SET released = true
		 WHERE oc.order_id = p_id AND NOT oc.released
		RETURNING oc.station_id, oc.counter_key)
	SELECT coalesce(jsonb_agg(jsonb_build_object('st', station_id, 'k', counter_key)
				  ORDER BY station_id, counter_key), '[]'::jsonb) INTO cap FROM rel;
	PERFORM capacity_release(c->>'st', c->>'k') FROM jsonb_array_elements(cap) AS c;
	UPDATE shipments SET status = 'cancelled' WHERE order_id = p_id;
	UPDATE orders SET status = 'cancelled', cancelled_at = now() WHERE id = p_id;
	INSERT INTO order_events (order_id, kind, detail)
	VALUES (p_id, 'cancelled', jsonb_build_object('reason', p_reason, 'released', released));
	RETURN jsonb_build_object('r', 'ok', 'order', order_doc(p_id), 'stock', released,
				  'capacity', cap);
END
$fn$;

