-- pgTAP: returns (issue 12 part P4; data/sql/return_window.sql,
-- return_request.sql, return_scan.sql, return_inspect.sql): the window by
-- reason and category, the quantities left, the wave offered, the refund
-- policy, the scans' order and scope, and the inspection that restocks
-- passed lines with their ledger rows.
BEGIN;
\ir fixtures.psql
SELECT plan(24);

UPDATE skus SET price_milli = 64500 WHERE sku = 'A';
UPDATE skus SET price_milli = 2999000, category = 'large_appliances' WHERE sku = 'B';
INSERT INTO got SELECT 'o1', intake_commit(jsonb_build_array(
	pg_temp.entry('r1', '[{"w": "W1", "sku": "A", "qty": 2}, {"w": "W1", "sku": "B", "qty": 1}]')));
UPDATE orders SET status = 'delivered' WHERE id = 'O-r1';
INSERT INTO order_events (order_id, kind, at) VALUES ('O-r1', 'delivered', '2026-11-23T02:00:00Z');

CREATE FUNCTION pg_temp.pol() RETURNS jsonb LANGUAGE sql AS $$
	SELECT '{"default": {"window_days": 7, "defect_window_days": 15, "quick_refund_max_fen": 20000},
		 "categories": {"large_appliances": {"window_days": 7, "defect_window_days": 30,
						     "quick_refund_max_fen": 0}}}'::jsonb
$$;
CREATE FUNCTION pg_temp.waves() RETURNS jsonb LANGUAGE sql AS $$
	SELECT '[{"key": "20261124-W0900", "start": "2026-11-24T09:00:00+08:00",
		  "end": "2026-11-24T13:00:00+08:00"}]'::jsonb
$$;
CREATE FUNCTION pg_temp.req(p_lines text, p_reason text, p_at text, p_wave text DEFAULT '20261124-W0900')
RETURNS jsonb LANGUAGE sql AS $$
	SELECT return_request('O-r1', jsonb_build_object('lines', p_lines::jsonb, 'reason', p_reason,
		'notes', '', 'pickup_wave', p_wave), NULL, pg_temp.pol(), pg_temp.waves(),
		p_at::timestamptz, 'tok_test')
$$;

-- The window: from delivery, per reason, the strictest category.
SELECT is(return_window('O-r1', '{test}', 'no_reason', pg_temp.pol(), '2026-11-30T01:59:00Z')->>'r',
	  'open', 'no_reason: open for 7 days');
SELECT is(return_window('O-r1', '{test}', 'no_reason', pg_temp.pol(), '2026-11-30T02:01:00Z')->>'r',
	  'closed', 'and closed after');
SELECT is((return_window('O-r1', '{test}', 'defective', pg_temp.pol(), '2026-12-05T00:00:00Z')
	  - 'r' - 'delivered_at'), '{"window_end": "2026-12-08T02:00:00.000Z", "window_days": 15}',
	  'defective: 15 days, named');
SELECT is(return_window('O-r1', '{test,large_appliances}', 'defective', pg_temp.pol(),
			'2026-12-10T00:00:00Z')->>'r', 'closed', 'the strictest category counts');
SELECT is(return_window('O-r1', '{large_appliances}', 'defective', pg_temp.pol(),
			'2026-12-20T00:00:00Z')->>'r', 'open', 'large appliances: 30 days for defects');
SELECT is(return_window('O-r2', '{test}', 'defective', pg_temp.pol(), now())->>'r',
	  'not_delivered', 'an unknown or undelivered order: not delivered');

-- Requests refused change nothing.
SELECT is(pg_temp.req('[{"line": 1, "qty": 3}]', 'no_reason', '2026-11-24T00:00:00Z')->>'field',
	  'lines[0].qty', 'more than delivered');
SELECT is(pg_temp.req('[{"line": 7, "qty": 1}]', 'no_reason', '2026-11-24T00:00:00Z')->>'field',
	  'lines[0].line', 'not a line of the order');
SELECT is(pg_temp.req('[{"line": 1, "qty": 1}]', 'no_reason', '2026-12-24T00:00:00Z')->>'r',
	  'closed', 'outside the window');
