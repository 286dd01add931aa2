//! The trader's relational storage with Diesel: SQLite by default, MySQL/MariaDB when
//! `DATABASE_URL` is `mysql://...`, PostgreSQL when it is `postgres://...` or
//! `postgresql://...`, through one connection type ([`DbConnection`], a Diesel
//! `MultiConnection`) so every query is written once.
//!
//! * [`schema`]: tables `portfolios`, `coins`, `market_snapshots`, `trades` (UNIQUE
//!   (portfolio, coin_id, slot): at most one trade per coin per hour in each portfolio),
//!   `positions` (one per portfolio and coin).
//! * [`DbUrl`]: the backend is chosen from the URL scheme; anything that looks like a URL
//!   of another scheme is refused; passwords never reach a message.
//! * [`connect`] / [`Store::open`]: SQLite parent directories are created, and the
//!   embedded migrations of that backend (`migrations/sqlite/`, `migrations/mysql/`,
//!   `migrations/postgres/`) run at once, under a lock.
//! * [`Store`]: record a cycle's markets, record a trade with its position update in one
//!   transaction, read positions, trades, snapshots and portfolios, status and reset; every
//!   operation has a deadline ([`DbTimeouts`]).
//!
//! Errors ([`DbError`]) show the URL with its password replaced by `***`.
//! Nothing uses `RETURNING` (MySQL has none): rows are inserted, then selected.
//!
//! ```no_run
//! use chrono::Utc;
//! use ledger::{NewTrade, Store, TradeOutcome};
//!
//! let mut store = Store::open("sqlite://storage/trader.db")?;
//! let trade = NewTrade { portfolio: "default".into(), coin_id: "bitcoin".into(),
//!                        side: portfolio::Side::Buy, quantity: 1.0, price: 70_000.0,
//!                        executed_at: Utc::now(), fee: 0.0,
//!                        price_source: "coingecko:markets.current_price".into(),
//!                        price_at: None };
//! match store.record_trade(&trade, |p: portfolio::Position| Ok(portfolio::Position {
//!     avg_cost: (p.quantity * p.avg_cost + 70_000.0) / (p.quantity + 1.0),
//!     quantity: p.quantity + 1.0,
//!     ..p
//! }))? {
//!     TradeOutcome::Recorded(pos) => println!("now hold {}", pos.quantity),
//!     TradeOutcome::AlreadyTradedThisSlot => println!("already bought this hour"),
//! }
//! # Ok::<(), ledger::DbError>(())
//! ```

#![warn(missing_docs)]
#![warn(clippy::missing_errors_doc)]

/// The README's examples, compiled as doc-tests, so that the snippet a user copies cannot rot.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

mod connection;
mod error;
mod models;
mod repo;
pub mod schema;
mod store;
mod url;

pub use connection::{connect, connect_existing, DbConnection};
pub use error::DbError;
pub use models::{
    db_time, hour_slot, Coin, DbStatus, MarketFigures, MarketObservation, NewTrade, PortfolioView,
    PositionRow, PositionView, ResetScope, RowCounts, Snapshot, TradeView, DEFAULT_PORTFOLIO,
};
pub use repo::TradeOutcome;
pub use store::{PositionUpdate, Store};
pub use url::{
    Backend, DbTimeouts, DbUrl, DEFAULT_CONNECT_TIMEOUT, DEFAULT_DATABASE_URL,
    DEFAULT_STATEMENT_TIMEOUT,
};

#[cfg(test)]
mod tests;
