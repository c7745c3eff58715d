-- pgTAP: money_text (data/sql/money_text.sql), fen as the API's decimal text:
-- whole amounts, cents, the 0.10 + 0.20 sum, large and negative amounts, NULL,
-- and that it is IMMUTABLE (usable in indexes and generated columns).
BEGIN;
SELECT plan(11);

SELECT is(money_text(12900), '129.00', 'whole yuan');
SELECT is(money_text(0), '0.00', 'zero');
SELECT is(money_text(5), '0.05', 'one digit of fen is padded');
SELECT is(money_text(10), '0.10', 'ten fen');
SELECT is(money_text(10 + 20), '0.30', '0.10 + 0.20 is exactly 0.30');
SELECT is(money_text(1500), '15.00', 'a price of the list');
SELECT is(money_text(99999999999999), '999999999999.99', 'the largest amount of the config');
SELECT is(money_text(-150), '-1.50', 'a negative amount keeps its fen');
SELECT is(money_text(NULL), NULL, 'NULL stays NULL');
SELECT is((SELECT provolatile FROM pg_proc WHERE proname = 'money_text'), 'i', 'IMMUTABLE');
SELECT is(money_text(sum(x)::bigint), '1.11', 'an aggregate of fen')
  FROM (VALUES (100::bigint), (10), (1)) AS v(x);

SELECT * FROM finish();
ROLLBACK;
