//! Reading a tick dataset back: whole, filtered by symbols and time ([`Query`]), or as one
//! frame per symbol; from a local directory or an object store ([`Dataset`]).

use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::path::{Path, PathBuf};

use arrow_array::RecordBatch;
use parquet::arrow::arrow_reader::{
    ArrowPredicateFn, ArrowReaderMetadata, ArrowReaderOptions, ParquetRecordBatchReader,
    ParquetRecordBatchReaderBuilder, RowFilter,
};
use parquet::arrow::ProjectionMask;
use parquet::file::reader::ChunkReader;

use super::schema::{Columns, TickView};
use super::{layout, schema, Dataset, Query, ReadStats, TickError};
use crate::handle::{FileEntry, Source};

/// The Parquet files of the dataset in the directory `root`, in path order (so by date,
/// then by name).
///
/// Directories are walked recursively; names starting with `.` or `_` are skipped, as Hive,
/// Spark and DuckDB do, which hides the writer's temporary files (`.<name>.tmp`).
///
/// # Errors
///
/// [`TickError::Io`] (local directory) or [`TickError::Object`] (object store) when listing fails.
pub fn list_files(root: &Path) -> Result<Vec<PathBuf>, TickError> {
    let files = Dataset::local(root).files("")?;
    Ok(files.iter().map(|f| root.join(&f.key)).collect())
}

/// Every row of one local Parquet file, as batches with the tick [`schema`](super::schema).
///
/// Files written by other tools are accepted when their columns convert to the schema (e.g.
/// a plain string `symbol`). A truncated, corrupt or incompatible file is an error naming it.
///
/// # Errors
///
/// [`TickError::Io`] when the file cannot be opened; [`TickError::Parquet`],
/// [`TickError::Decode`] or [`TickError::Schema`] for a truncated, corrupt or incompatible
/// file.
pub fn read_file(path: &Path) -> Result<Vec<RecordBatch>, TickError> {
    let file = File::open(path).map_err(TickError::io(path))?;
    collect(path, builder(path, file)?)
}

/// The rows of one local Parquet file, as [`read_file`] gives them, in batches of at most
/// `batch_rows` rows decoded one at a time as the iterator is pulled: memory stays at one
/// batch plus the pages it is decoded from, whatever the file's size.
///
/// # Errors
///
/// As [`read_file`]; a batch pulled later can fail the same way.
///
/// ```
/// # use dataset::{DatasetWriter, Tick, TickBuffer};
/// # let dir = tempfile::tempdir().unwrap();
/// # let mut buf = TickBuffer::new();
/// # for t in 0..10 { buf.push(&Tick { symbol: "A", event_time: t, close: 1.0, open: 1.0,
/// #     high: 1.0, low: 1.0, base_volume: 1.0, quote_volume: 1.0 }); }
/// # let path = &DatasetWriter::new(dir.path()).write_checkpoint(&buf, chrono::Utc::now()).unwrap()[0];
/// let sizes: Vec<usize> = dataset::stream_file(path, 4)
///     .unwrap()
///     .map(|b| b.unwrap().num_rows())
///     .collect();
/// assert_eq!(sizes, [4, 4, 2]);
/// ```
pub fn stream_file(path: &Path, batch_rows: usize) -> Result<FileBatches, TickError> {
    let file = File::open(path).map_err(TickError::io(path))?;
    let b = builder(path, file)?.with_batch_size(batch_rows.max(1));
    let reader = b.build().map_err(TickError::parquet(path))?;
    Ok(FileBatches {
        path: path.into(),
        reader,
    })
}

/// Every row of the dataset in the directory `root`: the batches of each file of
/// [`list_files`], in path order.
///
/// # Errors
///
/// [`TickError::Io`] / [`TickError::Object`] when a file cannot be listed or read;
/// [`TickError::Parquet`], [`TickError::Decode`] or [`TickError::Schema`] for a truncated,
/// corrupt or incompatible file, naming it.
///
/// ```
/// use dataset::{read_dataset, DatasetWriter, Tick, TickBuffer};
/// let dir = tempfile::tempdir().unwrap();
/// let mut buf = TickBuffer::new();
/// let t = Tick { symbol: "BNBBTC", event_time: 0, close: 0.01, open: 0.01, high: 0.01,
///                low: 0.01, base_volume: 5.0, quote_volume: 0.05 };
/// buf.push(&t);
/// DatasetWriter::new(dir.path()).write_checkpoint(&buf, chrono::Utc::now()).unwrap();
/// let batches = read_dataset(dir.path()).unwrap();
/// assert_eq!(batches.iter().map(|b| b.num_rows()).sum::<usize>(), 1);
/// ```
pub fn read_dataset(root: &Path) -> Result<Vec<RecordBatch>, TickError> {
    Dataset::local(root).read_all()
}

