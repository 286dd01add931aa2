//! [`DatasetWriter`]: atomic, no-clobber checkpoint files in a Hive-partitioned dataset.

use std::path::{Path, PathBuf};

use arrow_array::RecordBatch;
use chrono::{DateTime, NaiveDate, Utc};
use parquet::basic::{Compression, Encoding, ZstdLevel};
use parquet::file::metadata::SortingColumn;

use crate::FooterTag;
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use parquet::schema::types::ColumnPath;

use super::staged::{StagedFile, MAX_ATTEMPTS};
use super::{layout, Dataset, TickBuffer, TickError, COLUMNS};

/// Rows per Parquet row group: small enough for the readers to skip row groups by their
/// symbol and event-time min/max, large enough to cost next to nothing on disk.
pub const ROW_GROUP_ROWS: usize = 128 * 1024;

/// Writes checkpoint files into a Hive-partitioned dataset:
/// `ROOT/date=YYYY-MM-DD/miniticker_YYYYMMDD_HHMMSS_<seq>.parquet` ([`layout`]).
///
/// Each file is staged ([`StagedFile`]: a hidden temporary file, fsynced) and then
/// published without replacing anything: on a local directory with a hard link (a taken
/// name fails, the sequence number is bumped and the link retried) and a directory fsync,
/// on an object store with a create-only upload. A reader never sees a half-written file
/// and no file is ever overwritten.
///
/// ```
/// use dataset::{read_dataset, rows, DatasetWriter, Tick, TickBuffer};
/// let dir = tempfile::tempdir().unwrap();
/// let mut buf = TickBuffer::new();
/// buf.push(&Tick { symbol: "BTCUSDT", event_time: 1_704_067_200_000, close: 42_000.5,
///                  open: 42_100.0, high: 42_500.0, low: 41_900.0, base_volume: 1.5,
///                  quote_volume: 63_000.75 });
/// let now = chrono::DateTime::from_timestamp(1_704_067_260, 0).unwrap();
/// let mut writer = DatasetWriter::new(dir.path());
/// let files = writer.write_checkpoint(&buf, now).unwrap();
/// assert!(files[0].ends_with("date=2024-01-01/miniticker_20240101_000100_000000.parquet"));
/// let batches = read_dataset(dir.path()).unwrap();
/// assert_eq!(rows(&batches[0]).unwrap()[0].close, 42_000.5);
/// ```
///
/// # A failed checkpoint
///
/// On error nothing stays published and the caller keeps the rows to retry them. Files
/// already published by the failed call are withdrawn (removed) again. An upload whose
/// answer was lost (a timeout, a connection reset, a 5xx after the store had stored it) may
/// have succeeded unseen: such a name is kept as *suspect*, with its staged bytes, and the
/// next call first withdraws it if (and only if) the store holds exactly those bytes, and
/// fails again while it cannot tell. So a retry never leaves a row twice in the dataset,
/// and a withdrawal never removes a file that is not this writer's.
#[derive(Debug)]
pub struct DatasetWriter {
    dataset: Dataset,
    seq: u64,
    props: WriterProperties,
    /// Published files of failed calls not yet withdrawn, or uploads that may have
    /// succeeded unseen: (staged bytes, name).
    suspects: Vec<(StagedFile, String)>,
}

