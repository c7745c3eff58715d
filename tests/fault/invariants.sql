-- tests/fault/invariants.sql: the SQL invariant checker of the fault tests
-- (docs/reliability.md). Run at the end of every fault test, after the
-- daemon is stopped, against the test's database:
--     psql -X -A -t -F '|' -v ON_ERROR_STOP=1 -f tests/fault/invariants.sql
-- Every check is one SELECT returning the violating rows as
-- (check name, detail): a healthy database prints nothing at all. Read-only.
-- Over the real schema (data/migrations/): orders and their reservations,
-- stock and its ledger, station slot counters, engineer days, pickup
-- points, stop events, the webhook outbox, the COD ledger.

-- An order line (a reservation) whose order or shipment does not exist.
SELECT 'reservation_without_order', l.order_id || '/' || l.line_no
  FROM order_lines l
  LEFT JOIN orders o ON o.id = l.order_id
  LEFT JOIN shipments sh ON sh.order_id = l.order_id AND sh.seq = l.shipment_seq
 WHERE o.id IS NULL OR sh.order_id IS NULL;

-- An order without its reservation: every order has at least one shipment
-- and every shipment at least one line.
SELECT 'order_without_reservation', o.id
  FROM orders o
 WHERE NOT EXISTS (SELECT 1 FROM order_lines l WHERE l.order_id = o.id)
UNION ALL
SELECT 'shipment_without_lines', sh.order_id || '/' || sh.seq
  FROM shipments sh
 WHERE NOT EXISTS (SELECT 1 FROM order_lines l
		    WHERE l.order_id = sh.order_id AND l.shipment_seq = sh.seq);

-- A cancelled order still holding stock (a shipment not cancelled), or an
-- order not cancelled with a cancelled shipment.
SELECT 'cancelled_order_holds_shipment', sh.order_id || '/' || sh.seq || ' ' || sh.status
  FROM shipments sh JOIN orders o ON o.id = sh.order_id
 WHERE (o.status = 'cancelled') <> (sh.status = 'cancelled');

