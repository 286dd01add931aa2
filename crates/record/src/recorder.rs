//! [`Recorder`]: the synchronous core of the pipeline (journal, de-duplication, column
//! buffer, checkpoints, gaps).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use store::ticks::{DatasetWriter, TickBuffer};
use stream::{DecodeError, MiniTicker};

use crate::dedup::Dedup;
use crate::gaps::{Gap, GapWriter};
use crate::journal::{self, JournalWriter, ReplayReport, SegmentId};
use crate::{compact, EventSink, RecordError};

/// Buffers mini-ticker events in columns and writes them as Parquet checkpoints.
///
/// Opened with [`Recorder::open`], it is crash-safe: every message is appended to a
/// write-ahead journal before it is buffered, and the journal left by a killed run is
/// replayed into the dataset on the next start (see [`crate::journal`] for the exactly-once
/// protocol). [`Recorder::new`] gives a plain in-memory buffer with checkpoints, for tools
/// and benchmarks that bring their own durability.
pub struct Recorder {
    buffer: TickBuffer,
    writer: DatasetWriter,
    out_dir: PathBuf,
    events: u64,
    last_file: Option<PathBuf>,
    files: usize,
    /// Rows in the files published so far.
    rows_written: u64,
    scratch: Vec<MiniTicker>,
    dedup: Dedup,
    journal: Option<JournalWriter>,
    /// Closed journal segments whose rows are in the buffer, not yet published.
    unpublished: Vec<SegmentId>,
    gaps: Vec<Gap>,
    gap_writer: GapWriter,
    /// Held for the recorder's life: a second recorder on the same directory is refused.
    _lock: Option<std::fs::File>,
    /// Gets every new event and gap as it is recorded (e.g. the NATS bus).
    sink: Option<Box<dyn EventSink>>,
}

/// What [`Recorder::open`] found and repaired from an earlier run.
#[derive(Debug, Default)]
pub struct Startup {
    /// The journal replay (rows recovered from a crashed run).
    pub replay: ReplayReport,
    /// Compaction clean-up (a compaction interrupted by a crash).
    pub compaction: compact::RecoverReport,
}

impl Recorder {
    /// A recorder without journal writing into the dataset directory `out_dir`.
    pub fn new(out_dir: impl Into<PathBuf>) -> Self {
        let out_dir = out_dir.into();
        Recorder {
            buffer: TickBuffer::new(),
            writer: DatasetWriter::new(out_dir.clone()),
            gap_writer: GapWriter::new(&out_dir),
            out_dir,
            events: 0,
            last_file: None,
            files: 0,
            rows_written: 0,
            scratch: Vec::new(),
            dedup: Dedup::new(),
            journal: None,
            unpublished: Vec::new(),
            gaps: Vec::new(),
            _lock: None,
            sink: None,
        }
    }

    /// A crash-safe recorder: finishes an interrupted compaction, replays the journal an
    /// earlier run left behind into the dataset, and starts a new journal.
    pub fn open(
        out_dir: impl Into<PathBuf>,
        now: DateTime<Utc>,
    ) -> Result<(Self, Startup), RecordError> {
        let mut rec = Recorder::new(out_dir);
        rec._lock = Some(lock_dataset(&rec.out_dir)?);
        let compaction = compact::recover(&rec.out_dir).map_err(RecordError::Compact)?;
        let (journal, leftovers) = JournalWriter::open(journal::dir(&rec.out_dir))?;
        // The journal holds exactly the rows that were buffered (copies were never journaled),
        // so the replay needs no de-duplication.
        let replay = journal::replay(&rec.out_dir, &leftovers, now, false)?;
        rec.journal = Some(journal);
        Ok((rec, Startup { replay, compaction }))
    }

    /// Buffers decoded events (no journal, no de-duplication).
    pub fn ingest(&mut self, tickers: &[MiniTicker]) {
        for t in tickers {
            self.buffer.push(&crate::as_tick(t));
        }
        self.events += tickers.len() as u64;
        crate::metrics::recorded(tickers.len());
    }

