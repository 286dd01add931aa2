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
    /// [`StreamConfig::control_attempts`](super::StreamConfig::control_attempts)); `request` names it and its streams, e.g.
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
