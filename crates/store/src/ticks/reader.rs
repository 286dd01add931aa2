//! Reading a tick dataset back: whole, one symbol, or as one frame per symbol.

use std::collections::{BTreeMap, HashMap};
use std::fs::{self, File};
use std::path::{Path, PathBuf};

use arrow_array::types::Int32Type;
use arrow_array::{BooleanArray, DictionaryArray, RecordBatch, StringArray};
use arrow_schema::ArrowError;
use parquet::arrow::arrow_reader::{
    ArrowPredicateFn, ArrowReaderOptions, ParquetRecordBatchReader,
    ParquetRecordBatchReaderBuilder, RowFilter,
};
use parquet::arrow::ProjectionMask;
use parquet::file::metadata::RowGroupMetaData;
use parquet::file::statistics::Statistics;

use super::schema::{Columns, TickView};
use super::{schema, TickError};

/// The Parquet files of the dataset under `root`, in path order (so by date, then by name).
///
/// Directories are walked recursively; names starting with `.` or `_` are skipped, as Hive,
/// Spark and DuckDB do, which hides the writer's temporary files (`.<name>.tmp`).
pub fn list_files(root: &Path) -> Result<Vec<PathBuf>, TickError> {
    let mut files = Vec::new();
    walk(root, &mut files)?;
    files.sort();
    Ok(files)
}

fn walk(dir: &Path, files: &mut Vec<PathBuf>) -> Result<(), TickError> {
    for entry in fs::read_dir(dir).map_err(TickError::io(dir))? {
        let entry = entry.map_err(TickError::io(dir))?;
        let path = entry.path();
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with('.') || name.starts_with('_') {
            continue;
        }
        let kind = entry.file_type().map_err(TickError::io(&path))?;
        if kind.is_dir() {
            walk(&path, files)?;
        } else if name.ends_with(".parquet") {
            files.push(path);
        }
    }
    Ok(())
}

/// Every row of one Parquet file, as batches with the tick [`schema`](super::schema).
///
/// Files written by other tools are accepted when their columns convert to the schema (e.g.
/// a plain string `symbol`). A truncated, corrupt or incompatible file is an error naming it.
pub fn read_file(path: &Path) -> Result<Vec<RecordBatch>, TickError> {
    collect(path, open(path)?)
}

/// The rows of one Parquet file, as [`read_file`] gives them, in batches of at most
/// `batch_rows` rows decoded one at a time as the iterator is pulled: memory stays at one
/// batch plus the pages it is decoded from, whatever the file's size.
///
/// ```
/// # use store::ticks::{DatasetWriter, Tick, TickBuffer};
/// # let dir = tempfile::tempdir().unwrap();
/// # let mut buf = TickBuffer::new();
/// # for t in 0..10 { buf.push(&Tick { symbol: "A", event_time: t, close: 1.0, open: 1.0,
/// #     high: 1.0, low: 1.0, base_volume: 1.0, quote_volume: 1.0 }); }
/// # let path = &DatasetWriter::new(dir.path()).write_checkpoint(&buf, chrono::Utc::now()).unwrap()[0];
/// let sizes: Vec<usize> = store::ticks::stream_file(path, 4)
///     .unwrap()
///     .map(|b| b.unwrap().num_rows())
///     .collect();
/// assert_eq!(sizes, [4, 4, 2]);
/// ```
pub fn stream_file(path: &Path, batch_rows: usize) -> Result<FileBatches, TickError> {
    let builder = open(path)?.with_batch_size(batch_rows.max(1));
    let reader = builder.build().map_err(TickError::parquet(path))?;
    Ok(FileBatches {
        path: path.into(),
        reader,
    })
}

/// Every row of the dataset: the batches of each file of [`list_files`], in path order.
///
/// ```
/// use store::ticks::{read_dataset, DatasetWriter, Tick, TickBuffer};
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
    let mut out = Vec::new();
    for path in list_files(root)? {
        out.extend(read_file(&path)?);
    }
    Ok(out)
}

