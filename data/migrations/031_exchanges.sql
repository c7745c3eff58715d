-- 031: exchanges (issue 12, part P5). The return of an exchange names its
-- replacement order (returns.exchange_order_id, 026); the exchange stop's
-- events (part P4) and the replacement's tracking find the return from it.
CREATE INDEX returns_exchange_order ON returns (exchange_order_id)
	WHERE exchange_order_id IS NOT NULL;
