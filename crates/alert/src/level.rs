//! What to watch: a symbol, a direction and a price level.

use std::fmt;
use std::str::FromStr;

use crate::Price;

/// A Binance spot symbol as the user typed it, ASCII letters upper-cased: `BTCUSDT`,
/// `币安人生USDT`.
///
/// Which symbols exist is `exchangeInfo`'s to say, not a character rule: since Binance's
/// spot changelog of 2025-12-02 ("Parameter `symbol` and `symbols` can now support Unicode
/// values encoded in UTF-8", <https://developers.binance.com/docs/binance-spot-api-docs/CHANGELOG>)
/// a symbol may be any UTF-8 text. This type only refuses what cannot be one name: nothing,
/// blanks inside, control characters. Only ASCII letters are upper-cased (Binance lists
/// symbols upper case; other scripts have no case to fix, and `to_uppercase` would change
/// e.g. `ß` into `SS`).
///
/// ```
/// use alert::Symbol;
/// let s: Symbol = " btcUsdt ".parse().unwrap();
/// assert_eq!(s.as_str(), "BTCUSDT");
/// assert_eq!(s.stream_name(), "btcusdt@miniTicker");
/// let utf8: Symbol = "币安人生usdt".parse().unwrap();
/// assert_eq!(utf8.as_str(), "币安人生USDT");
/// assert_eq!(utf8.stream_name(), "币安人生usdt@miniTicker");
/// assert!("BTC USDT".parse::<Symbol>().is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Symbol(String);

/// Why a text is not a [`Symbol`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SymbolError {
    /// Nothing (or only blanks) was given.
    #[error("no symbol given")]
    Empty,
    /// Blanks or control characters inside.
    #[error("'{0}' is not a symbol (one name without blanks, such as BTCUSDT or 币安人生USDT)")]
    BadChars(String),
}

impl Symbol {
    /// The symbol as Binance spells it in events and REST (ASCII letters upper case).
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The mini-ticker stream name, ASCII letters lower-cased as Binance requires ("All
    /// symbols for streams are lowercase"): `btcusdt@miniTicker`, `币安人生usdt@miniTicker`.
    /// Not percent-encoded: the stream client encodes it for the URL.
    pub fn stream_name(&self) -> String {
        format!("{}@miniTicker", self.0.to_ascii_lowercase())
    }
}

impl FromStr for Symbol {
    type Err = SymbolError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let s = text.trim();
        if s.is_empty() {
            return Err(SymbolError::Empty);
        }
        if s.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(SymbolError::BadChars(s.to_owned()));
        }
        Ok(Symbol(s.to_ascii_uppercase()))
    }
}

impl fmt::Display for Symbol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Which side of the level raises an alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// Alert when the last price is strictly above the level.
    Above,
    /// Alert when the last price is strictly below the level.
    Below,
}

impl Direction {
    /// `above` or `below`, as printed in alert lines and passed to `--exec`.
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Above => "above",
            Direction::Below => "below",
        }
    }

    /// `true` when `price` is strictly beyond `level` on this side (equal is not beyond).
    pub fn is_beyond(self, price: Price, level: Price) -> bool {
        match self {
            Direction::Above => price > level,
            Direction::Below => price < level,
        }
    }
}

impl fmt::Display for Direction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// When an update beyond a level raises an alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    /// Every update beyond the level alerts (the original behaviour).
    #[default]
    EveryUpdate,
    /// Only an update beyond the level whose previous update was not beyond it alerts; the
    /// first update after start counts as a crossing when it is beyond.
    OnCross,
}

/// One alert rule: `symbol` going `direction` of `price`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Level {
    /// The watched symbol.
    pub symbol: Symbol,
    /// Which side alerts.
    pub direction: Direction,
    /// The level itself (positive).
    pub price: Price,
}

/// Why a level was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LevelError {
    /// The text is not a price.
    #[error(transparent)]
    Price(#[from] crate::PriceError),
    /// Zero is not a usable level.
    #[error("the price must be greater than zero")]
    NotPositive,
}

