-- courier_eta_refresh: ETAs from the couriers' newest positions (run with
-- each position flush, svc/courier_pings.c; docs/architecture.md "Live
-- positions").
--   p_pos          the flush's positions, [{"c", "t", "lon", "lat"}]
--   p_now          the daemon's clock
--   p_threshold_s  [dispatch] eta_change_threshold_s
-- For each courier of p_pos who started a route (courier_route_starts), the
-- next planned stop of it with an ETA and a point gets a new ETA: now plus
-- the great-circle distance from the courier times 1.3 (streets are not
-- straight) at the vehicle's speed. When that moves the ETA by more than
-- p_threshold_s, it and every later planned stop of the route shift by the
-- same amount (the plan's spacing kept), each with an order_events row
-- eta_changed {stop, eta, previous, courier}. Returns the stops changed.
-- A courier whose stops are locked (a publish, a stop event) is skipped
-- (NOWAIT): the next flush moves them. Waiting there, holding another
-- courier's stops, would deadlock with a publish that locks stops in its
-- plan's order.
CREATE OR REPLACE FUNCTION courier_eta_refresh(p_pos jsonb, p_now timestamptz,
					       p_threshold_s integer)
RETURNS integer LANGUAGE plpgsql AS $fn$
DECLARE
	c record;
	nx record;
	s record;
	new_eta timestamptz;
	delta interval;
	n integer := 0;
	k integer;
BEGIN
	FOR c IN SELECT DISTINCT ON (x->>'c') x->>'c' AS courier, (x->>'lon')::float8 AS lon,
			(x->>'lat')::float8 AS lat
		   FROM jsonb_array_elements(coalesce(p_pos, '[]'::jsonb)) AS x
		  WHERE EXISTS (SELECT 1 FROM courier_route_starts rs
				 WHERE rs.courier_id = x->>'c')
		  ORDER BY x->>'c', (x->>'t')::bigint DESC LOOP
		SELECT st.id, st.eta, st.station_id, st.wave_key, st.position, o.lon, o.lat,
		       v.speed_kmh INTO nx
		  FROM courier_route_starts rs
		  JOIN stops st ON st.courier_id = rs.courier_id AND st.station_id = rs.station_id
			       AND st.wave_key = rs.wave_key
		  JOIN orders o ON o.id = st.order_id
		  JOIN couriers cu ON cu.id = rs.courier_id
		  JOIN vehicle_profiles v ON v.name = cu.vehicle
		 WHERE rs.courier_id = c.courier AND st.status = 'planned' AND st.eta IS NOT NULL
		   AND st.position IS NOT NULL AND o.lon IS NOT NULL
		 ORDER BY rs.wave_key, st.position, st.id
		 LIMIT 1;
		CONTINUE WHEN NOT FOUND;
		new_eta := p_now + make_interval(secs => 1.3 * ST_DistanceSphere(
			ST_MakePoint(c.lon, c.lat), ST_MakePoint(nx.lon, nx.lat)) / (nx.speed_kmh / 3.6));
		delta := new_eta - nx.eta;
		CONTINUE WHEN abs(extract(epoch FROM delta)) <= p_threshold_s;
		k := 0;
		BEGIN
			FOR s IN SELECT st.id, st.order_id, st.eta FROM stops st
				  WHERE st.courier_id = c.courier AND st.station_id = nx.station_id
				    AND st.wave_key = nx.wave_key AND st.status = 'planned'
				    AND st.eta IS NOT NULL AND st.position >= nx.position
				  ORDER BY st.position, st.id
				    FOR UPDATE NOWAIT LOOP
				UPDATE stops SET eta = s.eta + delta, updated_at = p_now
				 WHERE id = s.id;
				INSERT INTO order_events (order_id, kind, at, detail)
				VALUES (s.order_id, 'eta_changed', p_now, jsonb_build_object(
					'stop', s.id, 'courier', c.courier,
					'eta', to_char((s.eta + delta) AT TIME ZONE 'UTC',
						       'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
					'previous', to_char(s.eta AT TIME ZONE 'UTC',
							    'YYYY-MM-DD"T"HH24:MI:SS"Z"')));
				k := k + 1;
			END LOOP;
		EXCEPTION WHEN lock_not_available THEN
			k := 0; -- this courier's changes are undone; the next flush retries
		END;
		n := n + k;
	END LOOP;
	RETURN n;
END
$fn$;
