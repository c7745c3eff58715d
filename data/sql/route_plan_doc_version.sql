-- route_plan_doc_version: version p_version (NULL: the current one, the
-- highest) of the plan of a station and wave as the API document, or NULL.
-- Routes name their courier (courier_id and name; NULL for plans made
-- before couriers were records) and their stops carry stop ids. Issue 13:
-- a stop of an order placed with a payment has "payment"
-- (cod_payment_doc), and a route with cash-on-delivery stops "cod" {stops,
-- amount, amount_fen}: what its courier is to collect.
CREATE OR REPLACE FUNCTION route_plan_doc_version(p_station text, p_wave text,
						  p_version integer)
RETURNS jsonb LANGUAGE sql STABLE AS $$
	SELECT jsonb_build_object(
		'station', p.station_id, 'wave', p.wave_key, 'plan_id', p.plan_id,
		'version', p.version, 'reason', p.reason,
		'planned_at', route_ts(p.created_at, p.utc_offset_s), 'params', p.params,
		'routes', coalesce((
			SELECT jsonb_agg(jsonb_build_object(
				'courier', r.courier, 'courier_id', r.courier_id,
				'courier_name', c.name, 'distance_m', r.distance_m,
				'duration_s', r.duration_s,
				'depart', route_ts(r.depart_at, p.utc_offset_s),
				'return', route_ts(r.return_at, p.utc_offset_s),
				'stops', coalesce((
					SELECT jsonb_agg(CASE WHEN o.payment_method IS NULL THEN e.v
							 ELSE e.v || jsonb_build_object('payment',
								cod_payment_doc(o.id, false)) END
							 ORDER BY e.n)
					  FROM jsonb_array_elements(r.stops)
					       WITH ORDINALITY AS e(v, n)
					  LEFT JOIN orders o ON o.id = e.v->>'order_id'), r.stops))
				|| coalesce((
					SELECT jsonb_build_object('cod', jsonb_build_object(
						'stops', count(*),
						'amount', money_text(sum(o.cod_amount_fen)::bigint),
						'amount_fen', sum(o.cod_amount_fen)::bigint))
					  FROM jsonb_array_elements(r.stops) AS e(v)
					  JOIN orders o ON o.id = e.v->>'order_id'
					 WHERE o.payment_method = 'cod'
					HAVING count(*) > 0), '{}'::jsonb)
				ORDER BY r.courier)
			FROM routes r LEFT JOIN couriers c ON c.id = r.courier_id
			WHERE r.plan_id = p.plan_id), '[]'::jsonb),
		'unassigned', p.unassigned, 'changes', p.changes, 'geojson', p.geojson)
	FROM route_plans p
	WHERE p.station_id = p_station AND p.wave_key = p_wave
	  AND (p.version = p_version OR p_version IS NULL)
	ORDER BY p.version DESC LIMIT 1
$$;
