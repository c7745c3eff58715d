-- 025: webhooks (issue 11). Subscriptions of order_service clients, and the
-- durable outbox their deliveries are sent from (docs/architecture.md,
-- "Webhooks"):
--
--   webhooks         one subscription: its owner (the api_tokens.id of the
--                    order_service token that created it, compared with
--                    orders.client_id), a URL, the events it wants, and the
--                    HMAC secret the daemon signs with
--   webhook_outbox   one delivery of one event to one subscription, written
--                    by a trigger on order_events in the event's own
--                    transaction, its body fixed at that moment; the senders
--                    (svc/webhook_sender.c) claim due rows with FOR UPDATE
--                    SKIP LOCKED and record each attempt
--
-- The trigger function's current body is data/sql/webhook_outbox_add.sql
-- (re-applied after every migration); the stub below only lets the trigger
-- be created here.

CREATE TABLE webhooks (
	id text PRIMARY KEY CHECK (id ~ '^wh_[0-9a-f]{16}$'),
	owner text NOT NULL,                    -- api_tokens.id of the subscribing client
	url text NOT NULL CHECK (length(url) BETWEEN 8 AND 2048),
	events text[] NOT NULL CHECK (cardinality(events) BETWEEN 1 AND 16),
	secret text NOT NULL CHECK (secret ~ '^whsec_'),
	created_by text NOT NULL,               -- api_tokens.id of the caller (an admin may
						-- subscribe on a client's behalf)
	created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX webhooks_owner ON webhooks (owner);

-- A delivery. status: pending (next_at is when it is due; while a sender
-- holds it, lease names the claim and next_at is when the claim lapses),
-- delivered (a 2xx came back), dead (the retry window passed). Deleting a
-- subscription deletes its deliveries.
CREATE TABLE webhook_outbox (
	id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	webhook_id text NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
	event_id bigint NOT NULL,               -- order_events.id
	event text NOT NULL,                    -- shipment.delivered, ...
	body text NOT NULL,                     -- the exact JSON sent (and signed)
	status text NOT NULL DEFAULT 'pending'
		CHECK (status IN ('pending', 'delivered', 'dead')),
	attempts integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
	next_at timestamptz NOT NULL DEFAULT now(),
	lease uuid,                             -- the claim of the sender now sending it
	last_status integer,                    -- HTTP status of the last attempt (NULL: none came)
	last_error text,                        -- why the last attempt failed
	last_at timestamptz,
	delivered_at timestamptz,
	created_at timestamptz NOT NULL DEFAULT now(),
	UNIQUE (webhook_id, event_id)
);
CREATE INDEX webhook_outbox_due ON webhook_outbox (next_at) WHERE status = 'pending';
CREATE INDEX webhook_outbox_status ON webhook_outbox (status, id);

CREATE FUNCTION webhook_outbox_add() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	RETURN NULL;
END $$;
CREATE TRIGGER order_events_webhooks AFTER INSERT ON order_events FOR EACH ROW
	WHEN (NEW.kind IN ('out_for_delivery', 'eta_changed', 'delivered', 'failed', 'rescheduled'))
	EXECUTE FUNCTION webhook_outbox_add();
