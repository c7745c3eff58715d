-- service_windows: the appointment windows of the local days p_from..p_to
-- in the zone p_tz, in time order. p_windows is [services] windows as the
-- daemon sends it: [{"start_s", "end_s", "count", "weekdays"}] (seconds
-- from local midnight; count = visits one engineer takes in the window;
-- weekdays bit 0 = Monday .. bit 6 = Sunday, 0 = every day).
CREATE OR REPLACE FUNCTION service_windows(p_windows jsonb, p_tz text, p_from date, p_to date)
RETURNS TABLE (day date, window_start timestamptz, window_end timestamptz, per_engineer integer)
LANGUAGE sql STABLE AS $fn$
	SELECT d::date,
	       (d::date + make_interval(secs => (w->>'start_s')::integer)) AT TIME ZONE p_tz,
	       (d::date + make_interval(secs => (w->>'end_s')::integer)) AT TIME ZONE p_tz,
	       (w->>'count')::integer
	  FROM generate_series(p_from::timestamp, p_to::timestamp, interval '1 day') AS d,
	       jsonb_array_elements(coalesce(p_windows, '[]'::jsonb)) AS w
	 WHERE coalesce((w->>'weekdays')::integer, 0) = 0
	    OR ((w->>'weekdays')::integer >> (extract(isodow FROM d)::integer - 1)) & 1 = 1
	 ORDER BY 2, 3
$fn$;
