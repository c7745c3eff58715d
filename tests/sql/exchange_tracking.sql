-- pgTAP: the tracking page of an exchange's replacement order
-- (order_tracking_doc): its stop is the exchange stop (order_id = the
-- replacement), so while it is out with the courier the page shows the
-- live courier and ETA, and the full view the current stop, as for a
-- delivery stop.
BEGIN;
\ir fixtures.psql
SELECT plan(3);

INSERT INTO got SELECT 'orders', intake_commit(jsonb_build_array(
	pg_temp.entry('k1', '[{"w": "W2", "sku": "A", "qty": 1}]')));
UPDATE shipments SET status = 'delivered' WHERE order_id = 'O-k1';
UPDATE orders SET status = 'delivered' WHERE id = 'O-k1';
INSERT INTO order_events (order_id, shipment_seq, kind, at)
VALUES ('O-k1', 1, 'delivered', '2026-11-24T01:00:00Z');
INSERT INTO got SELECT 'made', exchange_create('O-k1', 'R-1', 'x1', 'body one',
	'{"lines": [{"line": 1, "qty": 1, "replacement_sku": null}], "reason": "no_reason",
	  "notes": "", "wave": "20261125-W0900", "window_start": "2026-11-25T09:00:00+08:00",
	  "window_end": "2026-11-25T13:00:00+08:00"}', '2026-11-24T02:00:00Z',
	'{"default": {"window_days": 7, "defect_window_days": 15,
		      "quick_refund_max_fen": 20000}, "categories": {}}', 'tok_test');
SELECT is(v->>'r', 'ok', 'the exchange is made') FROM got WHERE step = 'made';

-- Planned and out with a courier, as route_plan_store and the route start
-- leave it.
INSERT INTO couriers (id, station_id, name, phone, vehicle)
VALUES ('c-1', 'ST1', 'Li Lei', '13900000000', 'e_bike');
UPDATE stops SET status = 'planned', courier_id = 'c-1', route_version = 1, position = 0,
	eta = '2026-11-25T02:30:00Z'
 WHERE order_id = 'R-1' AND kind = 'exchange';
UPDATE shipments SET status = 'out_for_delivery' WHERE order_id = 'R-1';
UPDATE orders SET status = 'out_for_delivery' WHERE id = 'R-1';

SELECT is(order_tracking_doc('R-1', true)->'live'->'courier'->>'first_name', 'Li',
	  'the replacement out for delivery shows its courier live');
SELECT is(order_tracking_doc('R-1', false)->'stop'->>'id',
	  (SELECT id FROM stops WHERE order_id = 'R-1' AND kind = 'exchange'),
	  'and, in the full view, its current stop: the exchange stop');

SELECT * FROM finish();
ROLLBACK;
