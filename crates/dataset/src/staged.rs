//! [`StagedFile`], [`StagedWriter`] and [`write_new_file`]: a Parquet file written and
//! fsynced under a hidden temporary name, then published under its final name without ever
//! replacing an existing file. Checkpoints, compaction and the gaps dataset all publish
//! through these.
//!
//! On a local dataset the temporary file sits in its partition directory (`.<name>.tmp`,
//! hidden from readers) and is published with a hard link; on an object store it sits in
//! the dataset's spool directory and is published by a create-only upload
//! ([`Dataset`](super::Dataset)).

use std::fs::{self, File, OpenOptions};
use std::path::{Path, PathBuf};

use crate::FooterTag;
use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use parquet::arrow::ArrowWriter;
use parquet::file::properties::WriterProperties;

use super::{layout, Dataset, TickError};

/// Names tried per file before giving up (each collision bumps the sequence number).
pub(super) const MAX_ATTEMPTS: u32 = 10_000;

/// A Parquet file written and fsynced under a hidden temporary name, not yet published:
/// the building block of atomic, no-clobber files, shared by checkpoints, compaction and
/// the gaps dataset.
///
/// Dropping it leaves the temporary file in place (a crash would too); call
/// [`discard`](Self::discard) once it is published or abandoned.
#[derive(Debug)]
pub struct StagedFile {
    dataset: Dataset,
    /// The partition (directory key) it is published into.
    pub(super) dir: String,
    tmp: PathBuf,
    new_dir: bool,
    rows: usize,
}

impl StagedFile {
    /// Writes `batch` with `props` (plus `metadata` in the footer) as a staged file to be
    /// published as `dir/<name>` of `dataset`, and fsyncs it. A taken temporary name is an
    /// error for which [`TickError::already_exists`] holds; on any error nothing is left.
    ///
    /// # Errors
    ///
    /// [`TickError::Parquet`] / [`TickError::Arrow`] when encoding fails; [`TickError::Io`] /
    /// [`TickError::Object`] when staging or syncing fails (a taken temporary name: see above).
    pub fn write(
        dataset: &Dataset,
        dir: &str,
        name: &str,
        batch: &RecordBatch,
        props: &WriterProperties,
        metadata: &[FooterTag],
    ) -> Result<Self, TickError> {
        let mut writer = StagedWriter::create(dataset, dir, name, batch.schema(), props, metadata)?;
        writer.write(batch)?;
        writer.finish()
    }

    /// The temporary file.
    pub fn tmp_path(&self) -> &Path {
        &self.tmp
    }

    /// Rows written to it.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Publishes the file as `dir/name` without replacing anything (a taken name is an
    /// error for which [`TickError::already_exists`] holds); returns its location.
    /// Readers see the whole file or nothing.
    ///
    /// # Errors
    ///
    /// [`TickError::Io`] / [`TickError::Object`] when publishing fails; a taken name is an
    /// error for which [`TickError::already_exists`] holds.
    pub fn publish(&self, name: &str) -> Result<PathBuf, TickError> {
        self.dataset.publish(&self.tmp, &self.dir, name)
    }

    /// Whether `dir/name` already holds exactly this file: our own upload whose answer was
    /// lost (object stores; always false on a local directory).
    ///
    /// # Errors
    ///
    /// [`TickError::Io`] / [`TickError::Object`] when the published object cannot be compared.
    pub fn is_published_as(&self, name: &str) -> Result<bool, TickError> {
        self.dataset.holds(&self.tmp, &self.dir, name)
    }

    /// Removes the temporary name (best effort: a leftover is hidden from readers anyway).
    pub fn discard(&self) {
        if let Err(e) = fs::remove_file(&self.tmp) {
            log::warn!("cannot remove {}: {e}", self.tmp.display());
        }
    }

    /// Makes the published name durable: fsyncs the file's directory, and its parent too
    /// when the directory was created for it (local datasets; failures are only logged).
    pub fn sync_dirs(&self) {
        self.dataset.sync_dir(&self.dir);
        if self.new_dir {
            self.dataset
                .sync_dir(self.dir.rsplit_once('/').map_or("", |(d, _)| d));
        }
    }
}

/// Writes `batch` as a new Parquet file in the partition `dir` of `dataset` atomically and
/// without overwriting: names are drawn from `names` until one is free (at most 10,000),
/// the file is staged ([`StagedFile`]), published and its directory fsynced. Returns the
/// published location.
///
/// # Errors
///
/// [`TickError::Io`] / [`TickError::Object`] when staging, syncing or publishing fails
/// (nothing half-written is left visible); [`TickError::Parquet`] / [`TickError::Arrow`]
/// when encoding fails. [`TickError::NameExhausted`] when every candidate name is taken.
///
/// ```
/// use dataset::{write_new_file, writer_properties, Dataset, TickBuffer};
/// # let mut buf = TickBuffer::new();
/// # buf.push(&dataset::Tick { symbol: "A", event_time: 0, close: 1.0, open: 1.0,
/// #     high: 1.0, low: 1.0, base_volume: 1.0, quote_volume: 1.0 });
/// let (_, batch) = &buf.to_batches().unwrap()[0];
/// let dir = tempfile::tempdir().unwrap();
/// let dataset = Dataset::local(dir.path());
/// let mut n = 0;
/// let mut names = || { n += 1; format!("part_{n}.parquet") };
/// let props = writer_properties();
/// let a = write_new_file(&dataset, "p", &mut names, batch, &props, &[]).unwrap();
/// let b = write_new_file(&dataset, "p", &mut names, batch, &props, &[]).unwrap();
/// assert!(a.ends_with("p/part_1.parquet") && b.ends_with("p/part_2.parquet"));
/// ```
pub fn write_new_file(
    dataset: &Dataset,
    dir: &str,
    mut names: impl FnMut() -> String,
    batch: &RecordBatch,
    props: &WriterProperties,
    metadata: &[FooterTag],
) -> Result<PathBuf, TickError> {
    for _ in 0..MAX_ATTEMPTS {
        let name = names();
        let staged = match StagedFile::write(dataset, dir, &name, batch, props, metadata) {
            Err(e) if e.already_exists() => continue,
            staged => staged?,
        };
        let published = publish_first_free(&staged, name, &mut names);
        staged.discard();
        let path = published?;
        staged.sync_dirs();
        return Ok(path);
    }
    Err(TickError::NameExhausted {
        dir: dataset.location(dir),
        attempts: MAX_ATTEMPTS,
    })
}

