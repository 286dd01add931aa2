//! Errors of the CoinGecko client, keeping CoinGecko's own error body.

use std::fmt;

/// How much of an unparsable error body is kept (bytes, cut on a char boundary).
const RAW_BODY_LIMIT: usize = 300;

/// An error body as CoinGecko sends it, in any of the shapes seen in the wild:
///
/// ```text
/// {"error":"coin not found"}                                          (HTTP 404)
/// {"status":{"error_code":429,"error_message":"You've exceeded ..."}} (HTTP 429, or 200)
/// {"error_code":10011,"status":{"error_message":"If you are using Demo API key ..."}}
/// ```
///
/// See <https://docs.coingecko.com/reference/common-errors-rate-limit>.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiErrorBody {
    /// `error_code`, at the top level or under `status`.
    pub error_code: Option<i64>,
    /// `error`, `error_message` or `status.error_message`.
    pub message: Option<String>,
    /// The body as received (shortened), for bodies that match no known shape.
    pub raw: String,
}

impl ApiErrorBody {
    /// Parses an error body; never fails (an unknown body keeps only `raw`).
    pub fn parse(body: &[u8]) -> ApiErrorBody {
        let raw = shorten(&String::from_utf8_lossy(body));
        let Ok(serde_json::Value::Object(map)) = serde_json::from_slice(body) else {
            return ApiErrorBody {
                error_code: None,
                message: None,
                raw,
            };
        };
        let status = map.get("status").and_then(|s| s.as_object());
        let pick = |key: &str| {
            map.get(key)
                .filter(|v| !v.is_null())
                .or_else(|| status.and_then(|s| s.get(key)).filter(|v| !v.is_null()))
        };
        let error_code = pick("error_code").and_then(|v| {
            v.as_i64()
                .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
        });
        let message = map
            .get("error")
            .and_then(|v| v.as_str())
            .or_else(|| pick("error_message").and_then(|v| v.as_str()))
            .map(str::to_owned);
        ApiErrorBody {
            error_code,
            message,
            raw,
        }
    }

    /// True when the body announces a rate limit (`error_code` 429).
    pub fn is_rate_limit(&self) -> bool {
        self.error_code == Some(429)
    }

    /// True when the body is recognisably a CoinGecko error (has a code or a message).
    pub fn is_error(&self) -> bool {
        self.error_code.is_some() || self.message.is_some()
    }
}

impl fmt::Display for ApiErrorBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.message, self.error_code) {
            (Some(m), Some(c)) => write!(f, "{m} (error_code {c})"),
            (Some(m), None) => f.write_str(m),
            (None, Some(c)) => write!(f, "error_code {c}"),
            (None, None) if self.raw.is_empty() => f.write_str("(empty body)"),
            (None, None) => f.write_str(&self.raw),
        }
    }
}

fn shorten(s: &str) -> String {
    let s = s.trim();
    if s.len() <= RAW_BODY_LIMIT {
        return s.to_owned();
    }
    let mut end = RAW_BODY_LIMIT;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", &s[..end])
}

