-- service_engineers: the engineers who could take a visit of p_category in
-- [p_start, p_end) on local day p_day: the active engineers of p_station
-- with the category in their skills, on shift over the whole window
-- (couriers_on_shift, kind engineer), with the visits their day and this
-- window hold (service_capacity). p_except names an appointment whose own
-- unit does not count (a reschedule frees it in the same transaction).
-- Callers keep those with day_visits < daily_capacity and window_visits <
-- the window's count, under the rows' locks (service_book).
CREATE OR REPLACE FUNCTION service_engineers(p_station text, p_category text,
					     p_start timestamptz, p_end timestamptz, p_day date,
					     p_except text DEFAULT NULL)
RETURNS TABLE (engineer_id text, name text, daily_capacity integer, day_visits integer,
	       window_visits integer)
LANGUAGE plpgsql STABLE AS $fn$
DECLARE
	k text := to_char(p_start AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"');
	x record;
BEGIN
	SELECT a.capacity_engineer, a.day, a.window_start INTO x
	  FROM service_appointments a WHERE a.id = p_except;
	RETURN QUERY
	SELECT e.courier_id, e.name, e.daily_capacity,
	       coalesce(c.visits, 0)
		 - CASE WHEN x.capacity_engineer = e.courier_id AND x.day = p_day THEN 1 ELSE 0 END,
	       coalesce((c.windows->>k)::integer, 0)
		 - CASE WHEN x.capacity_engineer = e.courier_id AND x.window_start = p_start
			THEN 1 ELSE 0 END
	  FROM couriers_on_shift(p_station, p_start, p_end, 'engineer') e
	  LEFT JOIN service_capacity c ON c.engineer_id = e.courier_id AND c.day = p_day
	 WHERE p_category = ANY (e.skills) AND e.shift_start <= p_start AND e.shift_end >= p_end
	 ORDER BY e.courier_id;
END
$fn$;
