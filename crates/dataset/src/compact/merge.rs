//! The streaming k-way merge behind compaction.
//!
//! Every part is sorted by (symbol, event_time). Each part is read with
//! [`stream_file`] one batch of at most `batch_rows` rows at a time; a binary heap holds the
//! head row of every part, keyed by (symbol, event_time, part index), and rows are copied in
//! that order into an output batch that goes to the [`StagedWriter`] whenever it reaches
//! `batch_rows` rows. Rows equal in (symbol, event_time) keep the order of their parts
//! (file names) and, within a part, their file order: exactly the stable sort of the
//! parts' concatenation that an in-memory merge would produce.
//!
//! Rows held at once: one decoded batch per part plus the output batch, so at most
//! `(parts + 1) × batch_rows` (reported as [`CompactReport::peak_buffered_rows`]); the
//! Parquet decoders add the page being decoded per column and part, the encoder its row
//! group in progress (compressed).
//!
//! [`CompactReport::peak_buffered_rows`]: super::CompactReport::peak_buffered_rows

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::mem::take;
use std::path::PathBuf;
use std::rc::Rc;
use std::sync::Arc;

use crate::handle::FileEntry;
use crate::{schema, stream_file, Dataset, FileBatches, StagedFile, StagedWriter, TickError};
use arrow_array::types::Int32Type;
use arrow_array::{
    Array, ArrayRef, DictionaryArray, Float64Array, Int32Array, RecordBatch, StringArray,
    TimestampMillisecondArray,
};

const MS_PER_DAY: i64 = 86_400_000;
/// The float columns, `close` .. `quote_volume`.
const N_VALUES: usize = 6;

/// One input of a merge: a part in the dataset, or an intermediate (staged) local file.
#[derive(Clone)]
pub(crate) enum Input {
    Part(Dataset, FileEntry),
    Local(PathBuf),
}

impl Input {
    fn open(&self, batch_rows: usize) -> Result<FileBatches, TickError> {
        match self {
            Input::Part(dataset, file) => dataset.stream(file, batch_rows),
            Input::Local(path) => stream_file(path, batch_rows),
        }
    }

    fn label(&self) -> PathBuf {
        match self {
            Input::Part(dataset, file) => dataset.location(&file.key),
            Input::Local(path) => path.clone(),
        }
    }
}

/// What [`merge_parts`] did.
pub(super) enum Merged {
    /// Every row is written to the staged file, which is fsynced.
    Staged { staged: StagedFile, rows: usize },
    /// The parts hold no rows; the staged file is removed.
    Empty,
    /// The hour cannot be merged (why); the staged file is removed, the parts are untouched.
    Skipped(String),
}

/// Why the merge stopped early.
enum Stop {
    Skip(String),
    Fail(TickError),
}

impl From<TickError> for Stop {
    fn from(e: TickError) -> Self {
        Stop::Fail(e)
    }
}

/// Merges the rows of `parts` (each sorted by (symbol, event_time)) into `writer`, reading
/// and writing batches of at most `batch_rows` rows; raises `peak` to the most rows held
/// at once. Hours whose rows span several UTC dates, hold no rows, or have a part out of
/// order are [`Merged::Skipped`].
pub(super) fn merge_parts(
    parts: &[Input],
    mut writer: StagedWriter,
    batch_rows: usize,
    peak: &mut usize,
) -> Result<Merged, TickError> {
    // Output dictionary keys are i32 and a batch holds at most `batch_rows` symbols.
    let batch_rows = batch_rows.clamp(1, i32::MAX as usize);
    let mut merge = Merge {
        parts: Vec::with_capacity(parts.len()),
        out: Out::default(),
        batch_rows,
        peak: 0,
        day: None,
        rows: 0,
    };
    for input in parts {
        let batches = input.open(batch_rows)?;
        merge.parts.push(Part::new(input.label(), batches));
    }
    let result = merge.run(&mut writer);
    *peak = (*peak).max(merge.peak);
    let rows = merge.rows;
    drop(merge); // frees the decoders before the footer is written
    match result {
        Ok(()) if rows == 0 => Ok(Merged::Empty),
        Ok(()) => Ok(Merged::Staged {
            staged: writer.finish()?,
            rows,
        }),
        Err(Stop::Skip(why)) => Ok(Merged::Skipped(why)),
        Err(Stop::Fail(e)) => Err(e),
    }
}

/// The merge in progress.
struct Merge {
    parts: Vec<Part>,
    out: Out,
    batch_rows: usize,
    /// Most rows held at once (decoded part batches plus the output batch).
    peak: usize,
    /// The UTC day (days since the epoch) of the first row.
    day: Option<i64>,
    /// Rows merged so far.
    rows: usize,
}

