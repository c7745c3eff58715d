-- service_local_text: an instant as RFC 3339 in the zone p_tz with its
-- offset ("2030-01-09T09:00:00+08:00"): how appointment windows are shown.
CREATE OR REPLACE FUNCTION service_local_text(p_at timestamptz, p_tz text)
RETURNS text LANGUAGE sql STABLE AS $fn$
	SELECT to_char(p_at AT TIME ZONE p_tz, 'YYYY-MM-DD"T"HH24:MI:SS')
	       || CASE WHEN x.s < 0 THEN '-' ELSE '+' END
	       || lpad((abs(x.s) / 3600)::text, 2, '0') || ':'
	       || lpad((abs(x.s) % 3600 / 60)::text, 2, '0')
	  FROM (SELECT extract(epoch FROM (p_at AT TIME ZONE p_tz)
					  - (p_at AT TIME ZONE 'UTC'))::integer AS s) x
$fn$;
