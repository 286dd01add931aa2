//! [`Recorder`]: the synchronous core of the pipeline (journal, de-duplication, column
//! buffer, checkpoints, gaps).
//!
//! A row's way through the recorder, and where each step lives:
//!
//! 1. **In** (`ingest.rs`): a received message is checked (implausible event
//!    times are quarantined, [`crate::quarantine`]), stripped of the events already seen
//!    (redundant connections, renewal overlaps: [`events::Dedup`]), appended to the
//!    write-ahead journal, and only then buffered in columns ([`TickBuffer`]) and handed to
//!    the [`EventSink`]. Gaps in the feed go the same way: journaled, then kept for the next
//!    checkpoint.
//! 2. **Out** (`checkpointing.rs`): a checkpoint rotates the journal and
//!    swaps the buffer for an empty one, so the rows handed to the writer task are exactly
//!    those of the closed segments; the task publishes them (see [`crate::checkpoint`]) and
//!    the recorder takes back the outcome: counts what was published, keeps what failed for
//!    the next checkpoint.
//! 3. **Counted** (`stats.rs`): what the status line and the exit summary show
//!    (symbols, events, pending rows and their memory, files and rows written).
//!
//! This module holds the state they share and its life: [`Recorder::open`] (lock, finish an
//! interrupted compaction, replay an earlier run's journal, record the time the recorder was
//! down as a gap), [`Recorder::new`] (no journal), and [`Recorder::close`].

mod checkpointing;
mod ingest;
#[cfg(test)]
mod sink_tests;
mod stats;
#[cfg(test)]
mod tests;

use std::collections::HashSet;
use std::path::PathBuf;
use std::time::Instant;

use binance::MiniTicker;
use chrono::{DateTime, Utc};
use dataset::{RecoverReport, TickBuffer};
use events::Dedup;
use events::{EventSink, GapReason};

use crate::checkpoint::{CheckpointJob, Writers};
use crate::gaps::Gap;
use crate::journal::{self, JournalWriter, ReplayReport};
use crate::{quarantine, Output, RecordError};

/// Buffers mini-ticker events in columns and writes them as Parquet checkpoints.
///
/// Opened with [`Recorder::open`], it is crash-safe: every message is appended to a
/// write-ahead journal before it is buffered, and the journal left by a killed run is
/// replayed into the dataset on the next start (see [`crate::journal`] for the exactly-once
/// protocol). [`Recorder::new`] gives a plain in-memory buffer with checkpoints, for tools
/// and benchmarks that bring their own durability.
pub struct Recorder {
    buffer: TickBuffer,
    /// The dataset and gaps writers; out with a [`crate::checkpoint::CheckpointTask`] while
    /// one runs.
    writers: Option<Writers>,
    /// When the oldest row of the live buffer was buffered (`None`: it is empty).
    buffer_since: Option<Instant>,
    /// Rows (and their memory) of the checkpoint task that is out, if any.
    in_flight: (usize, usize),
    /// When the oldest row of the task that is out was buffered.
    in_flight_since: Option<Instant>,
    /// Jobs whose checkpoint failed, retried first by the next one.
    retry: Vec<CheckpointJob>,
    /// Emptied buffers from earlier checkpoints, reused (with their symbol interner).
    spare: Vec<TickBuffer>,
    /// Symbols of the rows handed to checkpoints (the live buffer knows the others).
    symbols_seen: HashSet<Box<str>>,
    output: Output,
    events: u64,
    last_file: Option<PathBuf>,
    files: usize,
    /// Rows in the files published so far.
    rows_written: u64,
    scratch: Vec<MiniTicker>,
    dedup: Dedup,
    journal: Option<JournalWriter>,
    gaps: Vec<Gap>,
    quarantine: quarantine::Counter,
    /// Held for the recorder's life: a second recorder on the same directory is refused.
    _lock: Vec<std::fs::File>,
    /// Gets every new event and gap as it is recorded (e.g. the NATS bus).
    sink: Option<Box<dyn EventSink>>,
}

/// What [`Recorder::open`] found and repaired from an earlier run.
#[derive(Debug, Default)]
pub struct Startup {
    /// The journal replay (rows recovered from a crashed run).
    pub replay: ReplayReport,
    /// Compaction clean-up (a compaction interrupted by a crash).
    pub compaction: RecoverReport,
    /// The interval the recorder was not running, when the journal shows that the last run
    /// ended without a clean shutdown: from its last journaled receive time to this start
    /// (reason [`GapReason::NotRunning`]); recorded like any gap.
    pub not_running: Option<Gap>,
}