/// The rows of `symbol` in the dataset in the directory `root`, file by file in path
/// order ([`Dataset::read`] with [`Query::symbol`]).
///
/// # Errors
///
/// [`TickError::Io`] / [`TickError::Object`] when a file cannot be listed or read;
/// [`TickError::Parquet`], [`TickError::Decode`] or [`TickError::Schema`] for a truncated,
/// corrupt or incompatible file, naming it.
pub fn read_symbol(root: &Path, symbol: &str) -> Result<Vec<RecordBatch>, TickError> {
    Ok(Dataset::local(root).read(&Query::all().symbol(symbol))?.0)
}

/// The whole dataset in the directory `root` as one batch per symbol, sorted by
/// `event_time` (stable across files): the shape of the original recorder's pickled dict
/// of data frames.
///
/// # Errors
///
/// [`TickError::Io`] / [`TickError::Object`] when a file cannot be listed or read;
/// [`TickError::Parquet`], [`TickError::Decode`] or [`TickError::Schema`] for a truncated,
/// corrupt or incompatible file, naming it.
pub fn read_by_symbol(root: &Path) -> Result<BTreeMap<String, RecordBatch>, TickError> {
    Dataset::local(root).read_by_symbol(&Query::all())
}

impl Dataset {
    /// Every row of the dataset, file by file in key order.
    ///
    /// # Errors
    ///
    /// [`TickError::Io`] / [`TickError::Object`] when a file cannot be listed or read;
    /// [`TickError::Parquet`], [`TickError::Decode`] or [`TickError::Schema`] for a
    /// truncated, corrupt or incompatible file, naming it.
    pub fn read_all(&self) -> Result<Vec<RecordBatch>, TickError> {
        let mut out = Vec::new();
        for file in self.files("")? {
            out.extend(self.read_key(&file)?);
        }
        Ok(out)
    }

    /// Every row of one file.
    ///
    /// # Errors
    ///
    /// [`TickError::Io`] / [`TickError::Object`] when a file cannot be listed or read;
    /// [`TickError::Parquet`], [`TickError::Decode`] or [`TickError::Schema`] for a
    /// truncated, corrupt or incompatible file, naming it.
    pub fn read_key(&self, file: &FileEntry) -> Result<Vec<RecordBatch>, TickError> {
        let path = self.location(&file.key);
        collect(&path, self.builder(file)?)
    }

    /// The rows of one file in batches of at most `batch_rows`, decoded as pulled (see
    /// [`stream_file`]).
    ///
    /// # Errors
    ///
    /// As [`stream_file`].
    pub fn stream(&self, file: &FileEntry, batch_rows: usize) -> Result<FileBatches, TickError> {
        let path = self.location(&file.key);
        let b = self.builder(file)?.with_batch_size(batch_rows.max(1));
        let reader = b.build().map_err(TickError::parquet(&path))?;
        Ok(FileBatches { path, reader })
    }

