//! [`StreamConfig`]: what a manager connects to and how patiently, and the Binance limits
//! it keeps (connection attempts, control messages per second, control-reply waits).
//!
//! Every field has a default that follows Binance's rules ([`StreamConfig::new`]); a test or
//! a binary changes single fields after it:
//!
//! ```
//! let mut config = binance::StreamConfig::new("ws://127.0.0.1:9443", vec!["btcusdt@miniTicker".into()]);
//! config.idle_timeout = std::time::Duration::from_secs(3);
//! assert!(!config.combined); // one stream: the raw `/ws/` endpoint
//! ```

use std::time::Duration;

use events::{Backoff, Invalid, Problem};

/// Stream names go into a URL path or query (percent-encoded, see `url`) and a JSON list.
/// Non-ASCII names (`币安人生usdt@miniTicker`) are fine; blanks, control characters and the
/// ASCII characters that separate URL parts or streams are not.
pub(super) fn valid_stream_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 200
        && name.chars().all(|c| {
            if c.is_ascii() {
                c.is_ascii_graphic() && !"/?#&%\"\\".contains(c)
            } else {
                !c.is_control() && !c.is_whitespace()
            }
        })
}

/// Binance's cap on the streams of one connection.
pub const MAX_STREAMS_PER_CONNECTION: usize = 1024;
/// Binance cuts every connection after this long.
pub const MAX_CONNECTION_LIFETIME: Duration = Duration::from_secs(24 * 3600);

/// Binance's cap on connection attempts per IP: this many per 5 minutes.
pub const MAX_CONNECT_ATTEMPTS: usize = 300;
/// Binance's cap on control messages a client may send per second per connection.
pub const MAX_CONTROL_MESSAGES_PER_SECOND: usize = 5;
/// Default of [`StreamConfig::control_reply_timeout`]: how long one attempt of a control
/// request (`SUBSCRIBE`, ...) waits for Binance's reply before it is sent again.
pub const CONTROL_REPLY_TIMEOUT: Duration = Duration::from_secs(5);
/// Default of [`StreamConfig::control_attempts`].
pub const CONTROL_ATTEMPTS: u32 = 3;
/// Wait before the first re-send of an unanswered control request; doubled per re-send,
/// at most [`CONTROL_RETRY_MAX_DELAY`].
pub const CONTROL_RETRY_DELAY: Duration = Duration::from_secs(1);
/// Longest wait between two attempts of a control request.
pub const CONTROL_RETRY_MAX_DELAY: Duration = Duration::from_secs(8);

/// What to connect to and how patiently.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamConfig {
    /// e.g. `wss://stream.binance.com:9443` or `ws://127.0.0.1:PORT`.
    pub base_url: String,
    /// e.g. `["!miniTicker@arr"]` or `["btcusdt@miniTicker", ...]`.
    pub streams: Vec<String>,
    /// `true`: `/stream?streams=a/b` (frames wrapped in `{"stream":..,"data":..}`);
    /// `false`: `/ws/<first>` plus a `SUBSCRIBE` for the rest.
    pub combined: bool,
    /// No frame at all (data, ping or pong) for this long = dead connection.
    pub idle_timeout: Duration,
    /// First reconnect delay.
    pub initial_backoff: Duration,
    /// Reconnect delay ceiling (capped exponential backoff with jitter).
    pub max_backoff: Duration,
    /// Renew a connection after this long; Binance cuts connections at 24 h.
    ///
    /// Renewal leaves no gap: a new connection to the same streams is opened
    /// while the old one keeps delivering, and the old one is closed once the
    /// new one has delivered its first data frame (or after at most 10 s). If
    /// the new one cannot connect, the old one is kept and the attempt retried
    /// with backoff until the old one ends; only then is there a
    /// [`StreamItem::Gap`](super::StreamItem::Gap). `serverShutdown` starts the same renewal at once; when it
    /// repeats within a minute, after a backoff that doubles from `initial_backoff` to
    /// `max_backoff` (a server announcing it on every connection gets no reconnect storm).
    ///
    /// During the overlap both connections deliver, so the same event can
    /// arrive twice: de-duplicate with `events::Dedup` if that matters.
    pub max_connection_age: Duration,
    /// Items buffered for a slow consumer before the manager waits (backpressure).
    pub channel_capacity: usize,
    /// How long one attempt of a control request (`SUBSCRIBE`, `UNSUBSCRIBE`,
    /// `LIST_SUBSCRIPTIONS`) waits for its reply. An unanswered request is sent again, with
    /// the same id, after [`CONTROL_RETRY_DELAY`] (doubled per re-send), through the same
    /// 5-per-second pacing as every control message.
    pub control_reply_timeout: Duration,
    /// Attempts of a control request before the connection is taken for broken and
    /// replaced ([`DisconnectReason::ControlUnanswered`](super::DisconnectReason::ControlUnanswered)); the streams are remembered, so
    /// the next connection carries them. At least 1.
    pub control_attempts: u32,
    /// Decode with [`decode_elements_spanned`](crate::decode_elements_spanned): every
    /// [`StreamItem::Message`](super::StreamItem::Message) then carries the span of each
    /// mini ticker's element in the frame, for a consumer that forwards elements as sent
    /// (the recorder when it publishes). Off by default: it costs a scan of each frame.
    pub element_spans: bool,
}

