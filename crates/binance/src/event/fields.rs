//! The union of the top-level keys of every frame kind, read in one pass.
//!
//! Binance reuses one-letter keys with different types across event kinds (the
//! `l` of a mini ticker is a decimal string, the `l` of an aggTrade is an
//! integer id), so each key is read as a [`Loose`] value that accepts any JSON
//! type and borrows strings from the frame. The message modules then insist on
//! the types their kind needs.
//!
//! Strings: a JSON string without a backslash is borrowed from the frame as it
//! is (the fast path: no copy, no allocation). A string with escapes (`\"`,
//! `\/`, `\uXXXX` including surrogate pairs such as `\ud83d\ude80`) is
//! unescaped by serde_json into an owned `String`, so
//! `"\u5e01\u5b89\u4eba\u751fUSDT"` and the raw UTF-8 `"币安人生USDT"` give the
//! same text. Both reach the decoders as a [`Cow`].

use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::value::RawValue;
use std::borrow::Cow;
use std::fmt;

use super::DecodeError;

/// One JSON value, kept only as far as a frame decoder needs it.
#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) enum Loose<'a> {
    /// The key is absent.
    #[default]
    Missing,
    Null,
    Bool(bool),
    Int(i64),
    UInt(u64),
    Float(f64),
    /// A string without escapes, borrowed from the frame.
    Str(&'a str),
    /// A string with escapes, unescaped (needs a copy; Binance may send non-ASCII
    /// symbols as `\uXXXX` escapes).
    Escaped(String),
    /// An array or object (skipped).
    Compound,
}

impl<'a> Loose<'a> {
    /// A required string, taken out of `self`: borrowed from the frame when it had
    /// no escapes, the unescaped copy otherwise.
    pub(crate) fn take_text(&mut self, field: &'static str) -> Result<Cow<'a, str>, DecodeError> {
        match std::mem::take(self) {
            Loose::Str(s) => Ok(Cow::Borrowed(s)),
            Loose::Escaped(s) => Ok(Cow::Owned(s)),
            Loose::Missing => Err(missing(field)),
            _ => Err(wrong(field, "a string")),
        }
    }

    /// A required string, copied (for rare, short fields such as error messages).
    pub(crate) fn owned_str(&self, field: &'static str) -> Result<String, DecodeError> {
        match self {
            Loose::Str(s) => Ok((*s).to_owned()),
            Loose::Escaped(s) => Ok(s.clone()),
            Loose::Missing => Err(missing(field)),
            _ => Err(wrong(field, "a string")),
        }
    }

    /// A required integer that fits an `i64`.
    pub(crate) fn int(&self, field: &'static str) -> Result<i64, DecodeError> {
        match self {
            Loose::Int(n) => Ok(*n),
            Loose::UInt(n) => i64::try_from(*n).map_err(|_| wrong(field, "a 64-bit integer")),
            Loose::Missing => Err(missing(field)),
            _ => Err(wrong(field, "an integer")),
        }
    }

    /// A required unsigned integer.
    pub(crate) fn uint(&self, field: &'static str) -> Result<u64, DecodeError> {
        match self {
            Loose::UInt(n) => Ok(*n),
            Loose::Missing => Err(missing(field)),
            _ => Err(wrong(field, "an unsigned integer")),
        }
    }

    pub(crate) fn is_missing(&self) -> bool {
        matches!(self, Loose::Missing)
    }

    /// The string, if this is one (escaped or not).
    pub(crate) fn as_str(&self) -> Option<&str> {
        match self {
            Loose::Str(s) => Some(s),
            Loose::Escaped(s) => Some(s),
            _ => None,
        }
    }
}

fn missing(field: &'static str) -> DecodeError {
    DecodeError::MissingField {
        field,
        excerpt: String::new(),
    }
}

fn wrong(field: &'static str, expected: &'static str) -> DecodeError {
    DecodeError::WrongType {
        field,
        expected,
        excerpt: String::new(),
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Loose<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(LooseVisitor)
    }
}

struct LooseVisitor;

impl<'de> Visitor<'de> for LooseVisitor {
    type Value = Loose<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Loose::Null)
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
        Ok(Loose::Bool(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Loose::Int(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Loose::UInt(v))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        Ok(Loose::Float(v))
    }
    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Loose::Str(v))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Loose::Escaped(v.to_owned()))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Loose::Compound)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Loose::Compound)
    }
}

