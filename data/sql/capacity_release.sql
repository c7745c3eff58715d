-- capacity_release: give one booked place of a station capacity counter
-- (capacity_counters, migration 010) back, on cancellation; never below 0.
CREATE OR REPLACE FUNCTION capacity_release(p_station text, p_key text)
RETURNS void LANGUAGE sql AS $$
	UPDATE capacity_counters SET booked = booked - 1
	WHERE station_id = p_station AND counter_key = p_key AND booked > 0
$$;
