//! Rows as read from and written to the tables of [`super::schema`].

use chrono::{DateTime, NaiveDateTime, Timelike, Utc};
use diesel::prelude::*;
use portfolio::Side;

use super::schema::{coins, market_snapshots, portfolios, positions, trades};

/// The portfolio used when none is named.
pub const DEFAULT_PORTFOLIO: &str = "default";

/// A time as stored: UTC, whole seconds (MySQL `DATETIME` would round fractions).
pub fn db_time(t: DateTime<Utc>) -> NaiveDateTime {
    let t = t.naive_utc();
    // Zero nanoseconds is always valid.
    t.with_nanosecond(0).unwrap_or(t)
}

/// The hourly slot of `t`: `t` truncated to the hour (UTC). Trades are unique per
/// (portfolio, coin, slot).
///
/// ```
/// use chrono::{TimeZone, Utc};
/// let t = Utc.with_ymd_and_hms(2026, 11, 23, 19, 59, 59).unwrap();
/// assert_eq!(ledger::hour_slot(t).to_string(), "2026-11-23 19:00:00");
/// ```
pub fn hour_slot(t: DateTime<Utc>) -> NaiveDateTime {
    let t = db_time(t);
    t.with_minute(0).and_then(|t| t.with_second(0)).unwrap_or(t)
}

/// A coin in the `coins` table.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = coins)]
pub struct Coin {
    /// CoinGecko id.
    pub id: String,
    /// Ticker (lower case, as CoinGecko sends it).
    pub symbol: String,
    /// Display name.
    pub name: String,
    /// First time seen.
    pub first_seen_at: NaiveDateTime,
    /// Last time seen.
    pub updated_at: NaiveDateTime,
}

/// One coin's market figures at one fetch: what a cycle observes and what its
/// `market_snapshots` row holds besides the row id, the coin and the fetch time. The one
/// home of these columns: [`MarketObservation`] carries it in, [`Snapshot`] reads it back,
/// and the insert writes it as it is (with [`last_updated`](Self::last_updated) in whole
/// seconds, see [`db_time`]).
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = market_snapshots)]
pub struct MarketFigures {
    /// USD price, `None` when CoinGecko had none.
    pub current_price: Option<f64>,
    /// Market cap.
    pub market_cap: Option<f64>,
    /// Rank by market cap.
    pub market_cap_rank: Option<i32>,
    /// 24 h volume.
    pub total_volume: Option<f64>,
    /// CoinGecko's `last_updated` (UTC).
    pub last_updated: Option<NaiveDateTime>,
    /// 10-day average used for the decision.
    pub avg_price_10d: Option<f64>,
}

/// What one cycle learnt about one coin.
#[derive(Debug, Clone, PartialEq)]
pub struct MarketObservation {
    /// CoinGecko id.
    pub coin_id: String,
    /// Ticker.
    pub symbol: String,
    /// Display name.
    pub name: String,
    /// The figures its snapshot stores.
    pub figures: MarketFigures,
}

/// A `market_snapshots` row to insert.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = market_snapshots)]
pub(crate) struct NewSnapshot<'a> {
    pub coin_id: &'a str,
    pub fetched_at: NaiveDateTime,
    #[diesel(embed)]
    pub figures: MarketFigures,
}

/// A stored snapshot.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable)]
#[diesel(table_name = market_snapshots)]
pub struct Snapshot {
    /// Row id.
    pub id: i64,
    /// The coin.
    pub coin_id: String,
    /// Fetch time.
    pub fetched_at: NaiveDateTime,
    /// What was observed.
    #[diesel(embed)]
    pub figures: MarketFigures,
}

/// A `portfolios` row.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = portfolios)]
pub(crate) struct PortfolioRow {
    pub name: String,
    pub created_at: NaiveDateTime,
}

/// A portfolio as `trader portfolios` lists it.
#[derive(Debug, Clone, PartialEq)]
pub struct PortfolioView {
    /// Its name.
    pub name: String,
    /// First use (UTC).
    pub created_at: NaiveDateTime,
    /// Trades recorded.
    pub trades: i64,
    /// Positions with a non-zero quantity.
    pub open_positions: i64,
}

