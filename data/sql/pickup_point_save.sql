-- pickup_point_save: POST /v1/pickup-points (p_id NULL: create from
-- p_body.id) and PATCH /v1/pickup-points/{id} (the members of p_body
-- replace the record's). p_body is checked by the API
-- (daemon/api/pickup_points.c): id, station, name, address, lon, lat,
-- opening_hours, kind, capacity, compartments (a locker's capacity is the
-- sum of its compartments). A station caller creates and changes only the
-- points of its stations and may not move one to another station.
-- Returns {"r":"created"|"ok","point":doc} | {"r":"not_found"}
--   | {"r":"exists"} | {"r":"no_station"} | {"r":"below_held","held":n}
--   | {"r":"invalid","field":f,"message":m} (compartments of a point; capacity
--   of a locker without compartments).
CREATE OR REPLACE FUNCTION pickup_point_save(p_id text, p_body jsonb, p_role text,
					     p_scope text[], p_now timestamptz)
RETURNS jsonb LANGUAGE plpgsql AS $fn$
DECLARE
	p pickup_points;
	v_station text;
	v_kind text;
	v_held int;
	v_by_size jsonb;
BEGIN
	v_station := p_body->>'station';
	IF v_station IS NOT NULL AND (p_role = 'station' AND NOT v_station = ANY (p_scope)
	   OR p_role NOT IN ('admin', 'station')) THEN
		RETURN jsonb_build_object('r', 'not_found');
	END IF;
	IF v_station IS NOT NULL AND NOT EXISTS (SELECT 1 FROM stations WHERE id = v_station) THEN
		RETURN jsonb_build_object('r', 'no_station');
	END IF;
	IF p_id IS NULL THEN
		INSERT INTO pickup_points (id, station_id, name, address, lon, lat, opening_hours,
					   kind, capacity, compartments, created_at, updated_at)
		VALUES (p_body->>'id', v_station, p_body->>'name', coalesce(p_body->>'address', ''),
			(p_body->>'lon')::float8, (p_body->>'lat')::float8,
			coalesce(p_body->>'opening_hours', ''), coalesce(p_body->>'kind', 'point'),
			(p_body->>'capacity')::int, p_body->'compartments', p_now, p_now)
		ON CONFLICT (id) DO NOTHING;
		IF NOT FOUND THEN
			RETURN jsonb_build_object('r', 'exists');
		END IF;
		RETURN jsonb_build_object('r', 'created', 'point', pickup_point_doc(p_body->>'id'));
	END IF;
	-- the point's row lock: arrivals count its parcels under it
	SELECT * INTO p FROM pickup_points WHERE id = p_id FOR UPDATE;
	IF NOT FOUND OR NOT pickup_point_visible(p_id, p_role, p_scope)
	   OR p_role NOT IN ('admin', 'station') THEN
		RETURN jsonb_build_object('r', 'not_found');
	END IF;
	v_kind := coalesce(p_body->>'kind', p.kind);
	SELECT count(*), jsonb_build_object('S', count(*) FILTER (WHERE size = 'S'),
					    'M', count(*) FILTER (WHERE size = 'M'),
					    'L', count(*) FILTER (WHERE size = 'L'))
	  INTO v_held, v_by_size
	  FROM pickup_parcels WHERE point_id = p_id AND status = 'held';
	IF v_kind = 'point' AND p_body ? 'compartments' THEN
		RETURN jsonb_build_object('r', 'invalid', 'field', 'compartments',
					  'message', 'only a locker has compartments');
	ELSIF v_kind = 'locker' AND p.kind = 'point' AND NOT p_body ? 'compartments' THEN
		RETURN jsonb_build_object('r', 'invalid', 'field', 'compartments',
					  'message', 'a locker needs its compartments');
	ELSIF v_kind = 'locker' AND p_body ? 'capacity' AND NOT p_body ? 'compartments' THEN
		-- the API sends capacity with compartments (their sum) only
		RETURN jsonb_build_object('r', 'invalid', 'field', 'capacity',
					  'message', 'a locker''s capacity is the sum of its '
						     || 'compartments: change compartments');
	END IF;
	IF v_held > 0 AND v_kind <> p.kind THEN
		RETURN jsonb_build_object('r', 'below_held', 'held', v_held);
	END IF;
	IF coalesce((p_body->>'capacity')::int, p.capacity) < v_held
	   OR v_kind = 'locker' AND p_body ? 'compartments' AND EXISTS (
		SELECT 1 FROM jsonb_each_text(v_by_size) s
		WHERE s.value::int > coalesce((p_body->'compartments'->>s.key)::int, 0)) THEN
		RETURN jsonb_build_object('r', 'below_held', 'held', v_held);
	END IF;
	UPDATE pickup_points SET
		station_id = coalesce(v_station, station_id),
		name = coalesce(p_body->>'name', name),
		address = coalesce(p_body->>'address', address),
		lon = coalesce((p_body->>'lon')::float8, lon),
		lat = coalesce((p_body->>'lat')::float8, lat),
		opening_hours = coalesce(p_body->>'opening_hours', opening_hours),
		kind = v_kind,
		capacity = coalesce((p_body->>'capacity')::int, capacity),
		compartments = CASE WHEN v_kind = 'point' THEN NULL
				    ELSE coalesce(p_body->'compartments', compartments) END,
		updated_at = p_now
	WHERE id = p_id;
	RETURN jsonb_build_object('r', 'ok', 'point', pickup_point_doc(p_id));
END
$fn$;
