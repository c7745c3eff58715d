-- 034: orders placed for a pickup point (issue 13, part C3; docs/api.md
-- "Orders" and "Pickup points"). POST /v1/orders with delivery_option
-- "pickup" stores the point in orders.pickup_point_id (033); intake_commit
-- counts, under the point's row lock, the orders routed to the point that
-- have not left it yet (not cancelled, no parcel collected or expired), so
-- a point never gets more orders than its capacity.
CREATE INDEX orders_pickup_point ON orders (pickup_point_id)
	WHERE pickup_point_id IS NOT NULL AND status <> 'cancelled';

-- A station's own shelf: its parcels are there when they reach the station
-- (the promise offers it from the arrival time, not after a courier wave).
-- Set by SQL until the records API takes it (docs/api.md "Pickup points").
ALTER TABLE pickup_points ADD COLUMN shelf boolean NOT NULL DEFAULT false;
