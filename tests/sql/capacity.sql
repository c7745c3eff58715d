-- pgTAP: the capacity functions: capacity_release (data/sql/capacity_release.sql)
-- gives one place back and never goes below zero; capacity_book, dead since
-- intake_commit books capacity itself, is dropped (migration 013).
BEGIN;
\ir fixtures.psql
SELECT plan(6);

SELECT hasnt_function('capacity_book', 'capacity_book is dropped');
SELECT has_function('capacity_release', ARRAY['text', 'text'], 'capacity_release exists');
INSERT INTO capacity_counters (station_id, counter_key, capacity, booked)
VALUES ('ST1', '20261123-W0900', 3, 2);
SELECT capacity_release('ST1', '20261123-W0900');
SELECT is((SELECT booked FROM capacity_counters WHERE counter_key = '20261123-W0900'), 1, 'one place given back');
SELECT capacity_release('ST1', '20261123-W0900');
SELECT capacity_release('ST1', '20261123-W0900');
SELECT is((SELECT booked FROM capacity_counters WHERE counter_key = '20261123-W0900'), 0,
	  'never below zero');
SELECT capacity_release('ST1', '20261123-W1300');
SELECT ok(NOT EXISTS (SELECT 1 FROM capacity_counters WHERE counter_key = '20261123-W1300'),
	  'releasing an unknown counter creates nothing');
SELECT throws_ok($$INSERT INTO capacity_counters (station_id, counter_key, capacity) VALUES ('ST1', 'tomorrow', 1)$$,
		 '23514', NULL, 'counter keys have the date-kind-time shape');

SELECT * FROM finish();
ROLLBACK;
