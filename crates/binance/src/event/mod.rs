//! Decoding Binance spot WebSocket text frames into typed messages.
//!
//! One module per message kind, each quoting the official payload:
//! [`mini_ticker`], [`server_shutdown`], [`control`], and [`envelope`] for the
//! raw (`/ws/`) versus combined (`/stream?streams=`) frame layout.
//!
//! Decoding reads each frame once with serde_json, borrows every string
//! without a backslash from the frame and allocates nothing per field;
//! [`for_each_raw_mini_ticker`] does not even build a `Vec`. Strings with JSON
//! escapes (`\uXXXX` including surrogate pairs, `\/`, `\"`) are unescaped
//! into a copy, so any valid JSON string decodes to its text.
//!
//! Two rules for an `!miniTicker@arr` array with a bad element:
//! - all or nothing ([`decode`], [`for_each_raw_mini_ticker`]): the frame is an
//!   error;
//! - element by element ([`decode_elements`], [`for_each_mini_ticker_element`]):
//!   the bad element is an [`ElementError`] (with an excerpt of the element),
//!   the others are decoded. The recorder uses this rule, so one symbol's broken
//!   update never costs the other symbols' updates of that second.
//!
//! Under both rules a frame that is not a JSON array or object at all (cut
//! off, unbalanced, trailing garbage) is a [`DecodeError`].

mod control;
mod envelope;
mod error;
mod fields;
mod mini_ticker;
mod server_shutdown;
mod split;

pub use control::ControlReply;
pub(crate) use control::{request, Method};
pub use error::{DecodeError, ElementError, EXCERPT_CHARS};
pub use events::{MiniTicker, Span, Symbol};
pub use mini_ticker::RawMiniTicker;

use envelope::Frame;

/// One element of a mini-ticker array, as [`for_each_mini_ticker_element`]
/// hands it over: the ticker, or why that element was skipped.
pub type Element<'a> = Result<RawMiniTicker<'a>, ElementError>;

/// A frame decoded element by element ([`decode_elements`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Decoded {
    /// The frame, with only the good mini tickers of an array.
    pub message: Message,
    /// The array elements left out, in order (empty for almost every frame).
    pub rejected: Vec<ElementError>,
    /// Where each mini ticker of `message` lies in the frame: its element's text, for an
    /// output that forwards the event as Binance sent it without decoding it again
    /// (`spans[i]` is the `i`-th ticker's). Filled by [`decode_elements_spanned`] only;
    /// empty for other messages.
    pub spans: Vec<Span>,
}

