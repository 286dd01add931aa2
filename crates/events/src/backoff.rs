//! [`Backoff`]: the workspace's one capped exponential backoff.
//!
//! Everything that waits before trying again uses it: the stream's reconnects and
//! unanswered control requests, CoinGecko retries, the bus publisher and subscriber, the
//! recorder's failed checkpoints, the alerter's prompt checks. Each caller picks its first
//! delay and its cap; this module says how delays grow between them, once.
//!
//! # The rule
//!
//! The `n`-th delay after a reset (from 0) has the ceiling `min(initial * 2^n, max)`.
//! [`Backoff::new`] draws each delay uniformly from `[ceiling/2, ceiling]`, so that many
//! clients cut off together do not come back in lockstep; [`Backoff::exact`] waits the
//! ceiling itself, for a lone client whose waits a user reads in its documentation.

use std::time::Duration;

/// Capped exponential backoff, with or without jitter (see the [module docs](self)).
///
/// ```
/// use std::time::Duration;
/// let mut b = events::Backoff::new(Duration::from_secs(1), Duration::from_secs(4));
/// let delays: Vec<Duration> = (0..4).map(|_| b.next_delay()).collect();
/// for (d, ceiling) in delays.iter().zip([1, 2, 4, 4]) {
///     let ceiling = Duration::from_secs(ceiling);
///     assert!(*d >= ceiling / 2 && *d <= ceiling, "{d:?}");
/// }
/// b.reset();
/// assert!(b.next_delay() <= Duration::from_secs(1));
///
/// let mut exact = events::Backoff::exact(Duration::from_millis(500), Duration::from_secs(2));
/// let waits: Vec<u128> = (0..4).map(|_| exact.next_delay().as_millis()).collect();
/// assert_eq!(waits, [500, 1_000, 2_000, 2_000]);
/// ```
#[derive(Debug, Clone)]
pub struct Backoff {
    initial: Duration,
    max: Duration,
    attempt: u32,
    jitter: bool,
}

impl Backoff {
    /// Delays from `initial`, doubling, up to `max` (at least `initial`), each drawn from
    /// `[ceiling/2, ceiling]`.
    pub fn new(initial: Duration, max: Duration) -> Self {
        Backoff {
            initial,
            max: max.max(initial),
            attempt: 0,
            jitter: true,
        }
    }

    /// Delays from `initial`, doubling, up to `max` (at least `initial`), exactly.
    pub fn exact(initial: Duration, max: Duration) -> Self {
        Backoff {
            jitter: false,
            ..Backoff::new(initial, max)
        }
    }

    /// The ceiling of the `n`-th delay after a reset (from 0): `min(initial * 2^n, max)`,
    /// without jitter. Pure: the state is unchanged.
    ///
    /// ```
    /// use std::time::Duration;
    /// let b = events::Backoff::exact(Duration::from_secs(1), Duration::from_secs(8));
    /// let got: Vec<u64> = (0..6).map(|n| b.nth(n).as_secs()).collect();
    /// assert_eq!(got, [1, 2, 4, 8, 8, 8]);
    /// assert_eq!(b.nth(u32::MAX), Duration::from_secs(8));
    /// ```
    pub fn nth(&self, n: u32) -> Duration {
        let factor = 1u32.checked_shl(n.min(31)).unwrap_or(u32::MAX);
        self.initial.saturating_mul(factor).min(self.max)
    }

    /// The delay before the next attempt; each call doubles the ceiling, up to the cap.
    pub fn next_delay(&mut self) -> Duration {
        let ceiling = self.nth(self.attempt);
        self.attempt = self.attempt.saturating_add(1);
        if !self.jitter {
            return ceiling;
        }
        let half = ceiling / 2;
        let spread = (ceiling - half).as_nanos().min(u64::MAX as u128) as u64;
        half + Duration::from_nanos(fastrand::u64(0..=spread))
    }

    /// Back to the initial delay (after an attempt that worked).
    pub fn reset(&mut self) {
        self.attempt = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: fn(u64) -> Duration = Duration::from_millis;

    #[test]
    fn delays_double_within_jitter_bounds_and_cap() {
        let mut b = Backoff::new(MS(500), Duration::from_secs(30));
        let mut ceiling = MS(500);
        for _ in 0..20 {
            let d = b.next_delay();
            assert!(
                d >= ceiling / 2 && d <= ceiling,
                "{d:?} outside [{:?}, {ceiling:?}]",
                ceiling / 2
            );
            ceiling = (ceiling * 2).min(Duration::from_secs(30));
        }
        b.reset();
        assert!(b.next_delay() <= MS(500));
    }

    #[test]
    fn exact_delays_are_the_ceilings() {
        // (initial ms, max ms, the first delays)
        let table: &[(u64, u64, &[u64])] = &[
            (200, 2_000, &[200, 400, 800, 1_600, 2_000, 2_000]),
            (1_000, 8_000, &[1_000, 2_000, 4_000, 8_000, 8_000]),
            (500, 100, &[500, 500]), // a cap below the first delay is the first delay
            (0, 1_000, &[0, 0, 0]),
        ];
        for &(initial, max, want) in table {
            let mut b = Backoff::exact(MS(initial), MS(max));
            let got: Vec<u64> = want
                .iter()
                .map(|_| b.next_delay().as_millis() as u64)
                .collect();
            assert_eq!(got, want, "initial {initial} ms, max {max} ms");
            b.reset();
            assert_eq!(b.next_delay(), MS(initial.min(max).max(initial)));
        }
    }

    #[test]
    fn huge_attempt_counts_stay_at_the_cap() {
        let mut b = Backoff::new(Duration::from_secs(1), Duration::from_secs(30));
        b.attempt = u32::MAX;
        assert!(b.next_delay() <= Duration::from_secs(30));
        assert_eq!(b.attempt, u32::MAX);
        let huge = Backoff::exact(Duration::MAX, Duration::MAX);
        assert_eq!(huge.nth(40), Duration::MAX);
    }
}
