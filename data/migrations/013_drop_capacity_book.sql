-- 013: drop capacity_book (010): it has no caller since intake_commit books
-- station capacity itself, set-wise (011). From here on the numbered
-- migrations hold tables, constraints and indexes; every function and view
-- is one file of data/sql/, re-applied by dispatchctl migrate whenever it
-- changes, and a migration only DROPs one (to change its signature, or
-- because it is dead, as here).
DROP FUNCTION IF EXISTS capacity_book(text, text, integer);
