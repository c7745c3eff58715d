-- intake_release: give back reservations: x is [{"w","sku","qty"}...]; the
-- rows must be locked by the caller's transaction already (or be lockable in
-- order).
CREATE OR REPLACE FUNCTION intake_release(x jsonb) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
	r record;
BEGIN
	FOR r IN SELECT * FROM jsonb_to_recordset(x) AS l(w text, sku text, qty integer) LOOP
		UPDATE stock SET available = available + r.qty, reserved = reserved - r.qty
		 WHERE warehouse_id = r.w AND sku = r.sku;
	END LOOP;
END $$;
