//! The recorder's metrics: every name is declared here once, with its `# HELP` text in
//! [`describe`], and recorded through the small functions below, which the pipeline calls on
//! one line where the thing happens.
//!
//! They go to whatever [`metrics`] recorder the process installed (the `recorder` binary's
//! `--metrics-addr` installs the Prometheus one, see the `ops` crate); without one they cost
//! a relaxed load and a branch. No metric carries a symbol label: the recorder sees every
//! symbol Binance lists, an unbounded set. Labels are small closed sets: `reason` (the kinds
//! of [`binance::DisconnectReason`], plus `startup` and `other` for gaps), `connection`
//! (the redundant connection's number, 0–3) and `result` (`ok`, `failed`; compaction: `merged`, `nothing`, `failed`).
//!
//! | name | type | what |
//! |---|---|---|
//! | `recorder_frames_received_total` | counter | WebSocket text frames received (decoded or not) |
//! | `recorder_events_received_total` | counter | mini-ticker events received, copies included |
//! | `recorder_events_recorded_total` | counter | events buffered for the dataset (copies not counted) |
//! | `recorder_duplicates_dropped_total` | counter | copies dropped (redundant connections, renewal overlap) |
//! | `recorder_malformed_frames_total` | counter | frames that could not be decoded |
//! | `recorder_malformed_elements_total` | counter | bad elements of `!miniTicker@arr` frames, skipped alone |
//! | `recorder_gaps_total{reason}` | counter | intervals without a live feed, closed |
//! | `recorder_gap_duration_seconds` | histogram | their length (`_sum`: total seconds without feed) |
//! | `recorder_reconnects_total{reason}` | counter | connections that ended, by why |
//! | `recorder_connection_up{connection}` | gauge | 1 while that connection is open |
//! | `recorder_feed_up` | gauge | 1 while at least one connection is live |
//! | `recorder_coverage_ratio` | gauge | share of this run's time with a live feed (0–1) |
//! | `recorder_last_event_timestamp_seconds` | gauge | Unix time the last event was received |
//! | `recorder_last_event_age_seconds` | gauge | seconds since then (updated every second) |
//! | `recorder_checkpoint_duration_seconds` | histogram | checkpoint writes, failed ones included |
//! | `recorder_checkpoints_total{result}` | counter | checkpoints, by outcome |
//! | `recorder_checkpoint_failures_total` | counter | failed checkpoints (rows kept and retried) |
//! | `recorder_checkpoint_retries_total` | counter | checkpoints that retried failed ones (after a backoff) |
//! | `recorder_checkpoint_failing` | gauge | 1 from a failed checkpoint to the next one that works |
//! | `recorder_checkpoint_retry_delay_seconds` | gauge | the backoff before the next retry (0 while checkpoints work) |
//! | `recorder_rows_written_total` | counter | rows published in Parquet files |
//! | `recorder_bytes_written_total` | counter | bytes of the Parquet files published |
//! | `recorder_journal_sync_duration_seconds` | histogram | journal fsyncs (once a second) |
//! | `recorder_queue_depth` | gauge | items waiting between the connections and the recorder |
//! | `recorder_queue_full_total` | counter | times that queue was full and reading paused (never a drop: back-pressure) |
//! | `recorder_pending_rows` | gauge | rows waiting for the next checkpoint |
//! | `recorder_unpublished_age_seconds` | gauge | how long the oldest row not yet published has waited (0: none waits) |
//! | `recorder_symbols_seen` | gauge | distinct symbols recorded in this run |
//! | `recorder_compaction_runs_total{result}` | counter | compaction passes over closed hours (`merged`, `nothing`, `failed`) |
//! | `recorder_compaction_duration_seconds` | histogram | their duration |

use std::path::PathBuf;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, Instant};

use binance::DisconnectReason;
use metrics::{
    counter, describe_counter, describe_gauge, describe_histogram, gauge, histogram, Unit,
};

use binance::StreamItem;
use dataset::TickError;

use dataset::CompactReport;

