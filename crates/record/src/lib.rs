//! The recording pipeline: Binance mini-ticker events in, a Hive-partitioned Parquet dataset
//! out, with nothing recorded lost.
//!
//! Two layers:
//!
//! * [`Recorder`] — synchronous: it takes decoded events (or raw frames), drops copies
//!   ([`events::dedup`]), appends what is new to a write-ahead [`journal`], buffers it in columns and
//!   writes a checkpoint file on request. Rows whose checkpoint fails stay buffered and go
//!   out with the next one; after a crash, [`Recorder::open`] replays the journal into the
//!   dataset exactly once.
//! * [`run`] — the async loop the `recorder` binary uses: it drives one or more redundant
//!   [`binance`] connections, syncs the journal every second, checkpoints every N seconds,
//!   records the intervals without a live feed ([`gaps`]), compacts closed hours
//!   ([`dataset::compact_closed_hours`]), reports progress and saves everything on
//!   shutdown.
//!
//! The dataset itself — layout, publishing, reading, compaction, the gaps dataset, on a
//! local directory or an object store — is `dataset`'s; this crate only hands it rows
//! ([`Output`] says where).
//!
//! ```no_run
//! # async fn demo() -> Result<(), record::RecordError> {
//! use std::time::Duration;
//! let config = record::SessionConfig::new("data", Duration::from_secs(60),
//!     binance::StreamConfig::new("wss://stream.binance.com:9443", vec!["!miniTicker@arr".into()]));
//! let shutdown = async { tokio::signal::ctrl_c().await.ok(); };
//! let summary = record::run(config, shutdown, |p| println!("{p:?}")).await?;
//! println!("{} symbols, {} events", summary.symbols, summary.events);
//! # Ok(()) }
//! ```

#![warn(missing_docs)]
#![warn(clippy::missing_errors_doc)]

/// The README's examples, compiled (and run where they need no network) as doc-tests, so
/// that the snippet a user copies cannot rot.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

mod blocking;
pub mod checkpoint;
mod error;
pub mod gaps;
pub mod journal;
pub mod metrics;
pub mod output;
pub mod quarantine;
mod recorder;
mod row;
mod session;

pub use error::RecordError;
pub use output::{Output, WriteGuard};
pub use recorder::{Recorder, Startup};
pub use row::as_tick;
pub use session::{run, run_with_sink, Progress, Rejected, SessionConfig, Summary};

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;

    const ARR: &str =
        include_str!("../../../fixtures/binance_spot_miniTicker_arr_raw_2020-06-19.json");
    const COMBINED: &str =
        include_str!("../../../fixtures/binance_spot_btcusdt_miniTicker_combined_2020-10-02.json");

    #[test]
    fn frames_are_buffered_and_checkpointed_once() {
        let dir = tempfile::tempdir().unwrap();
        let mut rec = Recorder::new(dir.path()).expect("recorder");
        assert_eq!(rec.ingest_frame(ARR).unwrap(), 26);
        assert_eq!(rec.ingest_frame(COMBINED).unwrap(), 1);
        assert_eq!((rec.pending(), rec.symbols(), rec.events()), (27, 26, 27));
        let files = rec.checkpoint(Utc::now()).unwrap();
        // The array is from 2020-06-19 and the single event from 2020-10-02: one file per date.
        assert_eq!(files.len(), 2, "{files:?}");
        assert!(
            files[0].to_string_lossy().contains("date=2020-06-19"),
            "{files:?}"
        );
        assert!(
            files[1].to_string_lossy().contains("date=2020-10-02"),
            "{files:?}"
        );
        assert_eq!(rec.pending(), 0);
        assert!(
            rec.checkpoint(Utc::now()).unwrap().is_empty(),
            "nothing left to write"
        );
        let rows: usize = dataset::read_dataset(dir.path())
            .unwrap()
            .iter()
            .map(|b| b.num_rows())
            .sum();
        assert_eq!(rows, 27);
    }

    #[test]
    fn a_bad_frame_adds_nothing_and_a_bad_element_only_loses_itself() {
        let dir = tempfile::tempdir().unwrap();
        let mut rec = Recorder::new(dir.path()).expect("recorder");
        for frame in [&ARR[..ARR.len() / 2], "", "[{]"] {
            assert!(rec.ingest_frame(frame).is_err(), "accepted: {frame:.40}");
        }
        assert_eq!(rec.pending(), 0);
        let bad_price = ARR.replacen("\"0.02456700\"", "\"abc\"", 1);
        assert_eq!(rec.ingest_frame(&bad_price).unwrap(), 25);
        assert_eq!(rec.pending(), 25);
    }

    #[test]
    fn failed_checkpoint_keeps_rows_for_the_next_one() {
        let dir = tempfile::tempdir().unwrap();
        // A file where the checkpoint's date partition must go (the fixture's events are
        // of 2020-06-19 UTC) makes the write fail.
        let blocker = dir.path().join("date=2020-06-19");
        std::fs::write(&blocker, b"x").unwrap();
        let mut rec = Recorder::new(dir.path()).expect("recorder");
        rec.ingest_frame(ARR).unwrap();
        let err = rec.checkpoint(Utc::now()).unwrap_err();
        assert!(err.to_string().contains("26 rows"), "{err}");
        assert_eq!(rec.pending(), 26, "rows survive a failed write");
        // The disk "comes back": the same rows are written, once.
        std::fs::remove_file(&blocker).unwrap();
        let files = rec.checkpoint(Utc::now()).unwrap();
        assert!(!files.is_empty());
        let rows: usize = dataset::read_dataset(dir.path())
            .unwrap()
            .iter()
            .map(|b| b.num_rows())
            .sum();
        assert_eq!(rows, 26);
    }

    #[test]
    fn a_second_recorder_without_journal_on_the_same_directory_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let _first = Recorder::new(dir.path()).expect("recorder");
        let second = Recorder::new(dir.path());
        assert!(
            matches!(second, Err(crate::RecordError::OutDir { .. })),
            "a second Recorder::new on one directory must be refused"
        );
    }
}
