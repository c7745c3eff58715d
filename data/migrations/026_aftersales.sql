-- 026: after-sales (issue 12): what its parts share. Each part's own
-- functions live in data/sql/ and its own extra tables in its migration.
--
--   couriers.kind, provider, daily_capacity   engineers are the second kind of
--       field worker: same table, shifts, duty marks and tokens as couriers
--   service_appointments                       an installation, repair or
--       cleaning visit booked on an order: its window, its engineer, the
--       price list published when it was booked, and what happened
--   returns, return_lines                      a return or an exchange of an
--       order's lines: its pickup stop, refund and inspection
--   stops.return_id, stops.kind 'exchange'     a pickup stop collects a return;
--       an exchange stop delivers the replacement and collects the original
--
-- Money is integer fen (CNY / 100) in columns named *_fen, never floats.

-- Engineers: couriers rows with kind = 'engineer'. skills are the product
-- categories they serve; daily_capacity the visits they take per day.
ALTER TABLE couriers ADD COLUMN kind text NOT NULL DEFAULT 'courier'
	CHECK (kind IN ('courier', 'engineer'));
ALTER TABLE couriers ADD COLUMN provider text   -- NULL: the station's own staff
	CHECK (provider IS NULL OR length(provider) BETWEEN 1 AND 200);
ALTER TABLE couriers ADD COLUMN daily_capacity integer
	CHECK (daily_capacity IS NULL OR daily_capacity BETWEEN 1 AND 50);
ALTER TABLE couriers ADD CONSTRAINT couriers_engineer_capacity
	CHECK (kind = 'courier' OR daily_capacity IS NOT NULL);
CREATE INDEX couriers_station_kind ON couriers (station_id, kind) WHERE active;
-- couriers_on_shift takes the kind now (data/sql/couriers_on_shift.sql
-- creates it again with its new arguments and columns).
DROP FUNCTION IF EXISTS couriers_on_shift(text, timestamptz, timestamptz);

