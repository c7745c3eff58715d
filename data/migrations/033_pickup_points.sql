-- 033: pickup points and lockers (issue 13, part C2; docs/api.md "Pickup
-- points"). A pickup point belongs to a station and holds parcels of orders
-- routed to it (orders.pickup_point_id) up to its capacity: a point counts
-- parcels, a locker counts them per compartment size (S, M, L). A parcel
-- scanned in (pickup_arrival) is held with a single-use 6-digit code until it
-- is collected (pickup_collect) or its hold deadline passes (pickup_expire:
-- back to the station). Rows are never deleted: a point is retired.

-- The pickup_point token role (daemon/base/token.h): scope = one point id.
ALTER TABLE api_tokens DROP CONSTRAINT api_tokens_role_check;
ALTER TABLE api_tokens ADD CONSTRAINT api_tokens_role_check
	CHECK (role IN ('admin', 'order_service', 'warehouse', 'station', 'courier', 'engineer',
			'pickup_point'));
ALTER TABLE api_tokens DROP CONSTRAINT api_tokens_scope_size;
ALTER TABLE api_tokens ADD CONSTRAINT api_tokens_scope_size CHECK (
	CASE role
		WHEN 'admin' THEN cardinality(scope) = 0
		WHEN 'order_service' THEN cardinality(scope) = 0
		WHEN 'courier' THEN cardinality(scope) = 1
		WHEN 'engineer' THEN cardinality(scope) = 1
		WHEN 'pickup_point' THEN cardinality(scope) = 1
		ELSE cardinality(scope) BETWEEN 1 AND 64
	END);

-- kind point: capacity parcels; kind locker: compartments {"S":n,"M":n,"L":n}
-- and capacity their sum (kept by the API).
CREATE TABLE pickup_points (
	id text PRIMARY KEY CHECK (id ~ '^[A-Za-z0-9_.:/-]{1,63}$'),
	station_id text NOT NULL,
	name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
	address text NOT NULL DEFAULT '' CHECK (length(address) <= 500),
	lon double precision NOT NULL CHECK (lon BETWEEN -180 AND 180),
	lat double precision NOT NULL CHECK (lat BETWEEN -90 AND 90),
	opening_hours text NOT NULL DEFAULT '' CHECK (length(opening_hours) <= 200),
	kind text NOT NULL DEFAULT 'point' CHECK (kind IN ('point', 'locker')),
	capacity integer NOT NULL CHECK (capacity BETWEEN 0 AND 100000),
	compartments jsonb,                    -- lockers only
	retired_at timestamptz,
	created_at timestamptz NOT NULL DEFAULT now(),
	updated_at timestamptz NOT NULL DEFAULT now(),
	CHECK ((kind = 'locker') = (compartments IS NOT NULL))
);
CREATE INDEX pickup_points_station ON pickup_points (station_id);

-- Until the promise offers delivery_option "pickup", tests set this column.
ALTER TABLE orders ADD COLUMN pickup_point_id text REFERENCES pickup_points (id);

-- One parcel at a point. status: held (on the shelf or in a compartment),
-- collected, expired (sent back to the station after hold_until). code is
-- the customer's pickup code: kept readable because the order service's
-- tracking view shows it; unique among the point's held parcels, so a code
-- names at most one parcel; it is never valid again once the parcel left.
CREATE TABLE pickup_parcels (
	id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	point_id text NOT NULL REFERENCES pickup_points (id),
	order_id text NOT NULL REFERENCES orders (id),
	size text CHECK (size IN ('S', 'M', 'L')),   -- lockers: the compartment size
	status text NOT NULL DEFAULT 'held' CHECK (status IN ('held', 'collected', 'expired')),
	code text NOT NULL CHECK (code ~ '^[0-9]{6}$'),
	arrived_at timestamptz NOT NULL,
	hold_until timestamptz NOT NULL,
	arrived_by text,                       -- api_tokens.id
	collected_at timestamptz,
	collected_by text,
	collect_key text,                      -- the collection's Idempotency-Key
	expired_at timestamptz
);
CREATE UNIQUE INDEX pickup_parcels_code ON pickup_parcels (point_id, code)
	WHERE status = 'held';
CREATE UNIQUE INDEX pickup_parcels_order_held ON pickup_parcels (order_id)
	WHERE status = 'held';
CREATE INDEX pickup_parcels_due ON pickup_parcels (hold_until) WHERE status = 'held';
CREATE INDEX pickup_parcels_order ON pickup_parcels (order_id);
