-- pgTAP: webhooks (migration 025, data/sql/webhook_*.sql): the trigger on
-- order_events writes one outbox row per matching subscription of the
-- order's client, in the event's transaction, with the body fixed then;
-- webhook_claim leases due rows (a claimed row is not claimed again until
-- its lease lapses; rows another session holds locked are skipped: tested
-- with two daemons in tests/integration/test_webhooks.py); webhook_report
-- delivers, reschedules with the given delay, or declares dead past the
-- window, and ignores a lapsed lease.
BEGIN;
SELECT plan(24);

INSERT INTO orders (id, external_id, idempotency_key, status, station_id, station_name,
		    district_id, delivery_option, install, promise, created_at, client_id)
VALUES ('O-1', 'EXT-1', 'k1', 'allocated', 'ST1', 'Station one', 'D1', 'standard', false, '{}',
	now(), 'tok_aaaaaaaaaaaaaaaa'),
       ('O-2', 'EXT-2', 'k2', 'allocated', 'ST1', 'Station one', 'D1', 'standard', false, '{}',
	now(), NULL);
INSERT INTO webhooks (id, owner, url, events, secret, created_by) VALUES
	('wh_0000000000000001', 'tok_aaaaaaaaaaaaaaaa', 'http://127.0.0.1:9/a',
	 '{shipment.delivered,shipment.failed}', 'whsec_a', 'tok_aaaaaaaaaaaaaaaa'),
	('wh_0000000000000002', 'tok_aaaaaaaaaaaaaaaa', 'http://127.0.0.1:9/b',
	 '{shipment.delivered}', 'whsec_b', 'tok_aaaaaaaaaaaaaaaa'),
	('wh_0000000000000003', 'tok_bbbbbbbbbbbbbbbb', 'http://127.0.0.1:9/c',
	 '{shipment.delivered,shipment.failed,shipment.out_for_delivery}', 'whsec_c',
	 'tok_bbbbbbbbbbbbbbbb');

CREATE FUNCTION pg_temp.ev(p_order text, p_kind text, p_detail jsonb DEFAULT '{}')
RETURNS bigint LANGUAGE sql AS $$
	INSERT INTO order_events (order_id, shipment_seq, kind, at, detail)
	VALUES (p_order, 1, p_kind, '2026-11-30T10:00:00Z', p_detail) RETURNING id
$$;
CREATE FUNCTION pg_temp.rows(p_event bigint) RETURNS text LANGUAGE sql AS $$
	SELECT coalesce(string_agg(webhook_id || ':' || event, ' ' ORDER BY webhook_id), '')
	  FROM webhook_outbox WHERE event_id = p_event
$$;

-- 1. The trigger.
CREATE TEMP TABLE e AS SELECT pg_temp.ev('O-1', 'delivered', '{"courier": "c-1"}') AS id;
SELECT is(pg_temp.rows(id), 'wh_0000000000000001:shipment.delivered wh_0000000000000002:shipment.delivered',
	  'one row per subscription of the client that wants it') FROM e;
SELECT is(body::jsonb, jsonb_build_object('id', e.id, 'type', 'shipment.delivered',
	  'created_at', '2026-11-30T10:00:00.000Z', 'data', jsonb_build_object('order', 'O-1',
	  'external_id', 'EXT-1', 'shipment', 1,
	  'tracking_code', (SELECT tracking_code FROM orders WHERE id = 'O-1'),
	  'detail', '{"courier": "c-1"}'::jsonb)), 'the body, fixed at the event')
  FROM webhook_outbox o, e WHERE o.event_id = e.id AND o.webhook_id = 'wh_0000000000000001';
SELECT is((SELECT status || '/' || attempts FROM webhook_outbox o, e
	    WHERE o.event_id = e.id AND webhook_id = 'wh_0000000000000002'), 'pending/0',
	  'pending, no attempt yet');
SELECT is(pg_temp.rows(pg_temp.ev('O-1', 'failed')), 'wh_0000000000000001:shipment.failed',
	  'only the subscriptions naming the event');
SELECT is(pg_temp.rows(pg_temp.ev('O-1', 'out_for_delivery')), '',
	  'another client''s subscription gets nothing');
