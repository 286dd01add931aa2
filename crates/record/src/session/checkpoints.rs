//! The session's checkpoints: when they start, the one task out at a time, what its outcome
//! is reported as, compaction after it, and the final save at shutdown.
//!
//! A checkpoint starts when [`Schedule`] says it is due: every `checkpoint_every` while
//! checkpoints work, after a growing backoff while they fail (`session/retry.rs`). It runs
//! on a blocking thread ([`crate::checkpoint`]) so that frames keep being journaled and
//! buffered meanwhile, and takes the rows of every earlier failed attempt with it. A
//! checkpoint that worked is followed, on the same thread, by a compaction pass over the
//! closed hours (and the closed days of the gaps dataset); after one that failed the storage
//! is not asked for more until a retry works.
//!
//! A run of failures is reported once: its first error as [`Progress::CheckpointFailed`]
//! (the binary logs it and marks itself unhealthy), the others at debug level and in the
//! metrics (`recorder_checkpoint_retries_total`, `recorder_checkpoint_failing`), its end
//! as one line saying how many attempts failed and for how long.

use std::time::Duration;

use chrono::Utc;
use dataset::{CompactReport, Dataset};
use tokio::task::{JoinError, JoinHandle};
use tokio::time::Instant;

use super::retry::{Failed, Schedule};
use super::{Progress, SessionConfig};
use crate::checkpoint::CheckpointDone;
use crate::{Output, RecordError, Recorder};

/// What a checkpoint task hands back: the checkpoint, and the compaction pass after it.
type Ran = Result<(CheckpointDone, Option<CompactReport>), JoinError>;

/// The session's checkpoints (see the [module docs](self)).
pub(super) struct Checkpoints {
    schedule: Schedule,
    writing: Option<JoinHandle<(CheckpointDone, Option<CompactReport>)>>,
    output: Output,
    compact_after: Option<Duration>,
}

impl Checkpoints {
    /// The first checkpoint is due one interval after `start`.
    pub(super) fn new(start: Instant, config: &SessionConfig) -> Self {
        crate::metrics::checkpoint_failing(None);
        Checkpoints {
            schedule: Schedule::new(start, config.checkpoint_every),
            writing: None,
            output: config.output.clone(),
            compact_after: config.compact_after,
        }
    }

    /// When the next checkpoint is due (start it only while none [is writing](Self::writing)).
    pub(super) fn due(&self) -> Instant {
        self.schedule.due()
    }

    /// True while a checkpoint task is out.
    pub(super) fn writing(&self) -> bool {
        self.writing.is_some()
    }

    /// Starts the checkpoint that is due: hands the buffered rows (and those of earlier
    /// failed attempts) to a task on a blocking thread. A refusal to start (the output may
    /// not be written now, the journal cannot rotate) is a failed attempt.
    pub(super) fn start(&mut self, rec: &mut Recorder, on_progress: &mut impl FnMut(Progress)) {
        if self.schedule.started(Instant::now()) {
            crate::metrics::checkpoint_retry();
        }
        match rec.start_checkpoint(Utc::now()) {
            Ok(task) => {
                let dataset = self.output.dataset.clone();
                // Compaction publishes too: only while the recorder may write.
                let compact_after = self
                    .compact_after
                    .filter(|_| self.output.may_write().is_ok());
                self.writing = Some(tokio::task::spawn_blocking(move || {
                    let done = task.run();
                    // The storage just failed: do not add a compaction pass to its load.
                    let compacted = compact_after
                        .filter(|_| done.error.is_none())
                        .and_then(|after| compact_closed(&dataset, after));
                    (done, compacted)
                }));
            }
            Err(e) => self.failed(e, on_progress),
        }
    }

    /// Waits for the checkpoint task that is out (forever if none is).
    pub(super) async fn finished(&mut self) -> Ran {
        match self.writing.as_mut() {
            Some(task) => {
                let ran = task.await;
                self.writing = None;
                ran
            }
            None => std::future::pending().await,
        }
    }

