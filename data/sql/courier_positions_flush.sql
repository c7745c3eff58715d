-- courier_positions_flush: one flush of the daemon's position buffer
-- (svc/courier_pings.c, once a second), in one statement.
--   p_pos    [{"c": courier, "t": device ms, "lon", "lat", "acc"}]: the newest
--            ping of each courier since the last flush; courier_positions
--            takes it only when it is newer by device time than the row,
--            and by at least 30 s (at most one write per courier per 30 s
--            of device time: Redis has the live position, this row is the
--            fallback when Redis has nothing)
--   p_trail  [{"c", "b": bucket (device s / 30), "t", "lon", "lat", "acc",
--            "spd", "hdg"}]: the trail samples; the first point of a
--            courier's bucket stays, later ones are dropped
-- Rows are written in courier order, so concurrent flushes of several
-- daemons lock in one order. Returns the rows written.
CREATE OR REPLACE FUNCTION courier_positions_flush(p_pos jsonb, p_trail jsonb)
RETURNS integer LANGUAGE sql AS $fn$
	WITH pos AS (
		INSERT INTO courier_positions AS cp (courier_id, at, lon, lat, accuracy_m, received_at)
		SELECT DISTINCT ON (x->>'c') x->>'c', to_timestamp((x->>'t')::bigint / 1000.0),
		       (x->>'lon')::float8, (x->>'lat')::float8, (x->>'acc')::float8, now()
		  FROM jsonb_array_elements(coalesce(p_pos, '[]'::jsonb)) AS x
		 ORDER BY x->>'c', (x->>'t')::bigint DESC
		ON CONFLICT (courier_id) DO UPDATE
		   SET at = excluded.at, lon = excluded.lon, lat = excluded.lat,
		       accuracy_m = excluded.accuracy_m, received_at = excluded.received_at
		 WHERE excluded.at >= cp.at + interval '30 seconds'
		RETURNING 1),
	trail AS (
		INSERT INTO courier_trail (courier_id, bucket, at, lon, lat, accuracy_m, speed_mps,
					   heading_deg)
		SELECT DISTINCT ON (x->>'c', (x->>'b')::bigint) x->>'c', (x->>'b')::bigint,
		       to_timestamp((x->>'t')::bigint / 1000.0), (x->>'lon')::float8,
		       (x->>'lat')::float8, (x->>'acc')::float8, (x->>'spd')::float8,
		       (x->>'hdg')::float8
		  FROM jsonb_array_elements(coalesce(p_trail, '[]'::jsonb)) AS x
		 ORDER BY x->>'c', (x->>'b')::bigint, (x->>'t')::bigint
		ON CONFLICT (courier_id, bucket) DO NOTHING
		RETURNING 1)
	SELECT ((SELECT count(*) FROM pos) + (SELECT count(*) FROM trail))::integer
$fn$;
