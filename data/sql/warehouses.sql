-- warehouses (view): the regional (rdc) and front (fdc) warehouse areas with
-- the districts each serves; warehouse ids are checked against it.
CREATE OR REPLACE VIEW warehouses AS
	SELECT id, kind, name, point, geom AS served_area,
	       ARRAY(SELECT jsonb_array_elements_text(props->'serves')) AS serves_districts
	FROM areas WHERE kind IN ('rdc', 'fdc');