impl Merge {
    fn run(&mut self, writer: &mut StagedWriter) -> Result<(), Stop> {
        let mut heap = BinaryHeap::with_capacity(self.parts.len());
        for idx in 0..self.parts.len() {
            if let Some(head) = self.head(idx)? {
                heap.push(Reverse(head));
            }
        }
        while let Some(Reverse(mut head)) = heap.pop() {
            // Copy rows of this part while they stay below every other part's head.
            let next = loop {
                self.emit(&head, writer)?;
                self.parts[head.part].row += 1;
                let Some(next) = self.head(head.part)? else {
                    break None;
                };
                if next < head {
                    let path = self.parts[head.part].path.display();
                    return Err(Stop::Skip(format!(
                        "holds {path}, not sorted by (symbol, event_time)"
                    )));
                }
                if heap.peek().is_some_and(|Reverse(other)| *other < next) {
                    break Some(next);
                }
                head = next;
            };
            heap.extend(next.map(Reverse));
        }
        if !self.out.times.is_empty() {
            self.flush(writer)?;
        }
        Ok(())
    }

    /// The current row of part `idx` (decoding its next batch if needed), or `None` at its end.
    fn head(&mut self, idx: usize) -> Result<Option<Head>, Stop> {
        let part = &mut self.parts[idx];
        let loaded = part.advance()?;
        let head = part.head(idx);
        if loaded {
            let held: usize = self.parts.iter().map(Part::held).sum();
            self.peak = self.peak.max(held + self.out.times.len());
        }
        Ok(head)
    }

    /// Appends the row `head` points at to the output, and writes the output when full.
    fn emit(&mut self, head: &Head, writer: &mut StagedWriter) -> Result<(), Stop> {
        let Some(batch) = &self.parts[head.part].batch else {
            // A head is only made for a row of a loaded batch; never drop a row silently.
            let why = "merge: head of a part without a batch".into();
            return Err(TickError::Schema(why).into());
        };
        let row = self.parts[head.part].row;
        let day = head.time.div_euclid(MS_PER_DAY);
        match self.day {
            Some(first) if first != day => {
                return Err(Stop::Skip("holds rows of other dates".into()));
            }
            Some(_) => {}
            // As the in-memory merge did: a time without a calendar date is an error.
            None if chrono::DateTime::from_timestamp(day * 86_400, 0).is_none() => {
                return Err(TickError::EventTime(head.time).into());
            }
            None => self.day = Some(day),
        }
        let values = batch.values.each_ref().map(|col| col.values()[row]);
        self.out.push(&head.symbol, head.time, values);
        self.rows += 1;
        if self.out.times.len() >= self.batch_rows {
            self.flush(writer)?;
        }
        Ok(())
    }

    fn flush(&mut self, writer: &mut StagedWriter) -> Result<(), Stop> {
        let held: usize = self.parts.iter().map(Part::held).sum();
        self.peak = self.peak.max(held + self.out.times.len());
        let batch = self.out.take_batch()?;
        Ok(writer.write(&batch)?)
    }
}

/// The next row of a part: ordered by (symbol, event_time), then by part (name order).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Head {
    symbol: Rc<str>,
    time: i64,
    part: usize,
}

/// One part being read.
struct Part {
    path: PathBuf,
    batches: FileBatches,
    batch: Option<Loaded>,
    /// The current row of `batch`.
    row: usize,
    /// The symbol of the last head made from `batch`, by dictionary key (shared, not copied).
    symbol: Option<(i32, Rc<str>)>,
}

impl Part {
    fn new(path: PathBuf, batches: FileBatches) -> Self {
        Part {
            path,
            batches,
            batch: None,
            row: 0,
            symbol: None,
        }
    }

    /// Rows of the decoded batch held.
    fn held(&self) -> usize {
        self.batch.as_ref().map_or(0, |b| b.times.len())
    }

    /// Makes `row` a row of `batch`, decoding the next non-empty batch if needed (true if
    /// it did); at the end of the file `batch` is `None`.
    fn advance(&mut self) -> Result<bool, TickError> {
        if self
            .batch
            .as_ref()
            .is_some_and(|b| self.row < b.times.len())
        {
            return Ok(false);
        }
        self.batch = None; // freed before the next one is decoded
        self.row = 0;
        self.symbol = None;
        for batch in self.batches.by_ref() {
            let batch = Loaded::try_new(&batch?, &self.path)?;
            if !batch.times.is_empty() {
                self.batch = Some(batch);
                break;
            }
        }
        Ok(true)
    }

