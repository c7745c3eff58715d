-- courier_create: add a courier (p_kind 'courier', or NULL) or an engineer
-- (p_kind 'engineer', issue 12) to a station. p_fields holds the validated body
-- (daemon/api/courier_body.c): id, name, phone, vehicle, skills, and for an
-- engineer daily_capacity and provider (optional).
-- Returns {"r": "ok", "courier": courier_doc}, {"r": "exists"} when the id
-- is taken (by any station: ids are global, as courier tokens name them),
-- or {"r": "invalid", "field": "vehicle"} for a vehicle with no profile.
CREATE OR REPLACE FUNCTION courier_create(p_station text, p_fields jsonb, p_now timestamptz,
					  p_kind text DEFAULT NULL)
RETURNS jsonb LANGUAGE plpgsql AS $fn$
DECLARE
	v_id text;
BEGIN
	IF NOT EXISTS (SELECT 1 FROM vehicle_profiles WHERE name = p_fields->>'vehicle') THEN
		RETURN jsonb_build_object('r', 'invalid', 'field', 'vehicle');
	END IF;
	INSERT INTO couriers (id, station_id, name, phone, vehicle, skills, kind, provider,
			      daily_capacity)
	VALUES (p_fields->>'id', p_station, p_fields->>'name', p_fields->>'phone',
		p_fields->>'vehicle',
		ARRAY(SELECT jsonb_array_elements_text(coalesce(p_fields->'skills', '[]'))),
		coalesce(p_kind, 'courier'), p_fields->>'provider',
		(p_fields->>'daily_capacity')::integer)
	ON CONFLICT (id) DO NOTHING
	RETURNING id INTO v_id;
	IF v_id IS NULL THEN
		RETURN jsonb_build_object('r', 'exists');
	END IF;
	RETURN jsonb_build_object('r', 'ok', 'courier', courier_doc(p_station, v_id, p_now));
END
$fn$;