impl DatasetWriter {
    /// A writer for the dataset in the local directory `root` (created on the first
    /// checkpoint).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self::for_dataset(Dataset::local(root))
    }

    /// A writer for `dataset` (a local directory or an object store).
    pub fn for_dataset(dataset: Dataset) -> Self {
        DatasetWriter {
            dataset,
            seq: 0,
            props: writer_properties(),
            suspects: Vec::new(),
        }
    }

    /// Cuts row groups of at most `rows` rows instead of [`ROW_GROUP_ROWS`] (tests of the
    /// readers' pruning use small ones).
    pub fn with_row_group_rows(mut self, rows: usize) -> Self {
        self.props = writer_properties_with(rows);
        self
    }

    /// The dataset directory (an object-store dataset has none: an empty path).
    pub fn root(&self) -> &Path {
        self.dataset.local_root().unwrap_or(Path::new(""))
    }

    /// The dataset written to.
    pub fn dataset(&self) -> &Dataset {
        &self.dataset
    }

    /// Writes every row of `buf`, one file per UTC date of the rows, named after `now` and a
    /// per-writer sequence number, and returns the published locations (none if `buf` is
    /// empty).
    ///
    /// All files are written and fsynced before any is published. On error nothing is
    /// published (see [A failed checkpoint](Self#a-failed-checkpoint)) and `buf` is
    /// untouched, so the caller can simply retry later. Once every file is published,
    /// failures to tidy up (remove a temporary name, fsync a directory) are only logged:
    /// the data is in place and a retry would duplicate it.
    ///
    /// # Errors
    ///
    /// [`TickError::Io`] / [`TickError::Object`] when staging, syncing or publishing fails
    /// (nothing half-written is left visible); [`TickError::Parquet`] /
    /// [`TickError::Arrow`] when encoding fails. [`TickError::EventTime`] for an event time
    /// without a calendar date; [`TickError::NameExhausted`] when no free file name is
    /// left.
    pub fn write_checkpoint(
        &mut self,
        buf: &TickBuffer,
        now: DateTime<Utc>,
    ) -> Result<Vec<PathBuf>, TickError> {
        self.write_checkpoint_with(buf, now, &[])
    }

    /// [`write_checkpoint`](Self::write_checkpoint) with `metadata` added to the key-value
    /// metadata of every file's footer (e.g. the recorder's journal segment tags).
    ///
    /// # Errors
    ///
    /// As [`write_checkpoint`](Self::write_checkpoint).
    pub fn write_checkpoint_with(
        &mut self,
        buf: &TickBuffer,
        now: DateTime<Utc>,
        metadata: &[FooterTag],
    ) -> Result<Vec<PathBuf>, TickError> {
        self.withdraw_suspects()?;
        let stamp = layout::stamp(now);
        let batches = buf.to_batches()?;
        let mut staged = Vec::with_capacity(batches.len());
        for (date, batch) in &batches {
            match self.stage(*date, batch, &stamp, metadata) {
                Ok(s) => staged.push(s),
                Err(e) => {
                    staged.iter().for_each(|(s, _)| s.discard());
                    return Err(e);
                }
            }
        }
        let mut published = Vec::with_capacity(staged.len());
        let mut staged = staged.into_iter();
        for (s, seq) in staged.by_ref() {
            match self.publish(&s, seq, &stamp) {
                Ok((path, name)) => published.push((s, name, path)),
                Err((e, name)) => {
                    // An upload that failed may still have succeeded unseen.
                    if self.dataset.local_root().is_none() {
                        self.suspects.push((s, name));
                    } else {
                        s.discard();
                    }
                    self.suspects
                        .extend(published.into_iter().map(|(s, name, _)| (s, name)));
                    staged.for_each(|(s, _)| s.discard());
                    if let Err(again) = self.withdraw_suspects() {
                        log::warn!("withdrawal postponed to the next checkpoint: {again}");
                    }
                    return Err(e);
                }
            }
        }
        Ok(published
            .into_iter()
            .map(|(s, _, path)| {
                s.discard();
                s.sync_dirs();
                path
            })
            .collect())
    }

    /// Removes the suspect files that are this writer's (see
    /// [A failed checkpoint](Self#a-failed-checkpoint)); fails while one cannot be settled.
    fn withdraw_suspects(&mut self) -> Result<(), TickError> {
        while let Some((s, name)) = self.suspects.last() {
            let key = layout::join(&s.dir, name);
            let ours = self.dataset.local_root().is_some() || s.is_published_as(name)?;
            if ours {
                self.dataset.delete(&key)?;
                self.dataset.sync_dir(&s.dir);
                log::warn!(
                    "withdrew {} (its rows are retried)",
                    self.dataset.location(&key).display()
                );
            }
            s.discard();
            self.suspects.pop();
        }
        Ok(())
    }

    /// Writes `batch` to a fresh staged file of its partition; returns it with the sequence
    /// number it was named after.
    fn stage(
        &mut self,
        date: NaiveDate,
        batch: &RecordBatch,
        stamp: &str,
        metadata: &[FooterTag],
    ) -> Result<(StagedFile, u64), TickError> {
        let dir = layout::partition(date);
        for _ in 0..MAX_ATTEMPTS {
            let seq = self.next_seq();
            let name = layout::checkpoint_name(stamp, seq);
            match StagedFile::write(&self.dataset, &dir, &name, batch, &self.props, metadata) {
                Err(e) if e.already_exists() => continue,
                staged => return staged.map(|s| (s, seq)),
            }
        }
        Err(TickError::NameExhausted {
            dir: self.dataset.location(&dir),
            attempts: MAX_ATTEMPTS,
        })
    }

    /// Publishes the staged file under its name or the next free one; returns where and
    /// the name (on error: the name last tried).
    #[allow(clippy::result_large_err)]
    fn publish(
        &mut self,
        s: &StagedFile,
        seq: u64,
        stamp: &str,
    ) -> Result<(PathBuf, String), (TickError, String)> {
        let mut name = layout::checkpoint_name(stamp, seq);
        for _ in 0..MAX_ATTEMPTS {
            match s.publish(&name) {
                Err(e) if e.already_exists() => {
                    name = layout::checkpoint_name(stamp, self.next_seq());
                }
                Ok(path) => return Ok((path, name)),
                Err(e) => return Err((e, name)),
            }
        }
        let dir = self.dataset.location(&s.dir);
        let attempts = MAX_ATTEMPTS;
        Err((TickError::NameExhausted { dir, attempts }, name))
    }

    fn next_seq(&mut self) -> u64 {
        let seq = self.seq;
        self.seq += 1;
        seq
    }
}

