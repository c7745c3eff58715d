-- courier_shifts_set: replace a station's courier's (or engineer's: p_kind;
-- NULL either) shifts (PUT .../couriers/{courier}/shifts,
-- .../engineers/{engineer}/shifts). The local times are in p_tz, the
-- region's zone, stored with them so that couriers_on_shift can turn them
-- into instants. The daemon has validated and expanded the body
-- (daemon/api/courier_body.c):
--   p_weekly  [{"dow": 1..7 (ISO, 1 = Monday), "start": "08:00", "end": "20:00"}]
--   p_dates   [{"date": "2026-12-01", "start": "10:00", "end": "14:00"}
--              | {"date": "2026-12-02"} (off that day)]
-- Returns the courier_doc, or NULL when the station has no such courier.
CREATE OR REPLACE FUNCTION courier_shifts_set(p_station text, p_courier text, p_tz text,
					      p_weekly jsonb, p_dates jsonb, p_now timestamptz,
					      p_kind text DEFAULT NULL)
RETURNS jsonb LANGUAGE plpgsql AS $fn$
BEGIN
	PERFORM 1 FROM couriers
	 WHERE id = p_courier AND station_id = p_station AND (p_kind IS NULL OR kind = p_kind)
	   FOR UPDATE;
	IF NOT FOUND THEN
		RETURN NULL;
	END IF;
	INSERT INTO courier_shifts AS s (courier_id, tz) VALUES (p_courier, p_tz)
	ON CONFLICT (courier_id) DO UPDATE SET tz = p_tz, updated_at = now();
	DELETE FROM courier_shift_weekly WHERE courier_id = p_courier;
	DELETE FROM courier_shift_dates WHERE courier_id = p_courier;
	INSERT INTO courier_shift_weekly (courier_id, isodow, start_at, end_at)
	SELECT p_courier, (x->>'dow')::smallint, (x->>'start')::time, (x->>'end')::time
	  FROM jsonb_array_elements(coalesce(p_weekly, '[]')) AS x;
	INSERT INTO courier_shift_dates (courier_id, day, start_at, end_at)
	SELECT p_courier, (x->>'date')::date, (x->>'start')::time, (x->>'end')::time
	  FROM jsonb_array_elements(coalesce(p_dates, '[]')) AS x;
	UPDATE couriers SET updated_at = now() WHERE id = p_courier;
	RETURN courier_doc(p_station, p_courier, p_now, p_kind);
END
$fn$;
