-- 024: the couriers' handheld (issue 11, part E; docs/api.md "Couriers'
-- handheld"): the sampled trail of positions kept for disputes, the
-- Idempotency-Keys of stop events with their first answers, and the route
-- starts (which courier pressed start on which wave).

-- A courier's trail: at most one point per courier per 30-second bucket of
-- device time (the first to reach PostgreSQL), written by
-- courier_positions_flush from the daemon's once-a-second buffer.
CREATE TABLE courier_trail (
	courier_id text NOT NULL,
	bucket bigint NOT NULL,                 -- floor(device epoch seconds / 30)
	at timestamptz NOT NULL,                -- device time of the fix
	lon double precision NOT NULL CHECK (lon BETWEEN -180 AND 180),
	lat double precision NOT NULL CHECK (lat BETWEEN -90 AND 90),
	accuracy_m double precision,
	speed_mps double precision,
	heading_deg double precision,
	received_at timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (courier_id, bucket)
);

-- Stop events' Idempotency-Keys, per courier: the request as it was
-- understood (to tell a replay from a reuse) and the first answer, replayed
-- byte for byte.
CREATE TABLE stop_event_keys (
	courier_id text NOT NULL,
	key text NOT NULL CHECK (length(key) BETWEEN 1 AND 255),
	stop_id text NOT NULL,
	request jsonb NOT NULL,
	answer jsonb NOT NULL,
	created_at timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (courier_id, key)
);

-- Route starts: a courier started a wave's route (POST
-- /v1/couriers/me/route/start). The warm-start replan keeps the first planned
-- stop of a started courier where it is.
CREATE TABLE courier_route_starts (
	courier_id text NOT NULL,
	station_id text NOT NULL,
	wave_key text NOT NULL CHECK (wave_key ~ '^[0-9]{8}-W[0-9]{4}$'),
	version integer NOT NULL,
	started_at timestamptz NOT NULL,
	PRIMARY KEY (courier_id, station_id, wave_key)
);
