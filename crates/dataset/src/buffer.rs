//! [`TickBuffer`]: the in-memory column store of the ticks received since the last checkpoint.

use std::collections::{BTreeMap, HashMap};
use std::mem::size_of;

use arrow_array::RecordBatch;
use chrono::NaiveDate;

use super::schema::{Columns, N_VALUES};
use super::{Tick, TickError};

/// Rows per chunk. A chunk's columns are allocated once at full size, so the capacity overhead
/// is at most one partly filled chunk (about 1 MB) and a push never copies old rows.
const CHUNK_ROWS: usize = 16 * 1024;

const MS_PER_DAY: i64 = 86_400_000;

/// One fixed-size slab of rows, column by column (4 + 8 + 6 x 8 = 60 bytes per row).
#[derive(Debug)]
struct Chunk {
    symbols: Vec<u32>,
    times: Vec<i64>,
    values: [Vec<f64>; N_VALUES],
}

impl Chunk {
    fn new() -> Self {
        Chunk {
            symbols: Vec::with_capacity(CHUNK_ROWS),
            times: Vec::with_capacity(CHUNK_ROWS),
            values: std::array::from_fn(|_| Vec::with_capacity(CHUNK_ROWS)),
        }
    }

    fn bytes(&self) -> usize {
        self.symbols.capacity() * size_of::<u32>()
            + self.times.capacity() * size_of::<i64>()
            + self
                .values
                .iter()
                .map(|v| v.capacity() * size_of::<f64>())
                .sum::<usize>()
    }

    fn clear(&mut self) {
        self.symbols.clear();
        self.times.clear();
        self.values.iter_mut().for_each(Vec::clear);
    }
}

/// Symbol names interned to dense `u32` ids, in order of first sight.
#[derive(Debug, Default)]
struct Interner {
    ids: HashMap<Box<str>, u32>,
    names: Vec<Box<str>>,
}

impl Interner {
    fn intern(&mut self, symbol: &str) -> u32 {
        if let Some(&id) = self.ids.get(symbol) {
            return id;
        }
        // 2^32 distinct symbols would need hundreds of GB of names: this cannot overflow.
        let id = u32::try_from(self.names.len()).expect("fewer than 2^32 distinct symbols");
        self.names.push(symbol.into());
        self.ids.insert(symbol.into(), id);
        id
    }

    /// `rank[id]` is the position of symbol `id` in lexicographic order.
    fn ranks(&self) -> Vec<u32> {
        let mut order: Vec<u32> = (0..self.names.len() as u32).collect();
        order.sort_unstable_by(|&a, &b| self.names[a as usize].cmp(&self.names[b as usize]));
        let mut rank = vec![0; order.len()];
        for (r, id) in order.into_iter().enumerate() {
            rank[id as usize] = r as u32;
        }
        rank
    }
}

/// In-memory column buffer for the ticks received since the last checkpoint.
///
/// Rows live in chunked columns of 16 Ki rows: a symbol interned to a `u32` id, the event time
/// and six `f64`, i.e. 60 bytes per event plus at most one partly filled chunk.
/// [`to_batches`](Self::to_batches) turns the rows into one Arrow batch per UTC date, sorted by
/// (symbol, event_time), ready for [`DatasetWriter`](super::DatasetWriter).
///
/// ```
/// use dataset::{Tick, TickBuffer};
/// let mut buf = TickBuffer::new();
/// for (symbol, t) in [("ETHBTC", 2_000), ("BTCUSDT", 1_000), ("BTCUSDT", 0)] {
///     buf.push(&Tick { symbol, event_time: t, close: 1.0, open: 1.0, high: 1.0, low: 1.0,
///                      base_volume: 0.0, quote_volume: 0.0 });
/// }
/// assert_eq!((buf.len(), buf.symbols_seen()), (3, 2));
/// let batches = buf.to_batches().unwrap();
/// assert_eq!(batches.len(), 1); // all on 1970-01-01
/// let rows = dataset::rows(&batches[0].1).unwrap();
/// let order: Vec<_> = rows.iter().map(|r| (r.symbol.as_str(), r.event_time)).collect();
/// assert_eq!(order, [("BTCUSDT", 0), ("BTCUSDT", 1_000), ("ETHBTC", 2_000)]);
/// ```
#[derive(Debug, Default)]
pub struct TickBuffer {
    chunks: Vec<Chunk>,
    len: usize,
    interner: Interner,
}

