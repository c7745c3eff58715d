-- webhook_report: the outcome of one attempt of a claimed delivery, by the
-- sender holding lease p_lease (a lapsed lease, retaken by another sender,
-- changes nothing: NULL is returned). A 2xx (p_ok) makes it delivered;
-- otherwise the attempt is counted and the delivery is due again after
-- p_delay_s (the sender's backoff with jitter), unless that falls beyond
-- p_window_s after the delivery was created: then it is dead. Returns the
-- new status.
CREATE OR REPLACE FUNCTION webhook_report(p_id bigint, p_lease uuid, p_ok boolean,
					  p_status integer, p_error text, p_now timestamptz,
					  p_delay_s double precision, p_window_s integer)
RETURNS text LANGUAGE sql AS $fn$
	UPDATE webhook_outbox
	   SET attempts = attempts + 1,
	       last_status = p_status,
	       last_error = CASE WHEN p_ok THEN NULL ELSE left(p_error, 300) END,
	       last_at = p_now,
	       lease = NULL,
	       status = CASE WHEN p_ok THEN 'delivered'
			     WHEN p_now + make_interval(secs => p_delay_s)
				  > created_at + make_interval(secs => p_window_s) THEN 'dead'
			     ELSE 'pending' END,
	       delivered_at = CASE WHEN p_ok THEN p_now END,
	       next_at = CASE WHEN p_ok THEN next_at
			      ELSE p_now + make_interval(secs => p_delay_s) END
	 WHERE id = p_id AND lease = p_lease AND status = 'pending'
	RETURNING status
$fn$;
