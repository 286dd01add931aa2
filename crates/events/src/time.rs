//! [`unix_ms`]: wall-clock times as the milliseconds every row and gap carries.

use std::time::{SystemTime, UNIX_EPOCH};

/// Milliseconds since the Unix epoch of `t`; 0 before the epoch, `i64::MAX` past what an
/// `i64` holds.
///
/// ```
/// use std::time::{Duration, UNIX_EPOCH};
/// assert_eq!(events::unix_ms(UNIX_EPOCH + Duration::from_millis(1_500)), 1_500);
/// assert_eq!(events::unix_ms(UNIX_EPOCH - Duration::from_secs(1)), 0);
/// ```
pub fn unix_ms(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}
