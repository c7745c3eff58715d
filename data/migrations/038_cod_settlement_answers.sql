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
