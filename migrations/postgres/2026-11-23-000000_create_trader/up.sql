-- Trader schema, PostgreSQL flavour (keep in step with ../../sqlite/ and ../../mysql/).
-- The same first schema as the other backends, so that every backend reaches today's
-- schema through the same migrations. Times are UTC, whole seconds, TIMESTAMP without
-- time zone (the session time zone never shifts them).

CREATE TABLE coins (
    id            VARCHAR(100) NOT NULL PRIMARY KEY,
    symbol        VARCHAR(50)  NOT NULL,
    name          VARCHAR(200) NOT NULL,
    first_seen_at TIMESTAMP    NOT NULL,
    updated_at    TIMESTAMP    NOT NULL
);

CREATE TABLE market_snapshots (
    id              BIGSERIAL        NOT NULL PRIMARY KEY,
    coin_id         VARCHAR(100)     NOT NULL REFERENCES coins (id),
    fetched_at      TIMESTAMP        NOT NULL,
    current_price   DOUBLE PRECISION,
    market_cap      DOUBLE PRECISION,
    market_cap_rank INTEGER,
    total_volume    DOUBLE PRECISION,
    last_updated    TIMESTAMP,
    avg_price_10d   DOUBLE PRECISION
);
CREATE INDEX market_snapshots_coin_time ON market_snapshots (coin_id, fetched_at);

CREATE TABLE trades (
    id          BIGSERIAL        NOT NULL PRIMARY KEY,
    coin_id     VARCHAR(100)     NOT NULL REFERENCES coins (id),
    side        VARCHAR(4)       NOT NULL,
    quantity    DOUBLE PRECISION NOT NULL,
    price       DOUBLE PRECISION NOT NULL,
    executed_at TIMESTAMP        NOT NULL,
    slot        TIMESTAMP        NOT NULL,
    CONSTRAINT trades_coin_slot UNIQUE (coin_id, slot)
);

CREATE TABLE positions (
    coin_id    VARCHAR(100)     NOT NULL PRIMARY KEY REFERENCES coins (id),
    quantity   DOUBLE PRECISION NOT NULL,
    avg_cost   DOUBLE PRECISION NOT NULL,
    updated_at TIMESTAMP        NOT NULL
);
