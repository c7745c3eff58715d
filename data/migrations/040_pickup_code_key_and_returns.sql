-- 040: pickup codes that survive a token key change, and places given back
-- by orders that went back to the warehouse (issue 13, review).
--
-- 1. Each code carries the fingerprint of the key it was made under
-- (code_key_id: 8 bytes of a keyed BLAKE2b of a constant under the hash
-- sub-key, daemon/base/pickup_code.c). After the token key file is
-- replaced, a parcel's code (hash and box) is dead: a repeated arrival scan
-- sees another fingerprint and issues a new code (pickup_arrival, order
-- event pickup.code_issued), as it does for a parcel without a code. Codes
-- made before this migration have none: their next scan replaces them too.
ALTER TABLE pickup_parcels ADD COLUMN code_key_id bytea CHECK (length(code_key_id) = 8);
DROP FUNCTION IF EXISTS pickup_arrival(text, text, text, text[], text[], int, text, text[],
				       text, timestamptz);

-- 2. An order routed to a point whose every shipment (but cancelled ones)
-- is final or going back (returning_to_warehouse, returned; delivered: by a
-- collection here, or elsewhere) takes no place there any more: a courier
-- drop that failed [dispatch] max_attempts times sends the shipments back,
-- and before this the order held its place (and the point could never be
-- retired) for ever. An order without shipments yet (intake inserts the
-- order first) takes its place.
CREATE FUNCTION pickup_shipments_back(p_statuses text[]) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $fn$
	SELECT count(*) FILTER (WHERE s <> 'cancelled') > 0
	       AND bool_and(s IN ('cancelled', 'returning_to_warehouse', 'returned', 'delivered'))
	  FROM unnest(p_statuses) s
$fn$;

-- Whether order p_order (routed to p_point, status p_status, its
-- shipments' statuses p_shipments) takes a place there.
CREATE FUNCTION pickup_place_taken_with(p_order text, p_point text, p_status text,
					p_shipments text[])
RETURNS boolean LANGUAGE sql STABLE AS $fn$
	SELECT p_point IS NOT NULL AND p_status <> 'cancelled'
	       AND NOT pickup_shipments_back(p_shipments)
	       AND NOT EXISTS (SELECT 1 FROM pickup_parcels pk
				WHERE pk.order_id = p_order AND pk.point_id = p_point
				  AND pk.status IN ('collected', 'expired'))
$fn$;

CREATE OR REPLACE FUNCTION pickup_place_taken(p_order text, p_point text, p_status text)
RETURNS boolean LANGUAGE sql STABLE AS $fn$
	SELECT pickup_place_taken_with(p_order, p_point, p_status,
				       ARRAY(SELECT status FROM shipments WHERE order_id = p_order))
$fn$;

-- The counter follows shipment changes: per statement (a statement may move
-- several shipments of one order), each order of the changed rows routed
-- to a point compared before (its shipments with the old rows in place of
-- the changed ones) and after.
CREATE FUNCTION pickup_used_shipments_trg() RETURNS trigger LANGUAGE plpgsql AS $fn$
DECLARE
	o record;
	was boolean;
	now_taken boolean;
BEGIN
	FOR o IN SELECT r.id, r.pickup_point_id, r.status FROM orders r
		  WHERE r.pickup_point_id IS NOT NULL
		    AND r.id IN (SELECT order_id FROM changed_new) LOOP
		IF TG_OP = 'UPDATE' THEN
			was := pickup_place_taken_with(o.id, o.pickup_point_id, o.status, ARRAY(
				SELECT s.status FROM shipments s
				 WHERE s.order_id = o.id
				   AND NOT EXISTS (SELECT 1 FROM changed_new n
						    WHERE n.order_id = s.order_id AND n.seq = s.seq)
				UNION ALL
				SELECT c.status FROM changed_old c WHERE c.order_id = o.id));
		ELSE
			was := pickup_place_taken_with(o.id, o.pickup_point_id, o.status, ARRAY(
				SELECT s.status FROM shipments s
				 WHERE s.order_id = o.id
				   AND NOT EXISTS (SELECT 1 FROM changed_new n
						    WHERE n.order_id = s.order_id AND n.seq = s.seq)));
		END IF;
		now_taken := pickup_place_taken(o.id, o.pickup_point_id, o.status);
		IF was <> now_taken THEN
			UPDATE pickup_points SET used = used + CASE WHEN now_taken THEN 1 ELSE -1 END
			 WHERE id = o.pickup_point_id;
		END IF;
	END LOOP;
	RETURN NULL;
END
$fn$;
CREATE TRIGGER shipments_pickup_used_upd AFTER UPDATE ON shipments
	REFERENCING OLD TABLE AS changed_old NEW TABLE AS changed_new
	FOR EACH STATEMENT EXECUTE FUNCTION pickup_used_shipments_trg();
CREATE TRIGGER shipments_pickup_used_ins AFTER INSERT ON shipments
	REFERENCING NEW TABLE AS changed_new
	FOR EACH STATEMENT EXECUTE FUNCTION pickup_used_shipments_trg();

-- A parcel leaving its point changes nothing for an order whose shipments
-- went back already (it took no place): its triggers skip such an order.
CREATE FUNCTION pickup_order_back(p_order text) RETURNS boolean LANGUAGE sql STABLE AS $fn$
	SELECT pickup_shipments_back(ARRAY(SELECT status FROM shipments WHERE order_id = p_order))
$fn$;
DROP TRIGGER pickup_parcels_used_ins ON pickup_parcels;
DROP TRIGGER pickup_parcels_used_upd ON pickup_parcels;
CREATE TRIGGER pickup_parcels_used_ins AFTER INSERT ON pickup_parcels
	FOR EACH ROW WHEN (NEW.status IN ('collected', 'expired')
			   AND NOT pickup_order_back(NEW.order_id))
	EXECUTE FUNCTION pickup_used_parcels_trg();
CREATE TRIGGER pickup_parcels_used_upd AFTER UPDATE OF status ON pickup_parcels
	FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status
			   AND NOT pickup_order_back(NEW.order_id))
	EXECUTE FUNCTION pickup_used_parcels_trg();

-- The places taken now (orders sent back before this migration give theirs).
UPDATE pickup_points p SET used = (SELECT count(*) FROM orders o
				     WHERE pickup_place_taken(o.id, p.id, o.status)
				       AND o.pickup_point_id = p.id);
