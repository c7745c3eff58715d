-- webhook_claim: a sender (svc/webhook_sender.c) takes up to p_limit due
-- deliveries: pending, next_at <= p_now (the daemon's clock). Each row gets
-- a new lease and next_at = p_now + p_lease_s, so no other sender takes it
-- while this one sends; if this one dies, the row is due again when the
-- lease lapses (at least once). FOR UPDATE SKIP LOCKED lets several daemons
-- claim at once without waiting on each other or taking the same row.
CREATE OR REPLACE FUNCTION webhook_claim(p_now timestamptz, p_limit integer, p_lease_s integer)
RETURNS TABLE (id bigint, lease uuid, url text, secret text, event text, body text,
	       attempts integer)
LANGUAGE sql AS $fn$
	WITH due AS (
		SELECT d.id FROM webhook_outbox d
		 WHERE d.status = 'pending' AND d.next_at <= p_now
		 ORDER BY d.next_at, d.id
		 LIMIT p_limit
		 FOR UPDATE SKIP LOCKED)
	UPDATE webhook_outbox o
	   SET lease = gen_random_uuid(), next_at = p_now + make_interval(secs => p_lease_s)
	  FROM due, webhooks w
	 WHERE o.id = due.id AND w.id = o.webhook_id
	RETURNING o.id, o.lease, w.url, w.secret, o.event, o.body, o.attempts
$fn$;
