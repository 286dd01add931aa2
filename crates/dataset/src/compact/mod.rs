//! Compaction: the checkpoint files of a closed hour become one file per hour.
//!
//! A checkpoint every minute makes 1,440 small files a day; once an hour is closed (its end
//! plus `compact_after` has passed) its files in each date partition are merged into
//! `miniticker_YYYYMMDD_HH0000_h<seq:06>.parquet` (same partition, same schema and writer
//! properties, rows sorted by (symbol, event_time)), so a day is ~24 files plus the current
//! hour. The merge streams (see `compact/merge.rs`): each part is read [`MERGE_BATCH_ROWS`]
//! rows at a time and the output is written as it goes, so memory grows with the number of
//! parts, not with the rows of the hour; above [`MERGE_FAN_IN`] parts the hour is merged in
//! passes (`compact/passes.rs`), so it stays bounded whatever `--checkpoint-secs` is. Files
//! are grouped by the hour of the `YYYYMMDD_HHMMSS` stamp in their name (the time they were
//! written), so a late file of an already compacted hour (e.g. replayed from the journal)
//! is merged together with the earlier merged file at the next pass.
//!
//! # Crash safety
//!
//! The merged file's footer lists its parts ([`COMPACTED_FROM_KEY`](crate::COMPACTED_FROM_KEY), comma-separated file
//! names) and carries the union of their journal segment tags. The steps are: write the
//! merged file under a hidden temporary name and fsync it; publish it (no-clobber hard link)
//! and fsync the directory; remove the temporary name; remove the parts; fsync the
//! directory. Killed at any point, the dataset holds either the parts, or the merged file
//! plus some of its parts, plus maybe a hidden temporary file. [`recover`], run at start-up
//! before anything writes into the dataset, removes leftover temporary files and every part
//! that a published merged file lists: no row is lost or duplicated.
//!
//! On an object store the same order holds: the merged file is written to the spool
//! directory, uploaded create-only (a reader sees all of it or nothing), and only then are
//! the parts deleted; [`Dataset::recover`] deletes the parts a merged object lists. The
//! parts are read with ranged GETs one batch at a time, so memory is bounded as on disk.

mod merge;
mod passes;
mod recover;

pub use recover::{recover, RecoverReport};

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, NaiveDateTime, TimeDelta, Utc};

use super::{layout, schema, writer_properties, Dataset, StagedWriter, TickError};
use crate::handle::FileEntry;
use crate::tags::{compacted_from_tag, listed, parse_segments, segments_tag, SEGMENTS_KEY};
use merge::Input;

/// Rows per batch the merge decodes from each part and hands to the writer: the merge holds
/// at most (parts + 1) × this many rows (about 60 bytes each) at once. Each open part's
/// Parquet reader costs more than its batch (decompressed pages): `benches/compact.rs`
/// measured ~2.2 MB of peak RSS per part, ~130 MB for a 60-part hour whatever its rows.
pub const MERGE_BATCH_ROWS: usize = 4096;

/// Parts one merge reads at once; an hour with more is merged in passes through hidden
/// temporary files (see `compact/passes.rs`), so compaction memory stays near
/// 64 × 2.2 MB whatever `--checkpoint-secs` is. The default minute checkpoints (60 parts)
/// take one pass.
pub const MERGE_FAN_IN: usize = 64;

/// How much a merge may hold: rows per decoded batch and parts read at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MergeLimits {
    /// Rows per batch ([`MERGE_BATCH_ROWS`]).
    pub batch_rows: usize,
    /// Inputs per merge pass, at least 2 ([`MERGE_FAN_IN`]).
    pub fan_in: usize,
}

impl Default for MergeLimits {
    fn default() -> Self {
        MergeLimits {
            batch_rows: MERGE_BATCH_ROWS,
            fan_in: MERGE_FAN_IN,
        }
    }
}

/// What a compaction pass did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct CompactReport {
    /// Merged files published.
    pub merged: Vec<PathBuf>,
    /// Part files removed.
    pub parts_removed: usize,
    /// Rows in the merged files.
    pub rows: usize,
    /// Most rows one merge held in memory at once (decoded batches of its parts plus the
    /// batch being written): at most (inputs + 1) × [`MERGE_BATCH_ROWS`], inputs being
    /// the parts or [`MERGE_FAN_IN`], whichever is fewer.
    pub peak_buffered_rows: usize,
    /// Most merge passes one hour took (1 up to [`MERGE_FAN_IN`] parts).
    pub merge_passes: usize,
}

