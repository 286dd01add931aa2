//! Decoding Binance spot WebSocket text frames into typed messages.
//!
//! One module per message kind, each quoting the official payload:
//! [`mini_ticker`], [`server_shutdown`], [`control`], and [`envelope`] for the
//! raw (`/ws/`) versus combined (`/stream?streams=`) frame layout.
//!
//! Decoding reads each frame once with serde_json, borrows every string from
//! the frame and allocates nothing per field; [`for_each_raw_mini_ticker`]
//! does not even build a `Vec`.

mod control;
mod envelope;
mod error;
mod fields;
mod mini_ticker;
mod server_shutdown;

pub use control::ControlReply;
pub(crate) use control::{request, Method};
pub use error::{DecodeError, EXCERPT_CHARS};
pub use mini_ticker::{MiniTicker, RawMiniTicker, Symbol};

use envelope::Frame;

/// One decoded text frame, from the raw (`/ws/`) or combined (`/stream?streams=`) endpoint.
#[derive(Debug, Clone, PartialEq)]
pub enum Message {
    /// A `!miniTicker@arr` array, or a single `<symbol>@miniTicker` event (a `Vec` of 1).
    MiniTickers(Vec<MiniTicker>),
    /// `{"e":"serverShutdown","E":...}`: reconnect now.
    ServerShutdown { event_time: i64 },
    /// `{"result":null,"id":1}` or `{"result":["btcusdt@miniTicker"],"id":3}`.
    ControlReply(ControlReply),
    /// `{"code":2,"msg":"Invalid request: ...","id":1}`.
    ControlError {
        id: Option<u64>,
        code: i64,
        msg: String,
    },
    /// Well-formed, but not a kind this crate decodes (e.g. a `24hrTicker`).
    Other {
        /// Combined-stream name, when the frame came wrapped.
        stream: Option<String>,
        /// The event's `e`, when it has one (for arrays: the first element's).
        event_type: Option<String>,
    },
}

/// Decodes one text frame.
///
/// Never panics: anything that is not a known, well-formed frame is a
/// [`DecodeError`] carrying a short excerpt of the frame.
///
/// ```
/// let frame = r#"{"stream":"btcusdt@miniTicker","data":{"e":"24hrMiniTicker","E":1601628771865,"s":"BTCUSDT","c":"10456.56","o":"10884.90","h":"10912.83","l":"10385.02","v":"64483.097562","q":"685180788.349708"}}"#;
/// match stream::decode(frame).unwrap() {
///     stream::Message::MiniTickers(tickers) => assert_eq!(tickers[0].close, 10456.56),
///     other => panic!("unexpected {other:?}"),
/// }
/// ```
pub fn decode(text: &str) -> Result<Message, DecodeError> {
    let mut tickers = Vec::new();
    let mut sink = |raw: RawMiniTicker<'_>| {
        tickers.push(raw.parse()?);
        Ok(())
    };
    match envelope::visit(text, &mut sink)? {
        Frame::Tickers(_) => Ok(Message::MiniTickers(tickers)),
        Frame::Message(message) => Ok(message),
    }
}

/// Hot-path visitor: calls `f` for each mini ticker in the frame (raw or
/// combined, array or single) without building a `Vec`; returns how many.
///
/// Frames of other kinds (control replies, other events) give `Ok(0)`. The
/// numbers are not parsed (see [`RawMiniTicker::parse`]). On an error `f` may
/// already have been called for the elements before the bad one; use
/// [`decode`] for all-or-nothing.
///
/// ```
/// let frame = r#"[{"e":"24hrMiniTicker","E":1,"s":"ETHBTC","c":"0.02456700","o":"0.02459800","h":"0.02470900","l":"0.02438100","v":"163116.186","q":"4006.04936991"}]"#;
/// let mut closes = Vec::new();
/// let n = stream::for_each_raw_mini_ticker(frame, |t| closes.push(t.close)).unwrap();
/// assert_eq!((n, closes), (1, vec!["0.02456700"]));
/// ```
pub fn for_each_raw_mini_ticker<'a>(
    text: &'a str,
    mut f: impl FnMut(RawMiniTicker<'a>),
) -> Result<usize, DecodeError> {
    let mut sink = |raw: RawMiniTicker<'a>| {
        f(raw);
        Ok(())
    };
    match envelope::visit(text, &mut sink)? {
        Frame::Tickers(n) => Ok(n),
        Frame::Message(_) => Ok(0),
    }
}
