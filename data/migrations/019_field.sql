-- 019: the field (issue 11): what stations, couriers and customers share.
-- The tables several parts of the daemon read and write; each part's own
-- functions live in data/sql/ and its own extra tables in its migration.
--
--   orders.recipient, tracking_code, client_id   who receives it, the public
--       tracking code, and the order_service token that placed it (webhooks)
--   vehicle_profiles, couriers                   the field workers of a station
--   stops                                        one visit of one courier to one
--       order in one wave (attempt n); a failed delivery's retry is a new stop
--   route_plans.version, routes.courier_id       published route versions
--   station_feed_heads, station_feed             every change a station sees,
--       numbered per station (data/sql/station_feed_add.sql)
--   courier_positions                            the last known position of
--       each courier (Redis holds the live one; this survives Redis)

-- Orders: the recipient (kept as entered; NULL for orders placed before
-- 019), a random public tracking code, and the placing client.
ALTER TABLE orders ADD COLUMN recipient jsonb
	CHECK (recipient IS NULL OR jsonb_typeof(recipient) = 'object');
ALTER TABLE orders ADD COLUMN tracking_code text
	DEFAULT ('TRK' || upper(substr(md5(gen_random_uuid()::text), 1, 16)));
UPDATE orders SET tracking_code = DEFAULT WHERE tracking_code IS NULL;
ALTER TABLE orders ALTER COLUMN tracking_code SET NOT NULL;
ALTER TABLE orders ADD CONSTRAINT orders_tracking_code_key UNIQUE (tracking_code);
ALTER TABLE orders ADD COLUMN client_id text;   -- api_tokens.id of the order_service token

-- Vehicles a courier may ride: capacities and door-to-door speed.
CREATE TABLE vehicle_profiles (
	name text PRIMARY KEY CHECK (name ~ '^[a-z_]{1,32}$'),
	capacity_kg double precision NOT NULL CHECK (capacity_kg > 0),
	capacity_l double precision NOT NULL CHECK (capacity_l > 0),
	speed_kmh double precision NOT NULL CHECK (speed_kmh > 0)
);
INSERT INTO vehicle_profiles VALUES
	('e_bike', 150, 1200, 15),
	('tricycle', 300, 2500, 12),
	('van', 1200, 8000, 25);

-- Couriers. Removing one sets active = false: stops and trails keep their names.
CREATE TABLE couriers (
	id text PRIMARY KEY CHECK (id ~ '^[A-Za-z0-9_.:/-]{1,63}$'),
	station_id text NOT NULL,
	name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
	phone text NOT NULL CHECK (length(phone) BETWEEN 1 AND 40),
	vehicle text NOT NULL REFERENCES vehicle_profiles (name),
	skills text[] NOT NULL DEFAULT '{}',
	active boolean NOT NULL DEFAULT true,
	created_at timestamptz NOT NULL DEFAULT now(),
	updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX couriers_station ON couriers (station_id) WHERE active;

-- Route versions: a station's wave keeps every published plan (version 1,
-- 2, ...); the highest version is the current one. Routes name their courier.
ALTER TABLE route_plans ADD COLUMN version integer NOT NULL DEFAULT 1 CHECK (version > 0);
ALTER TABLE route_plans ADD COLUMN reason text NOT NULL DEFAULT 'planned';
ALTER TABLE route_plans ADD COLUMN changes jsonb NOT NULL DEFAULT '[]'::jsonb;
ALTER TABLE route_plans DROP CONSTRAINT route_plans_station_id_wave_key_key;
ALTER TABLE route_plans ADD CONSTRAINT route_plans_version_key
	UNIQUE (station_id, wave_key, version);
ALTER TABLE routes DROP CONSTRAINT routes_pkey;
ALTER TABLE routes ADD PRIMARY KEY (plan_id, courier);
ALTER TABLE routes ADD COLUMN courier_id text;   -- NULL for plans made before 019

