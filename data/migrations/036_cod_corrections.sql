-- 036: corrections of the cash-on-delivery ledger through the API (issue 13,
-- part M; docs/api.md "Cash on delivery"). A correction stays a cod_ledger
-- row of kind correction (signed amount_fen, reason, optional order); this
-- adds what the API needs around it:
--   cod_ledger.created_by     the token id that recorded a correction or a
--                             resolution (NULL for rows of stop events)
--   cod_ledger.correction_id  on a resolution row: the correction that
--                             brought the day to balance and so closed the
--                             settlement (amount 0: the correction already
--                             accounts for the difference)
--   cod_corrections           the Idempotency-Key of each correction (per
--                             station) with the request as parsed and the
--                             201 answer, so a replay answers byte for byte
-- Adding columns rewrites no row: the append-only triggers of 032 stay as
-- they are, and cod_corrections is append-only the same way.
ALTER TABLE cod_ledger
	ADD COLUMN created_by text,
	ADD COLUMN correction_id bigint REFERENCES cod_ledger (id),
	ADD CONSTRAINT cod_ledger_correction_of_resolution
		CHECK (correction_id IS NULL OR kind = 'resolution'),
	-- NOT VALID: new rows only; a row written by hand before stays
	ADD CONSTRAINT cod_ledger_correction_nonzero
		CHECK (kind <> 'correction' OR amount_fen <> 0) NOT VALID;

CREATE TABLE cod_corrections (
	ledger_id bigint PRIMARY KEY REFERENCES cod_ledger (id),
	station_id text NOT NULL,
	courier_id text NOT NULL,
	idempotency_key text NOT NULL,        -- the request's, per station
	request jsonb NOT NULL,               -- the request as parsed: a replay or a mismatch
	answer jsonb NOT NULL,                -- the 201 body, answered again on a replay
	UNIQUE (station_id, idempotency_key)
);

CREATE TRIGGER cod_corrections_append_only BEFORE UPDATE OR DELETE ON cod_corrections
	FOR EACH ROW EXECUTE FUNCTION cod_ledger_append_only();
CREATE TRIGGER cod_corrections_no_truncate BEFORE TRUNCATE ON cod_corrections
	FOR EACH STATEMENT EXECUTE FUNCTION cod_ledger_append_only();
