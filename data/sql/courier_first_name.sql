-- courier_first_name: what a customer is told of a courier's name (the
-- tracking views, order_tracking_doc): the first whitespace-separated word;
-- for a name in CJK characters, its first character only ("王小明" -> "王",
-- "Wang Xiaoming" -> "Wang"). NULL for NULL or a blank name.
CREATE OR REPLACE FUNCTION courier_first_name(p_name text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
	SELECT CASE WHEN w ~ '^[\u3400-\u9fff\uf900-\ufaff\U00020000-\U0002fa1f]' THEN left(w, 1)
		    ELSE w END
	  FROM (SELECT (regexp_match(p_name, '\S+'))[1] AS w) AS x
$$;
