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
//! The merged file's footer lists its parts ([`COMPACTED_FROM_KEY`], comma-separated file
//! names) and carries the union of their journal segment tags. The steps are: write the
//! merged file under a hidden temporary name and fsync it; publish it (no-clobber hard link)
//! and fsync the directory; remove the temporary name; remove the parts; fsync the
//! directory. Killed at any point, the dataset holds either the parts, or the merged file
//! plus some of its parts, plus maybe a hidden temporary file. [`recover`], run at start-up
//! before anything writes into the dataset, removes leftover temporary files and every part
//! that a published merged file lists: no row is lost or duplicated.

mod merge;
mod passes;
mod recover;

pub use recover::{recover, RecoverReport};

use std::collections::{BTreeMap, HashSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, NaiveDateTime, TimeDelta, Timelike, Utc};
use parquet::file::metadata::KeyValue;
use store::ticks::{schema, writer_properties, StagedWriter, TickError};

use crate::journal::replay::{footer_metadata, parse_segments};
use crate::journal::{segments_metadata, SEGMENTS_KEY};

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

/// Key of the merged file's key-value metadata listing its parts (comma-separated names).
pub const COMPACTED_FROM_KEY: &str = "compacted_from";

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
/// in the past) into one file per hour and date partition (see the [module docs](self)).
/// Hours with a single file are left alone, and so (with a warning) are hours whose files
/// hold no rows, rows of several dates, or a file not sorted by (symbol, event_time). Safe
/// to run while the recorder writes the current hour.
///
/// ```
/// use record::compact::compact_closed_hours;
/// use store::ticks::{list_files, DatasetWriter, Tick, TickBuffer};
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
    crate::metrics::compacted(|| compact_closed_hours_until(out_dir, now, compact_after, None))
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
    compact_closed_hours_with(out_dir, now, compact_after, stop, MergeLimits::default())
}

