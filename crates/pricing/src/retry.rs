//! When and how long to wait before trying a CoinGecko request again.

use std::time::Duration;

use events::Backoff;

/// Retry policy: capped exponential backoff for 5xx and network errors, and a separate
/// wait for rate limits (HTTP 429, or the 429 body CoinGecko sometimes sends with 200).
///
/// ```
/// use std::time::Duration;
/// let p = pricing::RetryPolicy::default();
/// assert_eq!(p.backoff(1), Duration::from_millis(500));
/// assert_eq!(p.backoff(2), Duration::from_secs(1));
/// assert_eq!(p.backoff(30), p.max_delay);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Total attempts per request, the first one included (at least 1).
    pub max_attempts: u32,
    /// Wait before the first retry; doubled at each further retry.
    pub base_delay: Duration,
    /// Cap of the exponential backoff.
    pub max_delay: Duration,
    /// Wait after a rate limit that came without a usable `retry-after` header
    /// (CoinGecko does not document the header; its free tier resets per minute).
    pub rate_limit_delay: Duration,
    /// Cap of any rate-limit wait, `retry-after` included.
    pub max_rate_limit_delay: Duration,
}

impl Default for RetryPolicy {
    /// 4 attempts; 0.5 s, 1 s, 2 s backoff (capped at 8 s); 60 s after an unexplained 429,
    /// never more than 120 s.
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 4,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(8),
            rate_limit_delay: Duration::from_secs(60),
            max_rate_limit_delay: Duration::from_secs(120),
        }
    }
}

impl RetryPolicy {
    /// A policy with no waiting at all, `attempts` attempts: for tests.
    pub fn immediate(attempts: u32) -> RetryPolicy {
        RetryPolicy {
            max_attempts: attempts,
            base_delay: Duration::ZERO,
            max_delay: Duration::ZERO,
            rate_limit_delay: Duration::ZERO,
            max_rate_limit_delay: Duration::ZERO,
        }
    }

    /// Backoff before retry number `retry` (1 = the first retry): `base * 2^(retry-1)`,
    /// capped at `max_delay`, even when `base` is above it (the workspace's one
    /// [`Backoff`], without jitter: a lone client whose waits the README states).
    pub fn backoff(&self, retry: u32) -> Duration {
        let doubling = Backoff::exact(self.base_delay, self.max_delay);
        doubling.nth(retry.saturating_sub(1)).min(self.max_delay)
    }

    /// Wait after a rate limit: the server's `retry-after` when it gave one, else
    /// `rate_limit_delay`; capped at `max_rate_limit_delay`.
    pub fn rate_limit_wait(&self, retry_after: Option<Duration>) -> Duration {
        retry_after
            .unwrap_or(self.rate_limit_delay)
            .min(self.max_rate_limit_delay)
    }
}

/// Parses a `retry-after` header given in seconds (the HTTP-date form is not used by
/// CoinGecko and is ignored).
pub(crate) fn parse_retry_after(value: &str) -> Option<Duration> {
    value.trim().parse::<u64>().ok().map(Duration::from_secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_is_capped() {
        let p = RetryPolicy::default();
        let got: Vec<u64> = (1..=6).map(|r| p.backoff(r).as_millis() as u64).collect();
        assert_eq!(got, [500, 1000, 2000, 4000, 8000, 8000]);
        assert_eq!(p.backoff(u32::MAX), p.max_delay);
        assert_eq!(p.backoff(0), p.base_delay);
        assert_eq!(RetryPolicy::immediate(3).backoff(5), Duration::ZERO);
        let above_the_cap = RetryPolicy {
            base_delay: Duration::from_secs(10),
            ..RetryPolicy::default()
        };
        assert_eq!(above_the_cap.backoff(1), above_the_cap.max_delay);
    }

    #[test]
    fn rate_limit_wait_prefers_retry_after_and_is_capped() {
        let p = RetryPolicy::default();
        assert_eq!(
            p.rate_limit_wait(Some(Duration::from_secs(7))),
            Duration::from_secs(7)
        );
        assert_eq!(p.rate_limit_wait(None), Duration::from_secs(60));
        assert_eq!(
            p.rate_limit_wait(Some(Duration::from_secs(3600))),
            Duration::from_secs(120)
        );
    }

    #[test]
    fn retry_after_parsing() {
        let cases = [
            ("7", Some(7)),
            (" 0 ", Some(0)),
            ("-1", None),
            ("1.5", None),
            ("Wed, 21 Oct 2015 07:28:00 GMT", None),
            ("", None),
        ];
        for (v, want) in cases {
            assert_eq!(parse_retry_after(v), want.map(Duration::from_secs), "{v:?}");
        }
    }
}
