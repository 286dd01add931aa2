//! The async recording loop: streams in, checkpoints out, progress each second, a full save
//! on shutdown.

mod feed;

use std::future::Future;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use chrono::Utc;
use stream::{StreamConfig, StreamHandle, StreamItem};
use tokio::sync::mpsc;
use tokio::time::{interval_at, Instant, MissedTickBehavior};

use store::ticks::CompactReport;

use crate::gaps::Gap;
use crate::{EventSink, Output, RecordError, Recorder, Startup};
use feed::{unix_ms, FeedState};

/// What [`run`] records, where, and how often it checkpoints.
#[derive(Debug, Clone)]
pub struct SessionConfig {
    /// Where to write: the dataset (a directory or an object store) and the journal.
    pub output: Output,
    /// Rows recorded since the last checkpoint are written every this often.
    pub checkpoint_every: Duration,
    /// Progress ([`Progress::Status`]) is reported every this often; the journal is synced
    /// as often.
    pub status_every: Duration,
    /// The connections to record from: one, or several redundant ones (the same stream,
    /// possibly from different base URLs) whose events are de-duplicated, so that one
    /// connection dropping loses nothing.
    pub streams: Vec<StreamConfig>,
    /// Journal every message before buffering it, and replay a crashed run's journal at
    /// start (a crash then loses at most the last `status_every`).
    pub journal: bool,
    /// Merge the checkpoint files of an hour into one file this long after the hour closed;
    /// `None`: never.
    pub compact_after: Option<Duration>,
    /// Attempts at the final save before giving up.
    pub final_save_attempts: u32,
}

impl SessionConfig {
    /// A session on one connection with a status every second, the journal on, compaction
    /// 10 minutes after each hour, and three attempts at the final save.
    pub fn new(
        out_dir: impl Into<PathBuf>,
        checkpoint_every: Duration,
        stream: StreamConfig,
    ) -> Self {
        Self::with_output(Output::local(out_dir), checkpoint_every, stream)
    }

    /// [`SessionConfig::new`] writing to `output` (e.g. a dataset on an object store).
    pub fn with_output(output: Output, checkpoint_every: Duration, stream: StreamConfig) -> Self {
        SessionConfig {
            output,
            checkpoint_every,
            status_every: Duration::from_secs(1),
            streams: vec![stream],
            journal: true,
            compact_after: Some(Duration::from_secs(600)),
            final_save_attempts: 3,
        }
    }
}

/// What happens during a session, for the caller to show.
#[derive(Debug)]
pub enum Progress {
    /// Periodic status.
    Status {
        /// Distinct symbols recorded in this run.
        symbols: usize,
        /// Events recorded in this run.
        events: u64,
        /// Rows waiting for the next checkpoint.
        pending: usize,
        /// Share of this run's wall time with a live feed, in %.
        coverage: f64,
        /// Copies dropped (redundant connections, renewal overlaps).
        duplicates: u64,
    },
    /// What start-up recovered from an earlier run.
    Recovered(Startup),
    /// A checkpoint was written.
    Checkpoint {
        /// Files published.
        files: Vec<PathBuf>,
        /// Rows they hold.
        rows: usize,
    },
    /// A checkpoint failed; its rows are kept and retried.
    CheckpointFailed(RecordError),
    /// Closed hours were compacted.
    Compacted(CompactReport),
    /// A connection is live.
    Connected {
        /// Connection number.
        conn_id: u64,
    },
    /// A connection was lost; the stream reconnects by itself (with redundant connections
    /// the feed may still be live).
    FeedLost {
        /// Connection number.
        conn_id: u64,
        /// Why.
        reason: String,
    },
    /// An interval without any live feed, now closed (also written to the gaps dataset).
    Gap(Gap),
    /// A frame that could not be decoded (skipped; the connection is kept).
    Malformed(String),
    /// One element of a frame was not recorded; the frame's other elements were. Reported
    /// once per element.
    Rejected {
        /// Connection it came on.
        conn_id: u64,
        /// Which element and why.
        element: Rejected,
    },
    /// Shutdown was requested; the final save starts.
    Saving,
}

/// Why one element of a received frame was not recorded.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum Rejected {
    /// It did not decode (the error's excerpt is the element's own text).
    #[error("{0}")]
    Decode(stream::ElementError),
}

