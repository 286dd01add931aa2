//! Ready-made frames for benchmarks and tests.

use super::Market;

/// `frames` consecutive `!miniTicker@arr` frames of a market of `symbols` symbols (seeded),
/// one per simulated second from 2023-11-14T22:13:20Z, exactly as the simulator sends them;
/// with the number of events they hold.
///
/// ```
/// let (frames, events) = sim::market::sample_frames(42, 100, 3);
/// assert_eq!(frames.len(), 3);
/// assert!(events > 0 && frames[0].starts_with('['));
/// ```
pub fn sample_frames(seed: u64, symbols: usize, frames: usize) -> (Vec<String>, u64) {
    let mut market = Market::new(seed, symbols);
    let mut events = 0u64;
    let frames = (0..frames as i64)
        .map(|i| {
            let tickers = market.tick(1_700_000_000_000 + 1000 * (i + 1));
            events += tickers.len() as u64;
            Market::frame_json(&tickers)
        })
        .collect();
    (frames, events)
}
