//! Profit and loss, and the portfolio report.

use std::fmt;

/// Rounds to 2 decimals, ties **half away from zero** (`0.125 -> 0.13`,
/// `-0.125 -> -0.13`).
///
/// Binary floating point cannot hold most decimal ties (`2.675` is stored as
/// 2.67499999…, and `(8.01 - 8.0) / 8.0 * 100` computes to 0.12499999999999734), so the
/// value in cents is first rounded to 6 decimals, which removes that noise, and then
/// rounded half away from zero: both examples give the decimal answer (`2.68`, `0.13`).
///
/// ```
/// assert_eq!(portfolio::round2(1.234), 1.23);
/// assert_eq!(portfolio::round2(2.675), 2.68);
/// assert_eq!(portfolio::round2(-0.125), -0.13);
/// ```
pub fn round2(x: f64) -> f64 {
    let cents = ((x * 100.0) * 1e6).round() / 1e6;
    let r = cents.round() / 100.0;
    // Avoid printing "-0.00".
    if r == 0.0 {
        0.0
    } else {
        r
    }
}

/// Gain or loss in percent of `cost` at `price`, rounded with [`round2`]; `None` when
/// the cost is not positive or an input is not finite.
///
/// ```
/// assert_eq!(portfolio::pnl_pct(80.0, 100.0), Some(25.0));
/// assert_eq!(portfolio::pnl_pct(3.0, 2.0), Some(-33.33));
/// ```
pub fn pnl_pct(cost: f64, price: f64) -> Option<f64> {
    if !(cost.is_finite() && cost > 0.0 && price.is_finite()) {
        return None;
    }
    Some(round2((price - cost) / cost * 100.0))
}

/// One line of the report.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Holding {
    /// Ticker, upper case (`BTC`).
    pub symbol: String,
    /// Display name.
    pub name: String,
    /// Coins held.
    pub quantity: f64,
    /// Average cost per coin.
    pub avg_cost: f64,
    /// Last known price, `None` if never seen.
    pub current_price: Option<f64>,
    /// Gain/loss %, 2 decimals; `None` without a price.
    pub pnl_pct: Option<f64>,
}

impl Holding {
    /// Builds a holding; `pnl_pct` is computed from `avg_cost` and `current_price`.
    pub fn new(
        symbol: &str,
        name: &str,
        quantity: f64,
        avg_cost: f64,
        current_price: Option<f64>,
    ) -> Holding {
        Holding {
            symbol: symbol.to_uppercase(),
            name: name.to_owned(),
            quantity,
            avg_cost,
            current_price,
            pnl_pct: current_price.and_then(|p| pnl_pct(avg_cost, p)),
        }
    }
}

/// The portfolio: holdings and a total (by default: empty, nothing held).
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Report {
    /// Holdings, in the order given.
    pub holdings: Vec<Holding>,
    /// Sum over holdings of `quantity * avg_cost`.
    pub total_cost: f64,
    /// Sum over holdings with a price of `quantity * current_price`.
    pub total_value: f64,
    /// Gain/loss % of the holdings that have a price (against their cost), 2 decimals.
    pub total_pnl_pct: Option<f64>,
}

impl Report {
    /// Totals `holdings`.
    ///
    /// ```
    /// use portfolio::{Holding, Report};
    /// let r = Report::new(vec![
    ///     Holding::new("btc", "Bitcoin", 1.0, 100.0, Some(110.0)),
    ///     Holding::new("eth", "Ethereum", 2.0, 50.0, Some(45.0)),
    /// ]);
    /// assert_eq!((r.total_cost, r.total_value, r.total_pnl_pct), (200.0, 200.0, Some(0.0)));
    /// ```
    pub fn new(holdings: Vec<Holding>) -> Report {
        // fold from +0.0: an empty float `sum()` is -0.0, which would print as "-0.00".
        let total_cost = holdings
            .iter()
            .fold(0.0, |c, h| c + h.quantity * h.avg_cost);
        let priced = holdings
            .iter()
            .filter_map(|h| h.current_price.map(|p| (h, p)));
        let (priced_cost, total_value) = priced.fold((0.0, 0.0), |(c, v), (h, p)| {
            (c + h.quantity * h.avg_cost, v + h.quantity * p)
        });
        let total_pnl_pct = if priced_cost > 0.0 {
            Some(round2((total_value - priced_cost) / priced_cost * 100.0))
        } else {
            None
        };
        Report {
            holdings,
            total_cost,
            total_value,
            total_pnl_pct,
        }
    }
}

