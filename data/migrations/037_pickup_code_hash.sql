-- 037: pickup codes that cannot be guessed or read (issue 13, second
-- reading; docs/api.md "Pickup points"). The code is 8 random digits (was
-- 6). PostgreSQL keeps no code in plain text: code_hash is its keyed hash
-- (BLAKE2b under a sub-key of the server's token key,
-- daemon/base/pickup_code.c), by which a collection looks the parcel up;
-- code_box is the code sealed (crypto_secretbox under another sub-key),
-- which only the daemon opens, for the order service's tracking view. A
-- code is unique among all the parcels a point ever had, so the code of a
-- parcel that left (collected, expired) is never issued there again.
-- Parcels held when this migration runs lose their 6-digit code (it is
-- not kept): the point's next arrival scan of such a parcel gives it a new
-- code (pickup_arrival), which the order service then shows.
ALTER TABLE pickup_parcels ADD COLUMN code_hash bytea CHECK (length(code_hash) = 32),
	ADD COLUMN code_box bytea CHECK (length(code_box) = 48);
DROP INDEX pickup_parcels_code;
ALTER TABLE pickup_parcels DROP COLUMN code;
CREATE UNIQUE INDEX pickup_parcels_code_hash ON pickup_parcels (point_id, code_hash);
-- the signatures change: hashes and boxes instead of codes, the wrong-code limits
DROP FUNCTION IF EXISTS pickup_arrival(text, text, text, text[], int, text, text[], text,
				       timestamptz);
DROP FUNCTION IF EXISTS pickup_collect(text, text, text, text, text[], text, timestamptz);

-- Wrong codes tried at a point: one row per collection whose code named no
-- parcel waiting there (pickup_collect). Counted per caller (the token id)
-- and per point over the windows of [pickup] code_failures_*, so the limit
-- holds across every daemon sharing this database; rows older than a day
-- are deleted by the expiry tick (pickup_expire).
CREATE TABLE pickup_code_failures (
	id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	point_id text NOT NULL REFERENCES pickup_points (id),
	actor text NOT NULL,
	at timestamptz NOT NULL
);
CREATE INDEX pickup_code_failures_point ON pickup_code_failures (point_id, at);
CREATE INDEX pickup_code_failures_actor ON pickup_code_failures (actor, at);
