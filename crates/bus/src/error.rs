//! The bus crate's errors. Every message is redacted: credentials never reach a log line.

/// What can go wrong talking to NATS.
#[derive(Debug, thiserror::Error)]
pub enum BusError {
    /// The `nats://` URL or a credentials setting is unusable.
    #[error("bad NATS configuration: {0}")]
    Config(String),
    /// The server could not be reached or refused us.
    #[error("cannot connect to NATS at {server}: {reason}")]
    Connect {
        /// `nats://host:port`, without credentials.
        server: String,
        /// Why (redacted).
        reason: String,
    },
    /// A JetStream request (stream or consumer set-up) failed.
    #[error("JetStream {what} failed: {reason}")]
    JetStream {
        /// The request.
        what: &'static str,
        /// Why (redacted).
        reason: String,
    },
}

/// The text of an outside error, with secrets masked.
pub(crate) fn redacted(e: &impl std::fmt::Display) -> String {
    logging::redact(&e.to_string())
}