/// The outcome of a session.
#[derive(Debug, Clone)]
pub struct Summary {
    /// Distinct symbols recorded in this run.
    pub symbols: usize,
    /// Events recorded in this run.
    pub events: u64,
    /// Files published in this run.
    pub files: usize,
    /// Rows in the files published in this run.
    pub rows: u64,
    /// The last file published, if any.
    pub last_file: Option<PathBuf>,
    /// The dataset (a directory, or a URL held in a path).
    pub out_dir: PathBuf,
    /// Frames that could not be decoded.
    pub malformed: u64,
    /// Elements of frames not recorded ([`Progress::Rejected`]).
    pub rejected: u64,
    /// Events quarantined for an implausible event time ([`crate::quarantine`]).
    pub quarantined: u64,
    /// Copies dropped (redundant connections, renewal overlaps).
    pub duplicates: u64,
    /// Gaps in this run, start-up included (and the time the recorder was not running
    /// before it, when the last run ended without a clean shutdown).
    pub gaps: usize,
    /// Share of this run's wall time with a live feed, in % (the wall time starts at the
    /// last journaled receive of a run that ended without a clean shutdown).
    pub coverage: f64,
    /// Wall time of this run.
    pub wall: Duration,
}

/// Records until `shutdown` resolves, then saves everything and returns a summary.
///
/// `on_progress` is called from the loop for every [`Progress`] event; keep it quick.
pub async fn run(
    config: SessionConfig,
    shutdown: impl Future<Output = ()>,
    on_progress: impl FnMut(Progress),
) -> Result<Summary, RecordError> {
    run_with_sink(config, None, shutdown, on_progress).await
}

/// [`run`], also handing every recorded event and gap to `sink` (e.g. [`bus::Publisher`]);
/// the sink is dropped when the session ends.
pub async fn run_with_sink(
    config: SessionConfig,
    sink: Option<Box<dyn EventSink>>,
    shutdown: impl Future<Output = ()>,
    mut on_progress: impl FnMut(Progress),
) -> Result<Summary, RecordError> {
    let wall_start = Instant::now();
    let mut feed = FeedState::new(unix_ms(SystemTime::now()));
    if let Some(root) = config.output.dataset.local_root() {
        check_out_dir(root)?;
    }
    let mut rec = if config.journal {
        let output = config.output.clone();
        let (rec, startup) = store::blocking(|| Recorder::open_at(output, Utc::now()))?;
        if let Some(gap) = &startup.not_running {
            feed.not_running(gap);
        }
        on_progress(Progress::Recovered(startup));
        rec
    } else {
        Recorder::new_locked_at(config.output.clone())?
    };
    if let Some(sink) = sink {
        rec.set_sink(sink);
    }
    let (handles, mut rx) = connect_all(config.streams);
    let start = Instant::now();
    let mut status = interval_at(start + config.status_every, config.status_every);
    status.set_missed_tick_behavior(MissedTickBehavior::Skip);
    let mut checkpoint = interval_at(start + config.checkpoint_every, config.checkpoint_every);
    checkpoint.set_missed_tick_behavior(MissedTickBehavior::Delay);
    tokio::pin!(shutdown);

    loop {
        tokio::select! {
            biased;
            _ = &mut shutdown => break,
            item = rx.recv() => match item {
                Some((idx, item)) => feed.handle(&mut rec, idx, item, &mut on_progress),
                None => break,
            },
            _ = checkpoint.tick() => {
                let rows = rec.pending();
                match store::blocking(|| rec.checkpoint(Utc::now())) {
                    Ok(files) if files.is_empty() => {}
                    Ok(files) => on_progress(Progress::Checkpoint { files, rows }),
                    Err(e) => on_progress(Progress::CheckpointFailed(e)),
                }
                let compact_after = config.compact_after.filter(|_| config.output.may_write().is_ok());
                if let Some(after) = compact_after {
                    let dataset = &config.output.dataset;
                    let compact = || dataset.compact_closed_hours(Utc::now(), after);
                    match store::blocking(|| crate::metrics::compacted(compact)) {
                        Ok(report) if report.merged.is_empty() => {}
                        Ok(report) => on_progress(Progress::Compacted(report)),
                        Err(e) => log::warn!("compaction postponed: {e}"),
                    }
                    let days = || store::ticks::gaps::compact_closed_days_of(dataset, Utc::now());
                    match store::blocking(days) {
                        Ok(report) if report.merged.is_empty() => {}
                        Ok(report) => log::info!(
                            "gaps: {} files of closed days merged into {}",
                            report.parts_removed,
                            report.merged.len()
                        ),
                        Err(e) => log::warn!("gaps compaction postponed: {e}"),
                    }
                }
            }
            _ = status.tick() => {
                if let Err(e) = rec.sync_journal() {
                    feed.journal_failed(e);
                }
                crate::metrics::status(metrics_status(&rec, &feed, &handles, rx.len()));
                on_progress(Progress::Status {
                    symbols: rec.symbols(),
                    events: rec.events(),
                    pending: rec.pending(),
                    coverage: feed.coverage(unix_ms(SystemTime::now())),
                    duplicates: rec.duplicates(),
                });
            }
        }
    }

    on_progress(Progress::Saving);
    // Subscribers (alerters on the bus) learn that this feed stops here.
    let stop_ms = unix_ms(SystemTime::now());
    rec.feed_lost(&Gap {
        start_ms: stop_ms,
        end_ms: stop_ms,
        reason: "recorder stopped".into(),
        connection_id: 0,
    });
    // Close the sockets, then take in what the streams had already received.
    futures::future::join_all(handles.into_iter().map(StreamHandle::shutdown)).await;
    let drain = async {
        while let Some((idx, item)) = rx.recv().await {
            feed.handle(&mut rec, idx, item, &mut on_progress);
        }
    };
    if tokio::time::timeout(Duration::from_secs(5), drain)
        .await
        .is_err()
    {
        log::warn!("stream did not close within 5 s; saving what was received");
    }
    let end_ms = unix_ms(SystemTime::now());
    if let Some(gap) = feed.finish(end_ms) {
        rec.record_gap(gap);
    }
    final_save(&mut rec, config.final_save_attempts, &mut on_progress).await?;
    let summary = Summary {
        symbols: rec.symbols(),
        events: rec.events(),
        files: rec.files_written(),
        rows: rec.rows_written(),
        last_file: rec.last_file().map(PathBuf::from),
        out_dir: config.output.name,
        malformed: feed.malformed,
        rejected: feed.rejected,
        quarantined: rec.quarantined(),
        duplicates: rec.duplicates(),
        gaps: feed.gaps(),
        coverage: feed.coverage(end_ms),
        wall: wall_start.elapsed(),
    };
    rec.close()?;
    Ok(summary)
}

