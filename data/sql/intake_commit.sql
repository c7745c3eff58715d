-- intake_commit: group commit of a batch of orders, in the caller's one
-- transaction (docs/architecture.md, "Order intake").
--
-- batch: a JSON array of entries, each one order the daemon has planned:
--   key, body     the Idempotency-Key and the canonical request body (hashed)
--   id, ext       the new order id and the shop's external id
--   st, stn, dist the station id, its name, the customer's district
--   lon, lat      the customer (or null), opt, inst: delivery option, install
--   promise, at   the promise (JSON) and the creation time (RFC 3339)
--   resp          the 201 body, stored for replays
--   lines         [{"n","sku","qty","ship","w"}]: line number, shipment, warehouse
--   ships         [{"seq","w","lines":[{"sku","qty"}]}]
--   cap           [{"st","k","c"}]: the station capacity counters it books
--                 (station, counter key, capacity now); may be absent
--   rcp           the recipient {name, phone, address, notes} as entered, or null
--   trk           the public tracking code ("TRK" + 16 hex, random, made by the
--                 daemon so the 201 body carries it); absent: one is drawn here
--   cli           the placing token's id (orders.client_id), or null
--   pay, cod      the payment method ("cod", "prepaid", or null) and the
--                 amount to collect at the door in fen (cod), or null
--   pp            delivery_option "pickup": the pickup point (orders.pickup_point_id);
--                 absent otherwise
--   chk           true: the daemon found no stock; only look the key up
-- Returns an array of the same length, one result per entry:
--   {"r":"ok","stock":[{"w","sku","qty","available"}]}   committed
--   {"r":"no_stock","stock":[{"w","sku","available"}]}    nothing kept; fresh levels
--   {"r":"capacity_full","stock":[...],"counter":{"st","k","c"}}  a counter was full
--   {"r":"duplicate","order_id"}   the external id belongs to another order
--   {"r":"pickup_invalid"}   pp is no open pickup point of the order's station
--   {"r":"pickup_full","point"}   pp has no place: its orders not yet collected
--                  (nor expired, nor cancelled) fill its capacity
--   {"r":"replay","status","response"} / {"r":"mismatch"}  the key was used before
--   {"r":"absent"}   (chk) no such key;   {"r":"retry"}   key vanished: submit again
-- One order's failure never undoes another's: each is compensated on its own
-- (no subtransactions, which would overflow the per-backend subxid cache).
--
-- Lock order, which keeps concurrent batches free of deadlocks: idempotency
-- keys (sorted by key), then stock rows (by warehouse, sku), then capacity
-- counters (by station, key), then pickup points (by id), then new orders'
-- external ids (sorted), and never waits on anything after that.
-- (pickup_arrival locks an existing order row, then its point: never a new
-- order's row, so the two cannot wait on each other in a cycle.)
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
	pt pickup_points;
	used jsonb := '{}';  -- point id -> its places taken (its counter), read once per batch
	v_used integer;
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

	-- 2c. The pickup points they are routed to, locked in id order: their
	-- places are counted and taken under these locks (step 3c).
	PERFORM 1 FROM pickup_points
	 WHERE id IN (SELECT batch->(x.i - 1)->>'pp' FROM unnest(owned) AS x(i))
	 ORDER BY id
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

	-- 3c. Their pickup point: open, the order's station's, and with a place
	-- (capacity minus the orders routed there that have not left it). An
	-- order without one gives back its stock and its counters, alone.
	IF EXISTS (SELECT 1 FROM unnest(placed) AS x(i) WHERE batch->(x.i - 1) ? 'pp') THEN
		kept := '{}';
		FOREACH i IN ARRAY placed LOOP
			o := batch->(i - 1);
			IF NOT o ? 'pp' THEN
				kept := kept || i;
				CONTINUE;
			END IF;
			SELECT * INTO pt FROM pickup_points WHERE id = o->>'pp';
			IF NOT FOUND OR pt.retired_at IS NOT NULL OR pt.station_id <> o->>'st' THEN
				missed := jsonb_build_object('r', 'pickup_invalid');
			ELSE
				IF NOT used ? pt.id THEN
					v_used := pickup_point_used(pt.id);
					used := used || jsonb_build_object(pt.id, v_used);
				END IF;
				v_used := (used->>pt.id)::integer;
				IF v_used < pt.capacity THEN
					used := used || jsonb_build_object(pt.id, v_used + 1);
					kept := kept || i;
					CONTINUE;
				END IF;
				missed := jsonb_build_object('r', 'pickup_full', 'point', pt.id);
			END IF;
			PERFORM capacity_release(c->>'st', c->>'k')
			   FROM jsonb_array_elements(coalesce(o->'cap', '[]')) AS c;
			PERFORM intake_release(res[i]->'stock');
			DELETE FROM idempotency_keys WHERE scope = 'orders' AND key = o->>'key';
			res[i] := missed;
		END LOOP;
		placed := kept;
	END IF;

	-- 4. The orders; an external id already taken gives its stock back.
	WITH ins AS (
		INSERT INTO orders AS t (id, external_id, idempotency_key, status, station_id,
					 station_name, district_id, lon, lat, delivery_option,
					 install, promise, created_at, recipient, tracking_code,
					 client_id, payment_method, cod_amount_fen, pickup_point_id)
		SELECT e->>'id', e->>'ext', e->>'key', 'allocated', e->>'st', e->>'stn', e->>'dist',
		       (e->>'lon')::double precision, (e->>'lat')::double precision, e->>'opt',
		       (e->>'inst')::boolean, e->'promise', (e->>'at')::timestamptz,
		       nullif(e->'rcp', 'null'::jsonb),
		       coalesce(e->>'trk', 'TRK' || upper(substr(md5(gen_random_uuid()::text), 1, 16))),
		       e->>'cli', e->>'pay', (e->>'cod')::bigint, e->>'pp'
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
