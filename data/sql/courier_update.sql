-- courier_update: change a station's courier (or engineer: p_kind). p_fields
-- holds the validated members to change (daemon/api/courier_body.c): name,
-- phone, vehicle, skills, active (an engineer's also provider, null clears
-- it, and daily_capacity); the others keep their values. DELETE is {"active": false}:
-- the record stays, so stops, trails and tokens keep naming it.
-- Deactivating an active courier also marks it off duty at p_now
-- (courier_duty_set, reason 'deactivated', by p_actor, p_tz the region's
-- zone): the station's feed says so and today's waves where it has planned
-- stops are due for a replan without it.
-- Returns {"r": "ok", "courier": courier_doc}, {"r": "not_found"} (no such
-- courier at this station) or {"r": "invalid", "field": "vehicle"}.
CREATE OR REPLACE FUNCTION courier_update(p_station text, p_courier text, p_fields jsonb,
					  p_now timestamptz, p_actor text, p_tz text,
					  p_kind text DEFAULT NULL)
RETURNS jsonb LANGUAGE plpgsql AS $fn$
DECLARE
	v_was boolean;
BEGIN
	SELECT active INTO v_was FROM couriers
	 WHERE id = p_courier AND station_id = p_station AND (p_kind IS NULL OR kind = p_kind)
	   FOR NO KEY UPDATE; -- lets foreign keys' KEY SHARE pass: bookings hold the head
	IF NOT FOUND THEN
		RETURN jsonb_build_object('r', 'not_found');
	END IF;
	IF p_fields ? 'vehicle' AND NOT EXISTS (SELECT 1 FROM vehicle_profiles
						 WHERE name = p_fields->>'vehicle') THEN
		RETURN jsonb_build_object('r', 'invalid', 'field', 'vehicle');
	END IF;
	UPDATE couriers SET
		name = coalesce(p_fields->>'name', name),
		phone = coalesce(p_fields->>'phone', phone),
		vehicle = coalesce(p_fields->>'vehicle', vehicle),
		skills = CASE WHEN p_fields ? 'skills'
			 THEN ARRAY(SELECT jsonb_array_elements_text(p_fields->'skills'))
			 ELSE skills END,
		active = coalesce((p_fields->>'active')::boolean, active),
		provider = CASE WHEN p_fields ? 'provider' THEN p_fields->>'provider'
			   ELSE provider END,
		daily_capacity = coalesce((p_fields->>'daily_capacity')::integer, daily_capacity),
		updated_at = now()
	 WHERE id = p_courier;
	IF v_was AND NOT coalesce((p_fields->>'active')::boolean, true) THEN
		PERFORM courier_duty_set(p_station, p_courier, false, 'deactivated', p_actor, p_now,
					 p_tz, p_kind);
	END IF;
	RETURN jsonb_build_object('r', 'ok', 'courier',
				  courier_doc(p_station, p_courier, p_now, p_kind));
END
$fn$;
