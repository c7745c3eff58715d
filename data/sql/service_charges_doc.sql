-- service_charges_doc: the applied charges of a service visit as the API
-- shows them (GET /v1/services/{id}, the tracking page's services): money as
-- decimal strings (money_text) beside the fen. NULL for NULL (no charges
-- yet: the visit is not completed).
--   p_charges   service_appointments.charges: {"items": [{"code", "unit",
--               "qty", "unit_price_fen", "amount_fen"}], "base_fee_fen",
--               "base_fee_waived", "total_fen"}
--   p_currency  the price list's currency
--   p_public    true: the public view (no fen members)
CREATE OR REPLACE FUNCTION service_charges_doc(p_charges jsonb, p_currency text,
					       p_public boolean DEFAULT false)
RETURNS jsonb LANGUAGE plpgsql IMMUTABLE AS $fn$
BEGIN
	IF p_charges IS NULL THEN
		RETURN NULL;
	END IF;
	RETURN jsonb_build_object(
		'items', (SELECT coalesce(jsonb_agg(jsonb_build_object(
				'code', i->>'code', 'unit', i->>'unit', 'qty', (i->>'qty')::integer,
				'unit_price', money_text((i->>'unit_price_fen')::bigint),
				'amount', money_text((i->>'amount_fen')::bigint))
				|| CASE WHEN p_public THEN '{}'::jsonb ELSE jsonb_build_object(
					'unit_price_fen', (i->>'unit_price_fen')::bigint,
					'amount_fen', (i->>'amount_fen')::bigint) END
				ORDER BY n), '[]'::jsonb)
			    FROM jsonb_array_elements(p_charges->'items') WITH ORDINALITY AS x (i, n)),
		'base_fee', money_text((p_charges->>'base_fee_fen')::bigint),
		'base_fee_waived', coalesce((p_charges->>'base_fee_waived')::boolean, false),
		'total', money_text((p_charges->>'total_fen')::bigint),
		'currency', p_currency)
	       || CASE WHEN p_public THEN '{}'::jsonb ELSE jsonb_build_object(
		'base_fee_fen', (p_charges->>'base_fee_fen')::bigint,
		'total_fen', (p_charges->>'total_fen')::bigint) END;
END
$fn$;
