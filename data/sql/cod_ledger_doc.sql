-- cod_ledger_doc: GET /v1/stations/{id}/couriers/{cid}/cod-ledger?day= (issue
-- 13, part M): every ledger row of a courier's day at the station in the
-- order recorded (cod_entry_doc) with the running balance after it (signed
-- as the day's balance: + hand-overs and written-off differences, - cash
-- collections and corrections; card and mobile collections move nothing;
-- negative: cash not (yet) at the station), so a station manager sees why
-- the day does or does not balance:
-- {station, courier, day, currency, entries: [entry + balance, balance_fen],
--  balance, balance_fen, pending, pending_fen, open, open_fen (the day's, as
--  cod_day_doc)}.
-- NULL when cod_day_doc is (the courier neither the station's nor with a
-- ledger row of it that day).
CREATE OR REPLACE FUNCTION cod_ledger_doc(p_station text, p_courier text, p_day date)
RETURNS jsonb LANGUAGE sql STABLE AS $fn$
	WITH e AS (
		SELECT l.id, sum(CASE WHEN l.kind = 'collection' AND l.method = 'cash'
					   THEN -l.amount_fen
				      WHEN l.kind = 'correction' THEN -l.amount_fen
				      WHEN l.kind IN ('handover', 'resolution') THEN l.amount_fen
				      ELSE 0 END) OVER (ORDER BY l.id)::bigint AS balance
		  FROM cod_ledger l
		 WHERE l.station_id = p_station AND l.courier_id = p_courier AND l.day = p_day),
	d AS (SELECT cod_day_doc(p_station, p_courier, p_day) AS doc)
	SELECT jsonb_build_object(
		'station', p_station, 'courier', p_courier, 'day', to_char(p_day, 'YYYY-MM-DD'),
		'currency', 'CNY',
		'entries', coalesce((SELECT jsonb_agg(cod_entry_doc(e.id) || jsonb_build_object(
					'balance', money_text(e.balance), 'balance_fen', e.balance)
					ORDER BY e.id) FROM e), '[]'::jsonb),
		'balance', d.doc->'balance', 'balance_fen', d.doc->'balance_fen',
		'pending', d.doc->'pending', 'pending_fen', d.doc->'pending_fen',
		'open', d.doc->'open', 'open_fen', d.doc->'open_fen')
	  FROM d WHERE d.doc IS NOT NULL
$fn$;