-- Stock never negative, balanced (also CHECKs: the backstop's backstop).
SELECT 'stock_negative', s.warehouse_id || '/' || s.sku || ' on_hand=' || s.on_hand
	|| ' reserved=' || s.reserved || ' available=' || s.available
  FROM stock s
 WHERE s.on_hand < 0 OR s.reserved < 0 OR s.available < 0
    OR s.available + s.reserved <> s.on_hand;

-- stock.reserved is exactly what the lines of shipments still in their
-- warehouse (allocated, picked, packed) hold.
SELECT 'stock_reserved_not_lines', coalesce(s.warehouse_id, h.w) || '/' || coalesce(s.sku, h.sku)
	|| ' reserved=' || coalesce(s.reserved, -1) || ' lines=' || coalesce(h.qty, 0)
  FROM stock s
  FULL JOIN (SELECT sh.warehouse_id AS w, l.sku, sum(l.qty) AS qty
	       FROM order_lines l
	       JOIN shipments sh ON sh.order_id = l.order_id AND sh.seq = l.shipment_seq
	      WHERE sh.status IN ('allocated', 'picked', 'packed')
	      GROUP BY 1, 2) h ON h.w = s.warehouse_id AND h.sku = s.sku
 WHERE coalesce(s.reserved, -1) <> coalesce(h.qty, 0);

-- Stock equals its ledger: the last entry of an item is its on-hand, and
-- each entry starts where the one before it ended (nothing changed on-hand
-- between two entries without its own).
SELECT 'stock_not_ledger', s.warehouse_id || '/' || s.sku || ' on_hand=' || s.on_hand
	|| ' ledger=' || last.new_on_hand
  FROM stock s
  JOIN LATERAL (SELECT g.new_on_hand FROM stock_ledger g
		 WHERE g.warehouse_id = s.warehouse_id AND g.sku = s.sku
		 ORDER BY g.seq DESC LIMIT 1) last ON true
 WHERE last.new_on_hand <> s.on_hand;
SELECT 'stock_ledger_gap', x.warehouse_id || '/' || x.sku || ' seq=' || x.seq
	|| ' old=' || x.old_on_hand || ' previous new=' || x.prev
  FROM (SELECT g.*, lag(g.new_on_hand) OVER (PARTITION BY g.warehouse_id, g.sku
					      ORDER BY g.seq) AS prev
	  FROM stock_ledger g) x
 WHERE x.prev IS NOT NULL AND x.old_on_hand IS DISTINCT FROM x.prev;

-- No station slot (wave, precise slot, large-item window, install visits)
-- over its capacity, and each counter equal to the bookings that hold it.
SELECT 'slot_over_capacity', c.station_id || '/' || c.counter_key || ' booked=' || c.booked
	|| ' capacity=' || c.capacity
  FROM capacity_counters c
 WHERE c.booked > c.capacity;
SELECT 'slot_counter_not_bookings', coalesce(c.station_id, b.station_id) || '/'
	|| coalesce(c.counter_key, b.counter_key) || ' booked=' || coalesce(c.booked, 0)
	|| ' orders=' || coalesce(b.n, 0)
  FROM capacity_counters c
  FULL JOIN (SELECT station_id, counter_key, count(*) AS n FROM order_capacity
	      WHERE NOT released GROUP BY 1, 2) b
	 ON b.station_id = c.station_id AND b.counter_key = c.counter_key
 WHERE coalesce(c.booked, 0) <> coalesce(b.n, 0);
-- A cancelled order keeps no slot.
SELECT 'cancelled_order_holds_slot', oc.order_id || ' ' || oc.counter_key
  FROM order_capacity oc JOIN orders o ON o.id = oc.order_id
 WHERE o.status = 'cancelled' AND NOT oc.released;

-- No engineer day over its daily capacity, and each day's count equal to
-- the visits that hold a unit of it.
SELECT 'engineer_day_over_capacity', sc.engineer_id || ' ' || sc.day || ' visits=' || sc.visits
	|| ' capacity=' || c.daily_capacity
  FROM service_capacity sc JOIN couriers c ON c.id = sc.engineer_id
 WHERE sc.visits > c.daily_capacity;
SELECT 'engineer_day_not_visits', coalesce(sc.engineer_id, a.e) || ' '
	|| coalesce(sc.day, a.day) || ' visits=' || coalesce(sc.visits, 0)
	|| ' holding=' || coalesce(a.n, 0)
  FROM service_capacity sc
  FULL JOIN (SELECT capacity_engineer AS e, day, count(*) AS n FROM service_appointments
	      WHERE capacity_engineer IS NOT NULL GROUP BY 1, 2) a
	 ON a.e = sc.engineer_id AND a.day = sc.day
 WHERE coalesce(sc.visits, 0) <> coalesce(a.n, 0);

-- No pickup point holding more orders than its capacity: the orders routed
-- to it that take a place (pickup_place_taken: not cancelled, no parcel
-- collected or expired, its shipments not all gone back; migration 040).
SELECT 'pickup_point_over_capacity', p.id || ' orders=' || count(o.id) || ' capacity='
	|| p.capacity
  FROM pickup_points p
  JOIN orders o ON o.pickup_point_id = p.id
 WHERE pickup_place_taken(o.id, p.id, o.status)
 GROUP BY p.id, p.capacity
HAVING count(o.id) > p.capacity;

-- No stop event applied twice: one order event per stop and kind, never
-- both delivered and failed, one COD collection per stop.
SELECT 'stop_event_twice', e.detail->>'stop' || ' ' || e.kind || ' x' || count(*)
  FROM order_events e
 WHERE e.kind IN ('arrived', 'delivered', 'failed', 'picked_up') AND e.detail ? 'stop'
 GROUP BY e.detail->>'stop', e.kind
HAVING count(*) > 1;
SELECT 'stop_delivered_and_failed', e.detail->>'stop'
  FROM order_events e
 WHERE e.kind IN ('delivered', 'failed') AND e.detail ? 'stop'
 GROUP BY e.detail->>'stop'
HAVING count(DISTINCT e.kind) > 1;
SELECT 'stop_outcome_without_event', s.id || ' ' || s.status
  FROM stops s
 WHERE s.status IN ('delivered', 'failed') AND s.kind = 'delivery'
   AND NOT EXISTS (SELECT 1 FROM order_events e
		    WHERE e.kind = s.status AND e.detail->>'stop' = s.id);
SELECT 'cod_collected_twice', l.stop_id || ' x' || count(*)
  FROM cod_ledger l WHERE l.kind = 'collection'
 GROUP BY l.stop_id HAVING count(*) > 1;

-- Every webhook delivery is delivered or still pending (none dead, none for
-- an event that does not exist), and every event a subscription wants has
-- its delivery from the subscription's first delivery on.
SELECT 'webhook_not_delivered_or_pending', o.id || ' ' || o.webhook_id || ' ' || o.status
  FROM webhook_outbox o
 WHERE o.status NOT IN ('pending', 'delivered');
SELECT 'webhook_without_event', o.id || ' event=' || o.event_id
  FROM webhook_outbox o
 WHERE NOT EXISTS (SELECT 1 FROM order_events e WHERE e.id = o.event_id);
SELECT 'webhook_event_missing', w.id || ' event=' || e.id || ' ' || e.kind
  FROM webhooks w
  JOIN (SELECT webhook_id, min(event_id) AS first FROM webhook_outbox GROUP BY 1) f
	 ON f.webhook_id = w.id
  JOIN orders ord ON ord.client_id = w.owner
  JOIN order_events e ON e.order_id = ord.id AND e.id >= f.first
 WHERE (CASE WHEN strpos(e.kind, '.') > 0 THEN e.kind ELSE 'shipment.' || e.kind END)
	= ANY (w.events)
   AND (e.kind IN ('out_for_delivery', 'eta_changed', 'delivered', 'failed', 'rescheduled')
	OR e.kind LIKE 'service.%' OR e.kind LIKE 'return.%' OR e.kind LIKE 'payment.%')
   AND NOT EXISTS (SELECT 1 FROM webhook_outbox o
		    WHERE o.webhook_id = w.id AND o.event_id = e.id);

-- The COD ledger and the order events stay append-only (their triggers are
-- there and enabled); the sums agree: a settlement's handed amount is its
-- hand-over rows, a collection never above what was due, and a delivered
-- cod stop has exactly its one collection.
SELECT 'append_only_trigger_missing', t.name
  FROM (VALUES ('cod_ledger_append_only'), ('cod_ledger_no_truncate'),
	       ('order_events_no_update'), ('order_events_no_truncate')) t(name)
 WHERE NOT EXISTS (SELECT 1 FROM pg_trigger g
		    WHERE g.tgname = t.name AND g.tgenabled <> 'D');
SELECT 'cod_settlement_not_ledger', s.id || ' handed=' || s.handed_fen || ' ledger='
	|| coalesce(sum(l.amount_fen), 0)
  FROM cod_settlements s
  LEFT JOIN cod_ledger l ON l.settlement_id = s.id AND l.kind = 'handover'
 GROUP BY s.id, s.handed_fen
HAVING coalesce(sum(l.amount_fen), 0) <> s.handed_fen;
SELECT 'cod_collected_above_due', l.id || ' amount=' || l.amount_fen || ' due=' || l.due_fen
  FROM cod_ledger l
 WHERE l.kind = 'collection' AND l.amount_fen > l.due_fen;
SELECT 'cod_delivered_without_collection', s.id
  FROM stops s JOIN orders o ON o.id = s.order_id
 WHERE s.status = 'delivered' AND s.kind = 'delivery' AND o.payment_method = 'cod'
   AND NOT EXISTS (SELECT 1 FROM cod_ledger l
		    WHERE l.kind = 'collection' AND l.stop_id = s.id);