    /// Takes in one received message: drops events already seen (redundant connections, the
    /// overlap of a connection renewal), journals what is left, then buffers it. Returns the
    /// number of new events. A journal write error is returned after the events are
    /// buffered: they are not lost, only no longer crash-safe until the next checkpoint.
    pub fn ingest_message(
        &mut self,
        conn_id: u64,
        received_at_ms: i64,
        raw: &str,
        mut tickers: Vec<MiniTicker>,
    ) -> Result<usize, RecordError> {
        let total = tickers.len();
        self.dedup.retain(&mut tickers);
        crate::metrics::message(received_at_ms, total, tickers.len());
        if tickers.is_empty() {
            return Ok(0);
        }
        let journaled = match self.journal.as_mut() {
            // Journal exactly what is buffered: the frame itself, or only its new events.
            Some(j) if tickers.len() == total => j.append(conn_id, received_at_ms, raw),
            Some(j) => j.append(conn_id, received_at_ms, &encode_frame(&tickers)),
            None => Ok(()),
        };
        self.ingest(&tickers);
        if let Some(sink) = self.sink.as_mut() {
            sink.events(raw, &tickers);
        }
        journaled.map_err(RecordError::JournalWrite)?;
        Ok(tickers.len())
    }

    /// Decodes one text frame (raw or combined endpoint, array or single event) into the
    /// columns. Returns the number of events.
    ///
    /// The recorder's rule ([`journal::decode_frame`]): a bad element of an array is left
    /// out, the others are kept; a frame that is not valid JSON is rejected whole. The frame
    /// is parsed into a scratch vector that is reused from frame to frame, so the steady
    /// state allocates nothing per event.
    pub fn ingest_frame(&mut self, text: &str) -> Result<usize, DecodeError> {
        let mut scratch = std::mem::take(&mut self.scratch);
        let result = journal::decode_frame(text, &mut scratch);
        if result.is_ok() {
            self.ingest(&scratch);
        }
        let events = scratch.len();
        self.scratch = scratch;
        result.map(|_| events)
    }

    /// Makes the journal crash-safe up to now (call at least once a second).
    pub fn sync_journal(&mut self) -> Result<(), RecordError> {
        match self.journal.as_mut() {
            Some(j) => {
                crate::metrics::journal_synced(|| j.sync().map_err(RecordError::JournalWrite))
            }
            None => Ok(()),
        }
    }

    /// Keeps a closed gap; it is written with the next checkpoint (and handed to the sink).
    pub fn record_gap(&mut self, gap: Gap) {
        if let Some(sink) = self.sink.as_mut() {
            sink.gap(&gap, true);
        }
        crate::metrics::gap(&gap);
        self.gaps.push(gap);
    }

    /// Tells the sink that the feed is lost since `gap.start_ms` (the gap is recorded once
    /// it closes, with [`Recorder::record_gap`]).
    pub fn feed_lost(&mut self, gap: &Gap) {
        if let Some(sink) = self.sink.as_mut() {
            sink.gap(gap, false);
        }
    }

    /// Hands every event recorded from now on (after de-duplication) and every gap to
    /// `sink` as well.
    pub fn set_sink(&mut self, sink: Box<dyn EventSink>) {
        self.sink = Some(sink);
    }

    /// Rows buffered since the last successful checkpoint.
    pub fn pending(&self) -> usize {
        self.buffer.len()
    }

    /// Distinct symbols recorded by this recorder so far.
    pub fn symbols(&self) -> usize {
        self.buffer.symbols_seen()
    }

    /// Events recorded so far (written or pending; copies not counted).
    pub fn events(&self) -> u64 {
        self.events
    }

