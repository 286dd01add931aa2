//! The recording pipeline: Binance mini-ticker events in, a Hive-partitioned Parquet dataset
//! out.
//!
//! Two layers:
//!
//! * [`Recorder`] — synchronous and I/O-free apart from its checkpoints: it takes decoded
//!   events (or raw frames), buffers them in columns and writes a checkpoint file on request.
//!   Rows whose checkpoint fails stay buffered and go out with the next one: nothing recorded
//!   is dropped.
//! * [`run`] — the async loop the `recorder` binary uses: it drives a
//!   [`stream`] connection, checkpoints every N seconds, reports progress each second and
//!   saves everything on shutdown.
//!
//! ```no_run
//! # async fn demo() -> Result<(), record::RecordError> {
//! use std::time::Duration;
//! let config = record::SessionConfig::new("data", Duration::from_secs(60),
//!     stream::StreamConfig::new("wss://stream.binance.com:9443", vec!["!miniTicker@arr".into()]));
//! let shutdown = async { tokio::signal::ctrl_c().await.ok(); };
//! let summary = record::run(config, shutdown, |p| println!("{p:?}")).await?;
//! println!("{} symbols, {} events", summary.symbols, summary.events);
//! # Ok(()) }
//! ```

mod error;
mod session;

pub use error::RecordError;
pub use session::{run, Progress, SessionConfig, Summary};

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use store::ticks::{DatasetWriter, Tick, TickBuffer};
use stream::{DecodeError, MiniTicker};

/// Buffers mini-ticker events in columns and writes them as Parquet checkpoints.
pub struct Recorder {
    buffer: TickBuffer,
    writer: DatasetWriter,
    out_dir: PathBuf,
    events: u64,
    last_file: Option<PathBuf>,
    files: usize,
    scratch: Vec<MiniTicker>,
}

impl Recorder {
    /// A recorder writing into the dataset directory `out_dir` (created when first needed).
    pub fn new(out_dir: impl Into<PathBuf>) -> Self {
        let out_dir = out_dir.into();
        Recorder {
            buffer: TickBuffer::new(),
            writer: DatasetWriter::new(out_dir.clone()),
            out_dir,
            events: 0,
            last_file: None,
            files: 0,
            scratch: Vec::new(),
        }
    }

    /// Buffers decoded events.
    pub fn ingest(&mut self, tickers: &[MiniTicker]) {
        for t in tickers {
            self.buffer.push(&Tick {
                symbol: &t.symbol,
                event_time: t.event_time,
                close: t.close,
                open: t.open,
                high: t.high,
                low: t.low,
                base_volume: t.base_volume,
                quote_volume: t.quote_volume,
            });
        }
        self.events += tickers.len() as u64;
    }

    /// Decodes one text frame (raw or combined endpoint, array or single event) into the
    /// columns. Returns the number of events.
    ///
    /// A frame with any bad element is rejected whole, so a half-decoded frame never ends up
    /// in the dataset. The frame is parsed into a scratch vector that is reused from frame to
    /// frame, so the steady state allocates nothing per event.
    pub fn ingest_frame(&mut self, text: &str) -> Result<usize, DecodeError> {
        let mut scratch = std::mem::take(&mut self.scratch);
        scratch.clear();
        let mut first_error = None;
        let decoded = stream::for_each_raw_mini_ticker(text, |raw| {
            if first_error.is_none() {
                match raw.parse() {
                    Ok(t) => scratch.push(t),
                    Err(e) => first_error = Some(e),
                }
            }
        });
        let result = match (decoded, first_error) {
            (Err(e), _) | (Ok(_), Some(e)) => Err(e),
            (Ok(n), None) => {
                self.ingest(&scratch);
                Ok(n)
            }
        };
        self.scratch = scratch;
        result
    }

    /// Rows buffered since the last successful checkpoint.
    pub fn pending(&self) -> usize {
        self.buffer.len()
    }

    /// Distinct symbols recorded by this recorder so far.
    pub fn symbols(&self) -> usize {
        self.buffer.symbols_seen()
    }

    /// Events recorded so far (written or pending).
    pub fn events(&self) -> u64 {
        self.events
    }

    /// Bytes of memory held by the buffered rows.
    pub fn memory_bytes(&self) -> usize {
        self.buffer.memory_bytes()
    }

    /// The dataset directory.
    pub fn out_dir(&self) -> &Path {
        &self.out_dir
    }

    /// The last file this recorder published, if any.
    pub fn last_file(&self) -> Option<&Path> {
        self.last_file.as_deref()
    }

    /// Files published so far.
    pub fn files_written(&self) -> usize {
        self.files
    }

    /// Writes the buffered rows as new Parquet file(s) (one per UTC date of the rows) and
    /// clears the buffer. Nothing to write: `Ok` with no paths. On error the rows stay
    /// buffered and the next call writes them.
    pub fn checkpoint(&mut self, now: DateTime<Utc>) -> Result<Vec<PathBuf>, RecordError> {
        if self.buffer.is_empty() {
            return Ok(Vec::new());
        }
        let rows = self.buffer.len();
        let paths = self
            .writer
            .write_checkpoint(&self.buffer, now)
            .map_err(|source| RecordError::Checkpoint { rows, source })?;
        self.buffer.clear();
        self.files += paths.len();
        if let Some(last) = paths.last() {
            self.last_file = Some(last.clone());
        }
        Ok(paths)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ARR: &str =
        include_str!("../../../fixtures/binance_spot_miniTicker_arr_raw_2020-06-19.json");
    const COMBINED: &str =
        include_str!("../../../fixtures/binance_spot_btcusdt_miniTicker_combined_2020-10-02.json");

    #[test]
    fn frames_are_buffered_and_checkpointed_once() {
        let dir = tempfile::tempdir().unwrap();
        let mut rec = Recorder::new(dir.path());
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
        let rows: usize = store::ticks::read_dataset(dir.path())
            .unwrap()
            .iter()
            .map(|b| b.num_rows())
            .sum();
        assert_eq!(rows, 27);
    }

    #[test]
    fn a_bad_frame_adds_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let mut rec = Recorder::new(dir.path());
        let bad_price = ARR.replacen("\"0.02456700\"", "\"abc\"", 1);
        for frame in [&ARR[..ARR.len() / 2], "", "[{]", bad_price.as_str()] {
            assert!(rec.ingest_frame(frame).is_err(), "accepted: {frame:.40}");
        }
        assert_eq!(rec.pending(), 0);
    }

    #[test]
    fn failed_checkpoint_keeps_rows_for_the_next_one() {
        let dir = tempfile::tempdir().unwrap();
        let blocker = dir.path().join("not-a-dir");
        std::fs::write(&blocker, b"x").unwrap();
        let mut rec = Recorder::new(&blocker);
        rec.ingest_frame(ARR).unwrap();
        let err = rec.checkpoint(Utc::now()).unwrap_err();
        assert!(err.to_string().contains("26 rows"), "{err}");
        assert_eq!(rec.pending(), 26, "rows survive a failed write");
        // The disk "comes back": the same rows are written, once.
        std::fs::remove_file(&blocker).unwrap();
        let files = rec.checkpoint(Utc::now()).unwrap();
        assert!(!files.is_empty());
        let rows: usize = store::ticks::read_dataset(&blocker)
            .unwrap()
            .iter()
            .map(|b| b.num_rows())
            .sum();
        assert_eq!(rows, 26);
    }
}