    /// Takes back what the task did (from [`finished`](Self::finished)), and reports it.
    pub(super) fn ran(
        &mut self,
        rec: &mut Recorder,
        ran: Ran,
        on_progress: &mut impl FnMut(Progress),
    ) {
        let (done, compacted) = match ran {
            Ok(ran) => ran,
            Err(e) => {
                // Its rows are still in their journal segments (deleted only once
                // published): the next start replays them.
                log::error!("checkpoint task failed ({e}); its rows stay in the journal");
                rec.checkpoint_lost();
                self.back_off();
                return;
            }
        };
        let rows = done.rows();
        match rec.finish_checkpoint(done) {
            Ok(files) => {
                if let Some(streak) = self.schedule.succeeded(Instant::now()) {
                    crate::metrics::checkpoint_failing(None);
                    log::info!(
                        "checkpoints work again after {} failed attempts in {:.1} s",
                        streak.failures,
                        streak.lasted.as_secs_f64()
                    );
                }
                if !files.is_empty() {
                    on_progress(Progress::Checkpoint { files, rows });
                }
            }
            Err(e) => self.failed(e, on_progress),
        }
        if let Some(report) = compacted {
            on_progress(Progress::Compacted(report));
        }
    }

    /// The attempt started last failed: the schedule backs off, the metrics say so.
    fn back_off(&mut self) -> Failed {
        let failed = self.schedule.failed(Instant::now());
        crate::metrics::checkpoint_failing(Some(failed.retry_in));
        failed
    }

    /// An attempt failed with `e`: the next one waits for the backoff; only the first of a
    /// run of failures is reported.
    fn failed(&mut self, e: RecordError, on_progress: &mut impl FnMut(Progress)) {
        let failed = self.back_off();
        if failed.failures == 1 {
            on_progress(Progress::CheckpointFailed(e));
        } else {
            log::debug!(
                "checkpoint attempt {} of this run of failures failed too (next in {:.1} s): {e}",
                failed.failures,
                failed.retry_in.as_secs_f64()
            );
        }
    }
}

/// Compacts the closed hours of the dataset and the closed days of the gaps dataset (on
/// the checkpoint thread, after a checkpoint); returns the dataset's report when it
/// merged something. Failures are logged: the parts stay, the next pass tries again. The
/// pass stops at the first failure, so a store that stopped answering delays the next
/// checkpoint by one request's timeout at most.
fn compact_closed(dataset: &Dataset, after: Duration) -> Option<CompactReport> {
    let compact = || dataset.compact_closed_hours(Utc::now(), after);
    let report = match crate::metrics::compacted(compact) {
        Ok(report) if report.merged.is_empty() => None,
        Ok(report) => Some(report),
        Err(e) => {
            // The storage just failed (e.g. a request ran into its timeout): do not hold
            // the next checkpoint up with the gaps dataset's requests too.
            log::warn!("compaction postponed: {e}");
            return None;
        }
    };
    match dataset::gaps::compact_closed_days_of(dataset, Utc::now()) {
        Ok(report) if report.merged.is_empty() => {}
        Ok(report) => log::info!(
            "gaps: {} files of closed days merged into {}",
            report.parts_removed,
            report.merged.len()
        ),
        Err(e) => log::warn!("gaps compaction postponed: {e}"),
    }
    report
}

