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
SELECT plan(54);

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
SELECT is(pg_temp.ev('stp_00000000000000c1', 'k0', '{"event": "delivered", "proof": {},
	  "collected": {"method": "cash", "amount_fen": 0, "short_reason": "customer_short"}}')
	  ->>'field', 'collected.amount', 'nothing collected is no delivery, even with a reason');
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
SELECT is((SELECT (d->>'balance') || ' ' || (d->>'open') || ' ' || (d->>'pending')
	     FROM cod_day_doc('ST1', 'ann', '2026-11-23') AS d), '-0.03 -0.03 0.00',
	  'the balance and the open difference: 0.03 missing, both negative');
SELECT is(cod_resolve('ST1', 'ann', (SELECT id FROM cod_settlements WHERE courier_id = 'ann'),
		      'coin lost', '2026-11-23T11:00:00Z', 'tok_x')->'settlement'->>'status',
	  'resolved', 'resolved with a reason');
SELECT is((SELECT (d->>'balance') || ' ' || (d->>'written_off') || ' ' || (d->>'open')
	     FROM cod_day_doc('ST1', 'ann', '2026-11-23') AS d), '0.00 0.03 0.00',
	  'written off: the day adds up');

SELECT is(cod_settle('ST1', 'ann', 'h1', '{"day": "2026-11-23", "handed_fen": 7}',
		     '2026-11-23T14:00:00Z', 'tok_x')->'settlement'->>'status', 'open',
	  'a replay answers the first answer, closed since');

-- Part M: corrections. A hand-over of 0.05 against nothing left is open
-- (the courier handed 0.05 too much): the day's balance is +0.05.
SELECT is(cod_settle('ST1', 'ann', 'h2', '{"day": "2026-11-23", "handed_fen": 5}',
		     '2026-11-23T12:00:00Z', 'tok_x')->'settlement'->>'status', 'open',
	  'a hand-over of 0.05 too much: open');
CREATE FUNCTION pg_temp.corr(p_key text, p_req jsonb) RETURNS jsonb LANGUAGE sql AS $$
	SELECT cod_correct('ST1', 'ann', p_key, '{"day": "2026-11-23"}'::jsonb || p_req,
			   '2026-11-23T13:00:00Z', 'tok_admin')
$$;
SELECT is(pg_temp.corr('c8', '{"amount_fen": 2, "reason": "r",
				"settlement": "set_0000000000000000"}')->>'r', 'bad_settlement',
	  'a settlement named that is not the day''s open one');
INSERT INTO got SELECT 'c1', pg_temp.corr('c1', jsonb_build_object('amount_fen', 2,
	'reason', 'coin found',
	'settlement', (SELECT id FROM cod_settlements WHERE idempotency_key = 'h2')));
SELECT is((SELECT (v->'answer'->'closed')::text || ' ' || (v->'answer'->'day'->>'balance')
		  || ' ' || (v->'answer'->'day'->>'open')
	     FROM got WHERE step = 'c1'), '[] 0.03 0.03', 'off balance: it closes nothing');
