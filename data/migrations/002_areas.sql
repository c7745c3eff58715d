-- 002: service areas. Districts, delivery stations and warehouses (regional
-- "rdc", front "fdc") with their repaired polygons, as imported by
-- `dispatchctl areas import`. The daemon loads them at start and on SIGHUP.
CREATE TABLE areas (
	kind text NOT NULL CHECK (kind IN ('district', 'station', 'rdc', 'fdc')),
	id text NOT NULL CHECK (id <> ''),
	name text NOT NULL,
	props jsonb NOT NULL DEFAULT '{}'::jsonb,
	geom geometry(MultiPolygon, 4326) NOT NULL CHECK (ST_IsValid(geom)),
	point geometry(Point, 4326),   -- the station or warehouse itself
	area_m2 double precision NOT NULL,
	imported_at timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (kind, id)
);
CREATE INDEX areas_geom_gist ON areas USING gist (geom);

-- A log of imports with their repair reports, for operators.
CREATE TABLE area_imports (
	import_id bigserial PRIMARY KEY,
	kind text NOT NULL,
	source text NOT NULL,
	features integer NOT NULL,
	repaired integer NOT NULL,
	report jsonb NOT NULL,
	imported_at timestamptz NOT NULL DEFAULT now()
);

-- Operator views.
CREATE VIEW stations AS
	SELECT id, name, props->>'district' AS district, props->>'fdc' AS fdc, props->>'rdc' AS rdc,
	       point, geom, area_m2
	FROM areas WHERE kind = 'station';
CREATE VIEW warehouses AS
	SELECT id, kind, name, point, geom AS served_area,
	       ARRAY(SELECT jsonb_array_elements_text(props->'serves')) AS serves_districts
	FROM areas WHERE kind IN ('rdc', 'fdc');
