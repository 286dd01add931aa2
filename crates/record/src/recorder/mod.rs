//! [`Recorder`]: the synchronous core of the pipeline (journal, de-duplication, column
//! buffer, checkpoints, gaps).

use std::collections::HashSet;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use store::ticks::gaps::GapWriter;
use store::ticks::{DatasetWriter, RecoverReport, TickBuffer};
use stream::{DecodeError, Dedup, MiniTicker};

use crate::checkpoint::{CheckpointDone, CheckpointJob, CheckpointTask, Writers};
use crate::gaps::{self, Gap};
use crate::journal::{self, JournalWriter, ReplayReport, GAP_CONN_ID};
use crate::{quarantine, EventSink, Output, RecordError};

/// Buffers mini-ticker events in columns and writes them as Parquet checkpoints.
///
/// Opened with [`Recorder::open`], it is crash-safe: every message is appended to a
/// write-ahead journal before it is buffered, and the journal left by a killed run is
/// replayed into the dataset on the next start (see [`crate::journal`] for the exactly-once
/// protocol). [`Recorder::new`] gives a plain in-memory buffer with checkpoints, for tools
/// and benchmarks that bring their own durability.
pub struct Recorder {
    buffer: TickBuffer,
    /// The dataset and gaps writers; out with a [`CheckpointTask`] while one runs.
    writers: Option<Writers>,
    /// Rows (and their memory) of the checkpoint task that is out, if any.
    in_flight: (usize, usize),
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
    /// (reason [`gaps::NOT_RUNNING`]); recorded like any gap.
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
            writers: Some(Writers {
                ticks: DatasetWriter::for_dataset(output.dataset.clone()),
                gaps: GapWriter::for_dataset(&output.dataset),
                journal_dir: None,
            }),
            in_flight: (0, 0),
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
            reason: gaps::NOT_RUNNING.into(),
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

    /// Buffers decoded events (no journal, no de-duplication). An event time outside the
    /// representable range is quarantined ([`crate::quarantine`]), not buffered.
    pub fn ingest(&mut self, tickers: &[MiniTicker]) {
        let mut new = 0;
        for t in tickers {
            match quarantine::check(t.event_time, None) {
                Ok(()) => {
                    self.buffer.push(&crate::as_tick(t));
                    new += 1;
                }
                Err(why) => self.quarantine.note(&[(t.clone(), why)], "ingest"),
            }
        }
        self.events += new;
        crate::metrics::recorded(new as usize);
    }

