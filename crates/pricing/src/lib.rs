//! A small CoinGecko REST client for the two endpoints the trader needs, and the
//! N-day average of daily prices.
//!
//! * [`CoinGecko::top_markets`] calls `/coins/markets` ranked by market cap.
//! * [`CoinGecko::market_chart_daily`] calls `/coins/{id}/market_chart?interval=daily`.
//! * [`daily_average`] computes the average of the last N daily prices, **leaving out the last
//!   point of the answer, which is the live price** (`days=10` returns 11 points).
//!
//! Requests time out, 5xx and network errors are retried with capped exponential backoff,
//! rate limits (HTTP 429, or a `{"status":{"error_code":429}}` body that may come with
//! HTTP 200) wait for `retry-after` when given. Errors keep CoinGecko's error body
//! ([`ApiErrorBody`]) and never contain the API key.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use pricing::{ClientConfig, CoinGecko, RetryPolicy};
//! let mut config = ClientConfig::new("https://api.coingecko.com/api/v3");
//! config.api_key = std::env::var("COINGECKO_API_KEY").ok();
//! config.retry = RetryPolicy { max_attempts: 3, ..RetryPolicy::default() };
//! let cg = CoinGecko::new(config)?;
//! for coin in cg.top_markets("usd", 3).await? {
//!     let chart = cg.market_chart_daily(&coin.id, "usd", 10).await?;
//!     println!("{} now {:?}, 10-day average {:?}", coin.symbol, coin.current_price,
//!              pricing::daily_average(&chart.prices, 10));
//! }
//! # Ok(()) }
//! ```

#![warn(missing_docs)]
#![warn(clippy::missing_errors_doc)]

/// The README's examples, compiled (and run where they need no network) as doc-tests, so
/// that the snippet a user copies cannot rot.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

mod client;
mod error;
mod market_chart;
mod markets;
pub mod metrics;
mod retry;

pub use client::{ClientConfig, CoinGecko, MAX_BODY_BYTES};
pub use error::{ApiErrorBody, Error};
pub use market_chart::{
    daily_average, daily_average_before, AverageError, MarketChart, PricePoint,
};
pub use markets::{select_top, CoinMarket};
pub use retry::RetryPolicy;
