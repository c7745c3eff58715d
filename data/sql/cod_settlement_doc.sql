-- cod_settlement_doc: one hand-over of a courier's cash at the station
-- (issue 13, part C1; docs/api.md "Cash on delivery"), as the settlement
-- routes answer it: id, station, courier, day, expected (what the courier
-- held of that day's cash when it was made: cod_settle),
-- handed, difference (handed - expected: negative is short), status
-- (balanced, open, resolved), notes, created_at, and once resolved
-- resolved_at and resolution. Amounts as text and *_fen. NULL if unknown.
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
		'created_at', to_char(t.created_at AT TIME ZONE 'UTC',
				      'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
		'resolved_at', to_char(t.resolved_at AT TIME ZONE 'UTC',
				       'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
		'resolution', t.resolution))
	  FROM cod_settlements t WHERE t.id = p_id
$fn$;