SELECT is(pg_temp.req('[{"line": 1, "qty": 1}]', 'no_reason', '2026-11-24T00:00:00Z',
		      '20261125-W0900')->>'r', 'wave', 'a wave not offered');
SELECT is((SELECT count(*)::int FROM returns) + (SELECT count(*)::int FROM stops), 0,
	  'nothing written');

-- Accepted: the refund at pickup (129.00 <= 200.00), the pickup stop.
INSERT INTO got SELECT 'ret1', pg_temp.req('[{"line": 1, "qty": 2}]', 'no_reason',
					  '2026-11-24T00:00:00Z');
SELECT is((SELECT (v->'return'->'refund') - 'due_at' FROM got WHERE step = 'ret1'),
	  '{"amount": "129.00", "amount_fen": 12900, "currency": "CNY", "policy": "at_pickup"}',
	  'the refund is due at pickup');
SELECT is((SELECT row(kind, status, wave_key, attempt, courier_id IS NULL)::text FROM stops
	    WHERE return_id = (SELECT v->'return'->>'id' FROM got WHERE step = 'ret1')),
	  '(pickup,pending,20261124-W0900,1,t)', 'a pending pickup stop in the wave');
SELECT is(pg_temp.req('[{"line": 1, "qty": 1}]', 'no_reason', '2026-11-24T00:00:00Z')->>'message',
	  'at most 0 of line 1 can be returned (2 delivered, 2 returned already)',
	  'earlier returns count');
INSERT INTO got SELECT 'ret2', pg_temp.req('[{"line": 2, "qty": 1}]', 'defective',
					  '2026-11-24T00:00:00Z');
SELECT is((SELECT v->'return'->'refund'->>'policy' FROM got WHERE step = 'ret2'),
	  'after_inspection', 'above the category''s quick refund: after inspection');

-- Scans: order, scope, role.
CREATE FUNCTION pg_temp.ret(p_step text) RETURNS text LANGUAGE sql AS $$
	SELECT v->'return'->>'id' FROM got WHERE step = p_step
$$;
UPDATE returns SET status = 'picked_up' WHERE id = pg_temp.ret('ret2');
SELECT is(return_scan(pg_temp.ret('ret2'), 'arrived_at_station', 'station', '{ST9}', 'tok_s',
		      now())->>'r', 'not_found', 'another station''s return');
SELECT is(return_scan(pg_temp.ret('ret2'), 'received_at_warehouse', 'station', '{ST1}', 'tok_s',
		      now())->>'r', 'forbidden', 'a station does not receive at a warehouse');
SELECT is(return_scan(pg_temp.ret('ret2'), 'departed_station', 'station', '{ST1}', 'tok_s',
		      now())->>'current', 'picked_up', 'not at the station yet');
SELECT is(return_scan(pg_temp.ret('ret2'), 'arrived_at_station', 'station', '{ST1}', 'tok_s',
		      now())->'return'->>'status', 'at_station', 'arrived at the station');
SELECT is(return_scan(pg_temp.ret('ret2'), 'received_at_warehouse', 'warehouse', '{W1}', 'tok_w',
		      now())->'return'->>'status', 'received', 'received at its warehouse');

-- Inspection: every line once; passed lines restocked with a ledger row.
SELECT is(return_inspect(pg_temp.ret('ret2'), '[{"line": 9, "result": "passed"}]', 'warehouse',
			 '{W1}', 'tok_w', now())->>'field', 'lines[0].line', 'a line not of the return');
SELECT is(pg_temp.level('W1', 'B'), '1/1/0',
	  'before: B on hand 1, reserved by the order (a fixture that never departed)');
SELECT is(return_inspect(pg_temp.ret('ret2'), '[{"line": 2, "result": "passed"}]', 'warehouse',
			 '{W1}', 'tok_w', '2026-11-26T00:00:00Z')->'return'->>'status', 'inspected',
	  'inspected');
SELECT is(pg_temp.level('W1', 'B') || ' ' || (SELECT row(actor, old_on_hand, new_on_hand)::text
	   FROM stock_ledger WHERE reason = 'return ' || pg_temp.ret('ret2')),
	  '2/1/1 (tok_w,1,2)', 'on hand and available + 1, reserved kept, with its ledger row');

SELECT * FROM finish();
ROLLBACK;
