//! Replies to control requests (`SUBSCRIBE`, `UNSUBSCRIBE`, `LIST_SUBSCRIPTIONS`).
//!
//! Official docs, "Live Subscribing/Unsubscribing to streams" and "Error Messages":
//! <https://developers.binance.com/docs/binance-spot-api-docs/web-socket-streams#live-subscribingunsubscribing-to-streams>
//!
//! Request and success replies:
//! ```json
//! {"method": "SUBSCRIBE", "params": ["btcusdt@aggTrade", "btcusdt@depth"], "id": 1}
//! {"result": null, "id": 1}
//! {"method": "LIST_SUBSCRIPTIONS", "id": 3}
//! {"result": ["btcusdt@aggTrade"], "id": 3}
//! ```
//! Errors (`id` is absent when the request could not be parsed):
//! ```json
//! {"code": 2, "msg": "Invalid request: request ID must be an unsigned integer"}
//! {"code": 0, "msg": "Unknown property", "id": 5}
//! ```

use serde::Serialize;

use super::fields::{Fields, Loose, ResultField};
use super::{DecodeError, Message};

/// A successful reply to a control request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ControlReply {
    /// The `id` of the request this answers.
    pub id: u64,
    /// `None` for `SUBSCRIBE`/`UNSUBSCRIBE` (`"result": null`); the stream
    /// names for `LIST_SUBSCRIPTIONS`.
    pub result: Option<Vec<String>>,
}

/// The methods this crate sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Method {
    Subscribe,
    Unsubscribe,
    ListSubscriptions,
}

impl Method {
    /// The name on the wire (and in logs): `SUBSCRIBE`, `UNSUBSCRIBE`, `LIST_SUBSCRIPTIONS`.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Method::Subscribe => "SUBSCRIBE",
            Method::Unsubscribe => "UNSUBSCRIBE",
            Method::ListSubscriptions => "LIST_SUBSCRIPTIONS",
        }
    }
}

#[derive(Serialize)]
struct Request<'a> {
    method: &'static str,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    params: &'a [String],
    id: u64,
}

/// Encodes a control request, e.g. `{"method":"SUBSCRIBE","params":["btcusdt@miniTicker"],"id":1}`.
pub(crate) fn request(method: Method, params: &[String], id: u64) -> String {
    let req = Request {
        method: method.as_str(),
        params,
        id,
    };
    // Serializing a struct of strings and integers to a String cannot fail.
    serde_json::to_string(&req).expect("control request serializes")
}

/// A frame with a `result` key: a reply to one of our requests.
pub(crate) fn reply(f: &Fields<'_>, result: ResultField) -> Result<Message, DecodeError> {
    let id = f.id.uint("id")?;
    Ok(match result {
        ResultField::Null => Message::ControlReply(ControlReply { id, result: None }),
        ResultField::Strings(names) => Message::ControlReply(ControlReply {
            id,
            result: Some(names),
        }),
        // e.g. `{"result": true, "id": 2}` (GET_PROPERTY): not a reply this crate asks for.
        ResultField::Other => Message::Other {
            stream: None,
            event_type: None,
        },
    })
}

/// A frame with a `code` key: a request was refused.
pub(crate) fn error(f: &Fields<'_>) -> Result<Message, DecodeError> {
    let id = if f.id.is_missing() || matches!(f.id, Loose::Null) {
        None
    } else {
        Some(f.id.uint("id")?)
    };
    Ok(Message::ControlError {
        id,
        code: f.code.int("code")?,
        msg: f.msg.owned_str("msg")?,
    })
}
