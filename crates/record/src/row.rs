//! [`as_tick`]: a decoded stream event as a row of the tick dataset.
//!
//! This is the one place where the stream's [`MiniTicker`] meets the dataset's [`Tick`]:
//! `binance` and `dataset` are both layer-1 crates and neither knows the other, so the
//! conversion lives in the pipeline that joins them (a `From` impl would have to live in
//! one of the two).

use binance::MiniTicker;
use dataset::Tick;

/// The row the recorder writes for `t` (every field, unchanged).
///
/// ```
/// let t = binance::MiniTicker {
///     symbol: "BTCUSDT".into(), event_time: 1, close: 2.0, open: 1.0, high: 3.0,
///     low: 0.5, base_volume: 10.0, quote_volume: 20.0,
/// };
/// let row = record::as_tick(&t);
/// assert_eq!((row.symbol, row.event_time, row.close, row.low), ("BTCUSDT", 1, 2.0, 0.5));
/// ```
pub fn as_tick(t: &MiniTicker) -> Tick<'_> {
    Tick {
        symbol: &t.symbol,
        event_time: t.event_time,
        close: t.close,
        open: t.open,
        high: t.high,
        low: t.low,
        base_volume: t.base_volume,
        quote_volume: t.quote_volume,
    }
}
