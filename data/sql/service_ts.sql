-- service_ts: an instant as RFC 3339 local text in zone p_tz (the region's,
-- [promise] timezone), e.g. "2030-01-09T09:00:00+08:00" (route_ts at the
-- zone's offset at that instant). NULL for NULL.
CREATE OR REPLACE FUNCTION service_ts(p_at timestamptz, p_tz text)
RETURNS text LANGUAGE sql STABLE AS $$
	SELECT route_ts(p_at, extract(epoch FROM (p_at AT TIME ZONE p_tz)
					  - (p_at AT TIME ZONE 'UTC'))::integer)
$$;
