-- stations (view): the station areas with their district and serving
-- warehouses, for operators.
CREATE OR REPLACE VIEW stations AS
	SELECT id, name, props->>'district' AS district, props->>'fdc' AS fdc, props->>'rdc' AS rdc,
	       point, geom, area_m2
	FROM areas WHERE kind = 'station';
