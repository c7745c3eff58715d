-- At most one planning run per station and wave at a time, across every
-- daemon: a row per running plan (data/sql/plan_run_claim.sql,
-- plan_run_release.sql). A row older than the claim's stale bound belongs to
-- a daemon that died mid-plan and is taken over.
CREATE TABLE plan_runs (
	station_id text NOT NULL,
	wave_key text NOT NULL,
	run_id text NOT NULL CHECK (run_id ~ '^run_[0-9a-f]{16}$'),
	started_at timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (station_id, wave_key)
);
