//! Compaction of the gaps dataset: the gap files of a closed UTC day become one file.
//!
//! Gap files are written at the checkpoints that close a gap, so a feed that keeps dropping
//! would leave one small file per checkpoint. Once a day is over (its date is before today,
//! UTC), its files are merged into `gaps_YYYYMMDD_day_<seq:06>.parquet`, rows sorted by
//! (start, end), whose footer lists the merged files under
//! [`COMPACTED_FROM_KEY`](crate::COMPACTED_FROM_KEY) and carries their journal
//! segments ([`SEGMENTS_KEY`](crate::SEGMENTS_KEY)) over. The file is published
//! atomically (temporary name, fsync, no-clobber link) before the parts are removed, and
//! [`Dataset::recover`] removes the parts a day file lists, so a
//! kill at any point loses and duplicates nothing. A gap file written later for a
//! compacted day (a gap that started before midnight and closed after) is merged with the
//! day file at the next pass.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use chrono::{DateTime, NaiveDate, Utc};

use super::{properties, read_file, to_batch, DIR_NAME};
use crate::handle::FileEntry;
use crate::tags::{compacted_from_tag, listed};
use crate::{
    layout, parse_segments, segments_tag, write_new_file, Dataset, TickError, SEGMENTS_KEY,
};

/// What [`compact_closed_days`] did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct DaysCompacted {
    /// Day files published.
    pub merged: Vec<PathBuf>,
    /// Gap files removed because a day file holds their rows.
    pub parts_removed: usize,
}

/// Merges the gap files of every closed day (before `now`'s UTC date) that has more than
/// one, in the gaps dataset of the dataset directory `out_dir`.
///
/// # Errors
///
/// [`TickError::Io`] / [`TickError::Object`] when a file cannot be listed or read;
/// [`TickError::Parquet`], [`TickError::Decode`] or [`TickError::Schema`] for a truncated,
/// corrupt or incompatible file, naming it. Writing or publishing the merged file fails as
/// [`TickError::Io`] / [`TickError::Object`] when staging, syncing or publishing fails
/// (nothing half-written is left visible); the parts are removed only after the merged file
/// is published.
///
/// ```
/// use dataset::gaps::{compact_closed_days, read_gaps, Gap, GapWriter};
/// let dir = tempfile::tempdir().unwrap();
/// let mut w = GapWriter::new(dir.path());
/// for (i, start_ms) in [1_704_067_200_000_i64, 1_704_070_800_000].into_iter().enumerate() {
///     let gap = Gap { start_ms, end_ms: start_ms + 2_000, reason: "stall".into(),
///                     connection_id: i as u64 };
///     w.write(&[gap], chrono::DateTime::from_timestamp_millis(start_ms + 60_000).unwrap())
///         .unwrap();
/// }
/// let before = read_gaps(dir.path()).unwrap();
/// let next_day = chrono::DateTime::from_timestamp(1_704_067_200 + 86_400, 0).unwrap();
/// let report = compact_closed_days(dir.path(), next_day).unwrap();
/// assert_eq!((report.merged.len(), report.parts_removed), (1, 2));
/// assert_eq!(read_gaps(dir.path()).unwrap(), before);
/// ```
pub fn compact_closed_days(out_dir: &Path, now: DateTime<Utc>) -> Result<DaysCompacted, TickError> {
    compact_closed_days_of(&Dataset::local(out_dir), now)
}

/// [`compact_closed_days`] in the gaps dataset of `dataset`.
///
/// # Errors
///
/// As [`compact_closed_days`].
pub fn compact_closed_days_of(
    dataset: &Dataset,
    now: DateTime<Utc>,
) -> Result<DaysCompacted, TickError> {
    let gaps = dataset.child(DIR_NAME);
    let mut report = DaysCompacted::default();
    let today = now.date_naive();
    let mut days = Vec::new();
    for dir in gaps.partitions()? {
        if let Some(day) = layout::parse_partition(&dir).filter(|d| *d < today) {
            days.push((day, dir));
        }
    }
    days.sort();
    for (day, dir) in days {
        let parts: Vec<FileEntry> = (gaps.files(&dir)?.into_iter())
            .filter(|f| f.dir() == dir)
            .collect();
        if parts.len() > 1 {
            merge_day(&gaps, &dir, day, &parts, &mut report)?;
        }
    }
    Ok(report)
}

