//! The Arrow schema of a tick, row types, and the column plumbing shared by the buffer, the
//! writer and the reader (one batch builder, one checked batch view).

use std::sync::{Arc, OnceLock};

use arrow_array::types::Int32Type;
use arrow_array::{
    Array, ArrayRef, DictionaryArray, Float64Array, Int32Array, RecordBatch, StringArray,
    TimestampMillisecondArray,
};
use arrow_schema::{DataType, Field, Schema, SchemaRef, TimeUnit};

use super::TickError;

/// Column names in schema order (the Parquet schema table of the repository's `README.md`).
pub const COLUMNS: [&str; 8] = [
    "symbol",
    "event_time",
    "close",
    "open",
    "high",
    "low",
    "base_volume",
    "quote_volume",
];

/// Number of Float64 columns (`close` .. `quote_volume`).
pub(crate) const N_VALUES: usize = 6;

/// The Arrow schema of the dataset: one row per mini-ticker event, every column non-nullable.
///
/// `symbol` is `Dictionary(Int32, Utf8)` (the contract allows dictionary-encoded Utf8; every
/// Parquet reader sees a plain string column), `event_time` is `Timestamp(ms, "UTC")` and the
/// six prices/volumes are `Float64`.
///
/// ```
/// use dataset::schema;
/// let s = schema();
/// assert_eq!(s.field(0).name(), "symbol");
/// assert_eq!(s.fields().len(), 8);
/// assert!(s.fields().iter().all(|f| !f.is_nullable()));
/// ```
pub fn schema() -> SchemaRef {
    static SCHEMA: OnceLock<SchemaRef> = OnceLock::new();
    SCHEMA
        .get_or_init(|| {
            let symbol = DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8));
            let time = DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into()));
            let mut fields = vec![
                Field::new(COLUMNS[0], symbol, false),
                Field::new(COLUMNS[1], time, false),
            ];
            fields.extend(
                COLUMNS[2..]
                    .iter()
                    .map(|name| Field::new(*name, DataType::Float64, false)),
            );
            Arc::new(Schema::new(fields))
        })
        .clone()
}

/// One mini-ticker event, borrowed: what [`TickBuffer::push`](super::TickBuffer::push) takes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Tick<'a> {
    /// Binance symbol, e.g. `BTCUSDT` (`s`).
    pub symbol: &'a str,
    /// Event time, milliseconds since the Unix epoch (`E`).
    pub event_time: i64,
    /// Close (last) price (`c`).
    pub close: f64,
    /// Open price of the rolling 24h window (`o`).
    pub open: f64,
    /// High price of the rolling 24h window (`h`).
    pub high: f64,
    /// Low price of the rolling 24h window (`l`).
    pub low: f64,
    /// Total traded base asset volume (`v`).
    pub base_volume: f64,
    /// Total traded quote asset volume (`q`).
    pub quote_volume: f64,
}

impl Tick<'_> {
    pub(crate) fn values(&self) -> [f64; N_VALUES] {
        [
            self.close,
            self.open,
            self.high,
            self.low,
            self.base_volume,
            self.quote_volume,
        ]
    }
}

/// One row read back from a batch, owning its symbol (see [`rows`]).
#[derive(Debug, Clone, PartialEq)]
pub struct OwnedTick {
    /// Binance symbol.
    pub symbol: String,
    /// Event time, milliseconds since the Unix epoch.
    pub event_time: i64,
    /// Close (last) price.
    pub close: f64,
    /// Open price.
    pub open: f64,
    /// High price.
    pub high: f64,
    /// Low price.
    pub low: f64,
    /// Base asset volume.
    pub base_volume: f64,
    /// Quote asset volume.
    pub quote_volume: f64,
}

impl OwnedTick {
    /// Borrows this row as a [`Tick`], e.g. to push it into another buffer.
    pub fn as_tick(&self) -> Tick<'_> {
        Tick {
            symbol: &self.symbol,
            event_time: self.event_time,
            close: self.close,
            open: self.open,
            high: self.high,
            low: self.low,
            base_volume: self.base_volume,
            quote_volume: self.quote_volume,
        }
    }
}

/// The rows of a tick batch, in batch order. Convenience for tests and tools.
///
/// Fails with [`TickError::Schema`] if the batch does not have the tick [`schema`].
///
/// # Errors
///
/// [`TickError::Schema`] when `batch` does not have the tick columns and types.
///
/// ```
/// use dataset::{rows, Tick, TickBuffer};
/// let mut buf = TickBuffer::new();
/// let t = Tick { symbol: "BTCUSDT", event_time: 0, close: 2.0, open: 1.0, high: 3.0,
///                low: 0.5, base_volume: 10.0, quote_volume: 20.0 };
/// buf.push(&t);
/// let (_, batch) = &buf.to_batches().unwrap()[0];
/// assert_eq!(rows(batch).unwrap()[0].as_tick(), t);
/// ```
pub fn rows(batch: &RecordBatch) -> Result<Vec<OwnedTick>, TickError> {
    let view = TickView::try_new(batch)?;
    Ok((0..view.len())
        .map(|i| {
            let [close, open, high, low, base_volume, quote_volume] = view.row_values(i);
            OwnedTick {
                symbol: view.symbol(i).to_owned(),
                event_time: view.times[i],
                close,
                open,
                high,
                low,
                base_volume,
                quote_volume,
            }
        })
        .collect())
}

