//! How the trading cycle shows prices and the portfolio (its log lines, and the `trader`
//! binary's tables).

use ledger::PositionView;
use portfolio::{Holding, Report};

pub use portfolio::fmt_price;

/// The report of the stored positions; the current price is the latest stored one.
pub fn portfolio_report(positions: Vec<PositionView>) -> Report {
    Report::new(
        positions
            .into_iter()
            .map(|p| Holding::new(&p.symbol, &p.name, p.quantity, p.avg_cost, p.last_price))
            .collect(),
    )
}
