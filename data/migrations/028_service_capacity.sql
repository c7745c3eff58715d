-- 028: engineers' booking capacity (issue 12, part P2: service slots and
-- booking; data/sql/service_*.sql).
--
--   service_capacity    one row per engineer and local day: the visits
--       booked on that day (at most couriers.daily_capacity) and per
--       window (windows: {"<window_start, UTC RFC 3339>": visits}, at most
--       the window's /N of [services] windows, except where the day's plan
--       moved a visit in: service_capacity_move). A booking takes its unit
--       under this row's lock (service_book), a cancel or a reschedule gives
--       it back in the same transaction.
--   service_booking_keys    the Idempotency-Key of each booking made and the
--       document it answered, replayed for the same key and body (a refused
--       booking changes nothing, so it keeps no key).
--   service_appointments.line_no            the order line the visit serves
--   service_appointments.capacity_engineer  whose unit the visit holds
--       (NULL once cancelled); engineer_id is whom it is assigned to, which
--       service_capacity_move keeps equal to it.
-- (ALTERs 026's service_appointments: 026 itself is never edited.)

CREATE TABLE service_capacity (
	engineer_id text NOT NULL REFERENCES couriers (id),
	day date NOT NULL,
	visits integer NOT NULL DEFAULT 0 CHECK (visits >= 0),
	windows jsonb NOT NULL DEFAULT '{}'::jsonb,
	PRIMARY KEY (engineer_id, day)
);

CREATE TABLE service_booking_keys (
	key text PRIMARY KEY CHECK (length(key) BETWEEN 1 AND 255),
	order_id text NOT NULL,
	request jsonb NOT NULL,               -- the body as booked (compared on replay)
	appointment_id text NOT NULL,
	answer jsonb NOT NULL,                -- the 201 document first sent: replayed as is
	actor text NOT NULL,                  -- api_tokens.id of the first booking
	created_at timestamptz NOT NULL DEFAULT now()
);

ALTER TABLE service_appointments ADD COLUMN line_no smallint;
ALTER TABLE service_appointments ADD COLUMN capacity_engineer text REFERENCES couriers (id);
