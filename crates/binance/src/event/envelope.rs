//! Frame layout: raw payloads (`/ws/`) and the combined-stream wrapper (`/stream?streams=`).
//!
//! Official docs, "General WSS information":
//! <https://developers.binance.com/docs/binance-spot-api-docs/web-socket-streams#general-wss-information>
//!
//! > Combined stream events are wrapped as follows: `{"stream":"<streamName>","data":<rawPayload>}`
//!
//! ```json
//! {"stream":"btcusdt@miniTicker","data":{"e":"24hrMiniTicker","E":1601628771865,"s":"BTCUSDT","c":"10456.56000000","o":"10884.90000000","h":"10912.83000000","l":"10385.02000000","v":"64483.09756200","q":"685180788.34970800"}}
//! ```
//!
//! A raw frame is the payload alone: an event object, an array of events
//! (`!miniTicker@arr`), or a control reply. This module finds the payload and
//! hands each part to the module of its kind.
//!
//! An array is read in one serde pass (the fast path). If an element breaks
//! that pass, the rest of the array is decoded element by element
//! ([`super::split`]), and each bad element reaches the sink as an
//! [`ElementError`] while the good ones still arrive.

use serde::de::{self, IgnoredAny, SeqAccess, Visitor};
use serde::Deserialize;
use std::fmt;

use super::error::excerpt;
use super::fields::{Fields, Loose, ObjectFields};
use super::{control, mini_ticker, server_shutdown, split, DecodeError, ElementError, Message};
use super::{Element, RawMiniTicker};

/// What a frame turned out to be.
pub(crate) enum Frame<'a> {
    /// This many mini tickers were handed to the sink (good ones; rejected
    /// elements not counted), read from `payload`: the event object or the
    /// array of events (for a combined stream, the wrapper's `data`), a slice
    /// of the frame.
    Tickers { count: usize, payload: &'a str },
    /// Any other kind.
    Message(Message),
}

/// Decodes `text`, handing each mini ticker (or rejected array element) to
/// `sink` as it is read. The sink's own error stops the frame.
///
/// On an error, `sink` may already have seen the tickers before the bad part.
pub(crate) fn visit<'a, F>(text: &'a str, sink: &mut F) -> Result<Frame<'a>, DecodeError>
where
    F: FnMut(Element<'a>) -> Result<(), DecodeError>,
{
    visit_payload(text, None, sink).map_err(|e| e.or_frame(text))
}

fn visit_payload<'a, F>(
    text: &'a str,
    stream: Option<&str>,
    sink: &mut F,
) -> Result<Frame<'a>, DecodeError>
where
    F: FnMut(Element<'a>) -> Result<(), DecodeError>,
{
    match text.trim_start().as_bytes().first() {
        Some(b'[') => visit_array(text, stream, sink),
        Some(b'{') => visit_object(text, stream, sink),
        None => Err(DecodeError::Truncated {
            excerpt: String::new(),
        }),
        Some(_) => match serde_json::from_str::<IgnoredAny>(text) {
            Ok(_) => Err(DecodeError::shape("expected a JSON object or array", text)),
            Err(e) => Err(DecodeError::from_json(&e, text)),
        },
    }
}

fn visit_object<'a, F>(
    text: &'a str,
    stream: Option<&str>,
    sink: &mut F,
) -> Result<Frame<'a>, DecodeError>
where
    F: FnMut(Element<'a>) -> Result<(), DecodeError>,
{
    let mut de = serde_json::Deserializer::from_str(text);
    let mut fields = Fields::deserialize(&mut de).map_err(|e| DecodeError::from_json(&e, text))?;
    de.end().map_err(|e| DecodeError::from_json(&e, text))?;

    if stream.is_none() {
        if let Some(data) = fields.data {
            match &fields.stream {
                Loose::Missing => {}
                name => match name.as_str() {
                    Some(name) => return visit_payload(data.get(), Some(name), sink),
                    None => {
                        return Err(DecodeError::WrongType {
                            field: "stream",
                            expected: "a string",
                            excerpt: String::new(),
                        })
                    }
                },
            }
        }
    }

    let kind = fields.e.as_str().map(str::to_owned);
    match kind.as_deref() {
        Some(mini_ticker::EVENT_TYPE) => {
            sink(Ok(RawMiniTicker::from_fields(&mut fields)?))?;
            Ok(Frame::Tickers {
                count: 1,
                payload: text,
            })
        }
        Some(server_shutdown::EVENT_TYPE) => Ok(Frame::Message(Message::ServerShutdown {
            event_time: server_shutdown::event_time(&fields)?,
        })),
        Some(kind) => Ok(other(stream, Some(kind))),
        None if fields.e.is_missing() => match fields.result.take() {
            Some(result) => control::reply(&fields, result).map(Frame::Message),
            None if !fields.code.is_missing() => control::error(&fields).map(Frame::Message),
            // e.g. a bookTicker, which has no `e`.
            None => Ok(other(stream, None)),
        },
        None => Err(DecodeError::WrongType {
            field: "e",
            expected: "a string",
            excerpt: String::new(),
        }),
    }
}

fn other<'a>(stream: Option<&str>, event_type: Option<&str>) -> Frame<'a> {
    Frame::Message(Message::Other {
        stream: stream.map(str::to_owned),
        event_type: event_type.map(str::to_owned),
    })
}

fn visit_array<'a, F>(
    text: &'a str,
    stream: Option<&str>,
    sink: &mut F,
) -> Result<Frame<'a>, DecodeError>
where
    F: FnMut(Element<'a>) -> Result<(), DecodeError>,
{
    let mut handled = 0;
    let mut sink_error = None;
    let mut de = serde_json::Deserializer::from_str(text);
    let visitor = ArrayVisitor {
        sink: &mut *sink,
        handled: &mut handled,
        sink_error: &mut sink_error,
    };
    let outcome = de::Deserializer::deserialize_seq(&mut de, visitor);
    if let Some(err) = sink_error {
        return Err(err);
    }
    let kind = match outcome {
        Ok(kind) => {
            de.end().map_err(|e| DecodeError::from_json(&e, text))?;
            kind
        }
        // An element broke the single pass: go on element by element from it.
        Err(_) => resume(text, handled, sink)?,
    };
    Ok(match kind {
        ArrayKind::Tickers(count) => Frame::Tickers {
            count,
            payload: text,
        },
        ArrayKind::Other(event_type) => other(stream, event_type.as_deref()),
    })
}

enum ArrayKind {
    Tickers(usize),
    /// An array of some other event (e.g. `!ticker@arr`); the first element's `e`.
    Other(Option<String>),
}

/// The fast path: streams the elements of an event array into the sink
/// without collecting them, as long as every element is a good mini ticker.
/// Anything else ends the pass with an error, and [`resume`] takes over at
/// element `handled`.
struct ArrayVisitor<'s, F> {
    sink: &'s mut F,
    /// Elements handed to the sink so far.
    handled: &'s mut usize,
    /// The sink's own error (serde can only carry a string).
    sink_error: &'s mut Option<DecodeError>,
}

