-- order_events_append_only: the trigger function that keeps order_events
-- append-only (its triggers are created with the table, migration 003).
CREATE OR REPLACE FUNCTION order_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	RAISE EXCEPTION 'order_events is append-only' USING ERRCODE = 'insufficient_privilege';
END $$;
