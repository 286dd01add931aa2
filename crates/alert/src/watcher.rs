//! The decision: which updates raise which alerts.

use std::collections::HashMap;

use crate::{Direction, Level, Mode, Price, PriceError, Symbol};

/// One fired alert, owned so that it can be queued for `--exec` / `--webhook`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alert {
    /// The symbol whose price went beyond the level.
    pub symbol: Symbol,
    /// The side of the level.
    pub direction: Direction,
    /// The level.
    pub level: Price,
    /// The last price, parsed.
    pub price: Price,
    /// The last price exactly as the exchange sent it (`"43680.01000000"`).
    pub last: String,
}

/// What an update did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Update {
    /// The symbol is not watched; nothing to print.
    Unwatched,
    /// The symbol is watched but no level alerted (what `-v` prints).
    Quiet,
    /// One alert per level that fired, in the order the levels were given.
    Alerts(Vec<Alert>),
}

#[derive(Debug)]
struct Rule {
    direction: Direction,
    level: Price,
    /// Whether the previous update of this symbol was beyond the level (`false` at start, so
    /// the first update beyond the level counts as a crossing).
    was_beyond: bool,
}

/// Holds the levels and the crossing state; feed it every update of the watched symbols.
///
/// The crossing state survives reconnects: "the previous update" is the previous one the
/// watcher saw, whatever happened to the connection in between.
///
/// ```
/// use alert::{Direction, Level, Mode, Update, Watcher};
/// let level = Level::parse("BTCUSDT".parse().unwrap(), Direction::Above, "43680").unwrap();
/// let mut w = Watcher::new([level], Mode::OnCross);
/// assert_eq!(w.on_update("BTCUSDT", "43680.00000000").unwrap(), Update::Quiet);
/// assert!(matches!(w.on_update("BTCUSDT", "43680.01000000").unwrap(), Update::Alerts(a) if a.len() == 1));
/// assert_eq!(w.on_update("BTCUSDT", "43690.00000000").unwrap(), Update::Quiet);
/// assert_eq!(w.on_update("ETHBTC", "0.03000000").unwrap(), Update::Unwatched);
/// ```
#[derive(Debug)]
pub struct Watcher {
    mode: Mode,
    /// Keyed by the upper-case symbol text, so a `&str` from the exchange looks it up directly.
    rules: HashMap<String, (Symbol, Vec<Rule>)>,
}

impl Watcher {
    /// A watcher for `levels` (several per symbol allowed) in `mode`. A level given twice
    /// (same symbol, direction and price, however the price is spelled) is kept once.
    pub fn new(levels: impl IntoIterator<Item = Level>, mode: Mode) -> Self {
        let mut rules: HashMap<String, (Symbol, Vec<Rule>)> = HashMap::new();
        for level in levels {
            let key = level.symbol.as_str().to_owned();
            let (_, list) = rules
                .entry(key)
                .or_insert_with(|| (level.symbol, Vec::new()));
            // Prices compare as exact decimals: `5`, `5.0` and `05.00` are one level, which
            // alerts once, not once per spelling.
            let known = list
                .iter()
                .any(|r| r.direction == level.direction && r.level == level.price);
            if !known {
                list.push(Rule {
                    direction: level.direction,
                    level: level.price,
                    was_beyond: false,
                });
            }
        }
        Watcher { mode, rules }
    }

    /// The watched symbols, sorted.
    pub fn symbols(&self) -> Vec<Symbol> {
        let mut symbols: Vec<Symbol> = self.rules.values().map(|(s, _)| s.clone()).collect();
        symbols.sort();
        symbols
    }

