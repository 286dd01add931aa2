//! The hourly loop: a cycle at start, then one at every top of the hour, until
//! SIGINT/SIGTERM (the cycle in flight is finished first).

use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::watch;

/// Time left until the next top of the hour after `now`.
///
/// ```
/// use chrono::{TimeZone, Utc};
/// let now = Utc.with_ymd_and_hms(2026, 11, 23, 19, 59, 30).unwrap();
/// assert_eq!(trader::schedule::until_next_hour(now).as_secs(), 30);
/// ```
pub fn until_next_hour(now: DateTime<Utc>) -> Duration {
    let next = store::db::hour_slot(now).and_utc() + chrono::Duration::hours(1);
    (next - now).to_std().unwrap_or(Duration::ZERO)
}

/// A flag that turns true on SIGINT or SIGTERM.
pub fn shutdown_signal() -> std::io::Result<watch::Receiver<bool>> {
    let (tx, rx) = watch::channel(false);
    #[cfg(unix)]
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::spawn(async move {
        #[cfg(unix)]
        let name = tokio::select! {
            _ = tokio::signal::ctrl_c() => "SIGINT",
            _ = term.recv() => "SIGTERM",
        };
        #[cfg(not(unix))]
        let name = {
            let _ = tokio::signal::ctrl_c().await;
            "Ctrl-C"
        };
        log::info!("{name} received: finishing the cycle in flight, then exiting");
        let _ = tx.send(true);
    });
    Ok(rx)
}

/// Waits until the next top of the hour; false if a shutdown came first.
pub async fn sleep_until_next_hour(shutdown: &mut watch::Receiver<bool>) -> bool {
    if *shutdown.borrow() {
        return false;
    }
    let wait = until_next_hour(Utc::now());
    log::debug!("next cycle in {}s", wait.as_secs());
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
