//! The async recording loop: stream in, checkpoints out, progress each second, a full save on
//! shutdown.

use std::future::Future;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use chrono::Utc;
use stream::{Message, StreamConfig, StreamItem};
use tokio::time::{interval_at, Instant, MissedTickBehavior};

use crate::{RecordError, Recorder};

/// What [`run`] records, where, and how often it checkpoints.
#[derive(Debug, Clone)]
pub struct SessionConfig {
    /// Dataset directory.
    pub out_dir: PathBuf,
    /// Rows recorded since the last checkpoint are written every this often.
    pub checkpoint_every: Duration,
    /// Progress ([`Progress::Status`]) is reported every this often.
    pub status_every: Duration,
    /// The connection to record from.
    pub stream: StreamConfig,
    /// Attempts at the final save before giving up.
    pub final_save_attempts: u32,
}

impl SessionConfig {
    /// A session with a status every second and three attempts at the final save.
    pub fn new(
        out_dir: impl Into<PathBuf>,
        checkpoint_every: Duration,
        stream: StreamConfig,
    ) -> Self {
        SessionConfig {
            out_dir: out_dir.into(),
            checkpoint_every,
            status_every: Duration::from_secs(1),
            stream,
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
    },
    /// A checkpoint was written.
    Checkpoint {
        /// Files published.
        files: Vec<PathBuf>,
        /// Rows they hold.
        rows: usize,
    },
    /// A checkpoint failed; its rows are kept and retried.
    CheckpointFailed(RecordError),
    /// The feed is live (again).
    Connected {
        /// Connection number.
        conn_id: u64,
    },
    /// The feed was lost; the stream reconnects by itself.
    FeedLost {
        /// Connection number.
        conn_id: u64,
        /// Why.
        reason: String,
    },
    /// An interval without feed, now closed.
    Gap {
        /// Feed lost at.
        from: SystemTime,
        /// Feed back at.
        to: SystemTime,
        /// Why it was lost.
        reason: String,
    },
    /// A frame that could not be decoded (skipped; the connection is kept).
    Malformed(String),
    /// Shutdown was requested; the final save starts.
    Saving,
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
    /// The last file published, if any.
    pub last_file: Option<PathBuf>,
    /// The dataset directory.
    pub out_dir: PathBuf,
    /// Frames that could not be decoded.
    pub malformed: u64,
}

/// Records until `shutdown` resolves, then saves everything and returns a summary.
///
/// `on_progress` is called from the loop for every [`Progress`] event; keep it quick.
pub async fn run(
    config: SessionConfig,
    shutdown: impl Future<Output = ()>,
    mut on_progress: impl FnMut(Progress),
) -> Result<Summary, RecordError> {
    check_out_dir(&config.out_dir)?;
    let (handle, mut rx) = stream::spawn(config.stream);
    let mut rec = Recorder::new(&config.out_dir);
    let mut malformed = 0u64;
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
                Some(item) => handle_item(&mut rec, item, &mut malformed, &mut on_progress),
                None => break,
            },
            _ = checkpoint.tick() => {
                let rows = rec.pending();
                match blocking(|| rec.checkpoint(Utc::now())) {
                    Ok(files) if files.is_empty() => {}
                    Ok(files) => on_progress(Progress::Checkpoint { files, rows }),
                    Err(e) => on_progress(Progress::CheckpointFailed(e)),
                }
            }
            _ = status.tick() => on_progress(Progress::Status {
                symbols: rec.symbols(),
                events: rec.events(),
                pending: rec.pending(),
            }),
        }
    }

    on_progress(Progress::Saving);
    // Close the socket, then take in what the stream had already received.
    handle.shutdown().await;
    let drain = async {
        while let Some(item) = rx.recv().await {
            handle_item(&mut rec, item, &mut malformed, &mut on_progress);
        }
    };
    if tokio::time::timeout(Duration::from_secs(5), drain)
        .await
        .is_err()
    {
        log::warn!("stream did not close within 5 s; saving what was received");
    }
    final_save(&mut rec, config.final_save_attempts, &mut on_progress).await?;
    Ok(Summary {
        symbols: rec.symbols(),
        events: rec.events(),
        files: rec.files_written(),
        last_file: rec.last_file().map(PathBuf::from),
        out_dir: config.out_dir,
        malformed,
    })
}

fn handle_item(
    rec: &mut Recorder,
    item: StreamItem,
    malformed: &mut u64,
    on_progress: &mut impl FnMut(Progress),
) {
    match item {
        StreamItem::Message {
            message: Message::MiniTickers(tickers),
            ..
        } => rec.ingest(&tickers),
        StreamItem::Message {
            message: Message::ControlError { code, msg, .. },
            ..
        } => log::warn!("exchange rejected a request: code {code}: {msg}"),
        StreamItem::Message { .. } => {}
        StreamItem::Malformed { error, .. } => {
            *malformed += 1;
            on_progress(Progress::Malformed(error.to_string()));
        }
        StreamItem::Connected { conn_id, .. } => on_progress(Progress::Connected { conn_id }),
        StreamItem::Disconnected {
            conn_id, reason, ..
        } => on_progress(Progress::FeedLost {
            conn_id,
            reason: reason.to_string(),
        }),
        StreamItem::Gap { from, to, reason } => on_progress(Progress::Gap {
            from,
            to,
            reason: reason.to_string(),
        }),
    }
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
        match blocking(|| rec.checkpoint(Utc::now())) {
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

/// Runs blocking file work without stalling the other tasks of a multi-threaded runtime (the
/// stream keeps reading and answering pings meanwhile).
fn blocking<T>(f: impl FnOnce() -> T) -> T {
    match tokio::runtime::Handle::try_current().map(|h| h.runtime_flavor()) {
        Ok(tokio::runtime::RuntimeFlavor::MultiThread) => tokio::task::block_in_place(f),
        _ => f(),
    }
}

/// Fails early, with a clear message, when the output directory cannot be used.
fn check_out_dir(path: &std::path::Path) -> Result<(), RecordError> {
    let err = |reason: String| RecordError::OutDir {
        path: path.to_path_buf(),
        reason,
    };
    std::fs::create_dir_all(path).map_err(|e| err(e.to_string()))?;
    let probe = path.join(format!(".write-test-{}", std::process::id()));
    std::fs::write(&probe, b"").map_err(|e| err(format!("not writable: {e}")))?;
    // Best effort: a leftover empty probe file is harmless (readers skip dot-files).
    let _ = std::fs::remove_file(&probe);
    Ok(())
}
