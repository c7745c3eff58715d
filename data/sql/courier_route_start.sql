-- courier_route_start: the courier leaves with their current route
-- (POST /v1/couriers/me/route/start). The shipments of the route's delivery
-- (and exchange: the replacement's)
-- stops still to do (planned) that are arrived_at_station or rescheduled go
-- out_for_delivery, one order_events row each (detail {courier,
-- courier_name, stop, eta}); the start is recorded (courier_route_starts).
-- Idempotent: starting again moves what is left to move (a shipment that
-- arrived since) and changes nothing else.
-- Returns {"r":"ok","wave","version","started_at","moved":n,"stops":n};
-- without a route today wave, version and started_at are null and nothing
-- changes (like GET /v1/couriers/me/route, no route is not an error).
CREATE OR REPLACE FUNCTION courier_route_start(p_courier text, p_today text, p_now timestamptz)
RETURNS jsonb LANGUAGE plpgsql AS $fn$
DECLARE
	c record;
	s record;
	cname text;
	n integer := 0;
	k integer := 0;
	started timestamptz;
BEGIN
	SELECT * INTO c FROM courier_route_current(p_courier, p_today);
	IF NOT FOUND THEN
		RETURN jsonb_build_object('r', 'ok', 'wave', NULL, 'version', NULL,
					  'started_at', NULL, 'moved', 0, 'stops', 0);
	END IF;
	SELECT name INTO cname FROM couriers WHERE id = p_courier;
	-- Orders first, in id order, as every writer of shipments locks them.
	PERFORM 1 FROM orders WHERE id IN (
		SELECT order_id FROM stops
		 WHERE courier_id = p_courier AND station_id = c.station_id
		   AND wave_key = c.wave_key AND status = 'planned'
		   AND kind IN ('delivery', 'exchange'))
	 ORDER BY id FOR NO KEY UPDATE;
	FOR s IN SELECT id, order_id, eta FROM stops
		  WHERE courier_id = p_courier AND station_id = c.station_id
		    AND wave_key = c.wave_key AND status = 'planned'
		    AND kind IN ('delivery', 'exchange')
		  ORDER BY position NULLS LAST, id LOOP
		k := k + 1;
		n := n + stop_shipments_move(s.order_id, 'out_for_delivery', p_now,
			jsonb_build_object('courier', p_courier, 'courier_name', cname,
					   'stop', s.id, 'eta', s.eta));
	END LOOP;
	INSERT INTO courier_route_starts (courier_id, station_id, wave_key, version, started_at)
	VALUES (p_courier, c.station_id, c.wave_key, c.version, p_now)
	ON CONFLICT (courier_id, station_id, wave_key) DO NOTHING;
	SELECT rs.started_at INTO started FROM courier_route_starts rs
	 WHERE rs.courier_id = p_courier AND rs.station_id = c.station_id
	   AND rs.wave_key = c.wave_key;
	RETURN jsonb_build_object('r', 'ok', 'wave', c.wave_key, 'version', c.version,
		'started_at', route_ts(started, c.utc_offset_s), 'moved', n, 'stops', k);
END
$fn$;