SELECT is(pg_temp.rows(pg_temp.ev('O-1', 'arrived')), '', 'a kind that is no webhook event');
SELECT is(pg_temp.rows(pg_temp.ev('O-1', 'picked')), '', 'nor a warehouse scan');
SELECT is(pg_temp.rows(pg_temp.ev('O-2', 'delivered')), '', 'an order without a client');
SELECT is((SELECT count(*)::integer FROM pg_trigger WHERE tgname = 'order_events_webhooks'
	    AND tgrelid = 'order_events'::regclass), 1, 'the trigger is on order_events');
-- Same transaction: an event rolled back takes its deliveries with it.
SAVEPOINT s;
SELECT pg_temp.ev('O-1', 'rescheduled');
UPDATE webhooks SET events = events || '{shipment.rescheduled}' WHERE id = 'wh_0000000000000001';
SELECT pg_temp.ev('O-1', 'rescheduled');
ROLLBACK TO SAVEPOINT s;
SELECT is((SELECT count(*)::integer FROM webhook_outbox WHERE event = 'shipment.rescheduled'), 0,
	  'rolled back with its event');
SELECT is((SELECT count(*)::integer FROM webhook_outbox), 3, 'three deliveries so far');

-- 2. Claims.
UPDATE webhook_outbox SET next_at = '2026-11-30T10:00:00Z', created_at = '2026-11-30T10:00:00Z';
CREATE TEMP TABLE c1 AS SELECT * FROM webhook_claim('2026-11-30T10:00:05Z', 2, 40);
SELECT is((SELECT count(*)::integer FROM c1), 2, 'claims up to the limit');
SELECT is((SELECT url || ' ' || secret || ' ' || event FROM c1 ORDER BY id LIMIT 1),
	  'http://127.0.0.1:9/a whsec_a shipment.delivered', 'with where to send and how to sign');
SELECT is((SELECT count(*)::integer FROM webhook_claim('2026-11-30T10:00:05Z', 10, 40)), 1,
	  'a claimed row is not claimed again: only the third');
SELECT is((SELECT count(*)::integer FROM webhook_claim('2026-11-30T10:00:30Z', 10, 40)), 0,
	  'nor while its lease lasts');
SELECT is((SELECT count(*)::integer FROM webhook_claim('2026-11-30T09:59:00Z', 10, 40)), 0,
	  'nothing is due before its time');

-- 3. Reports.
SELECT is(webhook_report(c.id, c.lease, true, 200, '', '2026-11-30T10:00:06Z', 1, 86400),
	  'delivered', 'a 2xx delivers') FROM c1 c ORDER BY id LIMIT 1;
SELECT is(webhook_report(c.id, gen_random_uuid(), false, 500, 'answered 500',
	  '2026-11-30T10:00:06Z', 1, 86400), NULL, 'a lapsed lease changes nothing')
  FROM c1 c ORDER BY id DESC LIMIT 1;
SELECT is(webhook_report(c.id, c.lease, false, 500, 'answered 500', '2026-11-30T10:00:06Z',
	  60, 86400), 'pending', 'a failure is retried') FROM c1 c ORDER BY id DESC LIMIT 1;
SELECT is((SELECT attempts || ' ' || last_status || ' ' || last_error || ' ' ||
	  to_char(next_at AT TIME ZONE 'UTC', 'HH24:MI:SS') || ' ' || (lease IS NULL)
	  FROM webhook_outbox WHERE id = (SELECT max(id) FROM c1)),
	  '1 500 answered 500 10:01:06 true', 'counted, with why, due after the delay');
SELECT is(webhook_report(c.id, c.lease, true, 200, '', '2026-11-30T10:00:07Z', 1, 86400), NULL,
	  'a report for a finished claim changes nothing') FROM c1 c ORDER BY id LIMIT 1;
-- Past the window: dead, and never claimed again.
CREATE TEMP TABLE c2 AS SELECT * FROM webhook_claim('2026-12-01T09:59:50Z', 10, 40);
SELECT is((SELECT count(*)::integer FROM c2), 2, 'both pending rows are due a day later');
SELECT is((SELECT array_agg(webhook_report(c.id, c.lease, false, NULL, 'timed out',
	  '2026-12-01T09:59:50Z', 30, 86400) ORDER BY c.id) FROM c2 c), '{dead,dead}',
	  'a retry that would fall beyond 24 h after the event: dead');
SELECT is((SELECT count(*)::integer FROM webhook_claim('2026-12-31T00:00:00Z', 10, 40)), 0,
	  'the dead are never claimed');

SELECT * FROM finish();
ROLLBACK;
