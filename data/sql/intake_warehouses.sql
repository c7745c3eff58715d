-- intake_warehouses (view): every warehouse with its chain to the stations
-- (warehouse_chains, or the defaults of its kind): the daemon's stock hints
-- cache loads this.
CREATE OR REPLACE VIEW intake_warehouses AS
	SELECT w.id, w.kind,
	       coalesce(c.handling_s, CASE w.kind WHEN 'rdc' THEN 5400 ELSE 1800 END) AS handling_s,
	       coalesce(c.pick_open_s, 0) AS pick_open_s,
	       coalesce(c.pick_cutoff_s, 86400) AS pick_cutoff_s,
	       coalesce(c.departures_s, CASE w.kind
			WHEN 'rdc' THEN '{18000,28800,39600,46800,54000,61200,72000}'::integer[]
			ELSE ARRAY(SELECT g * 3600 FROM generate_series(6, 22) AS g) END) AS departures_s,
	       coalesce(c.linehaul_s, CASE w.kind WHEN 'rdc' THEN 5400 ELSE 2700 END) AS linehaul_s
	FROM warehouses w LEFT JOIN warehouse_chains c ON c.warehouse_id = w.id;
