//! End to end, on SQLite, MariaDB and PostgreSQL: named portfolios, fees, concurrent
//! `trader --once` runs, `db status` and `db reset`.

mod common;

use std::process::Stdio;

use common::*;
use serde_json::json;

/// Two portfolios buy alpha in the same hour; a restart in that hour buys nothing twice;
/// the fee is stored and is part of the cost.
fn two_portfolios_in_one_hour(backend: Backend) {
    avoid_hour_boundary();
    let env = Env::on(backend, scenario(Some(120.0)));
    ok(&env.once());
    let out = env
        .command()
        .args(["--once", "--portfolio", "alice", "--fee-bps", "100"])
        .output()
        .expect("runs");
    ok(&out);
    // Restarts in the same hour: nothing more, in either portfolio.
    ok(&env.once());
    ok(&env
        .command()
        .args(["--once"])
        .env("TRADER_PORTFOLIO", "alice")
        .output()
        .expect("runs"));

    let default_trades = env.json("trades");
    assert_eq!(
        trades_without_time(&default_trades),
        [json!({"symbol": "ALP", "side": "buy", "quantity": 1.0, "price": 90.0})]
    );
    assert_eq!(default_trades[0]["fee"], 0.0);
    let alice = env.json_of("trades", "alice");
    assert_eq!(trades_without_time(&alice).len(), 1, "{alice}");
    assert_eq!(alice[0]["fee"], 0.9);
    assert_eq!(alice[0]["price_source"], "coingecko:markets.current_price");
    assert!(
        alice[0]["price_at"]
            .as_str()
            .is_some_and(|t| chrono::DateTime::parse_from_rfc3339(t).is_ok()),
        "{alice}"
    );
    // P&L includes the fee: cost 90.90 per coin against a price of 90.
    assert_eq!(
        env.json_of("portfolio", "alice"),
        json!([{"symbol": "ALP", "name": "Alpha", "quantity": 1.0, "avg_cost": 90.9, "current_price": 90.0, "pnl_pct": -0.99}])
    );
    assert_eq!(
        env.json("portfolio")[0]["avg_cost"],
        90.0,
        "the default portfolio paid no fee"
    );
    let list = env.json("portfolios");
    let names: Vec<(&str, i64)> = list
        .as_array()
        .expect("array")
        .iter()
        .map(|p| {
            (
                p["name"].as_str().expect("name"),
                p["trades"].as_i64().expect("trades"),
            )
        })
        .collect();
    assert_eq!(names, [("alice", 1), ("default", 1)]);
    assert_eq!(env.counts().trades, 2);
    assert!(
        env.log().contains("already bought in the") && env.log().contains("portfolio 'alice'"),
        "{}",
        env.log()
    );
}

#[test]
fn sqlite_two_portfolios_in_one_hour() {
    two_portfolios_in_one_hour(Backend::Sqlite);
}

#[test]
fn mysql_two_portfolios_in_one_hour() {
    two_portfolios_in_one_hour(Backend::Mysql);
}

#[test]
fn postgres_two_portfolios_in_one_hour() {
    two_portfolios_in_one_hour(Backend::Postgres);
}

/// Three `trader --once` started at the same moment on a fresh database: every run exits
/// 0, exactly one trade of alpha, and the others say the slot was taken.
fn concurrent_runs(backend: Backend) {
    avoid_hour_boundary();
    let env = Env::on(backend, scenario(Some(120.0)));
    let children: Vec<_> = (0..3)
        .map(|_| {
            env.command()
                .arg("--once")
                .env("DATABASE_TIMEOUT_SECS", "30")
                .env("DATABASE_CONNECT_TIMEOUT_SECS", "30")
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("trader starts")
        })
        .collect();
    let outputs: Vec<_> = children
        .into_iter()
        .map(|c| c.wait_with_output().expect("trader ends"))
        .collect();
    for out in &outputs {
        ok(out);
    }
    let stdout: Vec<String> = outputs
        .iter()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .collect();
    let bought = stdout
        .iter()
        .filter(|s| s.contains("TRADE buy 1 ALP"))
        .count();
    let lost = stdout
        .iter()
        .filter(|s| s.contains("ALP (Alpha): already bought in the"))
        .count();
    assert_eq!((bought, lost), (1, 2), "{stdout:#?}");
    assert_eq!(trades_without_time(&env.json("trades")).len(), 1);
    let counts = env.counts();
    assert_eq!((counts.trades, counts.positions, counts.coins), (1, 1, 3));
    assert_eq!(counts.snapshots, 9, "every run stored its markets");
}

