//! End to end: the real `trader` binary against the simulated CoinGecko (in-process, on
//! 127.0.0.1) with SQLite in a temp dir, and with the MariaDB server on 127.0.0.1:3306
//! (root, empty password; a fresh database per test, dropped afterwards). The MySQL tests
//! FAIL when MariaDB is not reachable: CI starts it.

use std::path::PathBuf;
use std::process::{Command, Output};
use std::time::Duration;

use chrono::{Timelike, Utc};
use diesel::connection::SimpleConnection;
use diesel::{Connection, MysqlConnection};
use serde_json::{json, Value};
use sim::{CoinScenario, Faults, SimConfig, SimHandle};
use store::db::Store;

fn coin(id: &str, symbol: &str, cap: f64, price: Option<f64>, daily: Vec<f64>) -> CoinScenario {
    let mut name = id.to_owned();
    name[..1].make_ascii_uppercase();
    CoinScenario {
        id: id.into(),
        symbol: symbol.into(),
        name,
        current_price: price,
        market_cap: cap,
        total_volume: 1e8,
        daily,
    }
}

/// alpha: live 90 < average 99.5 of its last ten closes 95..=104 (older closes of 1000 are
///        outside the window) -> BUY.
/// beta:  live 100 == average 100 -> HOLD (the older 200s are outside the window).
/// gamma: live 120 > 100 -> HOLD.
/// delta: cheap but fourth by market cap -> never looked at.
fn scenario(gamma_price: Option<f64>) -> Vec<CoinScenario> {
    let mut alpha = vec![1000.0, 1000.0];
    alpha.extend((95..=104).map(f64::from));
    let mut beta = vec![200.0, 200.0];
    beta.extend([100.0; 10]);
    vec![
        coin("alpha", "alp", 3e9, Some(90.0), alpha),
        coin("beta", "bet", 2e9, Some(100.0), beta),
        coin("gamma", "gam", 1e9, gamma_price, vec![100.0; 12]),
        coin("delta", "del", 1e8, Some(1.0), vec![100.0; 12]),
    ]
}

/// The simulator on its own runtime, alive as long as the value.
struct Sim {
    handle: SimHandle,
    _rt: tokio::runtime::Runtime,
}

fn start_sim(coins: Vec<CoinScenario>) -> Sim {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let config = SimConfig {
        symbols: 10,
        coins,
        faults: Faults::default(),
        ..SimConfig::default()
    };
    let handle = rt
        .block_on(sim::start("127.0.0.1:0".parse().expect("addr"), config))
        .expect("sim starts");
    Sim { handle, _rt: rt }
}

/// Where the data goes.
enum Db {
    Sqlite(PathBuf),
    Mysql {
        admin: MysqlConnection,
        name: String,
    },
}

impl Db {
    fn url(&self) -> String {
        match self {
            Db::Sqlite(p) => format!("sqlite://{}", p.display()),
            Db::Mysql { name, .. } => format!("mysql://root@127.0.0.1:3306/{name}"),
        }
    }

    fn mysql() -> Db {
        let mut admin = MysqlConnection::establish("mysql://root@127.0.0.1:3306/mysql").unwrap_or_else(|e| {
            panic!("MariaDB must be running on 127.0.0.1:3306 (root, empty password) for the MySQL end-to-end tests; .ci/run starts it. Error: {e}")
        });
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let name = format!("trader_e2e_{}_{nanos}", std::process::id());
        admin
            .batch_execute(&format!("CREATE DATABASE `{name}`"))
            .expect("create database");
        Db::Mysql { admin, name }
    }
}

impl Drop for Db {
    fn drop(&mut self) {
        if let Db::Mysql { admin, name } = self {
            let _ = admin.batch_execute(&format!("DROP DATABASE IF EXISTS `{name}`"));
        }
    }
}

struct Env {
    dir: tempfile::TempDir,
    db: Db,
    sim: Sim,
}

