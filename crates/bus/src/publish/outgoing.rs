//! One message as the publisher task sends it: subject, `Nats-Msg-Id`, payload.

use std::fmt::Write as _;

use async_nats::header::NATS_MESSAGE_ID;
use async_nats::{HeaderMap, Subject};
use binance::{MiniTicker, RawMiniTicker};
use bytes::Bytes;

use crate::payload::{encode_ticker, for_each_kept, GapMessage};
use crate::subject::{push_token, GAPS_SUBJECT, SUBJECT_PREFIX};

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
        let mut subject = String::with_capacity(SUBJECT_PREFIX.len() + 1 + t.symbol.len());
        subject.push_str(SUBJECT_PREFIX);
        subject.push('.');
        push_token(&mut subject, &t.symbol);
        let token = &subject[SUBJECT_PREFIX.len() + 1..];
        let mut id = String::with_capacity(token.len() + 14);
        id.push_str(token);
        // Writing to a String cannot fail.
        let _ = write!(id, ":{}", t.event_time);
        let mut payload = String::with_capacity(200);
        encode_ticker(t, &mut payload);
        Outgoing {
            subject: subject.into(),
            id: Some(id.into()),
            payload: payload.into(),
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

    /// The messages of the events `new` of frame `raw` (see [`for_each_kept`]), appended;
    /// returns how many (fewer than `new.len()` only if the frame no longer reads as the
    /// recorder read it).
    pub(crate) fn frame(raw: &str, new: &[MiniTicker], out: &mut impl Extend<Outgoing>) -> usize {
        let mut messages = Vec::with_capacity(new.len());
        let found = for_each_kept(raw, new, |t| messages.push(Outgoing::ticker(&t)));
        out.extend(messages);
        found
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
    fn a_frame_becomes_one_message_per_kept_event_with_subject_and_id() {
        let raw = r#"[{"e":"24hrMiniTicker","E":1,"s":"BTCUSDT","c":"1.10","o":"1","h":"2","l":"1","v":"3","q":"4"},{"e":"24hrMiniTicker","E":2,"s":"A.B","c":"0.050","o":"1","h":"2","l":"0.01","v":"3","q":"4"}]"#;
        let Ok(binance::Message::MiniTickers(all)) = binance::decode(raw) else {
            panic!()
        };
        let mut out = Vec::new();
        assert_eq!(Outgoing::frame(raw, &all[1..], &mut out), 1);
        assert_eq!(out.len(), 1);
        let m = &out[0];
        assert_eq!(m.subject.as_str(), "binance.spot.miniticker._x412e42");
        assert_eq!(
            m.headers().get("Nats-Msg-Id").map(|v| v.as_str()),
            Some("_x412e42:2")
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
