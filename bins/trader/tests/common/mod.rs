//! Shared helpers of the end-to-end tests: the real `trader` binary against the simulated
//! CoinGecko (in-process, on 127.0.0.1) with SQLite in a temp dir, with the MariaDB server
//! on 127.0.0.1:3306 (root, empty password) and with the PostgreSQL server on
//! 127.0.0.1:5432 (postgres, trust), a fresh database with a unique name per test, dropped
//! afterwards. The server tests FAIL when their server is not reachable: `make test`'s
//! set-up starts them.

// Each test binary uses a part of the helpers.
#![allow(dead_code)]

pub mod proxy;

use std::path::PathBuf;
use std::process::{Command, Output};
use std::time::Duration;

use chrono::{Timelike, Utc};
use ledger::Store;
use serde_json::{json, Value};
use sim::{CoinScenario, Faults, SimConfig, SimHandle};
use testkit::db::ScratchDb;

pub fn coin(id: &str, symbol: &str, cap: f64, price: Option<f64>, daily: Vec<f64>) -> CoinScenario {
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
pub fn scenario(gamma_price: Option<f64>) -> Vec<CoinScenario> {
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
pub struct Sim {
    pub handle: SimHandle,
    _rt: tokio::runtime::Runtime,
}

pub fn start_sim(coins: Vec<CoinScenario>) -> Sim {
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

/// The backends every end-to-end scenario runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Mysql,
    Postgres,
}

/// Where the data goes.
pub enum Db {
    Sqlite(PathBuf),
    Server(ScratchDb),
}

impl Db {
    pub fn url(&self) -> String {
        match self {
            Db::Sqlite(p) => format!("sqlite://{}", p.display()),
            Db::Server(db) => db.url(),
        }
    }
}

pub struct Env {
    pub dir: tempfile::TempDir,
    pub db: Db,
    pub sim: Sim,
}

impl Env {
    /// SQLite (`mysql` false) or MariaDB (`mysql` true).
    pub fn new(mysql: bool, coins: Vec<CoinScenario>) -> Env {
        Env::on(
            if mysql {
                Backend::Mysql
            } else {
                Backend::Sqlite
            },
            coins,
        )
    }

    pub fn on(backend: Backend, coins: Vec<CoinScenario>) -> Env {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = match backend {
            Backend::Sqlite => Db::Sqlite(dir.path().join("db/trader.db")),
            Backend::Mysql => Db::Server(ScratchDb::mysql("trader_e2e")),
            Backend::Postgres => Db::Server(ScratchDb::postgres("trader_e2e")),
        };
        Env {
            db,
            sim: start_sim(coins),
            dir,
        }
    }

    pub fn log_path(&self) -> PathBuf {
        self.dir.path().join("logs/app.log")
    }

    /// The binary with this environment's CoinGecko, database and log file, fast retries.
    pub fn command(&self) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_trader"));
        cmd.current_dir(self.dir.path())
            .env("COINGECKO_API_URL", self.sim.handle.coingecko_base())
            .env("DATABASE_URL", self.db.url())
            .env("LOG_FILE", self.log_path())
            .env("COINGECKO_RETRY_DELAY_MS", "1")
            .env("COINGECKO_MAX_ATTEMPTS", "3")
            .env_remove("COINGECKO_API_KEY")
            .env_remove("TRADER_PORTFOLIO")
            .env_remove("TRADER_FEE_BPS")
            .env_remove("LOG_LEVEL");
        cmd
    }

    pub fn trader(&self, args: &[&str]) -> Output {
        self.command().args(args).output().expect("trader runs")
    }

    pub fn once(&self) -> Output {
        self.trader(&["--once"])
    }

    pub fn json(&self, what: &str) -> Value {
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

    /// `trades --json` / `portfolio --json` of one portfolio.
    pub fn json_of(&self, what: &str, portfolio: &str) -> Value {
        let out = self.trader(&[what, "--json", "--portfolio", portfolio]);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{what}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).expect("json")
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    pub fn counts(&self) -> ledger::RowCounts {
        Store::open(&self.db.url())
            .expect("open")
            .row_counts()
            .expect("counts")
    }

    pub fn chart_requests(&self, id: &str) -> usize {
        self.sim
            .handle
            .requests()
            .iter()
            .filter(|r| r.contains(&format!("/coins/{id}/market_chart")))
            .count()
    }
}

pub fn ok(out: &Output) -> String {
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(
        out.status.code(),
        Some(0),
        "stdout: {stdout}\nstderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// The contract's failure shape: exit `code` and exactly one line on stderr, returned.
pub fn one_line_failure(out: &Output, code: i32) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(code), "stderr: {stderr}");
    assert_eq!(
        stderr.trim().lines().count(),
        1,
        "one line on stderr: {stderr}"
    );
    stderr
}

/// The "same hour" checks need both runs inside one hour: never start them in the last
/// 20 seconds of an hour.
pub fn avoid_hour_boundary() {
    let now = Utc::now();
    let left = 3600 - (now.minute() * 60 + now.second());
    if left < 20 {
        std::thread::sleep(Duration::from_secs(u64::from(left) + 1));
    }
}

pub fn trades_without_time(v: &Value) -> Vec<Value> {
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

/// Polls the log until `needle` appears (the daemon's own progress report), or panics.
pub fn wait_for_log(env: &Env, needle: &str, within: Duration) {
    wait_for_log_count(env, needle, 1, within);
}

/// How many times `needle` is in the log.
pub fn log_count(env: &Env, needle: &str) -> usize {
    env.log().matches(needle).count()
}

/// Polls the log until `needle` appears at least `n` times, or panics.
pub fn wait_for_log_count(env: &Env, needle: &str, n: usize, within: Duration) {
    let deadline = std::time::Instant::now() + within;
    while log_count(env, needle) < n {
        assert!(
            std::time::Instant::now() < deadline,
            "{needle:?} not logged {n} times within {within:?}:\n{}",
            env.log()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Sends `SIGTERM`/`SIGINT`/... (name without `SIG`) to a child, as a user or systemd would.
pub fn send_signal(child: &std::process::Child, name: &str) {
    let kill = Command::new("kill")
        .args([&format!("-{name}"), &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(kill.success(), "kill -{name} failed");
}
