//! Ready-made frames for benchmarks and tests.

use super::{Market, NonAscii};

/// `frames` consecutive `!miniTicker@arr` frames of a market of `symbols` symbols (seeded),
/// one per simulated second from 2023-11-14T22:13:20Z, exactly as the simulator sends them
/// by default (non-ASCII symbol names raw); with the number of events they hold.
///
/// ```
/// let (frames, events) = sim::market::sample_frames(42, 100, 3);
/// assert_eq!(frames.len(), 3);
/// assert!(events > 0 && frames[0].starts_with('['));
/// ```
pub fn sample_frames(seed: u64, symbols: usize, frames: usize) -> (Vec<String>, u64) {
    sample_frames_with(seed, symbols, frames, NonAscii::Raw)
}

/// [`sample_frames`] with non-ASCII symbol names written as `non_ascii` says: the same
/// events, only their JSON spelling differs.
///
/// ```
/// use sim::market::{sample_frames_with, NonAscii};
/// let (raw, n) = sample_frames_with(42, 100, 20, NonAscii::Raw);
/// let (escaped, m) = sample_frames_with(42, 100, 20, NonAscii::Escaped);
/// assert_eq!(n, m);
/// assert!(raw.concat().contains("币安人生USDT"));
/// assert!(escaped.concat().contains(r"\u5e01\u5b89\u4eba\u751fUSDT") && escaped.concat().is_ascii());
/// ```
pub fn sample_frames_with(
    seed: u64,
    symbols: usize,
    frames: usize,
    non_ascii: NonAscii,
) -> (Vec<String>, u64) {
    let mut market = Market::new(seed, symbols);
    let mut events = 0u64;
    let frames = (0..frames as i64)
        .map(|i| {
            let tickers = market.tick(1_700_000_000_000 + 1000 * (i + 1));
            events += tickers.len() as u64;
            Market::frame_json_with(&tickers, non_ascii)
        })
        .collect();
    (frames, events)
}
