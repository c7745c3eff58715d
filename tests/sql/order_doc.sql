-- pgTAP: order_doc and order_doc_events (data/sql/order_doc*.sql), the
-- order as the API shows it, and the append-only timeline
-- (order_events_append_only).
BEGIN;
\ir fixtures.psql
SELECT plan(13);

SELECT is(order_doc('O-nobody'), NULL, 'an unknown order has no document');
SELECT is(order_doc_events('O-nobody'), NULL, 'nor a timeline');
SELECT is(pg_temp.outcomes(intake_commit(jsonb_build_array(
	pg_temp.entry('k1', '[{"w": "W2", "sku": "A", "qty": 2}, {"w": "W1", "sku": "B", "qty": 1},
			      {"w": "W1", "sku": "A", "qty": 1}]')))), '{ok}', 'an order over two warehouses');
INSERT INTO got SELECT 'doc', order_doc('O-k1');
SELECT is(v - 'lines' - 'shipments', ('{"id": "O-k1", "external_id": "EXT-k1", "status": "allocated",
	"created_at": "2026-11-23T01:00:00.000Z",
	"station": {"id": "ST1", "name": "Station one", "district": "D1"},
	"customer": {"lat": 39.9, "lon": 116.4}, "delivery_option": "standard", "install": false,
	"promise": {"by": "2026-11-23T23:00:00+08:00"},
	"tracking_code": "TRK' || upper(substr(md5('k1'), 1, 16)) || '", "recipient": null}')::jsonb,
	'the order fields')
  FROM got WHERE step = 'doc';
SELECT is(v->'lines', '[{"sku": "A", "qty": 2}, {"sku": "B", "qty": 1}, {"sku": "A", "qty": 1}]'::jsonb,
	  'its lines in line order') FROM got WHERE step = 'doc';
SELECT is(v->'shipments', '[
	{"seq": 1, "warehouse": "W1", "status": "allocated", "lines": [{"sku": "B", "qty": 1}, {"sku": "A", "qty": 1}]},
	{"seq": 2, "warehouse": "W2", "status": "allocated", "lines": [{"sku": "A", "qty": 2}]}]'::jsonb,
	  'its shipments with their lines') FROM got WHERE step = 'doc';
SELECT is(order_doc_events('O-k1') - 'events', order_doc('O-k1'), 'the timeline document is the order''s plus events');
SELECT is((SELECT array_agg(e->>'kind') FROM jsonb_array_elements(order_doc_events('O-k1')->'events') AS e),
	  '{created,allocated,allocated}', 'the events, oldest first');
SELECT is(order_doc_events('O-k1')->'events'->0->>'at', '2026-11-23T01:00:00.000Z', 'at in UTC, milliseconds');
SELECT is(pg_temp.outcomes(jsonb_build_array(intake_cancel('O-k1', 'test'))), '{ok}', 'cancelled');
SELECT is(order_doc_events('O-k1')->'events'->3->>'kind', 'cancelled', 'the cancel is the last event');
SELECT throws_ok($$UPDATE order_events SET kind = 'rewritten'$$, '42501', 'order_events is append-only',
		 'events are never updated');
SELECT throws_ok($$DELETE FROM order_events$$, '42501', 'order_events is append-only',
		 'nor deleted');

SELECT * FROM finish();
ROLLBACK;