impl Env {
    fn new(mysql: bool, coins: Vec<CoinScenario>) -> Env {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = if mysql {
            Db::mysql()
        } else {
            Db::Sqlite(dir.path().join("db/trader.db"))
        };
        Env {
            db,
            sim: start_sim(coins),
            dir,
        }
    }

    fn log_path(&self) -> PathBuf {
        self.dir.path().join("logs/app.log")
    }

    fn trader(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_trader"))
            .args(args)
            .current_dir(self.dir.path())
            .env("COINGECKO_API_URL", self.sim.handle.coingecko_base())
            .env("DATABASE_URL", self.db.url())
            .env("LOG_FILE", self.log_path())
            .env("COINGECKO_RETRY_DELAY_MS", "1")
            .env("COINGECKO_MAX_ATTEMPTS", "3")
            .env_remove("COINGECKO_API_KEY")
            .env_remove("LOG_LEVEL")
            .output()
            .expect("trader runs")
    }

    fn once(&self) -> Output {
        self.trader(&["--once"])
    }

    fn json(&self, what: &str) -> Value {
        let out = self.trader(&[what, "--json"]);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{what}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "{what} --json: {e}: {}",
                String::from_utf8_lossy(&out.stdout)
            )
        })
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    fn counts(&self) -> store::db::RowCounts {
        Store::open(&self.db.url())
            .expect("open")
            .row_counts()
            .expect("counts")
    }

    fn chart_requests(&self, id: &str) -> usize {
        self.sim
            .handle
            .requests()
            .iter()
            .filter(|r| r.contains(&format!("/coins/{id}/market_chart")))
            .count()
    }
}

