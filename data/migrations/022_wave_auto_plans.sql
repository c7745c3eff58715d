-- 022: automatic wave planning (svc/wave_scheduler.c). One row per station
-- and wave the scheduler has taken on: which daemon holds it (claimed_by,
-- claimed_at), the fencing epoch of that claim (each take-over adds one; the
-- store of route_plan_store refuses a plan whose epoch is no longer the
-- row's), and when it was done (done_at, with the version it published, or
-- NULL when there was nothing to plan). A claim not done after the stale
-- bound belongs to a dead or stuck daemon and is taken over.
CREATE TABLE wave_auto_plans (
	station_id text NOT NULL,
	wave_key text NOT NULL CHECK (wave_key ~ '^[0-9]{8}-W[0-9]{4}$'),
	epoch bigint NOT NULL CHECK (epoch >= 0),
	claimed_by text,
	claimed_at timestamptz NOT NULL DEFAULT now(),
	done_at timestamptz,
	version integer,                -- the version published; NULL: nothing to plan
	PRIMARY KEY (station_id, wave_key)
);

-- The replan queue (019) gets a claim: the scheduler that takes a row marks
-- it (claimed_by, claimed_at) instead of holding a row lock while the plan
-- runs on a worker; route_plan_store deletes the row only for its claimer.
ALTER TABLE wave_replans_due ADD COLUMN claimed_by text;
ALTER TABLE wave_replans_due ADD COLUMN claimed_at timestamptz;

-- The bookings of a station's wave: what the scheduler checks at each
-- wave's cut-off (wave_auto_due: anything to plan?) and the planner reads
-- (wave_plan_input). Without it both scan every booking ever made.
CREATE INDEX order_capacity_wave ON order_capacity (station_id, counter_key) WHERE NOT released;
