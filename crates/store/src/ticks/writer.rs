//! [`DatasetWriter`]: atomic, no-clobber checkpoint files in a Hive-partitioned directory.

use std::fs::{self, File, OpenOptions};
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use chrono::{DateTime, NaiveDate, Utc};
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, Encoding, ZstdLevel};
use parquet::file::metadata::{KeyValue, SortingColumn};
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use parquet::schema::types::ColumnPath;

use super::{TickBuffer, TickError, COLUMNS};

/// Names tried per file before giving up (each collision bumps the sequence number).
const MAX_ATTEMPTS: u32 = 10_000;

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

/// True for the error of a name that is already taken.
fn already_exists(e: &TickError) -> bool {
    matches!(e, TickError::Io { source, .. } if source.kind() == ErrorKind::AlreadyExists)
}

/// A Parquet file written and fsynced under the hidden temporary name `.<name>.tmp` (which
/// dataset readers skip), not yet published: the building block of atomic, no-clobber
/// files, shared by checkpoints and by other datasets and tools (compaction, gaps).
///
/// Dropping it leaves the temporary file in place (a crash would too); call
/// [`discard`](Self::discard) once it is published or abandoned.
#[derive(Debug)]
pub struct StagedFile {
    dir: PathBuf,
    tmp: PathBuf,
    new_dir: bool,
}

impl StagedFile {
    /// Writes `batch` with `props` (plus `metadata` in the footer) to `dir/.<name>.tmp`
    /// (creating `dir`) and fsyncs it. A taken temporary name is a [`TickError::Io`] of kind
    /// `AlreadyExists`; on any error nothing is left behind.
    pub fn write(
        dir: &Path,
        name: &str,
        batch: &RecordBatch,
        props: &WriterProperties,
        metadata: &[KeyValue],
    ) -> Result<Self, TickError> {
        let mut writer = StagedWriter::create(dir, name, batch.schema(), props, metadata)?;
        writer.write(batch)?;
        writer.finish()
    }

    /// The temporary file.
    pub fn tmp_path(&self) -> &Path {
        &self.tmp
    }

    /// Links the file to `dir/name` without replacing anything (a taken name is a
    /// [`TickError::Io`] of kind `AlreadyExists`); returns that path. Readers see the whole
    /// file or nothing.
    pub fn publish(&self, name: &str) -> Result<PathBuf, TickError> {
        let path = self.dir.join(name);
        fs::hard_link(&self.tmp, &path).map_err(TickError::io(&path))?;
        Ok(path)
    }

    /// Removes the temporary name (best effort: a leftover is hidden from readers anyway).
    pub fn discard(&self) {
        if let Err(e) = fs::remove_file(&self.tmp) {
            log::warn!("cannot remove {}: {e}", self.tmp.display());
        }
    }

    /// Makes the published name durable: fsyncs the file's directory, and `parent` too when
    /// the directory was created by [`write`](Self::write). Failures are only logged.
    pub fn sync_dirs(&self, parent: &Path) {
        let dirs = [Some(self.dir.as_path()), self.new_dir.then_some(parent)];
        for dir in dirs.into_iter().flatten() {
            if let Err(e) = sync_dir(dir) {
                log::warn!("{e}");
            }
        }
    }
}

/// Writes `batch` as a new Parquet file in `dir` atomically and without overwriting: names
/// are drawn from `names` until one is free (at most 10,000), the file is staged
/// ([`StagedFile`]), published and its directory fsynced. Returns the published path.
///
/// ```
/// use store::ticks::{write_new_file, writer_properties, DatasetWriter, TickBuffer};
/// # let mut buf = TickBuffer::new();
/// # buf.push(&store::ticks::Tick { symbol: "A", event_time: 0, close: 1.0, open: 1.0,
/// #     high: 1.0, low: 1.0, base_volume: 1.0, quote_volume: 1.0 });
/// let (_, batch) = &buf.to_batches().unwrap()[0];
/// let dir = tempfile::tempdir().unwrap();
/// let mut n = 0;
/// let mut names = || { n += 1; format!("part_{n}.parquet") };
/// let a = write_new_file(dir.path(), &mut names, batch, &writer_properties(), &[]).unwrap();
/// let b = write_new_file(dir.path(), &mut names, batch, &writer_properties(), &[]).unwrap();
/// assert!(a.ends_with("part_1.parquet") && b.ends_with("part_2.parquet"));
/// ```
pub fn write_new_file(
    dir: &Path,
    mut names: impl FnMut() -> String,
    batch: &RecordBatch,
    props: &WriterProperties,
    metadata: &[KeyValue],
) -> Result<PathBuf, TickError> {
    let parent = dir.parent().unwrap_or(dir).to_owned();
    for _ in 0..MAX_ATTEMPTS {
        let name = names();
        let staged = match StagedFile::write(dir, &name, batch, props, metadata) {
            Err(e) if already_exists(&e) => continue,
            staged => staged?,
        };
        let mut published = staged.publish(&name);
        for _ in 0..MAX_ATTEMPTS {
            match published {
                Err(e) if already_exists(&e) => published = staged.publish(&names()),
                _ => break,
            }
        }
        staged.discard();
        let path = published?;
        staged.sync_dirs(&parent);
        return Ok(path);
    }
    Err(TickError::NameExhausted {
        dir: dir.to_owned(),
        attempts: MAX_ATTEMPTS,
    })
}