/// Where [`compact_closed_hours_until`] stops, to simulate a kill (tests only).
#[doc(hidden)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopAfter {
    /// The merged file is written and fsynced under its temporary name.
    WroteTmp,
    /// The merged file is published; the temporary name and all parts are still there.
    Published,
    /// One part is removed.
    RemovedSome,
}

/// Merges the checkpoint files of every hour closed at `now` (hour end + `compact_after`
/// in the past) into one file per hour and date partition.
/// Hours with a single file are left alone, and so (with a warning) are hours whose files
/// hold no rows, rows of several dates, or a file not sorted by (symbol, event_time). Safe
/// to run while the recorder writes the current hour.
///
/// # Errors
///
/// [`TickError::Io`] / [`TickError::Object`] when a file cannot be listed or read;
/// [`TickError::Parquet`], [`TickError::Decode`] or [`TickError::Schema`] for a truncated,
/// corrupt or incompatible file, naming it. Writing or publishing the merged file fails as
/// above; the parts are removed only after the merged file is published, so a failure loses
/// nothing.
///
/// ```
/// use dataset::compact_closed_hours;
/// use dataset::{list_files, DatasetWriter, Tick, TickBuffer};
/// let dir = tempfile::tempdir().unwrap();
/// let mut w = DatasetWriter::new(dir.path());
/// for minute in 0..3 {
///     let mut buf = TickBuffer::new();
///     let time = 1_704_067_200_000 + minute * 60_000;
///     buf.push(&Tick { symbol: "BTCUSDT", event_time: time, close: 1.0, open: 1.0, high: 1.0,
///                      low: 1.0, base_volume: 1.0, quote_volume: 1.0 });
///     w.write_checkpoint(&buf, chrono::DateTime::from_timestamp_millis(time + 30_000).unwrap()).unwrap();
/// }
/// let later = chrono::DateTime::from_timestamp(1_704_067_200 + 2 * 3600, 0).unwrap();
/// let report = compact_closed_hours(dir.path(), later, std::time::Duration::from_secs(60)).unwrap();
/// assert_eq!((report.merged.len(), report.parts_removed, report.rows), (1, 3, 3));
/// assert_eq!(list_files(dir.path()).unwrap().len(), 1);
/// ```
pub fn compact_closed_hours(
    out_dir: &Path,
    now: DateTime<Utc>,
    compact_after: Duration,
) -> Result<CompactReport, TickError> {
    Dataset::local(out_dir).compact_closed_hours(now, compact_after)
}

impl Dataset {
    /// [`compact_closed_hours`] on this dataset (a local directory or an object store: the
    /// merged file is published, create-only, before any part is removed).
    ///
    /// # Errors
    ///
    /// As [`compact_closed_hours`].
    pub fn compact_closed_hours(
        &self,
        now: DateTime<Utc>,
        compact_after: Duration,
    ) -> Result<CompactReport, TickError> {
        compact_closed_hours_with(self, now, compact_after, None, MergeLimits::default())
    }
}

/// [`compact_closed_hours`] that returns early after step `stop` of the first hour merged,
/// leaving the dataset as a kill at that point would (tests only).
#[doc(hidden)]
pub fn compact_closed_hours_until(
    out_dir: &Path,
    now: DateTime<Utc>,
    compact_after: Duration,
    stop: Option<StopAfter>,
) -> Result<CompactReport, TickError> {
    let dataset = Dataset::local(out_dir);
    compact_closed_hours_with(&dataset, now, compact_after, stop, MergeLimits::default())
}

