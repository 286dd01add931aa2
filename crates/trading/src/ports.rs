//! What a cycle talks to, as traits: a [`PriceSource`] (CoinGecko in production) and a
//! [`Ledger`] (the database), opened by an [`OpenLedger`] (a `DATABASE_URL`).
//!
//! The production implementations delegate to [`pricing::CoinGecko`] and
//! [`ledger::Store`]; a test implements the traits on an in-memory fake and runs
//! [`run_cycle`](crate::run_cycle) or [`daemon::run`](crate::daemon::run) without a
//! simulator or a database (see this crate's unit tests).

use std::future::Future;

use chrono::{DateTime, Utc};
use ledger::TradeOutcome;
use ledger::{DbError, DbUrl, MarketObservation, NewTrade, PositionUpdate, PositionView, Store};
use pricing::{CoinGecko, CoinMarket, MarketChart};

/// Where prices come from.
pub trait PriceSource {
    /// The `n` largest coins by market cap, priced in `vs_currency`.
    ///
    /// # Errors
    /// The source failed after its own retries; the cycle is skipped, nothing is written.
    fn top_markets(
        &self,
        vs_currency: &str,
        n: u32,
    ) -> impl Future<Output = Result<Vec<CoinMarket>, pricing::Error>> + Send;

    /// `days` daily prices of coin `id` followed by one live point.
    ///
    /// # Errors
    /// As [`PriceSource::top_markets`].
    fn market_chart_daily(
        &self,
        id: &str,
        vs_currency: &str,
        days: u32,
    ) -> impl Future<Output = Result<MarketChart, pricing::Error>> + Send;
}

impl PriceSource for CoinGecko {
    fn top_markets(
        &self,
        vs_currency: &str,
        n: u32,
    ) -> impl Future<Output = Result<Vec<CoinMarket>, pricing::Error>> + Send {
        CoinGecko::top_markets(self, vs_currency, n)
    }

    fn market_chart_daily(
        &self,
        id: &str,
        vs_currency: &str,
        days: u32,
    ) -> impl Future<Output = Result<MarketChart, pricing::Error>> + Send {
        CoinGecko::market_chart_daily(self, id, vs_currency, days)
    }
}

/// Where a cycle keeps what it saw and did.
///
/// The calls are futures that never block the thread: the database itself is blocking
/// (Diesel), so [`Store`] runs it on a thread of its own and these futures only wait for
/// the answer. Dropping one stops the wait: that is how a shutdown abandons a cycle
/// stuck on a database that does not answer, without waiting for the database timeout.
pub trait Ledger {
    /// Stores the cycle's markets (coins and one snapshot each) at `now`.
    ///
    /// # Errors
    /// The database failed; the daemon reconnects at the next period.
    fn record_markets(
        &mut self,
        observed: &[MarketObservation],
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<(), DbError>> + Send;

    /// Records `trade` and the position `update` computes from the held one, together (an
    /// update that refuses the held position is [`DbError::Position`], nothing written);
    /// a second trade of the coin in the same hourly slot and portfolio is
    /// [`TradeOutcome::AlreadyTradedThisSlot`] and writes nothing.
    ///
    /// # Errors
    /// As [`Ledger::record_markets`].
    /// `update` is `Send + 'static`: the database runs it on its own thread (where every
    /// operation has a deadline).
    fn record_trade<F>(
        &mut self,
        trade: &NewTrade,
        update: F,
    ) -> impl Future<Output = Result<TradeOutcome, DbError>> + Send
    where
        F: PositionUpdate;

    /// The portfolio's held positions with their last known prices.
    ///
    /// # Errors
    /// As [`Ledger::record_markets`].
    fn positions(
        &mut self,
        portfolio: &str,
    ) -> impl Future<Output = Result<Vec<PositionView>, DbError>> + Send;
}

impl Ledger for Store {
    fn record_markets(
        &mut self,
        observed: &[MarketObservation],
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<(), DbError>> + Send {
        Store::record_markets_async(self, observed, now)
    }

    fn record_trade<F>(
        &mut self,
        trade: &NewTrade,
        update: F,
    ) -> impl Future<Output = Result<TradeOutcome, DbError>> + Send
    where
        F: PositionUpdate,
    {
        Store::record_trade_async(self, trade, update)
    }

    fn positions(
        &mut self,
        portfolio: &str,
    ) -> impl Future<Output = Result<Vec<PositionView>, DbError>> + Send {
        Store::positions_async(self, portfolio)
    }
}

/// Opens (and, after an outage, re-opens) the [`Ledger`] of the long-running loop.
pub trait OpenLedger {
    /// The ledger it opens.
    type Ledger: Ledger;

    /// Connects (and migrates); dropping the future stops waiting, as for [`Ledger`].
    ///
    /// # Errors
    /// The ledger cannot be reached; the daemon tries again at the next period.
    fn open(&self) -> impl Future<Output = Result<Self::Ledger, DbError>> + Send;

    /// How the ledger is named in log lines (no password).
    fn describe(&self) -> &str;
}

impl OpenLedger for DbUrl {
    type Ledger = Store;

    fn open(&self) -> impl Future<Output = Result<Store, DbError>> + Send {
        Store::open_url_async(self.clone())
    }

    fn describe(&self) -> &str {
        self.redacted()
    }
}

/// A borrowed opener opens the same ledger (the loop takes its opener by value).
impl<T: OpenLedger> OpenLedger for &T {
    type Ledger = T::Ledger;

    fn open(&self) -> impl Future<Output = Result<T::Ledger, DbError>> + Send {
        T::open(self)
    }

    fn describe(&self) -> &str {
        T::describe(self)
    }
}