    /// Applies one update: `symbol` as sent by the exchange (upper case), `last` its last
    /// price text. A malformed price of a watched symbol is an error and leaves the crossing
    /// state untouched; an unwatched symbol is not parsed at all.
    ///
    /// # Errors
    ///
    /// A [`PriceError`] when `last` is not a plain decimal, for a watched symbol only.
    pub fn on_update(&mut self, symbol: &str, last: &str) -> Result<Update, PriceError> {
        let Some((symbol, rules)) = self.rules.get_mut(symbol) else {
            return Ok(Update::Unwatched);
        };
        let price: Price = last.parse()?;
        let mut alerts = Vec::new();
        for rule in rules.iter_mut() {
            let beyond = rule.direction.is_beyond(price, rule.level);
            let fire = match self.mode {
                Mode::EveryUpdate => beyond,
                Mode::OnCross => beyond && !rule.was_beyond,
            };
            rule.was_beyond = beyond;
            if fire {
                alerts.push(Alert {
                    symbol: symbol.clone(),
                    direction: rule.direction,
                    level: rule.level,
                    price,
                    last: last.to_owned(),
                });
            }
        }
        Ok(if alerts.is_empty() {
            Update::Quiet
        } else {
            Update::Alerts(alerts)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn level(symbol: &str, direction: Direction, price: &str) -> Level {
        Level::parse(symbol.parse().unwrap(), direction, price).unwrap()
    }

    /// Per update, the (direction, level) of each alert that fired.
    type Fired = Vec<Vec<(Direction, String)>>;

    /// Feeds `path` for BTCUSDT and returns what fired.
    fn run(levels: Vec<Level>, mode: Mode, path: &[&str]) -> Fired {
        let mut w = Watcher::new(levels, mode);
        path.iter()
            .map(|last| match w.on_update("BTCUSDT", last).unwrap() {
                Update::Alerts(a) => a
                    .into_iter()
                    .map(|a| (a.direction, a.level.to_string()))
                    .collect(),
                Update::Quiet => vec![],
                Update::Unwatched => panic!("BTCUSDT is watched"),
            })
            .collect()
    }

    #[test]
    fn decisions_follow_mode_and_level() {
        use Direction::{Above, Below};
        use Mode::{EveryUpdate, OnCross};
        let path = [
            "43679.99000000", // below 43680
            "43680.00000000", // at: not beyond
            "43680.01000000", // above
            "43681.00000000", // above
            "43680.00000000", // at
            "43700.00000000", // above again
        ];
        let a = |s: &str| vec![(Above, s.to_owned())];
        let b = |s: &str| vec![(Below, s.to_owned())];
        let none = Vec::new;
        let cases: Vec<(&str, Vec<Level>, Mode, Fired)> = vec![
            (
                "above, every update",
                vec![level("BTCUSDT", Above, "43680")],
                EveryUpdate,
                vec![none(), none(), a("43680"), a("43680"), none(), a("43680")],
            ),
            (
                "above, on cross",
                vec![level("BTCUSDT", Above, "43680")],
                OnCross,
                vec![none(), none(), a("43680"), none(), none(), a("43680")],
            ),
            (
                "below, every update",
                vec![level("BTCUSDT", Below, "43680")],
                EveryUpdate,
                vec![b("43680"), none(), none(), none(), none(), none()],
            ),
            (
                "below, on cross: the first update counts as a crossing",
                vec![level("BTCUSDT", Below, "43680")],
                OnCross,
                vec![b("43680"), none(), none(), none(), none(), none()],
            ),
            (
                "two levels, in the order given",
                vec![
                    level("BTCUSDT", Below, "43690"),
                    level("BTCUSDT", Above, "43680"),
                ],
                EveryUpdate,
                vec![
                    b("43690"),
                    b("43690"),
                    vec![(Below, "43690".into()), (Above, "43680".into())],
                    vec![(Below, "43690".into()), (Above, "43680".into())],
                    b("43690"),
                    a("43680"),
                ],
            ),
            (
                "one level spelled three ways alerts once",
                vec![
                    level("BTCUSDT", Above, "43680"),
                    level("btcusdt", Above, "43680.0"),
                    level("BTCUSDT", Above, "043680.000000"),
                ],
                EveryUpdate,
                vec![none(), none(), a("43680"), a("43680"), none(), a("43680")],
            ),
            (
                "the same price on both sides is two levels",
                vec![
                    level("BTCUSDT", Below, "43680.00"),
                    level("BTCUSDT", Above, "43680"),
                    level("BTCUSDT", Below, "43680"),
                ],
                OnCross,
                vec![b("43680"), none(), a("43680"), none(), none(), a("43680")],
            ),
        ];
        for (name, levels, mode, expected) in cases {
            assert_eq!(run(levels, mode, &path), expected, "{name}");
        }
    }

    #[test]
    fn alerts_carry_the_exchange_text() {
        let mut w = Watcher::new([level("BTCUSDT", Direction::Above, "1")], Mode::EveryUpdate);
        let Update::Alerts(alerts) = w.on_update("BTCUSDT", "2.50000000").unwrap() else {
            panic!("2.5 is above 1");
        };
        assert_eq!(alerts[0].last, "2.50000000");
        assert_eq!(alerts[0].price.to_string(), "2.5");
        assert_eq!(alerts[0].symbol.as_str(), "BTCUSDT");
    }

    #[test]
    fn malformed_price_is_an_error_and_keeps_state() {
        let mut w = Watcher::new([level("BTCUSDT", Direction::Above, "1")], Mode::OnCross);
        assert!(matches!(
            w.on_update("BTCUSDT", "2").unwrap(),
            Update::Alerts(_)
        ));
        for bad in ["", "abc", "-3", "1.2.3"] {
            assert!(w.on_update("BTCUSDT", bad).is_err(), "{bad:?}");
        }
        // Still beyond, and the bad updates did not reset the state: no new crossing.
        assert_eq!(w.on_update("BTCUSDT", "3").unwrap(), Update::Quiet);
    }

    #[test]
    fn unwatched_symbols_are_ignored_even_if_malformed() {
        let mut w = Watcher::new([level("btcusdt", Direction::Above, "1")], Mode::EveryUpdate);
        assert_eq!(w.on_update("ETHBTC", "garbage").unwrap(), Update::Unwatched);
        assert_eq!(w.symbols(), vec!["BTCUSDT".parse::<Symbol>().unwrap()]);
    }
}
