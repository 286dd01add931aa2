DROP TABLE positions;
DROP TABLE trades;
DROP TABLE market_snapshots;
DROP TABLE coins;
