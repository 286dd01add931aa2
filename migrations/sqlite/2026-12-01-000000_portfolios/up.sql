-- Named portfolios (issue 15), SQLite flavour (keep in step with ../../mysql/, ../../postgres/).
-- Trades and positions belong to a portfolio; the once-per-hour key becomes
-- (portfolio, coin_id, slot). Every existing trade and position moves to 'default'.
-- Each trade also says how it was filled: fee (quote currency), price source and the
-- time of that price (NULL for trades recorded before this migration).
-- SQLite cannot change a table's keys: the two tables are rebuilt and their rows copied.

CREATE TABLE portfolios (
    name       VARCHAR(100) NOT NULL PRIMARY KEY,
    created_at TIMESTAMP    NOT NULL
);
INSERT INTO portfolios (name, created_at) VALUES ('default', strftime('%Y-%m-%d %H:%M:%S', 'now'));

CREATE TABLE trades_v2 (
    id           INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    portfolio    VARCHAR(100) NOT NULL REFERENCES portfolios (name),
    coin_id      VARCHAR(100) NOT NULL REFERENCES coins (id),
    side         VARCHAR(4)   NOT NULL,
    quantity     DOUBLE       NOT NULL,
    price        DOUBLE       NOT NULL,
    executed_at  TIMESTAMP    NOT NULL,
    slot         TIMESTAMP    NOT NULL, -- executed_at truncated to the hour
    fee          DOUBLE       NOT NULL DEFAULT 0,
    price_source VARCHAR(100) NOT NULL DEFAULT 'coingecko:markets.current_price',
    price_at     TIMESTAMP,
    CONSTRAINT trades_portfolio_coin_slot UNIQUE (portfolio, coin_id, slot)
);
INSERT INTO trades_v2 (id, portfolio, coin_id, side, quantity, price, executed_at, slot)
    SELECT id, 'default', coin_id, side, quantity, price, executed_at, slot FROM trades;
DROP TABLE trades;
ALTER TABLE trades_v2 RENAME TO trades;

CREATE TABLE positions_v2 (
    portfolio  VARCHAR(100) NOT NULL REFERENCES portfolios (name),
    coin_id    VARCHAR(100) NOT NULL REFERENCES coins (id),
    quantity   DOUBLE       NOT NULL,
    avg_cost   DOUBLE       NOT NULL,
    updated_at TIMESTAMP    NOT NULL,
    PRIMARY KEY (portfolio, coin_id)
);
INSERT INTO positions_v2 (portfolio, coin_id, quantity, avg_cost, updated_at)
    SELECT 'default', coin_id, quantity, avg_cost, updated_at FROM positions;
DROP TABLE positions;
ALTER TABLE positions_v2 RENAME TO positions;
