-- pgTAP: cash on delivery (issue 13 part C1; migration 032, data/sql/cod_*.sql,
-- stop_event.sql's collection): intake stores the payment in fen, delivered
-- refuses a COD stop without collected, more than due, or less without a
-- reason, records one collection and payment.collected, a replay counts
-- nothing again; the ledger refuses UPDATE and DELETE; a short hand-over is
-- open, its resolution a ledger row, and the day adds up to 0. Part M
-- (migration 036, cod_correct.sql, cod_ledger_doc.sql): a correction is a
-- ledger row, a replay answers the first answer, another request with the
-- key is a mismatch, an order not of the courier's day is refused, and the
-- correction that brings the day to 0 closes the open settlement with a
-- resolution of 0 naming it.
BEGIN;
\ir fixtures.psql
SELECT plan(26);

INSERT INTO got SELECT 'orders', intake_commit(jsonb_build_array(
	pg_temp.entry('c1', '[{"w": "W1", "sku": "A", "qty": 1}]')
		|| '{"pay": "cod", "cod": 10}'::jsonb,
	pg_temp.entry('c2', '[{"w": "W1", "sku": "A", "qty": 1}]')
		|| '{"pay": "prepaid", "cod": null}'::jsonb));
SELECT is(pg_temp.outcomes(v), '{ok,ok}', 'two orders') FROM got WHERE step = 'orders';
SELECT is((SELECT array_agg(coalesce(payment_method, '-') || ':' || coalesce(cod_amount_fen, -1)
			    ORDER BY id) FROM orders WHERE id IN ('O-c1', 'O-c2')),
	  '{cod:10,prepaid:-1}', 'the payment is stored, the amount in fen');
SELECT is(cod_payment_doc('O-c1', true),
	  '{"method": "cod", "amount": "0.10", "amount_fen": 10, "currency": "CNY",
	    "collected": null}'::jsonb, 'the payment document');
UPDATE shipments SET status = 'arrived_at_station';
UPDATE orders SET status = 'arrived_at_station';

INSERT INTO couriers (id, station_id, name, phone, vehicle)
VALUES ('ann', 'ST1', 'Ann Lee', '+86 1', 'e_bike');
INSERT INTO route_plans (plan_id, station_id, wave_key, params, utc_offset_s, unassigned,
			 geojson, version)
VALUES ('p1', 'ST1', '20261123-W0900', '{}', 28800, '[]', '{}', 1);
INSERT INTO routes (station_id, wave_key, courier, plan_id, stops, geometry, distance_m,
		    duration_s, depart_at, return_at, courier_id)
VALUES ('ST1', '20261123-W0900', 0, 'p1', '[]',
	ST_GeomFromText('LINESTRING(116.4 39.9, 116.5 39.9)', 4326), 1, 1, now(), now(), 'ann');
INSERT INTO stops (id, station_id, wave_key, order_id, kind, attempt, status, courier_id,
		   route_version, position, window_start, window_end, proof) VALUES
	('stp_00000000000000c1', 'ST1', '20261123-W0900', 'O-c1', 'delivery', 1, 'planned', 'ann',
	 1, 0, '2026-11-23T01:00:00Z', '2026-11-23T05:00:00Z', 'none'),
	('stp_00000000000000c2', 'ST1', '20261123-W0900', 'O-c2', 'delivery', 1, 'planned', 'ann',
	 1, 1, '2026-11-23T01:00:00Z', '2026-11-23T05:00:00Z', 'none');

CREATE FUNCTION pg_temp.ev(p_stop text, p_key text, p_req jsonb) RETURNS jsonb
LANGUAGE sql AS $$
	SELECT stop_event('ann', p_stop, p_key, p_req, '2026-11-23T02:00:00Z', 3, '[]')
$$;

SELECT is(pg_temp.ev('stp_00000000000000c1', 'k0', '{"event": "delivered", "proof": {}}')
	  ->>'field', 'collected', 'a COD stop needs collected');
SELECT is(pg_temp.ev('stp_00000000000000c1', 'k0', '{"event": "delivered", "proof": {},
	  "collected": {"method": "cash", "amount_fen": 11}}')->>'field', 'collected.amount',
	  'not more than due');
SELECT is(pg_temp.ev('stp_00000000000000c1', 'k0', '{"event": "delivered", "proof": {},
	  "collected": {"method": "cash", "amount_fen": 5}}')->>'field', 'collected.short_reason',
	  'less than due needs a reason');
SELECT is(pg_temp.ev('stp_00000000000000c2', 'k9', '{"event": "delivered", "proof": {},
	  "collected": {"method": "cash", "amount_fen": 0}}')->>'field', 'collected',
	  'a prepaid order has nothing to collect');
SELECT is(pg_temp.ev('stp_00000000000000c1', 'k1', '{"event": "delivered", "proof": {},
	  "collected": {"method": "cash", "amount_fen": 10}}')->'stop'->'outcome'->'collected',
	  '{"method": "cash", "amount": "0.10", "amount_fen": 10, "due": "0.10"}'::jsonb,
	  'collected in full');
SELECT is(pg_temp.ev('stp_00000000000000c1', 'k1', '{"event": "delivered", "proof": {},
	  "collected": {"method": "cash", "amount_fen": 10}}')->>'r', 'ok', 'a replay');
SELECT is((SELECT count(*) || '|' || sum(amount_fen) || '|' || min(day)::text FROM cod_ledger
	    WHERE courier_id = 'ann'), '1|10|2026-11-23', 'one collection, on the wave''s day');
SELECT is((SELECT detail->>'amount' || ' ' || (detail->>'currency') FROM order_events
	    WHERE order_id = 'O-c1' AND kind = 'payment.collected'), '0.10 CNY',
	  'payment.collected');
SELECT throws_ok($$UPDATE cod_ledger SET amount_fen = 0$$, '23001', NULL, 'no UPDATE');
SELECT throws_ok($$DELETE FROM cod_ledger$$, '23001', NULL, 'no DELETE');

SELECT is(cod_settle('ST1', 'ann', 'h1', '{"day": "2026-11-23", "handed_fen": 7}',
		     '2026-11-23T10:00:00Z', 'tok_x')->'settlement'->>'status', 'open',
	  '0.07 of 0.10 handed: open');
SELECT is(cod_day_doc('ST1', 'ann', '2026-11-23')->>'balance', '0.03', 'the balance');
SELECT is(cod_resolve('ST1', 'ann', (SELECT id FROM cod_settlements WHERE courier_id = 'ann'),
		      'coin lost', '2026-11-23T11:00:00Z', 'tok_x')->'settlement'->>'status',
	  'resolved', 'resolved with a reason');
SELECT is((SELECT (d->>'balance') || ' ' || (d->>'written_off') || ' ' || (d->>'open')
	     FROM cod_day_doc('ST1', 'ann', '2026-11-23') AS d), '0.00 0.03 0.00',
	  'written off: the day adds up');

-- Part M: corrections. A hand-over of 0.05 against nothing left is open
-- (the courier handed 0.05 too much): the day's balance is -0.05.
SELECT is(cod_settle('ST1', 'ann', 'h2', '{"day": "2026-11-23", "handed_fen": 5}',
		     '2026-11-23T12:00:00Z', 'tok_x')->'settlement'->>'status', 'open',
	  'a hand-over of 0.05 too much: open');
CREATE FUNCTION pg_temp.corr(p_key text, p_req jsonb) RETURNS jsonb LANGUAGE sql AS $$
	SELECT cod_correct('ST1', 'ann', p_key, '{"day": "2026-11-23"}'::jsonb || p_req,
			   '2026-11-23T13:00:00Z', 'tok_admin')
$$;
INSERT INTO got SELECT 'c1', pg_temp.corr('c1', '{"amount_fen": 2, "reason": "coin found"}');
SELECT is((SELECT (v->'answer'->'closed')::text || ' ' || (v->'answer'->'day'->>'balance')
	     FROM got WHERE step = 'c1'), '[] -0.03', 'off balance: it closes nothing');
SELECT is(pg_temp.corr('c1', '{"amount_fen": 2, "reason": "coin found"}'),
	  (SELECT v FROM got WHERE step = 'c1'), 'a replay answers the first answer');
SELECT is(pg_temp.corr('c1', '{"amount_fen": 3, "reason": "coin found"}')->>'r', 'mismatch',
	  'the key with another request');
SELECT is(pg_temp.corr('c9', '{"amount_fen": 3, "reason": "r", "order": "O-none"}')->>'r',
	  'bad_order', 'an order not of the courier''s day');
INSERT INTO got SELECT 'c2', pg_temp.corr('c2', '{"amount_fen": 3, "reason": "keyed low",
					       "order": "O-c1"}');
SELECT is((SELECT v->'answer'->'closed' FROM got WHERE step = 'c2'),
	  (SELECT jsonb_build_array(id) FROM cod_settlements WHERE idempotency_key = 'h2'),
	  'the correction that balances the day closes the open settlement');
SELECT is((SELECT kind || ' ' || amount_fen || ' ' || (correction_id = (
		SELECT (v->'answer'->'correction'->>'id')::bigint FROM got WHERE step = 'c2'))
	     FROM cod_ledger WHERE id = (SELECT max(id) FROM cod_ledger)), 'resolution 0 true',
	  'a resolution of 0 naming the correction');
SELECT is((SELECT (d->'entries'->-1->>'balance') || ' ' || jsonb_array_length(d->'entries')
		  || ' ' || (d->>'open')
	     FROM cod_ledger_doc('ST1', 'ann', '2026-11-23') AS d), '0.00 7 0.00',
	  'the ledger: seven rows, ending at 0');
SELECT throws_ok($$UPDATE cod_corrections SET answer = '{}'$$, '23001', NULL,
		 'cod_corrections is append-only');

SELECT * FROM finish();
ROLLBACK;