/// Publishes `staged` as `first`, or the next free name of `names`.
pub(super) fn publish_first_free(
    staged: &StagedFile,
    first: String,
    mut names: impl FnMut() -> String,
) -> Result<PathBuf, TickError> {
    let mut name = first;
    for _ in 0..MAX_ATTEMPTS {
        match staged.publish(&name) {
            Err(e) if e.already_exists() => name = names(),
            published => return published,
        }
    }
    Err(TickError::NameExhausted {
        dir: staged.dataset.location(&staged.dir),
        attempts: MAX_ATTEMPTS,
    })
}

/// A Parquet file written batch by batch under a hidden temporary name: the streaming
/// form of [`StagedFile::write`] (which uses it), for files too large to build as one
/// batch, e.g. compaction. Memory is bounded by the row group being encoded (at most
/// 128 Ki rows with [`writer_properties`](super::writer_properties), compressed).
/// [`finish`](Self::finish) fsyncs it into a [`StagedFile`]; dropped unfinished (e.g. on an
/// error) it removes the temporary file.
///
/// ```
/// use dataset::{read_file, schema, writer_properties, Dataset, StagedWriter, TickBuffer};
/// # let mut buf = TickBuffer::new();
/// # buf.push(&dataset::Tick { symbol: "A", event_time: 0, close: 1.0, open: 1.0,
/// #     high: 1.0, low: 1.0, base_volume: 1.0, quote_volume: 1.0 });
/// let (_, batch) = &buf.to_batches().unwrap()[0];
/// let dir = tempfile::tempdir().unwrap();
/// let dataset = Dataset::local(dir.path());
/// let props = writer_properties();
/// let mut w = StagedWriter::create(&dataset, "", "h.parquet", schema(), &props, &[]).unwrap();
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
    /// Creates the temporary file of `dir/<name>` of `dataset` (and its directory) for
    /// batches of `schema`, with `props` and `metadata` in the footer. A taken temporary
    /// name is an error for which [`TickError::already_exists`] holds; on any error nothing
    /// is left behind.
    ///
    /// # Errors
    ///
    /// [`TickError::Io`] when the temporary file cannot be created (a taken name:
    /// [`TickError::already_exists`] holds); [`TickError::Parquet`] when the writer cannot
    /// start.
    pub fn create(
        dataset: &Dataset,
        dir: &str,
        name: &str,
        schema: SchemaRef,
        props: &WriterProperties,
        metadata: &[FooterTag],
    ) -> Result<Self, TickError> {
        let (target, new_dir) = dataset.stage_dir(dir)?;
        let tmp = match dataset.local_root() {
            Some(_) => target.join(layout::tmp_name(name)),
            // One spool directory for every partition: the partition goes into the name.
            None => target.join(layout::tmp_name(&format!(
                "{}__{name}",
                dir.replace('/', "_")
            ))),
        };
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
            .for_each(|kv| writer.append_key_value_metadata(kv.to_parquet()));
        let staged = StagedFile {
            dataset: dataset.clone(),
            dir: dir.to_owned(),
            tmp,
            new_dir,
            rows: 0,
        };
        Ok(StagedWriter {
            staged,
            writer,
            finished: false,
        })
    }

    /// Appends `batch` (row groups are flushed to the file as they fill up).
    ///
    /// # Errors
    ///
    /// [`TickError::Parquet`] (naming the temporary file) when encoding or writing fails.
    pub fn write(&mut self, batch: &RecordBatch) -> Result<(), TickError> {
        (self.writer.write(batch)).map_err(TickError::parquet(&self.staged.tmp))?;
        self.staged.rows += batch.num_rows();
        Ok(())
    }

    /// Writes the footer and fsyncs the file; it is then ready to publish.
    ///
    /// # Errors
    ///
    /// [`TickError::Parquet`] / [`TickError::Io`] when the footer cannot be written or the
    /// file fsynced.
    pub fn finish(mut self) -> Result<StagedFile, TickError> {
        let tmp = &self.staged.tmp;
        self.writer.finish().map_err(TickError::parquet(tmp))?;
        self.writer.inner().sync_all().map_err(TickError::io(tmp))?;
        self.finished = true;
        Ok(StagedFile {
            dataset: self.staged.dataset.clone(),
            dir: self.staged.dir.clone(),
            tmp: tmp.clone(),
            new_dir: self.staged.new_dir,
            rows: self.staged.rows,
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
