//! 24-hour rolling-window mini ticker (`<symbol>@miniTicker`, `!miniTicker@arr`).
//!
//! Official docs, "Individual Symbol Mini Ticker Stream" and "All Market Mini
//! Tickers Stream":
//! <https://developers.binance.com/docs/binance-spot-api-docs/web-socket-streams#individual-symbol-mini-ticker-stream>
//!
//! ```json
//! {
//!   "e": "24hrMiniTicker",  // Event type
//!   "E": 1672515782136,     // Event time
//!   "s": "BNBBTC",          // Symbol
//!   "c": "0.0025",          // Close price
//!   "o": "0.0010",          // Open price
//!   "h": "0.0025",          // High price
//!   "l": "0.0010",          // Low price
//!   "v": "10000",           // Total traded base asset volume
//!   "q": "18"               // Total traded quote asset volume
//! }
//! ```
//!
//! `!miniTicker@arr` sends a JSON array of these, one per symbol that changed
//! in the last second.

use super::fields::Fields;
use super::DecodeError;

/// Value of `e` for a mini ticker.
pub(crate) const EVENT_TYPE: &str = "24hrMiniTicker";

/// Symbol name, stored inline (Binance symbols are far shorter than 24 bytes).
pub type Symbol = compact_str::CompactString;

/// One mini-ticker event with prices and volumes as `f64`.
#[derive(Debug, Clone, PartialEq)]
pub struct MiniTicker {
    /// Symbol, upper case as Binance sends it (`s`), e.g. `BTCUSDT`.
    pub symbol: Symbol,
    /// Event time in milliseconds since the Unix epoch (`E`).
    pub event_time: i64,
    /// Last price (`c`).
    pub close: f64,
    /// Price 24 hours ago (`o`).
    pub open: f64,
    /// 24-hour high (`h`).
    pub high: f64,
    /// 24-hour low (`l`).
    pub low: f64,
    /// 24-hour traded base asset volume (`v`).
    pub base_volume: f64,
    /// 24-hour traded quote asset volume (`q`).
    pub quote_volume: f64,
}

/// Zero-copy view of one mini ticker with the exchange's exact decimal strings
/// (for exact decimal comparisons); borrowed from the frame text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RawMiniTicker<'a> {
    pub symbol: &'a str,
    pub event_time: i64,
    pub close: &'a str,
    pub open: &'a str,
    pub high: &'a str,
    pub low: &'a str,
    pub base_volume: &'a str,
    pub quote_volume: &'a str,
}

impl<'a> RawMiniTicker<'a> {
    /// Reads the mini-ticker keys of an event whose `e` is `24hrMiniTicker`.
    pub(crate) fn from_fields(f: &Fields<'a>) -> Result<Self, DecodeError> {
        Ok(RawMiniTicker {
            symbol: f.s.borrowed_str("s")?,
            event_time: f.event_time.int("E")?,
            close: f.c.borrowed_str("c")?,
            open: f.o.borrowed_str("o")?,
            high: f.h.borrowed_str("h")?,
            low: f.l.borrowed_str("l")?,
            base_volume: f.v.borrowed_str("v")?,
            quote_volume: f.q.borrowed_str("q")?,
        })
    }
}

impl RawMiniTicker<'_> {
    /// Parses the decimal strings into a [`MiniTicker`].
    ///
    /// Errors with [`DecodeError::BadNumber`] when a value is not a finite, non-negative
    /// decimal number (prices and volumes never are negative) and with [`DecodeError::UnexpectedShape`] on an empty symbol.
    ///
    /// ```
    /// let raw = stream::RawMiniTicker {
    ///     symbol: "BTCUSDT", event_time: 1, close: "2.5", open: "2", high: "3",
    ///     low: "1", base_volume: "10", quote_volume: "25",
    /// };
    /// assert_eq!(raw.parse().unwrap().close, 2.5);
    /// ```
    pub fn parse(&self) -> Result<MiniTicker, DecodeError> {
        if self.symbol.is_empty() {
            return Err(DecodeError::UnexpectedShape {
                detail: "empty symbol `s`".into(),
                excerpt: String::new(),
            });
        }
        Ok(MiniTicker {
            symbol: Symbol::new(self.symbol),
            event_time: self.event_time,
            close: self.number("c", self.close)?,
            open: self.number("o", self.open)?,
            high: self.number("h", self.high)?,
            low: self.number("l", self.low)?,
            base_volume: self.number("v", self.base_volume)?,
            quote_volume: self.number("q", self.quote_volume)?,
        })
    }

    fn number(&self, field: &'static str, value: &str) -> Result<f64, DecodeError> {
        match value.parse::<f64>() {
            Ok(n) if n.is_finite() && n >= 0.0 => Ok(n),
            _ => Err(DecodeError::BadNumber {
                field,
                value: value.chars().take(40).collect(),
                excerpt: format!(
                    "symbol {}",
                    self.symbol.chars().take(40).collect::<String>()
                ),
            }),
        }
    }
}
