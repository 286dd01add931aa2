DELETE FROM trades WHERE portfolio <> 'default';
DELETE FROM positions WHERE portfolio <> 'default';
ALTER TABLE positions DROP FOREIGN KEY positions_portfolio, DROP PRIMARY KEY, ADD PRIMARY KEY (coin_id);
ALTER TABLE positions DROP COLUMN portfolio, DROP INDEX positions_coin_idx;
ALTER TABLE trades DROP FOREIGN KEY trades_portfolio, DROP INDEX trades_portfolio_coin_slot,
    ADD CONSTRAINT trades_coin_slot UNIQUE (coin_id, slot);
ALTER TABLE trades DROP COLUMN portfolio, DROP COLUMN fee, DROP COLUMN price_source,
    DROP COLUMN price_at, DROP INDEX trades_coin_idx;
DROP TABLE portfolios;