/// Formats a price/amount with 2 decimals, `-` when unknown.
/// A price or amount for people: 2 decimals from 1 up, 8 decimals down to 0.0001, and
/// below that (or from 1e15 up) scientific notation with 5 significant digits, so that
/// a price of 1e-300 never prints as `0.00000000`.
///
/// ```
/// use portfolio::fmt_price;
/// assert_eq!(fmt_price(57_000.0), "57000.00");
/// assert_eq!(fmt_price(0.000123), "0.00012300");
/// assert_eq!(fmt_price(1e-300), "1.0000e-300");
/// assert_eq!(fmt_price(1e308), "1.0000e308");
/// assert_eq!(fmt_price(0.0), "0.00");
/// ```
pub fn fmt_price(p: f64) -> String {
    let a = p.abs();
    if a == 0.0 || !a.is_finite() || (1.0..1e15).contains(&a) {
        format!("{p:.2}")
    } else if (1e-4..1.0).contains(&a) {
        format!("{p:.8}")
    } else {
        format!("{p:.4e}")
    }
}

fn money(v: Option<f64>) -> String {
    v.map_or_else(|| "-".to_owned(), fmt_price)
}

fn pct(v: Option<f64>) -> String {
    v.map_or_else(|| "-".to_owned(), |v| format!("{v:+.2}%"))
}

impl Holding {
    /// The log line of one holding:
    /// `BTC (Bitcoin) qty 2 avg_cost 85.00 price 90.00 P&L +5.88%`.
    pub fn line(&self) -> String {
        format!(
            "{} ({}) qty {} avg_cost {} price {} P&L {}",
            self.symbol,
            self.name,
            self.quantity,
            fmt_price(self.avg_cost),
            money(self.current_price),
            pct(self.pnl_pct)
        )
    }
}

impl Report {
    /// The total line: `TOTAL cost 200.00 value 210.00 P&L +5.00%`.
    pub fn total_line(&self) -> String {
        format!(
            "TOTAL cost {} value {} P&L {}",
            fmt_price(self.total_cost),
            fmt_price(self.total_value),
            pct(self.total_pnl_pct)
        )
    }
}

