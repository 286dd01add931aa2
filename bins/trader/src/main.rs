//! `trader`: the hourly top-3 CoinGecko bot (see the crate's library docs and `--help`).
//!
//! Exit codes: 0 clean finish (or SIGINT/SIGTERM); 2 bad usage or configuration; 1 a
//! runtime failure (with `--once`: the cycle was skipped because CoinGecko failed after
//! its retries, or the database failed; `portfolio`/`trades`/`db ...`: the database
//! failed, or has no up-to-date schema: only the daemon, `--once` and `db migrate`
//! migrate). SIGINT/SIGTERM wait for the cycle in flight at most 10 s, whatever the
//! database does.
//! Usage errors are one line on stderr.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use pricing::{ClientConfig, CoinGecko, RetryPolicy};
use store::db::{DbUrl, Store};
use trading::report::portfolio_report;
use trading::schedule::Cadence;
use trading::{daemon, run_cycle};

mod db_cmd;
mod output;

use output::{render_portfolio, render_trades};

#[derive(Parser, Debug)]
#[command(
    name = "trader",
    version,
    about = "Hourly top-3 CoinGecko bot: buys 1 coin when the price is below its 10-day average"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    /// Run one cycle and exit (default: a cycle now, then at every top of the hour).
    #[arg(long)]
    once: bool,
    /// Run a cycle every N seconds instead of at each top of the hour (demos and tests;
    /// a coin is still bought at most once per hourly slot).
    #[arg(long, env = "TRADER_EVERY_SECS", conflicts_with = "once", value_parser = clap::value_parser!(u64).range(1..))]
    every_secs: Option<u64>,
    /// Database: a path or sqlite://path (SQLite file), mysql://user:pass@host:port/db, or
    /// postgres://user:pass@host:port/db.
    #[arg(long, global = true, env = "DATABASE_URL", default_value = store::db::DEFAULT_DATABASE_URL, hide_env_values = true)]
    database_url: String,
    /// CoinGecko REST base URL.
    #[arg(
        long,
        global = true,
        env = "COINGECKO_API_URL",
        default_value = "https://api.coingecko.com/api/v3"
    )]
    coingecko_api_url: String,
    /// CoinGecko API key (demo, or pro with the pro-api.coingecko.com base).
    #[arg(long, global = true, env = "COINGECKO_API_KEY", hide_env_values = true)]
    coingecko_api_key: Option<String>,
    /// Whole-request timeout for CoinGecko calls, in seconds.
    #[arg(long, global = true, env = "COINGECKO_TIMEOUT_SECS", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..))]
    http_timeout_secs: u64,
    /// Attempts per CoinGecko call (5xx, network errors and rate limits are retried).
    #[arg(long, global = true, env = "COINGECKO_MAX_ATTEMPTS", default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..=20))]
    http_max_attempts: u32,
    /// First retry delay in ms, doubled per retry, capped at 8 s.
    #[arg(
        long,
        global = true,
        env = "COINGECKO_RETRY_DELAY_MS",
        default_value_t = 500
    )]
    retry_delay_ms: u64,
    /// Wait after a rate limit without `retry-after`, in seconds (any wait is capped at 120 s).
    #[arg(
        long,
        global = true,
        env = "COINGECKO_RATE_LIMIT_WAIT_SECS",
        default_value_t = 60
    )]
    rate_limit_wait_secs: u64,
    /// Log file (appended; parent directories are created).
    #[arg(
        long,
        global = true,
        env = "LOG_FILE",
        default_value = "storage/logs/app.log"
    )]
    log_file: PathBuf,
    /// Log level: error, warn, info, debug, trace or off.
    #[arg(long, global = true, env = "LOG_LEVEL", default_value = "info")]
    log_level: log::LevelFilter,
    /// Log line format: text, or json (one JSON object per line, console and file).
    #[arg(long, global = true, env = "LOG_FORMAT", default_value = "text")]
    log_format: logging::LogFormat,
    /// Serve Prometheus metrics at /metrics and a health check at /health on HOST:PORT
    /// while the long-running mode runs; off by default.
    #[arg(long, env = "TRADER_METRICS_ADDR", value_name = "HOST:PORT", value_parser = ops::parse_addr)]
    metrics_addr: Option<std::net::SocketAddr>,
    /// Seconds allowed to connect to the database.
    #[arg(long, global = true, env = "DATABASE_CONNECT_TIMEOUT_SECS", default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..=3600))]
    db_connect_timeout_secs: u64,
    /// Seconds allowed to each database query or transaction (also the lock waits).
    #[arg(long, global = true, env = "DATABASE_TIMEOUT_SECS", default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..=3600))]
    db_timeout_secs: u64,
    /// The portfolio to trade in and show [default: default]; `db reset` without it: all.
    #[arg(long, global = true, env = "TRADER_PORTFOLIO", value_parser = portfolio_name)]
    portfolio: Option<String>,
    /// Fee of simulated fills in basis points of the notional (10 = 0.1 %).
    #[arg(long, global = true, env = "TRADER_FEE_BPS", default_value_t = 0.0, value_parser = fee_bps)]
    fee_bps: f64,
}

