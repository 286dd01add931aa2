//! `trader`: the hourly top-3 CoinGecko bot (see the crate's library docs and `--help`).
//!
//! Exit codes: 0 clean finish (or SIGINT/SIGTERM); 2 bad usage or configuration; 1 a
//! runtime failure (with `--once`: the cycle was skipped because CoinGecko failed after
//! its retries, or the database failed; `portfolio`/`trades`: the database failed).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use pricing::{ClientConfig, CoinGecko, RetryPolicy};
use store::db::{DbUrl, Store};
use trading::report::portfolio_report;
use trading::schedule::{self, Cadence};
use trading::{cycle::block, daemon, run_cycle};

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
    /// Database: a path or sqlite://path (SQLite file), or mysql://user:pass@host:port/db.
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
        /// JSON array of {symbol, side, quantity, price, executed_at}.
        #[arg(long)]
        json: bool,
    },
}

/// A failure and its exit code.
enum Fail {
    Config(String),
    Runtime(String),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
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

fn run(cli: Cli) -> Result<(), Fail> {
    let db_url = DbUrl::parse(&cli.database_url).map_err(|e| Fail::Config(e.to_string()))?;
    let console = if cli.command.is_some() {
        logging::Console::Stderr
    } else {
        logging::Console::Stdout
    };
    let _log = logging::init(&logging::LogConfig {
        file: Some(cli.log_file.clone()),
        level: cli.log_level,
        console,
    })
    .map_err(|e| Fail::Config(e.to_string()))?;

    if let Some(command) = &cli.command {
        let mut store = Store::open_url(db_url).map_err(db_fail)?;
        let text = match command {
            Command::Portfolio { json } => {
                let report = portfolio_report(store.positions().map_err(db_fail)?);
                render_portfolio(&report, *json)
            }
            Command::Trades { json } => render_trades(store.trades().map_err(db_fail)?, *json),
        }
        .map_err(|e| Fail::Runtime(format!("cannot format the output: {e}")))?;
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
            once(&cg, db_url).await
        } else {
            let cadence = cli
                .every_secs
                .map_or(Cadence::Hourly, |s| Cadence::Every(Duration::from_secs(s)));
            hourly(&cg, db_url, cadence).await
        }
    })
}

fn db_fail(e: store::db::DbError) -> Fail {
    if e.is_config() {
        Fail::Config(e.to_string())
    } else {
        Fail::Runtime(e.to_string())
    }
}

async fn once(cg: &CoinGecko, url: DbUrl) -> Result<(), Fail> {
    log::info!(
        "one cycle (database {}, CoinGecko {})",
        url.redacted(),
        logging::redact_url(cg_base(cg))
    );
    let mut store = block(|| Store::open_url(url)).map_err(db_fail)?;
    let summary = run_cycle(cg, &mut store, chrono::Utc::now())
        .await
        .map_err(|e| {
            log::error!("{e}");
            Fail::Runtime(e.to_string())
        })?;
    daemon::log_summary(&summary);
    Ok(())
}

async fn hourly(cg: &CoinGecko, url: DbUrl, cadence: Cadence) -> Result<(), Fail> {
    let shutdown = schedule::shutdown_signal()
        .map_err(|e| Fail::Runtime(format!("cannot watch signals: {e}")))?;
    log::info!(
        "{cadence}, from now until SIGINT/SIGTERM (database {}, CoinGecko {})",
        url.redacted(),
        logging::redact_url(cg_base(cg))
    );
    daemon::run(cg, url, cadence, shutdown).await;
    Ok(())
}

fn cg_base(cg: &CoinGecko) -> &str {
    cg.base_url()
}
