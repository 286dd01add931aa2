//! What the recorder can say about itself: the figures behind the per-second status line,
//! the metrics and the exit summary, and where it writes.
//!
//! All are cheap reads of counters kept by the ingest path and the checkpoint bookkeeping,
//! so the loop may call them every second. Two are sums over where rows can be before they
//! are published (see `checkpointing.rs`): [`Recorder::pending`] and
//! [`Recorder::memory_bytes`]. [`Recorder::symbols`] counts the symbols handed to
//! checkpoints plus those only the live buffer has seen yet.

use std::path::Path;

use super::Recorder;
use crate::checkpoint::CheckpointJob;
use crate::Output;

impl Recorder {
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

    /// How long the oldest row not yet published has been waiting (since it was buffered),
    /// at `now`; `None` when nothing waits. Whatever holds rows back (a store that does not
    /// answer, a refused lease, a full disk, a stuck task) makes it grow.
    pub fn unpublished_age(&self, now: std::time::Instant) -> Option<std::time::Duration> {
        let oldest = [self.buffer_since, self.in_flight_since]
            .into_iter()
            .chain(self.retry.iter().map(|job| job.since))
            .flatten()
            .min()?;
        Some(now.saturating_duration_since(oldest))
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
}
