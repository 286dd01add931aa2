-- Trader schema, SQLite flavour (keep in step with ../../mysql/).
-- Times are UTC, whole seconds.

CREATE TABLE coins (
    id            VARCHAR(100) NOT NULL PRIMARY KEY, -- CoinGecko id, e.g. 'bitcoin'
    symbol        VARCHAR(50)  NOT NULL,
    name          VARCHAR(200) NOT NULL,
    first_seen_at TIMESTAMP    NOT NULL,
    updated_at    TIMESTAMP    NOT NULL
);

-- One row per coin per cycle: what /coins/markets said, and the 10-day average used.
CREATE TABLE market_snapshots (
    id              INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    coin_id         VARCHAR(100) NOT NULL REFERENCES coins (id),
    fetched_at      TIMESTAMP    NOT NULL,
    current_price   DOUBLE,
    market_cap      DOUBLE,
    market_cap_rank INTEGER,
    total_volume    DOUBLE,
    last_updated    TIMESTAMP,
    avg_price_10d   DOUBLE
);
CREATE INDEX market_snapshots_coin_time ON market_snapshots (coin_id, fetched_at);

-- At most one trade per coin per hourly slot: a restart inside the hour cannot buy twice.
CREATE TABLE trades (
    id          INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    coin_id     VARCHAR(100) NOT NULL REFERENCES coins (id),
    side        VARCHAR(4)   NOT NULL,
    quantity    DOUBLE       NOT NULL,
    price       DOUBLE       NOT NULL,
    executed_at TIMESTAMP    NOT NULL,
    slot        TIMESTAMP    NOT NULL, -- executed_at truncated to the hour
    CONSTRAINT trades_coin_slot UNIQUE (coin_id, slot)
);

CREATE TABLE positions (
    coin_id    VARCHAR(100) NOT NULL PRIMARY KEY REFERENCES coins (id),
    quantity   DOUBLE       NOT NULL,
    avg_cost   DOUBLE       NOT NULL,
    updated_at TIMESTAMP    NOT NULL
);
