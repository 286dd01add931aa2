//! End to end, one cycle (`trader --once`) with the real binary against the simulated
//! CoinGecko, on SQLite, on MariaDB (127.0.0.1:3306) and on PostgreSQL (127.0.0.1:5432);
//! the server tests FAIL when their server is not reachable. Exit code of a skipped cycle
//! with `--once`: 1.

mod common;

use common::*;
use serde_json::json;

fn buys_below_average_once_per_hour(backend: Backend) {
    avoid_hour_boundary();
    let env = Env::on(backend, scenario(Some(120.0)));
    let stdout = ok(&env.once());

    let trades = env.json("trades");
    assert_eq!(
        trades_without_time(&trades),
        [json!({"symbol": "ALP", "side": "buy", "quantity": 1.0, "price": 90.0})]
    );
    assert_eq!(
        env.json("portfolio"),
        json!([{"symbol": "ALP", "name": "Alpha", "quantity": 1.0, "avg_cost": 90.0, "current_price": 90.0, "pnl_pct": 0.0}])
    );
    let log = env.log();
    for line in [
        "ALP (Alpha): price 90.00 vs 10-day average 99.50 -> BUY",
        "BET (Beta): price 100.00 vs 10-day average 100.00 -> HOLD",
        "GAM (Gamma): price 120.00 vs 10-day average 100.00 -> HOLD",
        "TRADE buy 1 ALP at 90.00 USD (position 1 @ avg cost 90.00)",
        "PORTFOLIO ALP (Alpha) qty 1 avg_cost 90.00 price 90.00 P&L +0.00%",
        "PORTFOLIO TOTAL cost 90.00 value 90.00 P&L +0.00%",
    ] {
        assert!(log.contains(line), "log lacks {line:?}:\n{log}");
        assert!(stdout.contains(line), "console lacks {line:?}:\n{stdout}");
    }
    assert!(
        !log.contains("DEL"),
        "the fourth coin is never looked at:\n{log}"
    );
    assert_eq!(
        env.counts(),
        ledger::RowCounts {
            portfolios: 1,
            coins: 3,
            snapshots: 3,
            trades: 1,
            positions: 1
        }
    );

    // Same hour, price lower still: nothing bought twice, but the new price is stored.
    let mut coins = scenario(Some(120.0));
    coins[0].current_price = Some(81.0);
    env.sim.handle.set_coins(coins);
    ok(&env.once());
    assert_eq!(
        trades_without_time(&env.json("trades")).len(),
        1,
        "a second run in the same hour buys nothing"
    );
    assert!(
        env.log().contains("ALP (Alpha): already bought in the"),
        "{}",
        env.log()
    );
    assert_eq!(
        env.json("portfolio"),
        json!([{"symbol": "ALP", "name": "Alpha", "quantity": 1.0, "avg_cost": 90.0, "current_price": 81.0, "pnl_pct": -10.0}])
    );
    assert!(
        env.log()
            .contains("PORTFOLIO TOTAL cost 90.00 value 81.00 P&L -10.00%"),
        "{}",
        env.log()
    );
    assert_eq!(
        env.counts(),
        ledger::RowCounts {
            portfolios: 1,
            coins: 3,
            snapshots: 6,
            trades: 1,
            positions: 1
        }
    );
}

#[test]
fn sqlite_buys_below_average_once_per_hour() {
    buys_below_average_once_per_hour(Backend::Sqlite);
}

#[test]
fn mysql_buys_below_average_once_per_hour() {
    buys_below_average_once_per_hour(Backend::Mysql);
}

#[test]
fn postgres_buys_below_average_once_per_hour() {
    buys_below_average_once_per_hour(Backend::Postgres);
}

fn server_errors_leave_the_database_unchanged(backend: Backend) {
    avoid_hour_boundary();
    let env = Env::on(backend, scenario(Some(120.0)));
    ok(&env.once());
    let (before_counts, before_trades, before_portfolio) =
        (env.counts(), env.json("trades"), env.json("portfolio"));

    // Cheaper everywhere, but every call fails: nothing may be written.
    let mut coins = scenario(Some(10.0));
    coins[1].current_price = Some(10.0);
    env.sim.handle.set_coins(coins);
    env.sim.handle.set_http_faults(0, u32::MAX);
    let out = env.once();
    assert_eq!(
        out.status.code(),
        Some(1),
        "--once exits 1 when the cycle is skipped"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        stderr.trim().lines().count(),
        1,
        "one line on stderr: {stderr}"
    );
    assert!(
        stderr.contains("cycle skipped, nothing written") && stderr.contains("after 3 attempts"),
        "{stderr}"
    );
    env.sim.handle.set_http_faults(0, 0);
    assert_eq!(env.counts(), before_counts);
    assert_eq!(env.json("trades"), before_trades);
    assert_eq!(env.json("portfolio"), before_portfolio);
}

#[test]
fn sqlite_server_errors_leave_the_database_unchanged() {
    server_errors_leave_the_database_unchanged(Backend::Sqlite);
}

#[test]
fn mysql_server_errors_leave_the_database_unchanged() {
    server_errors_leave_the_database_unchanged(Backend::Mysql);
}

#[test]
fn postgres_server_errors_leave_the_database_unchanged() {
    server_errors_leave_the_database_unchanged(Backend::Postgres);
}

fn rate_limit_then_success(backend: Backend) {
    let env = Env::on(backend, scenario(Some(120.0)));
    env.sim.handle.set_http_faults(1, 0);
    ok(&env.once());
    assert_eq!(trades_without_time(&env.json("trades")).len(), 1);
    let markets = env
        .sim
        .handle
        .requests()
        .iter()
        .filter(|r| r.contains("/coins/markets"))
        .count();
    assert_eq!(markets, 2, "the 429 was retried once");
    assert!(env.log().contains("rate limited"), "{}", env.log());
}

#[test]
fn sqlite_rate_limit_then_success() {
    rate_limit_then_success(Backend::Sqlite);
}

#[test]
fn mysql_rate_limit_then_success() {
    rate_limit_then_success(Backend::Mysql);
}

#[test]
fn postgres_rate_limit_then_success() {
    rate_limit_then_success(Backend::Postgres);
}

#[test]
fn null_price_is_skipped_with_a_warning() {
    let env = Env::new(false, scenario(None));
    ok(&env.once());
    let log = env.log();
    assert!(
        log.contains("WARN")
            && log.contains("skipping GAM (Gamma): CoinGecko gave no usable current price (null)"),
        "{log}"
    );
    assert_eq!(
        env.chart_requests("gamma"),
        0,
        "no history fetched for a coin without a price"
    );
    assert_eq!(env.chart_requests("alpha"), 1);
    assert_eq!(trades_without_time(&env.json("trades")).len(), 1);
    assert!(log.contains("0 held") || log.contains("1 held"), "{log}");
    assert!(log.contains("1 skipped"), "{log}");
}
