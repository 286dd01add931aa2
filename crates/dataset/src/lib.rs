//! The tick dataset, and the only code that knows it: buffer mini-ticker events in memory,
//! write them as atomic checkpoint files of a Hive-partitioned dataset on a local directory
//! or an object store ([`Dataset`]), read it back with partition and row-group pruning
//! ([`Query`]), compact closed hours ([`compact_closed_hours`]), and keep the gaps dataset
//! beside it ([`gaps`]).
//!
//! Layout and schema follow the recorder's contract (the repository's `README.md`, section
//! "Recording from the real Binance"):
//! `DIR/date=YYYY-MM-DD/miniticker_YYYYMMDD_HHMMSS_<seq>.parquet` (UTC, see [`layout`]),
//! one row per event, rows sorted by (`symbol`, `event_time`), columns as in [`schema`];
//! the footer tags that make publishing exactly-once are in [`tags`](SEGMENTS_KEY).
//!
//! ```
//! use dataset::{read_by_symbol, DatasetWriter, Tick, TickBuffer};
//! let dir = tempfile::tempdir().unwrap();
//! let mut buf = TickBuffer::new();
//! for (symbol, event_time, close) in [("ETHBTC", 2_000, 0.05), ("BTCUSDT", 1_000, 42_000.0)] {
//!     buf.push(&Tick { symbol, event_time, close, open: close, high: close, low: close,
//!                      base_volume: 1.0, quote_volume: close });
//! }
//! let mut writer = DatasetWriter::new(dir.path());
//! writer.write_checkpoint(&buf, chrono::Utc::now()).unwrap();
//! buf.clear();
//! let frames = read_by_symbol(dir.path()).unwrap();
//! assert_eq!(frames.keys().collect::<Vec<_>>(), ["BTCUSDT", "ETHBTC"]);
//! assert_eq!(frames["ETHBTC"].num_rows(), 1);
//! ```

#![warn(missing_docs)]
#![warn(clippy::missing_errors_doc)]

/// The README's examples, compiled (and run where they need no network) as doc-tests, so
/// that the snippet a user copies cannot rot.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

mod buffer;
pub mod compact;
mod error;
pub mod fs;
pub mod gaps;
mod handle;
pub mod layout;
pub mod query;
mod reader;
mod schema;
mod staged;
mod tags;
mod writer;

pub mod lease;
pub mod location;

pub use buffer::TickBuffer;
pub use compact::{
    compact_closed_hours, compact_closed_hours_until, compact_closed_hours_with, recover,
    CompactReport, MergeLimits, RecoverReport, StopAfter, MERGE_BATCH_ROWS, MERGE_FAN_IN,
};
pub use error::TickError;
pub use handle::{Dataset, FileEntry, ObjectSource, Source, MULTIPART_BYTES, PART_BYTES};
pub use query::{Query, ReadStats};
pub use reader::{
    list_files, read_by_symbol, read_dataset, read_file, read_symbol, stream_file, FileBatches,
};
pub use schema::{rows, schema, OwnedTick, Tick, COLUMNS};
pub use staged::{write_new_file, StagedFile, StagedWriter};
pub use tags::{parse_segments, segments_tag, FooterTag, COMPACTED_FROM_KEY, SEGMENTS_KEY};
pub use writer::{writer_properties, DatasetWriter, ROW_GROUP_ROWS};
