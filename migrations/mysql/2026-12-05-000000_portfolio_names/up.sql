-- Portfolio names compare byte for byte (issue 20), MySQL/MariaDB flavour.
-- The columns had the server's default collation (utf8mb4_general_ci on MariaDB), which
-- makes 'Alice' = 'alice' and 'cafe' = 'café': two portfolios of SQLite or PostgreSQL
-- were one here. utf8mb4_bin compares the bytes, as SQLite's BINARY and PostgreSQL's "C"
-- do. (utf8mb4_bin pads with spaces, 'a' = 'a '; the trader trims the names it is given.)
-- The referencing columns change with the key they reference, so the foreign keys are
-- dropped and added back around the change. Every row is kept: names that were distinct
-- under the old collation stay distinct under the binary one.

ALTER TABLE trades DROP FOREIGN KEY trades_portfolio;
ALTER TABLE positions DROP FOREIGN KEY positions_portfolio;
ALTER TABLE portfolios
    MODIFY name VARCHAR(100) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL;
ALTER TABLE trades
    MODIFY portfolio VARCHAR(100) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    ADD CONSTRAINT trades_portfolio FOREIGN KEY (portfolio) REFERENCES portfolios (name);
ALTER TABLE positions
    MODIFY portfolio VARCHAR(100) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    ADD CONSTRAINT positions_portfolio FOREIGN KEY (portfolio) REFERENCES portfolios (name);
