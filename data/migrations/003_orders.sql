-- 003: order intake. The catalogue (skus), stock per warehouse, orders with
-- their shipments and lines, the append-only tracking events, idempotency
-- keys, and the server-side functions the daemon calls in one round trip
-- each (docs/architecture.md, "Order intake").
--
-- Warehouses themselves are areas (002: kind rdc/fdc, the `warehouses`
-- view). stock.warehouse_id has no foreign key to them because an areas
-- import replaces every area of a kind; the daemon and dispatchctl seed
-- check the id against the view instead.
--
-- Lock order, which keeps concurrent batches free of deadlocks: a
-- transaction takes idempotency keys (sorted by key), then stock rows
-- (sorted by warehouse, sku), then new orders' external ids (sorted), and
-- never waits on anything after that.

CREATE TABLE skus (
	sku text PRIMARY KEY CHECK (sku ~ '^[A-Za-z0-9_.:/-]{1,63}$'),
	name text NOT NULL,
	category text NOT NULL,
	weight_g integer NOT NULL CHECK (weight_g >= 0),
	volume_ml integer NOT NULL CHECK (volume_ml >= 0),
	large boolean NOT NULL DEFAULT false,       -- large appliance: large-item schedule
	installable boolean NOT NULL DEFAULT false, -- an installation visit can be booked
	price_milli bigint NOT NULL DEFAULT 0 CHECK (price_milli >= 0) -- CNY / 1000
);

-- Per-warehouse chain to the stations (docs/warehouse.md, "The chain"). A
-- warehouse without a row uses the defaults of its kind (intake_warehouses).
CREATE TABLE warehouse_chains (
	warehouse_id text PRIMARY KEY,
	handling_s integer NOT NULL CHECK (handling_s BETWEEN 0 AND 172800),
	pick_open_s integer NOT NULL CHECK (pick_open_s BETWEEN 0 AND 86400),
	pick_cutoff_s integer NOT NULL CHECK (pick_cutoff_s BETWEEN 0 AND 86400),
	departures_s integer[] NOT NULL DEFAULT '{}',
	linehaul_s integer NOT NULL CHECK (linehaul_s BETWEEN 0 AND 172800),
	CHECK (pick_open_s <= pick_cutoff_s),
	CHECK (cardinality(departures_s) <= 48)
);

-- Every warehouse with its chain: the daemon's cache loads this.
CREATE VIEW intake_warehouses AS
	SELECT w.id, w.kind,
	       coalesce(c.handling_s, CASE w.kind WHEN 'rdc' THEN 5400 ELSE 1800 END) AS handling_s,
	       coalesce(c.pick_open_s, 0) AS pick_open_s,
	       coalesce(c.pick_cutoff_s, 86400) AS pick_cutoff_s,
	       coalesce(c.departures_s, CASE w.kind
			WHEN 'rdc' THEN '{18000,28800,39600,46800,54000,61200,72000}'::integer[]
			ELSE ARRAY(SELECT g * 3600 FROM generate_series(6, 22) AS g) END) AS departures_s,
	       coalesce(c.linehaul_s, CASE w.kind WHEN 'rdc' THEN 5400 ELSE 2700 END) AS linehaul_s
	FROM warehouses w LEFT JOIN warehouse_chains c ON c.warehouse_id = w.id;

-- Stock truth. available = on_hand - reserved always; a reservation is one
-- conditional UPDATE (available >= qty), never a read then a write, and the
-- CHECKs are the backstop. Rows are updated all the time and no updated
-- column is indexed: leave room on the page for HOT updates.
CREATE TABLE stock (
	warehouse_id text NOT NULL,
	sku text NOT NULL REFERENCES skus (sku),
	on_hand integer NOT NULL,
	reserved integer NOT NULL DEFAULT 0,
	available integer NOT NULL,
	PRIMARY KEY (warehouse_id, sku),
	CONSTRAINT stock_available_nonnegative CHECK (available >= 0),
	CONSTRAINT stock_reserved_nonnegative CHECK (reserved >= 0),
	CONSTRAINT stock_balance CHECK (available + reserved = on_hand)
) WITH (fillfactor = 50);
CREATE INDEX stock_sku ON stock (sku);

CREATE TABLE orders (
	id text PRIMARY KEY,
	external_id text NOT NULL UNIQUE,      -- the shop's order id
	idempotency_key text NOT NULL,
	status text NOT NULL CHECK (status IN ('allocated', 'cancelled')),
	station_id text NOT NULL,
	station_name text NOT NULL,
	district_id text NOT NULL,
	lon double precision,                  -- the customer, WGS84 degrees (NULL: station given)
	lat double precision,
	delivery_option text NOT NULL,
	install boolean NOT NULL,
	promise jsonb NOT NULL,
	created_at timestamptz NOT NULL,
	cancelled_at timestamptz
);

