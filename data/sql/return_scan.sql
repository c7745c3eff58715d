-- return_scan: POST /v1/returns/{id}/scans (docs/api.md, "Returns"): the
-- returned parcel on its way back, under the return's row lock.
--   arrived_at_station     picked_up -> at_station (a station of the
--                          return's station, or admin); order event
--                          return.at_station, feed line return.arrived
--   departed_station       at_station -> returning_to_warehouse (station);
--                          order event return.departed_station
--   received_at_warehouse  returning_to_warehouse or at_station -> received
--                          (a warehouse token of the return's warehouse, or
--                          admin); order event return.received (webhook)
-- p_role and p_scope are the caller's (a scoped role outside its scope: not
-- found, as if the return did not exist; a role that may never scan the
-- event: forbidden). Returns {"r":"ok","return":doc} | {"r":"not_found"}
--   | {"r":"forbidden"} | {"r":"illegal","current":status}.
CREATE OR REPLACE FUNCTION return_scan(p_return text, p_event text, p_role text,
				       p_scope text[], p_actor text, p_now timestamptz)
RETURNS jsonb LANGUAGE plpgsql AS $fn$
DECLARE
	r returns;
	v_from text[];
	v_to text;
	v_kind text;
BEGIN
	SELECT * INTO r FROM returns WHERE id = p_return;
	IF NOT FOUND
	   OR p_role = 'station' AND NOT r.station_id = ANY (p_scope)
	   OR p_role = 'warehouse' AND NOT r.warehouse_id = ANY (p_scope) THEN
		RETURN jsonb_build_object('r', 'not_found');
	END IF;
	IF p_role NOT IN ('admin', 'station', 'warehouse')
	   OR p_role = 'station' AND p_event = 'received_at_warehouse'
	   OR p_role = 'warehouse' AND p_event <> 'received_at_warehouse' THEN
		RETURN jsonb_build_object('r', 'forbidden');
	END IF;
	IF p_event = 'arrived_at_station' THEN
		v_from := '{picked_up}'; v_to := 'at_station'; v_kind := 'return.at_station';
		-- the station's feed head before the return row (as everywhere)
		INSERT INTO station_feed_heads AS h (station_id, seq) VALUES (r.station_id, 0)
		ON CONFLICT (station_id) DO UPDATE SET seq = h.seq;
	ELSIF p_event = 'departed_station' THEN
		v_from := '{at_station}'; v_to := 'returning_to_warehouse';
		v_kind := 'return.departed_station';
	ELSE
		v_from := '{at_station,returning_to_warehouse}'; v_to := 'received';
		v_kind := 'return.received';
	END IF;
	SELECT * INTO r FROM returns WHERE id = p_return FOR UPDATE;
	IF NOT r.status = ANY (v_from) THEN
		RETURN jsonb_build_object('r', 'illegal', 'current', r.status);
	END IF;
	UPDATE returns SET status = v_to, updated_at = p_now,
		received_at = CASE WHEN v_to = 'received' THEN p_now ELSE received_at END
	 WHERE id = p_return;
	INSERT INTO order_events (order_id, kind, at, detail)
	VALUES (r.order_id, v_kind, p_now, jsonb_build_object('return', p_return, 'by', p_actor)
		|| CASE WHEN v_to = 'received' THEN jsonb_build_object('warehouse', r.warehouse_id)
			ELSE jsonb_build_object('station', r.station_id) END);
	IF v_to = 'at_station' THEN
		PERFORM station_feed_add(r.station_id, 'return.arrived',
					 jsonb_build_object('return', p_return, 'order', r.order_id));
	END IF;
	RETURN jsonb_build_object('r', 'ok', 'return', return_doc(p_return, false));
END
$fn$;
