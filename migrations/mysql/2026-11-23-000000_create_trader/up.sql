-- Trader schema, MySQL/MariaDB flavour (keep in step with ../../sqlite/).
-- Times are UTC, whole seconds; DATETIME (not TIMESTAMP) so the session time zone never
-- shifts them.

CREATE TABLE coins (
    id            VARCHAR(100) NOT NULL PRIMARY KEY,
    symbol        VARCHAR(50)  NOT NULL,
    name          VARCHAR(200) NOT NULL,
    first_seen_at DATETIME     NOT NULL,
    updated_at    DATETIME     NOT NULL
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4;

CREATE TABLE market_snapshots (
    id              BIGINT       NOT NULL AUTO_INCREMENT PRIMARY KEY,
    coin_id         VARCHAR(100) NOT NULL,
    fetched_at      DATETIME     NOT NULL,
    current_price   DOUBLE,
    market_cap      DOUBLE,
    market_cap_rank INTEGER,
    total_volume    DOUBLE,
    last_updated    DATETIME,
    avg_price_10d   DOUBLE,
    INDEX market_snapshots_coin_time (coin_id, fetched_at),
    CONSTRAINT market_snapshots_coin FOREIGN KEY (coin_id) REFERENCES coins (id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4;

CREATE TABLE trades (
    id          BIGINT       NOT NULL AUTO_INCREMENT PRIMARY KEY,
    coin_id     VARCHAR(100) NOT NULL,
    side        VARCHAR(4)   NOT NULL,
    quantity    DOUBLE       NOT NULL,
    price       DOUBLE       NOT NULL,
    executed_at DATETIME     NOT NULL,
    slot        DATETIME     NOT NULL,
    CONSTRAINT trades_coin_slot UNIQUE (coin_id, slot),
    CONSTRAINT trades_coin FOREIGN KEY (coin_id) REFERENCES coins (id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4;

CREATE TABLE positions (
    coin_id    VARCHAR(100) NOT NULL PRIMARY KEY,
    quantity   DOUBLE       NOT NULL,
    avg_cost   DOUBLE       NOT NULL,
    updated_at DATETIME     NOT NULL,
    CONSTRAINT positions_coin FOREIGN KEY (coin_id) REFERENCES coins (id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4;
