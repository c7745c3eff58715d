-- order_doc_events: the order with its timeline, oldest event first; NULL
-- when unknown.
CREATE OR REPLACE FUNCTION order_doc_events(p_id text) RETURNS jsonb LANGUAGE sql STABLE AS $$
	SELECT order_doc(p_id) || jsonb_build_object('events', (
		SELECT coalesce(jsonb_agg(jsonb_build_object(
			'at', to_char(e.at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
			'kind', e.kind, 'shipment', e.shipment_seq, 'detail', e.detail) ORDER BY e.id),
			'[]'::jsonb)
		FROM order_events e WHERE e.order_id = p_id))
$$;
