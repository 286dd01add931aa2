//! [`DatasetWriter`]: atomic, no-clobber checkpoint files in a Hive-partitioned directory.

use std::fs;
use std::path::{Path, PathBuf};

use arrow_array::RecordBatch;
use chrono::{DateTime, NaiveDate, Utc};
use parquet::basic::{Compression, Encoding, ZstdLevel};
use parquet::file::metadata::{KeyValue, SortingColumn};
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use parquet::schema::types::ColumnPath;

use super::staged::{already_exists, StagedFile, MAX_ATTEMPTS};
use super::{TickBuffer, TickError, COLUMNS};

/// Rows per Parquet row group: small enough for [`read_symbol`](super::read_symbol) to skip
/// row groups by their symbol min/max, large enough to cost next to nothing on disk.
const ROW_GROUP_ROWS: usize = 128 * 1024;

/// Writes checkpoint files into a Hive-partitioned dataset directory:
/// `ROOT/date=YYYY-MM-DD/miniticker_YYYYMMDD_HHMMSS_<seq>.parquet`.
///
/// Each file is written under a hidden temporary name (`.<name>.tmp`, which readers skip),
/// fsynced, then published with [`std::fs::hard_link`], which fails instead of replacing an
/// existing file (the sequence number is bumped and the link retried); the temporary name is
/// then removed and the directory fsynced. A reader never sees a half-written file and no
/// file is ever overwritten.
///
/// ```
/// use store::ticks::{read_dataset, rows, DatasetWriter, Tick, TickBuffer};
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
#[derive(Debug)]
pub struct DatasetWriter {
    root: PathBuf,
    seq: u64,
    props: WriterProperties,
}

impl DatasetWriter {
    /// A writer for the dataset under `root` (created on the first checkpoint).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        DatasetWriter {
            root: root.into(),
            seq: 0,
            props: writer_properties(),
        }
    }

    /// The dataset directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Writes every row of `buf`, one file per UTC date of the rows, named after `now` and a
    /// per-writer sequence number, and returns the published paths (none if `buf` is empty).
    ///
    /// All files are written and fsynced before any is published. On error nothing is
    /// published (files already linked in this call are removed again), temporary files are
    /// cleaned up and `buf` is untouched, so the caller can simply retry later. Once every
    /// file is published, failures to tidy up (remove a temporary name, fsync a directory)
    /// are only logged: the data is in place and a retry would duplicate it.
    pub fn write_checkpoint(
        &mut self,
        buf: &TickBuffer,
        now: DateTime<Utc>,
    ) -> Result<Vec<PathBuf>, TickError> {
        self.write_checkpoint_with(buf, now, &[])
    }

    /// [`write_checkpoint`](Self::write_checkpoint) with `metadata` added to the key-value
    /// metadata of every file's footer (e.g. the recorder's journal segment tags).
    pub fn write_checkpoint_with(
        &mut self,
        buf: &TickBuffer,
        now: DateTime<Utc>,
        metadata: &[KeyValue],
    ) -> Result<Vec<PathBuf>, TickError> {
        let stamp = now.format("%Y%m%d_%H%M%S").to_string();
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
        for (s, seq) in &staged {
            match self.publish(s, *seq, &stamp) {
                Ok(path) => published.push(path),
                Err(e) => {
                    for path in &published {
                        if let Err(err) = fs::remove_file(path) {
                            log::error!("cannot withdraw {}: {err}", path.display());
                        }
                    }
                    staged.iter().for_each(|(s, _)| s.discard());
                    return Err(e);
                }
            }
        }
        for (s, _) in &staged {
            s.discard();
            s.sync_dirs(&self.root);
        }
        Ok(published)
    }

    /// Writes `batch` to a fresh temporary file in its partition directory and fsyncs it;
    /// returns it with the sequence number it was named after.
    fn stage(
        &mut self,
        date: NaiveDate,
        batch: &RecordBatch,
        stamp: &str,
        metadata: &[KeyValue],
    ) -> Result<(StagedFile, u64), TickError> {
        let dir = self.root.join(format!("date={}", date.format("%Y-%m-%d")));
        for _ in 0..MAX_ATTEMPTS {
            let seq = self.next_seq();
            let name = file_name(stamp, seq);
            match StagedFile::write(&dir, &name, batch, &self.props, metadata) {
                Err(e) if already_exists(&e) => continue,
                staged => return staged.map(|s| (s, seq)),
            }
        }
        Err(TickError::NameExhausted {
            dir,
            attempts: MAX_ATTEMPTS,
        })
    }

    /// Links the staged file to its final name without replacing anything; returns that name.
    fn publish(&mut self, s: &StagedFile, seq: u64, stamp: &str) -> Result<PathBuf, TickError> {
        let mut seq = seq;
        for _ in 0..MAX_ATTEMPTS {
            match s.publish(&file_name(stamp, seq)) {
                Err(e) if already_exists(&e) => seq = self.next_seq(),
                published => return published,
            }
        }
        Err(TickError::NameExhausted {
            dir: s.dir.clone(),
            attempts: MAX_ATTEMPTS,
        })
    }

    fn next_seq(&mut self) -> u64 {
        let seq = self.seq;
        self.seq += 1;
        seq
    }
}

fn file_name(stamp: &str, seq: u64) -> String {
    format!("miniticker_{stamp}_{seq:06}.parquet")
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
        .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
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
