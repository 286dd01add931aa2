//! Event times the recorder does not believe: quarantined per element, never allowed to
//! stop a checkpoint.
//!
//! Binance stamps every mini-ticker with its event time `E` (ms since the Unix epoch), a few
//! milliseconds before the recorder receives it. An element whose `E` is further than
//! [`MAX_SKEW_MS`] from the local receive time (a server bug, a hostile peer,
//! `"E":9223372036854775807`), or that has no calendar date at all, would otherwise land in
//! a nonsensical date partition, make every checkpoint fail ("outside the representable date
//! range"), or blind the de-duplication ([`events::dedup`], whose horizon the recorder sets to [`MAX_SKEW_MS`]). Such an element is taken out
//! before de-duplication and buffering, counted and logged with an excerpt; the frame that
//! carried it stays in the journal as received. Journal replay applies the same rule with
//! the journaled receive time, so the live path and recovery agree.

use binance::MiniTicker;

/// Largest accepted distance, either way, between an event time and its receive time
/// (5 minutes: far beyond network delay, within what an unsynchronised clock drifts).
pub const MAX_SKEW_MS: i64 = 5 * 60 * 1000;

/// Latest event time with a date the dataset can name: 9999-12-31T23:59:59.999Z.
pub const LAST_REPRESENTABLE_MS: i64 = 253_402_300_799_999;

/// Why an event time is not believed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Implausible {
    /// Before 1970 or after year 9999.
    #[error("event time {0} ms is outside the representable date range")]
    OutOfRange(i64),
    /// Further than [`MAX_SKEW_MS`] from the receive time.
    #[error(
        "event time {event_time} ms is {skew_ms} ms from the receive time {received_at_ms} ms"
    )]
    Skewed {
        /// The element's `E`.
        event_time: i64,
        /// When its frame was received.
        received_at_ms: i64,
        /// `event_time - received_at_ms`.
        skew_ms: i64,
    },
}

/// Checks one event time; `received_at_ms` is `None` where no receive time is known (then
/// only the range is checked).
///
/// # Errors
///
/// [`Implausible`] naming why: an event time outside what a date can hold, or (with a
/// receive time) too far from it.
///
/// ```
/// use record::quarantine::{check, Implausible};
/// let now = 1_764_547_200_000;
/// assert!(check(now - 20, Some(now)).is_ok());
/// assert!(matches!(check(i64::MAX, Some(now)), Err(Implausible::OutOfRange(_))));
/// assert!(matches!(check(now + 3_600_000, Some(now)), Err(Implausible::Skewed { .. })));
/// assert!(check(now + 3_600_000, None).is_ok());
/// ```
pub fn check(event_time: i64, received_at_ms: Option<i64>) -> Result<(), Implausible> {
    if !(0..=LAST_REPRESENTABLE_MS).contains(&event_time) {
        return Err(Implausible::OutOfRange(event_time));
    }
    match received_at_ms {
        Some(received_at_ms) => {
            let skew_ms = event_time.saturating_sub(received_at_ms);
            if skew_ms.saturating_abs() > MAX_SKEW_MS {
                return Err(Implausible::Skewed {
                    event_time,
                    received_at_ms,
                    skew_ms,
                });
            }
            Ok(())
        }
        None => Ok(()),
    }
}

/// Moves the implausible elements of `tickers` (order kept) into the returned vector, each
/// with its reason.
pub fn split(
    tickers: &mut Vec<MiniTicker>,
    received_at_ms: Option<i64>,
) -> Vec<(MiniTicker, Implausible)> {
    if tickers
        .iter()
        .all(|t| check(t.event_time, received_at_ms).is_ok())
    {
        return Vec::new();
    }
    let mut out = Vec::new();
    let mut kept = Vec::with_capacity(tickers.len());
    for t in tickers.drain(..) {
        match check(t.event_time, received_at_ms) {
            Ok(()) => kept.push(t),
            Err(why) => out.push((t, why)),
        }
    }
    *tickers = kept;
    out
}

/// Counts quarantined elements and logs them (the first 20, then one in 1,000).
#[derive(Debug, Default)]
pub(crate) struct Counter {
    count: u64,
}

impl Counter {
    pub fn note(&mut self, quarantined: &[(MiniTicker, Implausible)], source: &str) {
        for (t, why) in quarantined {
            self.count += 1;
            if self.count <= 20 || self.count.is_multiple_of(1000) {
                log::warn!(
                    "{source}: quarantined the element {{\"s\":\"{}\",\"E\":{},..}}: {why} ({} so far)",
                    t.symbol,
                    t.event_time,
                    self.count
                );
            }
        }
    }

    pub fn count(&self) -> u64 {
        self.count
    }
}
