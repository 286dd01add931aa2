//! The trader's relational storage with Diesel: SQLite by default, MySQL/MariaDB when
//! `DATABASE_URL` is `mysql://...`, through one connection type ([`DbConnection`], a
//! Diesel `MultiConnection`) so every query is written once.
//!
//! * [`schema`]: tables `coins`, `market_snapshots`, `trades` (UNIQUE (coin_id, slot): at
//!   most one trade per coin per hour), `positions`.
//! * [`connect`] / [`Store::open`]: the backend is chosen from the URL scheme, SQLite
//!   parent directories are created, and the embedded migrations of that backend
//!   (`migrations/sqlite/`, `migrations/mysql/`) run at once.
//! * [`Store`]: record a cycle's markets, record a trade with its position update in one
//!   transaction, read positions and trades.
//!
//! Errors ([`DbError`]) show the URL with its password replaced by `***`.
//! Nothing uses `RETURNING` (MySQL has none): rows are inserted, then selected.
//!
//! ```no_run
//! use chrono::Utc;
//! use store::db::{NewTrade, Store, TradeOutcome};
//!
//! let mut store = Store::open("sqlite://storage/trader.db")?;
//! let trade = NewTrade { coin_id: "bitcoin".into(), side: "buy".into(), quantity: 1.0,
//!                        price: 70_000.0, executed_at: Utc::now() };
//! match store.record_trade(&trade, |p| match p {
//!     Some(p) => (p.quantity + 1.0, (p.quantity * p.avg_cost + 70_000.0) / (p.quantity + 1.0)),
//!     None => (1.0, 70_000.0),
//! })? {
//!     TradeOutcome::Recorded(pos) => println!("now hold {}", pos.quantity),
//!     TradeOutcome::AlreadyTradedThisSlot => println!("already bought this hour"),
//! }
//! # Ok::<(), store::db::DbError>(())
//! ```

mod connection;
mod error;
mod models;
mod repo;
pub mod schema;

pub use connection::{connect, Backend, DbConnection, DbUrl, DEFAULT_DATABASE_URL};
pub use error::DbError;
pub use models::{
    db_time, hour_slot, Coin, MarketObservation, NewTrade, PositionRow, PositionView, RowCounts,
    Snapshot, TradeView,
};
pub use repo::{Store, TradeOutcome};

#[cfg(test)]
mod tests;
