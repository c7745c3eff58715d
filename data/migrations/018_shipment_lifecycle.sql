-- 018: the shipment lifecycle (issue 11; warehouse/shipment.h,
-- data/sql/shipment_next.sql). Shipments take the lifecycle's state names
-- (left_warehouse and at_station are renamed departed_warehouse and
-- arrived_at_station); an order's status follows its shipments once they
-- all share one state (shipment_scan), so orders take the same names.
-- shipment_scan_keys remembers each scan's Idempotency-Key and its first
-- answer, replayed for the same key.
ALTER TABLE shipments DROP CONSTRAINT shipments_status_check;
UPDATE shipments SET status = 'departed_warehouse' WHERE status = 'left_warehouse';
UPDATE shipments SET status = 'arrived_at_station' WHERE status = 'at_station';
ALTER TABLE shipments ADD CONSTRAINT shipments_status_check CHECK (status IN ('allocated',
	'picked', 'packed', 'departed_warehouse', 'arrived_at_station', 'out_for_delivery',
	'delivered', 'failed', 'rescheduled', 'returning_to_warehouse', 'returned', 'cancelled'));

ALTER TABLE orders DROP CONSTRAINT orders_status_check;
ALTER TABLE orders ADD CONSTRAINT orders_status_check CHECK (status IN ('allocated',
	'picked', 'packed', 'departed_warehouse', 'arrived_at_station', 'out_for_delivery',
	'delivered', 'failed', 'rescheduled', 'returning_to_warehouse', 'returned', 'cancelled'));

CREATE TABLE shipment_scan_keys (
	key text PRIMARY KEY CHECK (length(key) BETWEEN 1 AND 255),
	order_id text NOT NULL,
	seq smallint NOT NULL,
	event text NOT NULL,
	actor text NOT NULL,                  -- api_tokens.id of the first scan
	answer jsonb NOT NULL,                -- what the first scan answered: replayed as is
	created_at timestamptz NOT NULL DEFAULT now()
);
