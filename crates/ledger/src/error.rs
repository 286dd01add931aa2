//! Errors of the database layer. Every URL in them is redacted (no password).

use std::path::PathBuf;

/// A database failure. Messages never contain the password of `DATABASE_URL`.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// `DATABASE_URL` cannot be used (configuration error).
    #[error("invalid DATABASE_URL {url}: {reason}")]
    BadUrl {
        /// The URL, redacted.
        url: String,
        /// What is wrong.
        reason: String,
    },
    /// The parent directory of the SQLite file could not be created.
    #[error("cannot create directory {path} for the SQLite database: {cause}")]
    CreateDir {
        /// The directory.
        path: PathBuf,
        /// The I/O error (in the message, so not also the `source()`).
        cause: std::io::Error,
    },
    /// A trade's position update refused the held position (another coin, a sale of more
    /// than is held): the trade was rolled back with it, nothing was written.
    #[error("the position update of a trade was refused (nothing written): {0}")]
    Position(portfolio::PositionError),
    /// The database could not be reached or opened.
    #[error("cannot connect to database {url}: {message}")]
    Connect {
        /// The URL, redacted.
        url: String,
        /// The driver's message, with the password scrubbed.
        message: String,
    },
    /// The embedded migrations failed.
    #[error("database migrations failed on {url}: {message}")]
    Migration {
        /// The URL, redacted.
        url: String,
        /// What failed.
        message: String,
    },
    /// A command that never migrates found the schema missing or behind this build
    /// ([`Store::open_existing`](super::Store::open_existing)); nothing was written.
    #[error("database {url} is not ready for the trader: {detail}; run `trader db migrate` to create or update its schema")]
    NotMigrated {
        /// The URL, redacted.
        url: String,
        /// What is missing.
        detail: String,
    },
    /// A query failed (the server went away, a constraint, ...).
    #[error("database error on {url}: {cause}")]
    Query {
        /// The URL, redacted.
        url: String,
        /// Diesel's error (in the message, so not also the `source()`).
        cause: diesel::result::Error,
    },
    /// The database did not answer in time; the operation was abandoned.
    #[error("database {url} did not answer within {}s ({what}): operation abandoned", after.as_secs_f64())]
    Timeout {
        /// The URL, redacted.
        url: String,
        /// What was being done.
        what: &'static str,
        /// The deadline that passed.
        after: std::time::Duration,
    },
    /// The store was closed by an earlier timeout (or its thread ended): open a new one.
    #[error("database connection to {url} was abandoned after an earlier failure")]
    Closed {
        /// The URL, redacted.
        url: String,
    },
}

impl DbError {
    /// True for configuration errors (a bad URL), as opposed to runtime failures.
    pub fn is_config(&self) -> bool {
        matches!(self, DbError::BadUrl { .. })
    }
}
