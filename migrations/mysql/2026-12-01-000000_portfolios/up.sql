-- Named portfolios (issue 15), MySQL/MariaDB flavour (keep in step with ../../sqlite/).
-- Trades and positions belong to a portfolio; the once-per-hour key becomes
-- (portfolio, coin_id, slot). Every existing trade and position moves to 'default'.
-- Each trade also says how it was filled: fee, price source, time of that price.

CREATE TABLE portfolios (
    name       VARCHAR(100) NOT NULL PRIMARY KEY,
    created_at DATETIME     NOT NULL
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4;
INSERT INTO portfolios (name, created_at) VALUES ('default', UTC_TIMESTAMP());

-- The coin foreign keys need an index of their own once the unique keys no longer start
-- with coin_id.
ALTER TABLE trades
    ADD COLUMN portfolio VARCHAR(100) NOT NULL DEFAULT 'default' AFTER id,
    ADD COLUMN fee DOUBLE NOT NULL DEFAULT 0,
    ADD COLUMN price_source VARCHAR(100) NOT NULL DEFAULT 'coingecko:markets.current_price',
    ADD COLUMN price_at DATETIME NULL,
    ADD INDEX trades_coin_idx (coin_id);
ALTER TABLE trades
    DROP INDEX trades_coin_slot,
    ADD CONSTRAINT trades_portfolio_coin_slot UNIQUE (portfolio, coin_id, slot),
    ADD CONSTRAINT trades_portfolio FOREIGN KEY (portfolio) REFERENCES portfolios (name);
ALTER TABLE trades ALTER COLUMN portfolio DROP DEFAULT;

ALTER TABLE positions
    ADD COLUMN portfolio VARCHAR(100) NOT NULL DEFAULT 'default' FIRST,
    ADD INDEX positions_coin_idx (coin_id);
ALTER TABLE positions
    DROP PRIMARY KEY,
    ADD PRIMARY KEY (portfolio, coin_id),
    ADD CONSTRAINT positions_portfolio FOREIGN KEY (portfolio) REFERENCES portfolios (name);
ALTER TABLE positions ALTER COLUMN portfolio DROP DEFAULT;
