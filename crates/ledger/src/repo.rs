//! The trader's reads and writes on one open connection, one code path for the three
//! backends. [`Store`](super::Store) runs them on its own thread, with a deadline.
//!
//! Writes are race-free against another process writing the same rows at the same
//! moment: a row that may already exist is inserted inside a savepoint and, when the key
//! is taken, updated instead (no "check, then insert" window); a trade whose
//! (portfolio, coin, slot) is taken is [`TradeOutcome::AlreadyTradedThisSlot`]. The first
//! statement of every write transaction is a write, so SQLite takes its write lock (and
//! waits for it, busy timeout) before it has read anything.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use portfolio::{Position, PositionError};

use super::connection::{applied_migrations, DbConnection};
use super::error::DbError;
use super::models::{
    db_time, hour_slot, Coin, DbStatus, MarketFigures, MarketObservation, NewSnapshot, NewTrade,
    PortfolioRow, PortfolioView, PositionRow, PositionView, ResetScope, RowCounts, Snapshot,
    TradeInsert, TradeView,
};
use super::schema::{coins, market_snapshots, portfolios, positions, trades};
use super::store::PositionUpdate;
use super::url::DbUrl;

/// What became of a trade handed to [`Store::record_trade`](super::Store::record_trade).
#[derive(Debug, Clone, PartialEq)]
pub enum TradeOutcome {
    /// The trade and the new position were committed.
    Recorded(PositionRow),
    /// The portfolio already has a trade of this coin in this hourly slot (possibly
    /// committed a moment ago by another process); nothing was written.
    AlreadyTradedThisSlot,
}

/// Rolls a transaction back while remembering why.
enum TxError {
    Duplicate,
    Position(PositionError),
    Db(DieselError),
}

impl From<DieselError> for TxError {
    fn from(e: DieselError) -> Self {
        TxError::Db(e)
    }
}

fn is_duplicate<T>(r: &Result<T, DieselError>) -> bool {
    matches!(
        r,
        Err(DieselError::DatabaseError(
            DatabaseErrorKind::UniqueViolation,
            _
        ))
    )
}

/// An open connection and the URL it came from.
pub(crate) struct Session {
    pub(crate) conn: DbConnection,
    pub(crate) url: DbUrl,
}

impl Session {
    fn query_err(&self, source: DieselError) -> DbError {
        DbError::Query {
            url: self.url.redacted().to_owned(),
            cause: source,
        }
    }

    pub(crate) fn record_markets(
        &mut self,
        observed: &[MarketObservation],
        at: DateTime<Utc>,
    ) -> Result<(), DbError> {
        let now = db_time(at);
        let res = self.conn.transaction::<_, DieselError, _>(|c| {
            for o in observed {
                // Insert in a savepoint; if another run inserted the coin first, update.
                let inserted = c.transaction(|c| {
                    diesel::insert_into(coins::table)
                        .values(Coin {
                            id: o.coin_id.clone(),
                            symbol: o.symbol.clone(),
                            name: o.name.clone(),
                            first_seen_at: now,
                            updated_at: now,
                        })
                        .execute(c)
                });
                if is_duplicate(&inserted) {
                    diesel::update(coins::table.find(&o.coin_id))
                        .set((
                            coins::symbol.eq(&o.symbol),
                            coins::name.eq(&o.name),
                            coins::updated_at.eq(now),
                        ))
                        .execute(c)?;
                } else {
                    inserted?;
                }
                diesel::insert_into(market_snapshots::table)
                    .values(NewSnapshot {
                        coin_id: &o.coin_id,
                        fetched_at: now,
                        figures: MarketFigures {
                            last_updated: o.figures.last_updated.map(|t| db_time(t.and_utc())),
                            ..o.figures.clone()
                        },
                    })
                    .execute(c)?;
            }
            Ok(())
        });
        res.map_err(|e| self.query_err(e))
    }