/// Counter: WebSocket text frames received (decoded or not).
pub const FRAMES_RECEIVED: &str = "recorder_frames_received_total";
/// Counter: mini-ticker events received, copies included.
pub const EVENTS_RECEIVED: &str = "recorder_events_received_total";
/// Counter: events buffered for the dataset (copies not counted).
pub const EVENTS_RECORDED: &str = "recorder_events_recorded_total";
/// Counter: copies dropped (redundant connections, renewal overlap).
pub const DUPLICATES_DROPPED: &str = "recorder_duplicates_dropped_total";
/// Counter: frames that could not be decoded.
pub const MALFORMED_FRAMES: &str = "recorder_malformed_frames_total";
/// Counter: bad elements of `!miniTicker@arr` frames, skipped alone (the rest recorded).
pub const MALFORMED_ELEMENTS: &str = "recorder_malformed_elements_total";
/// Metric: recorder gaps total.
pub const GAPS: &str = "recorder_gaps_total";
/// Histogram: their length (`_sum`: total seconds without feed).
pub const GAP_DURATION: &str = "recorder_gap_duration_seconds";
/// Metric: recorder reconnects total.
pub const RECONNECTS: &str = "recorder_reconnects_total";
/// Metric: recorder connection up.
pub const CONNECTION_UP: &str = "recorder_connection_up";
/// Gauge: 1 while at least one connection is live.
pub const FEED_UP: &str = "recorder_feed_up";
/// Gauge: share of this run's time with a live feed (0–1).
pub const COVERAGE: &str = "recorder_coverage_ratio";
/// Gauge: Unix time the last event was received.
pub const LAST_EVENT_TIMESTAMP: &str = "recorder_last_event_timestamp_seconds";
/// Gauge: seconds since then (updated every second).
pub const LAST_EVENT_AGE: &str = "recorder_last_event_age_seconds";
/// Histogram: checkpoint writes, failed ones included.
pub const CHECKPOINT_DURATION: &str = "recorder_checkpoint_duration_seconds";
/// Metric: recorder checkpoints total.
pub const CHECKPOINTS: &str = "recorder_checkpoints_total";
/// Counter: failed checkpoints (rows kept and retried).
pub const CHECKPOINT_FAILURES: &str = "recorder_checkpoint_failures_total";
/// Counter: checkpoints that retried failed ones (started after a backoff, see the session).
pub const CHECKPOINT_RETRIES: &str = "recorder_checkpoint_retries_total";
/// Gauge: 1 from a failed checkpoint to the next one that works.
pub const CHECKPOINT_FAILING: &str = "recorder_checkpoint_failing";
/// Gauge: the backoff before the next checkpoint retry (0 while checkpoints work).
pub const CHECKPOINT_RETRY_DELAY: &str = "recorder_checkpoint_retry_delay_seconds";
/// Counter: rows published in Parquet files.
pub const ROWS_WRITTEN: &str = "recorder_rows_written_total";
/// Counter: bytes of the Parquet files published.
pub const BYTES_WRITTEN: &str = "recorder_bytes_written_total";
/// Histogram: journal fsyncs (once a second).
pub const JOURNAL_SYNC_DURATION: &str = "recorder_journal_sync_duration_seconds";
/// Gauge: items waiting between the connections and the recorder.
pub const QUEUE_DEPTH: &str = "recorder_queue_depth";
/// Counter: times that queue was full and reading paused (never a drop: back-pressure).
pub const QUEUE_FULL: &str = "recorder_queue_full_total";
/// Gauge: rows waiting for the next checkpoint.
pub const PENDING_ROWS: &str = "recorder_pending_rows";
/// Gauge: seconds the oldest row not yet published has waited (0 when none waits).
pub const UNPUBLISHED_AGE: &str = "recorder_unpublished_age_seconds";
/// Gauge: distinct symbols recorded in this run.
pub const SYMBOLS_SEEN: &str = "recorder_symbols_seen";
/// Metric: recorder compaction runs total.
pub const COMPACTION_RUNS: &str = "recorder_compaction_runs_total";
/// Histogram: their duration.
pub const COMPACTION_DURATION: &str = "recorder_compaction_duration_seconds";

