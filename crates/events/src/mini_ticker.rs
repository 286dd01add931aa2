//! [`MiniTicker`]: the rolling 24-hour window of one symbol at one event time.
//!
//! The row kind of today's recordings. A venue crate decodes its frames into it (Binance:
//! `binance`'s `event/mini_ticker.rs`, with the raw payload and the link to the docs); the
//! tick dataset stores it as one row; the bus forwards it.

/// Symbol name, stored inline up to 24 bytes (`币安人生USDT` is 16 bytes of UTF-8).
pub type Symbol = compact_str::CompactString;

/// One mini-ticker event with prices and volumes as `f64`.
///
/// ```
/// let t = events::MiniTicker {
///     symbol: "币安人生USDT".into(), event_time: 1_764_547_200_000, close: 0.25, open: 0.2,
///     high: 0.3, low: 0.1, base_volume: 1e6, quote_volume: 2.5e5,
/// };
/// assert_eq!(t.symbol.len(), 16);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct MiniTicker {
    /// Symbol as the venue sends it, e.g. `BTCUSDT` or `币安人生USDT`.
    pub symbol: Symbol,
    /// Event time in milliseconds since the Unix epoch.
    pub event_time: i64,
    /// Last price.
    pub close: f64,
    /// Price 24 hours ago.
    pub open: f64,
    /// 24-hour high.
    pub high: f64,
    /// 24-hour low.
    pub low: f64,
    /// 24-hour traded base asset volume.
    pub base_volume: f64,
    /// 24-hour traded quote asset volume.
    pub quote_volume: f64,
}