    pub(crate) fn record_trade(
        &mut self,
        trade: &NewTrade,
        update: impl PositionUpdate,
    ) -> Result<TradeOutcome, DbError> {
        let executed_at = db_time(trade.executed_at);
        let res = self.conn.transaction::<_, TxError, _>(|c| {
            ensure_portfolio(c, &trade.portfolio, executed_at)?;
            let inserted = diesel::insert_into(trades::table)
                .values(TradeInsert {
                    portfolio: &trade.portfolio,
                    coin_id: &trade.coin_id,
                    side: trade.side.as_str(),
                    quantity: trade.quantity,
                    price: trade.price,
                    executed_at,
                    slot: hour_slot(trade.executed_at),
                    fee: trade.fee,
                    price_source: &trade.price_source,
                    price_at: trade.price_at.map(db_time),
                })
                .execute(c);
            if is_duplicate(&inserted) {
                return Err(TxError::Duplicate);
            }
            inserted?;
            let key = (trade.portfolio.as_str(), trade.coin_id.as_str());
            let current = positions::table
                .find(key)
                .select(PositionRow::as_select())
                .first(c)
                .optional()?;
            let held = current.as_ref().map_or_else(
                || Position::empty(&trade.coin_id),
                |row| Position {
                    coin_id: row.coin_id.clone(),
                    quantity: row.quantity,
                    avg_cost: row.avg_cost,
                },
            );
            // A position the update refuses rolls the trade back with it.
            let new = update(held).map_err(TxError::Position)?;
            let row = PositionRow {
                portfolio: trade.portfolio.clone(),
                coin_id: trade.coin_id.clone(),
                quantity: new.quantity,
                avg_cost: new.avg_cost,
                updated_at: executed_at,
            };
            // The trade row above is unique per (portfolio, coin, slot), and each
            // transaction inserts one first: two transactions never race on one position.
            if current.is_some() {
                diesel::update(positions::table.find(key))
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
            Err(TxError::Position(e)) => Err(DbError::Position(e)),
            Err(TxError::Db(e)) => Err(self.query_err(e)),
        }
    }

    pub(crate) fn positions(&mut self, portfolio: &str) -> Result<Vec<PositionView>, DbError> {
        let res = (|| {
            let rows = positions::table
                .inner_join(coins::table)
                .filter(positions::portfolio.eq(portfolio))
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

    pub(crate) fn trades(&mut self, portfolio: &str) -> Result<Vec<TradeView>, DbError> {
        trades::table
            .inner_join(coins::table)
            .filter(trades::portfolio.eq(portfolio))
            .order((trades::executed_at.asc(), trades::id.asc()))
            // In the field order of TradeView.
            .select((
                trades::id,
                trades::coin_id,
                coins::symbol,
                trades::side,
                trades::quantity,
                trades::price,
                trades::executed_at,
                trades::fee,
                trades::price_source,
                trades::price_at,
            ))
            .load::<TradeView>(&mut self.conn)
            .map_err(|e| self.query_err(e))
    }

    pub(crate) fn snapshots(&mut self, coin_id: &str) -> Result<Vec<Snapshot>, DbError> {
        market_snapshots::table
            .filter(market_snapshots::coin_id.eq(coin_id))
            .order((
                market_snapshots::fetched_at.asc(),
                market_snapshots::id.asc(),
            ))
            .select(Snapshot::as_select())
            .load(&mut self.conn)
            .map_err(|e| self.query_err(e))
    }

    pub(crate) fn portfolios(&mut self) -> Result<Vec<PortfolioView>, DbError> {
        let res = (|| {
            let rows = portfolios::table
                .order(portfolios::name.asc())
                .select(PortfolioRow::as_select())
                .load(&mut self.conn)?;
            let mut out = Vec::with_capacity(rows.len());
            for p in rows {
                let trades = trades::table
                    .filter(trades::portfolio.eq(&p.name))
                    .count()
                    .get_result(&mut self.conn)?;
                let open_positions = positions::table
                    .filter(positions::portfolio.eq(&p.name))
                    .filter(positions::quantity.ne(0.0))
                    .count()
                    .get_result(&mut self.conn)?;
                out.push(PortfolioView {
                    name: p.name,
                    created_at: p.created_at,
                    trades,
                    open_positions,
                });
            }
            Ok(out)
        })();
        res.map_err(|e| self.query_err(e))
    }

    pub(crate) fn row_counts(&mut self) -> Result<RowCounts, DbError> {
        let res = (|| {
            Ok(RowCounts {
                portfolios: portfolios::table.count().get_result(&mut self.conn)?,
                coins: coins::table.count().get_result(&mut self.conn)?,
                snapshots: market_snapshots::table.count().get_result(&mut self.conn)?,
                trades: trades::table.count().get_result(&mut self.conn)?,
                positions: positions::table.count().get_result(&mut self.conn)?,
            })
        })();
        res.map_err(|e| self.query_err(e))
    }

    pub(crate) fn status(&mut self) -> Result<DbStatus, DbError> {
        let migrations = applied_migrations(&mut self.conn).map_err(|m| DbError::Migration {
            url: self.url.redacted().to_owned(),
            message: self.url.scrub(&m),
        })?;
        Ok(DbStatus {
            backend: self.url.backend(),
            url: self.url.redacted().to_owned(),
            migrations,
            rows: self.row_counts()?,
        })
    }

    /// Deletes what `scope` names in one transaction; returns the rows deleted per table.
    pub(crate) fn reset(&mut self, scope: &ResetScope) -> Result<RowCounts, DbError> {
        let res = self.conn.transaction::<_, DieselError, _>(|c| {
            Ok(match scope {
                ResetScope::All => RowCounts {
                    // Children first (foreign keys).
                    trades: diesel::delete(trades::table).execute(c)? as i64,
                    positions: diesel::delete(positions::table).execute(c)? as i64,
                    snapshots: diesel::delete(market_snapshots::table).execute(c)? as i64,
                    coins: diesel::delete(coins::table).execute(c)? as i64,
                    portfolios: diesel::delete(portfolios::table).execute(c)? as i64,
                },
                ResetScope::Portfolio(name) => RowCounts {
                    trades: diesel::delete(trades::table.filter(trades::portfolio.eq(name)))
                        .execute(c)? as i64,
                    positions: diesel::delete(
                        positions::table.filter(positions::portfolio.eq(name)),
                    )
                    .execute(c)? as i64,
                    portfolios: diesel::delete(portfolios::table.find(name)).execute(c)? as i64,
                    ..RowCounts::default()
                },
            })
        });
        res.map_err(|e| self.query_err(e))
    }
}

/// Creates the portfolio on its first use (race-free: a savepoint, a taken key is fine).
fn ensure_portfolio(
    c: &mut DbConnection,
    name: &str,
    at: chrono::NaiveDateTime,
) -> Result<(), DieselError> {
    let inserted = c.transaction(|c| {
        diesel::insert_into(portfolios::table)
            .values(PortfolioRow {
                name: name.to_owned(),
                created_at: at,
            })
            .execute(c)
    });
    if is_duplicate(&inserted) {
        return Ok(());
    }
    inserted.map(drop)
}
