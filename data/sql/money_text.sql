-- money_text: an amount of integer fen as the API's decimal text in CNY
-- (12900 -> '129.00', 5 -> '0.05', -150 -> '-1.50'), the SQL twin of
-- cfg_money_format (config/services.c). No float on the way. NULL -> NULL.
CREATE OR REPLACE FUNCTION money_text(fen bigint)
RETURNS text LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
	SELECT CASE WHEN fen < 0 THEN '-' ELSE '' END
	       || (abs(fen) / 100)::text || '.' || lpad((abs(fen) % 100)::text, 2, '0')
$$;
