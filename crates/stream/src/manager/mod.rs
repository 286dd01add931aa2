//! Connection manager: keeps one Binance stream connection alive and hands
//! decoded frames to a bounded channel. Renewals (age limit, `serverShutdown`)
//! open the next connection before closing the old one, so they leave no gap
//! (see `renewal`).
//!
//! Binance rules it follows (official docs, "General WSS information" and
//! "WebSocket Limits",
//! <https://developers.binance.com/docs/binance-spot-api-docs/web-socket-streams#general-wss-information>):
//! the server pings and expects a pong with the same payload; a connection
//! lives at most 24 hours; at most 5 incoming messages (pings, pongs, control
//! requests) per second per connection; at most 300 connection attempts per
//! 5 minutes per IP; `serverShutdown` means the server will close the
//! connection soon.

mod backoff;
mod connection;
mod control;
mod renewal;
mod supervisor;
pub(crate) mod url;

/// Log-safe URLs, shared with the REST client.
#[cfg_attr(not(feature = "rest"), allow(unused_imports))]
pub(crate) use url::redact;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Utf8Bytes;

use crate::event::{DecodeError, ElementError, Message};

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
    /// [`StreamItem::Gap`]. `serverShutdown` starts the same renewal at once; when it
    /// repeats within a minute, after a backoff that doubles from `initial_backoff` to
    /// `max_backoff` (a server announcing it on every connection gets no reconnect storm).
    ///
    /// During the overlap both connections deliver, so the same event can
    /// arrive twice: de-duplicate by (symbol, event time) if that matters.
    pub max_connection_age: Duration,
    /// Items buffered for a slow consumer before the manager waits (backpressure).
    pub channel_capacity: usize,
    /// How long one attempt of a control request (`SUBSCRIBE`, `UNSUBSCRIBE`,
    /// `LIST_SUBSCRIPTIONS`) waits for its reply. An unanswered request is sent again, with
    /// the same id, after [`CONTROL_RETRY_DELAY`] (doubled per re-send), through the same
    /// 5-per-second pacing as every control message.
    pub control_reply_timeout: Duration,
    /// Attempts of a control request before the connection is taken for broken and
    /// replaced ([`DisconnectReason::ControlUnanswered`]); the streams are remembered, so
    /// the next connection carries them. At least 1.
    pub control_attempts: u32,
}

impl StreamConfig {
    /// Defaults: idle 10 s, backoff 500 ms to 30 s, renewal after 23 h 50 min,
    /// 1024 buffered items, combined when there is more than one stream, control replies
    /// awaited 5 s per attempt, 3 attempts.
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
        }
    }

    /// The longest a control request can take in the manager: every attempt's wait for a
    /// reply, the waits between them, and a margin for the pacing.
    pub(crate) fn control_patience(&self) -> Duration {
        let attempts = self.control_attempts.max(1);
        let mut total = self.control_reply_timeout * attempts + Duration::from_secs(5);
        for retry in 1..attempts {
            total += backoff::control_retry_delay(retry);
        }
        total
    }
}

/// What the manager reports, in order.
///
/// Usually one connection is open at a time. During a renewal (see
/// [`StreamConfig::max_connection_age`]) two are: the new one's
/// [`StreamItem::Connected`] comes first, both deliver for a moment, then the
/// old one's [`StreamItem::Disconnected`] with [`DisconnectReason::Renewal`].
#[derive(Debug, Clone)]
pub enum StreamItem {
    /// A connection is open (`conn_id` counts attempts from 1).
    Connected { conn_id: u64, at: SystemTime },
    /// A decoded text frame, with the exact text it came from.
    ///
    /// While a renewal overlaps two connections, both deliver the same events,
    /// so an event may arrive twice (once per `conn_id`), and the two
    /// connections' frames interleave. Consumers that must not count an event
    /// twice de-duplicate by (symbol, event time), e.g. ignore a mini ticker
    /// whose event time is not newer than the last one seen for its symbol.
    ///
    /// `rejected` lists the elements of an `!miniTicker@arr` array that could
    /// not be decoded (almost always empty): `message` holds the frame's other
    /// elements, and `raw` is the whole frame, bad elements included.
    Message {
        conn_id: u64,
        received_at: SystemTime,
        raw: Utf8Bytes,
        message: Message,
        rejected: Vec<ElementError>,
    },
    /// A frame that could not be decoded at all; the connection is kept.
    Malformed { conn_id: u64, error: DecodeError },
    /// A connection ended, or an attempt failed ([`DisconnectReason::ConnectFailed`]).
    ///
    /// With [`DisconnectReason::Renewal`] this is not a loss of feed: a newer
    /// connection, already reported as [`StreamItem::Connected`], goes on.
    Disconnected {
        conn_id: u64,
        at: SystemTime,
        reason: DisconnectReason,
    },
    /// Sent right after the [`StreamItem::Connected`] that ends a disconnected
    /// interval: data between `from` (feed lost) and `to` (feed back) is missing.
    /// A successful renewal never leaves one.
    Gap {
        from: SystemTime,
        to: SystemTime,
        reason: DisconnectReason,
    },
}

