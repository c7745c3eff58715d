-- cod_day_doc: GET /v1/stations/{id}/couriers/{cid}/settlements?day= (issue
-- 13, part C1): a courier's money of one day from the ledger, exactly:
--   collected   {cash, card, mobile, total} (text and _fen) and count
--   due         what the day's COD stops asked (due_fen of the collections)
--   expected    the cash to hand over: cash collected + corrections
--   handed      the hand-overs recorded (settlements)
--   written_off the resolved discrepancies (resolution rows)
--   balance     expected - handed - written_off: 0 when all is accounted
--   open        the open discrepancies' total (expected - handed, per settlement)
--   settlements the day's settlements (cod_settlement_doc), in the order recorded
-- NULL when the courier is not the station's.
CREATE OR REPLACE FUNCTION cod_day_doc(p_station text, p_courier text, p_day date)
RETURNS jsonb LANGUAGE sql STABLE AS $fn$
	WITH l AS (SELECT * FROM cod_ledger WHERE courier_id = p_courier AND day = p_day),
	sums AS (
		SELECT coalesce(sum(amount_fen) FILTER (WHERE kind = 'collection'
							  AND method = 'cash'), 0)::bigint AS cash,
		       coalesce(sum(amount_fen) FILTER (WHERE kind = 'collection'
							  AND method = 'card'), 0)::bigint AS card,
		       coalesce(sum(amount_fen) FILTER (WHERE kind = 'collection'
							  AND method = 'mobile'), 0)::bigint
			   AS mobile,
		       count(*) FILTER (WHERE kind = 'collection') AS n,
		       coalesce(sum(due_fen) FILTER (WHERE kind = 'collection'), 0)::bigint AS due,
		       coalesce(sum(amount_fen) FILTER (WHERE kind = 'correction'), 0)::bigint
			   AS corr,
		       coalesce(sum(amount_fen) FILTER (WHERE kind = 'handover'), 0)::bigint
			   AS handed,
		       coalesce(sum(amount_fen) FILTER (WHERE kind = 'resolution'), 0)::bigint
			   AS written
		  FROM l)
	SELECT jsonb_build_object(
		'station', p_station, 'courier', p_courier, 'day', to_char(p_day, 'YYYY-MM-DD'),
		'currency', 'CNY',
		'collections', s.n,
		'collected', jsonb_build_object(
			'cash', money_text(s.cash), 'cash_fen', s.cash,
			'card', money_text(s.card), 'card_fen', s.card,
			'mobile', money_text(s.mobile), 'mobile_fen', s.mobile,
			'total', money_text(s.cash + s.card + s.mobile),
			'total_fen', s.cash + s.card + s.mobile),
		'due', money_text(s.due), 'due_fen', s.due,
		'expected', money_text(s.cash + s.corr), 'expected_fen', s.cash + s.corr,
		'handed', money_text(s.handed), 'handed_fen', s.handed,
		'written_off', money_text(s.written), 'written_off_fen', s.written,
		'balance', money_text(s.cash + s.corr - s.handed - s.written),
		'balance_fen', s.cash + s.corr - s.handed - s.written,
		'open', money_text(o.total), 'open_fen', o.total,
		'settlements', coalesce((SELECT jsonb_agg(cod_settlement_doc(t.id) ORDER BY t.seq)
					   FROM cod_settlements t
					  WHERE t.courier_id = p_courier AND t.day = p_day),
					'[]'::jsonb))
	  FROM sums s,
	       LATERAL (SELECT coalesce(sum(t.expected_fen - t.handed_fen), 0)::bigint AS total
			  FROM cod_settlements t
			 WHERE t.courier_id = p_courier AND t.day = p_day AND t.status = 'open') o
	 WHERE EXISTS (SELECT 1 FROM couriers c WHERE c.id = p_courier AND c.station_id = p_station)
$fn$;
