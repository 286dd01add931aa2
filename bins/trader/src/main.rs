//! `trader`: the hourly top-3 CoinGecko bot (see the crate's library docs and `--help`).
//!
//! Exit codes: 0 clean finish (or SIGINT/SIGTERM); 2 bad usage or configuration; 1 a
//! runtime failure (with `--once`: the cycle was skipped because CoinGecko failed after
//! its retries, or the database failed; `portfolio`/`trades`/`db ...`: the database
//! failed, or has no up-to-date schema: only the daemon, `--once` and `db migrate`
//! migrate). SIGINT/SIGTERM wait for the cycle in flight at most 10 s, whatever the
//! database does.
//! Usage errors are one line on stderr.

use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use ledger::{DbUrl, Store};
use pricing::{ClientConfig, CoinGecko, RetryPolicy};
use trading::report::portfolio_report;
use trading::schedule::Cadence;
use trading::{daemon, run_cycle};

mod cli;
mod output;

use cli::{usage_error, Cli, Command, DbAction};
use output::{render_portfolio, render_trades};

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

fn run(cli: Cli) -> Result<(), Fail> {
    let timeouts = ledger::DbTimeouts {
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
            .unwrap_or_else(|| ledger::DEFAULT_PORTFOLIO.to_owned()),
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
            Command::Portfolios { json } => output::portfolios(&mut store, *json)?,
            Command::Db { action } => match action {
                DbAction::Status => output::status(&mut store)?,
                DbAction::Migrate => output::migrated(&mut store)?,
                DbAction::Reset { yes } => {
                    output::reset(&mut store, cli.portfolio.as_deref(), *yes)?
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

pub(crate) fn db_fail(e: ledger::DbError) -> Fail {
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
    let mut store = Store::open_url_async(url).await.map_err(db_fail)?;
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