/// Owned column vectors of a batch under construction; `keys` index a dictionary of symbols.
#[derive(Debug, Default)]
pub(crate) struct Columns {
    pub keys: Vec<i32>,
    pub times: Vec<i64>,
    pub values: [Vec<f64>; N_VALUES],
}

impl Columns {
    pub fn with_capacity(n: usize) -> Self {
        Columns {
            keys: Vec::with_capacity(n),
            times: Vec::with_capacity(n),
            values: std::array::from_fn(|_| Vec::with_capacity(n)),
        }
    }

    /// Appends row `i` of `view` under dictionary key `key`.
    pub fn push_from(&mut self, view: &TickView<'_>, i: usize, key: i32) {
        self.keys.push(key);
        self.times.push(view.times[i]);
        for (col, src) in self.values.iter_mut().zip(view.values) {
            col.push(src[i]);
        }
    }

    /// Builds a record batch with the tick [`schema`]; `dictionary[k]` is the symbol of key `k`.
    pub fn into_batch<'s>(
        self,
        dictionary: impl IntoIterator<Item = &'s str>,
    ) -> Result<RecordBatch, TickError> {
        let dict = StringArray::from_iter_values(dictionary);
        let symbols =
            DictionaryArray::<Int32Type>::try_new(Int32Array::from(self.keys), Arc::new(dict))?;
        let times = TimestampMillisecondArray::from(self.times).with_timezone("UTC");
        let mut columns: Vec<ArrayRef> = vec![Arc::new(symbols), Arc::new(times)];
        columns.extend(
            self.values
                .into_iter()
                .map(|v| Arc::new(Float64Array::from(v)) as ArrayRef),
        );
        Ok(RecordBatch::try_new(schema(), columns)?)
    }
}

/// A checked, typed view of a batch with the tick schema.
pub(crate) struct TickView<'a> {
    keys: &'a [i32],
    pub dictionary: &'a StringArray,
    pub times: &'a [i64],
    pub values: [&'a [f64]; N_VALUES],
}

impl<'a> TickView<'a> {
    pub fn try_new(batch: &'a RecordBatch) -> Result<Self, TickError> {
        let expected = schema();
        let actual = batch.schema_ref();
        if actual.fields().len() != expected.fields().len() {
            return Err(TickError::Schema(format!(
                "expected {} columns, found {}",
                expected.fields().len(),
                actual.fields().len()
            )));
        }
        for (want, got) in expected.fields().iter().zip(actual.fields()) {
            if want.name() != got.name() || want.data_type() != got.data_type() {
                return Err(TickError::Schema(format!(
                    "expected column {} {}, found {} {}",
                    want.name(),
                    want.data_type(),
                    got.name(),
                    got.data_type()
                )));
            }
        }
        if let Some(f) = actual
            .fields()
            .iter()
            .zip(batch.columns())
            .find(|(_, c)| c.null_count() > 0)
        {
            return Err(TickError::Schema(format!(
                "column {} has nulls",
                f.0.name()
            )));
        }
        let bad = || TickError::Schema("column arrays do not match their declared types".into());
        let symbols = batch
            .column(0)
            .as_any()
            .downcast_ref::<DictionaryArray<Int32Type>>()
            .ok_or_else(bad)?;
        let dictionary = symbols
            .values()
            .as_any()
            .downcast_ref::<StringArray>()
            .ok_or_else(bad)?;
        let keys = symbols.keys().values();
        if keys
            .iter()
            .any(|&k| k < 0 || k as usize >= dictionary.len())
        {
            return Err(TickError::Schema(
                "symbol key out of dictionary range".into(),
            ));
        }
        let times = batch
            .column(1)
            .as_any()
            .downcast_ref::<TimestampMillisecondArray>()
            .ok_or_else(bad)?
            .values();
        let mut values: [&[f64]; N_VALUES] = [&[]; N_VALUES];
        for (slot, col) in values.iter_mut().zip(&batch.columns()[2..]) {
            *slot = col
                .as_any()
                .downcast_ref::<Float64Array>()
                .ok_or_else(bad)?
                .values();
        }
        Ok(TickView {
            keys,
            dictionary,
            times,
            values,
        })
    }

    pub fn len(&self) -> usize {
        self.times.len()
    }

    /// Dictionary key of row `i` (checked to be in range by [`TickView::try_new`]).
    pub fn key(&self, i: usize) -> usize {
        self.keys[i] as usize
    }

    pub fn symbol(&self, i: usize) -> &'a str {
        self.dictionary.value(self.key(i))
    }

    pub fn row_values(&self, i: usize) -> [f64; N_VALUES] {
        self.values.map(|col| col[i])
    }
}
