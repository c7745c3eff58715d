-- 032: cash on delivery (issue 13, part C1). An order may carry a payment
-- (orders.payment_method, cod_amount_fen: what the courier collects at the
-- door, integer fen, NULL unless cod). Money the couriers take in and hand
-- over is an append-only ledger (cod_ledger: never updated, never deleted;
-- a correction is a new row). A hand-over at the station is a settlement
-- (cod_settlements) of one courier and one day: expected (the day's
-- collections in cash) against handed; a difference stays open until
-- resolved with a reason (a ledger row of kind resolution).
ALTER TABLE orders
	ADD COLUMN payment_method text CHECK (payment_method IN ('cod', 'prepaid')),
	ADD COLUMN cod_amount_fen bigint CHECK (cod_amount_fen >= 0),
	ADD CONSTRAINT orders_cod_amount
		CHECK ((payment_method = 'cod') = (cod_amount_fen IS NOT NULL));

CREATE TABLE cod_settlements (
	id text PRIMARY KEY,                  -- "set_" + 16 hex
	seq bigserial NOT NULL UNIQUE,        -- the order they were recorded in
	station_id text NOT NULL,
	courier_id text NOT NULL REFERENCES couriers (id),
	day date NOT NULL,                    -- the shift's local day (the wave key's date)
	expected_fen bigint NOT NULL,         -- cash collected that day, less earlier hand-overs
	handed_fen bigint NOT NULL CHECK (handed_fen >= 0),
	notes text,
	status text NOT NULL CHECK (status IN ('balanced', 'open', 'resolved')),
	created_at timestamptz NOT NULL,
	created_by text,                      -- the token id
	idempotency_key text NOT NULL,        -- the request's, per station
	request jsonb NOT NULL,               -- the request as parsed: a replay or a mismatch
	resolved_at timestamptz,
	resolution text,                      -- the reason given
	resolved_by text,
	CHECK ((status = 'resolved') = (resolved_at IS NOT NULL)),
	UNIQUE (station_id, idempotency_key)
);
CREATE INDEX cod_settlements_open ON cod_settlements (seq) WHERE status = 'open';
CREATE INDEX cod_settlements_courier_day ON cod_settlements (courier_id, day);

CREATE TABLE cod_ledger (
	id bigserial PRIMARY KEY,
	kind text NOT NULL CHECK (kind IN ('collection', 'handover', 'correction', 'resolution')),
	station_id text NOT NULL,
	courier_id text NOT NULL,
	day date NOT NULL,
	order_id text REFERENCES orders (id),
	stop_id text,
	settlement_id text REFERENCES cod_settlements (id),
	method text CHECK (method IN ('cash', 'card', 'mobile')),  -- collections
	amount_fen bigint NOT NULL,           -- collected / handed (>= 0), a correction +/-
	due_fen bigint,                       -- collections: what the order asked
	reference text,                       -- card / mobile transaction reference
	short_reason text,                    -- collections below due
	reason text,                          -- corrections, resolutions
	at timestamptz NOT NULL,
	CHECK (kind <> 'collection' OR (order_id IS NOT NULL AND stop_id IS NOT NULL
					AND method IS NOT NULL AND amount_fen >= 0))
);
-- One collection per stop: a replayed delivered event cannot count twice.
CREATE UNIQUE INDEX cod_ledger_collection ON cod_ledger (stop_id) WHERE kind = 'collection';
CREATE INDEX cod_ledger_courier_day ON cod_ledger (courier_id, day);
CREATE INDEX cod_ledger_order ON cod_ledger (order_id) WHERE order_id IS NOT NULL;

-- Append-only: nothing about money is changed or deleted.
CREATE FUNCTION cod_ledger_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	RAISE EXCEPTION 'cod_ledger is append-only: add a correction instead'
		USING ERRCODE = 'restrict_violation';
END
$$;
CREATE TRIGGER cod_ledger_append_only BEFORE UPDATE OR DELETE ON cod_ledger
	FOR EACH ROW EXECUTE FUNCTION cod_ledger_append_only();
CREATE TRIGGER cod_ledger_no_truncate BEFORE TRUNCATE ON cod_ledger
	FOR EACH STATEMENT EXECUTE FUNCTION cod_ledger_append_only();
