//! [`DisconnectReason`]: why a connection to a venue ended, in words and as a label.

use std::time::Duration;

/// Why a connection ended.
///
/// A venue's connection manager (`binance` for Binance) reports these; the recording
/// pipeline keeps the one that opened a gap in [`GapReason::Lost`](crate::GapReason::Lost).
/// The text ([`Display`](std::fmt::Display)) is what the gaps dataset and the logs show;
/// [`kind`](Self::kind) is a closed set of labels for metrics, never the server's words.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DisconnectReason {
    /// The server closed the connection: with a close frame, or the TCP stream simply
    /// ended (then `code` is `None`).
    #[error("server closed the connection ({})", close_text(*code, reason))]
    Closed {
        /// The WebSocket close code (`1000` normal, `1001` going away, ...), if the
        /// server sent a close frame with one.
        code: Option<u16>,
        /// The close frame's reason text (may be empty), or what happened instead,
        /// e.g. `connection ended without a close frame`.
        reason: String,
    },
    /// Reading or writing the socket failed (reset, TLS or protocol error, a write
    /// blocked too long); the text is the WebSocket library's, or says which write.
    #[error("connection error: {0}")]
    Error(String),
    /// Not a single frame (data, ping or pong) arrived for this long: the manager's
    /// read-idle timeout.
    #[error("no data for {0:?} (read-idle timeout)")]
    IdleTimeout(Duration),
    /// The server announced its shutdown (Binance: `serverShutdown`), then the connection
    /// ended before a new one could be opened (otherwise the handover is a
    /// [`Self::Renewal`]).
    #[error("server announced shutdown (serverShutdown)")]
    ServerShutdown,
    /// Replaced by a newer connection that was already open (renewal before the venue's
    /// connection lifetime ends, or after a shutdown announcement): not a loss of feed,
    /// never the start of a gap.
    #[error("renewed: replaced by a newer connection (not a loss of feed)")]
    Renewal,
    /// An attempt to connect failed (DNS, TCP, TLS, the WebSocket handshake, or the
    /// attempt limiter), with the cause in words; the manager retries with backoff.
    #[error("could not connect: {0}")]
    ConnectFailed(String),
    /// A control request got no reply after every attempt; `request` names it and its
    /// streams, e.g. `SUBSCRIBE btcusdt@miniTicker`.
    #[error("no reply to {request} after {attempts} attempts")]
    ControlUnanswered {
        /// The request and its streams, e.g. `SUBSCRIBE btcusdt@miniTicker`.
        request: String,
        /// How many times it was sent.
        attempts: u32,
    },
    /// The application asked the manager to shut down.
    #[error("shut down by the application")]
    Shutdown,
}

impl DisconnectReason {
    /// The label of this reason: a closed set (`closed`, `error`, `idle_timeout`,
    /// `server_shutdown`, `renewal`, `connect_failed`, `control_unanswered`, `shutdown`),
    /// never the server's free text.
    pub fn kind(&self) -> &'static str {
        match self {
            DisconnectReason::Closed { .. } => "closed",
            DisconnectReason::Error(_) => "error",
            DisconnectReason::IdleTimeout(_) => "idle_timeout",
            DisconnectReason::ServerShutdown => "server_shutdown",
            DisconnectReason::Renewal => "renewal",
            DisconnectReason::ConnectFailed(_) => "connect_failed",
            DisconnectReason::ControlUnanswered { .. } => "control_unanswered",
            DisconnectReason::Shutdown => "shutdown",
        }
    }
}

fn close_text(code: Option<u16>, reason: &str) -> String {
    match (code, reason.is_empty()) {
        (Some(code), true) => format!("code {code}"),
        (Some(code), false) => format!("code {code}: {reason}"),
        (None, true) => "no close code".to_owned(),
        (None, false) => reason.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_read_as_plain_words_and_label_as_a_closed_set() {
        let table = [
            (
                DisconnectReason::Closed {
                    code: Some(1000),
                    reason: "bye".into(),
                },
                "server closed the connection (code 1000: bye)",
                "closed",
            ),
            (
                DisconnectReason::Closed {
                    code: None,
                    reason: String::new(),
                },
                "server closed the connection (no close code)",
                "closed",
            ),
            (
                DisconnectReason::Error("reset".into()),
                "connection error: reset",
                "error",
            ),
            (
                DisconnectReason::IdleTimeout(Duration::from_secs(10)),
                "no data for 10s (read-idle timeout)",
                "idle_timeout",
            ),
            (
                DisconnectReason::ServerShutdown,
                "server announced shutdown (serverShutdown)",
                "server_shutdown",
            ),
            (
                DisconnectReason::Renewal,
                "renewed: replaced by a newer connection (not a loss of feed)",
                "renewal",
            ),
            (
                DisconnectReason::ConnectFailed("refused".into()),
                "could not connect: refused",
                "connect_failed",
            ),
            (
                DisconnectReason::ControlUnanswered {
                    request: "SUBSCRIBE btcusdt@miniTicker".into(),
                    attempts: 5,
                },
                "no reply to SUBSCRIBE btcusdt@miniTicker after 5 attempts",
                "control_unanswered",
            ),
            (
                DisconnectReason::Shutdown,
                "shut down by the application",
                "shutdown",
            ),
        ];
        for (reason, text, kind) in table {
            assert_eq!((reason.to_string().as_str(), reason.kind()), (text, kind));
        }
    }
}
