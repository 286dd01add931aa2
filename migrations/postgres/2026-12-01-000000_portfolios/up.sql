-- Named portfolios (issue 15), PostgreSQL flavour (keep in step with ../../sqlite/).
-- Trades and positions belong to a portfolio; the once-per-hour key becomes
-- (portfolio, coin_id, slot). Every existing trade and position moves to 'default'.
-- Each trade also says how it was filled: fee, price source, time of that price.

CREATE TABLE portfolios (
    name       VARCHAR(100) NOT NULL PRIMARY KEY,
    created_at TIMESTAMP    NOT NULL
);
INSERT INTO portfolios (name, created_at)
    VALUES ('default', date_trunc('second', now() AT TIME ZONE 'UTC'));

ALTER TABLE trades
    ADD COLUMN portfolio VARCHAR(100) NOT NULL DEFAULT 'default' REFERENCES portfolios (name),
    ADD COLUMN fee DOUBLE PRECISION NOT NULL DEFAULT 0,
    ADD COLUMN price_source VARCHAR(100) NOT NULL DEFAULT 'coingecko:markets.current_price',
    ADD COLUMN price_at TIMESTAMP;
ALTER TABLE trades
    DROP CONSTRAINT trades_coin_slot,
    ADD CONSTRAINT trades_portfolio_coin_slot UNIQUE (portfolio, coin_id, slot),
    ALTER COLUMN portfolio DROP DEFAULT;

ALTER TABLE positions
    ADD COLUMN portfolio VARCHAR(100) NOT NULL DEFAULT 'default' REFERENCES portfolios (name);
ALTER TABLE positions
    DROP CONSTRAINT positions_pkey,
    ADD PRIMARY KEY (portfolio, coin_id),
    ALTER COLUMN portfolio DROP DEFAULT;
