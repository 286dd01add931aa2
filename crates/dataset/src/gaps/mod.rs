//! The gaps dataset: every interval in which the recorder was not receiving, as data.
//!
//! Layout, beside the ticks (the `_` prefix hides it from tick dataset discovery):
//! `<out_dir>/_gaps/date=YYYY-MM-DD/gaps_YYYYMMDD_HHMMSS_<seq>.parquet` (UTC; partitioned by
//! the date a gap started; named after the write time), published atomically like the tick
//! checkpoints (temporary file, fsync, no-clobber link). Once a day is over its files are
//! merged into one `gaps_YYYYMMDD_day_<seq>.parquet` ([`compact_closed_days`]). Columns,
//! one row per gap:
//!
//! | column | Arrow type | meaning |
//! |---|---|---|
//! | `start` | Timestamp(ms, UTC) | feed lost (or recorder started) |
//! | `end` | Timestamp(ms, UTC) | feed back |
//! | `reason` | Utf8 | `startup`, `server closed the connection (…)`, `no data for …`, … (the text of an [`events::GapReason`]) |
//! | `connection_id` | UInt64 | the connection lost (for `startup`: the first one up) |
//!
//! A gap itself is the event core's ([`Gap`], with its typed reason); the recorder decides
//! when one opens and closes (its `record::gaps`); this module owns how gaps are
//! stored: the schema, the files, reading them back and compacting closed days, on a local
//! directory or an object store ([`Dataset`]).

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use arrow_array::{
    Array, ArrayRef, RecordBatch, StringArray, TimestampMillisecondArray, UInt64Array,
};
use arrow_schema::{DataType, Field, Schema, SchemaRef, TimeUnit};
use chrono::{DateTime, NaiveDate, Utc};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;

use super::{layout, write_new_file, Dataset, TickError};
use crate::handle::FileEntry;

mod compact;

pub use compact::{compact_closed_days, compact_closed_days_of, DaysCompacted};

/// Name of the gaps dataset directory inside the dataset directory.
pub const DIR_NAME: &str = layout::GAPS_DIR;

pub use events::{Gap, GapReason};

/// The Arrow schema of the gaps dataset (see the [module docs](self)).
pub fn schema() -> SchemaRef {
    static SCHEMA: OnceLock<SchemaRef> = OnceLock::new();
    SCHEMA
        .get_or_init(|| {
            let time = DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into()));
            Arc::new(Schema::new(vec![
                Field::new("start", time.clone(), false),
                Field::new("end", time, false),
                Field::new("reason", DataType::Utf8, false),
                Field::new("connection_id", DataType::UInt64, false),
            ]))
        })
        .clone()
}

/// Writes gaps as files of the gaps dataset of one dataset directory.
///
/// ```
/// use dataset::gaps::{read_gaps, Gap, GapWriter};
/// let dir = tempfile::tempdir().unwrap();
/// let gap = Gap { start_ms: 1_704_067_200_000, end_ms: 1_704_067_203_500,
///                 reason: "reconnect: closed by server".into(), connection_id: 2 };
/// let now = chrono::DateTime::from_timestamp(1_704_067_260, 0).unwrap();
/// let files = GapWriter::new(dir.path()).write(&[gap.clone()], now).unwrap();
/// assert!(files[0].ends_with("_gaps/date=2024-01-01/gaps_20240101_000100_000000.parquet"));
/// assert_eq!(read_gaps(dir.path()).unwrap(), [gap]);
/// ```
#[derive(Debug)]
pub struct GapWriter {
    gaps: Dataset,
    seq: u64,
}

impl GapWriter {
    /// A writer for the gaps dataset of the dataset directory `out_dir`.
    pub fn new(out_dir: &Path) -> Self {
        Self::for_dataset(&Dataset::local(out_dir))
    }

    /// A writer for the gaps dataset of `dataset`.
    pub fn for_dataset(dataset: &Dataset) -> Self {
        GapWriter {
            gaps: dataset.child(DIR_NAME),
            seq: 0,
        }
    }