/// A trade to record.
#[derive(Debug, Clone, PartialEq)]
pub struct NewTrade {
    /// The portfolio (created on its first trade).
    pub portfolio: String,
    /// The coin (must be in `coins`: record the cycle's markets first).
    pub coin_id: String,
    /// Buy or sell (stored as `buy` / `sell`).
    pub side: Side,
    /// Coins.
    pub quantity: f64,
    /// Fill price.
    pub price: f64,
    /// Fill time; its hour is the slot.
    pub executed_at: DateTime<Utc>,
    /// Fee paid, in the quote currency.
    pub fee: f64,
    /// Where the fill price came from.
    pub price_source: String,
    /// When that price was current, if known.
    pub price_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = trades)]
pub(crate) struct TradeInsert<'a> {
    pub portfolio: &'a str,
    pub coin_id: &'a str,
    pub side: &'a str,
    pub quantity: f64,
    pub price: f64,
    pub executed_at: NaiveDateTime,
    pub slot: NaiveDateTime,
    pub fee: f64,
    pub price_source: &'a str,
    pub price_at: Option<NaiveDateTime>,
}

/// A stored trade with its coin (fields in the order [`Store::trades`](super::Store::trades)
/// selects them).
#[derive(Debug, Clone, PartialEq, Queryable)]
pub struct TradeView {
    /// Row id.
    pub id: i64,
    /// CoinGecko id.
    pub coin_id: String,
    /// Ticker.
    pub symbol: String,
    /// Buy or sell (a stored text other than `buy` / `sell` is a query error).
    #[diesel(deserialize_as = String)]
    pub side: Side,
    /// Coins.
    pub quantity: f64,
    /// Fill price.
    pub price: f64,
    /// Fill time (UTC).
    pub executed_at: NaiveDateTime,
    /// Fee paid, in the quote currency.
    pub fee: f64,
    /// Where the fill price came from.
    pub price_source: String,
    /// When that price was current, if known (UTC).
    pub price_at: Option<NaiveDateTime>,
}

/// A `positions` row.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = positions)]
pub struct PositionRow {
    /// The portfolio.
    pub portfolio: String,
    /// The coin.
    pub coin_id: String,
    /// Coins held.
    pub quantity: f64,
    /// Average cost.
    pub avg_cost: f64,
    /// Last change.
    pub updated_at: NaiveDateTime,
}

/// A position with its coin and the last known price.
#[derive(Debug, Clone, PartialEq)]
pub struct PositionView {
    /// CoinGecko id.
    pub coin_id: String,
    /// Ticker.
    pub symbol: String,
    /// Display name.
    pub name: String,
    /// Coins held.
    pub quantity: f64,
    /// Average cost.
    pub avg_cost: f64,
    /// Price of the latest snapshot that had one.
    pub last_price: Option<f64>,
}

/// Row counts of every table (diagnostics, `trader db status`, `trader db reset`, tests).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RowCounts {
    /// `portfolios`.
    pub portfolios: i64,
    /// `coins`.
    pub coins: i64,
    /// `market_snapshots`.
    pub snapshots: i64,
    /// `trades`.
    pub trades: i64,
    /// `positions`.
    pub positions: i64,
}

/// What `trader db status` prints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DbStatus {
    /// The backend.
    pub backend: super::Backend,
    /// The URL, password redacted.
    pub url: String,
    /// Applied migrations, oldest first.
    pub migrations: Vec<String>,
    /// Rows per table.
    pub rows: RowCounts,
}

/// What `trader db reset` empties.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResetScope {
    /// Every table (the schema and the migration history stay).
    All,
    /// The trades, positions and row of one portfolio; coins, snapshots and the other
    /// portfolios stay.
    Portfolio(String),
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn slots_and_times() {
        let t = Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 5).unwrap()
            + chrono::Duration::milliseconds(999);
        assert_eq!(db_time(t).to_string(), "2026-01-02 03:04:05");
        assert_eq!(hour_slot(t).to_string(), "2026-01-02 03:00:00");
        let top = Utc.with_ymd_and_hms(2026, 1, 2, 4, 0, 0).unwrap();
        assert_eq!(hour_slot(top).to_string(), "2026-01-02 04:00:00");
        assert_ne!(
            hour_slot(top),
            hour_slot(top - chrono::Duration::seconds(1))
        );
    }
}
