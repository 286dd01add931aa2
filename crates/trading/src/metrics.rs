//! The trader's metrics, each name declared once here ([`describe`] gives the `# HELP`
//! texts). `coin` labels are the held coins' symbols (the top 3 by market cap over time: a
//! small set).
//!
//! | name | type | what |
//! |---|---|---|
//! | `trader_cycles_total{result}` | counter | cycles, by `ok`, `api_failed` (skipped), `db_failed` |
//! | `trader_trades_total` | counter | simulated buys recorded |
//! | `trader_last_successful_cycle_timestamp_seconds` | gauge | Unix time the last cycle finished |
//! | `trader_portfolio_value_usd` | gauge | the holdings at their last prices |
//! | `trader_portfolio_pnl_percent` | gauge | gain/loss % of the holdings with a price |
//! | `trader_holding_value_usd{coin}` | gauge | one held coin at its last price |
//! | `trader_holding_pnl_percent{coin}` | gauge | one held coin's gain/loss % |
//!
//! CoinGecko retries and rate limits are the `pricing` crate's (`pricing::metrics`).

use metrics::{counter, describe_counter, describe_gauge, gauge, Unit};
use portfolio::Report;

use crate::cycle::{CycleError, CycleSummary};

/// Metric: trader cycles total.
pub const CYCLES: &str = "trader_cycles_total";
/// Counter: simulated buys recorded.
pub const TRADES: &str = "trader_trades_total";
/// Gauge: Unix time the last cycle finished.
pub const LAST_SUCCESSFUL_CYCLE: &str = "trader_last_successful_cycle_timestamp_seconds";
/// Gauge: the holdings at their last prices.
pub const PORTFOLIO_VALUE: &str = "trader_portfolio_value_usd";
/// Gauge: gain/loss % of the holdings with a price.
pub const PORTFOLIO_PNL: &str = "trader_portfolio_pnl_percent";
/// Metric: trader holding value usd.
pub const HOLDING_VALUE: &str = "trader_holding_value_usd";
/// Metric: trader holding pnl percent.
pub const HOLDING_PNL: &str = "trader_holding_pnl_percent";

/// Gives every metric above (and the CoinGecko client's) its `# HELP` text; call once after
/// installing a recorder.
pub fn describe() {
    describe_counter!(CYCLES, Unit::Count, "Trading cycles, by result");
    describe_counter!(TRADES, Unit::Count, "Simulated buys recorded");
    describe_gauge!(
        LAST_SUCCESSFUL_CYCLE,
        Unit::Seconds,
        "Unix time the last successful cycle finished"
    );
    describe_gauge!(PORTFOLIO_VALUE, "Holdings at their last prices, USD");
    describe_gauge!(
        PORTFOLIO_PNL,
        "Gain/loss % of the holdings that have a price"
    );
    describe_gauge!(HOLDING_VALUE, "One held coin at its last price, USD");
    describe_gauge!(HOLDING_PNL, "One held coin's gain/loss %");
    pricing::metrics::describe();
}

/// The outcome of one cycle (or of a period lost because the database could not be opened).
pub(crate) fn cycle(result: &Result<CycleSummary, CycleError>) {
    let label = match result {
        Ok(summary) => {
            counter!(TRADES).increment(summary.bought.len() as u64);
            let now = chrono::Utc::now().timestamp_millis() as f64 / 1000.0;
            gauge!(LAST_SUCCESSFUL_CYCLE).set(now);
            portfolio(&summary.portfolio);
            "ok"
        }
        Err(CycleError::Api(_)) => "api_failed",
        Err(CycleError::Db(_)) => "db_failed",
    };
    counter!(CYCLES, "result" => label).increment(1);
}

/// A period lost because the database could not be opened.
pub(crate) fn db_unavailable() {
    counter!(CYCLES, "result" => "db_failed").increment(1);
}

/// The portfolio after a cycle.
fn portfolio(report: &Report) {
    gauge!(PORTFOLIO_VALUE).set(report.total_value);
    if let Some(pnl) = report.total_pnl_pct {
        gauge!(PORTFOLIO_PNL).set(pnl);
    }
    for h in &report.holdings {
        if let (Some(price), Some(pnl)) = (h.current_price, h.pnl_pct) {
            gauge!(HOLDING_VALUE, "coin" => h.symbol.clone()).set(h.quantity * price);
            gauge!(HOLDING_PNL, "coin" => h.symbol.clone()).set(pnl);
        }
    }
}
