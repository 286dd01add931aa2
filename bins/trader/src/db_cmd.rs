//! `trader portfolios`, `trader db status`, `trader db migrate` and `trader db reset`: what
//! they print and the reset's confirmation.

use std::io::{BufRead, IsTerminal, Write};

use chrono::SecondsFormat;
use store::db::{DbStatus, PortfolioView, ResetScope, RowCounts, Store};

use super::{db_fail, Fail};

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
