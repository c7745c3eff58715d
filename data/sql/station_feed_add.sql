-- station_feed_add: append one change to a station's feed, in the caller's
-- transaction, and return its number. The head row's lock is held until the
-- caller commits, so a station's changes commit in the order of their
-- numbers: a reader that has seen n never later finds a change below n.
-- pg_notify('station_feed', station) wakes the daemons' waiting polls at
-- commit (svc/station_feed.c); a notification lost is caught by their
-- periodic check.
--   p_kind   shipment.arrived, plan.published, stop.assigned, stop.moved,
--            stop.outcome, courier.on_shift, courier.off_shift (docs/api.md)
--   p_data   the change's document (ids, times, what moved where)
CREATE OR REPLACE FUNCTION station_feed_add(p_station text, p_kind text, p_data jsonb)
RETURNS bigint LANGUAGE plpgsql AS $fn$
DECLARE
	n bigint;
BEGIN
	INSERT INTO station_feed_heads AS h (station_id, seq) VALUES (p_station, 1)
	ON CONFLICT (station_id) DO UPDATE SET seq = h.seq + 1
	RETURNING h.seq INTO n;
	INSERT INTO station_feed (station_id, seq, kind, data)
	VALUES (p_station, n, p_kind, coalesce(p_data, '{}'::jsonb));
	PERFORM pg_notify('station_feed', p_station);
	RETURN n;
END
$fn$;
