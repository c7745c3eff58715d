-- service_day_replan_due: a visit was just booked into (or rescheduled onto)
-- local day p_day of station p_station, in the caller's transaction. When
-- that day's automatic plan is done or under way (service_auto_plans), its
-- claim is reopened: done_at cleared, a new epoch (a plan under way, which
-- may have read the day without the visit, is fenced out) and a claim time
-- long past, so the service scheduler plans the day again with the visit
-- at its next tick. Otherwise the visit stayed booked, never on a route:
-- the engineer's handheld does not show visits not planned. A day without
-- an automatic claim is planned at [services] plan_at anyway. The caller
-- holds the station's feed head (as service_plan_store, which locks this
-- row after it).
CREATE OR REPLACE FUNCTION service_day_replan_due(p_station text, p_day date)
RETURNS void LANGUAGE sql AS $fn$
	UPDATE service_auto_plans
	   SET done_at = NULL, epoch = epoch + 1, claimed_by = NULL,
	       claimed_at = '-infinity'::timestamptz
	 WHERE station_id = p_station AND day = p_day;
$fn$;