    /// Writes `gaps` (one file per UTC date of their starts) named after `now`; returns the
    /// published paths (none for no gaps). Each file is atomic and never overwrites another.
    ///
    /// # Errors
    ///
    /// [`TickError::Io`] / [`TickError::Object`] when staging, syncing or publishing fails
    /// (nothing half-written is left visible); [`TickError::Parquet`] /
    /// [`TickError::Arrow`] when encoding fails.
    pub fn write(&mut self, gaps: &[Gap], now: DateTime<Utc>) -> Result<Vec<PathBuf>, TickError> {
        self.write_with(gaps, now, &[])
    }

    /// Like [`write`](Self::write), with `metadata` in each file's key-value metadata (the
    /// journal segments the gaps came from, for an exactly-once replay).
    ///
    /// # Errors
    ///
    /// As [`write`](Self::write).
    pub fn write_with(
        &mut self,
        gaps: &[Gap],
        now: DateTime<Utc>,
        metadata: &[crate::FooterTag],
    ) -> Result<Vec<PathBuf>, TickError> {
        let stamp = layout::stamp(now);
        let mut by_date: Vec<(NaiveDate, Vec<&Gap>)> = Vec::new();
        for gap in gaps {
            let date = DateTime::from_timestamp_millis(gap.start_ms)
                .ok_or(TickError::EventTime(gap.start_ms))?
                .date_naive();
            match by_date.iter_mut().find(|(d, _)| *d == date) {
                Some((_, list)) => list.push(gap),
                None => by_date.push((date, vec![gap])),
            }
        }
        let props = properties();
        let mut files = Vec::with_capacity(by_date.len());
        for (date, list) in by_date {
            let dir = layout::partition(date);
            let batch = to_batch(&list)?;
            let seq = &mut self.seq;
            let name = || {
                *seq += 1;
                layout::gaps_name(&stamp, *seq - 1)
            };
            files.push(write_new_file(
                &self.gaps, &dir, name, &batch, &props, metadata,
            )?);
        }
        Ok(files)
    }
}

fn properties() -> WriterProperties {
    WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::default()))
        .build()
}

fn to_batch(gaps: &[&Gap]) -> Result<RecordBatch, TickError> {
    let time = |f: fn(&Gap) -> i64| {
        Arc::new(
            TimestampMillisecondArray::from_iter_values(gaps.iter().map(|g| f(g)))
                .with_timezone("UTC"),
        ) as ArrayRef
    };
    let columns: Vec<ArrayRef> = vec![
        time(|g| g.start_ms),
        time(|g| g.end_ms),
        Arc::new(StringArray::from_iter_values(
            gaps.iter().map(|g| g.reason.to_string()),
        )),
        Arc::new(UInt64Array::from_iter_values(
            gaps.iter().map(|g| g.connection_id),
        )),
    ];
    Ok(RecordBatch::try_new(schema(), columns)?)
}

/// Every gap of the gaps dataset of `out_dir`, sorted by start (none if there is no
/// dataset yet). A file without the gaps schema is an error naming it.
///
/// # Errors
///
/// [`TickError::Io`] / [`TickError::Object`] when a file cannot be listed or read;
/// [`TickError::Parquet`], [`TickError::Decode`] or [`TickError::Schema`] for a truncated,
/// corrupt or incompatible file, naming it.
pub fn read_gaps(out_dir: &Path) -> Result<Vec<Gap>, TickError> {
    if !out_dir.join(DIR_NAME).is_dir() {
        return Ok(Vec::new());
    }
    read_gaps_of(&Dataset::local(out_dir))
}

/// Every gap of the gaps dataset of `dataset`, sorted by start (none if there is none).
///
/// # Errors
///
/// [`TickError::Io`] / [`TickError::Object`] when a file cannot be listed or read;
/// [`TickError::Parquet`], [`TickError::Decode`] or [`TickError::Schema`] for a truncated,
/// corrupt or incompatible file, naming it.
pub fn read_gaps_of(dataset: &Dataset) -> Result<Vec<Gap>, TickError> {
    let gaps_dataset = dataset.child(DIR_NAME);
    let mut gaps = Vec::new();
    for partition in gaps_dataset.partitions()? {
        for file in gaps_dataset.files(&partition)? {
            read_file(&gaps_dataset, &file, &mut gaps)?;
        }
    }
    gaps.sort_by_key(|g| (g.start_ms, g.end_ms));
    Ok(gaps)
}

