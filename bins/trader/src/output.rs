//! What the trader prints: `trader portfolio` and `trader trades` (text or JSON),
//! `trader portfolios`, `trader db status`, `trader db migrate` and `trader db reset` (with
//! the reset's confirmation).

use std::io::{BufRead, IsTerminal, Write};

use chrono::{NaiveDateTime, SecondsFormat};
use ledger::{DbStatus, PortfolioView, ResetScope, RowCounts, Store, TradeView};
use portfolio::{Report, Side};
use trading::report::fmt_price;

use super::{db_fail, Fail};

/// One trade as printed: keys `symbol`, `side`, `quantity`, `price`, `executed_at`, and
/// how it was filled: `fee`, `price_source`, `price_at` (RFC 3339 or null).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct TradeOut {
    /// Ticker, upper case.
    pub symbol: String,
    /// `buy` or `sell`.
    pub side: Side,
    /// Coins.
    pub quantity: f64,
    /// Fill price (USD).
    pub price: f64,
    /// RFC 3339 UTC, e.g. `2026-11-23T19:05:00Z`.
    pub executed_at: String,
    /// Fee paid (USD).
    pub fee: f64,
    /// Where the price came from.
    pub price_source: String,
    /// When that price was current (RFC 3339 UTC), if known.
    pub price_at: Option<String>,
}

impl From<TradeView> for TradeOut {
    fn from(t: TradeView) -> Self {
        TradeOut {
            symbol: t.symbol.to_uppercase(),
            side: t.side,
            quantity: t.quantity,
            price: t.price,
            executed_at: rfc3339(t.executed_at),
            fee: t.fee,
            price_source: t.price_source,
            price_at: t.price_at.map(rfc3339),
        }
    }
}

