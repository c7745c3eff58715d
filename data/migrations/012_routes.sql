-- 012: courier routes. The daemon plans one station's wave (routing/vrp_*,
-- daemon/route_plan.c) and stores the plan here; a station and wave has at
-- most one current plan, and replanning replaces it whole in one
-- transaction (route_plan_store). Times in stops are RFC 3339 local text as
-- the API returns them; depart_at/return_at are the same instants for SQL.
CREATE TABLE route_plans (
	plan_id text PRIMARY KEY,
	station_id text NOT NULL,
	wave_key text NOT NULL CHECK (wave_key ~ '^[0-9]{8}-W[0-9]{4}$'),
	params jsonb NOT NULL,          -- seed, budget, fleet, speeds: what the plan was made with
	utc_offset_s integer NOT NULL,  -- the zone's offset, for the local times of the document
	unassigned jsonb NOT NULL,      -- [{"order_id", "reason"}]
	geojson jsonb NOT NULL,         -- FeatureCollection of the routes (rt_vrp_route_geom_geojson)
	created_at timestamptz NOT NULL DEFAULT now(),
	UNIQUE (station_id, wave_key)
);

CREATE TABLE routes (
	station_id text NOT NULL,
	wave_key text NOT NULL,
	courier integer NOT NULL CHECK (courier >= 0),  -- index of the courier in the wave
	plan_id text NOT NULL REFERENCES route_plans (plan_id) ON DELETE CASCADE,
	planned_at timestamptz NOT NULL DEFAULT now(),
	stops jsonb NOT NULL,           -- [{"order_id", "arrival", "eta", "departure", "window"}] in visit order
	geometry geometry(LineString, 4326) NOT NULL,
	distance_m double precision NOT NULL CHECK (distance_m >= 0),
	duration_s double precision NOT NULL CHECK (duration_s >= 0),
	depart_at timestamptz NOT NULL,
	return_at timestamptz NOT NULL,
	PRIMARY KEY (station_id, wave_key, courier)
);
CREATE INDEX routes_plan ON routes (plan_id);

-- An instant as RFC 3339 local text at a fixed offset ("2026-11-23T09:00:00+08:00").
CREATE FUNCTION route_ts(p_at timestamptz, p_offset_s integer)
RETURNS text LANGUAGE sql IMMUTABLE AS $$
	SELECT to_char((p_at AT TIME ZONE 'UTC') + make_interval(secs => p_offset_s),
		       'YYYY-MM-DD"T"HH24:MI:SS')
	       || CASE WHEN p_offset_s < 0 THEN '-' ELSE '+' END
	       || to_char(abs(p_offset_s) / 3600, 'FM00') || ':'
	       || to_char(abs(p_offset_s) % 3600 / 60, 'FM00')
$$;

-- The stored plan of a station and wave as the API document, or NULL.
CREATE FUNCTION route_plan_doc(p_station text, p_wave text)
RETURNS jsonb LANGUAGE sql STABLE AS $$
	SELECT jsonb_build_object(
		'station', p.station_id, 'wave', p.wave_key, 'plan_id', p.plan_id,
		'planned_at', route_ts(p.created_at, p.utc_offset_s), 'params', p.params,
		'routes', coalesce((
			SELECT jsonb_agg(jsonb_build_object(
				'courier', r.courier, 'distance_m', r.distance_m,
				'duration_s', r.duration_s,
				'depart', route_ts(r.depart_at, p.utc_offset_s),
				'return', route_ts(r.return_at, p.utc_offset_s),
				'stops', r.stops) ORDER BY r.courier)
			FROM routes r WHERE r.plan_id = p.plan_id), '[]'::jsonb),
		'unassigned', p.unassigned, 'geojson', p.geojson)
	FROM route_plans p WHERE p.station_id = p_station AND p.wave_key = p_wave
$$;

-- Replace the plan of a station and wave with p_plan ({"params",
-- "utc_offset_s", "routes": [{"courier", "stops", "geometry" (GeoJSON),
-- "distance_m", "duration_s", "depart", "return"}], "unassigned",
-- "geojson"}) and return its document. An advisory lock per station and
-- wave makes concurrent replans queue instead of colliding on the unique key.
CREATE FUNCTION route_plan_store(p_station text, p_wave text, p_plan jsonb)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
	pid text := gen_random_uuid()::text;
BEGIN
	PERFORM pg_advisory_xact_lock(hashtextextended('routes:' || p_station || ':' || p_wave, 0));
	DELETE FROM route_plans WHERE station_id = p_station AND wave_key = p_wave;
	INSERT INTO route_plans (plan_id, station_id, wave_key, params, utc_offset_s, unassigned,
				 geojson)
	VALUES (pid, p_station, p_wave, p_plan->'params', (p_plan->>'utc_offset_s')::integer,
		p_plan->'unassigned', p_plan->'geojson');
	INSERT INTO routes (station_id, wave_key, courier, plan_id, stops, geometry, distance_m,
			    duration_s, depart_at, return_at)
	SELECT p_station, p_wave, (r->>'courier')::integer, pid, r->'stops',
	       ST_SetSRID(ST_GeomFromGeoJSON(r->'geometry'), 4326),
	       (r->>'distance_m')::double precision, (r->>'duration_s')::double precision,
	       (r->>'depart')::timestamptz, (r->>'return')::timestamptz
	FROM jsonb_array_elements(p_plan->'routes') AS r;
	RETURN route_plan_doc(p_station, p_wave);
END
$$;