/// synthetic data of `benches/common/synth.rs` (45k-event files, ZSTD level 3):
///
/// * `symbol`: dictionary (RLE runs, as rows are sorted by it): 0.1 B/event;
/// * `event_time`: DELTA_BINARY_PACKED, 2.0 B (PLAIN 2.4);
/// * `close`, `open`, `high`, `low`, `base_volume`: PLAIN, 2.5 / 0.6 / 0.6 / 0.6 / 4.3 B
///   (BYTE_STREAM_SPLIT 4.6 / 1.2 / 1.2 / 1.2 / 5.2, dictionary 3.5 / 0.8 / 0.9 / 0.9 / 6.1):
///   zstd finds the repeats of unchanged values in the whole 8-byte words;
/// * `quote_volume`: BYTE_STREAM_SPLIT, 6.3 B (PLAIN 7.4, dictionary 9.5): its many
///   significant digits leave only the sign/exponent bytes compressible.
///
/// Total about 17 B/event (ZSTD level 9 would save only 0.4 B). Statistics are written per
/// row group and per page (column index), and the (symbol, event_time) order is declared
/// as `sorting_columns`.
pub fn writer_properties() -> WriterProperties {
    writer_properties_with(ROW_GROUP_ROWS)
}

fn writer_properties_with(row_group_rows: usize) -> WriterProperties {
    let col = |name: &str| ColumnPath::from(name);
    let sorting = [0, 1].map(|column_idx| SortingColumn {
        column_idx,
        descending: false,
        nulls_first: false,
    });
    // 3 lies in zstd's 1..=22 range, so this cannot fail (parquet's default level is 1).
    let level = ZstdLevel::try_new(3).expect("valid zstd level");
    let mut b = WriterProperties::builder()
        .set_compression(Compression::ZSTD(level))
        .set_statistics_enabled(EnabledStatistics::Page)
        .set_sorting_columns(Some(sorting.to_vec()))
        .set_max_row_group_row_count(Some(row_group_rows.max(1)))
        .set_dictionary_enabled(false)
        .set_column_dictionary_enabled(col(COLUMNS[0]), true)
        .set_column_encoding(col(COLUMNS[1]), Encoding::DELTA_BINARY_PACKED);
    for name in &COLUMNS[2..] {
        let encoding = if *name == "quote_volume" {
            Encoding::BYTE_STREAM_SPLIT
        } else {
            Encoding::PLAIN
        };
        b = b.set_column_encoding(col(name), encoding);
    }
    b.build()
}
