//! [`RestError`]: what can go wrong asking `exchangeInfo`, one variant per kind of failure
//! (the symbol is unknown, the URL is unusable, the request did not complete, Binance
//! answered an error, the body did not decode).

/// What can go wrong asking `exchangeInfo`.
#[derive(Debug, thiserror::Error)]
pub enum RestError {
    /// Binance does not know the symbol (`-1121`).
    #[error("unknown symbol {0}")]
    UnknownSymbol(String),
    /// The base URL is not usable.
    #[error("bad REST base URL '{url}': {reason}")]
    BadUrl {
        /// The URL given.
        url: String,
        /// Why it was refused.
        reason: String,
    },
    /// The request did not complete (connect, TLS, timeout, reading the body).
    #[error("request to {url} failed: {cause}")]
    Transport {
        /// The URL asked, without user info or query (`scheme://host:port/path`).
        url: String,
        /// Why, in words: `connection refused`, `timed out ...`, `TLS handshake failed: ...`.
        cause: String,
        /// The client's error, whose text `cause` sums up (so it is not also the `source()`:
        /// its chain would say the cause again, with the URL unredacted).
        error: reqwest::Error,
    },
    /// A Binance error body other than "unknown symbol".
    #[error("exchange error {code} (HTTP {status}): {msg}")]
    Api {
        /// HTTP status.
        status: u16,
        /// Binance error code.
        code: i64,
        /// Binance message.
        msg: String,
    },
    /// A non-success status without a Binance error body.
    #[error("HTTP {status} from {url}")]
    Status {
        /// HTTP status.
        status: u16,
        /// The URL asked.
        url: String,
    },
    /// An answer larger than [`MAX_BODY_BYTES`](super::MAX_BODY_BYTES): refused without
    /// reading it whole.
    #[error("answer from {url} larger than {} MiB: refused, not read whole", limit >> 20)]
    TooLarge {
        /// The URL asked, without user info or query.
        url: String,
        /// The cap, in bytes.
        limit: usize,
    },
    /// The body is not the expected JSON.
    #[error("unexpected exchangeInfo payload: {0}")]
    Decode(serde_json::Error),
    /// The answer did not list the symbol that was asked for.
    #[error("exchangeInfo answer does not list {0}")]
    Missing(String),
}

impl From<serde_json::Error> for RestError {
    fn from(e: serde_json::Error) -> Self {
        RestError::Decode(e)
    }
}