    /// The rows `query` wants, file by file in key order, and what the read touched
    /// (pruning by partition, row-group statistics and a row filter: see [`Query`]).
    ///
    /// # Errors
    ///
    /// [`TickError::Io`] / [`TickError::Object`] when a file cannot be listed or read;
    /// [`TickError::Parquet`], [`TickError::Decode`] or [`TickError::Schema`] for a
    /// truncated, corrupt or incompatible file, naming it.
    ///
    /// ```
    /// use dataset::{Dataset, DatasetWriter, Query, Tick, TickBuffer};
    /// let dir = tempfile::tempdir().unwrap();
    /// let mut buf = TickBuffer::new();
    /// for (symbol, event_time) in [("A", 0), ("B", 0), ("B", 86_400_000)] {
    ///     buf.push(&Tick { symbol, event_time, close: 1.0, open: 1.0, high: 1.0, low: 1.0,
    ///                      base_volume: 1.0, quote_volume: 1.0 });
    /// }
    /// DatasetWriter::new(dir.path()).write_checkpoint(&buf, chrono::Utc::now()).unwrap();
    /// let (batches, stats) = Dataset::local(dir.path())
    ///     .read(&Query::all().symbol("B").between(0, 3_600_000)).unwrap();
    /// assert_eq!((stats.rows, stats.files_listed), (1, 1)); // the second day is not listed
    /// assert_eq!(batches.iter().map(|b| b.num_rows()).sum::<usize>(), 1);
    /// ```
    pub fn read(&self, query: &Query) -> Result<(Vec<RecordBatch>, ReadStats), TickError> {
        let mut stats = ReadStats::default();
        let mut out = Vec::new();
        for file in self.files_for(query)? {
            stats.files_listed += 1;
            let builder = self.builder(&file)?;
            stats.files_opened += 1;
            let groups: Vec<usize> = (builder.metadata().row_groups().iter())
                .enumerate()
                .filter(|(_, rg)| query.may_match(rg))
                .map(|(i, _)| i)
                .collect();
            let total = builder.metadata().num_row_groups();
            stats.row_groups_skipped += total - groups.len();
            if groups.is_empty() {
                continue;
            }
            stats.files_read += 1;
            stats.row_groups_read += groups.len();
            let mut builder = builder.with_row_groups(groups);
            if query.filters() {
                let q = query.clone();
                let mask = ProjectionMask::leaves(builder.parquet_schema(), [0, 1]);
                let predicate = ArrowPredicateFn::new(mask, move |b: RecordBatch| q.matches(&b));
                builder = builder.with_row_filter(RowFilter::new(vec![Box::new(predicate)]));
            }
            let batches = collect(&self.location(&file.key), builder)?;
            stats.rows += batches.iter().map(|b| b.num_rows()).sum::<usize>();
            out.extend(batches.into_iter().filter(|b| b.num_rows() > 0));
        }
        Ok((out, stats))
    }

    /// The rows `query` wants as one batch per symbol, sorted by `event_time` (stable
    /// across files).
    ///
    /// # Errors
    ///
    /// [`TickError::Io`] / [`TickError::Object`] when a file cannot be listed or read;
    /// [`TickError::Parquet`], [`TickError::Decode`] or [`TickError::Schema`] for a
    /// truncated, corrupt or incompatible file, naming it.
    pub fn read_by_symbol(
        &self,
        query: &Query,
    ) -> Result<BTreeMap<String, RecordBatch>, TickError> {
        let batches = if query.filters() {
            self.read(query)?.0
        } else {
            self.read_all()?
        };
        by_symbol(batches)
    }

    /// The files a query has to look at: those of the partitions its time range overlaps.
    fn files_for(&self, query: &Query) -> Result<Vec<FileEntry>, TickError> {
        if query.start_ms.is_none() && query.end_ms.is_none() {
            return self.files("");
        }
        let mut files = Vec::new();
        for partition in self.partitions()? {
            if layout::parse_partition(&partition).is_some_and(|d| query.wants_date(d)) {
                files.extend(self.files(&partition)?);
            }
        }
        Ok(files)
    }

    /// A reader of one file with the tick schema.
    pub(crate) fn builder(
        &self,
        file: &FileEntry,
    ) -> Result<ParquetRecordBatchReaderBuilder<Source>, TickError> {
        let path = self.location(&file.key);
        let mut source = self.open(&file.key, Some(file.size))?;
        let options = ArrowReaderOptions::new().with_schema(schema());
        let metadata =
            ArrowReaderMetadata::load(&source, options).map_err(TickError::parquet(&path))?;
        if let Source::Object(o) = &mut source {
            o.set_layout(metadata.metadata());
        }
        Ok(ParquetRecordBatchReaderBuilder::new_with_metadata(
            source, metadata,
        ))
    }
}

fn builder<T: ChunkReader + 'static>(
    path: &Path,
    input: T,
) -> Result<ParquetRecordBatchReaderBuilder<T>, TickError> {
    let options = ArrowReaderOptions::new().with_schema(schema());
    ParquetRecordBatchReaderBuilder::try_new_with_options(input, options)
        .map_err(TickError::parquet(path))
}

