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

use serde::de::{self, IgnoredAny, SeqAccess, Visitor};
use serde::Deserialize;
use std::fmt;

use super::fields::{Fields, Loose, ObjectFields};
use super::{control, mini_ticker, server_shutdown, DecodeError, Message, RawMiniTicker};

/// What a frame turned out to be.
pub(crate) enum Frame {
    /// This many mini tickers were handed to the sink.
    Tickers(usize),
    /// Any other kind.
    Message(Message),
}

/// Decodes `text`, handing each mini ticker to `sink` as it is read.
///
/// On an error, `sink` may already have seen the tickers before the bad part.
pub(crate) fn visit<'a, F>(text: &'a str, sink: &mut F) -> Result<Frame, DecodeError>
where
    F: FnMut(RawMiniTicker<'a>) -> Result<(), DecodeError>,
{
    visit_payload(text, None, sink).map_err(|e| e.or_frame(text))
}

fn visit_payload<'a, F>(
    text: &'a str,
    stream: Option<&'a str>,
    sink: &mut F,
) -> Result<Frame, DecodeError>
where
    F: FnMut(RawMiniTicker<'a>) -> Result<(), DecodeError>,
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
    stream: Option<&'a str>,
    sink: &mut F,
) -> Result<Frame, DecodeError>
where
    F: FnMut(RawMiniTicker<'a>) -> Result<(), DecodeError>,
{
    let mut de = serde_json::Deserializer::from_str(text);
    let mut fields = Fields::deserialize(&mut de).map_err(|e| DecodeError::from_json(&e, text))?;
    de.end().map_err(|e| DecodeError::from_json(&e, text))?;

    if stream.is_none() {
        if let Some(data) = fields.data {
            match fields.stream {
                Loose::Str(name) => return visit_payload(data.get(), Some(name), sink),
                Loose::Missing => {}
                _ => {
                    return Err(DecodeError::WrongType {
                        field: "stream",
                        expected: "a string",
                        excerpt: String::new(),
                    })
                }
            }
        }
    }

    match fields.e {
        Loose::Str(mini_ticker::EVENT_TYPE) => {
            sink(RawMiniTicker::from_fields(&fields)?)?;
            Ok(Frame::Tickers(1))
        }
        Loose::Str(server_shutdown::EVENT_TYPE) => Ok(Frame::Message(Message::ServerShutdown {
            event_time: server_shutdown::event_time(&fields)?,
        })),
        Loose::Str(kind) => Ok(other(stream, Some(kind))),
        Loose::Missing => match fields.result.take() {
            Some(result) => control::reply(&fields, result).map(Frame::Message),
            None if !fields.code.is_missing() => control::error(&fields).map(Frame::Message),
            // e.g. a bookTicker, which has no `e`.
            None => Ok(other(stream, None)),
        },
        _ => Err(DecodeError::WrongType {
            field: "e",
            expected: "a string",
            excerpt: String::new(),
        }),
    }
}

fn other(stream: Option<&str>, event_type: Option<&str>) -> Frame {
    Frame::Message(Message::Other {
        stream: stream.map(str::to_owned),
        event_type: event_type.map(str::to_owned),
    })
}

fn visit_array<'a, F>(
    text: &'a str,
    stream: Option<&'a str>,
    sink: &mut F,
) -> Result<Frame, DecodeError>
where
    F: FnMut(RawMiniTicker<'a>) -> Result<(), DecodeError>,
{
    let mut failure = None;
    let mut de = serde_json::Deserializer::from_str(text);
    let visitor = ArrayVisitor {
        sink,
        failure: &mut failure,
    };
    let outcome = de::Deserializer::deserialize_seq(&mut de, visitor);
    let kind = match outcome {
        Ok(kind) => kind,
        Err(e) => return Err(failure.unwrap_or_else(|| DecodeError::from_json(&e, text))),
    };
    de.end().map_err(|e| DecodeError::from_json(&e, text))?;
    Ok(match kind {
        ArrayKind::Tickers(n) => Frame::Tickers(n),
        ArrayKind::Other(event_type) => other(stream, event_type.as_deref()),
    })
}

enum ArrayKind {
    Tickers(usize),
    /// An array of some other event (e.g. `!ticker@arr`); the first element's `e`.
    Other(Option<String>),
}

/// Streams the elements of an event array into the sink without collecting them.
struct ArrayVisitor<'s, F> {
    sink: &'s mut F,
    /// A [`DecodeError`] raised inside the visitor (serde can only carry a string).
    failure: &'s mut Option<DecodeError>,
}

impl<'de, F> Visitor<'de> for ArrayVisitor<'_, F>
where
    F: FnMut(RawMiniTicker<'de>) -> Result<(), DecodeError>,
{
    type Value = ArrayKind;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an array of events")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<ArrayKind, A::Error> {
        let Some(ObjectFields(first)) = seq.next_element::<ObjectFields<'de>>()? else {
            return Ok(ArrayKind::Tickers(0));
        };
        if first.e.as_str() != Some(mini_ticker::EVENT_TYPE) {
            while seq.next_element::<IgnoredAny>()?.is_some() {}
            return Ok(ArrayKind::Other(first.e.as_str().map(str::to_owned)));
        }
        let mut count = 0;
        let mut element = first;
        loop {
            if element.e.as_str() != Some(mini_ticker::EVENT_TYPE) {
                let err = DecodeError::UnexpectedShape {
                    detail: format!("array mixes {} with other events", mini_ticker::EVENT_TYPE),
                    excerpt: String::new(),
                };
                return Err(fail(self.failure, err));
            }
            if let Err(err) = RawMiniTicker::from_fields(&element).and_then(&mut *self.sink) {
                return Err(fail(self.failure, err));
            }
            count += 1;
            match seq.next_element::<ObjectFields<'de>>()? {
                Some(ObjectFields(next)) => element = next,
                None => return Ok(ArrayKind::Tickers(count)),
            }
        }
    }
}

fn fail<E: de::Error>(slot: &mut Option<DecodeError>, err: DecodeError) -> E {
    *slot = Some(err);
    E::custom("frame rejected")
}
