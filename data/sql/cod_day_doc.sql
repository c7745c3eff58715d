-- cod_day_doc: GET /v1/stations/{id}/couriers/{cid}/settlements?day= (issue
-- 13, part C1): a courier's money of one day at one station, from the
-- ledger (cod_day_sums: that station's rows only), exactly:
--   collected   {cash, card, mobile, total} (text and _fen) and count
--   due         what the day's COD stops asked (due_fen of the collections)
--   expected    what the courier owes in cash: cash collected + corrections
--   handed      the hand-overs recorded (settlements)
--   written_off the differences written off by resolutions
--   balance     handed + written_off - expected: 0 when all is accounted,
--               negative when cash is not (yet) at the station
--   pending     cash collections and corrections no hand-over counted yet
--               (recorded after the last one): the next one expects them
--   open        the open settlements' open amounts (cod_settlement_open),
--               signed as their difference (negative: cash missing); it is
--               always balance + pending, so after the shift's last
--               hand-over (pending 0) open = balance, and a balanced day has
--               nothing open
--   settlements the day's settlements (cod_settlement_doc), in the order recorded
-- NULL when the courier is not the station's and has no ledger row of the
-- station on that day (a courier who moved keeps the old station's day).
CREATE OR REPLACE FUNCTION cod_day_doc(p_station text, p_courier text, p_day date)
RETURNS jsonb LANGUAGE sql STABLE AS $fn$
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
		'balance', money_text(s.handed + s.written - s.cash - s.corr),
		'balance_fen', s.handed + s.written - s.cash - s.corr,
		'pending', money_text(s.pending), 'pending_fen', s.pending,
		'open', money_text(o.total), 'open_fen', o.total,
		'settlements', coalesce((SELECT jsonb_agg(cod_settlement_doc(t.id) ORDER BY t.seq)
					   FROM cod_settlements t
					  WHERE t.station_id = p_station AND t.courier_id = p_courier
					    AND t.day = p_day),
					'[]'::jsonb))
	  FROM cod_day_sums(p_station, p_courier, p_day) s,
	       LATERAL (SELECT coalesce(sum(cod_settlement_open(t.id)), 0)::bigint AS total
			  FROM cod_settlements t
			 WHERE t.station_id = p_station AND t.courier_id = p_courier
			   AND t.day = p_day AND t.status = 'open') o
	 WHERE EXISTS (SELECT 1 FROM couriers c WHERE c.id = p_courier AND c.station_id = p_station)
	    OR EXISTS (SELECT 1 FROM cod_ledger l
			WHERE l.courier_id = p_courier AND l.day = p_day
			  AND l.station_id = p_station)
$fn$;