/// One decoded text frame, from the raw (`/ws/`) or combined (`/stream?streams=`) endpoint.
#[derive(Debug, Clone, PartialEq)]
pub enum Message {
    /// A `!miniTicker@arr` array, or a single `<symbol>@miniTicker` event (a `Vec` of 1).
    MiniTickers(Vec<MiniTicker>),
    /// `{"e":"serverShutdown","E":...}`: reconnect now.
    ServerShutdown {
        /// `E`: when the server sent it, milliseconds since the Unix epoch.
        event_time: i64,
    },
    /// `{"result":null,"id":1}` or `{"result":["btcusdt@miniTicker"],"id":3}`.
    ControlReply(ControlReply),
    /// `{"code":2,"msg":"Invalid request: ...","id":1}`.
    ControlError {
        /// The `id` of the request it answers (`None` when Binance could not read one).
        id: Option<u64>,
        /// Binance's error code (`0` unknown property, `1` invalid value, `2` invalid
        /// request, `3` invalid JSON).
        code: i64,
        /// Binance's message, as sent.
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

/// Decodes one text frame, all or nothing.
///
/// Never panics: anything that is not a known, well-formed frame is a
/// [`DecodeError`] carrying a short excerpt of the frame (or of the bad array
/// element).
///
/// # Errors
///
/// A [`DecodeError`] when the frame is not JSON, not a known shape, or any mini ticker in
/// it lacks a field or has a bad number.
///
/// ```
/// let frame = r#"{"stream":"btcusdt@miniTicker","data":{"e":"24hrMiniTicker","E":1601628771865,"s":"BTCUSDT","c":"10456.56","o":"10884.90","h":"10912.83","l":"10385.02","v":"64483.097562","q":"685180788.349708"}}"#;
/// match binance::decode(frame).unwrap() {
///     binance::Message::MiniTickers(tickers) => assert_eq!(tickers[0].close, 10456.56),
///     other => panic!("unexpected {other:?}"),
/// }
/// ```
pub fn decode(text: &str) -> Result<Message, DecodeError> {
    let mut tickers = Vec::new();
    let mut sink = |element: Element<'_>| {
        tickers.push(element.map_err(|e| e.error)?.parse()?);
        Ok(())
    };
    match envelope::visit(text, &mut sink)? {
        Frame::Tickers { .. } => Ok(Message::MiniTickers(tickers)),
        Frame::Message(message) => Ok(message),
    }
}

/// Decodes one text frame element by element: a bad element of an
/// `!miniTicker@arr` array (unreadable, a field missing or of the wrong type,
/// a number that does not parse) is left out and listed in
/// [`Decoded::rejected`]; the others are decoded.
///
/// # Errors
///
/// A [`DecodeError`] only for a frame that is not JSON at all or not a known shape (a
/// bad array element is not an error).
///
/// ```
/// let good = r#"{"e":"24hrMiniTicker","E":1,"s":"\u5e01\u5b89\u4eba\u751fUSDT","c":"0.1","o":"0.1","h":"0.1","l":"0.1","v":"1","q":"0.1"}"#;
/// let bad = r#"{"e":"24hrMiniTicker","E":1,"s":"\ud800","c":"0.1","o":"0.1","h":"0.1","l":"0.1","v":"1","q":"0.1"}"#;
/// let frame = format!("[{good},{bad},{good}]");
/// let decoded = binance::decode_elements(&frame).unwrap();
/// match decoded.message {
///     binance::Message::MiniTickers(t) => assert_eq!((t.len(), t[0].symbol.as_str()), (2, "币安人生USDT")),
///     other => panic!("unexpected {other:?}"),
/// }
/// assert_eq!(decoded.rejected[0].index, 1);
/// ```
pub fn decode_elements(text: &str) -> Result<Decoded, DecodeError> {
    decode_elements_with(text, false)
}

/// [`decode_elements`], also noting where each kept ticker's element lies in the frame
/// ([`Decoded::spans`]): what an output that forwards each event as Binance sent it needs
/// (the recorder's NATS publisher), so that it never decodes the frame again. Costs one
/// scan of the frame's structure (strings skipped with `memchr`), no second JSON parse.
///
/// # Errors
///
/// As [`decode_elements`].
///
/// ```
/// let good = r#"{"e":"24hrMiniTicker","E":1,"s":"\u5e01USDT","c":"0.1","o":"0.1","h":"0.1","l":"0.1","v":"1","q":"0.1"}"#;
/// let frame = format!("[{good},{{\"e\":\"24hrMiniTicker\"}},{good}]");
/// let decoded = binance::decode_elements_spanned(&frame).unwrap();
/// // The second ticker is the frame's third element, its text as sent.
/// assert_eq!(decoded.spans[1].of(&frame), Some(good));
/// ```
pub fn decode_elements_spanned(text: &str) -> Result<Decoded, DecodeError> {
    decode_elements_with(text, true)
}

fn decode_elements_with(text: &str, with_spans: bool) -> Result<Decoded, DecodeError> {
    let mut tickers = Vec::new();
    let mut rejected = Vec::new();
    let mut index = 0;
    let mut sink = |element: Element<'_>| {
        match element.and_then(|raw| raw.parse().map_err(|error| ElementError { index, error })) {
            Ok(t) => tickers.push(t),
            Err(e) => rejected.push(e),
        }
        index += 1;
        Ok(())
    };
    let (message, spans) = match envelope::visit(text, &mut sink)? {
        Frame::Tickers { payload, .. } => {
            let spans = match with_spans {
                true => element_spans(text, payload, &rejected, tickers.len()),
                false => Vec::new(),
            };
            (Message::MiniTickers(tickers), spans)
        }
        Frame::Message(message) => (message, Vec::new()),
    };
    Ok(Decoded {
        message,
        rejected,
        spans,
    })
}

