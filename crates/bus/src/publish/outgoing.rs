//! One message as the publisher task sends it: subject, `Nats-Msg-Id`, payload.

use std::fmt::Write as _;

use async_nats::header::NATS_MESSAGE_ID;
use async_nats::{HeaderMap, Subject};
use binance::RawMiniTicker;
use bytes::Bytes;
use events::{Span, Symbol};

use crate::payload::{encode_ticker, GapMessage};
use crate::subject::{push_token, GAPS_SUBJECT, SUBJECT_PREFIX};

/// One event of a received frame, as the publisher task needs it: what names it (subject
/// and id) and where its element lies in the frame (the payload).
#[derive(Debug, Clone)]
pub(crate) struct Element {
    pub(crate) symbol: Symbol,
    pub(crate) event_time: i64,
    pub(crate) span: Span,
}

/// A message to publish; cheap to clone (for retries).
#[derive(Debug, Clone)]
pub(crate) struct Outgoing {
    pub(crate) subject: Subject,
    /// `Nats-Msg-Id` (`None`: gaps, which are not de-duplicated).
    id: Option<Subject>,
    pub(crate) payload: Bytes,
    /// Order of hand-over, to retry in the original order.
    pub(crate) seq: u64,
}

impl Outgoing {
    /// The message of one event: subject `binance.spot.miniticker.<TOKEN>`, id `<TOKEN>:<E>`.
    pub(crate) fn ticker(t: &RawMiniTicker<'_>) -> Self {
        let mut payload = String::with_capacity(200);
        encode_ticker(t, &mut payload);
        Self::event(&t.symbol, t.event_time, payload.into())
    }

    /// The message of one event of `frame`: its element, as Binance sent it, for payload
    /// (a slice of the frame's bytes, not a copy).
    pub(crate) fn element(frame: &Bytes, e: &Element) -> Self {
        Self::event(
            &e.symbol,
            e.event_time,
            frame.slice(e.span.start..e.span.end),
        )
    }

    /// An event's message: subject and id from its symbol and event time.
    fn event(symbol: &str, event_time: i64, payload: Bytes) -> Self {
        let mut subject = String::with_capacity(SUBJECT_PREFIX.len() + 1 + symbol.len());
        subject.push_str(SUBJECT_PREFIX);
        subject.push('.');
        push_token(&mut subject, symbol);
        let token = &subject[SUBJECT_PREFIX.len() + 1..];
        let mut id = String::with_capacity(token.len() + 14);
        id.push_str(token);
        // Writing to a String cannot fail.
        let _ = write!(id, ":{event_time}");
        Outgoing {
            subject: subject.into(),
            id: Some(id.into()),
            payload,
            seq: 0,
        }
    }

    /// The message of a gap, on `binance.spot.miniticker._gaps`.
    pub(crate) fn gap(gap: &GapMessage) -> Self {
        Outgoing {
            subject: Subject::from_static(GAPS_SUBJECT),
            id: None,
            payload: gap.encode().into(),
            seq: 0,
        }
    }

    /// Headers of one attempt.
    pub(crate) fn headers(&self) -> HeaderMap {
        let mut headers = HeaderMap::new();
        if let Some(id) = &self.id {
            headers.insert(NATS_MESSAGE_ID, id.as_str());
        }
        headers
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_element_becomes_a_message_with_subject_id_and_its_own_text() {
        let raw = r#"[{"e":"24hrMiniTicker","E":1,"s":"BTCUSDT","c":"1.10","o":"1","h":"2","l":"1","v":"3","q":"4"},{"e":"24hrMiniTicker","E":2,"s":"A.B","c":"0.050","o":"1","h":"2","l":"0.01","v":"3","q":"4"}]"#;
        let decoded = binance::decode_elements_spanned(raw).unwrap();
        let binance::Message::MiniTickers(all) = decoded.message else {
            panic!()
        };
        let frame = Bytes::copy_from_slice(raw.as_bytes());
        let second = Element {
            symbol: all[1].symbol.clone(),
            event_time: all[1].event_time,
            span: decoded.spans[1],
        };
        let m = Outgoing::element(&frame, &second);
        assert_eq!(m.subject.as_str(), "binance.spot.miniticker._x412e42");
        assert_eq!(
            m.headers().get("Nats-Msg-Id").map(|v| v.as_str()),
            Some("_x412e42:2")
        );
        // The payload is the element as sent, which reads back as the same event.
        assert_eq!(
            m.payload,
            raw.as_bytes()[decoded.spans[1].start..decoded.spans[1].end]
        );
        let text = std::str::from_utf8(&m.payload).unwrap();
        assert!(text.starts_with('{') && text.ends_with('}'), "{text}");
        assert!(
            matches!(binance::decode(text), Ok(binance::Message::MiniTickers(t)) if t == all[1..])
        );
        let text = std::str::from_utf8(&m.payload).unwrap();
        assert!(text.contains(r#""c":"0.050""#), "{text}");
        let gap = Outgoing::gap(&GapMessage {
            start: 1,
            end: None,
            reason: "stall".into(),
            connection_id: 2,
        });
        assert_eq!(gap.subject.as_str(), GAPS_SUBJECT);
        assert!(gap.headers().get("Nats-Msg-Id").is_none());
    }
}
