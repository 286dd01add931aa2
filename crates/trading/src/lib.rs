//! The trading pipeline: the trader's cycle, its long-running loop and schedule, behind the
//! thin `trader` binary (a library, so that other tools and the bench can run a cycle or
//! the whole loop).
//!
//! A cycle: the top 3 coins by market cap are fetched and stored; each coin whose current
//! price is strictly below the average of its last 10 daily prices (the live 11th point
//! of `market_chart` left out) is bought, 1 coin, at the current price, at most once per
//! coin per hour; trades and the portfolio are logged.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use pricing::{ClientConfig, CoinGecko};
//! let cg = CoinGecko::new(ClientConfig::new("https://api.coingecko.com/api/v3"))?;
//! let mut store = ledger::Store::open("sqlite://storage/trader.db")?;
//! // One cycle now (what `trader --once` does) ...
//! let account = trading::Account::default(); // portfolio `default`, no fee
//! let summary = trading::run_cycle(&cg, &mut store, &account, chrono::Utc::now()).await?;
//! println!("{} bought, {} held", summary.bought.len(), summary.held);
//! // ... or the long-running loop until the watch channel turns true.
//! let (_stop, shutdown) = tokio::sync::watch::channel(false);
//! let url = ledger::DbUrl::parse("sqlite://storage/trader.db")?;
//! trading::daemon::run(&cg, url, trading::schedule::Cadence::Hourly, &account, shutdown).await;
//! # Ok(()) }
//! ```

#![warn(missing_docs)]
#![warn(clippy::missing_errors_doc)]

/// The README's examples, compiled (and run where they need no network) as doc-tests, so
/// that the snippet a user copies cannot rot.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

pub mod cycle;
pub mod daemon;
pub mod metrics;
pub mod ports;
pub mod report;
pub mod schedule;

pub use cycle::{run_cycle, Account, CycleError, CycleSummary};
pub use ports::{Ledger, OpenLedger, PriceSource};

#[cfg(test)]
mod tests;
