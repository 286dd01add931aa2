//! When the session's next checkpoint starts: the regular interval while checkpoints work,
//! a capped exponential backoff while they fail.
//!
//! A checkpoint that fails (the object store down, a 5xx or throttling that outlasted
//! `object_store`'s own short request retries, a full disk) keeps its rows: they stay
//! journaled and buffered, and the next checkpoint writes them first
//! ([`crate::Recorder::start_checkpoint`]). [`Schedule`] decides when that next attempt
//! is: after the first failure of a streak [`FIRST_RETRY`] later, then doubling, never
//! more than the checkpoint interval (so a failing store is never tried less often than a
//! working one is written), with jitter from [`events::Backoff`] (the delay drawn from
//! `[d/2, d]`). The first success ends the streak: the backoff resets and the regular
//! interval resumes from that checkpoint.
//!
//! It also says how to report a streak: its first failure is reported (one log line, the
//! health check), the later ones are only counted, and its end is reported once with how
//! many attempts failed and for how long; a line per failed attempt would flood the log
//! during a long outage.
//!
//! The type is pure: every call takes the current instant, so the tests drive it with
//! instants of their own.

use std::time::Duration;

use events::Backoff;
use tokio::time::Instant;

/// The wait after the first failure of a streak (the checkpoint interval if shorter).
pub(crate) const FIRST_RETRY: Duration = Duration::from_secs(1);

/// The checkpoint schedule of a session (see the [module docs](self)).
#[derive(Debug, Clone)]
pub(crate) struct Schedule {
    every: Duration,
    next: Instant,
    backoff: Backoff,
    streak: Option<Streak>,
}

/// Consecutive failed checkpoints.
#[derive(Debug, Clone, Copy)]
struct Streak {
    failures: u32,
    since: Instant,
}

/// What a failed checkpoint did to the schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Failed {
    /// Failures in a row, this one included (1: the first of a streak, to report).
    pub(crate) failures: u32,
    /// The wait before the next attempt.
    pub(crate) retry_in: Duration,
}

/// A streak of failures ended by a checkpoint that worked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Recovered {
    /// Attempts that failed in a row.
    pub(crate) failures: u32,
    /// From the first failure to the success.
    pub(crate) lasted: Duration,
}

impl Schedule {
    /// Checkpoints every `every` from `start` (the first one at `start + every`).
    pub(crate) fn new(start: Instant, every: Duration) -> Self {
        let first = FIRST_RETRY.min(every);
        Schedule {
            every,
            next: start + every,
            backoff: Backoff::new(first, every),
            streak: None,
        }
    }

    /// When the next checkpoint is due.
    pub(crate) fn due(&self) -> Instant {
        self.next
    }

    /// True from a failure to the next success.
    pub(crate) fn failing(&self) -> bool {
        self.streak.is_some()
    }

    /// A checkpoint starts at `now` (when it was due, or later): unless it fails, the next
    /// one is an interval after the one that was due, or an interval after `now` if that
    /// is already past (a checkpoint that ran long delays the next, it never makes a burst).
    /// Returns true if this attempt retries a failed one.
    pub(crate) fn started(&mut self, now: Instant) -> bool {
        let regular = self.next + self.every;
        self.next = if regular > now {
            regular
        } else {
            now + self.every
        };
        self.failing()
    }

    /// The checkpoint started last failed at `now`: the next attempt waits for the
    /// backoff's next delay.
    pub(crate) fn failed(&mut self, now: Instant) -> Failed {
        let streak = self.streak.get_or_insert(Streak {
            failures: 0,
            since: now,
        });
        streak.failures = streak.failures.saturating_add(1);
        let failures = streak.failures;
        let retry_in = self.backoff.next_delay();
        self.next = now + retry_in;
        Failed { failures, retry_in }
    }

    /// The checkpoint started last worked (it published, or had nothing to publish) at
    /// `now`: a streak ends, the backoff starts over, the regular interval goes on.
    pub(crate) fn succeeded(&mut self, now: Instant) -> Option<Recovered> {
        let streak = self.streak.take()?;
        self.backoff.reset();
        Some(Recovered {
            failures: streak.failures,
            lasted: now.saturating_duration_since(streak.since),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEC: Duration = Duration::from_secs(1);

    /// Asserts `got` is in the jitter range `[ceiling/2, ceiling]`.
    fn within(got: Duration, ceiling: Duration) {
        assert!(
            got >= ceiling / 2 && got <= ceiling,
            "{got:?} outside [{:?}, {ceiling:?}]",
            ceiling / 2
        );
    }

    #[test]
    fn checkpoints_that_work_keep_the_interval() {
        let t0 = Instant::now();
        let mut s = Schedule::new(t0, 60 * SEC);
        assert_eq!(s.due(), t0 + 60 * SEC);
        // Started a little late: the cadence stays on the grid.
        assert!(!s.started(t0 + 60 * SEC + Duration::from_millis(5)));
        assert_eq!(s.succeeded(t0 + 61 * SEC), None);
        assert_eq!(s.due(), t0 + 120 * SEC);
        // One that ran past the next due time: the next starts at once, then an interval on.
        s.started(t0 + 120 * SEC);
        assert_eq!(s.succeeded(t0 + 250 * SEC), None);
        assert_eq!(s.due(), t0 + 180 * SEC);
        s.started(t0 + 250 * SEC);
        assert_eq!(s.due(), t0 + 310 * SEC);
        assert!(!s.failing());
    }

    #[test]
    fn failures_back_off_from_one_second_doubling_up_to_the_interval() {
        let t0 = Instant::now();
        let every = 10 * SEC;
        let mut s = Schedule::new(t0, every);
        let mut now = s.due();
        for (n, ceiling) in [1, 2, 4, 8, 10, 10, 10].into_iter().enumerate() {
            assert_eq!(s.started(now), n > 0, "attempt {n} is a retry");
            let failed = s.failed(now);
            assert_eq!(failed.failures, n as u32 + 1);
            within(failed.retry_in, ceiling * SEC);
            assert_eq!(s.due(), now + failed.retry_in);
            assert!(s.failing());
            now = s.due();
        }
        // The success ends the streak, says how long it lasted, and resets the backoff.
        assert!(s.started(now));
        let recovered = s.succeeded(now + SEC).unwrap();
        assert_eq!(recovered.failures, 7);
        assert_eq!(recovered.lasted, now + SEC - (t0 + every));
        assert!(!s.failing());
        assert_eq!(s.due(), now + every, "the regular interval resumes");
        s.started(s.due());
        within(s.failed(s.due()).retry_in, SEC);
    }

    #[test]
    fn a_short_interval_caps_the_first_retry_too() {
        let t0 = Instant::now();
        let every = Duration::from_millis(300);
        let mut s = Schedule::new(t0, every);
        for _ in 0..5 {
            let now = s.due();
            s.started(now);
            within(s.failed(now).retry_in, every);
        }
    }

    #[test]
    fn a_checkpoint_refused_at_start_counts_as_a_failure() {
        // E.g. the lease is not held: `start_checkpoint` fails, nothing ran.
        let t0 = Instant::now();
        let mut s = Schedule::new(t0, 5 * SEC);
        s.started(t0 + 5 * SEC);
        let first = s.failed(t0 + 5 * SEC);
        assert_eq!(first.failures, 1);
        assert!(s.due() <= t0 + 6 * SEC);
    }
}
