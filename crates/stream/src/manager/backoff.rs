//! Reconnect pacing: capped exponential backoff with jitter, and a sliding-window
//! limiter for Binance's caps (300 connection attempts per 5 minutes per IP,
//! 5 incoming control messages per second per connection).

use std::collections::VecDeque;
use std::time::Duration;
use tokio::time::Instant;

/// Capped exponential backoff with jitter: the stream's reconnects, and anything else in
/// the workspace that retries (the recorder's failed checkpoints).
///
/// The n-th delay after a reset is drawn uniformly from `[d/2, d]` where
/// `d = min(initial * 2^n, max)`, so many clients cut off together do not
/// come back in lockstep.
///
/// ```
/// use std::time::Duration;
/// let mut b = stream::Backoff::new(Duration::from_secs(1), Duration::from_secs(4));
/// let delays: Vec<Duration> = (0..4).map(|_| b.next_delay()).collect();
/// for (d, ceiling) in delays.iter().zip([1, 2, 4, 4]) {
///     let ceiling = Duration::from_secs(ceiling);
///     assert!(*d >= ceiling / 2 && *d <= ceiling, "{d:?}");
/// }
/// b.reset();
/// assert!(b.next_delay() <= Duration::from_secs(1));
/// ```
#[derive(Debug, Clone)]
pub struct Backoff {
    initial: Duration,
    max: Duration,
    attempt: u32,
}

impl Backoff {
    /// Delays from `initial`, doubling, up to `max` (at least `initial`).
    pub fn new(initial: Duration, max: Duration) -> Self {
        Backoff {
            initial,
            max: max.max(initial),
            attempt: 0,
        }
    }

    /// The ceiling of the next delay, before jitter.
    fn ceiling(&self) -> Duration {
        let factor = 1u32.checked_shl(self.attempt.min(31)).unwrap_or(u32::MAX);
        self.initial.saturating_mul(factor).min(self.max)
    }

    /// The delay before the next attempt; each call doubles the ceiling.
    pub fn next_delay(&mut self) -> Duration {
        let ceiling = self.ceiling();
        self.attempt = self.attempt.saturating_add(1);
        let half = ceiling / 2;
        let spread = (ceiling - half).as_nanos().min(u64::MAX as u128) as u64;
        half + Duration::from_nanos(fastrand::u64(0..=spread))
    }

    /// Back to the initial delay (after a connection that worked).
    pub fn reset(&mut self) {
        self.attempt = 0;
    }
}

/// The wait before the `retry`-th re-send (from 1) of an unanswered control request:
/// [`super::CONTROL_RETRY_DELAY`] doubled per re-send, at most
/// [`super::CONTROL_RETRY_MAX_DELAY`]; no jitter (one client, one connection).
pub(crate) fn control_retry_delay(retry: u32) -> Duration {
    Backoff {
        initial: super::CONTROL_RETRY_DELAY,
        max: super::CONTROL_RETRY_MAX_DELAY,
        attempt: retry.saturating_sub(1),
    }
    .ceiling()
}

/// Allows at most `max` events in any window of length `window`.
#[derive(Debug, Clone)]
pub(crate) struct RateLimiter {
    max: usize,
    window: Duration,
    recent: VecDeque<Instant>,
}

impl RateLimiter {
    pub(crate) fn new(max: usize, window: Duration) -> Self {
        RateLimiter {
            max: max.max(1),
            window,
            recent: VecDeque::with_capacity(max.max(1)),
        }
    }

    /// The earliest instant at which one more event is allowed.
    pub(crate) fn next_allowed(&mut self, now: Instant) -> Instant {
        while let Some(&oldest) = self.recent.front() {
            if now.saturating_duration_since(oldest) >= self.window {
                self.recent.pop_front();
            } else {
                break;
            }
        }
        if self.recent.len() < self.max {
            now
        } else {
            // The window holds `max` events; the oldest leaving frees a place.
            self.recent[self.recent.len() - self.max] + self.window
        }
    }

    /// Records one event at `now` (call once `next_allowed(now) <= now`).
    pub(crate) fn record(&mut self, now: Instant) {
        self.recent.push_back(now);
        while self.recent.len() > self.max {
            self.recent.pop_front();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_within_jitter_bounds_and_caps() {
        let mut b = Backoff::new(Duration::from_millis(500), Duration::from_secs(30));
        let mut ceiling = Duration::from_millis(500);
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
        assert!(b.next_delay() <= Duration::from_millis(500));
    }

    #[test]
    fn control_retries_wait_1_2_4_8_8_seconds() {
        let got: Vec<u64> = (1..=5).map(|r| control_retry_delay(r).as_secs()).collect();
        assert_eq!(got, [1, 2, 4, 8, 8]);
    }

    #[test]
    fn backoff_survives_huge_attempt_counts() {
        let mut b = Backoff::new(Duration::from_secs(1), Duration::from_secs(30));
        b.attempt = u32::MAX;
        assert!(b.next_delay() <= Duration::from_secs(30));
    }

    #[test]
    fn limiter_allows_max_per_window_then_waits_for_the_oldest() {
        let t0 = Instant::now();
        let mut l = RateLimiter::new(5, Duration::from_secs(1));
        for i in 0..5 {
            let at = t0 + Duration::from_millis(i * 10);
            assert_eq!(l.next_allowed(at), at);
            l.record(at);
        }
        let now = t0 + Duration::from_millis(100);
        assert_eq!(l.next_allowed(now), t0 + Duration::from_secs(1));
        // Once the first event leaves the window, one more is allowed.
        let later = t0 + Duration::from_secs(1);
        assert_eq!(l.next_allowed(later), later);
        l.record(later);
        assert_eq!(
            l.next_allowed(later),
            t0 + Duration::from_millis(10) + Duration::from_secs(1)
        );
    }

    #[test]
    fn connection_limiter_caps_300_attempts_per_5_minutes() {
        let t0 = Instant::now();
        let mut l = RateLimiter::new(300, Duration::from_secs(300));
        let mut now = t0;
        let mut allowed_in_first_window = 0;
        while now < t0 + Duration::from_secs(300) {
            let at = l.next_allowed(now);
            if at >= t0 + Duration::from_secs(300) {
                break;
            }
            l.record(at);
            allowed_in_first_window += 1;
            now = at;
        }
        assert_eq!(allowed_in_first_window, 300);
    }
}
