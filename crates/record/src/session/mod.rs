//! The async recording loop: streams in, checkpoints out, progress each second, a full save
//! on shutdown.
//!
//! [`run`] owns one [`Recorder`] and `select!`s over the merged items of every connection,
//! the checkpoint that is due and the task of the one that runs, and the status tick. Its
//! parts:
//!
//! - `feed`: what the connections report (frames, connects, losses) and the coverage and
//!   gaps that follow from it;
//! - `checkpoints`: the checkpoint task off the loop, compaction after it, how its outcome
//!   is reported, and the final save;
//! - `retry`: when the next checkpoint is due (the interval, or a backoff while they fail);
//! - `report`: what the caller is told ([`Progress`], [`Summary`]).

mod checkpoints;
mod feed;
mod report;
mod retry;

use std::future::Future;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use binance::{StreamConfig, StreamHandle, StreamItem};
use chrono::Utc;
use events::{EventSink, Invalid, Problem};
use tokio::sync::mpsc;
use tokio::time::{interval_at, sleep_until, Instant, MissedTickBehavior};

use crate::gaps::Gap;
use crate::{Output, RecordError, Recorder};
use checkpoints::{final_save, Checkpoints};
use feed::{unix_ms, FeedState};
pub use report::{Progress, Rejected, Summary};

/// What [`run`] records, where, and how often it checkpoints.
#[derive(Debug, Clone)]
pub struct SessionConfig {
    /// Where to write: the dataset (a directory or an object store) and the journal.
    pub output: Output,
    /// Rows recorded since the last checkpoint are written every this often (after a
    /// failed checkpoint the retries come sooner at first: a backoff from 1 s up to this).
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

    /// Every problem of this configuration (the [pattern](events::Invalid)): no connection,
    /// a zero checkpoint or status interval, no final-save attempt, and each connection's
    /// own problems (`streams[i].…`, [`StreamConfig::validate`]). [`run`] refuses an invalid
    /// configuration with [`RecordError::Config`] before it opens anything.
    ///
    /// ```
    /// use std::time::Duration;
    /// let stream = binance::StreamConfig::new("http://h", vec!["!miniTicker@arr".into()]);
    /// let config = record::SessionConfig::new("data", Duration::ZERO, stream);
    /// let err = config.validate().unwrap_err();
    /// assert_eq!(
    ///     err.to_string(),
    ///     "checkpoint_every must be more than 0 s; streams[0].base_url must start with ws:// or wss://, got http://h"
    /// );
    /// ```
    ///
    /// # Errors
    ///
    /// [`Invalid`] with every problem found.
    pub fn validate(&self) -> Result<(), Invalid> {
        let mut problems = Vec::new();
        if self.streams.is_empty() {
            problems.push(Problem::new("streams", "must hold at least one connection"));
        }
        for (field, value) in [
            ("checkpoint_every", self.checkpoint_every),
            ("status_every", self.status_every),
        ] {
            if value.is_zero() {
                problems.push(Problem::new(field, "must be more than 0 s"));
            }
        }
        if self.final_save_attempts == 0 {
            problems.push(Problem::new("final_save_attempts", "must be at least 1"));
        }
        for (i, stream) in self.streams.iter().enumerate() {
            if let Err(invalid) = stream.validate() {
                problems.extend(invalid.within(&format!("streams[{i}].")));
            }
        }
        Invalid::check(problems)
    }
}

/// Records until `shutdown` resolves, then saves everything and returns a summary.
///
/// `on_progress` is called from the loop for every [`Progress`] event; keep it quick.
///
/// # Errors
///
/// [`RecordError::Config`] for an invalid configuration ([`SessionConfig::validate`]),
/// [`RecordError::OutDir`] for an unusable or locked output directory and the errors of
/// [`Recorder::open`](crate::Recorder::open) at start; [`RecordError::FinalSave`] when the
/// final checkpoint fails after its retries (the message says how many rows are lost).
/// Checkpoint errors during the run are retried, not returned.
pub async fn run(
    config: SessionConfig,
    shutdown: impl Future<Output = ()>,
    on_progress: impl FnMut(Progress),
) -> Result<Summary, RecordError> {
    run_with_sink(config, None, shutdown, on_progress).await
}

/// [`run`], also handing every recorded event and gap to `sink` (an output implementing the
/// event core's [`EventSink`]: `bus::Publisher`, a `Vec` of sinks, your own); the sink is
/// dropped when the session ends.
///
/// # Errors
///
/// As [`run`].
pub async fn run_with_sink(
    config: SessionConfig,
    sink: Option<Box<dyn EventSink>>,
    shutdown: impl Future<Output = ()>,
    mut on_progress: impl FnMut(Progress),
) -> Result<Summary, RecordError> {
    config.validate()?;
    let wall_start = Instant::now();
    let mut feed = FeedState::new(unix_ms(SystemTime::now()));
    if let Some(root) = config.output.dataset.local_root() {
        check_out_dir(root)?;
    }
    let mut rec = if config.journal {
        let output = config.output.clone();
        let (rec, startup) = crate::blocking::blocking(|| Recorder::open_at(output, Utc::now()))?;
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
    let start = Instant::now();
    let mut checkpoints = Checkpoints::new(start, &config);
    let mut streams = config.streams;
    if rec.has_sink() {
        // A sink forwards the elements as received: decode with their spans.
        streams.iter_mut().for_each(|s| s.element_spans = true);
    }
    let (handles, mut rx) = connect_all(streams);
    let mut status = interval_at(start + config.status_every, config.status_every);
    status.set_missed_tick_behavior(MissedTickBehavior::Skip);
    tokio::pin!(shutdown);

    loop {
        tokio::select! {
            biased;
            _ = &mut shutdown => break,
            item = rx.recv() => match item {
                Some((idx, item)) => feed.handle(&mut rec, idx, item, &mut on_progress),
                None => break,
            },
            // The checkpoint runs on a blocking thread (see `crate::checkpoint`): frames
            // keep being journaled and buffered meanwhile. One at a time; one due while
            // another runs starts as soon as that is done.
            _ = sleep_until(checkpoints.due()), if !checkpoints.writing() => {
                checkpoints.start(&mut rec, &mut on_progress);
            }
            ran = checkpoints.finished(), if checkpoints.writing() => {
                checkpoints.ran(&mut rec, ran, &mut on_progress);
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
                    unpublished_age: rec.unpublished_age(std::time::Instant::now()),
                    coverage: feed.coverage(unix_ms(SystemTime::now())),
                    duplicates: rec.duplicates(),
                });
            }
        }
    }

    on_progress(Progress::Saving);
    // Frames keep coming while the last periodic checkpoint finishes.
    if checkpoints.writing() {
        let ran = loop {
            tokio::select! {
                ran = checkpoints.finished() => break ran,
                Some((idx, item)) = rx.recv() => feed.handle(&mut rec, idx, item, &mut on_progress),
            }
        };
        checkpoints.ran(&mut rec, ran, &mut on_progress);
    }
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
        unpublished_age: rec.unpublished_age(std::time::Instant::now()),
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
        let (handle, mut items) = binance::spawn(config);
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