impl<'de, F> Visitor<'de> for ArrayVisitor<'_, F>
where
    F: FnMut(Element<'de>) -> Result<(), DecodeError>,
{
    type Value = ArrayKind;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an array of events")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<ArrayKind, A::Error> {
        let Some(ObjectFields(mut element)) = seq.next_element::<ObjectFields<'de>>()? else {
            return Ok(ArrayKind::Tickers(0));
        };
        if element.e.as_str() != Some(mini_ticker::EVENT_TYPE) {
            while seq.next_element::<IgnoredAny>()?.is_some() {}
            return Ok(ArrayKind::Other(element.e.as_str().map(str::to_owned)));
        }
        loop {
            let Ok(raw) = RawMiniTicker::from_fields(&mut element) else {
                return Err(de::Error::custom("bad element"));
            };
            if let Err(err) = (self.sink)(Ok(raw)) {
                *self.sink_error = Some(err);
                return Err(de::Error::custom("frame rejected"));
            }
            *self.handled += 1;
            match seq.next_element::<ObjectFields<'de>>()? {
                Some(ObjectFields(next)) if next.e.as_str() == Some(mini_ticker::EVENT_TYPE) => {
                    element = next
                }
                Some(_) => return Err(de::Error::custom("mixed array")),
                None => return Ok(ArrayKind::Tickers(*self.handled)),
            }
        }
    }
}

/// The slow path: decodes the elements of the array `text` from `start` on,
/// one by one. The elements before `start` were good mini tickers (so with
/// `start > 0` this is a mini-ticker array). A structurally broken array is a
/// frame error.
fn resume<'a, F>(text: &'a str, start: usize, sink: &mut F) -> Result<ArrayKind, DecodeError>
where
    F: FnMut(Element<'a>) -> Result<(), DecodeError>,
{
    let Some(elements) = split::elements(text) else {
        return Err(match serde_json::from_str::<IgnoredAny>(text) {
            Err(e) => DecodeError::from_json(&e, text),
            Ok(_) => DecodeError::shape("array could not be read", text),
        });
    };
    let mut good = start;
    let mut tickers_array = start > 0;
    // Element errors seen before the array's kind is known (none of them if the
    // array turns out to hold other events).
    let mut pending: Vec<ElementError> = Vec::new();
    for (index, element) in elements.into_iter().enumerate().skip(start) {
        let rejected = |error: DecodeError| ElementError {
            index,
            error: error.or_frame(element),
        };
        let fields = serde_json::from_str::<ObjectFields<'a>>(element)
            .map_err(|e| DecodeError::from_json(&e, element));
        match fields {
            Ok(ObjectFields(mut fields)) if fields.e.as_str() == Some(mini_ticker::EVENT_TYPE) => {
                if !tickers_array {
                    tickers_array = true;
                    for p in pending.drain(..) {
                        sink(Err(p))?;
                    }
                }
                match RawMiniTicker::from_fields(&mut fields) {
                    Ok(raw) => {
                        sink(Ok(raw))?;
                        good += 1;
                    }
                    Err(error) => sink(Err(rejected(error)))?,
                }
            }
            Ok(ObjectFields(fields)) if !tickers_array => {
                return Ok(ArrayKind::Other(fields.e.as_str().map(str::to_owned)))
            }
            Ok(_) => sink(Err(rejected(DecodeError::UnexpectedShape {
                detail: format!("array mixes {} with other events", mini_ticker::EVENT_TYPE),
                excerpt: excerpt(element),
            })))?,
            Err(error) if tickers_array => sink(Err(rejected(error)))?,
            Err(error) => pending.push(rejected(error)),
        }
    }
    // Not one readable element: report them all.
    for p in pending {
        sink(Err(p))?;
    }
    Ok(ArrayKind::Tickers(good))
}
