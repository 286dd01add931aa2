//! What a message on the bus carries.
//!
//! **Events** (subject `binance.spot.miniticker.<TOKEN>`, see [`crate::subject`]): the event
//! as Binance's own JSON object, with the exchange's exact decimal strings (the recorder
//! publishes each event's element as it came in its frame, sliced by its span, not decoded
//! again; a single event handed to `Publisher::publish` is written as below), so that
//! [`binance::decode`] and [`binance::for_each_raw_mini_ticker`] read it like a frame of the
//! `<symbol>@miniTicker` stream
//! (<https://developers.binance.com/docs/binance-spot-api-docs/web-socket-streams#individual-symbol-mini-ticker-stream>):
//!
//! ```json
//! {"e":"24hrMiniTicker","E":1672515782136,"s":"BNBBTC","c":"0.0025","o":"0.0010","h":"0.0025","l":"0.0010","v":"10000","q":"18"}
//! ```
//!
//! with the header `Nats-Msg-Id: <TOKEN>:<E>` ([`msg_id`]): JetStream stores one message per
//! id within the stream's duplicate window, so two recorders publishing the same feed store
//! each event once (<https://docs.nats.io/using-nats/developer/develop_jetstream/model_deep_dive#message-deduplication>).
//!
//! **Gaps** (subject `binance.spot.miniticker._gaps`): a row of the recorder's gaps dataset
//! as JSON ([`GapMessage`]), in milliseconds since the Unix epoch; `end` is `null` while the
//! recorder is without a live feed and set once the feed is back:
//!
//! ```json
//! {"start":1764580000000,"end":null,"reason":"connection error: reset","connection_id":3}
//! {"start":1764580000000,"end":1764580002500,"reason":"connection error: reset","connection_id":3}
//! ```
//!
//! `reason` is the text of the gap's [`GapReason`]; read back, the fixed reasons
//! (`startup`, `not running (…)`) are typed again, any other text is kept as it is.

use std::fmt::Write as _;

use binance::{DecodeError, Message, RawMiniTicker};
use events::GapReason;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::subject::encode_symbol;

/// One interval in which the recorder had no live feed (a row of its gaps dataset).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GapMessage {
    /// Feed lost at (ms since the Unix epoch).
    pub start: i64,
    /// Feed back at; `None`: still lost.
    pub end: Option<i64>,
    /// Why; its text on the wire.
    #[serde(with = "reason_text")]
    pub reason: GapReason,
    /// The recorder's connection concerned.
    pub connection_id: u64,
}

/// A [`GapReason`] as its text (see the [module docs](self)).
mod reason_text {
    use super::*;

    pub(super) fn serialize<S: Serializer>(reason: &GapReason, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(reason)
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<GapReason, D::Error> {
        String::deserialize(d).map(GapReason::from)
    }
}

impl GapMessage {
    /// The JSON payload.
    pub fn encode(&self) -> Vec<u8> {
        // A struct of numbers and a string always serialises.
        serde_json::to_vec(self).expect("GapMessage serialises")
    }