    /// The head of `row` (after [`advance`](Self::advance)), or `None` at the end.
    fn head(&mut self, idx: usize) -> Option<Head> {
        let batch = self.batch.as_ref()?;
        let key = batch.keys.values()[self.row];
        let symbol = match &self.symbol {
            Some((k, symbol)) if *k == key => symbol.clone(),
            _ => {
                // Keys are checked to be in range of the dictionary by `Loaded::try_new`.
                let symbol: Rc<str> = batch.dictionary.value(key as usize).into();
                self.symbol = Some((key, symbol.clone()));
                symbol
            }
        };
        Some(Head {
            symbol,
            time: batch.times.values()[self.row],
            part: idx,
        })
    }
}

/// The typed columns of a decoded batch.
struct Loaded {
    keys: Int32Array,
    dictionary: StringArray,
    times: TimestampMillisecondArray,
    values: [Float64Array; N_VALUES],
}

impl Loaded {
    /// Checks that `batch` (of the tick schema, as [`stream_file`] returns it) has no nulls
    /// and symbol keys within the dictionary.
    fn try_new(batch: &RecordBatch, path: &std::path::Path) -> Result<Self, TickError> {
        let bad = |why: &str| TickError::Schema(format!("{}: {why}", path.display()));
        if batch.num_columns() != 2 + N_VALUES || batch.columns().iter().any(|c| c.null_count() > 0)
        {
            return Err(bad("not a tick batch without nulls"));
        }
        let symbols = (batch.column(0).as_any())
            .downcast_ref::<DictionaryArray<Int32Type>>()
            .ok_or_else(|| bad("symbol is not Dictionary(Int32, Utf8)"))?;
        let dictionary = (symbols.values().as_any())
            .downcast_ref::<StringArray>()
            .ok_or_else(|| bad("symbol is not Dictionary(Int32, Utf8)"))?
            .clone();
        let keys = symbols.keys().clone();
        let in_range = |&k: &i32| usize::try_from(k).is_ok_and(|k| k < dictionary.len());
        if !keys.values().iter().all(in_range) {
            return Err(bad("symbol key out of dictionary range"));
        }
        let times = (batch.column(1).as_any())
            .downcast_ref::<TimestampMillisecondArray>()
            .ok_or_else(|| bad("event_time is not Timestamp(ms)"))?
            .clone();
        let mut values = Vec::with_capacity(N_VALUES);
        for col in &batch.columns()[2..] {
            let col = col.as_any().downcast_ref::<Float64Array>();
            values.push(
                col.ok_or_else(|| bad("a value column is not Float64"))?
                    .clone(),
            );
        }
        let values = values.try_into().map_err(|_| bad("not a tick batch"))?;
        Ok(Loaded {
            keys,
            dictionary,
            times,
            values,
        })
    }
}

/// The output batch being built; `keys` index `dictionary`, which rows sorted by symbol
/// make sorted and free of repeats.
#[derive(Default)]
struct Out {
    keys: Vec<i32>,
    dictionary: Vec<Rc<str>>,
    times: Vec<i64>,
    values: [Vec<f64>; N_VALUES],
}

impl Out {
    fn push(&mut self, symbol: &Rc<str>, time: i64, values: [f64; N_VALUES]) {
        let same = |last: &Rc<str>| Rc::ptr_eq(last, symbol) || **last == **symbol;
        if !self.dictionary.last().is_some_and(same) {
            self.dictionary.push(symbol.clone());
        }
        // At most `batch_rows` <= i32::MAX entries (see `merge_parts`): the key fits.
        self.keys.push(self.dictionary.len() as i32 - 1);
        self.times.push(time);
        for (col, v) in self.values.iter_mut().zip(values) {
            col.push(v);
        }
    }

    /// The rows as a batch of the tick schema; leaves `self` empty.
    fn take_batch(&mut self) -> Result<RecordBatch, TickError> {
        let dictionary = StringArray::from_iter_values(self.dictionary.drain(..));
        let keys = Int32Array::from(take(&mut self.keys));
        let symbols = DictionaryArray::<Int32Type>::try_new(keys, Arc::new(dictionary))?;
        let times = TimestampMillisecondArray::from(take(&mut self.times)).with_timezone("UTC");
        let mut columns: Vec<ArrayRef> = vec![Arc::new(symbols), Arc::new(times)];
        for col in &mut self.values {
            columns.push(Arc::new(Float64Array::from(take(col))));
        }
        Ok(RecordBatch::try_new(schema(), columns)?)
    }
}
