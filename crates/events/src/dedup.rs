//! De-duplication of events delivered twice, by exact (symbol, event_time): the one
//! meaning of "a copy" that every pipeline shares (the recorder, the alerter). It lives in
//! the event core, not in a venue's client: copies come from how a pipeline connects, and a
//! row is a row whatever the venue.
//!
//! Two connections deliver the same events while a connection is renewed (a venue's
//! connection manager overlaps the old and the new one), and all
//! the time with redundant connections (`recorder --redundant 2`): every event then arrives
//! twice, in either order and with some lag between them. [`Dedup`] keeps the first copy
//! and drops the later ones.
//!
//! # What a copy is
//!
//! A copy is only ever an event whose (symbol, event_time) was let through before: an event
//! never seen is kept, however old or new its time. So an event that one connection missed
//! and the other delivers late fills the hole instead of being dropped, and an event time
//! far in the future (a server bug, a hostile peer) can never make later real events
//! "copies" (a newest-time-wins rule would drop every real update after it).
//!
//! # What is remembered
//!
//! Memory is bounded by the receive time, a local clock no peer controls: per symbol,
//! every event time let through that is not older than the horizon ([`HORIZON_MS`] by
//! default, [`Dedup::with_horizon`]) before the latest receive time (and at least the
//! [`WINDOW`] most recent ones; at most [`MAX_TIMES`]). An event older than the horizon
//! that is not remembered cannot be told apart from a forgotten copy and is dropped
//! (counted in [`Dedup::too_old`]). The recorder quarantines event times further than its
//! horizon from their receive time before they get here (`record::quarantine`), so a burst
//! of future times can neither make real events copies nor push real times out of memory.
//!
//! ```
//! use events::Dedup;
//! let mut d = Dedup::new();
//! let now = 1_764_547_200_000; // receive time, ms since the Unix epoch
//! assert!(d.first_seen_at("BTCUSDT", now - 20, now)); // the old connection
//! assert!(!d.first_seen_at("BTCUSDT", now - 20, now + 3)); // its successor: a copy
//! assert!(d.first_seen_at("BTCUSDT", now - 1_020, now + 4)); // missed by the old one: kept
//! assert_eq!(d.duplicates(), 1);
//! ```

use std::collections::{HashMap, VecDeque};

use crate::MiniTicker;

/// Event times remembered per symbol at least, whatever their age.
pub const WINDOW: usize = 16;

/// How far before the receive time event times are remembered by default (5 minutes: far
/// beyond a renewal's overlap or a redundant connection's lag).
pub const HORIZON_MS: i64 = 5 * 60 * 1000;

/// Event times remembered per symbol at most (the oldest go first).
pub const MAX_TIMES: usize = 4096;

/// Keeps the first copy of each (symbol, event_time); see the [module docs](self).
///
/// ```
/// use events::Dedup;
/// let mut d = Dedup::new();
/// assert!(d.first_seen("BTCUSDT", 1_000));  // connection A
/// assert!(!d.first_seen("BTCUSDT", 1_000)); // connection B: a copy
/// assert!(d.first_seen("ETHBTC", 1_000));   // another symbol
/// assert_eq!(d.duplicates(), 1);
/// ```
#[derive(Debug)]
pub struct Dedup {
    symbols: HashMap<Box<str>, VecDeque<i64>>,
    horizon_ms: i64,
    duplicates: u64,
    too_old: u64,
}

impl Default for Dedup {
    fn default() -> Self {
        Self::with_horizon(HORIZON_MS)
    }
}

impl Dedup {
    /// An empty de-duplicator remembering [`HORIZON_MS`] before the receive time.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty de-duplicator remembering `horizon_ms` (at least 0) before the receive time.
    pub fn with_horizon(horizon_ms: i64) -> Self {
        Dedup {
            symbols: HashMap::new(),
            horizon_ms: horizon_ms.max(0),
            duplicates: 0,
            too_old: 0,
        }
    }

    /// How far before the receive time event times are remembered (ms).
    pub fn horizon_ms(&self) -> i64 {
        self.horizon_ms
    }

    /// True for the first copy of (`symbol`, `event_time`), false for a later copy. Without
    /// a receive time the event's own time is the clock (see
    /// [`first_seen_at`](Self::first_seen_at)).
    pub fn first_seen(&mut self, symbol: &str, event_time: i64) -> bool {
        self.first_seen_at(symbol, event_time, event_time)
    }

