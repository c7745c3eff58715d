-- cod_entry_doc: one row of the cash-on-delivery ledger (issue 13, part M;
-- docs/api.md "Cash on delivery") as the correction and ledger routes show
-- it: id, kind (collection, handover, correction, resolution), at, amount
-- (text and _fen: collected, handed, a correction's signed amount, or the
-- difference a resolution wrote off) and what the kind names: order, stop,
-- method, due, reference, short_reason (collections), settlement
-- (hand-overs, resolutions, a correction recorded against one), reason
-- (corrections, resolutions), correction
-- (a resolution that a correction closed). NULL if unknown.
CREATE OR REPLACE FUNCTION cod_entry_doc(p_id bigint)
RETURNS jsonb LANGUAGE sql STABLE AS $fn$
	SELECT jsonb_strip_nulls(jsonb_build_object(
		'id', l.id, 'kind', l.kind,
		'at', to_char(l.at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
		'amount', money_text(l.amount_fen), 'amount_fen', l.amount_fen,
		'order', l.order_id, 'stop', l.stop_id, 'method', l.method,
		'due', money_text(l.due_fen), 'due_fen', l.due_fen,
		'reference', l.reference, 'short_reason', l.short_reason,
		'settlement', l.settlement_id, 'reason', l.reason,
		'correction', l.correction_id))
	  FROM cod_ledger l WHERE l.id = p_id
$fn$;
