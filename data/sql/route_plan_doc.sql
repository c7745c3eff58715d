-- route_plan_doc: the current version (the highest) of the plan of a station
-- and wave as the API document (route_plan_doc_version), or NULL.
CREATE OR REPLACE FUNCTION route_plan_doc(p_station text, p_wave text)
RETURNS jsonb LANGUAGE plpgsql STABLE AS $$
BEGIN
	RETURN route_plan_doc_version(p_station, p_wave, NULL);
END
$$;