fn portfolio_name(s: &str) -> Result<String, String> {
    let s = s.trim();
    if s.is_empty() || s.chars().count() > 100 || s.chars().any(char::is_control) {
        return Err("a portfolio name is 1 to 100 printable characters".into());
    }
    Ok(s.to_owned())
}

fn fee_bps(s: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(v) if v.is_finite() && (0.0..=10_000.0).contains(&v) => Ok(v),
        _ => Err(format!("{s:?} is not a fee in basis points (0 to 10000)")),
    }
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Print the holdings: quantity, average cost, last price, gain/loss %.
    Portfolio {
        /// JSON array of {symbol, name, quantity, avg_cost, current_price, pnl_pct}.
        #[arg(long)]
        json: bool,
    },
    /// Print the trades, oldest first.
    Trades {
        /// JSON array of {symbol, side, quantity, price, executed_at, fee, price_source, price_at}.
        #[arg(long)]
        json: bool,
    },
    /// List the portfolios with their trade and open position counts.
    Portfolios {
        /// JSON array of {name, created_at, trades, open_positions}.
        #[arg(long)]
        json: bool,
    },
    /// The database: status, migrate, reset.
    Db {
        #[command(subcommand)]
        action: DbAction,
    },
}

#[derive(Subcommand, Debug)]
enum DbAction {
    /// Print the backend (password redacted), the applied migrations and the row counts.
    Status,
    /// Create or update the schema (the daemon and --once do it too; the other commands
    /// never do).
    Migrate,
    /// Empty every table, or with --portfolio one portfolio's trades and positions.
    Reset {
        /// Do not ask for confirmation (needed when stdin is not a terminal).
        #[arg(long)]
        yes: bool,
    },
}

/// A failure and its exit code.
pub(crate) enum Fail {
    Config(String),
    Runtime(String),
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return usage_error(&e),
    };
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Fail::Config(msg)) => {
            eprintln!("trader: configuration error: {msg}");
            ExitCode::from(2)
        }
        Err(Fail::Runtime(msg)) => {
            eprintln!("trader: error: {msg}");
            ExitCode::from(1)
        }
    }
}

/// `--help`/`--version` as clap prints them; any other usage error as one line on stderr
/// (clap's first line, without its usage block and hint), exit 2.
fn usage_error(e: &clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) {
        let _ = e.print();
        return ExitCode::SUCCESS;
    }
    let rendered = e.render().to_string();
    let line = rendered
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("invalid arguments");
    let line = line.strip_prefix("error: ").unwrap_or(line);
    eprintln!("trader: usage error: {line} (see --help)");
    ExitCode::from(2)
}

