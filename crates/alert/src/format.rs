//! The lines the alerter prints, exactly as the contract spells them.
//!
//! - alert: `HH:MM:SS <SYMBOL> price has gone above <level> Last price: <last>` (or `below`)
//! - `-v`, an update that raised no alert: `HH:MM:SS Last price for symbol <SYMBOL> : <last>`
//!
//! `HH:MM:SS` is the local wall-clock time, zero-padded 24-hour. `<level>` is printed in the
//! canonical decimal form of [`Price`](crate::Price) (`43680`, `0.0015`: no trailing zeros),
//! whatever the user typed; `<last>` is the exchange's own text, untouched (`43680.01000000`).

use std::fmt::{self, Write};

use chrono::Timelike;

use crate::{Alert, Update};

/// Zero-padded `HH:MM:SS` of any chrono time (`chrono::Local::now()`, `NaiveTime`, ...).
///
/// ```
/// let t = chrono::NaiveTime::from_hms_opt(7, 5, 9).unwrap();
/// assert_eq!(alert::Hms::of(&t).to_string(), "07:05:09");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hms {
    hour: u32,
    minute: u32,
    second: u32,
}

impl Hms {
    /// The wall-clock fields of `time` (leap seconds show as `:59`).
    pub fn of(time: &impl Timelike) -> Self {
        Hms {
            hour: time.hour(),
            minute: time.minute(),
            second: time.second().min(59),
        }
    }
}

impl fmt::Display for Hms {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}:{:02}:{:02}", self.hour, self.minute, self.second)
    }
}

/// Appends the lines for one update to `out`, each ending in `\n`: one alert line per fired
/// alert, or with `verbose` the last-price line for a quiet update; nothing otherwise.
///
/// ```
/// use alert::{Direction, Hms, Level, Mode, Watcher, render_update};
/// let t = Hms::of(&chrono::NaiveTime::from_hms_opt(9, 3, 0).unwrap());
/// let level = Level::parse("BTCUSDT".parse().unwrap(), Direction::Above, "43680").unwrap();
/// let mut w = Watcher::new([level], Mode::EveryUpdate);
/// let mut out = String::new();
/// for last in ["43680.00000000", "43680.01000000"] {
///     let update = w.on_update("BTCUSDT", last).unwrap();
///     render_update(&mut out, t, "BTCUSDT", last, &update, true);
/// }
/// assert_eq!(out, "09:03:00 Last price for symbol BTCUSDT : 43680.00000000\n\
///                  09:03:00 BTCUSDT price has gone above 43680 Last price: 43680.01000000\n");
/// ```
pub fn render_update(
    out: &mut String,
    time: Hms,
    symbol: &str,
    last: &str,
    update: &Update,
    verbose: bool,
) {
    // Writing into a String cannot fail.
    let _ = match update {
        Update::Unwatched => Ok(()),
        Update::Quiet if verbose => writeln!(out, "{time} Last price for symbol {symbol} : {last}"),
        Update::Quiet => Ok(()),
        Update::Alerts(alerts) => alerts.iter().try_for_each(|a| write_alert(out, time, a)),
    };
}

/// One alert line, without the trailing newline.
///
/// ```
/// use alert::{Alert, Direction, Hms};
/// let a = Alert {
///     symbol: "ETHBTC".parse().unwrap(),
///     direction: Direction::Below,
///     level: "0.03".parse().unwrap(),
///     price: "0.02999".parse().unwrap(),
///     last: "0.02999000".into(),
/// };
/// let t = Hms::of(&chrono::NaiveTime::from_hms_opt(23, 59, 1).unwrap());
/// assert_eq!(alert::alert_line(t, &a), "23:59:01 ETHBTC price has gone below 0.03 Last price: 0.02999000");
/// ```
pub fn alert_line(time: Hms, alert: &Alert) -> String {
    let mut line = String::new();
    // Writing into a String cannot fail.
    let _ = write_alert(&mut line, time, alert);
    line.pop(); // the '\n'
    line
}

fn write_alert(out: &mut String, time: Hms, a: &Alert) -> fmt::Result {
    writeln!(
        out,
        "{time} {} price has gone {} {} Last price: {}",
        a.symbol, a.direction, a.level, a.last
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Direction, Level, Mode, Watcher};
    use chrono::NaiveTime;

    #[test]
    fn time_is_zero_padded() {
        let cases = [
            ((0, 0, 0), "00:00:00"),
            ((7, 5, 9), "07:05:09"),
            ((12, 30, 45), "12:30:45"),
            ((23, 59, 59), "23:59:59"),
        ];
        for ((h, m, s), text) in cases {
            let t = NaiveTime::from_hms_opt(h, m, s).unwrap();
            assert_eq!(Hms::of(&t).to_string(), text);
        }
        let leap = NaiveTime::from_hms_milli_opt(23, 59, 59, 1500).unwrap();
        assert_eq!(Hms::of(&leap).to_string(), "23:59:59");
    }

    #[test]
    fn lines_match_the_contract() {
        let t = Hms::of(&NaiveTime::from_hms_opt(1, 2, 3).unwrap());
        let levels = [
            Level::parse("BTCUSDT".parse().unwrap(), Direction::Above, "43680.50").unwrap(),
            Level::parse("BTCUSDT".parse().unwrap(), Direction::Below, "43600").unwrap(),
        ];
        let mut w = Watcher::new(levels, Mode::EveryUpdate);
        let cases = [
            (
                "BTCUSDT",
                "43690.00000000",
                false,
                "01:02:03 BTCUSDT price has gone above 43680.5 Last price: 43690.00000000\n",
            ),
            (
                "BTCUSDT",
                "43599.99000000",
                true,
                "01:02:03 BTCUSDT price has gone below 43600 Last price: 43599.99000000\n",
            ),
            ("BTCUSDT", "43680.50000000", false, ""),
            (
                "BTCUSDT",
                "43680.50000000",
                true,
                "01:02:03 Last price for symbol BTCUSDT : 43680.50000000\n",
            ),
            ("ETHBTC", "0.03000000", true, ""),
        ];
        for (i, (symbol, last, verbose, expected)) in cases.into_iter().enumerate() {
            let update = w.on_update(symbol, last).unwrap();
            let mut out = String::new();
            render_update(&mut out, t, symbol, last, &update, verbose);
            assert_eq!(out, expected, "case {i}");
        }
    }

    #[test]
    fn verbose_prints_quiet_updates_only() {
        let t = Hms::of(&NaiveTime::from_hms_opt(10, 0, 0).unwrap());
        let level = Level::parse("BTCUSDT".parse().unwrap(), Direction::Above, "100").unwrap();
        let mut w = Watcher::new([level], Mode::OnCross);
        let mut out = String::new();
        for last in ["99.00000000", "101.00000000", "102.00000000"] {
            let update = w.on_update("BTCUSDT", last).unwrap();
            render_update(&mut out, t, "BTCUSDT", last, &update, true);
        }
        assert_eq!(
            out,
            "10:00:00 Last price for symbol BTCUSDT : 99.00000000\n\
             10:00:00 BTCUSDT price has gone above 100 Last price: 101.00000000\n\
             10:00:00 Last price for symbol BTCUSDT : 102.00000000\n"
        );
    }
}
