-- 029: engineers' visit events (issue 12 part P3, POST
-- /v1/services/{id}/events). Only a table of its own: 026's
-- service_appointments already holds the visit's times, charges, late flag
-- and compensation.
--
-- The Idempotency-Keys of visit events, per engineer, as stop_event_keys
-- (024) keeps the couriers' stop events: the parsed request and the first
-- ok or illegal answer, returned again byte for byte for the same request
-- (data/sql/service_event.sql). A table of its own rather than
-- stop_event_keys: that one names a stop (stop_id) and shares its key space
-- with the couriers' stop events.
CREATE TABLE service_event_keys (
	engineer_id text NOT NULL,
	key text NOT NULL CHECK (length(key) BETWEEN 1 AND 255),
	appointment_id text NOT NULL,
	request jsonb NOT NULL,
	answer jsonb NOT NULL,
	created_at timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (engineer_id, key)
);
