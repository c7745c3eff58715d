-- stock_set gains who and why (data/sql/stock_set.sql writes stock_ledger):
-- drop the three-argument version; the file re-creates the function.
DROP FUNCTION IF EXISTS stock_set(text, text, integer);
