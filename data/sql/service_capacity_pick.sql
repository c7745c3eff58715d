-- service_capacity_pick: choose the engineer for a visit of p_category in
-- the window [p_start, p_end) of local day p_day (p_per visits per engineer
-- in the window) and lock the engineer-day rows it decided on, in the
-- caller's transaction. Candidates are service_engineers's; their
-- service_capacity rows are created if missing and all locked in one
-- statement in (engineer, day) order (with the row p_also_engineer,
-- p_also_day when given: the one a reschedule gives its unit back to), so
-- two bookings never deadlock and the last unit goes to exactly one. Then,
-- with the counts read after the locks: the engineer with the fewest
-- visits that day, then in the window, then by id, among those below both
-- limits. p_except: an appointment whose unit does not count. Answers
-- {"r": "ok", "engineer", "name"}, {"r": "not_offered"} (no engineer with
-- the skill on shift over the window) or {"r": "exhausted"}. Takes nothing:
-- the caller calls service_capacity_add.
CREATE OR REPLACE FUNCTION service_capacity_pick(p_station text, p_category text,
						 p_start timestamptz, p_end timestamptz,
						 p_day date, p_per integer, p_except text DEFAULT NULL,
						 p_also_engineer text DEFAULT NULL,
						 p_also_day date DEFAULT NULL)
RETURNS jsonb LANGUAGE plpgsql AS $fn$
DECLARE
	ids text[];
	e record;
BEGIN
	SELECT array_agg(s.engineer_id ORDER BY s.engineer_id) INTO ids
	  FROM service_engineers(p_station, p_category, p_start, p_end, p_day, p_except) s;
	IF ids IS NULL THEN
		RETURN jsonb_build_object('r', 'not_offered');
	END IF;
	INSERT INTO service_capacity (engineer_id, day)
	SELECT k.e, k.d FROM (SELECT unnest(ids) AS e, p_day AS d
			      UNION SELECT p_also_engineer, p_also_day
			       WHERE p_also_engineer IS NOT NULL) k
	 ORDER BY k.e, k.d
	ON CONFLICT DO NOTHING;
	PERFORM 1 FROM service_capacity c
	 WHERE (c.engineer_id = ANY (ids) AND c.day = p_day)
	    OR (c.engineer_id = p_also_engineer AND c.day = p_also_day)
	 ORDER BY c.engineer_id, c.day
	   FOR UPDATE;
	-- A new statement: it sees what the bookings we waited for committed.
	SELECT s.engineer_id, s.name INTO e
	  FROM service_engineers(p_station, p_category, p_start, p_end, p_day, p_except) s
	 WHERE s.engineer_id = ANY (ids)
	   AND s.day_visits < s.daily_capacity AND s.window_visits < p_per
	 ORDER BY s.day_visits, s.window_visits, s.engineer_id
	 LIMIT 1;
	IF NOT FOUND THEN
		RETURN jsonb_build_object('r', 'exhausted');
	END IF;
	RETURN jsonb_build_object('r', 'ok', 'engineer', e.engineer_id, 'name', e.name);
END
$fn$;
