//! Pacing: a sliding-window limiter for Binance's caps (300 connection attempts per
//! 5 minutes per IP, 5 incoming control messages per second per connection).
//!
//! The waits themselves (reconnects, control re-sends) are the event core's
//! [`Backoff`](events::Backoff), as every retry of the workspace; the control re-send
//! schedule is [`super::config::control_retry_delay`].

use std::collections::VecDeque;
use std::time::Duration;

use tokio::time::Instant;

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