    /// Takes in one received message: quarantines the elements whose event time is not
    /// believed ([`crate::quarantine`], against `received_at_ms`), drops events already seen
    /// (redundant connections, the overlap of a connection renewal), journals what is left
    /// (quarantined elements included: the journal keeps what was received), then buffers
    /// the new events. Returns their number. A journal write error is returned after the
    /// events are buffered: they are not lost (the writer keeps the record until the disk
    /// takes it).
    ///
    /// # Errors
    ///
    /// [`RecordError::JournalWrite`] when the journal write failed; the events are buffered
    /// all the same and the record is written when the disk takes it.
    pub fn ingest_message(
        &mut self,
        conn_id: u64,
        received_at_ms: i64,
        raw: &str,
        mut tickers: Vec<MiniTicker>,
    ) -> Result<usize, RecordError> {
        let total = tickers.len();
        let quarantined = quarantine::split(&mut tickers, Some(received_at_ms));
        if !quarantined.is_empty() {
            self.quarantine
                .note(&quarantined, &format!("connection {conn_id}"));
        }
        self.dedup.retain_at(&mut tickers, received_at_ms);
        crate::metrics::message(received_at_ms, total, tickers.len());
        if tickers.is_empty() && quarantined.is_empty() {
            return Ok(0);
        }
        let journaled = match self.journal.as_mut() {
            // Journal exactly what replay must see: the frame itself, or only its new and
            // quarantined elements.
            Some(j) if tickers.len() + quarantined.len() == total => {
                j.append(conn_id, received_at_ms, raw)
            }
            Some(j) => {
                let mut kept: Vec<MiniTicker> = tickers.clone();
                kept.extend(quarantined.into_iter().map(|(t, _)| t));
                j.append(conn_id, received_at_ms, &encode_frame(&kept))
            }
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
    ///
    /// # Errors
    ///
    /// A [`DecodeError`] when the frame is not valid JSON (nothing of it is buffered); bad
    /// elements of an array are left out, not errors.
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
    ///
    /// # Errors
    ///
    /// [`RecordError::JournalWrite`] when a write or the fdatasync failed (retried at the
    /// next call).
    pub fn sync_journal(&mut self) -> Result<(), RecordError> {
        match self.journal.as_mut() {
            Some(j) => {
                crate::metrics::journal_synced(|| j.sync().map_err(RecordError::JournalWrite))
            }
            None => Ok(()),
        }
    }

    /// Keeps a closed gap, journaled like the ticks (a crash loses none); it is written to
    /// the gaps dataset with the next checkpoint (and handed to the sink).
    pub fn record_gap(&mut self, gap: Gap) {
        if let Some(sink) = self.sink.as_mut() {
            sink.gap(&gap, true);
        }
        crate::metrics::gap(&gap);
        if let Some(j) = self.journal.as_mut() {
            if let Err(e) = j.append(GAP_CONN_ID, gap.end_ms, &gaps::to_journal(&gap)) {
                log::warn!("journal write of a gap failed (kept in memory): {e}");
            }
        }
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
    /// `sink` as well, starting with the gaps recorded and not yet checkpointed (such as the
    /// [`Startup::not_running`] gap that [`Recorder::open`] records before a sink can be set).
    pub fn set_sink(&mut self, mut sink: Box<dyn EventSink>) {
        for gap in &self.gaps {
            sink.gap(gap, true);
        }
        self.sink = Some(sink);
    }

    /// Events quarantined so far for an implausible event time ([`crate::quarantine`]).
    pub fn quarantined(&self) -> u64 {
        self.quarantine.count()
    }

    /// Rows not published yet: buffered, in the checkpoint that is running, or kept from
    /// a failed one.
    pub fn pending(&self) -> usize {
        self.buffer.len()
            + self.in_flight.0
            + self.retry.iter().map(CheckpointJob::rows).sum::<usize>()
    }

    /// Distinct symbols recorded by this recorder so far.
    pub fn symbols(&self) -> usize {
        let live_only = self
            .buffer
            .symbol_names()
            .filter(|s| !self.symbols_seen.contains(*s))
            .count();
        self.symbols_seen.len() + live_only
    }

    /// Events recorded so far (written or pending; copies not counted).
    pub fn events(&self) -> u64 {
        self.events
    }

    /// Copies dropped by the de-duplication.
    pub fn duplicates(&self) -> u64 {
        self.dedup.duplicates()
    }

    /// Bytes of memory held by the rows not published yet.
    pub fn memory_bytes(&self) -> usize {
        self.buffer.memory_bytes()
            + self.in_flight.1
            + self
                .retry
                .iter()
                .map(CheckpointJob::memory_bytes)
                .sum::<usize>()
    }

    /// The dataset directory.
    pub fn out_dir(&self) -> &Path {
        &self.output.name
    }

    /// Where the recorder writes.
    pub fn output(&self) -> &Output {
        &self.output
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
    /// the gaps recorded since the last checkpoint, then drops the journal segments those
    /// rows came from: [`start_checkpoint`](Self::start_checkpoint),
    /// [`CheckpointTask::run`] and [`finish_checkpoint`](Self::finish_checkpoint) in one
    /// go, on this thread. Nothing to write: `Ok` with no paths. On error the rows are kept
    /// (and journaled) and the next call writes them.
    ///
    /// # Errors
    ///
    /// [`RecordError::Checkpoint`] (the rows stay buffered and journaled),
    /// [`RecordError::Gaps`] (the gaps are kept), [`RecordError::CheckpointPostponed`] (the
    /// journal could not rotate: nothing written yet), [`RecordError::NotAllowed`] (the
    /// output's guard refuses writing now); the next call retries.
    pub fn checkpoint(&mut self, now: DateTime<Utc>) -> Result<Vec<PathBuf>, RecordError> {
        let task = self.start_checkpoint(now)?;
        self.finish_checkpoint(task.run())
    }

    /// The part of a checkpoint that must happen between two frames: rotates the journal
    /// (if it cannot, the checkpoint is postponed and the rows stay buffered), then hands
    /// the buffered rows and gaps, which are exactly those of the closed segments, to a
    /// task, with any earlier failed job. Run the task anywhere (it blocks), and give its
    /// result to [`finish_checkpoint`](Self::finish_checkpoint); meanwhile, keep
    /// recording. See [`crate::checkpoint`].
    ///
    /// # Errors
    ///
    /// - [`RecordError::CheckpointRunning`] while another task is out.
    /// - [`RecordError::NotAllowed`] when there is something to write but the output's
    ///   [guard](crate::output::WriteGuard) refuses it (e.g. the object-store lease is
    ///   not held): the rows stay buffered and journaled.
    /// - [`RecordError::CheckpointPostponed`] when the journal cannot rotate (a full
    ///   disk): nothing is handed out, the rows stay buffered.
    pub fn start_checkpoint(&mut self, now: DateTime<Utc>) -> Result<CheckpointTask, RecordError> {
        if self.writers.is_none() {
            return Err(RecordError::CheckpointRunning);
        }
        if !self.buffer.is_empty() || !self.gaps.is_empty() || !self.retry.is_empty() {
            // E.g. the object-store lease is not held: the rows stay where they are.
            self.output.may_write()?;
        }
        let Some(writers) = self.writers.take() else {
            return Err(RecordError::CheckpointRunning);
        };
        let mut segments = Vec::new();
        if let Some(j) = self.journal.as_mut() {
            // Rotate first, with no message in between: the buffer then holds exactly the
            // rows of the closed segment. If rotation fails, postpone.
            match j.rotate() {
                Ok(closed) => segments.push(closed),
                Err(e) => {
                    self.writers = Some(writers);
                    return Err(RecordError::CheckpointPostponed(e));
                }
            }
        }
        let fresh = self.spare.pop().unwrap_or_default();
        let rows = std::mem::replace(&mut self.buffer, fresh);
        for name in rows.symbol_names() {
            if !self.symbols_seen.contains(name) {
                self.symbols_seen.insert(name.into());
            }
        }
        let mut jobs = std::mem::take(&mut self.retry);
        jobs.push(CheckpointJob {
            rows,
            gaps: std::mem::take(&mut self.gaps),
            segments,
        });
        self.in_flight = (
            jobs.iter().map(CheckpointJob::rows).sum(),
            jobs.iter().map(CheckpointJob::memory_bytes).sum(),
        );
        Ok(CheckpointTask { writers, jobs, now })
    }

    /// Takes back what a [`CheckpointTask`] did: counts the published files and rows, keeps
    /// what failed for the next checkpoint. Returns the published paths, or the task's
    /// error (its rows are kept).
    ///
    /// # Errors
    ///
    /// The error the task ran into ([`RecordError::Checkpoint`] or [`RecordError::Gaps`]):
    /// the files it did publish are counted all the same, and the jobs it could not
    /// finish are kept for the next checkpoint.
    pub fn finish_checkpoint(&mut self, done: CheckpointDone) -> Result<Vec<PathBuf>, RecordError> {
        self.writers = Some(done.writers);
        self.in_flight = (0, 0);
        self.retry = done.left;
        self.spare.extend(done.spare);
        self.spare.truncate(1);
        self.files += done.files.len();
        self.rows_written += done.rows as u64;
        if let Some(last) = done.files.last() {
            self.last_file = Some(last.clone());
        }
        match done.error {
            Some(e) => Err(e),
            None => Ok(done.files),
        }
    }

    /// A [`CheckpointTask`] was lost (its thread panicked): new writers take over. Its
    /// rows are not published but still in their journal segments, which only a replay
    /// (the next start) will publish.
    pub fn checkpoint_lost(&mut self) {
        if self.writers.is_none() {
            self.writers = Some(Writers {
                ticks: DatasetWriter::for_dataset(self.output.dataset.clone()),
                gaps: GapWriter::for_dataset(&self.output.dataset),
                journal_dir: self.journal.as_ref().map(|j| j.dir().to_path_buf()),
            });
        }
        self.in_flight = (0, 0);
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

    /// `!miniTicker@arr` elements for `(symbol, event_time)`.
    fn frame(events: &[(&str, i64)]) -> String {
        let items: Vec<String> = events
            .iter()
            .map(|(s, e)| {
                format!(
                    r#"{{"e":"24hrMiniTicker","E":{e},"s":"{s}","c":"1.5","o":"1.0","h":"2.0","l":"0.5","v":"10","q":"15"}}"#
                )
            })
            .collect();
        format!("[{}]", items.join(","))
    }

    fn decoded(text: &str) -> Vec<MiniTicker> {
        match stream::decode(text) {
            Ok(stream::Message::MiniTickers(t)) => t,
            other => panic!("{other:?}"),
        }
    }

    fn rows(dir: &Path) -> Vec<(String, i64)> {
        let mut keys: Vec<_> = store::ticks::read_dataset(dir)
            .unwrap()
            .iter()
            .flat_map(|b| store::ticks::rows(b).unwrap())
            .map(|r| (r.symbol, r.event_time))
            .collect();
        keys.sort();
        keys
    }

    #[test]
    fn out_of_range_event_times_are_quarantined_and_checkpoints_go_on() {
        let now = 1_764_547_200_000; // 2025-12-01
        let year_10000 = 253_402_300_800_000;
        let text = frame(&[
            ("GOODUSDT", now - 500),
            ("MAXUSDT", i64::MAX),
            ("Y10KUSDT", year_10000),
            ("FARUSDT", now + 86_400_000),
            ("OTHERUSDT", now - 400),
        ]);
        let dir = tempfile::tempdir().unwrap();
        let (mut rec, _) = Recorder::open(dir.path(), Utc::now()).unwrap();
        rec.ingest_message(1, now, &text, decoded(&text)).unwrap();
        rec.checkpoint(Utc::now())
            .expect("a bad event time does not stop checkpoints");
        let good = vec![
            ("GOODUSDT".to_string(), now - 500),
            ("OTHERUSDT".to_string(), now - 400),
        ];
        assert_eq!(rows(dir.path()), good);
        assert_eq!(rec.quarantined(), 3);
        drop(rec);
        // Journal replay after a crash agrees with the live path.
        let crashed = tempfile::tempdir().unwrap();
        let (mut rec, _) = Recorder::open(crashed.path(), Utc::now()).unwrap();
        rec.ingest_message(1, now, &text, decoded(&text)).unwrap();
        drop(rec); // no checkpoint: only the journal has the rows
        let (_rec, startup) = Recorder::open(crashed.path(), Utc::now()).unwrap();
        assert_eq!(rows(crashed.path()), good);
        assert_eq!(startup.replay.quarantined, 3);
    }

    /// Feeds one frame of two symbols at `t` (received then); returns its keys.
    fn feed(rec: &mut Recorder, t: i64) -> (Vec<(String, i64)>, Result<usize, RecordError>) {
        let text = frame(&[("AUSDT", t), ("BUSDT", t)]);
        let keys = vec![("AUSDT".to_string(), t), ("BUSDT".to_string(), t)];
        (keys, rec.ingest_message(1, t, &text, decoded(&text)))
    }

    #[test]
    fn a_full_disk_loses_nothing_once_space_is_back() {
        let now = 1_764_547_200_000;
        let dir = tempfile::tempdir().unwrap();
        let jdir = journal::dir(dir.path());
        let (mut rec, _) = Recorder::open(dir.path(), Utc::now()).unwrap();
        let mut sent = Vec::new();
        let (keys, ok) = feed(&mut rec, now);
        sent.extend(keys);
        ok.unwrap();
        // The next segment cannot be created: the checkpoint is postponed, nothing is left
        // in the way of the next rotation.
        rec.journal.as_mut().unwrap().inject_disk_full(1);
        assert!(rec.checkpoint(Utc::now()).is_err());
        assert_eq!(
            journal::segments(&jdir).unwrap().len(),
            1,
            "no empty segment left"
        );
        assert_eq!(rec.pending(), 2);
        rec.checkpoint(Utc::now()).expect("space is back");
        // Journal writes fail: the events are buffered and their records kept in memory.
        rec.journal.as_mut().unwrap().inject_disk_full(2);
        for i in 1..3 {
            let (keys, failed) = feed(&mut rec, now + 1000 * i);
            sent.extend(keys);
            assert!(failed.is_err());
        }
        rec.checkpoint(Utc::now()).expect("space is back");
        rec.journal.as_mut().unwrap().inject_disk_full(2);
        for i in 3..6 {
            let (keys, result) = feed(&mut rec, now + 1000 * i);
            sent.extend(keys);
            assert_eq!(result.is_ok(), i == 5, "frame {i}");
        }
        drop(rec); // a crash once space is back: the journal has everything
        let (_rec, startup) = Recorder::open(dir.path(), Utc::now()).unwrap();
        assert_eq!(startup.replay.rows_written, 6);
        sent.sort();
        assert_eq!(rows(dir.path()), sent, "every event exactly once");
    }

    #[test]
    fn frames_taken_while_a_checkpoint_runs_are_journaled_and_survive_a_kill() {
        let now = Utc::now().timestamp_millis();
        let dir = tempfile::tempdir().unwrap();
        let (mut rec, _) = Recorder::open(dir.path(), Utc::now()).unwrap();
        let (mut sent, ok) = feed(&mut rec, now);
        ok.unwrap();
        let task = rec.start_checkpoint(Utc::now()).unwrap();
        assert!(matches!(
            rec.start_checkpoint(Utc::now()),
            Err(RecordError::CheckpointRunning)
        ));
        // The loop goes on while the task runs elsewhere.
        let (keys, ok) = feed(&mut rec, now + 1000);
        sent.extend(keys);
        ok.unwrap();
        assert_eq!(rec.pending(), 4);
        let done = std::thread::spawn(move || task.run()).join().unwrap();
        assert_eq!(rec.finish_checkpoint(done).unwrap().len(), 1);
        assert_eq!((rec.pending(), rec.rows_written()), (2, 2));
        // Killed while the next checkpoint runs: it never published.
        let task = rec.start_checkpoint(Utc::now()).unwrap();
        let (keys, ok) = feed(&mut rec, now + 2000);
        sent.extend(keys);
        ok.unwrap();
        drop(task);
        drop(rec);
        let (_rec, startup) = Recorder::open(dir.path(), Utc::now()).unwrap();
        assert_eq!(startup.replay.rows_written, 4);
        sent.sort();
        assert_eq!(rows(dir.path()), sent, "every event exactly once");
    }

    #[test]
    fn gaps_are_journaled_and_a_crash_becomes_a_not_running_gap() {
        let dir = tempfile::tempdir().unwrap();
        let (mut rec, _) = Recorder::open(dir.path(), Utc::now()).unwrap();
        let now = Utc::now().timestamp_millis();
        let (_, ok) = feed(&mut rec, now);
        ok.unwrap();
        let gap = Gap {
            start_ms: now - 2000,
            end_ms: now - 1000,
            reason: "reconnect: reset".into(),
            connection_id: 2,
        };
        rec.record_gap(gap.clone());
        drop(rec); // killed: nothing checkpointed
        let restart = Utc::now() + chrono::Duration::seconds(5);
        let (mut rec, startup) = Recorder::open(dir.path(), restart).unwrap();
        let down = startup.not_running.expect("a not-running gap");
        assert_eq!(
            (down.start_ms, down.end_ms, down.reason.as_str()),
            (now, restart.timestamp_millis(), gaps::NOT_RUNNING)
        );
        rec.checkpoint(restart).unwrap();
        assert_eq!(
            store::ticks::gaps::read_gaps(dir.path()).unwrap(),
            [gap, down]
        );
        rec.close().unwrap();
        let (_rec, startup) = Recorder::open(dir.path(), Utc::now()).unwrap();
        assert!(startup.not_running.is_none(), "a clean stop is no gap");
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