fn run(cli: Cli) -> Result<(), Fail> {
    let timeouts = store::db::DbTimeouts {
        connect: Duration::from_secs(cli.db_connect_timeout_secs),
        statement: Duration::from_secs(cli.db_timeout_secs),
    };
    let db_url = DbUrl::parse(&cli.database_url)
        .map_err(|e| Fail::Config(e.to_string()))?
        .with_timeouts(timeouts);
    let account = trading::Account {
        portfolio: cli
            .portfolio
            .clone()
            .unwrap_or_else(|| store::db::DEFAULT_PORTFOLIO.to_owned()),
        fee_bps: cli.fee_bps,
    };
    let console = if cli.command.is_some() {
        logging::Console::Stderr
    } else {
        logging::Console::Stdout
    };
    let _log = logging::init(&logging::LogConfig {
        file: Some(cli.log_file.clone()),
        level: cli.log_level,
        console,
        format: cli.log_format,
    })
    .map_err(|e| Fail::Config(e.to_string()))?;

    if let Some(command) = &cli.command {
        // Only `db migrate` changes the schema: the others refuse an unmigrated database.
        let mut store = match command {
            Command::Db {
                action: DbAction::Migrate,
            } => Store::open_url(db_url),
            _ => Store::open_existing(db_url),
        }
        .map_err(db_fail)?;
        let text = match command {
            Command::Portfolio { json } => {
                let report =
                    portfolio_report(store.positions(&account.portfolio).map_err(db_fail)?);
                render_portfolio(&report, *json)
                    .map_err(|e| Fail::Runtime(format!("cannot format the output: {e}")))?
            }
            Command::Trades { json } => {
                render_trades(store.trades(&account.portfolio).map_err(db_fail)?, *json)
                    .map_err(|e| Fail::Runtime(format!("cannot format the output: {e}")))?
            }
            Command::Portfolios { json } => db_cmd::portfolios(&mut store, *json)?,
            Command::Db { action } => match action {
                DbAction::Status => db_cmd::status(&mut store)?,
                DbAction::Migrate => db_cmd::migrated(&mut store)?,
                DbAction::Reset { yes } => {
                    db_cmd::reset(&mut store, cli.portfolio.as_deref(), *yes)?
                }
            },
        };
        println!("{}", text.trim_end());
        return Ok(());
    }

    let cg = CoinGecko::new(ClientConfig {
        base_url: cli.coingecko_api_url.clone(),
        api_key: cli.coingecko_api_key.clone(),
        timeout: Duration::from_secs(cli.http_timeout_secs),
        connect_timeout: Duration::from_secs(cli.http_timeout_secs.min(10)),
        retry: RetryPolicy {
            max_attempts: cli.http_max_attempts,
            base_delay: Duration::from_millis(cli.retry_delay_ms),
            rate_limit_delay: Duration::from_secs(cli.rate_limit_wait_secs),
            ..RetryPolicy::default()
        },
    })
    .map_err(|e| Fail::Config(e.to_string()))?;

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| Fail::Runtime(format!("cannot start the async runtime: {e}")))?;
    rt.block_on(async move {
        if cli.once {
            once(&cg, db_url, &account).await
        } else {
            let cadence = cli
                .every_secs
                .map_or(Cadence::Hourly, |s| Cadence::Every(Duration::from_secs(s)));
            // Healthy while the last cycle succeeded (no cycle yet: healthy).
            let health = ops::Health::new("cycle", None);
            let _endpoint = match cli.metrics_addr {
                Some(addr) => {
                    let endpoint = ops::start(addr, health.clone())
                        .await
                        .map_err(|e| Fail::Config(e.to_string()))?;
                    trading::metrics::describe();
                    Some(endpoint)
                }
                None => None,
            };
            hourly(&cg, db_url, cadence, &account, health).await
        }
    })
}

pub(crate) fn db_fail(e: store::db::DbError) -> Fail {
    if e.is_config() {
        Fail::Config(e.to_string())
    } else {
        Fail::Runtime(e.to_string())
    }
}

async fn once(cg: &CoinGecko, url: DbUrl, account: &trading::Account) -> Result<(), Fail> {
    log::info!(
        "one cycle (portfolio '{}', database {}, CoinGecko {})",
        account.portfolio,
        url.redacted(),
        logging::redact_url(cg_base(cg))
    );
    let mut store = store::blocking(|| Store::open_url(url)).map_err(db_fail)?;
    let summary = run_cycle(cg, &mut store, account, chrono::Utc::now())
        .await
        .map_err(|e| {
            log::error!("{e}");
            Fail::Runtime(e.to_string())
        })?;
    daemon::log_summary(&summary);
    Ok(())
}

async fn hourly(
    cg: &CoinGecko,
    url: DbUrl,
    cadence: Cadence,
    account: &trading::Account,
    health: ops::Health,
) -> Result<(), Fail> {
    let shutdown = logging::shutdown_signal(|signal, first| {
        if first {
            log::info!("{signal} received: finishing the cycle in flight, then exiting");
        }
    })
    .map_err(|e| Fail::Runtime(format!("cannot watch signals: {e}")))?;
    log::info!(
        "{cadence}, from now until SIGINT/SIGTERM (portfolio '{}', database {}, CoinGecko {})",
        account.portfolio,
        url.redacted(),
        logging::redact_url(cg_base(cg))
    );
    daemon::run_with_health(cg, url, cadence, account, shutdown, Some(health)).await;
    Ok(())
}

fn cg_base(cg: &CoinGecko) -> &str {
    cg.base_url()
}