fn collect<T: ChunkReader + 'static>(
    path: &Path,
    builder: ParquetRecordBatchReaderBuilder<T>,
) -> Result<Vec<RecordBatch>, TickError> {
    let reader = builder.build().map_err(TickError::parquet(path))?;
    FileBatches {
        path: path.into(),
        reader,
    }
    .collect()
}

/// The batches of one file, decoded as they are pulled: see [`stream_file`].
pub struct FileBatches {
    path: PathBuf,
    reader: ParquetRecordBatchReader,
}

impl Iterator for FileBatches {
    type Item = Result<RecordBatch, TickError>;

    fn next(&mut self) -> Option<Self::Item> {
        let batch = self.reader.next()?;
        Some(batch.map_err(|source| TickError::Decode {
            path: self.path.clone(),
            cause: source,
        }))
    }
}

/// One batch per symbol, sorted by event time.
fn by_symbol(batches: Vec<RecordBatch>) -> Result<BTreeMap<String, RecordBatch>, TickError> {
    let mut slots: HashMap<String, usize> = HashMap::new();
    let mut frames: Vec<Columns> = Vec::new();
    for batch in batches {
        let view = TickView::try_new(&batch)?;
        // Slots are made for the symbols rows use (a filtered batch keeps its whole
        // dictionary).
        let mut slot_of_key: Vec<Option<usize>> =
            vec![None; arrow_array::Array::len(view.dictionary)];
        for i in 0..view.len() {
            let key = view.key(i);
            let slot = *slot_of_key[key].get_or_insert_with(|| {
                let next = slots.len();
                let slot = *slots.entry(view.symbol(i).to_owned()).or_insert(next);
                if slot == frames.len() {
                    frames.push(Columns::default());
                }
                slot
            });
            frames[slot].push_from(&view, i, 0);
        }
    }
    let mut out = BTreeMap::new();
    for (symbol, slot) in slots {
        let cols = sort_by_time(std::mem::take(&mut frames[slot]));
        out.insert(symbol.clone(), cols.into_batch([symbol.as_str()])?);
    }
    Ok(out)
}

/// Stable sort of a frame by event time (a no-op when already sorted, the usual case).
fn sort_by_time(cols: Columns) -> Columns {
    if cols.times.is_sorted() {
        return cols;
    }
    let mut order: Vec<usize> = (0..cols.times.len()).collect();
    order.sort_by_key(|&i| cols.times[i]);
    Columns {
        keys: cols.keys,
        times: order.iter().map(|&i| cols.times[i]).collect(),
        values: cols.values.map(|v| order.iter().map(|&i| v[i]).collect()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{rows, DatasetWriter, Tick, TickBuffer};

    #[test]
    fn row_groups_are_pruned_by_symbol_statistics() {
        let dir = tempfile::tempdir().unwrap();
        let mut buf = TickBuffer::new();
        for symbol in ["A", "B", "C"] {
            for i in 0..100_000 {
                let v = i as f64;
                buf.push(&Tick {
                    symbol,
                    event_time: i,
                    close: v,
                    open: v,
                    high: v,
                    low: v,
                    base_volume: v,
                    quote_volume: v,
                });
            }
        }
        let now = chrono::DateTime::from_timestamp(0, 0).unwrap();
        let files = DatasetWriter::new(dir.path())
            .write_checkpoint(&buf, now)
            .unwrap();
        let file = File::open(&files[0]).unwrap();
        let builder = builder(&files[0], file).unwrap();
        let groups = builder.metadata().row_groups();
        assert!(groups.len() >= 3, "{} row groups", groups.len());
        let kept = |s: &str| -> Vec<bool> {
            let q = Query::all().symbol(s);
            groups.iter().map(|rg| q.may_match(rg)).collect()
        };
        assert_eq!(kept("A"), [true, false, false]);
        assert_eq!(kept("C"), [false, true, true]);
        assert_eq!(kept("0"), [false, false, false]);
        assert_eq!(kept("D"), [false, false, false]);
        let got: Vec<i64> = read_symbol(dir.path(), "B")
            .unwrap()
            .iter()
            .flat_map(|b| rows(b).unwrap())
            .inspect(|t| assert_eq!(t.symbol, "B"))
            .map(|t| t.event_time)
            .collect();
        assert_eq!(got, (0..100_000).collect::<Vec<_>>());
    }
}
