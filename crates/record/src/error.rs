use std::path::PathBuf;

/// Errors of the recording pipeline.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    /// A checkpoint could not be written; its rows are still buffered.
    #[error("checkpoint of {rows} rows failed (kept in memory, retried at the next checkpoint): {source}")]
    Checkpoint {
        /// Rows that were to be written.
        rows: usize,
        /// Why the write failed.
        source: store::ticks::TickError,
    },
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
        "final save failed after {attempts} attempts, {rows} rows could not be written: {source}"
    )]
    FinalSave {
        /// Attempts made.
        attempts: u32,
        /// Rows not written.
        rows: usize,
        /// The last error.
        source: Box<RecordError>,
    },
}