/// Gives every metric above its `# HELP` text and unit; call once after installing a
/// recorder (a metric is listed from its first sample on).
pub fn describe() {
    let counters: &[(&'static str, Unit, &'static str)] = &[
        (
            FRAMES_RECEIVED,
            Unit::Count,
            "WebSocket text frames received, decoded or not",
        ),
        (
            EVENTS_RECEIVED,
            Unit::Count,
            "Mini-ticker events received, copies included",
        ),
        (
            EVENTS_RECORDED,
            Unit::Count,
            "Events buffered for the dataset (copies not counted)",
        ),
        (
            DUPLICATES_DROPPED,
            Unit::Count,
            "Copies dropped (redundant connections, renewal overlap)",
        ),
        (
            MALFORMED_FRAMES,
            Unit::Count,
            "Frames that could not be decoded",
        ),
        (
            MALFORMED_ELEMENTS,
            Unit::Count,
            "Bad elements of !miniTicker@arr frames, skipped alone (the rest recorded)",
        ),
        (
            GAPS,
            Unit::Count,
            "Closed intervals without a live feed, by reason",
        ),
        (RECONNECTS, Unit::Count, "Connections that ended, by reason"),
        (CHECKPOINTS, Unit::Count, "Checkpoints, by result"),
        (
            CHECKPOINT_FAILURES,
            Unit::Count,
            "Failed checkpoints (their rows are kept and retried)",
        ),
        (
            CHECKPOINT_RETRIES,
            Unit::Count,
            "Checkpoints that retried failed ones, after a backoff",
        ),
        (ROWS_WRITTEN, Unit::Count, "Rows published in Parquet files"),
        (
            BYTES_WRITTEN,
            Unit::Bytes,
            "Bytes of the Parquet files published",
        ),
        (
            QUEUE_FULL,
            Unit::Count,
            "Times the queue to the recorder was full and reading paused",
        ),
        (
            COMPACTION_RUNS,
            Unit::Count,
            "Compaction passes over closed hours, by result",
        ),
    ];
    for (name, unit, help) in counters {
        describe_counter!(*name, *unit, *help);
    }
    let gauges: &[(&'static str, Unit, &'static str)] = &[
        (
            CONNECTION_UP,
            Unit::Count,
            "1 while the connection is open, 0 otherwise",
        ),
        (
            FEED_UP,
            Unit::Count,
            "1 while at least one connection is live",
        ),
        (
            COVERAGE,
            Unit::Count,
            "Share of this run's wall time with a live feed (0 to 1)",
        ),
        (
            LAST_EVENT_TIMESTAMP,
            Unit::Seconds,
            "Unix time the last event was received",
        ),
        (
            LAST_EVENT_AGE,
            Unit::Seconds,
            "Seconds since the last event was received",
        ),
        (
            QUEUE_DEPTH,
            Unit::Count,
            "Items waiting between the connections and the recorder",
        ),
        (
            PENDING_ROWS,
            Unit::Count,
            "Rows waiting for the next checkpoint",
        ),
        (
            UNPUBLISHED_AGE,
            Unit::Seconds,
            "How long the oldest row not yet published has waited (0: none waits)",
        ),
        (
            SYMBOLS_SEEN,
            Unit::Count,
            "Distinct symbols recorded in this run",
        ),
        (
            CHECKPOINT_FAILING,
            Unit::Count,
            "1 from a failed checkpoint to the next one that works",
        ),
        (
            CHECKPOINT_RETRY_DELAY,
            Unit::Seconds,
            "Backoff before the next checkpoint retry (0 while checkpoints work)",
        ),
    ];
    for (name, unit, help) in gauges {
        describe_gauge!(*name, *unit, *help);
    }
    let histograms: &[(&'static str, &'static str)] = &[
        (
            CHECKPOINT_DURATION,
            "Duration of checkpoint writes, failed ones included",
        ),
        (JOURNAL_SYNC_DURATION, "Duration of journal syncs"),
        (COMPACTION_DURATION, "Duration of compaction passes"),
        (
            GAP_DURATION,
            "Length of the closed gaps without a live feed",
        ),
    ];
    for (name, help) in histograms {
        describe_histogram!(*name, Unit::Seconds, *help);
    }
}

/// Unix milliseconds at which the last event was received (0: none yet).
static LAST_EVENT_MS: AtomicI64 = AtomicI64::new(0);

/// A received message of `received` events, of which `recorded` were new.
pub(crate) fn message(received_at_ms: i64, received: usize, recorded: usize) {
    counter!(EVENTS_RECEIVED).increment(received as u64);
    counter!(DUPLICATES_DROPPED).increment((received - recorded.min(received)) as u64);
    if received > 0 {
        LAST_EVENT_MS.store(received_at_ms, Ordering::Relaxed);
        gauge!(LAST_EVENT_TIMESTAMP).set(received_at_ms as f64 / 1000.0);
    }
}

/// `n` events went into the buffer.
pub(crate) fn recorded(n: usize) {
    counter!(EVENTS_RECORDED).increment(n as u64);
}