impl TickBuffer {
    /// An empty buffer; no row storage is allocated until the first push.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends one event. Allocates only when a new chunk starts or a symbol is new.
    pub fn push(&mut self, t: &Tick<'_>) {
        let id = self.interner.intern(t.symbol);
        let idx = self.len / CHUNK_ROWS;
        if idx == self.chunks.len() {
            self.chunks.push(Chunk::new());
        }
        // Invariant: chunks before `idx` are full and chunk `idx` exists (pushed just above).
        let chunk = &mut self.chunks[idx];
        chunk.symbols.push(id);
        chunk.times.push(t.event_time);
        for (col, v) in chunk.values.iter_mut().zip(t.values()) {
            col.push(v);
        }
        self.len += 1;
    }

    /// Number of buffered events.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when no event is buffered.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Distinct symbols ever pushed into this buffer (the interner survives [`clear`](Self::clear)).
    pub fn symbols_seen(&self) -> usize {
        self.interner.names.len()
    }

    /// The distinct symbols ever pushed into this buffer, in order of first sight.
    pub fn symbol_names(&self) -> impl Iterator<Item = &str> + '_ {
        self.interner.names.iter().map(|s| &**s)
    }

    /// Allocated bytes of the row storage (column capacities plus chunk headers).
    ///
    /// The symbol interner is not counted: it grows with distinct symbols, not with events.
    pub fn memory_bytes(&self) -> usize {
        self.chunks.capacity() * size_of::<Chunk>()
            + self.chunks.iter().map(Chunk::bytes).sum::<usize>()
    }

    /// The buffered rows as Arrow batches, one per UTC date of `event_time` (ascending), each
    /// sorted by (symbol, event_time) with a sorted symbol dictionary. Equal keys keep their
    /// push order. The buffer is left as it is.
    ///
    /// Fails with [`TickError::EventTime`] if an event time has no representable date.
    ///
    /// # Errors
    ///
    /// [`TickError::EventTime`] for an event time without a calendar date;
    /// [`TickError::Arrow`] if a batch cannot be built.
    pub fn to_batches(&self) -> Result<Vec<(NaiveDate, RecordBatch)>, TickError> {
        let rank = self.interner.ranks();
        let mut days: BTreeMap<i64, Vec<(u32, i64, usize)>> = BTreeMap::new();
        for (row, (id, time)) in self.rows().enumerate() {
            days.entry(time.div_euclid(MS_PER_DAY)).or_default().push((
                rank[id as usize],
                time,
                row,
            ));
        }
        let mut out = Vec::with_capacity(days.len());
        for (day, mut keys) in days {
            let date = chrono::DateTime::from_timestamp(day * 86_400, 0)
                .ok_or(TickError::EventTime(keys[0].1))?
                .date_naive();
            keys.sort_unstable();
            out.push((date, self.build_batch(&keys)?));
        }
        Ok(out)
    }

    /// Removes every row. Keeps the symbol interner and one chunk for reuse.
    pub fn clear(&mut self) {
        self.chunks.truncate(1);
        self.chunks.iter_mut().for_each(Chunk::clear);
        self.len = 0;
    }

    /// Moves every row into `other` (appending) and clears `self`.
    pub fn drain_to(&mut self, other: &mut TickBuffer) {
        for chunk in &self.chunks {
            for (i, (&id, &event_time)) in chunk.symbols.iter().zip(&chunk.times).enumerate() {
                let [close, open, high, low, base_volume, quote_volume] =
                    chunk.values.each_ref().map(|col| col[i]);
                other.push(&Tick {
                    symbol: &self.interner.names[id as usize],
                    event_time,
                    close,
                    open,
                    high,
                    low,
                    base_volume,
                    quote_volume,
                });
            }
        }
        self.clear();
    }

    /// (symbol id, event time) of every row, in push order.
    fn rows(&self) -> impl Iterator<Item = (u32, i64)> + '_ {
        self.chunks
            .iter()
            .flat_map(|c| c.symbols.iter().copied().zip(c.times.iter().copied()))
    }

    /// One batch of the rows `keys` (sorted (rank, time, row) triples).
    fn build_batch(&self, keys: &[(u32, i64, usize)]) -> Result<RecordBatch, TickError> {
        let mut cols = Columns::with_capacity(keys.len());
        let mut dictionary: Vec<&str> = Vec::new();
        let mut last_rank = None;
        for &(rank, time, row) in keys {
            let chunk = &self.chunks[row / CHUNK_ROWS];
            let i = row % CHUNK_ROWS;
            if last_rank != Some(rank) {
                last_rank = Some(rank);
                dictionary.push(&self.interner.names[chunk.symbols[i] as usize]);
            }
            // The dictionary holds at most `symbols_seen()` (< 2^31 in practice) entries.
            cols.keys.push(dictionary.len() as i32 - 1);
            cols.times.push(time);
            for (col, src) in cols.values.iter_mut().zip(&chunk.values) {
                col.push(src[i]);
            }
        }
        cols.into_batch(dictionary)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tick(symbol: &str, event_time: i64, close: f64) -> Tick<'_> {
        Tick {
            symbol,
            event_time,
            close,
            open: close + 1.0,
            high: close + 2.0,
            low: close - 1.0,
            base_volume: close * 10.0,
            quote_volume: close * 20.0,
        }
    }

    #[test]
    fn memory_per_event_stays_under_64_bytes_for_a_million_events() {
        let mut buf = TickBuffer::new();
        let names: Vec<String> = (0..1500).map(|i| format!("SYM{i}USDT")).collect();
        for i in 0..1_000_000usize {
            buf.push(&tick(&names[i % names.len()], i as i64, i as f64));
        }
        assert_eq!(buf.len(), 1_000_000);
        assert_eq!(buf.symbols_seen(), 1500);
        let per_event = buf.memory_bytes() as f64 / buf.len() as f64;
        assert!(per_event <= 64.0, "{per_event} bytes per event");
        assert!(per_event >= 60.0, "memory_bytes undercounts: {per_event}");
    }

    #[test]
    fn clear_keeps_interner_and_one_chunk() {
        let mut buf = TickBuffer::new();
        for i in 0..(CHUNK_ROWS as i64 * 2 + 5) {
            buf.push(&tick(if i % 2 == 0 { "A" } else { "B" }, i, 1.0));
        }
        assert_eq!(buf.chunks.len(), 3);
        buf.clear();
        assert!(buf.is_empty());
        assert_eq!(buf.symbols_seen(), 2);
        assert_eq!(buf.chunks.len(), 1);
        assert!(buf.to_batches().unwrap().is_empty());
        buf.push(&tick("C", 7, 3.0));
        let batches = buf.to_batches().unwrap();
        let rows = super::super::rows(&batches[0].1).unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].as_tick(), tick("C", 7, 3.0));
    }

    #[test]
    fn batches_split_by_utc_day_and_sort_by_symbol_then_time() {
        let mut buf = TickBuffer::new();
        let before_midnight = 1_704_153_599_999; // 2024-01-01T23:59:59.999Z
        buf.push(&tick("ZEC", before_midnight + 1, 1.0));
        buf.push(&tick("BTC", before_midnight, 2.0));
        buf.push(&tick("ZEC", before_midnight - 5, 3.0));
        buf.push(&tick("ADA", before_midnight + 2, 4.0));
        buf.push(&tick("BTC", -1, 5.0)); // 1969-12-31
        let batches = buf.to_batches().unwrap();
        let dates: Vec<String> = batches.iter().map(|(d, _)| d.to_string()).collect();
        assert_eq!(dates, ["1969-12-31", "2024-01-01", "2024-01-02"]);
        let day = |i: usize| -> Vec<(String, i64)> {
            super::super::rows(&batches[i].1)
                .unwrap()
                .into_iter()
                .map(|r| (r.symbol, r.event_time))
                .collect()
        };
        assert_eq!(day(0), [("BTC".into(), -1)]);
        assert_eq!(
            day(1),
            [
                ("BTC".into(), before_midnight),
                ("ZEC".into(), before_midnight - 5)
            ]
        );
        assert_eq!(
            day(2),
            [
                ("ADA".into(), before_midnight + 2),
                ("ZEC".into(), before_midnight + 1)
            ]
        );
    }

    #[test]
    fn drain_to_moves_rows_and_reinterns() {
        let mut a = TickBuffer::new();
        let mut b = TickBuffer::new();
        b.push(&tick("X", 1, 1.0));
        a.push(&tick("Y", 2, 2.0));
        a.push(&tick("X", 3, 3.0));
        a.drain_to(&mut b);
        assert!(a.is_empty());
        assert_eq!((b.len(), b.symbols_seen()), (3, 2));
        let rows = super::super::rows(&b.to_batches().unwrap()[0].1).unwrap();
        let got: Vec<Tick<'_>> = rows.iter().map(|r| r.as_tick()).collect();
        assert_eq!(
            got,
            [tick("X", 1, 1.0), tick("X", 3, 3.0), tick("Y", 2, 2.0)]
        );
    }

    #[test]
    fn out_of_range_event_time_is_an_error() {
        let mut buf = TickBuffer::new();
        buf.push(&tick("X", i64::MAX, 1.0));
        assert!(matches!(
            buf.to_batches(),
            Err(TickError::EventTime(i64::MAX))
        ));
    }
}
