//! The long-running mode: a cycle at start, then one per period (each top of the hour
//! by default), until SIGINT/SIGTERM.
//!
//! Failures never end the loop: a cycle whose CoinGecko calls fail is skipped (nothing
//! written), and a database that cannot be opened or fails mid-cycle is logged and
//! reconnected at the next period, so an outage costs the cycles it spans and no more.

use tokio::sync::watch;

use crate::cycle::{block, run_cycle, CycleError, CycleSummary};
use crate::ports::{OpenLedger, PriceSource};
use crate::schedule::{sleep_until_next, Cadence};

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
/// first.
///
/// ```no_run
/// # async fn demo(cg: pricing::CoinGecko, url: store::db::DbUrl) {
/// let (_stop, shutdown) = tokio::sync::watch::channel(false);
/// let report = trading::daemon::run(&cg, url, trading::schedule::Cadence::Hourly, shutdown).await;
/// println!("{} cycles", report.cycles_done);
/// # }
/// ```
pub async fn run<P: PriceSource, O: OpenLedger>(
    cg: &P,
    url: O,
    cadence: Cadence,
    mut shutdown: watch::Receiver<bool>,
) -> DaemonReport {
    let mut report = DaemonReport::default();
    let mut store: Option<O::Ledger> = None;
    loop {
        let started = chrono::Utc::now();
        if store.is_none() {
            match block(|| url.open()) {
                Ok(s) => {
                    if report.cycles_lost_db > 0 {
                        log::info!("database {} is back", url.describe());
                    }
                    store = Some(s);
                }
                Err(e) => {
                    report.cycles_lost_db += 1;
                    log::error!("{e}; trying again {}", cadence.next_attempt());
                }
            }
        }
        if let Some(s) = store.as_mut() {
            match run_cycle(cg, s, started).await {
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
        if !sleep_until_next(cadence, started, &mut shutdown).await {
            log::info!(
                "stopped after {} cycles ({} skipped: CoinGecko, {} lost: database)",
                report.cycles_done,
                report.cycles_skipped_api,
                report.cycles_lost_db
            );
            return report;
        }
    }
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