fn ok(out: &Output) -> String {
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(
        out.status.code(),
        Some(0),
        "stdout: {stdout}\nstderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// The "same hour" checks need both runs inside one hour: never start them in the last
/// 20 seconds of an hour.
fn avoid_hour_boundary() {
    let now = Utc::now();
    let left = 3600 - (now.minute() * 60 + now.second());
    if left < 20 {
        std::thread::sleep(Duration::from_secs(u64::from(left) + 1));
    }
}

fn trades_without_time(v: &Value) -> Vec<Value> {
    v.as_array()
        .expect("array")
        .iter()
        .map(|t| {
            let at = t["executed_at"].as_str().expect("executed_at string");
            assert!(chrono::DateTime::parse_from_rfc3339(at).is_ok(), "{at}");
            json!({"symbol": t["symbol"], "side": t["side"], "quantity": t["quantity"], "price": t["price"]})
        })
        .collect()
}

fn buys_below_average_once_per_hour(mysql: bool) {
    avoid_hour_boundary();
    let env = Env::new(mysql, scenario(Some(120.0)));
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
        store::db::RowCounts {
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
        store::db::RowCounts {
            coins: 3,
            snapshots: 6,
            trades: 1,
            positions: 1
        }
    );
}

#[test]
fn sqlite_buys_below_average_once_per_hour() {
    buys_below_average_once_per_hour(false);
}

#[test]
fn mysql_buys_below_average_once_per_hour() {
    buys_below_average_once_per_hour(true);
}

fn server_errors_leave_the_database_unchanged(mysql: bool) {
    avoid_hour_boundary();
    let env = Env::new(mysql, scenario(Some(120.0)));
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
    server_errors_leave_the_database_unchanged(false);
}

#[test]
fn mysql_server_errors_leave_the_database_unchanged() {
    server_errors_leave_the_database_unchanged(true);
}

fn rate_limit_then_success(mysql: bool) {
    let env = Env::new(mysql, scenario(Some(120.0)));
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
    rate_limit_then_success(false);
}

#[test]
fn mysql_rate_limit_then_success() {
    rate_limit_then_success(true);
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

#[test]
fn bad_configuration_exits_2_without_secrets() {
    let env = Env::new(false, scenario(Some(1.0)));
    let out = Command::new(env!("CARGO_BIN_EXE_trader"))
        .args(["--once", "--database-url", "postgres://bot:hunter2@db/x"])
        .current_dir(env.dir.path())
        .env("LOG_FILE", env.log_path())
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("DATABASE_URL") && !stderr.contains("hunter2"),
        "{stderr}"
    );

    let out = env.trader(&["--once", "--coingecko-api-url", "not a url"]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = env.trader(&["--bogus"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn unreachable_database_exits_1_without_password() {
    let env = Env::new(false, scenario(Some(1.0)));
    let out = Command::new(env!("CARGO_BIN_EXE_trader"))
        .arg("--once")
        .current_dir(env.dir.path())
        .env("COINGECKO_API_URL", env.sim.handle.coingecko_base())
        .env("DATABASE_URL", "mysql://bot:hunter2@127.0.0.1:1/trader")
        .env("LOG_FILE", env.log_path())
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("mysql://bot:***@127.0.0.1:1/trader"),
        "{stderr}"
    );
    assert!(!stderr.contains("hunter2") && !env.log().contains("hunter2"));
}

#[test]
fn help_lists_every_option_with_its_env_variable() {
    let out = Command::new(env!("CARGO_BIN_EXE_trader"))
        .arg("--help")
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(0));
    let help = String::from_utf8_lossy(&out.stdout);
    for var in [
        "DATABASE_URL",
        "COINGECKO_API_URL",
        "COINGECKO_API_KEY",
        "LOG_FILE",
        "LOG_LEVEL",
        "--once",
    ] {
        assert!(help.contains(var), "{var} missing from --help:\n{help}");
    }
}

/// Polls the log until `needle` appears (the daemon's own progress report), or panics.
fn wait_for_log(env: &Env, needle: &str, within: Duration) {
    let deadline = std::time::Instant::now() + within;
    while !env.log().contains(needle) {
        assert!(
            std::time::Instant::now() < deadline,
            "{needle:?} not logged within {within:?}:\n{}",
            env.log()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn sigterm_finishes_the_cycle_in_flight_then_exits_0() {
    avoid_hour_boundary();
    let env = Env::new(false, scenario(Some(120.0)));
    // Two 5xx answers with a 700 ms base delay: the first cycle takes about 2 s.
    env.sim.handle.set_http_faults(0, 2);
    let mut child = Command::new(env!("CARGO_BIN_EXE_trader"))
        .current_dir(env.dir.path())
        .env("COINGECKO_API_URL", env.sim.handle.coingecko_base())
        .env("DATABASE_URL", env.db.url())
        .env("LOG_FILE", env.log_path())
        .env("COINGECKO_RETRY_DELAY_MS", "700")
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("daemon starts");
    wait_for_log(&env, "retry 1/", Duration::from_secs(20));
    let kill = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(kill.success());
    let status = child.wait().expect("daemon exits");
    assert_eq!(status.code(), Some(0));
    let log = env.log();
    assert!(log.contains("SIGTERM received"), "{log}");
    let (signal, done) = (
        log.find("SIGTERM received").expect("signal"),
        log.find("cycle done").expect("cycle finished"),
    );
    assert!(
        signal < done,
        "the signal came during the cycle, which was finished:\n{log}"
    );
    assert!(log.contains("stopped"), "{log}");
    assert_eq!(trades_without_time(&env.json("trades")).len(), 1);
}

#[test]
fn daemon_runs_a_cycle_at_start_and_stops_on_sigint() {
    let env = Env::new(false, scenario(Some(120.0)));
    let mut child = Command::new(env!("CARGO_BIN_EXE_trader"))
        .current_dir(env.dir.path())
        .env("COINGECKO_API_URL", env.sim.handle.coingecko_base())
        .env("DATABASE_URL", env.db.url())
        .env("LOG_FILE", env.log_path())
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("daemon starts");
    wait_for_log(&env, "cycle done", Duration::from_secs(20));
    let kill = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(kill.success());
    assert_eq!(child.wait().expect("exits").code(), Some(0));
    assert!(env.log().contains("SIGINT received"), "{}", env.log());
}