fn read_file(dataset: &Dataset, file: &FileEntry, out: &mut Vec<Gap>) -> Result<(), TickError> {
    let path = &dataset.location(&file.key);
    let parquet = |cause| TickError::Parquet {
        path: path.into(),
        cause,
    };
    let source = dataset.open(&file.key, Some(file.size))?;
    let reader = ParquetRecordBatchReaderBuilder::try_new(source)
        .and_then(|b| b.build())
        .map_err(parquet)?;
    for batch in reader {
        let batch = batch.map_err(|cause| TickError::Decode {
            path: path.into(),
            cause,
        })?;
        let bad = || TickError::Schema(format!("{}: not a gaps file", path.display()));
        let column = |name: &str| {
            batch
                .column_by_name(name)
                .filter(|c| c.null_count() == 0)
                .ok_or_else(bad)
        };
        let times = |name| {
            column(name)?
                .as_any()
                .downcast_ref::<TimestampMillisecondArray>()
                .ok_or_else(bad)
        };
        let (start, end) = (times("start")?, times("end")?);
        let reason = column("reason")?
            .as_any()
            .downcast_ref::<StringArray>()
            .ok_or_else(bad)?;
        let conn = column("connection_id")?
            .as_any()
            .downcast_ref::<UInt64Array>()
            .ok_or_else(bad)?;
        out.extend((0..batch.num_rows()).map(|i| Gap {
            start_ms: start.value(i),
            end_ms: end.value(i),
            reason: GapReason::parse(reason.value(i)),
            connection_id: conn.value(i),
        }));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gap(start_ms: i64, end_ms: i64, reason: &str, connection_id: u64) -> Gap {
        Gap {
            start_ms,
            end_ms,
            reason: reason.into(),
            connection_id,
        }
    }

    #[test]
    fn roundtrip_across_dates_and_writes() {
        let dir = tempfile::tempdir().unwrap();
        let midnight = 1_704_067_200_000;
        let gaps = [
            gap(
                midnight - 5_000,
                midnight + 2_000,
                "reconnect: reset by peer",
                3,
            ),
            gap(midnight + 60_000, midnight + 61_500, "stall", 4),
            gap(midnight - 3_600_000, midnight - 3_599_000, "startup", 1),
        ];
        let now = DateTime::from_timestamp_millis(midnight + 120_000).unwrap();
        let mut w = GapWriter::new(dir.path());
        let files = w.write(&gaps, now).unwrap();
        assert_eq!(files.len(), 2, "one file per start date: {files:?}");
        assert!(files
            .iter()
            .all(|f| f.starts_with(dir.path().join(DIR_NAME))));
        assert!(w.write(&[], now).unwrap().is_empty());
        let again = w.write(&gaps[1..2], now).unwrap();
        assert!(!files.contains(&again[0]), "no file is overwritten");
        let mut expected = gaps.to_vec();
        expected.push(gaps[1].clone());
        expected.sort_by_key(|g| (g.start_ms, g.end_ms));
        assert_eq!(read_gaps(dir.path()).unwrap(), expected);
        // The ticks reader does not see the gaps dataset.
        assert!(crate::list_files(dir.path()).unwrap().is_empty());
    }

    #[test]
    fn no_dataset_reads_as_no_gaps_and_a_foreign_file_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        assert!(read_gaps(dir.path()).unwrap().is_empty());
        let part = dir.path().join(DIR_NAME).join("date=2024-01-01");
        std::fs::create_dir_all(&part).unwrap();
        std::fs::write(part.join("x.parquet"), b"PAR1 not really").unwrap();
        assert!(read_gaps(dir.path())
            .unwrap_err()
            .to_string()
            .contains("x.parquet"));
    }
}
