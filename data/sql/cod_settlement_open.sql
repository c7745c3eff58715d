-- cod_settlement_open: what a settlement leaves unexplained now (issue 13;
-- docs/api.md "Cash on delivery"): its difference (handed - expected) less
-- the corrections recorded against it since (cod_ledger rows of kind
-- correction with its settlement_id: a correction of +x raises what the
-- courier owes, so it lowers this by x). Negative: cash missing. What a
-- resolution writes off, and what the day's open adds up (while open).
-- NULL if unknown.
CREATE OR REPLACE FUNCTION cod_settlement_open(p_id text)
RETURNS bigint LANGUAGE sql STABLE AS $fn$
	SELECT t.handed_fen - t.expected_fen
	       - coalesce((SELECT sum(l.amount_fen) FROM cod_ledger l
			    WHERE l.settlement_id = t.id AND l.kind = 'correction'), 0)::bigint
	  FROM cod_settlements t WHERE t.id = p_id
$fn$;
