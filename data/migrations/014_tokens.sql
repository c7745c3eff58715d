-- 013: API tokens and the stock ledger (issue 10).
--
-- api_tokens holds what the server knows of each bearer token: never the
-- token, only its BLAKE2b hash keyed with the server's token key
-- (daemon/base/token.h), with its role, scope and lifetime. `id` is the
-- public name logs and lists show. Revoked rows stay (revoked_at set) so the
-- audit trail keeps who had what; daemons drop them from their caches on
-- their next refresh (svc/tokens.c, every 2 s, see api_tokens_version).
CREATE TABLE api_tokens (
	id text PRIMARY KEY CHECK (id ~ '^tok_[0-9a-f]{16}$'),
	hash bytea NOT NULL UNIQUE CHECK (length(hash) = 32),
	role text NOT NULL CHECK (role IN ('admin', 'order_service', 'warehouse', 'station',
					   'courier', 'engineer')),
	scope text[] NOT NULL DEFAULT '{}',  -- warehouse or station ids, or one courier/engineer id
	label text NOT NULL DEFAULT '' CHECK (length(label) <= 200),
	created_by text NOT NULL,            -- a token id, or 'dispatchctl' (the first admin token)
	created_at timestamptz NOT NULL DEFAULT now(),
	expires_at timestamptz,              -- NULL: does not expire
	last_used_at timestamptz,            -- written in batches by the daemons, to the second
	revoked_at timestamptz,
	CONSTRAINT api_tokens_scope_size CHECK (
		CASE role
			WHEN 'admin' THEN cardinality(scope) = 0
			WHEN 'order_service' THEN cardinality(scope) = 0
			WHEN 'courier' THEN cardinality(scope) = 1
			WHEN 'engineer' THEN cardinality(scope) = 1
			ELSE cardinality(scope) BETWEEN 1 AND 64
		END),
	CONSTRAINT api_tokens_expiry_after_creation CHECK (expires_at IS NULL OR expires_at > created_at)
);
-- The daemons' refresh reads the live tokens.
CREATE INDEX api_tokens_live ON api_tokens (id) WHERE revoked_at IS NULL;

-- A change counter the daemons poll every 2 s (one row), reading the whole
-- table only when it moved. Every statement that changes what a token may
-- do bumps it in the same transaction; writing last_used_at does not.
CREATE TABLE api_tokens_version (
	one boolean PRIMARY KEY DEFAULT true CHECK (one),
	version bigint NOT NULL
);
INSERT INTO api_tokens_version VALUES (true, 1);

CREATE FUNCTION api_tokens_bump() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	UPDATE api_tokens_version SET version = version + 1;
	RETURN NULL;
END
$$;

CREATE TRIGGER api_tokens_changed
	AFTER INSERT OR DELETE OR UPDATE OF id, hash, role, scope, label, expires_at, revoked_at
	ON api_tokens FOR EACH STATEMENT EXECUTE FUNCTION api_tokens_bump();
CREATE TRIGGER api_tokens_truncated
	AFTER TRUNCATE ON api_tokens FOR EACH STATEMENT EXECUTE FUNCTION api_tokens_bump();

-- Every change of a stock level: who (a token id, or 'dispatchctl' for
-- seeding), when, where, what, from and to, and why. Appended to only.
CREATE TABLE stock_ledger (
	seq bigserial PRIMARY KEY,
	at timestamptz NOT NULL DEFAULT now(),
	actor text NOT NULL,                 -- api_tokens.id, or 'dispatchctl'
	warehouse_id text NOT NULL,
	sku text NOT NULL,
	old_on_hand integer,                 -- NULL: the row did not exist
	new_on_hand integer NOT NULL CHECK (new_on_hand >= 0),
	reason text NOT NULL DEFAULT '' CHECK (length(reason) <= 200)
);
CREATE INDEX stock_ledger_item ON stock_ledger (warehouse_id, sku, at);
CREATE INDEX stock_ledger_actor ON stock_ledger (actor, at);