-- Stops: one courier's visit to one order in one wave. Created by the
-- planner when it publishes (status planned, courier and position set), or
-- by a failed delivery for its retry (status pending, in the next wave, no
-- courier yet). A stop's courier and position change only with a new route
-- version; its outcome only through POST /v1/stops/{id}/events.
CREATE TABLE stops (
	id text PRIMARY KEY CHECK (id ~ '^stp_[0-9a-f]{16}$'),
	station_id text NOT NULL,
	wave_key text NOT NULL CHECK (wave_key ~ '^[0-9]{8}-W[0-9]{4}$'),
	order_id text NOT NULL REFERENCES orders (id),
	kind text NOT NULL DEFAULT 'delivery' CHECK (kind IN ('delivery', 'pickup')),
	attempt smallint NOT NULL DEFAULT 1 CHECK (attempt > 0),
	status text NOT NULL CHECK (status IN ('pending', 'planned', 'arrived', 'delivered',
					       'failed', 'picked_up', 'cancelled')),
	courier_id text REFERENCES couriers (id),
	route_version integer,                  -- the version that placed it where it is
	position integer CHECK (position >= 0), -- 0-based place in its courier's route
	eta timestamptz,
	window_start timestamptz,
	window_end timestamptz,
	proof text NOT NULL DEFAULT 'none' CHECK (proof IN ('none', 'pin', 'signature', 'photo')),
	pin text,                               -- the recipient's PIN when proof = 'pin'
	outcome jsonb,                          -- the final event: what happened and why
	created_at timestamptz NOT NULL DEFAULT now(),
	updated_at timestamptz NOT NULL DEFAULT now(),
	UNIQUE (order_id, kind, attempt)
);
CREATE INDEX stops_wave ON stops (station_id, wave_key);
CREATE INDEX stops_courier ON stops (courier_id, wave_key) WHERE courier_id IS NOT NULL;

-- The station feed: every change a station sees, numbered 1, 2, ... per
-- station. station_feed_add takes the head row's lock, so numbers commit in
-- order and a reader that saw n has seen everything up to n.
CREATE TABLE station_feed_heads (
	station_id text PRIMARY KEY,
	seq bigint NOT NULL CHECK (seq >= 0)
);
CREATE TABLE station_feed (
	station_id text NOT NULL,
	seq bigint NOT NULL CHECK (seq > 0),
	kind text NOT NULL,
	at timestamptz NOT NULL DEFAULT now(),
	data jsonb NOT NULL DEFAULT '{}'::jsonb,
	PRIMARY KEY (station_id, seq)
);
CREATE TRIGGER station_feed_no_update BEFORE UPDATE OR DELETE ON station_feed
	FOR EACH ROW EXECUTE FUNCTION order_events_append_only();

-- The last known position of each courier, by device time: Redis holds the
-- live one, this row is where it comes back from when Redis is flushed.
CREATE TABLE courier_positions (
	courier_id text PRIMARY KEY,
	at timestamptz NOT NULL,                -- device time of the fix
	lon double precision NOT NULL CHECK (lon BETWEEN -180 AND 180),
	lat double precision NOT NULL CHECK (lat BETWEEN -90 AND 90),
	accuracy_m double precision,
	received_at timestamptz NOT NULL DEFAULT now()
);

-- Waves that need a warm-start replan (a courier went off duty, a retry was
-- added to a wave already planned, an urgent stop): anyone may insert a row
-- (ON CONFLICT DO NOTHING); the wave scheduler (svc/wave_scheduler.c) takes
-- rows with FOR UPDATE SKIP LOCKED, replans, and deletes them.
CREATE TABLE wave_replans_due (
	station_id text NOT NULL,
	wave_key text NOT NULL CHECK (wave_key ~ '^[0-9]{8}-W[0-9]{4}$'),
	reason text NOT NULL,
	since timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (station_id, wave_key)
);