-- A service visit. status: booked (holds a unit of its engineer's day),
-- planned (on the day's engineer routes: position and eta set), arrived,
-- started, completed, failed, cancelled. engineer_id is the engineer whose
-- capacity it holds (the day's plan may move it to another with the skill).
CREATE TABLE service_appointments (
	id text PRIMARY KEY CHECK (id ~ '^svc_[0-9a-f]{16}$'),
	order_id text NOT NULL REFERENCES orders (id),
	station_id text NOT NULL,
	category text NOT NULL,                 -- skus.category it serves
	type text NOT NULL,                     -- installation, repair, cleaning, ...
	status text NOT NULL CHECK (status IN ('booked', 'planned', 'arrived', 'started',
					       'completed', 'failed', 'cancelled')),
	day date NOT NULL,                      -- local date of the window
	window_start timestamptz NOT NULL,
	window_end timestamptz NOT NULL CHECK (window_end > window_start),
	with_delivery boolean NOT NULL DEFAULT false,   -- deliver and install in one visit
	engineer_id text REFERENCES couriers (id),
	duration_s integer NOT NULL CHECK (duration_s > 0),
	-- the published list when booked: {"currency":"CNY","base_fee_fen":n,"free":b,
	--  "extras":[{"code","unit","price_fen","max_qty"}]}; charges are checked against it
	price_list jsonb NOT NULL,
	plan_version integer,                   -- the day plan that placed it
	position integer CHECK (position >= 0), -- 0-based place in its engineer's day
	eta timestamptz,
	plan_note text,                         -- why the day's plan could not place it
	arrived_at timestamptz,
	started_at timestamptz,
	completed_at timestamptz,
	-- applied: {"items":[{"code","qty","unit_price_fen","amount_fen"}],"base_fee_fen":n,
	--           "total_fen":n}
	charges jsonb,
	total_fen bigint CHECK (total_fen IS NULL OR total_fen >= 0),
	late boolean NOT NULL DEFAULT false,    -- started after window_end
	compensation_fen bigint NOT NULL DEFAULT 0 CHECK (compensation_fen >= 0),
	outcome jsonb,                          -- failed: {reason, notes}; cancelled: {by, reason}
	booked_by text,                         -- api_tokens.id
	created_at timestamptz NOT NULL DEFAULT now(),
	updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX service_appointments_order ON service_appointments (order_id);
CREATE INDEX service_appointments_day ON service_appointments (station_id, day)
	WHERE status <> 'cancelled';
CREATE INDEX service_appointments_engineer ON service_appointments (engineer_id, day)
	WHERE status <> 'cancelled';

-- A return (or an exchange) of some of an order's lines. status: requested
-- (its pickup stop is pending or planned), picked_up, at_station,
-- returning_to_warehouse (left the station), received (at the warehouse),
-- inspected, failed (the pickup failed for good), cancelled.
CREATE TABLE returns (
	id text PRIMARY KEY CHECK (id ~ '^ret_[0-9a-f]{16}$'),
	order_id text NOT NULL REFERENCES orders (id),
	kind text NOT NULL CHECK (kind IN ('return', 'exchange')),
	reason text NOT NULL,                   -- reason code (docs/api.md)
	notes text NOT NULL DEFAULT '',
	status text NOT NULL CHECK (status IN ('requested', 'picked_up', 'at_station',
					       'returning_to_warehouse', 'received', 'inspected',
					       'failed', 'cancelled')),
	station_id text NOT NULL,
	wave_key text NOT NULL CHECK (wave_key ~ '^[0-9]{8}-W[0-9]{4}$'),
	window_start timestamptz NOT NULL,      -- the pickup window chosen
	window_end timestamptz NOT NULL CHECK (window_end > window_start),
	warehouse_id text NOT NULL,             -- where it goes back to
	exchange_order_id text REFERENCES orders (id), -- the replacement (kind exchange)
	refund_fen bigint NOT NULL CHECK (refund_fen >= 0),
	refund_policy text NOT NULL CHECK (refund_policy IN ('at_pickup', 'after_inspection', 'none')),
	refund_due_at timestamptz,              -- when return.refund_due was emitted
	requested_by text,                      -- api_tokens.id
	created_at timestamptz NOT NULL DEFAULT now(),
	updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX returns_order ON returns (order_id);

-- The lines returned: line_no is the order line, qty at most its qty minus
-- what earlier returns took. result is set by the warehouse's inspection.
CREATE TABLE return_lines (
	return_id text NOT NULL REFERENCES returns (id),
	line_no smallint NOT NULL,
	sku text NOT NULL,
	qty integer NOT NULL CHECK (qty > 0),
	replacement_sku text,                   -- exchange: what is delivered instead
	result text CHECK (result IN ('passed', 'failed')),
	result_reason text,
	PRIMARY KEY (return_id, line_no)
);

-- Stops that collect a return name it; an exchange stop both delivers the
-- replacement order (stops.order_id) and collects the return.
ALTER TABLE stops ADD COLUMN return_id text REFERENCES returns (id);
ALTER TABLE stops DROP CONSTRAINT stops_kind_check;
ALTER TABLE stops ADD CONSTRAINT stops_kind_check
	CHECK (kind IN ('delivery', 'pickup', 'exchange'));
ALTER TABLE stops DROP CONSTRAINT stops_order_id_kind_attempt_key;
CREATE UNIQUE INDEX stops_order_kind_attempt
	ON stops (order_id, kind, attempt, coalesce(return_id, ''));
CREATE INDEX stops_return ON stops (return_id) WHERE return_id IS NOT NULL;

-- Webhooks: order_events kinds with a dot (return.refund_due,
-- service.completed, ...) are event names as they are; the others are
-- shipment.<kind> (data/sql/webhook_outbox_add.sql).
DROP TRIGGER order_events_webhooks ON order_events;
CREATE TRIGGER order_events_webhooks AFTER INSERT ON order_events FOR EACH ROW
	WHEN (NEW.kind IN ('out_for_delivery', 'eta_changed', 'delivered', 'failed', 'rescheduled')
	      OR NEW.kind LIKE 'service.%' OR NEW.kind LIKE 'return.%'
	      OR NEW.kind LIKE 'payment.%')
	EXECUTE FUNCTION webhook_outbox_add();

-- A subscription may name any of the events (daemon/api/webhooks.c's list).
ALTER TABLE webhooks DROP CONSTRAINT webhooks_events_check;
ALTER TABLE webhooks ADD CONSTRAINT webhooks_events_check
	CHECK (cardinality(events) BETWEEN 1 AND 32);
