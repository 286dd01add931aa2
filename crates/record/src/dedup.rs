//! De-duplication of events delivered by redundant connections, by (symbol, event_time).
//!
//! With `--redundant 2` every event arrives twice, from two connections, in either order and
//! with some lag between them. [`Dedup`] keeps the first copy and drops the later ones.
//!
//! Memory is bounded: per symbol it remembers the [`WINDOW`] most recent event times it let
//! through (a fixed array, no allocation per event; a new symbol allocates its name once).
//! Binance event times per symbol increase on each connection, so a copy arrives while its
//! original is still in the window unless one connection lags the other by more than
//! [`WINDOW`] events of that symbol (16 s for a symbol that changes every second). An event
//! older than everything remembered cannot be told apart from a copy and is dropped
//! (counted in [`Dedup::too_old`]): with redundant feeds the other connection delivered it.
//! An older event that is not in the window but newer than its oldest entry (a connection
//! that missed it, then a lagging one that did not) is kept.

use std::collections::HashMap;

use stream::MiniTicker;

/// Event times remembered per symbol.
pub const WINDOW: usize = 16;

/// Keeps the first copy of each (symbol, event_time); see the [module docs](self).
///
/// ```
/// use record::dedup::Dedup;
/// let mut d = Dedup::new();
/// assert!(d.first_seen("BTCUSDT", 1_000));  // connection A
/// assert!(!d.first_seen("BTCUSDT", 1_000)); // connection B: a copy
/// assert!(d.first_seen("ETHBTC", 1_000));   // another symbol
/// assert_eq!(d.duplicates(), 1);
/// ```
#[derive(Debug, Default)]
pub struct Dedup {
    symbols: HashMap<Box<str>, Window>,
    duplicates: u64,
    too_old: u64,
}

/// The most recent event times let through for one symbol (unordered, `len` used).
#[derive(Debug, Clone, Copy)]
struct Window {
    times: [i64; WINDOW],
    len: u8,
}

impl Dedup {
    /// An empty de-duplicator.
    pub fn new() -> Self {
        Self::default()
    }

    /// True for the first copy of (`symbol`, `event_time`), false for a later copy or an
    /// event older than the window. O([`WINDOW`]) and allocation-free for known symbols.
    pub fn first_seen(&mut self, symbol: &str, event_time: i64) -> bool {
        let window = match self.symbols.get_mut(symbol) {
            Some(w) => w,
            None => self.symbols.entry(symbol.into()).or_insert(Window {
                times: [0; WINDOW],
                len: 0,
            }),
        };
        let used = &mut window.times[..usize::from(window.len)];
        if used.contains(&event_time) {
            self.duplicates += 1;
            return false;
        }
        if used.len() < WINDOW {
            window.times[usize::from(window.len)] = event_time;
            window.len += 1;
            return true;
        }
        // Full: the new time replaces the oldest, unless it is older still.
        let (slot, oldest) = used
            .iter_mut()
            .enumerate()
            .min_by_key(|(_, t)| **t)
            .map(|(i, t)| (i, *t))
            .unwrap_or((0, i64::MIN)); // never empty: len == WINDOW > 0
        if event_time < oldest {
            self.duplicates += 1;
            self.too_old += 1;
            return false;
        }
        window.times[slot] = event_time;
        true
    }

    /// Removes from `ticks` every event that is not a first copy (order kept).
    pub fn retain(&mut self, ticks: &mut Vec<MiniTicker>) {
        ticks.retain(|t| self.first_seen(&t.symbol, t.event_time));
    }

    /// Events dropped so far (copies and events older than the window).
    pub fn duplicates(&self) -> u64 {
        self.duplicates
    }

    /// Of [`duplicates`](Self::duplicates), those dropped only for being older than the
    /// window (a lagging connection; a non-zero count suggests a larger window).
    pub fn too_old(&self) -> u64 {
        self.too_old
    }

    /// Symbols tracked.
    pub fn symbols(&self) -> usize {
        self.symbols.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (connection, symbol, event_time, kept?) in arrival order.
    type Case = (&'static str, &'static [(u8, &'static str, i64, bool)]);

    const CASES: &[Case] = &[
        (
            "single feed keeps everything",
            &[(0, "A", 1, true), (0, "A", 2, true), (0, "B", 1, true)],
        ),
        (
            "second connection's copies dropped",
            &[
                (0, "A", 1, true),
                (1, "A", 1, false),
                (0, "A", 2, true),
                (1, "A", 2, false),
            ],
        ),
        (
            "lagging connection: copies dropped, order of arrival irrelevant",
            &[
                (0, "A", 1, true),
                (0, "A", 2, true),
                (0, "A", 3, true),
                (1, "A", 1, false),
                (1, "A", 2, false),
                (1, "A", 3, false),
            ],
        ),
        (
            "leader drops, follower fills the hole",
            &[
                (0, "A", 1, true),
                (0, "A", 3, true),
                (1, "A", 1, false),
                (1, "A", 2, true),
                (1, "A", 3, false),
            ],
        ),
        (
            "same time, other symbol is not a copy",
            &[
                (0, "A", 5, true),
                (1, "B", 5, true),
                (1, "A", 5, false),
                (0, "B", 5, false),
            ],
        ),
        (
            "exact repeat on one connection",
            &[(0, "A", 7, true), (0, "A", 7, false)],
        ),
    ];

    #[test]
    fn table() {
        for (name, events) in CASES {
            let mut d = Dedup::new();
            let mut dropped = 0;
            for &(conn, symbol, time, keep) in *events {
                assert_eq!(
                    d.first_seen(symbol, time),
                    keep,
                    "{name}: conn {conn} {symbol}@{time}"
                );
                dropped += u64::from(!keep);
            }
            assert_eq!(d.duplicates(), dropped, "{name}");
        }
    }

    #[test]
    fn memory_is_bounded_and_old_events_are_dropped() {
        let mut d = Dedup::new();
        for t in 0..10_000 {
            assert!(d.first_seen("A", t));
        }
        assert_eq!(d.symbols(), 1);
        let oldest_kept = 10_000 - WINDOW as i64;
        assert!(!d.first_seen("A", oldest_kept), "still remembered: a copy");
        assert!(!d.first_seen("A", oldest_kept - 1), "older than the window");
        assert_eq!((d.duplicates(), d.too_old()), (2, 1));
        // A hole inside the window is still fillable.
        let mut d = Dedup::new();
        for t in (0..2 * WINDOW as i64).step_by(2) {
            assert!(d.first_seen("A", t));
        }
        assert!(
            d.first_seen("A", 2 * WINDOW as i64 - 3),
            "missed by the leader, inside the window"
        );
    }

    #[test]
    fn retain_filters_vectors_in_order() {
        let tick = |s: &str, e| MiniTicker {
            symbol: s.into(),
            event_time: e,
            close: 1.0,
            open: 1.0,
            high: 1.0,
            low: 1.0,
            base_volume: 1.0,
            quote_volume: 1.0,
        };
        let mut d = Dedup::new();
        let mut a = vec![tick("X", 1), tick("Y", 1)];
        d.retain(&mut a);
        assert_eq!(a.len(), 2);
        let mut b = vec![tick("Y", 1), tick("X", 2), tick("X", 1)];
        d.retain(&mut b);
        assert_eq!(
            b.iter()
                .map(|t| (t.symbol.as_str(), t.event_time))
                .collect::<Vec<_>>(),
            [("X", 2)]
        );
    }
}
