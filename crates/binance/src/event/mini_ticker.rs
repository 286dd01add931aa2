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
//!
//! Since December 2025 a symbol may be non-ASCII. Binance's spot changelog of
//! 2025-12-15 (<https://developers.binance.com/docs/binance-spot-api-docs/CHANGELOG>):
//!
//! > In WebSocket Streams, All Market Mini Tickers Stream and All Market Rolling
//! > Window Statistics Streams events may contain non-ASCII characters encoded in UTF-8.
//!
//! JSON lets a server send such a name raw (`"s":"币安人生USDT"`) or escaped
//! (`"s":"\u5e01\u5b89\u4eba\u751fUSDT"`); both decode to the same [`Symbol`].
//! Every string field is a [`Cow`]: borrowed from the frame when it has no
//! backslash, an unescaped copy when it has.
//!
//! The decoded row, [`MiniTicker`], is the event core's (`events`): every venue's
//! mini tickers become the same row.

use std::borrow::Cow;

use events::{MiniTicker, Symbol};

use super::fields::Fields;
use super::DecodeError;

/// Value of `e` for a mini ticker.
pub(crate) const EVENT_TYPE: &str = "24hrMiniTicker";

/// View of one mini ticker with the exchange's exact decimal strings (for exact
/// decimal comparisons): borrowed from the frame text, or unescaped copies of
/// the strings that had JSON escapes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawMiniTicker<'a> {
    /// Symbol as Binance sends it (`s`), e.g. `BTCUSDT` or `币安人生USDT`; never checked
    /// here (see [`RawMiniTicker::parse`]), so it may be empty.
    pub symbol: Cow<'a, str>,
    /// Event time in milliseconds since the Unix epoch (`E`).
    pub event_time: i64,
    /// Last price (`c`), the exact decimal string, e.g. `"0.02456700"`.
    pub close: Cow<'a, str>,
    /// Price 24 hours ago (`o`), exact decimal string.
    pub open: Cow<'a, str>,
    /// 24-hour high (`h`), exact decimal string.
    pub high: Cow<'a, str>,
    /// 24-hour low (`l`), exact decimal string.
    pub low: Cow<'a, str>,
    /// 24-hour traded base asset volume (`v`), exact decimal string.
    pub base_volume: Cow<'a, str>,
    /// 24-hour traded quote asset volume (`q`), exact decimal string.
    pub quote_volume: Cow<'a, str>,
}

impl<'a> RawMiniTicker<'a> {
    /// Reads (takes) the mini-ticker keys of an event whose `e` is `24hrMiniTicker`.
    pub(crate) fn from_fields(f: &mut Fields<'a>) -> Result<Self, DecodeError> {
        Ok(RawMiniTicker {
            symbol: f.s.take_text("s")?,
            event_time: f.event_time.int("E")?,
            close: f.c.take_text("c")?,
            open: f.o.take_text("o")?,
            high: f.h.take_text("h")?,
            low: f.l.take_text("l")?,
            base_volume: f.v.take_text("v")?,
            quote_volume: f.q.take_text("q")?,
        })
    }
}

impl RawMiniTicker<'_> {
    /// Parses the decimal strings into a [`MiniTicker`].
    ///
    /// # Errors
    ///
    /// [`DecodeError::BadNumber`] when a value is not a finite, non-negative decimal
    /// number (prices and volumes never are negative); [`DecodeError::UnexpectedShape`]
    /// on an empty symbol.
    ///
    /// ```
    /// let raw = binance::RawMiniTicker {
    ///     symbol: "BTCUSDT".into(), event_time: 1, close: "2.5".into(), open: "2".into(),
    ///     high: "3".into(), low: "1".into(), base_volume: "10".into(), quote_volume: "25".into(),
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
            symbol: Symbol::new(&self.symbol),
            event_time: self.event_time,
            close: self.number("c", &self.close)?,
            open: self.number("o", &self.open)?,
            high: self.number("h", &self.high)?,
            low: self.number("l", &self.low)?,
            base_volume: self.number("v", &self.base_volume)?,
            quote_volume: self.number("q", &self.quote_volume)?,
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