#[test]
fn sqlite_concurrent_runs() {
    concurrent_runs(Backend::Sqlite);
}

#[test]
fn mysql_concurrent_runs() {
    concurrent_runs(Backend::Mysql);
}

#[test]
fn postgres_concurrent_runs() {
    concurrent_runs(Backend::Postgres);
}

/// `db status` and `db reset`: one portfolio, then everything; without `--yes` and no
/// terminal it refuses with exit 2 and deletes nothing.
fn status_and_reset(backend: Backend) {
    avoid_hour_boundary();
    let env = Env::on(backend, scenario(Some(120.0)));
    ok(&env.once());
    ok(&env.trader(&["--once", "--portfolio", "bob"]));

    let status = ok(&env.trader(&["db", "status"]));
    for want in [
        "migrations: 3 applied (2026-11-23-000000_create_trader, 2026-12-01-000000_portfolios, \
         2026-12-05-000000_portfolio_names)",
        "rows: portfolios 2, coins 3, market_snapshots 6, trades 2, positions 2",
    ] {
        assert!(status.contains(want), "{want:?} not in:\n{status}");
    }

    // No terminal, no --yes: refused, nothing deleted.
    let out = env
        .command()
        .args(["db", "reset"])
        .stdin(Stdio::null())
        .output()
        .expect("runs");
    let stderr = one_line_failure(&out, 2);
    assert!(stderr.contains("--yes"), "{stderr}");
    assert_eq!(env.counts().trades, 2);

    // One portfolio: its trades, positions and row; the rest stays.
    let out = ok(&env.trader(&["db", "reset", "--yes", "--portfolio", "bob"]));
    assert!(
        out.contains("portfolios 1, coins 0, market_snapshots 0, trades 1, positions 1"),
        "{out}"
    );
    let c = env.counts();
    assert_eq!(
        (c.portfolios, c.coins, c.snapshots, c.trades, c.positions),
        (1, 3, 6, 1, 1)
    );
    assert_eq!(trades_without_time(&env.json("trades")).len(), 1);
    assert_eq!(env.json_of("trades", "bob"), json!([]));

    // Everything.
    let out = ok(&env.trader(&["db", "reset", "--yes"]));
    assert!(
        out.contains("portfolios 1, coins 3, market_snapshots 6, trades 1, positions 1"),
        "{out}"
    );
    assert_eq!(env.counts(), ledger::RowCounts::default());
    // And the database still works.
    ok(&env.once());
    assert_eq!(env.counts().trades, 1);
}

#[test]
fn sqlite_status_and_reset() {
    status_and_reset(Backend::Sqlite);
}

#[test]
fn mysql_status_and_reset() {
    status_and_reset(Backend::Mysql);
}

#[test]
fn postgres_status_and_reset() {
    status_and_reset(Backend::Postgres);
}

/// Issue 20: names differing only by case or accent are four portfolios, each buying
/// alpha in the same hour, on every backend (MariaDB's default collation merged them).
fn names_differing_by_case_or_accent(backend: Backend) {
    avoid_hour_boundary();
    let env = Env::on(backend, scenario(Some(120.0)));
    let names = ["Alice", "alice", "cafe", "café"];
    for name in names {
        ok(&env.trader(&["--once", "--portfolio", name]));
    }
    let listed = env.json("portfolios");
    let listed: Vec<(&str, i64)> = listed
        .as_array()
        .expect("array")
        .iter()
        .map(|p| {
            (
                p["name"].as_str().expect("name"),
                p["trades"].as_i64().expect("n"),
            )
        })
        .collect();
    assert_eq!(
        listed,
        [
            ("Alice", 1),
            ("alice", 1),
            ("cafe", 1),
            ("café", 1),
            ("default", 0)
        ]
    );
    for name in names {
        let trades = env.json_of("trades", name);
        assert_eq!(trades.as_array().map(Vec::len), Some(1), "{name}: {trades}");
    }
}

#[test]
fn sqlite_names_differing_by_case_or_accent() {
    names_differing_by_case_or_accent(Backend::Sqlite);
}

#[test]
fn mysql_names_differing_by_case_or_accent() {
    names_differing_by_case_or_accent(Backend::Mysql);
}

#[test]
fn postgres_names_differing_by_case_or_accent() {
    names_differing_by_case_or_accent(Backend::Postgres);
}
