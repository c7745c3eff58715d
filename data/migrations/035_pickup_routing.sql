-- 035: pickup routing (issue 13, part R; docs/architecture.md "Pickup
-- routing"). The places a pickup point has taken are a counter on its row,
-- pickup_points.used, no longer a count over all the orders ever routed to
-- it. A place is taken by an order routed to the point (orders.pickup_point_id)
-- that is not cancelled and whose parcel has not left the point (no parcel of
-- it there collected or expired): the same rule pickup_point_recount gives.
-- The counter moves in the transaction of each change of that rule's
-- inputs, under the point's row lock (the UPDATE takes it): intake (an order
-- inserted with a point; intake_commit holds the point's lock already), a
-- cancellation, a collection, an expiry, and any other writer of
-- orders.status / orders.pickup_point_id / pickup_parcels.status (a test
-- fixture routing an order by hand included). Triggers keep it, so no
-- writer can forget it; every writer already holds the order's row before
-- the point's (the lock order of stop_event.sql), so the point row comes
-- last and no new deadlock appears. A CHECK keeps it within [0, ...):
-- a negative counter is a bug and fails the transaction that makes it.
ALTER TABLE pickup_points ADD COLUMN used integer NOT NULL DEFAULT 0 CHECK (used >= 0);

-- Whether order p_order (routed to p_point, status p_status) takes a place there.
CREATE FUNCTION pickup_place_taken(p_order text, p_point text, p_status text)
RETURNS boolean LANGUAGE sql STABLE AS $fn$
	SELECT p_point IS NOT NULL AND p_status <> 'cancelled'
	       AND NOT EXISTS (SELECT 1 FROM pickup_parcels pk
				WHERE pk.order_id = p_order AND pk.point_id = p_point
				  AND pk.status IN ('collected', 'expired'))
$fn$;

CREATE FUNCTION pickup_used_orders_trg() RETURNS trigger LANGUAGE plpgsql AS $fn$
DECLARE
	was boolean := false;
	now_taken boolean;
BEGIN
	IF TG_OP = 'UPDATE' THEN
		was := pickup_place_taken(OLD.id, OLD.pickup_point_id, OLD.status);
	END IF;
	now_taken := pickup_place_taken(NEW.id, NEW.pickup_point_id, NEW.status);
	IF TG_OP = 'UPDATE' AND OLD.pickup_point_id IS DISTINCT FROM NEW.pickup_point_id THEN
		IF was THEN
			UPDATE pickup_points SET used = used - 1 WHERE id = OLD.pickup_point_id;
		END IF;
		IF now_taken THEN
			UPDATE pickup_points SET used = used + 1 WHERE id = NEW.pickup_point_id;
		END IF;
	ELSIF was <> now_taken THEN
		UPDATE pickup_points SET used = used + CASE WHEN now_taken THEN 1 ELSE -1 END
		 WHERE id = NEW.pickup_point_id;
	END IF;
	RETURN NULL;
END
$fn$;
CREATE TRIGGER orders_pickup_used_ins AFTER INSERT ON orders
	FOR EACH ROW WHEN (NEW.pickup_point_id IS NOT NULL)
	EXECUTE FUNCTION pickup_used_orders_trg();
CREATE TRIGGER orders_pickup_used_upd AFTER UPDATE OF status, pickup_point_id ON orders
	FOR EACH ROW WHEN ((OLD.pickup_point_id IS NOT NULL OR NEW.pickup_point_id IS NOT NULL)
			   AND (OLD.status IS DISTINCT FROM NEW.status
				OR OLD.pickup_point_id IS DISTINCT FROM NEW.pickup_point_id))
	EXECUTE FUNCTION pickup_used_orders_trg();

-- A parcel that leaves its point (collected, expired) gives the order's
-- place back once: a second left parcel of the same order there changes
-- nothing (the recount's NOT EXISTS).
CREATE FUNCTION pickup_used_parcels_trg() RETURNS trigger LANGUAGE plpgsql AS $fn$
DECLARE
	o orders;
	other boolean;
	was_left boolean;
	now_left boolean;
BEGIN
	SELECT * INTO o FROM orders WHERE id = NEW.order_id;
	IF o.pickup_point_id IS DISTINCT FROM NEW.point_id OR o.status = 'cancelled' THEN
		RETURN NULL;
	END IF;
	other := EXISTS (SELECT 1 FROM pickup_parcels
			  WHERE order_id = NEW.order_id AND point_id = NEW.point_id
			    AND id <> NEW.id AND status IN ('collected', 'expired'));
	was_left := other OR TG_OP = 'UPDATE' AND OLD.status IN ('collected', 'expired');
	now_left := other OR NEW.status IN ('collected', 'expired');
	IF was_left <> now_left THEN
		UPDATE pickup_points SET used = used + CASE WHEN now_left THEN -1 ELSE 1 END
		 WHERE id = NEW.point_id;
	END IF;
	RETURN NULL;
END
$fn$;
CREATE TRIGGER pickup_parcels_used_ins AFTER INSERT ON pickup_parcels
	FOR EACH ROW WHEN (NEW.status IN ('collected', 'expired'))
	EXECUTE FUNCTION pickup_used_parcels_trg();
CREATE TRIGGER pickup_parcels_used_upd AFTER UPDATE OF status ON pickup_parcels
	FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status)
	EXECUTE FUNCTION pickup_used_parcels_trg();

-- The places taken so far.
UPDATE pickup_points p SET used = (SELECT count(*) FROM orders o
				     WHERE pickup_place_taken(o.id, p.id, o.status)
				       AND o.pickup_point_id = p.id);
