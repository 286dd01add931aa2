//! When cycles run: at every top of the hour (or every fixed period), until the shutdown
//! flag (`logging::shutdown_signal` in the binary) turns true.

use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::watch;

/// Time left until the next top of the hour after `now`.
///
/// ```
/// use chrono::{TimeZone, Utc};
/// let now = Utc.with_ymd_and_hms(2026, 11, 23, 19, 59, 30).unwrap();
/// assert_eq!(trading::schedule::until_next_hour(now).as_secs(), 30);
/// ```
pub fn until_next_hour(now: DateTime<Utc>) -> Duration {
    let next = ledger::hour_slot(now).and_utc() + chrono::Duration::hours(1);
    (next - now).to_std().unwrap_or(Duration::ZERO)
}

/// When the long-running mode starts its cycles.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cadence {
    /// At every top of the hour (the contract's default).
    Hourly,
    /// Every fixed period after the previous cycle started (demos and tests; the one
    /// buy per coin per hourly slot still holds).
    Every(Duration),
}

impl Cadence {
    /// Time left until the next cycle after `now`, when the last one started at `started`.
    ///
    /// ```
    /// use chrono::{TimeZone, Utc};
    /// use std::time::Duration;
    /// use trading::schedule::Cadence;
    /// let now = Utc.with_ymd_and_hms(2026, 11, 23, 19, 59, 30).unwrap();
    /// assert_eq!(Cadence::Hourly.wait(now, now).as_secs(), 30);
    /// let every = Cadence::Every(Duration::from_secs(5));
    /// assert_eq!(every.wait(now - chrono::Duration::seconds(2), now).as_secs(), 3);
    /// ```
    pub fn wait(self, started: DateTime<Utc>, now: DateTime<Utc>) -> Duration {
        match self {
            Cadence::Hourly => until_next_hour(now),
            Cadence::Every(period) => {
                let elapsed = (now - started).to_std().unwrap_or(Duration::ZERO);
                period.saturating_sub(elapsed)
            }
        }
    }
}

/// "hourly" or "every 5s".
impl std::fmt::Display for Cadence {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Cadence::Hourly => f.write_str("hourly"),
            Cadence::Every(d) => write!(f, "every {}s", d.as_secs_f64()),
        }
    }
}

/// Waits until the next cycle of `cadence` (the last one started at `started`); false if
/// a shutdown came first.
pub async fn sleep_until_next(
    cadence: Cadence,
    started: DateTime<Utc>,
    shutdown: &mut watch::Receiver<bool>,
) -> bool {
    if *shutdown.borrow() {
        return false;
    }
    let wait = cadence.wait(started, Utc::now());
    log::debug!("next cycle in {:.1}s", wait.as_secs_f64());
    tokio::select! {
        _ = tokio::time::sleep(wait) => true,
        _ = shutdown.changed() => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn next_hour() {
        let cases = [
            ((19, 0, 0), 3600),
            ((19, 0, 1), 3599),
            ((19, 59, 59), 1),
            ((23, 30, 0), 1800),
        ];
        for ((h, m, s), want) in cases {
            let now = Utc.with_ymd_and_hms(2026, 11, 23, h, m, s).unwrap();
            assert_eq!(until_next_hour(now).as_secs(), want, "{now}");
        }
    }
}