impl fmt::Display for Report {
    /// A table for people: one row per holding and a total row.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{:<8} {:>14} {:>16} {:>16} {:>10}",
            "SYMBOL", "QUANTITY", "AVG COST", "PRICE", "P&L %"
        )?;
        for h in &self.holdings {
            writeln!(
                f,
                "{:<8} {:>14} {:>16} {:>16} {:>10}",
                h.symbol,
                h.quantity,
                fmt_price(h.avg_cost),
                money(h.current_price),
                pct(h.pnl_pct)
            )?;
        }
        writeln!(
            f,
            "{:<8} {:>14} {:>16} {:>16} {:>10}",
            "TOTAL",
            "",
            fmt_price(self.total_cost),
            fmt_price(self.total_value),
            pct(self.total_pnl_pct)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round2_is_half_away_from_zero() {
        let cases = [
            (0.125, 0.13),
            (-0.125, -0.13),
            (0.375, 0.38),
            (1.234, 1.23),
            (1.236, 1.24),
            (-1.236, -1.24),
            (2.675, 2.68), // binary 2.67499999...
            (1.2349999, 1.23),
            (-2.675, -2.68),
            (-0.001, 0.0),
            (0.0, 0.0),
            (12345.6789, 12345.68),
        ];
        for (x, want) in cases {
            assert_eq!(round2(x), want, "{x}");
        }
        assert!(round2(-0.001).is_sign_positive());
    }

    #[test]
    fn pnl_pct_table() {
        let cases = [
            (100.0, 110.0, Some(10.0)),
            (100.0, 90.0, Some(-10.0)),
            (3.0, 2.0, Some(-33.33)),
            (3.0, 4.0, Some(33.33)),
            (3.0, 5.0, Some(66.67)),
            (8.0, 8.01, Some(0.13)), // 0.125 exactly: away from zero
            (8.0, 7.99, Some(-0.13)),
            (100.0, 100.0, Some(0.0)),
            (0.0, 1.0, None),
            (-1.0, 1.0, None),
            (1.0, f64::NAN, None),
        ];
        for (cost, price, want) in cases {
            assert_eq!(pnl_pct(cost, price), want, "{cost} -> {price}");
        }
    }

    #[test]
    fn report_totals_and_lines() {
        let r = Report::new(vec![
            Holding::new("btc", "Bitcoin", 2.0, 85.0, Some(90.0)),
            Holding::new("xyz", "Unpriced", 1.0, 10.0, None),
        ]);
        assert_eq!(r.holdings[0].pnl_pct, Some(5.88));
        assert_eq!(r.holdings[1].pnl_pct, None);
        assert_eq!(r.total_cost, 180.0);
        assert_eq!(r.total_value, 180.0);
        // Only priced holdings count in the total %: 170 -> 180.
        assert_eq!(r.total_pnl_pct, Some(5.88));
        assert_eq!(
            r.holdings[0].line(),
            "BTC (Bitcoin) qty 2 avg_cost 85.00 price 90.00 P&L +5.88%"
        );
        assert_eq!(
            r.holdings[1].line(),
            "XYZ (Unpriced) qty 1 avg_cost 10.00 price - P&L -"
        );
        assert_eq!(r.total_line(), "TOTAL cost 180.00 value 180.00 P&L +5.88%");
        let table = r.to_string();
        assert_eq!(table.lines().count(), 4);
        assert!(table
            .lines()
            .last()
            .is_some_and(|l| l.starts_with("TOTAL") && l.ends_with("+5.88%")));
    }

    #[test]
    fn tiny_and_huge_prices_keep_their_digits() {
        let r = Report::new(vec![Holding::new("t", "Tiny", 1.0, 1e-300, Some(2e-300))]);
        assert_eq!(
            r.holdings[0].line(),
            "T (Tiny) qty 1 avg_cost 1.0000e-300 price 2.0000e-300 P&L +100.00%"
        );
        assert!(r.to_string().contains("1.0000e-300"), "{r}");
        assert_eq!(
            Report::new(vec![Holding::new("h", "Huge", 1.0, 1e308, Some(1e308))]).total_line(),
            "TOTAL cost 1.0000e308 value 1.0000e308 P&L +0.00%"
        );
    }

    #[test]
    fn empty_report() {
        let r = Report::new(vec![]);
        assert_eq!(
            (r.total_cost, r.total_value, r.total_pnl_pct),
            (0.0, 0.0, None)
        );
        assert_eq!(r.total_line(), "TOTAL cost 0.00 value 0.00 P&L -");
    }

    #[test]
    fn json_keys_are_the_contract() {
        let v =
            serde_json::to_value(Holding::new("eth", "Ethereum", 1.0, 2.0, None)).expect("json");
        let keys: Vec<&str> = v
            .as_object()
            .expect("object")
            .keys()
            .map(String::as_str)
            .collect();
        let mut want = [
            "symbol",
            "name",
            "quantity",
            "avg_cost",
            "current_price",
            "pnl_pct",
        ];
        want.sort_unstable();
        let mut keys = keys;
        keys.sort_unstable();
        assert_eq!(keys, want);
    }
}
