-- 030: returns (issue 12 part P4). Adds to 026's returns and return_lines
-- (026 itself is never edited) what requesting, scanning and inspecting a
-- return need:
--   returns.idempotency_key, request   POST /v1/orders/{id}/returns replays
--       the return its key made; the same key with another body is refused
--   return_lines.unit_price_fen        the line's refund per unit, fixed when
--       requested (skus.price_milli / 10), so a later price change never
--       moves a refund already promised
--   return_lines.category              the sku's category then (its policy)
--   returns.picked_up_at, received_at, inspected_at   when each step happened
ALTER TABLE returns ADD COLUMN idempotency_key text
	CHECK (idempotency_key IS NULL OR length(idempotency_key) BETWEEN 1 AND 255);
ALTER TABLE returns ADD COLUMN request jsonb;
CREATE UNIQUE INDEX returns_order_key ON returns (order_id, idempotency_key)
	WHERE idempotency_key IS NOT NULL;
ALTER TABLE returns ADD COLUMN picked_up_at timestamptz;
ALTER TABLE returns ADD COLUMN received_at timestamptz;
ALTER TABLE returns ADD COLUMN inspected_at timestamptz;

ALTER TABLE return_lines ADD COLUMN unit_price_fen bigint NOT NULL DEFAULT 0
	CHECK (unit_price_fen >= 0);
ALTER TABLE return_lines ADD COLUMN category text NOT NULL DEFAULT '';
