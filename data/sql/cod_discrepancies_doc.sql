-- cod_discrepancies_doc: GET /v1/admin/cod-discrepancies?status= (issue 13,
-- part C1): the settlements whose hand-over differed from what was expected,
-- open or resolved (p_status; NULL: both), in the order recorded, at most
-- p_limit:
-- {"discrepancies": [cod_settlement_doc, ...]}.
CREATE OR REPLACE FUNCTION cod_discrepancies_doc(p_status text, p_limit integer)
RETURNS jsonb LANGUAGE sql STABLE AS $fn$
	SELECT jsonb_build_object('discrepancies', coalesce((
		SELECT jsonb_agg(cod_settlement_doc(x.id) ORDER BY x.seq)
		  FROM (SELECT t.id, t.seq FROM cod_settlements t
			 WHERE t.status IN ('open', 'resolved')
			   AND (p_status IS NULL OR t.status = p_status)
			 ORDER BY t.seq LIMIT p_limit) x), '[]'::jsonb))
$fn$;
