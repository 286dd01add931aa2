//! [`Query`] and [`ReadStats`]: which rows a read wants, and how much of the dataset it
//! had to touch to get them.
//!
//! A read prunes at three levels, cheapest first:
//!
//! 1. **partitions** — with a time range, only the `date=` partitions whose day overlaps it
//!    are listed;
//! 2. **row groups** — each file's footer is read and a row group is skipped when its
//!    `symbol` or `event_time` min/max statistics exclude every wanted row (the writer sorts
//!    rows by (symbol, event_time) and cuts row groups of [`ROW_GROUP_ROWS`] rows, so a
//!    symbol sits in one or two row groups of an hour file); a file none of whose row
//!    groups can hold a wanted row is not read further;
//! 3. **rows** — inside the row groups read, only `symbol` and `event_time` are decoded for
//!    rows that do not match.
//!
//! [`ReadStats`] counts each level, so a test can check that one symbol for one hour
//! reads only the files and row groups that can hold it.
//!
//! [`ROW_GROUP_ROWS`]: super::ROW_GROUP_ROWS

use arrow_array::types::Int32Type;
use arrow_array::TimestampMillisecondArray;
use arrow_array::{Array, BooleanArray, DictionaryArray, RecordBatch, StringArray};
use arrow_schema::ArrowError;
use chrono::NaiveDate;
use parquet::file::metadata::RowGroupMetaData;
use parquet::file::statistics::Statistics;

const MS_PER_DAY: i64 = 86_400_000;

/// Which rows to read: symbols (all if `None`) and an event-time range `[start_ms, end_ms)`
/// (open where `None`).
///
/// ```
/// use dataset::Query;
/// let q = Query::all().symbol("BTCUSDT").between(1_704_067_200_000, 1_704_070_800_000);
/// assert!(q.wants("BTCUSDT", 1_704_067_200_000));
/// assert!(!q.wants("BTCUSDT", 1_704_070_800_000));
/// assert!(!q.wants("ETHBTC", 1_704_067_200_000));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Query {
    /// The symbols wanted, sorted; `None`: every symbol.
    pub symbols: Option<Vec<String>>,
    /// Earliest event time wanted (ms since the epoch, inclusive).
    pub start_ms: Option<i64>,
    /// End of the range (ms since the epoch, exclusive).
    pub end_ms: Option<i64>,
}

impl Query {
    /// Every row.
    pub fn all() -> Self {
        Self::default()
    }

    /// Also wants `symbol` (the first call restricts the query to the symbols named).
    pub fn symbol(mut self, symbol: &str) -> Self {
        let symbols = self.symbols.get_or_insert_with(Vec::new);
        symbols.push(symbol.to_owned());
        symbols.sort();
        symbols.dedup();
        self
    }

    /// Only rows with `start_ms <= event_time < end_ms`.
    pub fn between(mut self, start_ms: i64, end_ms: i64) -> Self {
        self.start_ms = Some(start_ms);
        self.end_ms = Some(end_ms);
        self
    }

    /// Whether a row of `symbol` at `event_time` is wanted.
    pub fn wants(&self, symbol: &str, event_time: i64) -> bool {
        self.wants_symbol(symbol) && self.wants_time(event_time)
    }

    fn wants_symbol(&self, symbol: &str) -> bool {
        (self.symbols.as_ref())
            .is_none_or(|s| s.binary_search_by(|x| x.as_str().cmp(symbol)).is_ok())
    }

    fn wants_time(&self, t: i64) -> bool {
        self.start_ms.is_none_or(|s| t >= s) && self.end_ms.is_none_or(|e| t < e)
    }

    /// Whether the time range overlaps the UTC day `date` (its partition).
    pub(crate) fn wants_date(&self, date: NaiveDate) -> bool {
        let Some(start) = date.and_hms_opt(0, 0, 0) else {
            return true;
        };
        let day_start = start.and_utc().timestamp_millis();
        self.start_ms.is_none_or(|s| s < day_start + MS_PER_DAY)
            && self.end_ms.is_none_or(|e| e > day_start)
    }

    /// True when the query filters rows at all.
    pub(crate) fn filters(&self) -> bool {
        self.symbols.is_some() || self.start_ms.is_some() || self.end_ms.is_some()
    }

    /// False only when the row group's statistics prove that it holds no wanted row.
    pub(crate) fn may_match(&self, rg: &RowGroupMetaData) -> bool {
        self.may_match_symbols(rg) && self.may_match_times(rg)
    }

    fn may_match_symbols(&self, rg: &RowGroupMetaData) -> bool {
        let Some(symbols) = &self.symbols else {
            return true;
        };
        let Some(Statistics::ByteArray(stats)) = rg.column(0).statistics() else {
            return true;
        };
        symbols.iter().any(|s| {
            let s = s.as_bytes();
            let below = stats.min_opt().is_some_and(|min| s < min.data());
            let above = stats.max_opt().is_some_and(|max| s > max.data());
            !(below || above)
        })
    }

    fn may_match_times(&self, rg: &RowGroupMetaData) -> bool {
        let Some(Statistics::Int64(stats)) = rg.column(1).statistics() else {
            return true;
        };
        let before = (self.start_ms.zip(stats.max_opt())).is_some_and(|(s, max)| *max < s);
        let after = (self.end_ms.zip(stats.min_opt())).is_some_and(|(e, min)| *min >= e);
        !(before || after)
    }

    /// The row filter: which rows of a batch of the projected `symbol` and `event_time`
    /// columns are wanted.
    pub(crate) fn matches(&self, batch: &RecordBatch) -> Result<BooleanArray, ArrowError> {
        let times = (batch.column(1).as_any())
            .downcast_ref::<TimestampMillisecondArray>()
            .ok_or_else(|| ArrowError::SchemaError("event_time is not Timestamp(ms)".into()))?;
        let column = batch.column(0);
        let time_ok = |i: usize| times.is_valid(i) && self.wants_time(times.value(i));
        if let Some(dict) = column.as_any().downcast_ref::<DictionaryArray<Int32Type>>() {
            let values = (dict.values().as_any().downcast_ref::<StringArray>())
                .ok_or_else(|| ArrowError::SchemaError("symbol is not Utf8".into()))?;
            let wanted: Vec<bool> = values
                .iter()
                .map(|s| s.is_some_and(|s| self.wants_symbol(s)))
                .collect();
            return Ok((0..dict.len())
                .map(|i| {
                    let key = dict.keys().is_valid(i).then(|| dict.keys().value(i));
                    let symbol_ok = key
                        .and_then(|k| usize::try_from(k).ok())
                        .is_some_and(|k| wanted.get(k).copied().unwrap_or(false));
                    Some(symbol_ok && time_ok(i))
                })
                .collect());
        }
        if let Some(strings) = column.as_any().downcast_ref::<StringArray>() {
            return Ok((0..strings.len())
                .map(|i| {
                    Some(strings.is_valid(i) && self.wants_symbol(strings.value(i)) && time_ok(i))
                })
                .collect());
        }
        Err(ArrowError::SchemaError(format!(
            "symbol column has type {}",
            column.data_type()
        )))
    }
}

/// What a read touched: files listed, opened and read, row groups read.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ReadStats {
    /// Files listed in the partitions the time range leaves.
    pub files_listed: usize,
    /// Files whose footer was read.
    pub files_opened: usize,
    /// Files of which at least one row group was read.
    pub files_read: usize,
    /// Row groups read.
    pub row_groups_read: usize,
    /// Row groups skipped by their statistics.
    pub row_groups_skipped: usize,
    /// Rows returned.
    pub rows: usize,
}