    /// Reads a payload of the gaps subject.
    ///
    /// # Errors
    ///
    /// serde_json's error when the payload is not a gap message's JSON.
    pub fn decode(payload: &[u8]) -> Result<Self, serde_json::Error> {
        serde_json::from_slice(payload)
    }
}

/// `Nats-Msg-Id` of an event: `<TOKEN>:<E>` (the symbol's subject token, so the id stays
/// ASCII for any symbol).
///
/// ```
/// assert_eq!(bus::payload::msg_id("BTCUSDT", 1672515782136), "BTCUSDT:1672515782136");
/// ```
pub fn msg_id(symbol: &str, event_time: i64) -> String {
    format!("{}:{event_time}", encode_symbol(symbol))
}

/// Appends the event's Binance JSON object to `out`, the decimal strings exactly as the
/// exchange sent them.
pub fn encode_ticker(t: &RawMiniTicker<'_>, out: &mut String) {
    out.push_str(r#"{"e":"24hrMiniTicker","E":"#);
    // Writing to a String cannot fail.
    let _ = write!(out, "{}", t.event_time);
    for (key, value) in [
        ("s", &*t.symbol),
        ("c", &*t.close),
        ("o", &*t.open),
        ("h", &*t.high),
        ("l", &*t.low),
        ("v", &*t.base_volume),
        ("q", &*t.quote_volume),
    ] {
        out.push_str(",\"");
        out.push_str(key);
        out.push_str("\":");
        push_json_string(out, value);
    }
    out.push('}');
}

/// A JSON string literal of `s` (quotes, backslashes and control characters escaped; other
/// UTF-8 as is).
fn push_json_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if u32::from(c) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Decodes an event payload with `binance`'s decoder; `text` is handed on as the raw frame.
///
/// # Errors
///
/// A [`DecodeError`] when the payload is not UTF-8 or not a mini-ticker event
/// ([`binance::decode`]'s errors).
pub fn decode_ticker(payload: &[u8]) -> Result<(&str, Message), DecodeError> {
    let text = std::str::from_utf8(payload).map_err(|_| DecodeError::UnexpectedShape {
        detail: "payload is not UTF-8".into(),
        excerpt: String::new(),
    })?;
    match binance::decode(text)? {
        message @ Message::MiniTickers(_) => Ok((text, message)),
        _ => Err(DecodeError::UnexpectedShape {
            detail: "not a mini ticker".into(),
            excerpt: text.chars().take(binance::EXCERPT_CHARS).collect(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FRAME: &str =
        include_str!("../../../fixtures/binance_spot_miniTicker_arr_raw_2020-06-19.json");

    #[test]
    fn every_event_of_a_frame_survives_the_round_trip_with_its_exact_text() {
        let mut raws = Vec::new();
        binance::for_each_raw_mini_ticker(FRAME, |t| raws.push(t)).unwrap();
        assert!(raws.len() > 10);
        for raw in raws {
            let mut text = String::new();
            encode_ticker(&raw, &mut text);
            let (same, message) = decode_ticker(text.as_bytes()).unwrap();
            let Message::MiniTickers(decoded) = message else {
                panic!("{text}")
            };
            assert_eq!(decoded, vec![raw.parse().unwrap()]);
            let mut again = Vec::new();
            binance::for_each_raw_mini_ticker(same, |t| again.push(t)).unwrap();
            assert_eq!(again, vec![raw], "exact decimal strings kept");
        }
    }

    #[test]
    fn odd_symbols_are_escaped_and_read_back() {
        for symbol in ["币安人生USDT", "A.B*>", "A\"B", "A\\B", "A\nB"] {
            let raw = RawMiniTicker {
                symbol: symbol.into(),
                event_time: 7,
                close: "1.10".into(),
                open: "1".into(),
                high: "2".into(),
                low: "0.5".into(),
                base_volume: "3".into(),
                quote_volume: "4".into(),
            };
            let mut text = String::new();
            encode_ticker(&raw, &mut text);
            let json: serde_json::Value = serde_json::from_str(&text).expect("valid JSON");
            assert_eq!(json["s"], symbol, "{text}");
            assert_eq!(json["c"], "1.10", "{text}");
            // stream's decoder reads symbols that need no JSON escape.
            if !symbol.contains(['"', '\\', '\n']) {
                let Ok((_, Message::MiniTickers(t))) = decode_ticker(text.as_bytes()) else {
                    panic!("{text}")
                };
                assert_eq!(t[0].symbol, symbol, "{text}");
            }
        }
    }

    #[test]
    fn bad_payloads_are_errors_not_panics() {
        let cases: [&[u8]; 6] = [
            b"",
            b"{",
            b"\xff\xfe",
            br#"{"e":"serverShutdown","E":1}"#,
            br#"{"result":null,"id":1}"#,
            br#"{"e":"24hrMiniTicker","E":1,"s":"X","c":"abc","o":"1","h":"1","l":"1","v":"1","q":"1"}"#,
        ];
        for payload in cases {
            assert!(decode_ticker(payload).is_err(), "{payload:?}");
        }
    }

    #[test]
    fn gap_messages_round_trip_and_bad_ones_are_refused() {
        let gap = GapMessage {
            start: 10,
            end: None,
            reason: "reconnect: x".into(),
            connection_id: 3,
        };
        assert_eq!(GapMessage::decode(&gap.encode()).unwrap(), gap);
        let closed = GapMessage {
            end: Some(20),
            ..gap
        };
        assert_eq!(GapMessage::decode(&closed.encode()).unwrap(), closed);
        for bad in [&b""[..], b"{}", br#"{"start":"x"}"#, b"[1]"] {
            assert!(GapMessage::decode(bad).is_err());
        }
    }
}
