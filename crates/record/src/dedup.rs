//! De-duplication of events delivered by redundant connections, by exact
//! (symbol, event_time).
//!
//! With `--redundant 2` every event arrives twice, from two connections, in either order and
//! with some lag between them. [`Dedup`] keeps the first copy and drops the later ones.
//!
//! A copy is only ever an event whose (symbol, event_time) was let through before: an
//! event never seen is kept, however old or new its time. What is remembered is bounded by
//! the receive time, a local clock no peer controls: per symbol, every event time let
//! through that is not older than [`HORIZON_MS`] before the latest receive time (and at
//! least the [`WINDOW`] most recent ones; at most [`MAX_TIMES`]). An event older than the
//! horizon that is not remembered cannot be told apart from a forgotten copy and is dropped
//! (counted in [`Dedup::too_old`]); the recorder quarantines such times before they get
//! here ([`crate::quarantine`], whose [`MAX_SKEW_MS`](crate::quarantine::MAX_SKEW_MS) is
//! the horizon). So a burst of event times in the future can neither make later real events
//! "copies" nor push real times out of memory.

use std::collections::{HashMap, VecDeque};

use stream::MiniTicker;

/// Event times remembered per symbol at least, whatever their age.
pub const WINDOW: usize = 16;

/// How far before the receive time event times are remembered (5 minutes).
pub const HORIZON_MS: i64 = crate::quarantine::MAX_SKEW_MS;

/// Event times remembered per symbol at most (the oldest go first).
pub const MAX_TIMES: usize = 4096;

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
    symbols: HashMap<Box<str>, VecDeque<i64>>,
    duplicates: u64,
    too_old: u64,
}

impl Dedup {
    /// An empty de-duplicator.
    pub fn new() -> Self {
        Self::default()
    }

    /// True for the first copy of (`symbol`, `event_time`), false for a later copy. Without
    /// a receive time the event's own time is the clock (see
    /// [`first_seen_at`](Self::first_seen_at)).
    pub fn first_seen(&mut self, symbol: &str, event_time: i64) -> bool {
        self.first_seen_at(symbol, event_time, event_time)
    }

    /// True for the first copy of (`symbol`, `event_time`) received at `received_at_ms`;
    /// false for a later copy, or for an event older than [`HORIZON_MS`] before
    /// `received_at_ms` that is not remembered. O(log n), allocation-free for known symbols
    /// in the steady state.
    pub fn first_seen_at(&mut self, symbol: &str, event_time: i64, received_at_ms: i64) -> bool {
        let times = match self.symbols.get_mut(symbol) {
            Some(t) => t,
            None => self
                .symbols
                .entry(symbol.into())
                .or_insert_with(|| VecDeque::with_capacity(WINDOW)),
        };
        let cutoff = received_at_ms.saturating_sub(HORIZON_MS);
        while times.len() > WINDOW && times.front().is_some_and(|&t| t < cutoff) {
            times.pop_front();
        }
        match times.binary_search(&event_time) {
            Ok(_) => {
                self.duplicates += 1;
                false
            }
            Err(0) if event_time < cutoff && times.len() >= WINDOW => {
                self.duplicates += 1;
                self.too_old += 1;
                false
            }
            Err(at) => {
                times.insert(at, event_time);
                if times.len() > MAX_TIMES {
                    times.pop_front();
                }
                true
            }
        }
    }

    /// Removes from `ticks` every event that is not a first copy (order kept).
    pub fn retain(&mut self, ticks: &mut Vec<MiniTicker>) {
        ticks.retain(|t| self.first_seen(&t.symbol, t.event_time));
    }

    /// Like [`retain`](Self::retain), for events received at `received_at_ms`.
    pub fn retain_at(&mut self, ticks: &mut Vec<MiniTicker>, received_at_ms: i64) {
        ticks.retain(|t| self.first_seen_at(&t.symbol, t.event_time, received_at_ms));
    }

    /// Events dropped so far (copies and unremembered events older than the horizon).
    pub fn duplicates(&self) -> u64 {
        self.duplicates
    }

    /// Of [`duplicates`](Self::duplicates), those dropped only for being older than the
    /// horizon and not remembered (a connection lagging by minutes).
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
    fn memory_is_bounded_by_the_horizon_and_old_events_are_dropped() {
        let mut d = Dedup::new();
        let second = 1000;
        for t in 0..10_000 {
            assert!(d.first_seen_at("A", t * second, t * second));
        }
        assert_eq!(d.symbols(), 1);
        let remembered = d.symbols["A"].len() as i64;
        assert_eq!(remembered, HORIZON_MS / second + 1);
        let now = 9_999 * second;
        let oldest_kept = now - HORIZON_MS;
        assert!(
            !d.first_seen_at("A", oldest_kept, now),
            "still remembered: a copy"
        );
        assert!(
            !d.first_seen_at("A", oldest_kept - second, now),
            "older than the horizon"
        );
        assert_eq!((d.duplicates(), d.too_old()), (2, 1));
        // A hole inside the horizon is still fillable.
        assert!(
            d.first_seen_at("A", now - 1500, now),
            "missed by the leader"
        );
        // A hard cap holds whatever the times.
        let mut d = Dedup::new();
        for t in 0..2 * MAX_TIMES as i64 {
            d.first_seen("B", t);
        }
        assert!(d.symbols["B"].len() <= MAX_TIMES);
    }

    #[test]
    fn a_burst_of_future_times_does_not_make_later_real_events_copies() {
        let mut d = Dedup::new();
        let now = 1_700_000_000_000;
        for i in 0..2 * WINDOW as i64 {
            assert!(d.first_seen("A", now + 3_600_000 + i));
        }
        for t in (now..now + 10_000).step_by(1000) {
            assert!(d.first_seen("A", t), "real event at {t} taken for a copy");
            assert!(!d.first_seen("A", t), "its copy is still dropped");
        }
        // With receive times, too (what the recorder uses).
        let mut d = Dedup::new();
        for i in 0..2 * WINDOW as i64 {
            assert!(d.first_seen_at("A", now + 3_600_000 + i, now));
        }
        for t in (now..now + 10_000).step_by(1000) {
            assert!(
                d.first_seen_at("A", t, t + 5),
                "real event at {t} taken for a copy"
            );
            assert!(
                !d.first_seen_at("A", t, t + 50),
                "its copy is still dropped"
            );
        }
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
