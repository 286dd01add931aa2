//! What a manager reports: [`StreamItem`] (connected, a decoded frame, a malformed frame,
//! disconnected, a gap). Why a connection ended, [`DisconnectReason`], is the event core's
//! (`events`), so that a gap's reason stays typed all the way to the recorder's metrics.
//!
//! The items come in order on one channel; a consumer usually matches on
//! [`StreamItem::Message`] for data and on [`StreamItem::Gap`] for the intervals it missed.

use std::time::SystemTime;

pub use events::DisconnectReason;
use tokio_tungstenite::tungstenite::Utf8Bytes;

use crate::event::{DecodeError, ElementError, Message, Span};

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
    /// twice de-duplicate by exact (symbol, event time) with `events::Dedup`.
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
        /// Where each mini ticker of `message` lies in `raw` (see [`crate::Decoded::spans`]):
        /// an output forwards an event as Binance sent it by slicing the frame. Empty
        /// unless `StreamConfig::element_spans` is on.
        spans: Vec<Span>,
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
