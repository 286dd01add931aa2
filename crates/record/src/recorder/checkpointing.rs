//! The recorder's side of a checkpoint: what it hands out, what it takes back, and what it
//! keeps when a checkpoint fails.
//!
//! [`crate::checkpoint`] explains the three steps (start on the loop, run anywhere, finish
//! on the loop). Here is the bookkeeping around them, the state that says where every row
//! not yet published is:
//!
//! - in the live `buffer` (frames taken since the last start);
//! - `in_flight`: in the task that is out (only its row count and memory are known here; the
//!   writers travel with it, so `writers` is `None` until it comes back);
//! - in `retry`: jobs whose task failed, handed out again first by the next start (a failed
//!   checkpoint loses nothing, it only waits);
//!
//! and, once published, counted in `files`, `rows_written` and `last_file`.
//! [`Recorder::pending`] adds the three places up; each place also knows when its oldest
//! row was buffered (`buffer_since`, `in_flight_since`, each job's `since`), and
//! [`Recorder::unpublished_age`] says how long the oldest of them all has been waiting. Emptied buffers come back with the task
//! and one is kept (`spare`) for the next swap, so the symbol interner and the column
//! capacity are reused instead of reallocated every checkpoint.

use std::path::PathBuf;

use chrono::{DateTime, Utc};

use super::Recorder;
use crate::checkpoint::{CheckpointDone, CheckpointJob, CheckpointTask, Writers};
use crate::RecordError;

impl Recorder {
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
            since: self.buffer_since.take(),
        });
        self.in_flight = (
            jobs.iter().map(CheckpointJob::rows).sum(),
            jobs.iter().map(CheckpointJob::memory_bytes).sum(),
        );
        self.in_flight_since = jobs.iter().filter_map(|j| j.since).min();
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
        self.in_flight_since = None;
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
            let journal_dir = self.journal.as_ref().map(|j| j.dir().to_path_buf());
            self.writers = Some(Writers::for_dataset(&self.output.dataset, journal_dir));
        }
        self.in_flight = (0, 0);
        self.in_flight_since = None;
    }
}