/// Why a connection ended.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DisconnectReason {
    #[error("server closed the connection ({})", close_text(*code, reason))]
    Closed { code: Option<u16>, reason: String },
    #[error("connection error: {0}")]
    Error(String),
    #[error("no data for {0:?} (read-idle timeout)")]
    IdleTimeout(Duration),
    /// The server sent `serverShutdown`, then the connection ended before a
    /// new one could be opened (otherwise the handover is a [`Self::Renewal`]).
    #[error("server announced shutdown (serverShutdown)")]
    ServerShutdown,
    /// Replaced by a newer connection that was already open (renewal before
    /// Binance's 24-hour limit, or after `serverShutdown`): not a loss of feed,
    /// never followed by a [`StreamItem::Gap`].
    #[error("renewed: replaced by a newer connection (not a loss of feed)")]
    Renewal,
    #[error("could not connect: {0}")]
    ConnectFailed(String),
    /// A control request got no reply after every attempt (see
    /// [`StreamConfig::control_attempts`]); `request` names it and its streams, e.g.
    /// `SUBSCRIBE btcusdt@miniTicker`.
    #[error("no reply to {request} after {attempts} attempts")]
    ControlUnanswered { request: String, attempts: u32 },
    #[error("shut down by the application")]
    Shutdown,
}

fn close_text(code: Option<u16>, reason: &str) -> String {
    match (code, reason.is_empty()) {
        (Some(code), true) => format!("code {code}"),
        (Some(code), false) => format!("code {code}: {reason}"),
        (None, true) => "no close code".to_owned(),
        (None, false) => reason.to_owned(),
    }
}

/// Counters since [`spawn`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Data frames received (text and binary).
    pub frames: u64,
    /// Frames that could not be decoded.
    pub malformed: u64,
    /// Array elements skipped because they could not be decoded (their frames' other
    /// elements were delivered).
    pub rejected_elements: u64,
    /// Connections opened.
    pub connects: u64,
    /// Times an item found the channel full and the manager had to wait.
    pub consumer_full: u64,
}

#[derive(Debug, Default)]
struct Counters {
    frames: AtomicU64,
    malformed: AtomicU64,
    rejected_elements: AtomicU64,
    connects: AtomicU64,
    consumer_full: AtomicU64,
}

impl Counters {
    fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

/// Why a control request failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StreamError {
    #[error("the stream manager has stopped")]
    Closed,
    #[error("invalid stream name {0:?}")]
    InvalidStreamName(String),
    #[error("Binance refused the request (code {code}): {msg}")]
    Rejected { code: i64, msg: String },
    #[error("no reply from Binance within {0:?}")]
    Timeout(Duration),
    #[error("not connected")]
    NotConnected,
}

type Ack<T> = oneshot::Sender<Result<T, StreamError>>;

/// Requests from a [`StreamHandle`] to its manager task.
enum Command {
    Subscribe(Vec<String>, Ack<()>),
    Unsubscribe(Vec<String>, Ack<()>),
    List(Ack<Vec<String>>),
}

/// Controls a running manager; see [`spawn`].
#[derive(Debug)]
pub struct StreamHandle {
    commands: mpsc::Sender<Command>,
    /// How long a request may take ([`StreamConfig::control_patience`]).
    patience: Duration,
    shutdown: watch::Sender<bool>,
    counters: Arc<Counters>,
    task: JoinHandle<()>,
}

impl StreamHandle {
    /// Sends `SUBSCRIBE`; the streams are remembered and re-sent on every new
    /// connection (reconnect or renewal). Resolves when Binance acknowledges,
    /// or at once while disconnected (they go out on the next connection).
    /// During a renewal, requests go to the newer connection.
    ///
    /// Without a reply the request is sent again (see
    /// [`StreamConfig::control_reply_timeout`]); when every attempt went unanswered the
    /// connection is replaced and this resolves `Ok`: the next connection carries the
    /// streams.
    pub async fn subscribe(&self, streams: Vec<String>) -> Result<(), StreamError> {
        validate(&streams)?;
        self.request(|ack| Command::Subscribe(streams, ack)).await
    }

