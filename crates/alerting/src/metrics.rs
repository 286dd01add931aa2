//! The alerter's metrics, each name declared once here (with its `# HELP` text in
//! [`describe`]). Symbols are the watched ones (a bounded set chosen by the user), so alerts
//! carry a `symbol` label; `sink` is `exec` or `webhook`.
//!
//! | name | type | what |
//! |---|---|---|
//! | `alerter_updates_total` | counter | new price updates of watched symbols |
//! | `alerter_alerts_total{symbol,direction}` | counter | alerts raised |
//! | `alerter_sink_failures_total{sink}` | counter | `--exec`/`--webhook` deliveries that failed or were dropped |
//! | `alerter_malformed_frames_total` | counter | frames that could not be read |
//! | `alerter_feed_up` | gauge | 1 while the price feed is connected |
//! | `alerter_last_update_timestamp_seconds` | gauge | Unix time of the last update received |

use metrics::{counter, describe_counter, describe_gauge, gauge, Unit};

/// Counter: new price updates of watched symbols.
pub const UPDATES: &str = "alerter_updates_total";
/// Metric: alerter alerts total.
pub const ALERTS: &str = "alerter_alerts_total";
/// Metric: alerter sink failures total.
pub const SINK_FAILURES: &str = "alerter_sink_failures_total";
/// Counter: frames that could not be read.
pub const MALFORMED_FRAMES: &str = "alerter_malformed_frames_total";
/// Gauge: 1 while the price feed is connected.
pub const FEED_UP: &str = "alerter_feed_up";
/// Gauge: Unix time of the last update received.
pub const LAST_UPDATE_TIMESTAMP: &str = "alerter_last_update_timestamp_seconds";

/// Gives every metric above its `# HELP` text; call once after installing a recorder.
pub fn describe() {
    // `--publish` / `--source`: the bus's own counters.
    bus::metrics::describe();
    describe_counter!(UPDATES, Unit::Count, "New price updates of watched symbols");
    describe_counter!(
        ALERTS,
        Unit::Count,
        "Alerts raised, by symbol and direction"
    );
    describe_counter!(
        SINK_FAILURES,
        Unit::Count,
        "Alert deliveries (--exec, --webhook) that failed or were dropped, by sink"
    );
    describe_counter!(
        MALFORMED_FRAMES,
        Unit::Count,
        "Frames that could not be read"
    );
    describe_gauge!(FEED_UP, Unit::Count, "1 while the price feed is connected");
    describe_gauge!(
        LAST_UPDATE_TIMESTAMP,
        Unit::Seconds,
        "Unix time the last price update was received"
    );
}

/// A new update of a watched symbol.
pub(crate) fn update() {
    counter!(UPDATES).increment(1);
}

/// An alert was raised.
pub(crate) fn alert(alert: &alert::Alert) {
    let labels = [
        ("symbol", alert.symbol.as_str().to_owned()),
        ("direction", alert.direction.as_str().to_owned()),
    ];
    counter!(ALERTS, &labels).increment(1);
}

/// A delivery to `sink` (`--exec`, `--webhook`) failed or was dropped.
pub(crate) fn sink_failed(sink: &'static str) {
    counter!(SINK_FAILURES, "sink" => sink.trim_start_matches("--")).increment(1);
}

/// A frame could not be read.
pub(crate) fn malformed() {
    counter!(MALFORMED_FRAMES).increment(1);
}

/// The feed is connected (`true`) or lost.
pub(crate) fn feed_up(up: bool) {
    gauge!(FEED_UP).set(if up { 1.0 } else { 0.0 });
}

/// A message of prices arrived at `at`.
pub(crate) fn prices_received(at: std::time::SystemTime) {
    let secs = at
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64());
    gauge!(LAST_UPDATE_TIMESTAMP).set(secs);
}
