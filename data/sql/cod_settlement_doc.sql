-- cod_settlement_doc: one hand-over of a courier's cash at the station
-- (issue 13, part C1; docs/api.md "Cash on delivery"), as the settlement
-- routes answer it: id, station, courier, day, expected (what the courier
-- held of that day's cash at that station when it was made: cod_settle),
-- handed, difference (handed - expected: negative is cash missing), status
-- (balanced, open, resolved), notes, created_at; while open, open (the
-- difference less the corrections recorded against it since: what is still
-- unexplained, negative is cash missing); once resolved resolved_at,
-- resolution and, when a later hand-over took its difference over,
-- carried_into. Amounts as text and *_fen. NULL if unknown.
CREATE OR REPLACE FUNCTION cod_settlement_doc(p_id text)
RETURNS jsonb LANGUAGE sql STABLE AS $fn$
	SELECT jsonb_strip_nulls(jsonb_build_object(
		'id', t.id, 'station', t.station_id, 'courier', t.courier_id,
		'day', to_char(t.day, 'YYYY-MM-DD'),
		'expected', money_text(t.expected_fen), 'expected_fen', t.expected_fen,
		'handed', money_text(t.handed_fen), 'handed_fen', t.handed_fen,
		'difference', money_text(t.handed_fen - t.expected_fen),
		'difference_fen', t.handed_fen - t.expected_fen,
		'status', t.status, 'notes', t.notes,
		'open', CASE WHEN t.status = 'open' THEN money_text(o.fen) END,
		'open_fen', CASE WHEN t.status = 'open' THEN o.fen END,
		'created_at', to_char(t.created_at AT TIME ZONE 'UTC',
				      'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
		'resolved_at', to_char(t.resolved_at AT TIME ZONE 'UTC',
				       'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
		'resolution', t.resolution, 'carried_into', t.carried_into))
	  FROM cod_settlements t,
	       LATERAL (SELECT cod_settlement_open(t.id) AS fen) o
	 WHERE t.id = p_id
$fn$;
