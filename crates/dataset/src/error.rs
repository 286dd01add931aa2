//! The one error type of the tick store.

use std::path::PathBuf;

/// Everything that can go wrong while buffering, writing or reading ticks.
///
/// Variants that concern a file carry its path, and their message names it, so that a log
/// line such as `data/date=2024-01-02/miniticker_…parquet: parquet: EOF` is enough to find
/// the culprit.
#[derive(Debug, thiserror::Error)]
pub enum TickError {
    /// An I/O operation on `path` failed (create, write, fsync, link, list, open).
    #[error("{path}: {cause}", path = path.display())]
    Io {
        /// The file or directory the operation was about.
        path: PathBuf,
        /// The underlying error (in the message, so not also the `source()`).
        cause: std::io::Error,
    },
    /// The Parquet encoder or decoder failed on `path` (e.g. a truncated or corrupt file).
    #[error("{path}: parquet: {cause}", path = path.display())]
    Parquet {
        /// The file being written or read.
        path: PathBuf,
        /// The underlying error (in the message, so not also the `source()`).
        cause: parquet::errors::ParquetError,
    },
    /// Decoding record batches from `path` failed.
    #[error("{path}: {cause}", path = path.display())]
    Decode {
        /// The file being read.
        path: PathBuf,
        /// The underlying error (in the message, so not also the `source()`).
        cause: arrow_schema::ArrowError,
    },
    /// Building an Arrow array or record batch failed.
    #[error("arrow: {0}")]
    Arrow(arrow_schema::ArrowError),
    /// A record batch or file does not have the tick schema; the message says where and why.
    #[error("schema mismatch: {0}")]
    Schema(String),
    /// An `event_time` (ms since the Unix epoch) has no calendar date chrono can represent.
    #[error("event_time {0} ms is outside the representable date range")]
    EventTime(i64),
    /// An object store request about `location` (a URL such as `s3://bucket/key`) failed:
    /// the store is unreachable, refused the request, or throttled it past its retries.
    /// (The message is [`describe`](super::location::describe)'s redacted summary: a raw
    /// S3 error body can quote the signed request.)
    #[error("{location}: {}", super::location::describe(cause))]
    Object {
        /// The object or prefix concerned.
        location: String,
        /// The underlying error (summarised in the message; deliberately not the
        /// `source()`, whose text may quote the signed request).
        cause: object_store::Error,
    },
    /// The dataset's background I/O runtime (object stores) could not be started or stopped
    /// answering.
    #[error("object store I/O: {0}")]
    Runtime(String),
    /// Every candidate file name in `dir` was taken (a runaway retry loop is cut short).
    #[error("{dir}: no free checkpoint file name after {attempts} attempts", dir = dir.display())]
    NameExhausted {
        /// The partition directory.
        dir: PathBuf,
        /// How many names were tried.
        attempts: u32,
    },
}

impl From<arrow_schema::ArrowError> for TickError {
    fn from(e: arrow_schema::ArrowError) -> Self {
        TickError::Arrow(e)
    }
}

impl TickError {
    /// True for the error of a name that is already taken (a file, or an object refused by
    /// a create-only put): publishing never replaces anything, it takes another name.
    pub fn already_exists(&self) -> bool {
        match self {
            TickError::Io { cause, .. } => cause.kind() == std::io::ErrorKind::AlreadyExists,
            TickError::Object { cause, .. } => matches!(
                cause,
                object_store::Error::AlreadyExists { .. }
                    | object_store::Error::Precondition { .. }
            ),
            _ => false,
        }
    }

    pub(crate) fn object(location: impl Into<String>) -> impl FnOnce(object_store::Error) -> Self {
        let location = location.into();
        move |cause| TickError::Object { location, cause }
    }

    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.into();
        move |cause| TickError::Io { path, cause }
    }

    pub(crate) fn parquet(
        path: impl Into<PathBuf>,
    ) -> impl FnOnce(parquet::errors::ParquetError) -> Self {
        let path = path.into();
        move |cause| TickError::Parquet { path, cause }
    }
}
