//! How the trading cycle shows prices and the portfolio (its log lines, and the `trader`
//! binary's tables).

use portfolio::{Holding, Report};
use store::db::PositionView;

/// A price for people: 2 decimals from 1 up, 8 significant decimals below.
pub fn fmt_price(p: f64) -> String {
    if p.abs() >= 1.0 || p == 0.0 {
        format!("{p:.2}")
    } else {
        format!("{p:.8}")
    }
}

/// The report of the stored positions; the current price is the latest stored one.
pub fn portfolio_report(positions: Vec<PositionView>) -> Report {
    Report::new(
        positions
            .into_iter()
            .map(|p| Holding::new(&p.symbol, &p.name, p.quantity, p.avg_cost, p.last_price))
            .collect(),
    )
}
