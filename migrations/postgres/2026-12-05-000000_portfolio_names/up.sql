-- Portfolio names compare byte for byte (issue 20), PostgreSQL flavour.
-- The columns had the database's default collation. PostgreSQL compares strings of a
-- deterministic collation byte for byte ('Alice' <> 'alice', 'cafe' <> 'café'), and a
-- database's default collation is always deterministic, so names were already exact; the
-- order of the names, though, followed the database's locale. "C" makes both explicit and
-- the same as SQLite's BINARY and MySQL's utf8mb4_bin. Every row is kept (a collation
-- change between deterministic collations rebuilds the indexes, not the rows).

ALTER TABLE portfolios ALTER COLUMN name TYPE VARCHAR(100) COLLATE "C";
ALTER TABLE trades ALTER COLUMN portfolio TYPE VARCHAR(100) COLLATE "C";
ALTER TABLE positions ALTER COLUMN portfolio TYPE VARCHAR(100) COLLATE "C";