    /// Sends `UNSUBSCRIBE` and forgets the streams.
    pub async fn unsubscribe(&self, streams: Vec<String>) -> Result<(), StreamError> {
        validate(&streams)?;
        self.request(|ack| Command::Unsubscribe(streams, ack)).await
    }

    /// Asks Binance for the active subscriptions (`LIST_SUBSCRIPTIONS`).
    pub async fn list_subscriptions(&self) -> Result<Vec<String>, StreamError> {
        self.request(Command::List).await
    }

    async fn request<T>(&self, command: impl FnOnce(Ack<T>) -> Command) -> Result<T, StreamError> {
        let (ack, reply) = oneshot::channel();
        self.commands
            .send(command(ack))
            .await
            .map_err(|_| StreamError::Closed)?;
        // The manager settles every request (reply, refusal, or the connection's end);
        // this is only a safety net.
        match tokio::time::timeout(self.patience, reply).await {
            Ok(Ok(result)) => result,
            Ok(Err(_)) => Err(StreamError::Closed),
            Err(_) => Err(StreamError::Timeout(self.patience)),
        }
    }

    /// Counters so far.
    pub fn stats(&self) -> Stats {
        let c = &self.counters;
        Stats {
            frames: c.frames.load(Ordering::Relaxed),
            malformed: c.malformed.load(Ordering::Relaxed),
            rejected_elements: c.rejected_elements.load(Ordering::Relaxed),
            connects: c.connects.load(Ordering::Relaxed),
            consumer_full: c.consumer_full.load(Ordering::Relaxed),
        }
    }

    /// Closes the socket cleanly and stops the manager; the receiver then ends
    /// (after a final [`StreamItem::Disconnected`] with
    /// [`DisconnectReason::Shutdown`] if a connection was open and the channel
    /// had room).
    pub async fn shutdown(self) {
        self.shutdown.send_replace(true);
        // A panicked task has nothing left to clean up.
        let _ = self.task.await;
    }
}

/// Stream names go into a URL path or query (percent-encoded, see `url`) and a JSON list.
/// Non-ASCII names (`币安人生usdt@miniTicker`) are fine; blanks, control characters and the
/// ASCII characters that separate URL parts or streams are not.
fn validate(streams: &[String]) -> Result<(), StreamError> {
    for name in streams {
        let ok = !name.is_empty()
            && name.len() <= 200
            && name.chars().all(|c| {
                if c.is_ascii() {
                    c.is_ascii_graphic() && !"/?#&%\"\\".contains(c)
                } else {
                    !c.is_control() && !c.is_whitespace()
                }
            });
        if !ok {
            return Err(StreamError::InvalidStreamName(name.clone()));
        }
    }
    Ok(())
}

/// Starts the manager task; items arrive on the returned receiver.
///
/// The manager stops when [`StreamHandle::shutdown`] is called or the
/// receiver is dropped; dropping the handle alone does not stop it.
/// Must be called inside a Tokio runtime.
pub fn spawn(config: StreamConfig) -> (StreamHandle, mpsc::Receiver<StreamItem>) {
    crate::ensure_crypto_provider();
    let (tx, rx) = mpsc::channel(config.channel_capacity.max(1));
    let (command_tx, command_rx) = mpsc::channel(64);
    let (shutdown_tx, shutdown_rx) = watch::channel(false);
    let counters = Arc::new(Counters::default());
    let patience = config.control_patience();
    let supervisor =
        supervisor::Supervisor::new(config, tx, command_rx, shutdown_rx, counters.clone());
    let task = tokio::spawn(supervisor.run());
    let handle = StreamHandle {
        commands: command_tx,
        patience,
        shutdown: shutdown_tx,
        counters,
        task,
    };
    (handle, rx)
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
    fn stream_names_that_would_break_the_url_are_refused() {
        assert!(validate(&["btcusdt@miniTicker".into(), "!miniTicker@arr".into()]).is_ok());
        assert!(validate(&["币安人生usdt@miniTicker".into(), "é".into()]).is_ok());
        for bad in [
            "",
            "a b",
            "a/b",
            "a?b",
            "a\"b",
            "a%b",
            "币安\u{3000}人生",
            "a\u{85}b",
        ] {
            assert_eq!(
                validate(&[bad.to_owned()]),
                Err(StreamError::InvalidStreamName(bad.to_owned()))
            );
        }
    }

    #[test]
    fn reasons_read_as_plain_words() {
        let closed = DisconnectReason::Closed {
            code: Some(1000),
            reason: "bye".into(),
        };
        assert_eq!(
            closed.to_string(),
            "server closed the connection (code 1000: bye)"
        );
        assert!(DisconnectReason::IdleTimeout(Duration::from_secs(10))
            .to_string()
            .contains("10s"));
    }
}
