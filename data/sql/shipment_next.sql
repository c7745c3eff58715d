-- shipment_next: the shipment lifecycle's transition table, the authority
-- (warehouse/shipment.c holds the same rows so the daemon can name states
-- and refuse unknown events early; test_shipments.py checks both agree).
-- An event is named after the state it moves to. Returns the new state, the
-- same state for a re-scan (idempotent: the caller appends no event), or
-- NULL when the event is illegal from p_from. Cancelling is allowed until
-- the shipment leaves its warehouse; delivered, returned and cancelled are
-- final; a rescheduled shipment goes out for delivery again. One event is
-- not named after its state: collected_at_point (the customer collects the
-- parcel at a pickup point, pickup_collect) delivers it from
-- arrived_at_station (the station's own shelf) or out_for_delivery (a
-- courier handed it to the point); from delivered it is the same state.
CREATE OR REPLACE FUNCTION shipment_next(p_from text, p_event text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
	SELECT CASE WHEN p_from = p_event THEN p_from
		WHEN p_event = 'collected_at_point' THEN
			CASE WHEN p_from IN ('arrived_at_station', 'out_for_delivery', 'delivered')
			     THEN 'delivered' END
		ELSE (
		SELECT t.to_state FROM (VALUES
			('allocated', 'picked'),
			('allocated', 'cancelled'),
			('picked', 'packed'),
			('picked', 'cancelled'),
			('packed', 'departed_warehouse'),
			('packed', 'cancelled'),
			('departed_warehouse', 'arrived_at_station'),
			('arrived_at_station', 'out_for_delivery'),
			('out_for_delivery', 'delivered'),
			('out_for_delivery', 'failed'),
			('failed', 'rescheduled'),
			('failed', 'returning_to_warehouse'),
			('rescheduled', 'out_for_delivery'),
			('returning_to_warehouse', 'returned')) AS t(from_state, to_state)
		 WHERE t.from_state = p_from AND t.to_state = p_event) END
$$;