/// [`compact_closed_hours_until`] with other [`MergeLimits`] than the default (tests and
/// `benches/compact.rs`).
#[doc(hidden)]
pub fn compact_closed_hours_with(
    dataset: &Dataset,
    now: DateTime<Utc>,
    compact_after: Duration,
    stop: Option<StopAfter>,
    limits: MergeLimits,
) -> Result<CompactReport, TickError> {
    let after = TimeDelta::from_std(compact_after).unwrap_or(TimeDelta::MAX);
    let closed_before = now
        .naive_utc()
        .checked_sub_signed(after + TimeDelta::hours(1));
    let mut report = CompactReport::default();
    for partition in dataset.partitions()? {
        let mut hours: BTreeMap<NaiveDateTime, Vec<FileEntry>> = BTreeMap::new();
        for file in dataset.files(&partition)? {
            let closed = |h: &NaiveDateTime| closed_before.is_some_and(|c| *h <= c);
            if let Some(hour) = layout::hour_of(file.name()).filter(closed) {
                if file.dir() == partition {
                    hours.entry(hour).or_default().push(file);
                }
            }
        }
        for (hour, parts) in hours.into_iter().filter(|(_, parts)| parts.len() > 1) {
            let stopped = merge(dataset, &partition, hour, &parts, stop, limits, &mut report)?;
            if stopped {
                return Ok(report);
            }
        }
    }
    Ok(report)
}

/// Merges `parts` of `hour` in `partition` (streaming, within `limits`); true if it stopped
/// at `stop`.
fn merge(
    dataset: &Dataset,
    partition: &str,
    hour: NaiveDateTime,
    parts: &[FileEntry],
    stop: Option<StopAfter>,
    limits: MergeLimits,
    report: &mut CompactReport,
) -> Result<bool, TickError> {
    // An hour of many parts on an object store takes a while: say what is going on.
    log::info!(
        "{}: compacting {} files of hour {hour}",
        dataset.location(partition).display(),
        parts.len()
    );
    let mut segments = BTreeSet::new();
    for part in parts {
        let kvs = dataset.footer(part)?;
        segments.extend(
            listed(&kvs, SEGMENTS_KEY)
                .flat_map(parse_segments)
                .map(str::to_owned),
        );
    }
    let names: Vec<&str> = parts.iter().map(FileEntry::name).collect();
    let mut metadata = vec![compacted_from_tag(&names)];
    if !segments.is_empty() {
        metadata.push(segments_tag(&segments.into_iter().collect::<Vec<_>>()));
    }
    let stem = layout::merged_stem(hour);
    let name = |seq: u32| layout::merged_name(hour, seq);
    let props = writer_properties();
    let writer = first_free(dataset, partition, |seq| {
        StagedWriter::create(dataset, partition, &name(seq), schema(), &props, &metadata)
    })?;
    let inputs: Vec<Input> = (parts.iter())
        .map(|part| Input::Part(dataset.clone(), part.clone()))
        .collect();
    let ctx = passes::Pass {
        dataset,
        dir: partition,
        stem: &stem,
        props: &props,
        limits,
    };
    let merged = passes::merge_in_passes(&ctx, &inputs, writer, report)?;
    let not_compacted = |why: &str| {
        let where_ = dataset.location(partition);
        log::warn!("{}: hour {hour} {why}, not compacted", where_.display());
        Ok(false)
    };
    let (staged, rows) = match merged {
        merge::Merged::Staged { staged, rows } => (staged, rows),
        merge::Merged::Empty => return not_compacted("holds no rows"),
        merge::Merged::Skipped(why) => return not_compacted(&why),
    };
    if stop == Some(StopAfter::WroteTmp) {
        return Ok(true);
    }
    let merged = match first_free(dataset, partition, |seq| staged.publish(&name(seq))) {
        Ok(path) => path,
        Err(e) => {
            staged.discard();
            return Err(e);
        }
    };
    staged.sync_dirs();
    report.merged.push(merged);
    report.rows += rows;
    if stop == Some(StopAfter::Published) {
        return Ok(true);
    }
    staged.discard();
    for part in parts {
        dataset.delete(&part.key)?;
        report.parts_removed += 1;
        if stop == Some(StopAfter::RemovedSome) {
            return Ok(true);
        }
    }
    dataset.sync_dir(partition);
    Ok(false)
}

/// The first `attempt(seq)`, for seq = 0, 1, …, that does not fail on a taken name.
pub(super) fn first_free<T>(
    dataset: &Dataset,
    dir: &str,
    mut attempt: impl FnMut(u32) -> Result<T, TickError>,
) -> Result<T, TickError> {
    const ATTEMPTS: u32 = 10_000;
    for seq in 0..ATTEMPTS {
        match attempt(seq) {
            Err(e) if e.already_exists() => continue,
            result => return result,
        }
    }
    Err(TickError::NameExhausted {
        dir: dataset.location(dir),
        attempts: ATTEMPTS,
    })
}
