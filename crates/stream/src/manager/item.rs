//! What a manager reports: [`StreamItem`] (connected, a decoded frame, a malformed frame,
//! disconnected, a gap) and [`DisconnectReason`], why a connection ended.
//!
//! The items come in order on one channel; a consumer usually matches on
//! [`StreamItem::Message`] for data and on [`StreamItem::Gap`] for the intervals it missed.

use std::time::{Duration, SystemTime};

use tokio_tungstenite::tungstenite::Utf8Bytes;

use crate::event::{DecodeError, ElementError, Message};

/// What the manager reports, in order.
///
/// Usually one connection is open at a time. During a renewal (see
/// [`StreamConfig::max_connection_age`](super::StreamConfig::max_connection_age)) two are: the new one's
/// [`StreamItem::Connected`] comes first, both deliver for a moment, then the
/// old one's [`StreamItem::Disconnected`] with [`DisconnectReason::Renewal`].
#[derive(Debug, Clone)]
pub enum StreamItem {
    /// A connection is open.
    Connected {
        /// Which attempt this connection was, counted from 1 over the manager's life
        /// (failed attempts included); later items of this connection carry the same id.
        conn_id: u64,
        /// When the WebSocket handshake completed.
        at: SystemTime,
    },
    /// A decoded text frame, with the exact text it came from.
    ///
    /// While a renewal overlaps two connections, both deliver the same events,
    /// so an event may arrive twice (once per `conn_id`), and the two
    /// connections' frames interleave. Consumers that must not count an event
    /// twice de-duplicate by exact (symbol, event time) with [`Dedup`](crate::Dedup).
    ///
    /// `rejected` lists the elements of an `!miniTicker@arr` array that could
    /// not be decoded (almost always empty): `message` holds the frame's other
    /// elements, and `raw` is the whole frame, bad elements included.
    Message {
        /// The connection the frame came on (see [`StreamItem::Connected`]).
        conn_id: u64,
        /// When the frame was read from the socket (this machine's clock).
        received_at: SystemTime,
        /// The frame's exact text, e.g. for [`crate::for_each_raw_mini_ticker`] or to
        /// keep the exchange's decimal strings.
        raw: Utf8Bytes,
        /// The decoded frame, without the rejected array elements.
        message: Message,
        /// The array elements that could not be decoded, in order (almost always empty).
        rejected: Vec<ElementError>,
    },
    /// A frame that could not be decoded at all; the connection is kept.
    Malformed {
        /// The connection the frame came on.
        conn_id: u64,
        /// Why, with an excerpt of the frame.
        error: DecodeError,
    },
    /// A connection ended, or an attempt failed ([`DisconnectReason::ConnectFailed`]).
    ///
    /// With [`DisconnectReason::Renewal`] this is not a loss of feed: a newer
    /// connection, already reported as [`StreamItem::Connected`], goes on.
    Disconnected {
        /// The connection (or attempt) that ended.
        conn_id: u64,
        /// When the manager noticed the end (for an idle timeout: when it expired).
        at: SystemTime,
        /// Why it ended.
        reason: DisconnectReason,
    },
    /// Sent right after the [`StreamItem::Connected`] that ends a disconnected
    /// interval: data between `from` (feed lost) and `to` (feed back) is missing.
    /// A successful renewal never leaves one.
    Gap {
        /// When the feed was lost: the `at` of the [`StreamItem::Disconnected`] that
        /// began the interval.
        from: SystemTime,
        /// When the feed came back: the `at` of the [`StreamItem::Connected`] just before.
        to: SystemTime,
        /// Why the interval began (the first disconnect's reason).
        reason: DisconnectReason,
    },
}

/// Why a connection ended.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DisconnectReason {
    /// The server closed the connection: with a close frame, or the TCP stream simply
    /// ended (then `code` is `None`).
    #[error("server closed the connection ({})", close_text(*code, reason))]
    Closed {
        /// The WebSocket close code (`1000` normal, `1001` going away, ...), if the
        /// server sent a close frame with one.
        code: Option<u16>,
        /// The close frame's reason text (may be empty), or what happened instead,
        /// e.g. `connection ended without a close frame`.
        reason: String,
    },
    /// Reading or writing the socket failed (reset, TLS or protocol error, a write
    /// blocked too long); the text is the WebSocket library's, or says which write.
    #[error("connection error: {0}")]
    Error(String),
    /// Not a single frame (data, ping or pong) arrived for this long:
    /// [`StreamConfig::idle_timeout`](super::StreamConfig::idle_timeout).
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
    /// An attempt to connect failed (DNS, TCP, TLS, the WebSocket handshake, or the
    /// attempt limiter), with the cause in words; the manager retries with backoff.
    #[error("could not connect: {0}")]
    ConnectFailed(String),
    /// A control request got no reply after every attempt (see
    /// [`StreamConfig::control_attempts`](super::StreamConfig::control_attempts)); `request` names it and its streams, e.g.
    /// `SUBSCRIBE btcusdt@miniTicker`.
    #[error("no reply to {request} after {attempts} attempts")]
    ControlUnanswered {
        /// The request and its streams, e.g. `SUBSCRIBE btcusdt@miniTicker`.
        request: String,
        /// How many times it was sent.
        attempts: u32,
    },
    /// [`StreamHandle::shutdown`](super::StreamHandle::shutdown) was called.
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

#[cfg(test)]
mod tests {
    use super::*;

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