impl Recorder {
    /// A recorder without journal writing into the dataset directory `out_dir`, holding the
    /// directory's lock (as [`Recorder::open`] does): a second recorder on the same
    /// directory, with or without a journal, is refused.
    ///
    /// # Errors
    ///
    /// [`RecordError::OutDir`] when the directory cannot be created or locked, or another
    /// recorder already writes to it.
    pub fn new(out_dir: impl Into<PathBuf>) -> Result<Self, RecordError> {
        Self::new_locked_at(Output::local(out_dir))
    }

    /// A recorder without journal writing into `output`'s dataset, without its lock (the
    /// public constructors take it).
    fn with_output(output: Output) -> Self {
        Recorder {
            buffer: TickBuffer::new(),
            writers: Some(Writers::for_dataset(&output.dataset, None)),
            buffer_since: None,
            in_flight: (0, 0),
            in_flight_since: None,
            retry: Vec::new(),
            spare: Vec::new(),
            symbols_seen: HashSet::new(),
            output,
            events: 0,
            last_file: None,
            files: 0,
            rows_written: 0,
            scratch: Vec::new(),
            dedup: Dedup::with_horizon(quarantine::MAX_SKEW_MS),
            journal: None,
            gaps: Vec::new(),
            quarantine: quarantine::Counter::default(),
            _lock: Vec::new(),
            sink: None,
        }
    }

    /// [`Recorder::new`] for any [`Output`].
    ///
    /// # Errors
    ///
    /// As [`Recorder::new`] (for an object store: the lock object cannot be taken).
    pub fn new_locked_at(output: Output) -> Result<Self, RecordError> {
        let mut rec = Recorder::with_output(output);
        rec._lock = rec.output.lock()?;
        Ok(rec)
    }

    /// A crash-safe recorder: finishes an interrupted compaction, replays the journal an
    /// earlier run left behind into the dataset, and starts a new journal.
    ///
    /// # Errors
    ///
    /// [`RecordError::OutDir`] as for [`Recorder::new`]; [`RecordError::Compact`]
    /// when an interrupted compaction cannot be finished; [`RecordError::Journal`] when the
    /// journal cannot be opened or replayed (nothing of it is deleted then).
    pub fn open(
        out_dir: impl Into<PathBuf>,
        now: DateTime<Utc>,
    ) -> Result<(Self, Startup), RecordError> {
        Self::open_at(Output::local(out_dir), now)
    }

    /// [`Recorder::open`] for any [`Output`] (e.g. a dataset on an object store).
    ///
    /// # Errors
    ///
    /// As [`Recorder::open`].
    pub fn open_at(output: Output, now: DateTime<Utc>) -> Result<(Self, Startup), RecordError> {
        let mut rec = Recorder::new_locked_at(output)?;
        let dataset = &rec.output.dataset;
        let compaction = dataset.recover().map_err(RecordError::Compact)?;
        let (journal, leftovers) = JournalWriter::open(&rec.output.journal_dir)?;
        // The journal holds exactly the rows that were buffered (copies were never journaled),
        // so the replay needs no de-duplication.
        let journal_dir = &rec.output.journal_dir;
        let replay = journal::replay_into(dataset, journal_dir, &leftovers, now, false)?;
        if let Some(w) = rec.writers.as_mut() {
            w.journal_dir = Some(journal.dir().to_path_buf());
        }
        rec.journal = Some(journal);
        let not_running = replay.last_received_ms.map(|last| Gap {
            start_ms: last,
            end_ms: now.timestamp_millis().max(last),
            reason: GapReason::NotRunning,
            connection_id: 0,
        });
        if let Some(gap) = &not_running {
            rec.record_gap(gap.clone());
        }
        let startup = Startup {
            replay,
            compaction,
            not_running,
        };
        Ok((rec, startup))
    }

    /// After the final checkpoint: closes the journal (nothing is left in it).
    ///
    /// # Errors
    ///
    /// [`RecordError::Journal`] when the journal cannot be closed (its segment is kept and
    /// replayed at the next start).
    pub fn close(mut self) -> Result<(), RecordError> {
        match self.journal.take() {
            Some(j) => Ok(j.close()?),
            None => Ok(()),
        }
    }
}
