-- courier_route_current: the route a courier works on now (docs/api.md,
-- GET /v1/couriers/me/route). Among the waves of the courier's station on
-- local day p_today ("20261201": wave keys of that day start with it), take
-- the current version of each wave's plan (the highest) that has a route
-- for the courier; the first such wave, by key, where one of the courier's
-- stops is still planned or arrived, or else the last one (the finished
-- route of the day). No row when the courier has no route today, or when
-- the current version no longer gives them one (a replan took it away).
CREATE OR REPLACE FUNCTION courier_route_current(p_courier text, p_today text)
RETURNS TABLE (station_id text, wave_key text, version integer, plan_id text,
	       utc_offset_s integer)
LANGUAGE sql STABLE AS $fn$
	WITH latest AS (
		SELECT DISTINCT ON (p.wave_key) p.station_id, p.wave_key, p.version, p.plan_id,
		       p.utc_offset_s
		  FROM route_plans p JOIN couriers c ON c.id = p_courier AND c.station_id = p.station_id
		 WHERE p.wave_key LIKE p_today || '-W%'
		 ORDER BY p.wave_key, p.version DESC),
	mine AS (
		SELECT l.*, EXISTS (
			SELECT 1 FROM stops s
			 WHERE s.courier_id = p_courier AND s.station_id = l.station_id
			   AND s.wave_key = l.wave_key AND s.status IN ('planned', 'arrived')) AS open
		  FROM latest l
		 WHERE EXISTS (SELECT 1 FROM routes r
				WHERE r.plan_id = l.plan_id AND r.courier_id = p_courier))
	SELECT m.station_id, m.wave_key, m.version, m.plan_id, m.utc_offset_s FROM mine m
	 ORDER BY m.open DESC, CASE WHEN m.open THEN m.wave_key END ASC, m.wave_key DESC
	 LIMIT 1
$fn$;
