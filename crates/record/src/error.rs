use std::path::PathBuf;

/// Errors of the recording pipeline.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    /// A checkpoint could not be written; its rows are still buffered.
    #[error("checkpoint of {rows} rows failed (kept in memory, retried at the next checkpoint): {cause}")]
    Checkpoint {
        /// Rows that were to be written.
        rows: usize,
        /// Why the write failed (in the message, so not also the `source()`).
        cause: dataset::TickError,
    },
    /// The gaps recorded since the last checkpoint could not be written (kept, retried).
    #[error("writing the gaps dataset failed (kept, retried at the next checkpoint): {0}")]
    Gaps(dataset::TickError),
    /// The journal could not start its next segment (a full disk): the checkpoint waits,
    /// its rows stay in memory.
    #[error("checkpoint postponed (rows kept in memory, retried at the next checkpoint): {0}")]
    CheckpointPostponed(crate::journal::JournalError),
    /// A checkpoint was started while the task of the previous one was still out
    /// ([`crate::Recorder::start_checkpoint`]); nothing changed.
    #[error("a checkpoint is already running")]
    CheckpointRunning,
    /// Opening, rotating or replaying the journal failed.
    #[error(transparent)]
    Journal(#[from] crate::journal::JournalError),
    /// Appending to the journal failed: the events are buffered but not crash-safe until the
    /// next checkpoint.
    #[error("journal write failed (events kept in memory): {0}")]
    JournalWrite(std::io::Error),
    /// Finishing or running a compaction failed (nothing is lost: parts stay until a merged
    /// file holds their rows).
    #[error("compaction: {0}")]
    Compact(dataset::TickError),
    /// Writing into the dataset is not allowed now (e.g. the object-store lease is not
    /// held); rows stay journaled and buffered and are retried.
    #[error("writing postponed (rows kept, retried at the next checkpoint): {0}")]
    NotAllowed(String),
    /// The session's configuration is invalid ([`crate::SessionConfig::validate`]): every
    /// problem at once; nothing was opened.
    #[error("invalid configuration: {0}")]
    Config(#[from] events::Invalid),
    /// The dataset's object store cannot be reached, or another recorder holds its lease
    /// ([`crate::output::open`]); the text says which.
    #[error("{0}")]
    Open(String),
    /// The output directory is unusable (for example it is a file).
    #[error("output directory {path} is not usable: {reason}")]
    OutDir {
        /// The configured directory.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// The final save at shutdown failed after retries: these rows are lost.
    #[error(
        "final save failed after {attempts} attempts, {rows} rows could not be written: {cause}"
    )]
    FinalSave {
        /// Attempts made.
        attempts: u32,
        /// Rows not written.
        rows: usize,
        /// The last error (in the message, so not also the `source()`).
        cause: Box<RecordError>,
    },
}