impl Level {
    /// A level from user text: the price must be a positive finite decimal.
    ///
    /// # Errors
    ///
    /// [`LevelError::Price`] when `price` is not a plain positive decimal (see
    /// [`PriceError`](crate::PriceError)); [`LevelError::NotPositive`] for zero.
    ///
    /// ```
    /// use alert::{Direction, Level};
    /// let level = Level::parse("btcusdt".parse().unwrap(), Direction::Above, "43680").unwrap();
    /// assert_eq!(level.price.to_string(), "43680");
    /// assert!(Level::parse("BTCUSDT".parse().unwrap(), Direction::Above, "0").is_err());
    /// ```
    pub fn parse(symbol: Symbol, direction: Direction, price: &str) -> Result<Self, LevelError> {
        let price: Price = price.parse()?;
        if price.is_zero() {
            return Err(LevelError::NotPositive);
        }
        Ok(Level {
            symbol,
            direction,
            price,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn symbols_are_checked_and_upper_cased() {
        let cases = [
            ("BTCUSDT", Ok("BTCUSDT")),
            ("btcusdt", Ok("BTCUSDT")),
            (" ethBtc\n", Ok("ETHBTC")),
            ("1INCHUSDT", Ok("1INCHUSDT")),
            ("", Err(SymbolError::Empty)),
            ("  ", Err(SymbolError::Empty)),
            // exchangeInfo, not this type, says whether these exist.
            ("币安人生USDT", Ok("币安人生USDT")),
            ("币安人生usdt", Ok("币安人生USDT")),
            (" 这是测试币456 ", Ok("这是测试币456")),
            ("btcüsdt", Ok("BTCüSDT")),
            ("straße", Ok("STRAßE")),
            ("BTC/USDT", Ok("BTC/USDT")),
            ("btc usdt", Err(SymbolError::BadChars("btc usdt".into()))),
            (
                "币安\u{3000}人生",
                Err(SymbolError::BadChars("币安\u{3000}人生".into())),
            ),
            ("btc\tusdt", Err(SymbolError::BadChars("btc\tusdt".into()))),
            ("btc\u{7f}", Err(SymbolError::BadChars("btc\u{7f}".into()))),
        ];
        for (input, expected) in cases {
            let got = input.parse::<Symbol>();
            assert_eq!(
                got.as_ref().map(Symbol::as_str),
                expected.as_ref().map(|s| *s),
                "{input:?}"
            );
        }
    }

    #[test]
    fn beyond_is_strict() {
        let p = |s: &str| s.parse::<Price>().unwrap();
        let cases = [
            (Direction::Above, "43680.00000001", "43680", true),
            (Direction::Above, "43680.00000000", "43680", false),
            (Direction::Above, "43679.99999999", "43680", false),
            (Direction::Below, "43679.99999999", "43680", true),
            (Direction::Below, "43680.00000000", "43680", false),
            (Direction::Below, "43680.00000001", "43680", false),
        ];
        for (dir, price, level, beyond) in cases {
            assert_eq!(
                dir.is_beyond(p(price), p(level)),
                beyond,
                "{price} {dir} {level}"
            );
        }
    }

    #[test]
    fn levels_must_be_positive() {
        let sym: Symbol = "BTCUSDT".parse().unwrap();
        let cases = [
            ("1", None),
            ("0.00000001", None),
            ("0", Some(LevelError::NotPositive)),
            ("0.000", Some(LevelError::NotPositive)),
            (
                "-5",
                Some(LevelError::Price(crate::PriceError::Negative("-5".into()))),
            ),
            (
                "nan",
                Some(LevelError::Price(crate::PriceError::NotFinite(
                    "nan".into(),
                ))),
            ),
        ];
        for (input, err) in cases {
            let got = Level::parse(sym.clone(), Direction::Below, input);
            assert_eq!(got.err(), err, "{input:?}");
        }
    }
}
