//! The long-running mode: a cycle at start, then one per period (each top of the hour
//! by default), until SIGINT/SIGTERM.
//!
//! Failures never end the loop: a cycle whose CoinGecko calls fail is skipped (nothing
//! written), and a database that cannot be opened or fails mid-cycle is logged and
//! reconnected at the next period, so an outage costs the cycles it spans and no more.
//! A database that stops answering costs one timeout per operation (the store's
//! deadlines): the stuck cycle ends with that error and the loop goes on.
//!
//! SIGINT/SIGTERM let the cycle in flight (opening the database included) finish, but
//! wait for it at most [`SHUTDOWN_GRACE`], whatever the database and CoinGecko do: then
//! the cycle's future is dropped, which abandons the request or database operation it
//! waited for (the [`Ledger`](crate::ports::Ledger) calls never block the thread, so
//! nothing holds the loop), that is logged, and the loop returns.

use std::time::Duration;

use ledger::DbError;
use tokio::sync::watch;

use crate::cycle::{run_cycle, Account, CycleError, CycleSummary};
use crate::ports::{OpenLedger, PriceSource};
use crate::schedule::{sleep_until_next, Cadence};

/// How long a shutdown waits for the cycle in flight.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// Resolves [`SHUTDOWN_GRACE`] after `shutdown` turned true (never if it cannot).
async fn grace_after_shutdown(shutdown: &mut watch::Receiver<bool>) {
    while !*shutdown.borrow_and_update() {
        if shutdown.changed().await.is_err() {
            std::future::pending::<()>().await;
        }
    }
    tokio::time::sleep(SHUTDOWN_GRACE).await;
}

/// What the loop did, returned when it stops (for logs and tests).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct DaemonReport {
    /// Cycles that ran to the end.
    pub cycles_done: u64,
    /// Cycles skipped because CoinGecko failed after the retries.
    pub cycles_skipped_api: u64,
    /// Periods lost to the database (could not connect, or failed mid-cycle).
    pub cycles_lost_db: u64,
}

/// Runs cycles at `cadence` until `shutdown` turns true; the cycle in flight is finished
/// first (waited for at most [`SHUTDOWN_GRACE`]).
///
/// ```no_run
/// # async fn demo(cg: pricing::CoinGecko, url: ledger::DbUrl) {
/// let (_stop, shutdown) = tokio::sync::watch::channel(false);
/// let account = trading::Account::default();
/// let report =
///     trading::daemon::run(&cg, url, trading::schedule::Cadence::Hourly, &account, shutdown)
///         .await;
/// println!("{} cycles", report.cycles_done);
/// # }
/// ```
pub async fn run<P: PriceSource, O: OpenLedger>(
    cg: &P,
    url: O,
    cadence: Cadence,
    account: &Account,
    shutdown: watch::Receiver<bool>,
) -> DaemonReport {
    run_with_health(cg, url, cadence, account, shutdown, None).await
}

/// [`run`] that also keeps `health` (the `/health` of `--metrics-addr`) up to date: each
/// finished cycle is activity, a skipped or lost one fails the `cycle` check until the next
/// one succeeds.
pub async fn run_with_health<P: PriceSource, O: OpenLedger>(
    cg: &P,
    url: O,
    cadence: Cadence,
    account: &Account,
    mut shutdown: watch::Receiver<bool>,
    health: Option<ops::Health>,
) -> DaemonReport {
    let health = health.unwrap_or_else(|| ops::Health::new("cycle", None));
    let mut report = DaemonReport::default();
    let mut store: Option<O::Ledger> = None;
    loop {
        let started = chrono::Utc::now();
        // Err: the database could not be opened, no cycle this period.
        let step = async {
            if store.is_none() {
                let opened = url.open().await?;
                if report.cycles_lost_db > 0 {
                    log::info!("database {} is back", url.describe());
                }
                store = Some(opened);
            }
            match store.as_mut() {
                Some(s) => Ok(run_cycle(cg, s, account, started).await),
                None => Err(DbError::Closed {
                    url: url.describe().to_owned(),
                }),
            }
        };
        // Opening the database is part of the cycle in flight: both are abandoned alike.
        let outcome = tokio::select! {
            r = step => Some(r),
            () = grace_after_shutdown(&mut shutdown) => None,
        };
        let Some(outcome) = outcome else {
            // The cycle's future is dropped by now: whatever it waited for (CoinGecko,
            // or the database operation it names in its own warning) is abandoned.
            log::error!(
                "the cycle in flight did not finish within {}s of the signal: abandoned, \
                 exiting without waiting for it",
                SHUTDOWN_GRACE.as_secs()
            );
            log_stopped(&report);
            return report;
        };
        match outcome {
            Err(e) => {
                report.cycles_lost_db += 1;
                crate::metrics::db_unavailable();
                health.fail("cycle", &e.to_string());
                log::error!("{e}; trying again {}", cadence.next_attempt());
            }
            Ok(outcome) => {
                crate::metrics::cycle(&outcome);
                match &outcome {
                    Ok(_) => {
                        health.activity();
                        health.recover("cycle");
                    }
                    Err(e) => health.fail("cycle", &e.to_string()),
                }
                match outcome {
                    Ok(summary) => {
                        report.cycles_done += 1;
                        log_summary(&summary);
                    }
                    Err(CycleError::Api(e)) => {
                        report.cycles_skipped_api += 1;
                        log::error!("cycle skipped, nothing written: {e}");
                    }
                    Err(CycleError::Db(e)) => {
                        report.cycles_lost_db += 1;
                        log::error!("{e}; reconnecting {}", cadence.next_attempt());
                        store = None;
                    }
                }
            }
        }
        if !sleep_until_next(cadence, started, &mut shutdown).await {
            log_stopped(&report);
            return report;
        }
    }
}

fn log_stopped(report: &DaemonReport) {
    log::info!(
        "stopped after {} cycles ({} skipped: CoinGecko, {} lost: database)",
        report.cycles_done,
        report.cycles_skipped_api,
        report.cycles_lost_db
    );
}

/// The one-line summary of a finished cycle.
pub fn log_summary(s: &CycleSummary) {
    log::info!(
        "cycle done: {} bought, {} held, {} already bought this hour, {} skipped",
        s.bought.len(),
        s.held,
        s.already_bought,
        s.skipped
    );
}

impl Cadence {
    /// "at the next hour" / "in 5s", for the log lines.
    fn next_attempt(self) -> String {
        match self {
            Cadence::Hourly => "at the next hour".to_owned(),
            Cadence::Every(d) => format!("in {}s", d.as_secs_f64()),
        }
    }
}