/// The `result` of a control reply: `null`, a list of stream names, or anything else.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum ResultField {
    Null,
    Strings(Vec<String>),
    /// For example the `true` of a `GET_PROPERTY` reply.
    Other,
}

impl<'de> Deserialize<'de> for ResultField {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ResultVisitor)
    }
}

struct ResultVisitor;

impl<'de> Visitor<'de> for ResultVisitor {
    type Value = ResultField;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("null or a list of stream names")
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(ResultField::Null)
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(ResultField::Other)
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
        Ok(ResultField::Other)
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
        Ok(ResultField::Other)
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Ok(ResultField::Other)
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
        Ok(ResultField::Other)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut names = Vec::new();
        let mut all_strings = true;
        while let Some(item) = seq.next_element::<Loose<'de>>()? {
            match item {
                Loose::Str(s) if all_strings => names.push(s.to_owned()),
                Loose::Escaped(s) if all_strings => names.push(s),
                _ => all_strings = false,
            }
        }
        Ok(if all_strings {
            ResultField::Strings(names)
        } else {
            ResultField::Other
        })
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(ResultField::Other)
    }
}

/// Deserializes a present key (even `null`) as `Some`; with `#[serde(default)]`
/// an absent key stays `None`. Tells `{"result":null}` from no `result` at all.
fn present<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    T::deserialize(deserializer).map(Some)
}

/// Every top-level key any decoded frame kind uses; other keys are skipped.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct Fields<'a> {
    /// Combined-stream envelope: stream name.
    #[serde(default, borrow)]
    pub stream: Loose<'a>,
    /// Combined-stream envelope: the raw payload, borrowed unparsed.
    #[serde(default, borrow, deserialize_with = "present")]
    pub data: Option<&'a RawValue>,
    /// Event type.
    #[serde(default, borrow)]
    pub e: Loose<'a>,
    /// Event time (ms).
    #[serde(default, borrow, rename = "E")]
    pub event_time: Loose<'a>,
    #[serde(default, borrow)]
    pub s: Loose<'a>,
    #[serde(default, borrow)]
    pub c: Loose<'a>,
    #[serde(default, borrow)]
    pub o: Loose<'a>,
    #[serde(default, borrow)]
    pub h: Loose<'a>,
    #[serde(default, borrow)]
    pub l: Loose<'a>,
    #[serde(default, borrow)]
    pub v: Loose<'a>,
    #[serde(default, borrow)]
    pub q: Loose<'a>,
    /// Control reply.
    #[serde(default, deserialize_with = "present")]
    pub result: Option<ResultField>,
    #[serde(default, borrow)]
    pub id: Loose<'a>,
    /// Control error.
    #[serde(default, borrow)]
    pub code: Loose<'a>,
    #[serde(default, borrow)]
    pub msg: Loose<'a>,
}

/// [`Fields`] read from a JSON object only. serde would also fill a struct
/// from a positional array (`[null,null,"24hrMiniTicker",...]`), which is no
/// Binance shape; array elements go through this.
pub(crate) struct ObjectFields<'a>(pub Fields<'a>);

impl<'de: 'a, 'a> Deserialize<'de> for ObjectFields<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(ObjectVisitor)
    }
}

struct ObjectVisitor;

impl<'de> Visitor<'de> for ObjectVisitor {
    type Value = ObjectFields<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an event object")
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        Fields::deserialize(de::value::MapAccessDeserializer::new(map)).map(ObjectFields)
    }
}
