//! [`Store`]: the trader's reads and writes, one code path for both backends.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error as DieselError};

use super::connection::{connect, Backend, DbConnection, DbUrl};
use super::error::DbError;
use super::models::{
    db_time, hour_slot, Coin, MarketObservation, NewSnapshot, NewTrade, PositionRow, PositionView,
    RowCounts, TradeInsert, TradeView,
};
use super::schema::{coins, market_snapshots, positions, trades};

/// What became of a trade handed to [`Store::record_trade`].
#[derive(Debug, Clone, PartialEq)]
pub enum TradeOutcome {
    /// The trade and the new position were committed.
    Recorded(PositionRow),
    /// The coin already has a trade in this hourly slot; nothing was written.
    AlreadyTradedThisSlot,
}

/// The trader's database: markets, trades and positions.
///
/// ```no_run
/// # fn demo() -> Result<(), store::db::DbError> {
/// let mut store = store::db::Store::open("storage/trader.db")?; // migrations run here
/// for p in store.positions()? {
///     println!("{} {} @ {}", p.symbol, p.quantity, p.avg_cost);
/// }
/// # Ok(()) }
/// ```
pub struct Store {
    conn: DbConnection,
    url: DbUrl,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Store({})", self.url.redacted())
    }
}

/// Rolls a transaction back while remembering why.
enum TxError {
    Duplicate,
    Db(DieselError),
}

impl From<DieselError> for TxError {
    fn from(e: DieselError) -> Self {
        TxError::Db(e)
    }
}

impl Store {
    /// Opens `DATABASE_URL` (see [`DbUrl::parse`]) and runs the migrations.
    pub fn open(database_url: &str) -> Result<Store, DbError> {
        let url = DbUrl::parse(database_url)?;
        Self::open_url(url)
    }

    /// Opens an already parsed URL and runs the migrations.
    pub fn open_url(url: DbUrl) -> Result<Store, DbError> {
        let conn = connect(&url)?;
        Ok(Store { conn, url })
    }

    /// The backend in use.
    pub fn backend(&self) -> Backend {
        self.url.backend()
    }

    /// The URL, redacted (safe to log).
    pub fn redacted_url(&self) -> &str {
        self.url.redacted()
    }

    fn query_err(&self, source: DieselError) -> DbError {
        DbError::Query {
            url: self.url.redacted().to_owned(),
            source,
        }
    }

    /// Stores one cycle's view of the markets in one transaction: coins are inserted or
    /// updated (symbol, name), and one snapshot per coin is added.
    pub fn record_markets(
        &mut self,
        observed: &[MarketObservation],
        at: DateTime<Utc>,
    ) -> Result<(), DbError> {
        let now = db_time(at);
        let res = self.conn.transaction::<_, DieselError, _>(|c| {
            for o in observed {
                let exists = coins::table.find(&o.coin_id).count().get_result::<i64>(c)? > 0;
                if exists {
                    diesel::update(coins::table.find(&o.coin_id))
                        .set((
                            coins::symbol.eq(&o.symbol),
                            coins::name.eq(&o.name),
                            coins::updated_at.eq(now),
                        ))
                        .execute(c)?;
                } else {
                    diesel::insert_into(coins::table)
                        .values(Coin {
                            id: o.coin_id.clone(),
                            symbol: o.symbol.clone(),
                            name: o.name.clone(),
                            first_seen_at: now,
                            updated_at: now,
                        })
                        .execute(c)?;
                }
                diesel::insert_into(market_snapshots::table)
                    .values(NewSnapshot {
                        coin_id: &o.coin_id,
                        fetched_at: now,
                        current_price: o.current_price,
                        market_cap: o.market_cap,
                        market_cap_rank: o.market_cap_rank,
                        total_volume: o.total_volume,
                        last_updated: o.last_updated.map(db_time),
                        avg_price_10d: o.avg_price_10d,
                    })
                    .execute(c)?;
            }
            Ok(())
        });
        res.map_err(|e| self.query_err(e))
    }

