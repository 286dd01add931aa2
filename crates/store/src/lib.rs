//! Storage for the toolkit.
//!
//! * feature `ticks`: Parquet tick snapshots (Arrow column buffers, atomic checkpoint files,
//!   a reader for the Hive-partitioned dataset).
//! * feature `db`: the Diesel schema, models and embedded migrations (SQLite, MySQL or PostgreSQL).
//!
//! Both halves are behind cargo features so that a binary links only what it uses: the
//! recorder never pulls in Diesel or a database client library.

#![warn(missing_docs)]
#![warn(clippy::missing_errors_doc)]

/// The README's examples, compiled (and run where they need no network) as doc-tests, so
/// that the snippet a user copies cannot rot.
#[cfg(all(doctest, feature = "ticks"))]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

mod blocking;
pub mod fs;

pub use blocking::blocking;

#[cfg(feature = "ticks")]
pub mod ticks;

#[cfg(feature = "db")]
pub mod db;
