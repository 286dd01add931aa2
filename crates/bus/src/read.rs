//! [`read_stream`]: everything the stream holds, oldest first (for checks and tools: what
//! did the recorders publish?).

use async_nats::jetstream::{self, consumer::pull::OrderedConfig};
use futures::StreamExt;

use crate::error::redacted;
use crate::subject::STREAM_NAME;
use crate::{BusConfig, BusError};

/// One stored message.
#[derive(Debug, Clone)]
pub struct StoredMessage {
    /// Its subject.
    pub subject: String,
    /// Its `Nats-Msg-Id` header, if any.
    pub msg_id: Option<String>,
    /// Its payload.
    pub payload: bytes::Bytes,
}

/// Reads every message of stream `BINANCE_MINITICKER` as it is at the call.
///
/// # Errors
///
/// [`BusError::Connect`] when the server cannot be reached; [`BusError::JetStream`] when
/// the stream does not exist or reading it fails.
pub async fn read_stream(config: &BusConfig) -> Result<Vec<StoredMessage>, BusError> {
    let err = |what: &'static str| {
        move |e: &dyn std::fmt::Display| BusError::JetStream {
            what,
            reason: logging::redact(&e.to_string()),
        }
    };
    let client = config.connect("reader", |_| {}).await?;
    let js = jetstream::new(client);
    let mut stream = js
        .get_stream(STREAM_NAME)
        .await
        .map_err(|e| err("opening stream BINANCE_MINITICKER")(&e))?;
    let info = stream
        .info()
        .await
        .map_err(|e| err("reading the stream's state")(&e))?;
    let total = info.state.messages;
    let mut out = Vec::new();
    if total == 0 {
        return Ok(out);
    }
    let last = info.state.last_sequence;
    let consumer = stream
        .create_consumer(OrderedConfig::default())
        .await
        .map_err(|e| err("creating a consumer")(&e))?;
    let mut messages = consumer
        .messages()
        .await
        .map_err(|e| err("reading messages")(&e))?;
    while let Some(message) = messages.next().await {
        let message = message.map_err(|e| BusError::JetStream {
            what: "reading messages",
            reason: redacted(&e),
        })?;
        let seq = message.info().map(|i| i.stream_sequence).unwrap_or(last);
        out.push(StoredMessage {
            subject: message.subject.to_string(),
            msg_id: message
                .headers
                .as_ref()
                .and_then(|h| h.get("Nats-Msg-Id"))
                .map(|v| v.as_str().to_owned()),
            payload: message.payload.clone(),
        });
        if seq >= last {
            break;
        }
    }
    Ok(out)
}