/// Writes what is left, retrying a few times a second apart; a failure here loses rows and is
/// therefore an error.
pub(super) async fn final_save(
    rec: &mut Recorder,
    attempts: u32,
    on_progress: &mut impl FnMut(Progress),
) -> Result<(), RecordError> {
    let attempts = attempts.max(1);
    let mut attempt = 1;
    loop {
        let rows = rec.pending();
        match crate::blocking::blocking(|| rec.checkpoint(Utc::now())) {
            Ok(files) => {
                if !files.is_empty() {
                    on_progress(Progress::Checkpoint { files, rows });
                }
                return Ok(());
            }
            Err(e) if attempt >= attempts => {
                return Err(RecordError::FinalSave {
                    attempts,
                    rows,
                    cause: Box::new(e),
                })
            }
            Err(e) => {
                on_progress(Progress::CheckpointFailed(e));
                attempt += 1;
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ARR: &str =
        include_str!("../../../../fixtures/binance_spot_miniTicker_arr_raw_2020-06-19.json");

    /// One checkpoint of the session's loop, at the time it is due; returns that time.
    async fn attempt(
        cp: &mut Checkpoints,
        rec: &mut Recorder,
        progress: &mut Vec<Progress>,
    ) -> Instant {
        tokio::time::sleep_until(cp.due()).await;
        let at = Instant::now();
        cp.start(rec, &mut |p| progress.push(p));
        if cp.writing() {
            let ran = cp.finished().await;
            cp.ran(rec, ran, &mut |p| progress.push(p));
        }
        at
    }

    fn failures(progress: &[Progress]) -> usize {
        (progress.iter())
            .filter(|p| matches!(p, Progress::CheckpointFailed(_)))
            .count()
    }

    /// The disk refuses the checkpoint (a file has the name of its date partition): the
    /// retries come 1, 2, 4, 8 s apart (within jitter), then every interval; the run of
    /// failures is reported once; once the disk is back the next retry writes the rows and
    /// the regular interval resumes. In paused time, so the waits are the schedule's own.
    #[tokio::test(start_paused = true)]
    async fn failing_checkpoints_back_off_are_reported_once_and_recover() {
        let dir = tempfile::tempdir().unwrap();
        let blocker = dir.path().join("date=2020-06-19");
        std::fs::write(&blocker, b"x").unwrap();
        let mut rec = Recorder::new(dir.path()).unwrap();
        rec.ingest_frame(ARR).unwrap();
        let every = Duration::from_secs(8);
        let stream = binance::StreamConfig::new("ws://127.0.0.1:1", Vec::new());
        let mut config = SessionConfig::new(dir.path(), every, stream);
        config.compact_after = None;
        let start = Instant::now();
        let mut cp = Checkpoints::new(start, &config);
        let mut progress = Vec::new();

        let mut last = attempt(&mut cp, &mut rec, &mut progress).await;
        assert_eq!(
            last,
            start + every,
            "the first checkpoint is on the interval"
        );
        for ceiling in [1, 2, 4, 8, 8] {
            let at = attempt(&mut cp, &mut rec, &mut progress).await;
            let ceiling = Duration::from_secs(ceiling);
            let waited = at - last;
            assert!(
                waited >= ceiling / 2 && waited <= ceiling + Duration::from_millis(1),
                "retry after {waited:?}, not within [{:?}, {ceiling:?}]",
                ceiling / 2
            );
            last = at;
        }
        assert_eq!(failures(&progress), 1, "one report for six failures");
        assert!(progress
            .iter()
            .all(|p| !matches!(p, Progress::Checkpoint { .. })));
        assert_eq!(rec.pending(), 26, "the rows are kept");

        std::fs::remove_file(&blocker).unwrap();
        let at = attempt(&mut cp, &mut rec, &mut progress).await;
        assert!(at - last <= every);
        assert!(
            matches!(progress.last(), Some(Progress::Checkpoint { rows: 26, .. })),
            "{:?}",
            progress.last()
        );
        assert_eq!(rec.pending(), 0);
        // (Timers fire on whole milliseconds: `at` may be up to 1 ms after the due time.)
        let ms = Duration::from_millis(1);
        assert!(
            cp.due() <= at + every && cp.due() + ms >= at + every,
            "the regular interval resumes: next in {:?}",
            cp.due() - at
        );
        assert_eq!(failures(&progress), 1);
    }
}