fn rfc3339(t: NaiveDateTime) -> String {
    t.and_utc().to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// `trader portfolio`: a table, or with `json` an array of holdings.
pub fn render_portfolio(report: &Report, json: bool) -> Result<String, serde_json::Error> {
    if json {
        return serde_json::to_string_pretty(&report.holdings);
    }
    Ok(report.to_string())
}

/// `trader trades`: a table, or with `json` an array of trades.
pub fn render_trades(trades: Vec<TradeView>, json: bool) -> Result<String, serde_json::Error> {
    let trades: Vec<TradeOut> = trades.into_iter().map(TradeOut::from).collect();
    if json {
        return serde_json::to_string_pretty(&trades);
    }
    let mut out = format!(
        "{:<20} {:<5} {:<8} {:>12} {:>16} {:>12}\n",
        "EXECUTED AT", "SIDE", "SYMBOL", "QUANTITY", "PRICE", "FEE"
    );
    for t in &trades {
        out.push_str(&format!(
            "{:<20} {:<5} {:<8} {:>12} {:>16} {:>12}\n",
            t.executed_at,
            t.side.as_str(),
            t.symbol,
            t.quantity,
            fmt_price(t.price),
            fmt_price(t.fee)
        ));
    }
    Ok(out)
}

/// One portfolio as `trader portfolios --json` prints it.
#[derive(Debug, serde::Serialize)]
struct PortfolioOut {
    name: String,
    /// RFC 3339 UTC.
    created_at: String,
    trades: i64,
    open_positions: i64,
}

/// `trader portfolios`: a table, or with `json` an array.
pub fn portfolios(store: &mut Store, json: bool) -> Result<String, Fail> {
    let list: Vec<PortfolioOut> = store
        .portfolios()
        .map_err(db_fail)?
        .into_iter()
        .map(|p: PortfolioView| PortfolioOut {
            name: p.name,
            created_at: p
                .created_at
                .and_utc()
                .to_rfc3339_opts(SecondsFormat::Secs, true),
            trades: p.trades,
            open_positions: p.open_positions,
        })
        .collect();
    if json {
        return serde_json::to_string_pretty(&list)
            .map_err(|e| Fail::Runtime(format!("cannot format the output: {e}")));
    }
    let mut out = format!(
        "{:<24} {:<20} {:>8} {:>10}\n",
        "PORTFOLIO", "CREATED AT", "TRADES", "POSITIONS"
    );
    for p in &list {
        out.push_str(&format!(
            "{:<24} {:<20} {:>8} {:>10}\n",
            p.name, p.created_at, p.trades, p.open_positions
        ));
    }
    Ok(out)
}

fn counts_line(c: &RowCounts) -> String {
    format!(
        "portfolios {}, coins {}, market_snapshots {}, trades {}, positions {}",
        c.portfolios, c.coins, c.snapshots, c.trades, c.positions
    )
}

/// `trader db status`: backend, redacted URL, applied migrations, row counts.
pub fn status(store: &mut Store) -> Result<String, Fail> {
    let DbStatus {
        backend,
        url,
        migrations,
        rows,
    } = store.status().map_err(db_fail)?;
    Ok(format!(
        "backend: {}\nurl: {url}\nmigrations: {} applied ({})\nrows: {}\n",
        backend.as_str(),
        migrations.len(),
        migrations.join(", "),
        counts_line(&rows)
    ))
}

/// `trader db migrate` (the store was opened with the migrations): what is applied now.
pub fn migrated(store: &mut Store) -> Result<String, Fail> {
    let status = store.status().map_err(db_fail)?;
    Ok(format!(
        "database {} is up to date: {} migrations applied ({})\n",
        status.url,
        status.migrations.len(),
        status.migrations.join(", ")
    ))
}

/// `trader db reset`: asks on a terminal unless `yes`; refuses (exit 2) without a terminal.
pub fn reset(store: &mut Store, portfolio: Option<&str>, yes: bool) -> Result<String, Fail> {
    let scope = portfolio.map_or(ResetScope::All, |p| ResetScope::Portfolio(p.to_owned()));
    let what = match &scope {
        ResetScope::All => format!("EVERY table of {}", store.redacted_url()),
        ResetScope::Portfolio(p) => format!(
            "the trades and positions of portfolio '{p}' in {}",
            store.redacted_url()
        ),
    };
    if !yes {
        let stdin = std::io::stdin();
        if !stdin.is_terminal() {
            return Err(Fail::Config(format!(
                "db reset would empty {what}: pass --yes (stdin is not a terminal to ask)"
            )));
        }
        eprint!("This empties {what}. Type 'yes' to go on: ");
        let _ = std::io::stderr().flush();
        let mut answer = String::new();
        stdin
            .lock()
            .read_line(&mut answer)
            .map_err(|e| Fail::Runtime(format!("cannot read the answer: {e}")))?;
        if answer.trim() != "yes" {
            return Err(Fail::Runtime("db reset cancelled, nothing deleted".into()));
        }
    }
    let deleted = store.reset(&scope).map_err(db_fail)?;
    Ok(format!(
        "emptied {what}: deleted {}\n",
        counts_line(&deleted)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prices_and_trades() {
        assert_eq!(fmt_price(57_000.0), "57000.00");
        assert_eq!(fmt_price(0.000123), "0.00012300");
        let t = TradeView {
            id: 1,
            coin_id: "bitcoin".into(),
            symbol: "btc".into(),
            side: Side::Buy,
            quantity: 1.0,
            price: 5.5,
            executed_at: chrono::DateTime::from_timestamp(1_700_000_000, 0)
                .expect("ts")
                .naive_utc(),
            fee: 0.0,
            price_source: "coingecko:markets.current_price".into(),
            price_at: None,
        };
        let json = render_trades(vec![t.clone()], true).expect("json");
        let v: serde_json::Value = serde_json::from_str(&json).expect("parse");
        assert_eq!(
            v,
            serde_json::json!([{"symbol":"BTC","side":"buy","quantity":1.0,"price":5.5,"executed_at":"2023-11-14T22:13:20Z","fee":0.0,"price_source":"coingecko:markets.current_price","price_at":null}])
        );
        let text = render_trades(vec![t], false).expect("text");
        assert!(
            text.lines()
                .nth(1)
                .is_some_and(|l| l.contains("BTC") && l.contains("5.50")),
            "{text}"
        );
    }
}
