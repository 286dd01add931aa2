//! The JetStream stream: created or updated on start with the user's limits.

use std::time::Duration;

use async_nats::jetstream::context::{GetStreamError, GetStreamErrorKind};
use async_nats::jetstream::{self, stream, ErrorCode};

use crate::error::redacted;
use crate::subject::{STREAM_NAME, STREAM_SUBJECTS};
use crate::BusError;

/// How much of the feed the stream keeps; the oldest messages go first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamLimits {
    /// Messages older than this are removed (zero: no age limit).
    pub max_age: Duration,
    /// The stream never holds more than this many bytes (`-1`: no size limit).
    pub max_bytes: i64,
    /// Copies (same `Nats-Msg-Id`) published within this window are stored once.
    pub duplicate_window: Duration,
}

impl Default for StreamLimits {
    /// A day of data, at most 1 GiB, copies dropped within 2 minutes.
    fn default() -> Self {
        StreamLimits {
            max_age: Duration::from_secs(86_400),
            max_bytes: 1 << 30,
            duplicate_window: Duration::from_secs(120),
        }
    }
}

impl StreamLimits {
    /// The stream's configuration (file storage, one replica, oldest discarded first).
    pub fn stream_config(&self) -> stream::Config {
        stream::Config {
            name: STREAM_NAME.to_owned(),
            subjects: vec![STREAM_SUBJECTS.to_owned()],
            max_age: self.max_age,
            max_bytes: self.max_bytes,
            // JetStream wants the window no longer than max_age.
            duplicate_window: match self.max_age {
                Duration::ZERO => self.duplicate_window,
                age => self.duplicate_window.min(age),
            },
            storage: stream::StorageType::File,
            discard: stream::DiscardPolicy::Old,
            ..Default::default()
        }
    }
}

/// Creates the stream, or updates an existing one to `limits`.
///
/// # Errors
///
/// [`BusError::JetStream`] when the server refuses the stream's configuration (e.g.
/// limits an existing stream cannot be changed to) or does not answer.
pub async fn ensure_stream(
    js: &jetstream::Context,
    limits: &StreamLimits,
) -> Result<stream::Info, BusError> {
    js.create_or_update_stream(limits.stream_config())
        .await
        .map_err(|e| BusError::JetStream {
            what: "creating or updating stream BINANCE_MINITICKER",
            reason: redacted(&e),
        })
}

/// The server's answer to a stream look-up is "no such stream" (it was deleted, or never
/// created), as opposed to a failed request.
pub(crate) fn is_not_found(e: &GetStreamError) -> bool {
    matches!(e.kind(), GetStreamErrorKind::JetStream(j) if j.error_code() == ErrorCode::STREAM_NOT_FOUND)
}