/// A Parquet file written batch by batch under the hidden temporary name `.<name>.tmp`: the
/// streaming form of [`StagedFile::write`] (which uses it), for files too large to build as
/// one batch, e.g. compaction. Memory is bounded by the row group being encoded (at most
/// 128 Ki rows with [`writer_properties`], compressed). [`finish`](Self::finish) fsyncs it
/// into a [`StagedFile`]; dropped unfinished (e.g. on an error) it removes the temporary file.
///
/// ```
/// use store::ticks::{read_file, schema, writer_properties, StagedWriter, TickBuffer};
/// # let mut buf = TickBuffer::new();
/// # buf.push(&store::ticks::Tick { symbol: "A", event_time: 0, close: 1.0, open: 1.0,
/// #     high: 1.0, low: 1.0, base_volume: 1.0, quote_volume: 1.0 });
/// let (_, batch) = &buf.to_batches().unwrap()[0];
/// let dir = tempfile::tempdir().unwrap();
/// let mut w = StagedWriter::create(dir.path(), "h.parquet", schema(), &writer_properties(), &[])
///     .unwrap();
/// (0..2).for_each(|_| w.write(batch).unwrap());
/// let path = w.finish().unwrap().publish("h.parquet").unwrap();
/// assert_eq!(read_file(&path).unwrap().iter().map(|b| b.num_rows()).sum::<usize>(), 2);
/// ```
#[derive(Debug)]
pub struct StagedWriter {
    staged: StagedFile,
    writer: ArrowWriter<File>,
    finished: bool,
}

impl StagedWriter {
    /// Creates `dir/.<name>.tmp` (and `dir`) for batches of `schema`, with `props` and
    /// `metadata` in the footer. A taken temporary name is a [`TickError::Io`] of kind
    /// `AlreadyExists`; on any error nothing is left behind.
    pub fn create(
        dir: &Path,
        name: &str,
        schema: SchemaRef,
        props: &WriterProperties,
        metadata: &[KeyValue],
    ) -> Result<Self, TickError> {
        let new_dir = !dir.is_dir();
        fs::create_dir_all(dir).map_err(TickError::io(dir))?;
        let tmp = dir.join(format!(".{name}.tmp"));
        let file = (OpenOptions::new().write(true).create_new(true))
            .open(&tmp)
            .map_err(TickError::io(&tmp))?;
        let mut writer = match ArrowWriter::try_new(file, schema, Some(props.clone())) {
            Ok(writer) => writer,
            Err(e) => {
                let _ = fs::remove_file(&tmp);
                return Err(TickError::parquet(tmp)(e));
            }
        };
        metadata
            .iter()
            .for_each(|kv| writer.append_key_value_metadata(kv.clone()));
        let staged = StagedFile {
            dir: dir.to_owned(),
            tmp,
            new_dir,
        };
        Ok(StagedWriter {
            staged,
            writer,
            finished: false,
        })
    }

    /// Appends `batch` (row groups are flushed to the file as they fill up).
    pub fn write(&mut self, batch: &RecordBatch) -> Result<(), TickError> {
        (self.writer.write(batch)).map_err(TickError::parquet(&self.staged.tmp))
    }

    /// Writes the footer and fsyncs the file; it is then ready to publish.
    pub fn finish(mut self) -> Result<StagedFile, TickError> {
        let tmp = &self.staged.tmp;
        self.writer.finish().map_err(TickError::parquet(tmp))?;
        self.writer.inner().sync_all().map_err(TickError::io(tmp))?;
        self.finished = true;
        Ok(StagedFile {
            dir: self.staged.dir.clone(),
            tmp: tmp.clone(),
            new_dir: self.staged.new_dir,
        })
    }
}

impl Drop for StagedWriter {
    fn drop(&mut self) {
        if !self.finished {
            let _ = fs::remove_file(&self.staged.tmp);
        }
    }
}

/// Makes the directory entries of `dir` durable.
fn sync_dir(dir: &Path) -> Result<(), TickError> {
    #[cfg(unix)]
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(TickError::io(dir))?;
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

/// Parquet writer properties of checkpoint files, chosen by measuring bytes/event on the
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
