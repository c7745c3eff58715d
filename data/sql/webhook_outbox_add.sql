-- webhook_outbox_add: the AFTER INSERT trigger function of order_events
-- (trigger order_events_webhooks, migration 026, fired only for the kinds
-- out_for_delivery, eta_changed, delivered, failed and rescheduled, and
-- the kinds service.*, return.* and payment.*). It writes one
-- webhook_outbox row per subscription of the order's client
-- (orders.client_id = webhooks.owner) that wants the event: a kind with a
-- dot is its own event name, another is "shipment.<kind>". In the event's
-- own transaction: the event and its
-- deliveries commit or vanish together. The body is fixed here, so a
-- delivery sent a day later still says what was true at the event
-- (docs/api.md, "Webhooks"). Its created_at and first due time are the
-- event's time, the daemon's clock, which the sender's due times and retry
-- window are reckoned in too (not PostgreSQL's now()).
CREATE OR REPLACE FUNCTION webhook_outbox_add() RETURNS trigger LANGUAGE plpgsql AS $fn$
DECLARE
	v_event text := CASE WHEN strpos(NEW.kind, '.') > 0 THEN NEW.kind
			     ELSE 'shipment.' || NEW.kind END;
BEGIN
	INSERT INTO webhook_outbox (webhook_id, event_id, event, body, created_at, next_at)
	SELECT w.id, NEW.id, v_event,
	       jsonb_build_object(
		       'id', NEW.id,
		       'type', v_event,
		       'created_at', to_char(NEW.at AT TIME ZONE 'UTC',
					     'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
		       'data', jsonb_build_object(
			       'order', o.id,
			       'external_id', o.external_id,
			       'shipment', NEW.shipment_seq,
			       'tracking_code', o.tracking_code,
			       'detail', NEW.detail))::text,
	       NEW.at, NEW.at
	  FROM orders o
	  JOIN webhooks w ON w.owner = o.client_id
	 WHERE o.id = NEW.order_id
	   AND v_event = ANY (w.events);
	RETURN NULL;
END
$fn$;
