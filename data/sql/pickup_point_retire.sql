-- pickup_point_retire: DELETE /v1/pickup-points/{id}: the point takes no
-- more parcels (retired_at set; the row stays for the parcels' history).
-- Refused while it holds parcels or orders routed to it are still on their
-- way (pickup_points.used: routed, not cancelled, their parcel not yet
-- collected or expired there, their shipments not all sent back to the
-- warehouse: migration 040). Under the point's row lock, which
-- pickup_arrival takes too (and reads retired_at again under it), so no
-- parcel is scanned in at a point retired meanwhile.
-- Returns {"r":"ok","point":doc} | {"r":"not_found"}
--   | {"r":"holding","held":n,"routed":m} (m: the orders still taking a place).
CREATE OR REPLACE FUNCTION pickup_point_retire(p_id text, p_role text, p_scope text[],
					       p_now timestamptz)
RETURNS jsonb LANGUAGE plpgsql AS $fn$
DECLARE
	p pickup_points;
	v_held int;
BEGIN
	SELECT * INTO p FROM pickup_points WHERE id = p_id FOR UPDATE;
	IF NOT FOUND OR NOT pickup_point_visible(p_id, p_role, p_scope)
	   OR p_role NOT IN ('admin', 'station') THEN
		RETURN jsonb_build_object('r', 'not_found');
	END IF;
	SELECT count(*) INTO v_held FROM pickup_parcels WHERE point_id = p_id AND status = 'held';
	IF v_held > 0 OR p.used > 0 THEN
		RETURN jsonb_build_object('r', 'holding', 'held', v_held, 'routed', p.used);
	END IF;
	UPDATE pickup_points SET retired_at = coalesce(retired_at, p_now), updated_at = p_now
	WHERE id = p_id;
	RETURN jsonb_build_object('r', 'ok', 'point', pickup_point_doc(p_id));
END
$fn$;