/// The rows of `symbol`, file by file in path order.
///
/// Row groups whose `symbol` statistics (min/max) exclude it are not read at all; within the
/// others, only the `symbol` column is decoded for rows of other symbols.
pub fn read_symbol(root: &Path, symbol: &str) -> Result<Vec<RecordBatch>, TickError> {
    let mut out = Vec::new();
    for path in list_files(root)? {
        let builder = open(&path)?;
        let groups: Vec<usize> = (builder.metadata().row_groups().iter())
            .enumerate()
            .filter(|(_, rg)| may_contain(rg, symbol))
            .map(|(i, _)| i)
            .collect();
        if groups.is_empty() {
            continue;
        }
        let wanted = symbol.to_owned();
        let mask = ProjectionMask::leaves(builder.parquet_schema(), [0]);
        let predicate = ArrowPredicateFn::new(mask, move |b: RecordBatch| matches(&b, &wanted));
        let builder = builder
            .with_row_groups(groups)
            .with_row_filter(RowFilter::new(vec![Box::new(predicate)]));
        out.extend(
            collect(&path, builder)?
                .into_iter()
                .filter(|b| b.num_rows() > 0),
        );
    }
    Ok(out)
}

/// The whole dataset as one batch per symbol, sorted by `event_time` (stable across files):
/// the shape of the original recorder's pickled dict of data frames.
pub fn read_by_symbol(root: &Path) -> Result<BTreeMap<String, RecordBatch>, TickError> {
    let mut slots: HashMap<String, usize> = HashMap::new();
    let mut frames: Vec<Columns> = Vec::new();
    for batch in read_dataset(root)? {
        let view = TickView::try_new(&batch)?;
        let slot_of_key: Vec<usize> = (view.dictionary.iter().flatten())
            .map(|sym| {
                let next = slots.len();
                let slot = *slots.entry(sym.to_owned()).or_insert(next);
                if slot == frames.len() {
                    frames.push(Columns::default());
                }
                slot
            })
            .collect();
        for i in 0..view.len() {
            frames[slot_of_key[view.key(i)]].push_from(&view, i, 0);
        }
    }
    let mut out = BTreeMap::new();
    for (symbol, slot) in slots {
        let cols = sort_by_time(std::mem::take(&mut frames[slot]));
        out.insert(symbol.clone(), cols.into_batch([symbol.as_str()])?);
    }
    Ok(out)
}

fn open(path: &Path) -> Result<ParquetRecordBatchReaderBuilder<File>, TickError> {
    let file = File::open(path).map_err(TickError::io(path))?;
    let options = ArrowReaderOptions::new().with_schema(schema());
    ParquetRecordBatchReaderBuilder::try_new_with_options(file, options)
        .map_err(TickError::parquet(path))
}

fn collect(
    path: &Path,
    builder: ParquetRecordBatchReaderBuilder<File>,
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

/// False only when the row group's `symbol` min/max statistics prove `symbol` absent.
fn may_contain(rg: &RowGroupMetaData, symbol: &str) -> bool {
    let Some(Statistics::ByteArray(stats)) = rg.column(0).statistics() else {
        return true;
    };
    let s = symbol.as_bytes();
    let below = stats.min_opt().is_some_and(|min| s < min.data());
    let above = stats.max_opt().is_some_and(|max| s > max.data());
    !(below || above)
}

/// The row filter of [`read_symbol`]: which rows of the projected `symbol` column match.
fn matches(batch: &RecordBatch, symbol: &str) -> Result<BooleanArray, ArrowError> {
    let column = batch.column(0);
    if let Some(dict) = column.as_any().downcast_ref::<DictionaryArray<Int32Type>>() {
        let values = dict.values().as_any().downcast_ref::<StringArray>();
        let key = values.and_then(|v| v.iter().position(|s| s == Some(symbol)));
        let key = key.and_then(|k| i32::try_from(k).ok());
        return Ok(dict
            .keys()
            .iter()
            .map(|k| Some(k.is_some() && k == key))
            .collect());
    }
    if let Some(strings) = column.as_any().downcast_ref::<StringArray>() {
        return Ok(strings.iter().map(|s| Some(s == Some(symbol))).collect());
    }
    Err(ArrowError::SchemaError(format!(
        "symbol column has type {}",
        column.data_type()
    )))
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
    use crate::ticks::{rows, DatasetWriter, Tick, TickBuffer};

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
        let builder = open(&files[0]).unwrap();
        let groups = builder.metadata().row_groups();
        assert!(groups.len() >= 3, "{} row groups", groups.len());
        let kept = |s: &str| -> Vec<bool> { groups.iter().map(|rg| may_contain(rg, s)).collect() };
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