/// The spans in `text` of the `kept` good tickers read from `payload` (an event object, or
/// an array whose elements at the `rejected` positions were left out). All or none: a
/// span that cannot be found (never, for a payload the decoder read) gives none, so that a
/// span never stands for another ticker's element.
fn element_spans(text: &str, payload: &str, rejected: &[ElementError], kept: usize) -> Vec<Span> {
    let trimmed = payload.trim();
    let spans: Option<Vec<Span>> = if trimmed.starts_with('[') {
        let mut skip = rejected.iter().map(|r| r.index).peekable();
        split::elements(trimmed).and_then(|elements| {
            (elements.into_iter().enumerate())
                .filter(|(i, _)| skip.next_if_eq(i).is_none())
                .map(|(_, element)| Span::within(text, element))
                .collect()
        })
    } else {
        Span::within(text, trimmed).map(|span| vec![span])
    };
    spans.filter(|s| s.len() == kept).unwrap_or_default()
}

/// Hot-path visitor, all or nothing: calls `f` for each mini ticker in the
/// frame (raw or combined, array or single) without building a `Vec`; returns
/// how many.
///
/// Frames of other kinds (control replies, other events) give `Ok(0)`. The
/// numbers are not parsed (see [`RawMiniTicker::parse`]). On an error `f` may
/// already have been called for the elements before the bad one; use
/// [`decode`] for all-or-nothing.
///
/// # Errors
///
/// A [`DecodeError`] when the frame is not JSON, not a known shape, or a mini-ticker
/// element lacks a field or has one of the wrong type.
///
/// ```
/// let frame = r#"[{"e":"24hrMiniTicker","E":1,"s":"ETHBTC","c":"0.02456700","o":"0.02459800","h":"0.02470900","l":"0.02438100","v":"163116.186","q":"4006.04936991"}]"#;
/// let mut closes = Vec::new();
/// let n = binance::for_each_raw_mini_ticker(frame, |t| closes.push(t.close.into_owned())).unwrap();
/// assert_eq!((n, closes), (1, vec!["0.02456700".to_owned()]));
/// ```
pub fn for_each_raw_mini_ticker<'a>(
    text: &'a str,
    mut f: impl FnMut(RawMiniTicker<'a>),
) -> Result<usize, DecodeError> {
    let mut sink = |element: Element<'a>| {
        f(element.map_err(|e| e.error)?);
        Ok(())
    };
    match envelope::visit(text, &mut sink)? {
        Frame::Tickers { count, .. } => Ok(count),
        Frame::Message(_) => Ok(0),
    }
}

/// Hot-path visitor, element by element: calls `f` with each element of a
/// mini-ticker frame, the good ones as [`RawMiniTicker`]s and the bad ones of
/// an array as [`ElementError`]s, in order; returns how many good ones.
///
/// A frame that is not valid JSON at all is still an error (`f` may have seen
/// the elements before the point where it broke). Frames of other kinds give
/// `Ok(0)`.
///
/// # Errors
///
/// A [`DecodeError`] only for a frame that is not JSON at all or not a known shape.
///
/// ```
/// let frame = r#"[{"e":"24hrMiniTicker","E":1,"s":"ETHBTC","c":"0.1","o":"0.1","h":"0.1","l":"0.1","v":"1","q":"0.1"},{"e":"24hrMiniTicker","E":1}]"#;
/// let (mut good, mut bad) = (0, 0);
/// let n = binance::for_each_mini_ticker_element(frame, |t| match t {
///     Ok(_) => good += 1,
///     Err(_) => bad += 1,
/// })
/// .unwrap();
/// assert_eq!((n, good, bad), (1, 1, 1));
/// ```
pub fn for_each_mini_ticker_element<'a>(
    text: &'a str,
    mut f: impl FnMut(Element<'a>),
) -> Result<usize, DecodeError> {
    let mut sink = |element: Element<'a>| {
        f(element);
        Ok(())
    };
    match envelope::visit(text, &mut sink)? {
        Frame::Tickers { count, .. } => Ok(count),
        Frame::Message(_) => Ok(0),
    }
}
