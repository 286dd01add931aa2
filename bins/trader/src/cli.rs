//! The trader's flags and environment variables ([`Cli`]), and how a usage error is told.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser, Debug)]
#[command(
    name = "trader",
    version,
    about = "Hourly top-3 CoinGecko bot: buys 1 coin when the price is below its 10-day average"
)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Option<Command>,
    /// Run one cycle and exit (default: a cycle now, then at every top of the hour).
    #[arg(long)]
    pub(crate) once: bool,
    /// Run a cycle every N seconds instead of at each top of the hour (demos and tests;
    /// a coin is still bought at most once per hourly slot).
    #[arg(long, env = "TRADER_EVERY_SECS", conflicts_with = "once", value_parser = clap::value_parser!(u64).range(1..))]
    pub(crate) every_secs: Option<u64>,
    /// Database: a path or sqlite://path (SQLite file), mysql://user:pass@host:port/db, or
    /// postgres://user:pass@host:port/db.
    #[arg(long, global = true, env = "DATABASE_URL", default_value = ledger::DEFAULT_DATABASE_URL, hide_env_values = true)]
    pub(crate) database_url: String,
    /// CoinGecko REST base URL.
    #[arg(
        long,
        global = true,
        env = "COINGECKO_API_URL",
        default_value = "https://api.coingecko.com/api/v3"
    )]
    pub(crate) coingecko_api_url: String,
    /// CoinGecko API key (demo, or pro with the pro-api.coingecko.com base).
    #[arg(long, global = true, env = "COINGECKO_API_KEY", hide_env_values = true)]
    pub(crate) coingecko_api_key: Option<String>,
    /// Whole-request timeout for CoinGecko calls, in seconds.
    #[arg(long, global = true, env = "COINGECKO_TIMEOUT_SECS", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..))]
    pub(crate) http_timeout_secs: u64,
    /// Attempts per CoinGecko call (5xx, network errors and rate limits are retried).
    #[arg(long, global = true, env = "COINGECKO_MAX_ATTEMPTS", default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..=20))]
    pub(crate) http_max_attempts: u32,
    /// First retry delay in ms, doubled per retry, capped at 8 s.
    #[arg(
        long,
        global = true,
        env = "COINGECKO_RETRY_DELAY_MS",
        default_value_t = 500
    )]
    pub(crate) retry_delay_ms: u64,
    /// Wait after a rate limit without `retry-after`, in seconds (any wait is capped at 120 s).
    #[arg(
        long,
        global = true,
        env = "COINGECKO_RATE_LIMIT_WAIT_SECS",
        default_value_t = 60
    )]
    pub(crate) rate_limit_wait_secs: u64,
    /// Log file (appended; parent directories are created).
    #[arg(
        long,
        global = true,
        env = "LOG_FILE",
        default_value = "storage/logs/app.log"
    )]
    pub(crate) log_file: PathBuf,
    /// Log level: error, warn, info, debug, trace or off.
    #[arg(long, global = true, env = "LOG_LEVEL", default_value = "info")]
    pub(crate) log_level: log::LevelFilter,
    /// Log line format: text, or json (one JSON object per line, console and file).
    #[arg(long, global = true, env = "LOG_FORMAT", default_value = "text")]
    pub(crate) log_format: logging::LogFormat,
    /// Serve Prometheus metrics at /metrics and a health check at /health on HOST:PORT
    /// while the long-running mode runs; off by default.
    #[arg(long, env = "TRADER_METRICS_ADDR", value_name = "HOST:PORT", value_parser = ops::parse_addr)]
    pub(crate) metrics_addr: Option<std::net::SocketAddr>,
    /// Seconds allowed to connect to the database.
    #[arg(long, global = true, env = "DATABASE_CONNECT_TIMEOUT_SECS", default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub(crate) db_connect_timeout_secs: u64,
    /// Seconds allowed to each database query or transaction (also the lock waits).
    #[arg(long, global = true, env = "DATABASE_TIMEOUT_SECS", default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub(crate) db_timeout_secs: u64,
    /// The portfolio to trade in and show [default: default]; `db reset` without it: all.
    #[arg(long, global = true, env = "TRADER_PORTFOLIO", value_parser = portfolio_name)]
    pub(crate) portfolio: Option<String>,
    /// Fee of simulated fills in basis points of the notional (10 = 0.1 %).
    #[arg(long, global = true, env = "TRADER_FEE_BPS", default_value_t = 0.0, value_parser = fee_bps)]
    pub(crate) fee_bps: f64,
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
pub(crate) enum Command {
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
pub(crate) enum DbAction {
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

/// `--help`/`--version` as clap prints them; any other usage error as one line on stderr
/// (clap's first line, without its usage block and hint), exit 2.
pub(crate) fn usage_error(e: &clap::Error) -> ExitCode {
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
