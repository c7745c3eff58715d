-- cod_day_lock: the locks of a keyed write of a courier's COD day (issue 13:
-- cod_settle, cod_correct), in the lock order of both: the station's feed
-- head, then the key (p_key_space: the writes' own key namespace; two
-- requests with one key never both insert), then the courier's day (two
-- writes of one day never count from the same past). Returns false, taking
-- no lock, when the courier is not the station's and has no ledger row of
-- that station on that day (a courier who moved to another station still
-- settles the old station's day there: cod_day_doc's rule).
CREATE OR REPLACE FUNCTION cod_day_lock(p_station text, p_courier text, p_key_space text,
					p_key text, p_day date)
RETURNS boolean LANGUAGE plpgsql AS $fn$
BEGIN
	IF NOT EXISTS (SELECT 1 FROM couriers WHERE id = p_courier AND station_id = p_station)
	   AND NOT EXISTS (SELECT 1 FROM cod_ledger
			    WHERE courier_id = p_courier AND day = p_day AND station_id = p_station)
	THEN
		RETURN false;
	END IF;
	INSERT INTO station_feed_heads AS h (station_id, seq) VALUES (p_station, 0)
	ON CONFLICT (station_id) DO UPDATE SET seq = h.seq;
	PERFORM pg_advisory_xact_lock(hashtext(p_key_space), hashtext(p_station || '|' || p_key));
	PERFORM pg_advisory_xact_lock(hashtext('cod_settle'), hashtext(p_courier || '|' || p_day));
	RETURN true;
END
$fn$;
