-- Back to the charset's default collation; fails (and changes nothing) while two names
-- differ only by case or accent.
ALTER TABLE trades DROP FOREIGN KEY trades_portfolio;
ALTER TABLE positions DROP FOREIGN KEY positions_portfolio;
ALTER TABLE portfolios MODIFY name VARCHAR(100) CHARACTER SET utf8mb4 NOT NULL;
ALTER TABLE trades
    MODIFY portfolio VARCHAR(100) CHARACTER SET utf8mb4 NOT NULL,
    ADD CONSTRAINT trades_portfolio FOREIGN KEY (portfolio) REFERENCES portfolios (name);
ALTER TABLE positions
    MODIFY portfolio VARCHAR(100) CHARACTER SET utf8mb4 NOT NULL,
    ADD CONSTRAINT positions_portfolio FOREIGN KEY (portfolio) REFERENCES portfolios (name);