-- One parcel from one warehouse. No foreign key to skus or warehouses on
-- purpose: the reservation already proved both exist, and a key-share lock
-- on the hot SKU rows from every order would serialize intake.
CREATE TABLE shipments (
	order_id text NOT NULL REFERENCES orders (id),
	seq smallint NOT NULL CHECK (seq > 0),
	warehouse_id text NOT NULL,
	status text NOT NULL CHECK (status IN ('allocated', 'picked', 'left_warehouse',
		'at_station', 'out_for_delivery', 'delivered', 'failed', 'cancelled')),
	PRIMARY KEY (order_id, seq)
);

-- The reservations: a line of a shipment that is not cancelled and has not
-- left its warehouse holds qty units of stock.reserved.
CREATE TABLE order_lines (
	order_id text NOT NULL,
	line_no smallint NOT NULL CHECK (line_no > 0),
	sku text NOT NULL,
	qty integer NOT NULL CHECK (qty > 0),
	shipment_seq smallint NOT NULL,
	PRIMARY KEY (order_id, line_no),
	FOREIGN KEY (order_id, shipment_seq) REFERENCES shipments (order_id, seq)
);

-- The tracking timeline. Append-only: rows are never updated or deleted.
CREATE TABLE order_events (
	id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	order_id text NOT NULL REFERENCES orders (id),
	shipment_seq smallint,
	kind text NOT NULL,
	at timestamptz NOT NULL DEFAULT now(),
	detail jsonb NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX order_events_order ON order_events (order_id, id);

CREATE FUNCTION order_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	RAISE EXCEPTION 'order_events is append-only' USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER order_events_no_update BEFORE UPDATE OR DELETE ON order_events
	FOR EACH ROW EXECUTE FUNCTION order_events_append_only();
CREATE TRIGGER order_events_no_truncate BEFORE TRUNCATE ON order_events
	FOR EACH STATEMENT EXECUTE FUNCTION order_events_append_only();

-- Idempotency keys, written in the same transaction as what they protect.
-- response is the exact body first sent, replayed byte for byte.
CREATE TABLE idempotency_keys (
	scope text NOT NULL,                   -- the resource: 'orders'
	key text NOT NULL,
	request_hash bytea NOT NULL,           -- sha256 of the canonical request body
	status smallint NOT NULL,
	response text NOT NULL,
	order_id text,
	created_at timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (scope, key)
);

-- The order as GET /v1/orders/{id} shows it (without events); the daemon
-- builds the 201 body of POST /v1/orders in the same shape.
CREATE FUNCTION order_doc(p_id text) RETURNS jsonb LANGUAGE sql STABLE AS $$
	SELECT jsonb_build_object(
		'id', o.id, 'external_id', o.external_id, 'status', o.status,
		'created_at', to_char(o.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
		'station', jsonb_build_object('id', o.station_id, 'name', o.station_name,
					      'district', o.district_id),
		'customer', CASE WHEN o.lon IS NULL THEN NULL
				 ELSE jsonb_build_object('lat', o.lat, 'lon', o.lon) END,
		'delivery_option', o.delivery_option, 'install', o.install,
		'lines', (SELECT jsonb_agg(jsonb_build_object('sku', l.sku, 'qty', l.qty)
					   ORDER BY l.line_no)
			    FROM order_lines l WHERE l.order_id = o.id),
		'shipments', (SELECT jsonb_agg(jsonb_build_object(
					'seq', s.seq, 'warehouse', s.warehouse_id, 'status', s.status,
					'lines', (SELECT jsonb_agg(jsonb_build_object('sku', l.sku,
										      'qty', l.qty)
								   ORDER BY l.line_no)
						    FROM order_lines l
						   WHERE l.order_id = o.id AND l.shipment_seq = s.seq))
					ORDER BY s.seq)
				FROM shipments s WHERE s.order_id = o.id),
		'promise', o.promise)
	FROM orders o WHERE o.id = p_id
$$;

-- The order with its timeline, oldest event first; NULL when unknown.
CREATE FUNCTION order_doc_events(p_id text) RETURNS jsonb LANGUAGE sql STABLE AS $$
	SELECT order_doc(p_id) || jsonb_build_object('events', (
		SELECT coalesce(jsonb_agg(jsonb_build_object(
			'at', to_char(e.at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
			'kind', e.kind, 'shipment', e.shipment_seq, 'detail', e.detail) ORDER BY e.id),
			'[]'::jsonb)
		FROM order_events e WHERE e.order_id = p_id))
$$;

-- Give back reservations: x is [{"w","sku","qty"}...]; the rows must be
-- locked by the caller's transaction already (or be lockable in order).
CREATE FUNCTION intake_release(x jsonb) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
	r record;
BEGIN
	FOR r IN SELECT * FROM jsonb_to_recordset(x) AS l(w text, sku text, qty integer) LOOP
		UPDATE stock SET available = available + r.qty, reserved = reserved - r.qty
		 WHERE warehouse_id = r.w AND sku = r.sku;
	END LOOP;
END $$;

-- Current availability of every warehouse for the SKUs of one order entry.
CREATE FUNCTION intake_stock_of(o jsonb) RETURNS jsonb LANGUAGE sql STABLE AS $$
	SELECT coalesce(jsonb_agg(jsonb_build_object('w', s.warehouse_id, 'sku', s.sku,
						     'available', s.available)), '[]'::jsonb)
	  FROM stock s
	 WHERE s.sku = ANY (ARRAY(SELECT l->>'sku' FROM jsonb_array_elements(o->'lines') AS l))
$$;

-- Group commit of a batch of orders, in the caller's one transaction.
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
--   chk           true: the daemon found no stock; only look the key up
-- Returns an array of the same length, one result per entry:
--   {"r":"ok","stock":[{"w","sku","qty","available"}]}   committed
--   {"r":"no_stock","stock":[{"w","sku","available"}]}    nothing kept; fresh levels
--   {"r":"duplicate","order_id"}   the external id belongs to another order
--   {"r":"replay","status","response"} / {"r":"mismatch"}  the key was used before
--   {"r":"absent"}   (chk) no such key;   {"r":"retry"}   key vanished: submit again
-- One order's failure never undoes another's: each is compensated on its own
-- (no subtransactions, which would overflow the per-backend subxid cache).
CREATE FUNCTION intake_commit(batch jsonb) RETURNS jsonb LANGUAGE plpgsql AS $fn$
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
			DELETE FROM idempotency_keys WHERE scope = 'orders' AND key = o->>'key';
			res[i] := jsonb_build_object('r', 'duplicate', 'order_id',
				(SELECT id FROM orders WHERE external_id = o->>'ext'));
		END LOOP;
	END IF;

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

-- Cancel an order: release its reservations and append the event, unless a
-- shipment has left its warehouse. Returns {"r":"ok","order","stock"} (stock:
-- the released rows with their new availability; [] when it was already
-- cancelled), {"r":"not_found"} or {"r":"shipped","shipments":[seq...]}.
CREATE FUNCTION intake_cancel(p_id text, p_reason text) RETURNS jsonb LANGUAGE plpgsql AS $fn$
DECLARE
	st text;
	gone jsonb;
	released jsonb;
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
	UPDATE shipments SET status = 'cancelled' WHERE order_id = p_id;
	UPDATE orders SET status = 'cancelled', cancelled_at = now() WHERE id = p_id;
	INSERT INTO order_events (order_id, kind, detail)
	VALUES (p_id, 'cancelled', jsonb_build_object('reason', p_reason, 'released', released));
	RETURN jsonb_build_object('r', 'ok', 'order', order_doc(p_id), 'stock', released);
END
$fn$;

-- Set on-hand units (after receiving, a count): available moves by the
-- delta; on-hand below what is reserved is refused. Returns {"r":"ok",
-- "stock":{...}}, {"r":"no_warehouse"}, {"r":"no_sku"} or
-- {"r":"below_reserved","stock":{...}}.
CREATE FUNCTION stock_set(p_w text, p_sku text, p_on_hand integer) RETURNS jsonb
LANGUAGE plpgsql AS $fn$
DECLARE
	s stock;
BEGIN
	IF NOT EXISTS (SELECT 1 FROM warehouses WHERE id = p_w) THEN
		RETURN jsonb_build_object('r', 'no_warehouse');
	END IF;
	IF NOT EXISTS (SELECT 1 FROM skus WHERE sku = p_sku) THEN
		RETURN jsonb_build_object('r', 'no_sku');
	END IF;
	INSERT INTO stock AS t (warehouse_id, sku, on_hand, reserved, available)
	VALUES (p_w, p_sku, p_on_hand, 0, p_on_hand)
	ON CONFLICT (warehouse_id, sku) DO UPDATE
		SET on_hand = excluded.on_hand, available = excluded.on_hand - t.reserved
		WHERE t.reserved <= excluded.on_hand
	RETURNING t.* INTO s;
	IF NOT FOUND THEN
		SELECT * INTO s FROM stock WHERE warehouse_id = p_w AND sku = p_sku;
		RETURN jsonb_build_object('r', 'below_reserved', 'stock', to_jsonb(s));
	END IF;
	RETURN jsonb_build_object('r', 'ok', 'stock', to_jsonb(s));
END
$fn$;
