DELETE FROM trades WHERE portfolio <> 'default';
DELETE FROM positions WHERE portfolio <> 'default';
ALTER TABLE positions DROP CONSTRAINT positions_pkey, DROP COLUMN portfolio, ADD PRIMARY KEY (coin_id);
ALTER TABLE trades DROP CONSTRAINT trades_portfolio_coin_slot, DROP COLUMN portfolio,
    DROP COLUMN fee, DROP COLUMN price_source, DROP COLUMN price_at,
    ADD CONSTRAINT trades_coin_slot UNIQUE (coin_id, slot);
DROP TABLE portfolios;