fn merge_day(
    gaps_dataset: &Dataset,
    dir: &str,
    day: NaiveDate,
    parts: &[FileEntry],
    report: &mut DaysCompacted,
) -> Result<(), TickError> {
    let mut gaps = Vec::new();
    // The parts' journal segments stay named by the merged file, as ticks compaction does:
    // a replay of a left-over segment must still see its gaps as published.
    let mut segments = BTreeSet::new();
    for part in parts {
        read_file(gaps_dataset, part, &mut gaps)?;
        let kvs = gaps_dataset.footer(part)?;
        segments.extend(
            listed(&kvs, SEGMENTS_KEY)
                .flat_map(parse_segments)
                .map(str::to_owned),
        );
    }
    gaps.sort_by_key(|g| (g.start_ms, g.end_ms));
    let names: Vec<&str> = parts.iter().map(FileEntry::name).collect();
    let mut metadata = vec![compacted_from_tag(&names)];
    if !segments.is_empty() {
        metadata.push(segments_tag(&segments.into_iter().collect::<Vec<_>>()));
    }
    let mut seq = 0u32;
    let name = || {
        seq += 1;
        layout::gaps_day_name(day, seq - 1)
    };
    let batch = to_batch(&gaps.iter().collect::<Vec<_>>())?;
    let merged = write_new_file(gaps_dataset, dir, name, &batch, &properties(), &metadata)?;
    for part in parts {
        gaps_dataset.delete(&part.key)?;
        report.parts_removed += 1;
    }
    report.merged.push(merged);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gaps::{read_gaps, Gap, GapWriter};
    use std::fs;

    const DAY_MS: i64 = 86_400_000;
    /// 2024-01-01T00:00:00Z.
    const D0: i64 = 1_704_067_200_000;

    fn at(ms: i64) -> DateTime<Utc> {
        DateTime::from_timestamp_millis(ms).unwrap()
    }

    /// One gap file per gap, written a minute after the gap started.
    fn write(out: &Path, starts: &[i64]) {
        let mut w = GapWriter::new(out);
        for (i, &start_ms) in starts.iter().enumerate() {
            let gap = Gap {
                start_ms,
                end_ms: start_ms + 1_500,
                reason: format!("reconnect: test {i}").into(),
                connection_id: i as u64,
            };
            w.write(&[gap], at(start_ms + 60_000 + i as i64)).unwrap();
        }
    }

    fn files_of(out: &Path, date: &str) -> Vec<String> {
        let dir = out.join(DIR_NAME).join(format!("date={date}"));
        let mut names: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn closed_days_become_one_file_and_today_is_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path();
        // Yesterday (Jan 1): 3 files; today (Jan 2): 2 files.
        write(out, &[D0 + 5_000, D0 + 3_600_000, D0 + DAY_MS - 70_000]);
        write(out, &[D0 + DAY_MS + 1_000, D0 + DAY_MS + 7_200_000]);
        let before = read_gaps(out).unwrap();
        let now = at(D0 + DAY_MS + 8 * 3_600_000);

        let report = compact_closed_days(out, now).unwrap();
        assert_eq!((report.merged.len(), report.parts_removed), (1, 3));
        assert_eq!(
            files_of(out, "2024-01-01"),
            ["gaps_20240101_day_000000.parquet"]
        );
        assert_eq!(files_of(out, "2024-01-02").len(), 2);
        assert_eq!(read_gaps(out).unwrap(), before);
        // Nothing left to do.
        assert_eq!(
            compact_closed_days(out, now).unwrap(),
            DaysCompacted::default()
        );
    }

    /// A replay of a left-over journal segment asks the gaps dataset whether a file names
    /// the segment: the day file must still name the segments of the files it replaced.
    #[test]
    fn the_day_file_keeps_the_journal_segments_of_its_parts() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path();
        let mut w = GapWriter::new(out);
        for (i, tag) in ["0196a4c2e1f3a7b9-0", "0196a4c2e1f3a7b9-1", "7"]
            .iter()
            .enumerate()
        {
            let gap = Gap {
                start_ms: D0 + 1_000 * i as i64,
                end_ms: D0 + 1_000 * i as i64 + 500,
                reason: "reconnect: test".into(),
                connection_id: 1,
            };
            w.write_with(&[gap], at(D0 + 60_000 + i as i64), &[segments_tag(&[tag])])
                .unwrap();
        }
        let gaps = Dataset::local(out.join(DIR_NAME));
        let covered = |dataset: &Dataset| dataset.published_segments("date=2024-01-01").unwrap();
        let before = covered(&gaps);
        assert_eq!(before.len(), 3, "{before:?}");
        let report = compact_closed_days(out, at(D0 + DAY_MS + 1_000)).unwrap();
        assert_eq!((report.merged.len(), report.parts_removed), (1, 3));
        assert_eq!(covered(&gaps), before);
    }

    #[test]
    fn a_late_file_of_a_compacted_day_is_merged_with_the_day_file() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path();
        write(out, &[D0 + 1_000, D0 + 2_000]);
        let now = at(D0 + DAY_MS + 1_000);
        compact_closed_days(out, now).unwrap();
        // A gap that started at 23:59 on Jan 1 and was written after midnight.
        write(out, &[D0 + DAY_MS - 60_000]);
        let before = read_gaps(out).unwrap();
        assert_eq!(before.len(), 3);
        let report = compact_closed_days(out, now).unwrap();
        assert_eq!((report.merged.len(), report.parts_removed), (1, 2));
        assert_eq!(
            files_of(out, "2024-01-01"),
            ["gaps_20240101_day_000001.parquet"]
        );
        assert_eq!(read_gaps(out).unwrap(), before);
    }

    #[test]
    fn killed_before_the_parts_were_removed_then_recovered_loses_and_duplicates_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path();
        write(out, &[D0 + 1_000, D0 + 2_000, D0 + 3_000]);
        let before = read_gaps(out).unwrap();
        let day_dir = out.join(DIR_NAME).join("date=2024-01-01");
        let saved: Vec<(PathBuf, Vec<u8>)> = crate::list_files(&day_dir)
            .unwrap()
            .into_iter()
            .map(|p| (p.clone(), fs::read(&p).unwrap()))
            .collect();
        compact_closed_days(out, at(D0 + DAY_MS)).unwrap();
        // As if killed after publishing the day file, before removing two of the parts.
        for (path, bytes) in &saved[..2] {
            fs::write(path, bytes).unwrap();
        }
        assert_eq!(
            read_gaps(out).unwrap().len(),
            before.len() + 2,
            "duplicates visible"
        );
        let recovered = crate::recover(out).unwrap();
        assert_eq!(recovered.parts_removed, 2);
        assert_eq!(read_gaps(out).unwrap(), before);
    }
}
