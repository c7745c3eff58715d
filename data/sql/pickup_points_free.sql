-- pickup_points_free: every open pickup point with its places taken (its
-- counter pickup_points.used, migration 035), for the
-- daemon's cache the promise offers points from (svc/pickup_cache.c; issue
-- 13 part C3): one query per refresh, never one per promise.
CREATE OR REPLACE FUNCTION pickup_points_free()
RETURNS TABLE (id text, station_id text, lon double precision, lat double precision,
	       capacity integer, used integer, shelf boolean, name text, address text)
LANGUAGE sql STABLE AS $fn$
	SELECT p.id, p.station_id, p.lon, p.lat, p.capacity, p.used, p.shelf,
	       p.name, p.address
	  FROM pickup_points p
	 WHERE p.retired_at IS NULL
	 ORDER BY p.id
$fn$;