SELECT is(pg_temp.corr('c1', jsonb_build_object('amount_fen', 2, 'reason', 'coin found',
	'settlement', (SELECT id FROM cod_settlements WHERE idempotency_key = 'h2'))),
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

-- The model (docs/api.md "Cash on delivery"), per station, courier and day:
-- balance = handed + written off - cash collected - corrections; pending =
-- cash collections and corrections no hand-over counted yet; the open
-- settlements' open amounts add up to balance + pending, at most one is
-- open, none is open at 0, and a balanced day (balance and pending 0) has
-- nothing open. Property check: random sequences of collections (cash,
-- card, mobile; some at another station), hand-overs (exact, short, over),
-- corrections (naming the open settlement, an order or neither: attached
-- or pending) and resolutions, the invariant checked after every step
-- against sums of the ledger and a pending kept by the test itself.
-- Returns NULL, or the first step that breaks it.
CREATE FUNCTION pg_temp.prop(p_seed float8, p_day date, p_steps int) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
	d jsonb;
	bal bigint;
	pend bigint := 0;
	open_id text;
	n_open int;
	sum_open bigint;
	zero_open int;
	x bigint;
	r float8;
	op text;
	m text;
	want text;
	got_r text;
	attached boolean;
	at timestamptz := p_day + time '20:00';
BEGIN
	PERFORM setseed(p_seed);
	FOR i IN 1..p_steps LOOP
		at := at + interval '1 minute';
		SELECT id INTO open_id FROM cod_settlements
		 WHERE station_id = 'ST1' AND courier_id = 'ann' AND day = p_day
		   AND status = 'open';
		d := cod_day_doc('ST1', 'ann', p_day);
		r := random();
		x := 1 + floor(random() * 3000)::bigint;
		IF r < 0.35 THEN
			m := (ARRAY['cash', 'cash', 'cash', 'card', 'mobile'])[1 + floor(random() * 5)::int];
			op := 'collect ' || m || ' ' || x;
			INSERT INTO cod_ledger (kind, station_id, courier_id, day, order_id, stop_id,
						method, amount_fen, due_fen, reference, at)
			VALUES ('collection', 'ST1', 'ann', p_day, 'O-c1', 'prop-' || p_day || '-' || i,
				m, x, x, CASE WHEN m <> 'cash' THEN 'REF' END, at);
			IF m = 'cash' THEN
				pend := pend + x;
			END IF;
		ELSIF r < 0.45 THEN
			op := 'collect at ST2 ' || x;
			INSERT INTO cod_ledger (kind, station_id, courier_id, day, order_id, stop_id,
						method, amount_fen, due_fen, at)
			VALUES ('collection', 'ST2', 'ann', p_day, 'O-c1', 'prop2-' || p_day || '-' || i,
				'cash', x, x, at);
		ELSIF r < 0.7 THEN
			-- what the courier still holds, handed exactly or off by a little
			x := greatest(0, -(d->>'balance_fen')::bigint + CASE WHEN random() < 0.4 THEN 0
				ELSE floor(random() * 1001)::bigint - 500 END);
			op := 'hand over ' || x;
			PERFORM cod_settle('ST1', 'ann', 'pk-' || p_day || '-' || i,
					   jsonb_build_object('day', p_day, 'handed_fen', x), at, 'tok_x');
			pend := 0;
		ELSIF r < 0.9 THEN
			-- a correction; now and then exactly what the open one lacks
			x := CASE WHEN open_id IS NOT NULL AND random() < 0.3
				  THEN cod_settlement_open(open_id)
				  ELSE (floor(random() * 601)::bigint - 300) END;
			IF x = 0 THEN
				x := 7;
			END IF;
			-- naming the open settlement (attached; refused without one),
			-- the order (attached when the open one counted a collection
			-- of it; refused when the day has none) or neither (pending)
			m := (ARRAY['settlement', 'order', 'none'])[1 + floor(random() * 3)::int];
			op := 'correct ' || x || ' ' || m;
			want := CASE WHEN m = 'settlement' AND open_id IS NULL THEN 'bad_settlement'
				     WHEN m = 'order' AND NOT EXISTS (SELECT 1 FROM cod_ledger
					WHERE kind = 'collection' AND station_id = 'ST1'
					  AND courier_id = 'ann' AND day = p_day) THEN 'bad_order'
				     ELSE 'ok' END;
			attached := m = 'settlement' OR (m = 'order' AND EXISTS (
				SELECT 1 FROM cod_ledger c, cod_ledger h
				 WHERE h.settlement_id = open_id AND h.kind = 'handover'
				   AND c.kind = 'collection' AND c.station_id = 'ST1'
				   AND c.courier_id = 'ann' AND c.day = p_day AND c.id < h.id));
			got_r := cod_correct('ST1', 'ann', 'pc-' || p_day || '-' || i,
					     jsonb_build_object('day', p_day, 'amount_fen', x,
								'reason', 'r')
					     || CASE m WHEN 'settlement' THEN
						  jsonb_build_object('settlement',
							coalesce(open_id, 'set_0000000000000000'))
						WHEN 'order' THEN '{"order": "O-c1"}'
						ELSE '{}' END, at, 'tok_admin')->>'r';
			IF got_r IS DISTINCT FROM want THEN
				RETURN format('step %s (%s): %s, not %s', i, op, got_r, want);
			END IF;
			IF want = 'ok' AND NOT attached THEN
				pend := pend + x;
			END IF;
		ELSE
			op := 'resolve ' || coalesce(open_id, '-');
			IF open_id IS NOT NULL THEN
				PERFORM cod_resolve('ST1', 'ann', open_id, 'written off', at, 'tok_admin');
			END IF;
		END IF;
		d := cod_day_doc('ST1', 'ann', p_day);
		SELECT coalesce(sum(CASE WHEN kind IN ('handover', 'resolution') THEN amount_fen
					 WHEN kind = 'correction' THEN -amount_fen
					 WHEN method = 'cash' THEN -amount_fen ELSE 0 END), 0)
		  INTO bal FROM cod_ledger
		 WHERE station_id = 'ST1' AND courier_id = 'ann' AND day = p_day;
		SELECT count(*), coalesce(sum((e->>'open_fen')::bigint), 0),
		       count(*) FILTER (WHERE (e->>'open_fen')::bigint = 0)
		  INTO n_open, sum_open, zero_open
		  FROM jsonb_array_elements(d->'settlements') e WHERE e->>'status' = 'open';
		IF (d->>'balance_fen')::bigint <> bal OR (d->>'pending_fen')::bigint <> pend
		   OR (d->>'open_fen')::bigint <> bal + pend OR sum_open <> bal + pend
		   OR n_open > 1 OR zero_open > 0 OR (bal = 0 AND pend = 0 AND n_open > 0) THEN
			RETURN format('step %s (%s): balance %s pending %s open %s (%s open): %s', i, op,
				      bal, pend, sum_open, n_open, d);
		END IF;
	END LOOP;
	RETURN NULL;
END
$$;
SELECT is(pg_temp.prop(s / 10.0, date '2026-12-01' + s, 40), NULL,
	  'the day adds up after every step, sequence ' || s)
  FROM generate_series(1, 6) s;

-- Fixtures of the named cases: a cash collection of O-c1 at ST1 (its stop
-- id, day, fen) and a hand-over (its key, day, fen) kept in got.
CREATE FUNCTION pg_temp.cash(p_stop text, p_day date, p_fen bigint) RETURNS void
LANGUAGE sql AS $$
	INSERT INTO cod_ledger (kind, station_id, courier_id, day, order_id, stop_id, method,
				amount_fen, due_fen, at)
	VALUES ('collection', 'ST1', 'ann', p_day, 'O-c1', p_stop, 'cash', p_fen, p_fen, now())
$$;
CREATE FUNCTION pg_temp.hand(p_key text, p_day date, p_fen bigint) RETURNS void
LANGUAGE sql AS $$
	INSERT INTO got SELECT p_key, cod_settle('ST1', 'ann', p_key,
		jsonb_build_object('day', p_day, 'handed_fen', p_fen), now(), 'tok_x')
$$;

-- The cases the property covers, named. A second hand-over that makes a
-- shortfall good closes it (carried into the second, which is balanced).
SELECT pg_temp.cash('one-1', '2026-11-25', 100);
SELECT pg_temp.hand('s1', '2026-11-25', 80);
SELECT pg_temp.hand('s2', '2026-11-25', 20);
SELECT is((SELECT string_agg(status || ':' || expected_fen || ':' || coalesce(carried_into, '-'),
			     ' ' ORDER BY seq) FROM cod_settlements WHERE day = '2026-11-25'),
	  'resolved:100:' || (SELECT v->'settlement'->>'id' FROM got WHERE step = 's2')
	  || ' balanced:20:-', 'the second hand-over covers the shortfall and closes it');
SELECT is((SELECT (d->>'balance_fen') || ' ' || (d->>'open_fen') || ' ' || (d->>'written_off_fen')
	     FROM cod_day_doc('ST1', 'ann', '2026-11-25') AS d), '0 0 0',
	  'nothing written off, nothing open');
SELECT pg_temp.cash('one-2', '2026-11-25', 30);
SELECT is((SELECT (d->>'balance_fen') || ' ' || (d->>'pending_fen') || ' ' || (d->>'open_fen')
	     FROM cod_day_doc('ST1', 'ann', '2026-11-25') AS d), '-30 30 0',
	  'a later collection is pending, not open');
-- Two short hand-overs after it: one open settlement, the shortfall once.
SELECT pg_temp.hand('s3', '2026-11-25', 10);
SELECT pg_temp.hand('s4', '2026-11-25', 0);
SELECT is((SELECT (d->>'balance_fen') || ' ' || (d->>'open_fen') || ' '
		  || jsonb_path_query_array(d, '$.settlements[*].status')::text
	     FROM cod_day_doc('ST1', 'ann', '2026-11-25') AS d),
	  '-20 -20 ["resolved", "balanced", "resolved", "open"]',
	  'two short hand-overs: the shortfall of 0.20 is open once');

-- A correction is recorded against the open settlement only when that
-- settlement counted the money (docs/api.md "A correction that explains
-- the open discrepancy closes it"). 1000.00 collected, 900.00 handed (open
-- -100.00); the afternoon's 200.00 of O-c2 never recorded by the handheld,
-- corrected +200.00 with the order: pending, not against the settlement;
-- resolving writes off 100.00 only and the next hand-over expects 200.00.
INSERT INTO stops (id, station_id, wave_key, order_id, kind, attempt, status, courier_id,
		   route_version, position, window_start, window_end, proof) VALUES
	('stp_00000000000000c3', 'ST1', '20261124-W0900', 'O-c2', 'delivery', 2, 'planned', 'ann',
	 1, 0, '2026-11-24T01:00:00Z', '2026-11-24T05:00:00Z', 'none');
SELECT pg_temp.cash('am-1', '2026-11-24', 100000);
SELECT pg_temp.hand('u1', '2026-11-24', 90000);
INSERT INTO got SELECT 'u2', cod_correct('ST1', 'ann', 'u2', '{"day": "2026-11-24",
	"amount_fen": 20000, "reason": "collected, not recorded", "order": "O-c2"}', now(),
	'tok_admin');
