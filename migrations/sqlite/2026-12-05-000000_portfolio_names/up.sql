-- Portfolio names compare byte for byte (issue 20), SQLite flavour: nothing to change.
-- Columns declared without COLLATE use SQLite's BINARY collation ('Alice' <> 'alice',
-- 'cafe' <> 'café'), which MySQL's utf8mb4_bin and PostgreSQL's "C" now match. This
-- migration exists so the three backends carry the same list of migrations.
SELECT 1;
