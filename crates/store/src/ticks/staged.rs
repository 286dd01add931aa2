//! [`StagedFile`], [`StagedWriter`] and [`write_new_file`]: a Parquet file written and
//! fsynced under a hidden temporary name, then published under its final name without ever
//! replacing an existing file. Checkpoints, compaction and the gaps dataset all publish
//! through these.

use std::fs::{self, File, OpenOptions};
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use parquet::arrow::ArrowWriter;
use parquet::file::metadata::KeyValue;
use parquet::file::properties::WriterProperties;

use super::TickError;

/// Names tried per file before giving up (each collision bumps the sequence number).
pub(super) const MAX_ATTEMPTS: u32 = 10_000;

/// True for the error of a name that is already taken.
pub(super) fn already_exists(e: &TickError) -> bool {
    matches!(e, TickError::Io { cause: source, .. } if source.kind() == ErrorKind::AlreadyExists)
}

/// A Parquet file written and fsynced under the hidden temporary name `.<name>.tmp` (which
/// dataset readers skip), not yet published: the building block of atomic, no-clobber
/// files, shared by checkpoints and by other datasets and tools (compaction, gaps).
///
/// Dropping it leaves the temporary file in place (a crash would too); call
/// [`discard`](Self::discard) once it is published or abandoned.
#[derive(Debug)]
pub struct StagedFile {
    pub(super) dir: PathBuf,
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
/// 128 Ki rows with [`writer_properties`](super::writer_properties), compressed).
/// [`finish`](Self::finish) fsyncs it into a [`StagedFile`]; dropped unfinished (e.g. on an
/// error) it removes the temporary file.
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

/// Makes the directory entries of `dir` durable ([`crate::fs::sync_dir`]).
fn sync_dir(dir: &Path) -> Result<(), TickError> {
    crate::fs::sync_dir(dir).map_err(TickError::io(dir))
}