/// The session's once-a-second figures for [`crate::metrics::status`].
fn metrics_status(
    rec: &Recorder,
    feed: &FeedState,
    handles: &[StreamHandle],
    queue_depth: usize,
) -> crate::metrics::Status {
    let now_ms = unix_ms(SystemTime::now());
    crate::metrics::Status {
        now_ms,
        symbols: rec.symbols(),
        pending: rec.pending(),
        coverage_pct: feed.coverage(now_ms),
        feed_up: feed.live(now_ms),
        queue_depth,
        queue_full: handles.iter().map(|h| h.stats().consumer_full).sum(),
    }
}

/// Starts one stream per configuration and merges their items, tagged with the stream's
/// index, into one bounded channel.
fn connect_all(
    streams: Vec<StreamConfig>,
) -> (Vec<StreamHandle>, mpsc::Receiver<(usize, StreamItem)>) {
    let (tx, rx) = mpsc::channel(1024);
    let mut handles = Vec::with_capacity(streams.len());
    for (idx, config) in streams.into_iter().enumerate() {
        let (handle, mut items) = stream::spawn(config);
        handles.push(handle);
        let tx = tx.clone();
        tokio::spawn(async move {
            while let Some(item) = items.recv().await {
                if tx.send((idx, item)).await.is_err() {
                    break;
                }
            }
        });
    }
    (handles, rx)
}

/// Writes what is left, retrying a few times a second apart; a failure here loses rows and is
/// therefore an error.
async fn final_save(
    rec: &mut Recorder,
    attempts: u32,
    on_progress: &mut impl FnMut(Progress),
) -> Result<(), RecordError> {
    let attempts = attempts.max(1);
    let mut attempt = 1;
    loop {
        let rows = rec.pending();
        match store::blocking(|| rec.checkpoint(Utc::now())) {
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
                    source: Box::new(e),
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

/// Fails early, with a clear message, when the output directory cannot be used.
fn check_out_dir(path: &std::path::Path) -> Result<(), RecordError> {
    let err = |reason: String| RecordError::OutDir {
        path: path.to_path_buf(),
        reason,
    };
    if path.is_file() {
        return Err(err("it is a file, not a directory".into()));
    }
    std::fs::create_dir_all(path).map_err(|e| err(e.to_string()))?;
    let probe = path.join(format!(".write-test-{}", std::process::id()));
    std::fs::write(&probe, b"").map_err(|e| err(format!("not writable: {e}")))?;
    // Best effort: a leftover empty probe file is harmless (readers skip dot-files).
    let _ = std::fs::remove_file(&probe);
    Ok(())
}