    /// Copies dropped by the de-duplication.
    pub fn duplicates(&self) -> u64 {
        self.dedup.duplicates()
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

    /// Rows in the files published so far.
    pub fn rows_written(&self) -> u64 {
        self.rows_written
    }

    /// Writes the buffered rows as new Parquet file(s) (one per UTC date of the rows) and
    /// the gaps recorded since the last checkpoint, then clears the buffer and drops the
    /// journal segments those rows came from. Nothing to write: `Ok` with no paths. On error
    /// the rows stay buffered (and journaled) and the next call writes them.
    pub fn checkpoint(&mut self, now: DateTime<Utc>) -> Result<Vec<PathBuf>, RecordError> {
        crate::metrics::checkpoint(self.buffer.len(), || self.write_checkpoint(now))
    }

    /// [`Recorder::checkpoint`] without its metrics.
    fn write_checkpoint(&mut self, now: DateTime<Utc>) -> Result<Vec<PathBuf>, RecordError> {
        if let Some(j) = self.journal.as_mut() {
            // Rotate first, with no message in between: the buffer then holds exactly the
            // rows of the closed, unpublished segments. If rotation fails, postpone.
            self.unpublished.push(j.rotate()?);
        }
        let mut paths = Vec::new();
        if !self.buffer.is_empty() {
            let rows = self.buffer.len();
            let tags = match self.journal {
                Some(_) => vec![journal::segments_metadata(&self.unpublished)],
                None => Vec::new(),
            };
            paths = self
                .writer
                .write_checkpoint_with(&self.buffer, now, &tags)
                .map_err(|source| RecordError::Checkpoint { rows, source })?;
            self.buffer.clear();
            self.files += paths.len();
            self.rows_written += rows as u64;
            if let Some(last) = paths.last() {
                self.last_file = Some(last.clone());
            }
        }
        if let Some(j) = self.journal.as_ref() {
            for segment in self.unpublished.drain(..) {
                // Published: a leftover segment would only be skipped by the next replay.
                if let Err(e) = j.remove(segment) {
                    log::warn!("{e}");
                }
            }
        }
        if !self.gaps.is_empty() {
            self.gap_writer
                .write(&self.gaps, now)
                .map_err(RecordError::Gaps)?;
            self.gaps.clear();
        }
        Ok(paths)
    }

    /// After the final checkpoint: closes the journal (nothing is left in it).
    pub fn close(mut self) -> Result<(), RecordError> {
        match self.journal.take() {
            Some(j) => Ok(j.close()?),
            None => Ok(()),
        }
    }
}

/// Takes an exclusive lock on `out_dir/_journal/.lock`, so that two recorders never write
/// the same journal and dataset (the lock goes with the process, even on SIGKILL).
fn lock_dataset(out_dir: &Path) -> Result<std::fs::File, RecordError> {
    let dir = journal::dir(out_dir);
    let err = |reason: String| RecordError::OutDir {
        path: out_dir.to_path_buf(),
        reason,
    };
    std::fs::create_dir_all(&dir).map_err(|e| err(e.to_string()))?;
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(dir.join(".lock"))
        .map_err(|e| err(e.to_string()))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => {
            Err(err("another recorder is already writing to it".to_string()))
        }
        Err(std::fs::TryLockError::Error(e)) => Err(err(format!("cannot lock it: {e}"))),
    }
}

/// A `!miniTicker@arr`-shaped frame holding `tickers`, for journaling the new events of a
/// frame that also carried copies. Rust prints each f64 in the shortest form that parses
/// back to the same value, so the replayed rows are identical.
fn encode_frame(tickers: &[MiniTicker]) -> String {
    let mut out = String::with_capacity(tickers.len() * 160);
    out.push('[');
    for (i, t) in tickers.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        // Writing to a String cannot fail.
        let _ = write!(
            out,
            r#"{{"e":"24hrMiniTicker","E":{},"s":"{}","c":"{}","o":"{}","h":"{}","l":"{}","v":"{}","q":"{}"}}"#,
            t.event_time, t.symbol, t.close, t.open, t.high, t.low, t.base_volume, t.quote_volume
        );
    }
    out.push(']');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_recorder_on_the_same_directory_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let (first, _) = Recorder::open(dir.path(), Utc::now()).unwrap();
        let err = Recorder::open(dir.path(), Utc::now())
            .err()
            .expect("second open refused");
        assert!(err.to_string().contains("another recorder"), "{err}");
        drop(first);
        assert!(
            Recorder::open(dir.path(), Utc::now()).is_ok(),
            "lock released with the first"
        );
    }

    #[test]
    fn encoded_frames_decode_to_the_same_events() {
        let frame =
            include_str!("../../../fixtures/binance_spot_miniTicker_arr_raw_2020-06-19.json");
        let Ok(stream::Message::MiniTickers(tickers)) = stream::decode(frame) else {
            panic!("fixture decodes");
        };
        let Ok(stream::Message::MiniTickers(again)) = stream::decode(&encode_frame(&tickers))
        else {
            panic!("encoded frame decodes");
        };
        assert_eq!(again, tickers);
    }
}
