-- station_feed_read: one page of a station's feed after a cursor, for GET
-- /v1/stations/{id}/feed (api/feed.c). One statement, so the head and the
-- page come from one snapshot; station_feed_add commits a station's changes
-- in the order of their numbers, so the page never has a gap.
--   p_station   the station
--   p_cursor    the last number the reader has (0: from the start)
--   p_limit     the page's size (1..500)
-- Returns one row:
--   head   the station's last number (0 when it has no feed yet); a cursor
--          beyond it names a change this feed never had (a restored database)
--   n      how many changes the page holds
--   doc    {"station","changes":[{seq,kind,at,data}...],"next_cursor","more"}
--          next_cursor: the page's last number, or p_cursor when it is empty;
--          more: changes after the page exist already
CREATE OR REPLACE FUNCTION station_feed_read(p_station text, p_cursor bigint, p_limit integer)
RETURNS TABLE (head bigint, n integer, doc jsonb) LANGUAGE sql STABLE AS $fn$
	WITH h AS (
		SELECT coalesce((SELECT seq FROM station_feed_heads WHERE station_id = p_station),
				0) AS h_seq
	), c AS (
		SELECT f.seq, f.kind, f.at, f.data FROM station_feed f
		 WHERE f.station_id = p_station AND f.seq > p_cursor
		 ORDER BY f.seq LIMIT p_limit + 1
	), page AS (
		SELECT * FROM c ORDER BY seq LIMIT p_limit
	)
	SELECT h.h_seq,
	       (SELECT count(*)::integer FROM page),
	       jsonb_build_object(
		'station', p_station,
		'changes', coalesce((SELECT jsonb_agg(jsonb_build_object(
				'seq', page.seq, 'kind', page.kind,
				'at', to_char(page.at AT TIME ZONE 'UTC',
					      'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
				'data', page.data) ORDER BY page.seq) FROM page), '[]'::jsonb),
		'next_cursor', coalesce((SELECT max(page.seq) FROM page), p_cursor),
		'more', (SELECT count(*) FROM c) > p_limit)
	  FROM h
$fn$;
