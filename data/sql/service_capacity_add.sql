-- service_capacity_add: add p_delta (+1 take, -1 give back) visits to an
-- engineer's local day p_day and to its window starting p_window_start
-- (service_capacity). The caller holds the row's lock or takes it here;
-- limits are the caller's to check (service_capacity_pick, _move).
CREATE OR REPLACE FUNCTION service_capacity_add(p_engineer text, p_day date,
						p_window_start timestamptz, p_delta integer)
RETURNS void LANGUAGE plpgsql AS $fn$
DECLARE
	k text := to_char(p_window_start AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"');
BEGIN
	INSERT INTO service_capacity AS c (engineer_id, day, visits, windows)
	VALUES (p_engineer, p_day, greatest(p_delta, 0), jsonb_build_object(k, greatest(p_delta, 0)))
	ON CONFLICT (engineer_id, day) DO UPDATE
	   SET visits = greatest(c.visits + p_delta, 0),
	       windows = jsonb_set(c.windows, ARRAY[k],
				   to_jsonb(greatest(coalesce((c.windows->>k)::integer, 0) + p_delta,
						     0)));
END
$fn$;
