-- cod_payment_doc: the "payment" member of an order's documents (issue 13,
-- part C1): GET /v1/orders/{id} (order_doc), the tracking page
-- (order_tracking_doc), the courier's route (courier_route_doc) and the
-- station's routes. NULL when the order was placed without a payment.
--   {"method": "cod" | "prepaid", "amount": "1299.00", "amount_fen": 129900,
--    "currency": "CNY", "collected": null | {"method", "amount",
--    "amount_fen", "at", "reference"?, "short_reason"?}}
-- amount (cod only) is what to collect at the door. The public view
-- (p_public) never shows a payment reference or a short reason.
CREATE OR REPLACE FUNCTION cod_payment_doc(p_order text, p_public boolean)
RETURNS jsonb LANGUAGE sql STABLE AS $fn$
	SELECT CASE WHEN o.payment_method IS NULL THEN NULL
		    ELSE jsonb_strip_nulls(jsonb_build_object(
			'method', o.payment_method,
			'amount', money_text(o.cod_amount_fen),
			'amount_fen', o.cod_amount_fen,
			'currency', 'CNY'))
			 || jsonb_build_object('collected', (
				SELECT jsonb_build_object('method', l.method,
					'amount', money_text(l.amount_fen),
					'amount_fen', l.amount_fen,
					'at', to_char(l.at AT TIME ZONE 'UTC',
						      'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'))
				       || CASE WHEN p_public THEN '{}'::jsonb
					       ELSE jsonb_strip_nulls(jsonb_build_object(
						'reference', l.reference,
						'short_reason', l.short_reason)) END
				  FROM cod_ledger l
				 WHERE l.order_id = o.id AND l.kind = 'collection'
				 ORDER BY l.id DESC LIMIT 1)) END
	  FROM orders o WHERE o.id = p_order
$fn$;