/// [`compact_closed_hours_until`] with other [`MergeLimits`] than the default (tests and
/// `benches/compact.rs`).
#[doc(hidden)]
pub fn compact_closed_hours_with(
    out_dir: &Path,
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
    for partition in partitions(out_dir)? {
        let mut hours: BTreeMap<NaiveDateTime, Vec<String>> = BTreeMap::new();
        for name in file_names(&partition)? {
            if let Some(hour) = hour_of(&name).filter(|h| closed_before.is_some_and(|c| *h <= c)) {
                hours.entry(hour).or_default().push(name);
            }
        }
        for (hour, parts) in hours.into_iter().filter(|(_, parts)| parts.len() > 1) {
            let stopped = merge(&partition, hour, &parts, stop, limits, &mut report)?;
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
    partition: &Path,
    hour: NaiveDateTime,
    parts: &[String],
    stop: Option<StopAfter>,
    limits: MergeLimits,
    report: &mut CompactReport,
) -> Result<bool, TickError> {
    let mut segments = HashSet::new();
    for part in parts {
        let path = partition.join(part);
        for kv in footer_metadata(&path)? {
            if kv.key == SEGMENTS_KEY {
                segments.extend(parse_segments(kv.value.as_deref().unwrap_or("")));
            }
        }
    }
    let mut metadata = vec![KeyValue::new(
        COMPACTED_FROM_KEY.to_owned(),
        parts.join(","),
    )];
    if !segments.is_empty() {
        let mut segments: Vec<_> = segments.into_iter().collect();
        segments.sort();
        metadata.push(segments_metadata(&segments));
    }
    let stem = hour.format("miniticker_%Y%m%d_%H0000_h").to_string();
    let name = |seq: u32| format!("{stem}{seq:06}.parquet");
    let props = writer_properties();
    let writer = first_free(partition, |seq| {
        StagedWriter::create(partition, &name(seq), schema(), &props, &metadata)
    })?;
    let paths: Vec<PathBuf> = parts.iter().map(|part| partition.join(part)).collect();
    let merged = passes::merge_in_passes(partition, &stem, &paths, writer, &props, limits, report)?;
    let not_compacted = |why: &str| {
        log::warn!("{}: hour {hour} {why}, not compacted", partition.display());
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
    let merged = match first_free(partition, |seq| staged.publish(&name(seq))) {
        Ok(path) => path,
        Err(e) => {
            staged.discard();
            return Err(e);
        }
    };
    staged.sync_dirs(partition);
    report.merged.push(merged);
    report.rows += rows;
    if stop == Some(StopAfter::Published) {
        return Ok(true);
    }
    staged.discard();
    for part in parts {
        remove(&partition.join(part))?;
        report.parts_removed += 1;
        if stop == Some(StopAfter::RemovedSome) {
            return Ok(true);
        }
    }
    staged.sync_dirs(partition);
    Ok(false)
}

/// The date partition directories of the dataset (`date=…`; none if `out_dir` is missing).
pub(crate) fn partitions(out_dir: &Path) -> Result<Vec<PathBuf>, TickError> {
    let mut dirs: Vec<PathBuf> = entry_names(out_dir)?
        .into_iter()
        .filter(|n| n.starts_with("date="))
        .map(|n| out_dir.join(n))
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    Ok(dirs)
}

/// The names of the entries of `dir` that are valid UTF-8 (none if `dir` is missing).
fn entry_names(dir: &Path) -> Result<Vec<String>, TickError> {
    let io = |source| TickError::Io {
        path: dir.into(),
        cause: source,
    };
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io(e)),
    };
    let mut names = Vec::new();
    for entry in entries {
        names.extend(entry.map_err(io)?.file_name().to_str().map(str::to_owned));
    }
    Ok(names)
}

/// Visible `.parquet` file names of a partition, sorted.
fn file_names(partition: &Path) -> Result<Vec<String>, TickError> {
    let mut names: Vec<String> = store::ticks::list_files(partition)?
        .iter()
        .filter(|p| p.parent() == Some(partition))
        .filter_map(|p| p.file_name()?.to_str().map(str::to_owned))
        .collect();
    names.sort();
    Ok(names)
}

/// The hour of a `miniticker_YYYYMMDD_HHMMSS_*.parquet` name (checkpoint or merged).
fn hour_of(name: &str) -> Option<NaiveDateTime> {
    let stamp = name.strip_prefix("miniticker_")?.get(..15)?;
    let time = NaiveDateTime::parse_from_str(stamp, "%Y%m%d_%H%M%S").ok()?;
    time.date().and_hms_opt(time.hour(), 0, 0)
}

/// True for a merged file name (`…_HH0000_h<seq>.parquet`).
fn is_merged(name: &str) -> bool {
    hour_of(name).is_some()
        && name
            .strip_suffix(".parquet")
            .and_then(|s| s.rsplit_once("_h"))
            .is_some_and(|(_, seq)| !seq.is_empty() && seq.bytes().all(|b| b.is_ascii_digit()))
}

/// The first `attempt(seq)`, for seq = 0, 1, …, that does not fail on a taken name.
fn first_free<T>(
    dir: &Path,
    mut attempt: impl FnMut(u32) -> Result<T, TickError>,
) -> Result<T, TickError> {
    const ATTEMPTS: u32 = 10_000;
    for seq in 0..ATTEMPTS {
        match attempt(seq) {
            Err(TickError::Io { cause: source, .. })
                if source.kind() == std::io::ErrorKind::AlreadyExists =>
            {
                continue
            }
            result => return result,
        }
    }
    Err(TickError::NameExhausted {
        dir: dir.into(),
        attempts: ATTEMPTS,
    })
}

pub(crate) fn remove(path: &Path) -> Result<(), TickError> {
    match fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(TickError::Io {
            path: path.into(),
            cause: e,
        }),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        let h = |s| hour_of(s).map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string());
        assert_eq!(
            h("miniticker_20240101_235959_000003.parquet").as_deref(),
            Some("2024-01-01 23:00:00")
        );
        assert_eq!(
            h("miniticker_20240101_230000_h000000.parquet").as_deref(),
            Some("2024-01-01 23:00:00")
        );
        assert_eq!(h("miniticker_2024010_230000_1.parquet"), None);
        assert_eq!(h("gaps_20240101_230000_000001.parquet"), None);
        assert!(is_merged("miniticker_20240101_230000_h000000.parquet"));
        assert!(!is_merged("miniticker_20240101_230000_000000.parquet"));
        assert!(!is_merged("miniticker_20240101_230000_h.parquet"));
    }
}
