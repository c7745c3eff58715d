-- route_ts: an instant as RFC 3339 local text at a fixed offset
-- ("2026-11-23T09:00:00+08:00").
CREATE OR REPLACE FUNCTION route_ts(p_at timestamptz, p_offset_s integer)
RETURNS text LANGUAGE sql IMMUTABLE AS $$
	SELECT to_char((p_at AT TIME ZONE 'UTC') + make_interval(secs => p_offset_s),
		       'YYYY-MM-DD"T"HH24:MI:SS')
	       || CASE WHEN p_offset_s < 0 THEN '-' ELSE '+' END
	       || to_char(abs(p_offset_s) / 3600, 'FM00') || ':'
	       || to_char(abs(p_offset_s) % 3600 / 60, 'FM00')
$$;