/// Everything that can go wrong talking to CoinGecko. No variant ever holds the API key.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The base URL is not an absolute http(s) URL.
    #[error("invalid CoinGecko base URL {url:?}: {reason}")]
    InvalidBaseUrl {
        /// The URL as given (it never holds the key: the key travels in a header).
        url: String,
        /// Why it was refused.
        reason: String,
    },
    /// The client's configuration is invalid ([`crate::ClientConfig::validate`]).
    #[error("invalid CoinGecko client configuration: {0}")]
    Config(events::Invalid),
    /// The API key cannot be sent as an HTTP header value.
    #[error("the CoinGecko API key contains characters not allowed in an HTTP header")]
    InvalidApiKey,
    /// The HTTP client could not be built (TLS set-up).
    #[error("building the HTTP client failed: {0}")]
    Build(String),
    /// CoinGecko answered with an error that is not worth retrying (4xx, or an error body).
    #[error("CoinGecko {endpoint} answered HTTP {status}: {body}")]
    Api {
        /// Path of the endpoint, e.g. `/coins/bitcoin/market_chart`.
        endpoint: String,
        /// HTTP status (200 when the error came in the body of a 200).
        status: u16,
        /// CoinGecko's error body.
        body: ApiErrorBody,
    },
    /// Still rate limited (HTTP 429 or a 429 body) after every attempt.
    #[error("CoinGecko {endpoint} still rate limited after {attempts} attempts: {body}")]
    RateLimited {
        /// Path of the endpoint.
        endpoint: String,
        /// Attempts made.
        attempts: u32,
        /// CoinGecko's error body of the last answer.
        body: ApiErrorBody,
    },
    /// Still failing with HTTP 5xx after every attempt.
    #[error("CoinGecko {endpoint} answered HTTP {status} after {attempts} attempts: {body}")]
    Server {
        /// Path of the endpoint.
        endpoint: String,
        /// HTTP status of the last answer.
        status: u16,
        /// Attempts made.
        attempts: u32,
        /// Body of the last answer.
        body: ApiErrorBody,
    },
    /// Network failure (connect, timeout, reading the body) after every attempt.
    #[error("request to CoinGecko {endpoint} failed after {attempts} attempts: {message}")]
    Transport {
        /// Path of the endpoint.
        endpoint: String,
        /// Attempts made.
        attempts: u32,
        /// The last transport error.
        message: String,
    },
    /// An answer larger than [`MAX_BODY_BYTES`](crate::MAX_BODY_BYTES): refused
    /// without reading it whole (not retried).
    #[error("CoinGecko {endpoint} sent an answer larger than {} MiB: refused, not read whole", limit >> 20)]
    TooLarge {
        /// Path of the endpoint.
        endpoint: String,
        /// The cap, in bytes.
        limit: usize,
    },
    /// A 2xx answer whose JSON does not have the documented shape.
    #[error("unexpected answer from CoinGecko {endpoint}: {message}")]
    Decode {
        /// Path of the endpoint.
        endpoint: String,
        /// What did not match.
        message: String,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> Vec<u8> {
        let path = format!("{}/../../fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
        std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    #[test]
    fn parses_every_known_shape() {
        let cases: &[(&[u8], Option<i64>, Option<&str>)] = &[
            (&fixture("coingecko_error_404_coin_not_found.json"), None, Some("coin not found")),
            (&fixture("coingecko_error_400_invalid_vs_currency.json"), None, Some("invalid vs_currency")),
            (&fixture("coingecko_error_429.json"), Some(429), Some("You've exceeded the Rate Limit. Please visit https://www.coingecko.com/en/api/pricing to subscribe to our API plans for higher rate limits.")),
            (&fixture("coingecko_error_400_10010_wrong_root_url.json"), Some(10010), Some("If you are using Pro API key, please change your root URL from api.coingecko.com to pro-api.coingecko.com")),
            (br#"{"error_code":10011,"status":{"error_message":"use api.coingecko.com"}}"#, Some(10011), Some("use api.coingecko.com")),
            (br#"{"status":{"error_code":"10002","error_message":"Invalid API Key"}}"#, Some(10002), Some("Invalid API Key")),
            (br#"{"status":{"error_code":null}}"#, None, None),
            (b"<html>Bad Gateway</html>", None, None),
            (b"", None, None),
            (br#"{"error":"#, None, None),
            (b"[1,2]", None, None),
        ];
        for (body, code, msg) in cases {
            let parsed = ApiErrorBody::parse(body);
            assert_eq!(
                parsed.error_code,
                *code,
                "{}",
                String::from_utf8_lossy(body)
            );
            assert_eq!(
                parsed.message.as_deref(),
                *msg,
                "{}",
                String::from_utf8_lossy(body)
            );
            assert_eq!(parsed.raw, String::from_utf8_lossy(body).trim());
        }
    }

    #[test]
    fn rate_limit_and_display() {
        let b = ApiErrorBody::parse(&fixture("coingecko_error_429.json"));
        assert!(b.is_rate_limit() && b.is_error());
        assert!(b.to_string().ends_with("(error_code 429)"));
        let html = ApiErrorBody::parse(b"<html>Bad Gateway</html>");
        assert!(!html.is_error());
        assert_eq!(html.to_string(), "<html>Bad Gateway</html>");
        assert_eq!(ApiErrorBody::parse(b"").to_string(), "(empty body)");
    }

    #[test]
    fn long_bodies_are_shortened_on_a_char_boundary() {
        let body = "é".repeat(400);
        let parsed = ApiErrorBody::parse(body.as_bytes());
        assert!(parsed.raw.ends_with("...") && parsed.raw.len() <= RAW_BODY_LIMIT + 3);
    }
}
