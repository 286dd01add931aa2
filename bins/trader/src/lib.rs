//! The trader's cycle, its long-running loop, schedule and output, behind the thin
//! `trader` binary (a library, so that other tools and the bench can run a cycle or the
//! whole loop).
//!
//! A cycle: the top 3 coins by market cap are fetched and stored; each coin whose current
//! price is strictly below the average of its last 10 daily prices (the live 11th point
//! of `market_chart` left out) is bought, 1 coin, at the current price, at most once per
//! coin per hour; trades and the portfolio are logged.

pub mod cycle;
pub mod daemon;
pub mod output;
pub mod schedule;

pub use cycle::{run_cycle, CycleError, CycleSummary};
