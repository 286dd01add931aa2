-- Back to one portfolio: only the 'default' portfolio's rows are kept.
CREATE TABLE trades_v1 (
    id          INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    coin_id     VARCHAR(100) NOT NULL REFERENCES coins (id),
    side        VARCHAR(4)   NOT NULL,
    quantity    DOUBLE       NOT NULL,
    price       DOUBLE       NOT NULL,
    executed_at TIMESTAMP    NOT NULL,
    slot        TIMESTAMP    NOT NULL,
    CONSTRAINT trades_coin_slot UNIQUE (coin_id, slot)
);
INSERT INTO trades_v1 (id, coin_id, side, quantity, price, executed_at, slot)
    SELECT id, coin_id, side, quantity, price, executed_at, slot FROM trades WHERE portfolio = 'default';
DROP TABLE trades;
ALTER TABLE trades_v1 RENAME TO trades;
CREATE TABLE positions_v1 (
    coin_id    VARCHAR(100) NOT NULL PRIMARY KEY REFERENCES coins (id),
    quantity   DOUBLE       NOT NULL,
    avg_cost   DOUBLE       NOT NULL,
    updated_at TIMESTAMP    NOT NULL
);
INSERT INTO positions_v1 SELECT coin_id, quantity, avg_cost, updated_at FROM positions WHERE portfolio = 'default';
DROP TABLE positions;
ALTER TABLE positions_v1 RENAME TO positions;
DROP TABLE portfolios;
