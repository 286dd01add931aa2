//! Parquet tick store: buffer mini-ticker events in memory, write them as atomic checkpoint
//! files of a Hive-partitioned dataset, read the dataset back.
//!
//! Layout and schema follow the recorder's contract (the repository's `README.md`, section
//! "Recording from the real Binance"):
//! `DIR/date=YYYY-MM-DD/miniticker_YYYYMMDD_HHMMSS_<seq>.parquet` (UTC), one row per event,
//! rows sorted by (`symbol`, `event_time`), columns as in [`schema`].
//!
//! ```
//! use store::ticks::{read_by_symbol, DatasetWriter, Tick, TickBuffer};
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

mod buffer;
mod error;
mod reader;
mod schema;
mod staged;
mod writer;

pub mod lease;
pub mod location;

pub use buffer::TickBuffer;
pub use error::TickError;
pub use reader::{
    list_files, read_by_symbol, read_dataset, read_file, read_symbol, stream_file, FileBatches,
};
pub use schema::{rows, schema, OwnedTick, Tick, COLUMNS};
pub use staged::{write_new_file, StagedFile, StagedWriter};
pub use writer::{writer_properties, DatasetWriter};