/// What connection `idx` of the session reported: frames, bad frames, connects and
/// disconnections.
pub(crate) fn stream_item(idx: usize, item: &StreamItem) {
    match item {
        StreamItem::Message { rejected, .. } => {
            counter!(FRAMES_RECEIVED).increment(1);
            counter!(MALFORMED_ELEMENTS).increment(rejected.len() as u64);
        }
        StreamItem::Malformed { .. } => {
            counter!(FRAMES_RECEIVED).increment(1);
            counter!(MALFORMED_FRAMES).increment(1);
        }
        StreamItem::Connected { .. } => {
            gauge!(CONNECTION_UP, "connection" => idx.to_string()).set(1.0)
        }
        StreamItem::Disconnected { reason, .. } => {
            counter!(RECONNECTS, "reason" => reason.kind()).increment(1);
            // A renewed connection's successor is already open: the connection stays up.
            if !matches!(reason, DisconnectReason::Renewal) {
                gauge!(CONNECTION_UP, "connection" => idx.to_string()).set(0.0);
            }
        }
        StreamItem::Gap { .. } => {}
    }
}

/// A gap of the dataset closed.
pub(crate) fn gap(gap: &crate::gaps::Gap) {
    counter!(GAPS, "reason" => gap.reason.kind()).increment(1);
    histogram!(GAP_DURATION).record((gap.end_ms - gap.start_ms).max(0) as f64 / 1000.0);
}

/// A checkpoint ran for `took`, published `rows` rows in `files`, and succeeded or not.
pub(crate) fn checkpoint(took: Duration, rows: usize, files: &[PathBuf], ok: bool) {
    histogram!(CHECKPOINT_DURATION).record(took.as_secs_f64());
    counter!(CHECKPOINTS, "result" => if ok { "ok" } else { "failed" }).increment(1);
    if !ok {
        counter!(CHECKPOINT_FAILURES).increment(1);
    }
    if !files.is_empty() {
        counter!(ROWS_WRITTEN).increment(rows as u64);
        let bytes: u64 = files
            .iter()
            .filter_map(|p| std::fs::metadata(p).ok())
            .map(|m| m.len())
            .sum();
        counter!(BYTES_WRITTEN).increment(bytes);
    }
}

/// A checkpoint starts that retries failed ones.
pub(crate) fn checkpoint_retry() {
    counter!(CHECKPOINT_RETRIES).increment(1);
}

/// Checkpoints fail and the next retry waits `retry_in`, or (`None`) they work.
pub(crate) fn checkpoint_failing(retry_in: Option<Duration>) {
    gauge!(CHECKPOINT_FAILING).set(if retry_in.is_some() { 1.0 } else { 0.0 });
    gauge!(CHECKPOINT_RETRY_DELAY).set(retry_in.map_or(0.0, |d| d.as_secs_f64()));
}

/// Runs `sync`, a journal sync, and records its duration.
pub(crate) fn journal_synced<T>(sync: impl FnOnce() -> T) -> T {
    let started = Instant::now();
    let result = sync();
    histogram!(JOURNAL_SYNC_DURATION).record(started.elapsed().as_secs_f64());
    result
}

/// Runs `compact`, a compaction pass, and records its duration and outcome.
pub(crate) fn compacted(
    compact: impl FnOnce() -> Result<CompactReport, TickError>,
) -> Result<CompactReport, TickError> {
    let started = Instant::now();
    let result = compact();
    histogram!(COMPACTION_DURATION).record(started.elapsed().as_secs_f64());
    let label = match &result {
        Ok(report) if report.merged.is_empty() => "nothing",
        Ok(_) => "merged",
        Err(_) => "failed",
    };
    counter!(COMPACTION_RUNS, "result" => label).increment(1);
    result
}

/// The once-a-second view of the session.
pub(crate) struct Status {
    pub(crate) now_ms: i64,
    pub(crate) symbols: usize,
    pub(crate) pending: usize,
    pub(crate) unpublished_age: Option<Duration>,
    pub(crate) coverage_pct: f64,
    pub(crate) feed_up: bool,
    pub(crate) queue_depth: usize,
    pub(crate) queue_full: u64,
}

/// Sets the gauges that describe the session as a whole.
pub(crate) fn status(s: Status) {
    gauge!(SYMBOLS_SEEN).set(s.symbols as f64);
    gauge!(PENDING_ROWS).set(s.pending as f64);
    gauge!(UNPUBLISHED_AGE).set(s.unpublished_age.map_or(0.0, |a| a.as_secs_f64()));
    gauge!(COVERAGE).set(s.coverage_pct / 100.0);
    gauge!(FEED_UP).set(if s.feed_up { 1.0 } else { 0.0 });
    gauge!(QUEUE_DEPTH).set(s.queue_depth as f64);
    counter!(QUEUE_FULL).absolute(s.queue_full);
    let last = LAST_EVENT_MS.load(Ordering::Relaxed);
    if last > 0 {
        gauge!(LAST_EVENT_AGE).set((s.now_ms - last).max(0) as f64 / 1000.0);
    }
}