SELECT is((SELECT coalesce(v->'answer'->'correction'->>'settlement', 'none') || ' '
		  || (v->'answer'->'day'->>'open') || ' ' || (v->'answer'->'day'->>'pending')
	     FROM got WHERE step = 'u2'), 'none -100.00 200.00',
	  'a correction of an order collected after the hand-over is pending, not open');
SELECT is(cod_resolve('ST1', 'ann', (SELECT v->'settlement'->>'id' FROM got WHERE step = 'u1'),
		      'lost', now(), 'tok_admin')->'settlement'->>'status', 'resolved',
	  'the shortfall resolved');
SELECT is((SELECT (d->>'written_off') || ' ' || (d->>'pending') || ' ' || (d->>'open')
	     FROM cod_day_doc('ST1', 'ann', '2026-11-24') AS d), '100.00 200.00 0.00',
	  'only the 100.00 the hand-over lacked is written off');
SELECT is(cod_settle('ST1', 'ann', 'u3', '{"day": "2026-11-24", "handed_fen": 20000}', now(),
		     'tok_x')->'settlement'->>'expected', '200.00',
	  'the next hand-over expects the 200.00 the courier still holds');
-- The reverse: 900.00 of 1000.00 handed (-100.00 open), 500.00 collected in
-- cash after it, then corrected -500.00 ("it was card"): pending, so
-- resolving writes off 100.00 and the day adds up to 0.
SELECT pg_temp.cash('am-2', '2026-11-22', 100000);
SELECT pg_temp.hand('v1', '2026-11-22', 90000);
SELECT pg_temp.cash('pm-2', '2026-11-22', 50000);
SELECT is((SELECT coalesce(c->'answer'->'correction'->>'settlement', 'none') || ' '
		  || (c->'answer'->'day'->>'open')
	     FROM cod_correct('ST1', 'ann', 'v2', '{"day": "2026-11-22", "amount_fen": -50000,
			      "reason": "the afternoon''s 500.00 was card"}', now(), 'tok_admin') c),
	  'none -100.00', 'a correction naming no order nor settlement is pending');
SELECT is(cod_resolve('ST1', 'ann', (SELECT v->'settlement'->>'id' FROM got WHERE step = 'v1'),
		      'lost', now(), 'tok_admin')->'settlement'->>'status', 'resolved',
	  'the reverse shortfall resolved');
SELECT is((SELECT (d->>'written_off') || ' ' || (d->>'balance') || ' ' || (d->>'pending')
		  || ' ' || (d->>'open')
	     FROM cod_day_doc('ST1', 'ann', '2026-11-22') AS d), '100.00 0.00 0.00 0.00',
	  'the reverse: 100.00 written off, the day adds up to 0');

-- The courier also worked for station ST2 that day: its money is its own.
INSERT INTO cod_ledger (kind, station_id, courier_id, day, order_id, stop_id, method,
			amount_fen, due_fen, at)
VALUES ('collection', 'ST2', 'ann', '2026-11-25', 'O-c1', 'two-1', 'cash', 500, 500, now());
SELECT is((SELECT (d->'collected'->>'cash_fen') || ' ' || (d->>'balance_fen')
	     FROM cod_day_doc('ST1', 'ann', '2026-11-25') AS d), '130 -20',
	  'another station''s collections are not this station''s');
SELECT is(cod_settle('ST1', 'ann', 's5', '{"day": "2026-11-25", "handed_fen": 20}', now(), 'x')
	  ->'settlement'->>'expected_fen', '20', 'nor in what a hand-over here expects');
-- Moved to ST3: ST2 settles the cash she collected for it, ST1 still sees
-- and corrects her days there, but not a day she has nothing at ST1.
UPDATE couriers SET station_id = 'ST3' WHERE id = 'ann';
SELECT is(cod_settle('ST2', 'ann', 's6', '{"day": "2026-11-25", "handed_fen": 500}', now(), 'x')
	  ->'settlement'->>'status', 'balanced', 'a station settles the cash collected for it');
SELECT is((SELECT (cod_day_doc('ST1', 'ann', '2026-11-25')->>'balance_fen') || ' '
		  || (cod_correct('ST1', 'ann', 'mv', '{"day": "2026-11-25", "amount_fen": 5,
				  "reason": "r"}', now(), 'x')->>'r') || ' '
		  || coalesce(cod_day_doc('ST1', 'ann', '2026-11-26')::text, 'none')),
	  '0 ok none', 'the old station keeps her day there, and only that');

-- Migration 039 on rows recorded before 038: a correction with settlement
-- NULL after an open settlement's hand-over, of an order that hand-over
-- counted, is moved onto it by a net-zero pair (here closing it); one
-- without an order stays pending; a settlement 038 closed (carried_into,
-- resolved_by NULL) without a feed line gets its resolved line.
SELECT pg_temp.cash('old-1', '2026-11-21', 10000);
SELECT pg_temp.hand('w1', '2026-11-21', 9000);
INSERT INTO cod_ledger (kind, station_id, courier_id, day, order_id, amount_fen, reason, at)
VALUES ('correction', 'ST1', 'ann', '2026-11-21', 'O-c1', -1000, 'keyed high', now()),
       ('correction', 'ST1', 'ann', '2026-11-21', NULL, 300, 'found', now());
SELECT pg_temp.cash('old-2', '2026-11-20', 500);
SELECT pg_temp.hand('w2', '2026-11-20', 0);
INSERT INTO cod_ledger (kind, station_id, courier_id, day, amount_fen, reason, at)
VALUES ('correction', 'ST1', 'ann', '2026-11-20', 100, 'r', now());
SELECT pg_temp.hand('w3', '2026-11-20', 0);
UPDATE cod_settlements SET resolved_by = NULL WHERE idempotency_key = 'w2';
-- (as 038 left it: no resolved line; the test's transaction rolls back)
ALTER TABLE station_feed DISABLE TRIGGER station_feed_no_update;
DELETE FROM station_feed WHERE kind = 'cod.discrepancy' AND data->>'status' = 'resolved'
   AND data->>'settlement' = (SELECT id FROM cod_settlements WHERE idempotency_key = 'w2');
ALTER TABLE station_feed ENABLE TRIGGER station_feed_no_update;
SELECT is((SELECT (d->>'open_fen') || ' ' || (d->>'pending_fen')
	     FROM cod_day_doc('ST1', 'ann', '2026-11-21') AS d), '-1000 -700',
	  'before 039: the old corrections are pending');
\ir ../../data/migrations/039_cod_corrections_counted.sql
SELECT is((SELECT (d->>'balance_fen') || ' ' || (d->>'pending_fen') || ' ' || (d->>'open_fen')
		  || ' ' || (d->'settlements'->0->>'status')
	     FROM cod_day_doc('ST1', 'ann', '2026-11-21') AS d), '-300 300 0 resolved',
	  '039: the order''s correction moved onto the settlement, closing it; the other pending');
SELECT is((SELECT string_agg(kind || ':' || amount_fen || ':' || (settlement_id IS NOT NULL),
			     ' ' ORDER BY id)
	     FROM cod_ledger WHERE day = '2026-11-21' AND kind IN ('correction', 'resolution')),
	  'correction:-1000:false correction:300:false correction:1000:false '
	  || 'correction:-1000:true resolution:0:true', '039 appends a net-zero pair');
SELECT is((SELECT count(*)::int FROM station_feed WHERE kind = 'cod.discrepancy'
	     AND data->>'status' = 'resolved' AND data->>'carried_into' = (
		SELECT id FROM cod_settlements WHERE idempotency_key = 'w3')), 1,
	  '039: the resolved feed line of a settlement 038 closed');

SELECT * FROM finish();
ROLLBACK;