    /// Records a trade and updates the coin's position, in one transaction.
    ///
    /// `update` gets the current position (`None` if the coin was never held) and returns
    /// the new `(quantity, avg_cost)`. If the coin already has a trade in the hourly slot of
    /// `trade.executed_at` (UNIQUE (coin_id, slot)), nothing is written and
    /// [`TradeOutcome::AlreadyTradedThisSlot`] is returned.
    pub fn record_trade<F>(&mut self, trade: &NewTrade, update: F) -> Result<TradeOutcome, DbError>
    where
        F: FnOnce(Option<&PositionRow>) -> (f64, f64),
    {
        let executed_at = db_time(trade.executed_at);
        let res = self.conn.transaction::<_, TxError, _>(|c| {
            let inserted = diesel::insert_into(trades::table)
                .values(TradeInsert {
                    coin_id: &trade.coin_id,
                    side: &trade.side,
                    quantity: trade.quantity,
                    price: trade.price,
                    executed_at,
                    slot: hour_slot(trade.executed_at),
                })
                .execute(c);
            match inserted {
                Err(DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _)) => {
                    return Err(TxError::Duplicate)
                }
                other => other?,
            };
            let current = positions::table
                .find(&trade.coin_id)
                .select(PositionRow::as_select())
                .first(c)
                .optional()?;
            let (quantity, avg_cost) = update(current.as_ref());
            let row = PositionRow {
                coin_id: trade.coin_id.clone(),
                quantity,
                avg_cost,
                updated_at: executed_at,
            };
            if current.is_some() {
                diesel::update(positions::table.find(&trade.coin_id))
                    .set(&row)
                    .execute(c)?;
            } else {
                diesel::insert_into(positions::table)
                    .values(&row)
                    .execute(c)?;
            }
            Ok(row)
        });
        match res {
            Ok(row) => Ok(TradeOutcome::Recorded(row)),
            Err(TxError::Duplicate) => Ok(TradeOutcome::AlreadyTradedThisSlot),
            Err(TxError::Db(e)) => Err(self.query_err(e)),
        }
    }

    /// Positions with a non-zero quantity, by coin id, each with its coin and the price of
    /// the latest snapshot that had one.
    pub fn positions(&mut self) -> Result<Vec<PositionView>, DbError> {
        let res = (|| {
            let rows = positions::table
                .inner_join(coins::table)
                .filter(positions::quantity.ne(0.0))
                .order(positions::coin_id.asc())
                .select((PositionRow::as_select(), coins::symbol, coins::name))
                .load::<(PositionRow, String, String)>(&mut self.conn)?;
            let mut out = Vec::with_capacity(rows.len());
            for (p, symbol, name) in rows {
                let last_price = market_snapshots::table
                    .filter(market_snapshots::coin_id.eq(&p.coin_id))
                    .filter(market_snapshots::current_price.is_not_null())
                    .order((
                        market_snapshots::fetched_at.desc(),
                        market_snapshots::id.desc(),
                    ))
                    .select(market_snapshots::current_price)
                    .first::<Option<f64>>(&mut self.conn)
                    .optional()?
                    .flatten();
                out.push(PositionView {
                    coin_id: p.coin_id,
                    symbol,
                    name,
                    quantity: p.quantity,
                    avg_cost: p.avg_cost,
                    last_price,
                });
            }
            Ok(out)
        })();
        res.map_err(|e| self.query_err(e))
    }

    /// Every trade, oldest first.
    pub fn trades(&mut self) -> Result<Vec<TradeView>, DbError> {
        let rows = trades::table
            .inner_join(coins::table)
            .order((trades::executed_at.asc(), trades::id.asc()))
            .select((
                trades::id,
                trades::coin_id,
                coins::symbol,
                trades::side,
                trades::quantity,
                trades::price,
                trades::executed_at,
            ))
            .load::<(i64, String, String, String, f64, f64, chrono::NaiveDateTime)>(&mut self.conn)
            .map_err(|e| self.query_err(e))?;
        Ok(rows
            .into_iter()
            .map(
                |(id, coin_id, symbol, side, quantity, price, executed_at)| TradeView {
                    id,
                    coin_id,
                    symbol,
                    side,
                    quantity,
                    price,
                    executed_at,
                },
            )
            .collect())
    }

    /// Row counts of every table.
    pub fn row_counts(&mut self) -> Result<RowCounts, DbError> {
        let res = (|| {
            Ok(RowCounts {
                coins: coins::table.count().get_result(&mut self.conn)?,
                snapshots: market_snapshots::table.count().get_result(&mut self.conn)?,
                trades: trades::table.count().get_result(&mut self.conn)?,
                positions: positions::table.count().get_result(&mut self.conn)?,
            })
        })();
        res.map_err(|e| self.query_err(e))
    }
}