    /// True for the first copy of (`symbol`, `event_time`) received at `received_at_ms`;
    /// false for a later copy, or for an event older than the horizon before
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
        let cutoff = received_at_ms.saturating_sub(self.horizon_ms);
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

    /// (connection, symbol, event_time, received_at, kept?) in arrival order.
    type Row = (u8, &'static str, i64, i64, bool);

    /// A receive time, ms (2025-12-01T00:00:00Z).
    const T: i64 = 1_764_547_200_000;
    /// One minute, ms.
    const MIN: i64 = 60_000;

    const CASES: &[(&str, &[Row])] = &[
        (
            "single feed keeps everything",
            &[
                (0, "A", T, T, true),
                (0, "A", T + 1, T + 1, true),
                (0, "B", T, T, true),
            ],
        ),
        (
            "second connection's copies dropped",
            &[
                (0, "A", T, T, true),
                (1, "A", T, T + 2, false),
                (0, "A", T + 1000, T + 1000, true),
                (1, "A", T + 1000, T + 1001, false),
            ],
        ),
        (
            "renewal overlap: the successor repeats the last seconds",
            &[
                (1, "A", T, T, true),
                (1, "A", T + 1000, T + 1000, true),
                (2, "A", T, T + 1003, false),
                (2, "A", T + 1000, T + 1003, false),
                (1, "A", T + 2000, T + 2000, true),
                (2, "A", T + 2000, T + 2001, false),
                (2, "A", T + 3000, T + 3001, true),
            ],
        ),
        (
            "lagging connection: copies dropped, order of arrival irrelevant",
            &[
                (0, "A", T + 1, T + 1, true),
                (0, "A", T + 2, T + 2, true),
                (0, "A", T + 3, T + 3, true),
                (1, "A", T + 1, T + 9, false),
                (1, "A", T + 2, T + 9, false),
                (1, "A", T + 3, T + 9, false),
            ],
        ),
        (
            "leader drops, follower fills the hole",
            &[
                (0, "A", T + 1, T + 1, true),
                (0, "A", T + 3, T + 3, true),
                (1, "A", T + 1, T + 4, false),
                (1, "A", T + 2, T + 4, true),
                (1, "A", T + 3, T + 4, false),
            ],
        ),
        (
            "same time, other symbol is not a copy",
            &[
                (0, "A", T, T, true),
                (1, "B", T, T, true),
                (1, "A", T, T, false),
                (0, "B", T, T, false),
            ],
        ),
        (
            "exact repeat on one connection",
            &[(0, "A", T, T, true), (0, "A", T, T, false)],
        ),
        (
            "an event time in the future makes no later event a copy",
            &[
                (0, "A", i64::MAX, T, true),
                (0, "A", T + 60 * MIN, T, true),
                (0, "A", T, T, true),
                (0, "A", T + 1000, T + 1000, true),
                (1, "A", T + 1000, T + 1001, false),
            ],
        ),
        (
            "a copy minutes late is still a copy (within the horizon)",
            &[(0, "A", T, T, true), (1, "A", T, T + 4 * MIN, false)],
        ),
    ];

    #[test]
    fn table() {
        for (name, events) in CASES {
            let mut d = Dedup::new();
            let mut dropped = 0;
            for &(conn, symbol, time, at, keep) in *events {
                assert_eq!(
                    d.first_seen_at(symbol, time, at),
                    keep,
                    "{name}: conn {conn} {symbol}@{time} received at {at}"
                );
                dropped += u64::from(!keep);
            }
            assert_eq!(d.duplicates(), dropped, "{name}");
            assert_eq!(d.too_old(), 0, "{name}");
        }
    }

    #[test]
    fn horizon_is_configurable() {
        let mut d = Dedup::with_horizon(1000);
        assert_eq!(d.horizon_ms(), 1000);
        for i in 0..=WINDOW as i64 {
            assert!(d.first_seen_at("A", T + i * 1000, T + i * 1000));
        }
        let now = T + WINDOW as i64 * 1000;
        assert!(
            !d.first_seen_at("A", T - 5000, now),
            "older than the horizon"
        );
        assert_eq!((d.duplicates(), d.too_old()), (1, 1));
        assert_eq!(Dedup::with_horizon(-5).horizon_ms(), 0);
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
