-- service_capacity_move: the day planner (part P1) moves appointment
-- p_appointment to engineer p_engineer: its unit of capacity moves from
-- the engineer holding it (service_appointments.capacity_engineer) to
-- p_engineer's row of the appointment's day, and engineer_id follows, in
-- the caller's transaction. The window count may go above the window's
-- limit (the plan knows better), the daily capacity never: false then, and
-- nothing changed. False too when the appointment does not hold a unit
-- (cancelled, or not booked/planned) or p_engineer is not an active
-- engineer. Moving to the engineer that holds it already is true (and sets
-- engineer_id). Locks the appointment, then both rows in (engineer) order.
CREATE OR REPLACE FUNCTION service_capacity_move(p_appointment text, p_engineer text)
RETURNS boolean LANGUAGE plpgsql AS $fn$
DECLARE
	a record;
	cap integer;
	n integer;
BEGIN
	SELECT * INTO a FROM service_appointments WHERE id = p_appointment FOR UPDATE;
	IF NOT FOUND OR a.capacity_engineer IS NULL OR a.status NOT IN ('booked', 'planned') THEN
		RETURN false;
	END IF;
	SELECT daily_capacity INTO cap FROM couriers
	 WHERE id = p_engineer AND kind = 'engineer' AND active;
	IF NOT FOUND THEN
		RETURN false;
	END IF;
	IF a.capacity_engineer = p_engineer THEN
		UPDATE service_appointments SET engineer_id = p_engineer WHERE id = a.id
		   AND engineer_id IS DISTINCT FROM p_engineer;
		RETURN true;
	END IF;
	INSERT INTO service_capacity (engineer_id, day)
	SELECT e, a.day FROM unnest(ARRAY[a.capacity_engineer, p_engineer]) e ORDER BY e
	ON CONFLICT DO NOTHING;
	PERFORM 1 FROM service_capacity
	 WHERE engineer_id IN (a.capacity_engineer, p_engineer) AND day = a.day
	 ORDER BY engineer_id FOR UPDATE;
	SELECT visits INTO n FROM service_capacity WHERE engineer_id = p_engineer AND day = a.day;
	IF n + 1 > cap THEN
		RETURN false;
	END IF;
	PERFORM service_capacity_add(a.capacity_engineer, a.day, a.window_start, -1);
	PERFORM service_capacity_add(p_engineer, a.day, a.window_start, 1);
	UPDATE service_appointments
	   SET capacity_engineer = p_engineer, engineer_id = p_engineer, updated_at = now()
	 WHERE id = a.id;
	RETURN true;
END
$fn$;
