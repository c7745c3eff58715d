-- 038: a settlement's first answer and the hand-over that carried it (issue
-- 13; docs/api.md "Cash on delivery"):
--   cod_settlements.answer        the 201 settlement document as first
--                                 answered, answered again on a replay of
--                                 its Idempotency-Key byte for byte (even
--                                 after the settlement was closed)
--   cod_settlements.carried_into  the later hand-over of the same courier,
--                                 station and day whose expected includes
--                                 this one's open difference: this one is
--                                 then resolved (a resolution row of 0) and
--                                 only the later one stays open, so a
--                                 shortfall is never open twice
-- Rows recorded before this keep NULL in both (a replay then answers the
-- settlement as it is now).
ALTER TABLE cod_settlements
	ADD COLUMN answer jsonb,
	ADD COLUMN carried_into text REFERENCES cod_settlements (id),
	ADD CONSTRAINT cod_settlements_carried_resolved
		CHECK (carried_into IS NULL OR status = 'resolved');
-- The corrections recorded against a settlement (cod_settlement_open).
CREATE INDEX cod_ledger_settlement ON cod_ledger (settlement_id) WHERE settlement_id IS NOT NULL;
-- Days recorded before this may hold several open settlements, the later
-- ones' expected including the earlier ones' differences: each open one
-- with a later settlement of its station, courier and day is closed as
-- cod_settle now closes it (carried into the next one, a resolution row of
-- 0; appended, nothing deleted), so the day's open settlements add up to its
-- balance (docs/api.md "Cash on delivery", the model).
WITH c AS (
	SELECT t.id, t.station_id, t.courier_id, t.day,
	       (SELECT n.id FROM cod_settlements n
		 WHERE n.station_id = t.station_id AND n.courier_id = t.courier_id
		   AND n.day = t.day AND n.seq > t.seq
		 ORDER BY n.seq LIMIT 1) AS next_id
	  FROM cod_settlements t WHERE t.status = 'open'),
r AS (
	INSERT INTO cod_ledger (kind, station_id, courier_id, day, settlement_id, amount_fen,
				reason, at)
	SELECT 'resolution', c.station_id, c.courier_id, c.day, c.id, 0,
	       'carried into ' || c.next_id || ': its expected includes this difference', now()
	  FROM c WHERE c.next_id IS NOT NULL)
UPDATE cod_settlements t
   SET status = 'resolved', resolved_at = now(), carried_into = c.next_id,
       resolution = 'carried into ' || c.next_id || ': its expected includes this difference'
  FROM c WHERE c.id = t.id AND c.next_id IS NOT NULL;
