-- 027: engineers' day plans (issue 12, part P1).
--
--   courier_* functions take the kind    the couriers resource serves
--       engineers too (/v1/stations/{id}/engineers): courier_create,
--       courier_doc, courier_update, courier_shifts_set and courier_duty_set
--       get a last argument p_kind (DEFAULT 'courier'); their old
--       signatures are dropped here and data/sql/ creates the new ones
--   service_day_plans                    each published plan of a station's
--       local day of service appointments (svc/service_planner.c,
--       data/sql/service_plan_store.sql): its version and summary; the
--       highest version is the current one
--   service_auto_plans                   the automatic planning of a day
--       ([services] plan_at of the day before): which daemon holds it, its
--       fencing epoch, when it was done (as wave_auto_plans, 022)
DROP FUNCTION IF EXISTS courier_create(text, jsonb, timestamptz);
DROP FUNCTION IF EXISTS courier_doc(text, text, timestamptz);
DROP FUNCTION IF EXISTS courier_update(text, text, jsonb, timestamptz, text, text);
DROP FUNCTION IF EXISTS courier_shifts_set(text, text, text, jsonb, jsonb, timestamptz);
DROP FUNCTION IF EXISTS courier_duty_set(text, text, boolean, text, text, timestamptz, text);

CREATE TABLE service_day_plans (
	station_id text NOT NULL,
	day date NOT NULL,
	version integer NOT NULL CHECK (version > 0),
	reason text NOT NULL,                   -- planned (POST), auto (the scheduler)
	engineers integer NOT NULL CHECK (engineers >= 0),       -- engineers with visits
	appointments integer NOT NULL CHECK (appointments >= 0), -- visits placed
	unassigned integer NOT NULL CHECK (unassigned >= 0),     -- left with a plan_note
	created_at timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (station_id, day, version)
);

CREATE TABLE service_auto_plans (
	station_id text NOT NULL,
	day date NOT NULL,
	epoch bigint NOT NULL CHECK (epoch >= 1),
	claimed_by text,
	claimed_at timestamptz NOT NULL DEFAULT now(),
	done_at timestamptz,
	version integer,                -- the version published
	PRIMARY KEY (station_id, day)
);
