-- cod_day_sums: the ledger sums of one courier's cash-on-delivery day at one
-- station (issue 13; docs/api.md "Cash on delivery", the model): cod_ledger
-- rows of that station, courier and day only (a courier who also worked
-- for another station that day has a second, separate day there).
--   cash, card, mobile, n, due  the collections (amounts, count, what the
--                               orders asked)
--   corr      the corrections (signed: + raises what the courier owes)
--   handed    the hand-overs
--   written   the differences written off (resolution rows)
--   pending   cash collections and corrections not counted by any hand-over
--             yet: recorded after the day's last hand-over, corrections
--             attached to an open settlement (settlement_id) excepted
-- The day's balance is handed + written - cash - corr (negative: cash not at
-- the station); the open settlements' open amounts add up to balance +
-- pending (cod_settle, cod_correct and cod_resolve keep it so).
CREATE OR REPLACE FUNCTION cod_day_sums(p_station text, p_courier text, p_day date,
					OUT cash bigint, OUT card bigint, OUT mobile bigint,
					OUT n bigint, OUT due bigint, OUT corr bigint,
					OUT handed bigint, OUT written bigint, OUT pending bigint)
LANGUAGE sql STABLE AS $fn$
	WITH l AS (SELECT * FROM cod_ledger
		    WHERE station_id = p_station AND courier_id = p_courier AND day = p_day),
	h AS (SELECT coalesce(max(id), 0) AS last FROM l WHERE kind = 'handover')
	SELECT coalesce(sum(amount_fen) FILTER (WHERE kind = 'collection' AND method = 'cash'), 0)
		   ::bigint,
	       coalesce(sum(amount_fen) FILTER (WHERE kind = 'collection' AND method = 'card'), 0)
		   ::bigint,
	       coalesce(sum(amount_fen) FILTER (WHERE kind = 'collection' AND method = 'mobile'),
			0)::bigint,
	       count(*) FILTER (WHERE kind = 'collection'),
	       coalesce(sum(due_fen) FILTER (WHERE kind = 'collection'), 0)::bigint,
	       coalesce(sum(amount_fen) FILTER (WHERE kind = 'correction'), 0)::bigint,
	       coalesce(sum(amount_fen) FILTER (WHERE kind = 'handover'), 0)::bigint,
	       coalesce(sum(amount_fen) FILTER (WHERE kind = 'resolution'), 0)::bigint,
	       coalesce(sum(amount_fen) FILTER (WHERE l.id > h.last AND (
			(kind = 'collection' AND method = 'cash')
			OR (kind = 'correction' AND settlement_id IS NULL))), 0)::bigint
	  FROM l, h
$fn$;