impl StreamConfig {
    /// Defaults: idle 10 s, backoff 500 ms to 30 s, renewal after 23 h 50 min,
    /// 1024 buffered items, combined when there is more than one stream, control replies
    /// awaited 5 s per attempt, 3 attempts, no element spans.
    pub fn new(base_url: impl Into<String>, streams: Vec<String>) -> Self {
        StreamConfig {
            base_url: base_url.into(),
            combined: streams.len() > 1,
            streams,
            idle_timeout: Duration::from_secs(10),
            initial_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(30),
            max_connection_age: Duration::from_secs(23 * 3600 + 50 * 60),
            channel_capacity: 1024,
            control_reply_timeout: CONTROL_REPLY_TIMEOUT,
            control_attempts: CONTROL_ATTEMPTS,
            element_spans: false,
        }
    }

    /// Every problem of this configuration (the [pattern](events::Invalid)): a base URL
    /// that is not `ws://`/`wss://`, a stream name Binance cannot take, more streams than a
    /// connection carries, a zero timeout, attempt count or capacity, a backoff whose cap is
    /// below its start, a renewal after Binance's 24-hour cut.
    ///
    /// ```
    /// let mut config = binance::StreamConfig::new("http://host", vec!["btc usdt".into()]);
    /// config.idle_timeout = std::time::Duration::ZERO;
    /// let err = config.validate().unwrap_err();
    /// assert_eq!(err.0.len(), 3, "{err}");
    /// assert!(binance::StreamConfig::new("wss://h", vec!["!miniTicker@arr".into()]).validate().is_ok());
    /// ```
    ///
    /// # Errors
    ///
    /// [`Invalid`] with every problem found.
    pub fn validate(&self) -> Result<(), Invalid> {
        let mut problems = Vec::new();
        let mut problem = |field: &str, what: String| problems.push(Problem::new(field, what));
        if !self.base_url.starts_with("ws://") && !self.base_url.starts_with("wss://") {
            let url = super::url::redact(&self.base_url);
            problem(
                "base_url",
                format!("must start with ws:// or wss://, got {url}"),
            );
        }
        for name in &self.streams {
            if !valid_stream_name(name) {
                problem("streams", format!("holds an invalid stream name {name:?}"));
            }
        }
        if self.streams.len() > MAX_STREAMS_PER_CONNECTION {
            problem(
                "streams",
                format!(
                    "holds {} streams; a connection carries at most {MAX_STREAMS_PER_CONNECTION}",
                    self.streams.len()
                ),
            );
        }
        for (field, value) in [
            ("idle_timeout", self.idle_timeout),
            ("max_connection_age", self.max_connection_age),
            ("control_reply_timeout", self.control_reply_timeout),
        ] {
            if value.is_zero() {
                problem(field, "must be more than 0 s".into());
            }
        }
        if self.max_connection_age > MAX_CONNECTION_LIFETIME {
            problem(
                "max_connection_age",
                format!(
                    "must be at most 24 h (Binance cuts connections then), got {:?}",
                    self.max_connection_age
                ),
            );
        }
        if self.max_backoff < self.initial_backoff {
            problem(
                "max_backoff",
                format!(
                    "must be at least initial_backoff ({:?}), got {:?}",
                    self.initial_backoff, self.max_backoff
                ),
            );
        }
        if self.channel_capacity == 0 {
            problem("channel_capacity", "must be at least 1".into());
        }
        if self.control_attempts == 0 {
            problem("control_attempts", "must be at least 1".into());
        }
        Invalid::check(problems)
    }

    /// The longest a control request can take in the manager: every attempt's wait for a
    /// reply, the waits between them, and a margin for the pacing.
    pub(crate) fn control_patience(&self) -> Duration {
        let attempts = self.control_attempts.max(1);
        let mut total = self.control_reply_timeout * attempts + Duration::from_secs(5);
        for retry in 1..attempts {
            total += control_retry_delay(retry);
        }
        total
    }
}

/// The wait before the `retry`-th re-send (from 1) of an unanswered control request:
/// [`CONTROL_RETRY_DELAY`] doubled per re-send, at most [`CONTROL_RETRY_MAX_DELAY`]; no
/// jitter (one client, one connection).
pub(crate) fn control_retry_delay(retry: u32) -> Duration {
    Backoff::exact(CONTROL_RETRY_DELAY, CONTROL_RETRY_MAX_DELAY).nth(retry.saturating_sub(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_defaults_follow_binance_limits() {
        let one = StreamConfig::new("wss://x", vec!["!miniTicker@arr".into()]);
        assert!(!one.combined);
        assert_eq!(one.idle_timeout, Duration::from_secs(10));
        assert!(one.max_connection_age < Duration::from_secs(24 * 3600));
        let two = StreamConfig::new(
            "wss://x",
            vec!["a@miniTicker".into(), "b@miniTicker".into()],
        );
        assert!(two.combined);
    }

    #[test]
    fn control_retries_wait_1_2_4_8_8_seconds() {
        let got: Vec<u64> = (1..=5).map(|r| control_retry_delay(r).as_secs()).collect();
        assert_eq!(got, [1, 2, 4, 8, 8]);
    }
}
