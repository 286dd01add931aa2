//! Binance spot REST: `GET /api/v3/exchangeInfo`, used to check that a symbol exists and
//! trades before following its stream (feature `rest`).
//!
//! Official docs: <https://developers.binance.com/docs/binance-spot-api-docs/rest-api/general-endpoints#exchange-information>
//! and error codes: <https://developers.binance.com/docs/binance-spot-api-docs/errors>.
//!
//! `GET /api/v3/exchangeInfo?symbol=ETHBTC` answers (trimmed; fixture
//! `fixtures/binance_rest_exchangeInfo_3symbols_2021-03-02.json`):
//!
//! ```json
//! {
//!   "timezone": "UTC",
//!   "serverTime": 1614694549948,
//!   "rateLimits": [ { "rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1, "limit": 1200 } ],
//!   "exchangeFilters": [],
//!   "symbols": [
//!     {
//!       "symbol": "ETHBTC",
//!       "status": "TRADING",
//!       "baseAsset": "ETH",
//!       "baseAssetPrecision": 8,
//!       "quoteAsset": "BTC",
//!       "quotePrecision": 8,
//!       "filters": [ { "filterType": "PRICE_FILTER", "minPrice": "0.00000100", "maxPrice": "100000.00000000", "tickSize": "0.00000100" } ],
//!       "permissions": [ "SPOT", "MARGIN" ]
//!     }
//!   ]
//! }
//! ```
//!
//! An unknown symbol is HTTP 400 with `{"code":-1121,"msg":"Invalid symbol."}`.
//!
//! Symbols are not only ASCII any more. Binance's spot changelog of 2025-12-02
//! (<https://developers.binance.com/docs/binance-spot-api-docs/CHANGELOG>):
//!
//! > Parameter `symbol` and `symbols` can now support Unicode values encoded in UTF-8.
//!
//! and of 2025-12-15: "if your request contains a symbol name containing non-ASCII
//! characters, then the response may contain non-ASCII characters encoded in UTF-8". So
//! `exchangeInfo` is the authority on what a symbol is: [`RestClient::symbol_info`] asks it
//! about any name (percent-encoded as UTF-8 in the query, `?symbol=%E5%B8%81…USDT` for
//! `币安人生USDT`) instead of judging the characters itself.
//! `status` is one of `PRE_TRADING`, `TRADING`, `POST_TRADING`, `END_OF_DAY`, `HALT`,
//! `AUCTION_MATCH`, `BREAK`; only `TRADING` streams live prices.

use std::fmt;
use std::time::Duration;

use serde::Deserialize;

/// Binance's error code for an unknown symbol.
pub const INVALID_SYMBOL: i64 = -1121;
/// Binance's error code for a parameter with characters it does not accept
/// (`Illegal characters found in parameter 'symbol'; …`): for the `symbol` parameter, no
/// listed symbol is spelled so.
pub const ILLEGAL_CHARS: i64 = -1100;

/// A symbol's trading status as `exchangeInfo` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SymbolStatus {
    /// `TRADING`: the only status with a live market.
    Trading,
    /// `BREAK`: delisted or in planned downtime.
    Break,
    /// `HALT`: stopped in an emergency.
    Halt,
    /// Any other status text (`PRE_TRADING`, `END_OF_DAY`, ...), kept as sent.
    Other(String),
}

impl SymbolStatus {
    /// `true` only for `TRADING`.
    pub fn is_trading(&self) -> bool {
        matches!(self, SymbolStatus::Trading)
    }

    fn from_text(text: String) -> Self {
        match text.as_str() {
            "TRADING" => SymbolStatus::Trading,
            "BREAK" => SymbolStatus::Break,
            "HALT" => SymbolStatus::Halt,
            _ => SymbolStatus::Other(text),
        }
    }
}

impl fmt::Display for SymbolStatus {
    /// The Binance spelling (`TRADING`, `BREAK`, ...).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SymbolStatus::Trading => "TRADING",
            SymbolStatus::Break => "BREAK",
            SymbolStatus::Halt => "HALT",
            SymbolStatus::Other(s) => s,
        })
    }
}

/// One element of `symbols` (only the fields this toolkit uses).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SymbolInfo {
    /// `symbol`, upper case.
    pub symbol: String,
    /// `status`.
    pub status: SymbolStatus,
    /// `baseAsset`.
    pub base_asset: String,
    /// `quoteAsset`.
    pub quote_asset: String,
}

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
        /// The client's error.
        #[source]
        source: reqwest::Error,
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
    /// The body is not the expected JSON.
    #[error("unexpected exchangeInfo payload: {0}")]
    Decode(#[from] serde_json::Error),
    /// The answer did not list the symbol that was asked for.
    #[error("exchangeInfo answer does not list {0}")]
    Missing(String),
}

#[derive(Deserialize)]
struct RawExchangeInfo {
    symbols: Vec<RawSymbol>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawSymbol {
    symbol: String,
    status: String,
    base_asset: String,
    quote_asset: String,
}

#[derive(Deserialize)]
struct RawApiError {
    code: i64,
    msg: String,
}

/// Decodes an `exchangeInfo` success body.
///
/// ```
/// let body = r#"{"symbols":[{"symbol":"ETHBTC","status":"BREAK","baseAsset":"ETH","quoteAsset":"BTC"}]}"#;
/// let symbols = stream::rest::decode_exchange_info(body).unwrap();
/// assert_eq!(symbols[0].status.to_string(), "BREAK");
/// ```
pub fn decode_exchange_info(body: &str) -> Result<Vec<SymbolInfo>, serde_json::Error> {
    let raw: RawExchangeInfo = serde_json::from_str(body)?;
    Ok(raw
        .symbols
        .into_iter()
        .map(|s| SymbolInfo {
            symbol: s.symbol,
            status: SymbolStatus::from_text(s.status),
            base_asset: s.base_asset,
            quote_asset: s.quote_asset,
        })
        .collect())
}

/// Turns a non-success answer into the matching error (`symbol` names the one asked for).
pub fn decode_error(status: u16, body: &str, symbol: Option<&str>, url: &str) -> RestError {
    match serde_json::from_str::<RawApiError>(body) {
        Ok(e) if e.code == INVALID_SYMBOL || (e.code == ILLEGAL_CHARS && symbol.is_some()) => {
            RestError::UnknownSymbol(symbol.unwrap_or_default().to_owned())
        }
        Ok(e) => RestError::Api {
            status,
            code: e.code,
            msg: e.msg,
        },
        Err(_) => RestError::Status {
            status,
            url: url.to_owned(),
        },
    }
}

/// A small `exchangeInfo` client.
///
/// ```no_run
/// # async fn demo() -> Result<(), stream::rest::RestError> {
/// let client = stream::rest::RestClient::new("https://api.binance.com")?;
/// let info = client.symbol_info("BTCUSDT").await?;
/// assert!(info.status.is_trading());
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct RestClient {
    http: reqwest::Client,
    base: String,
    /// The overall request timeout, for the message when it expires.
    timeout: Duration,
}

impl RestClient {
    /// A client for `base_url` (`BINANCE_REST_URL`, e.g. `https://api.binance.com`), with a
    /// 10 s connect and 30 s overall timeout.
    pub fn new(base_url: &str) -> Result<Self, RestError> {
        Self::with_timeouts(base_url, Duration::from_secs(10), Duration::from_secs(30))
    }

    /// A client for `base_url` with the given connect and overall request timeouts.
    pub fn with_timeouts(
        base_url: &str,
        connect: Duration,
        total: Duration,
    ) -> Result<Self, RestError> {
        let bad = |reason: &str| RestError::BadUrl {
            url: base_url.to_owned(),
            reason: reason.to_owned(),
        };
        if !(base_url.starts_with("http://") || base_url.starts_with("https://")) {
            return Err(bad("expected http:// or https://"));
        }
        let http = reqwest::Client::builder()
            .connect_timeout(connect)
            .timeout(total)
            .build()
            .map_err(|e| bad(&e.to_string()))?;
        Ok(RestClient {
            http,
            base: base_url.trim_end_matches('/').to_owned(),
            timeout: total,
        })
    }

    /// `exchangeInfo` for one symbol, as Binance spells it (`BTCUSDT`, `币安人生USDT`): its
    /// status, or [`RestError::UnknownSymbol`] when Binance does not list it.
    pub async fn symbol_info(&self, symbol: &str) -> Result<SymbolInfo, RestError> {
        if symbol.is_empty() {
            return Err(RestError::UnknownSymbol(String::new()));
        }
        let url = format!(
            "{}/api/v3/exchangeInfo?symbol={}",
            self.base,
            crate::manager::url::percent_encode(symbol)
        );
        let symbols = self.get(&url, Some(symbol)).await?;
        symbols
            .into_iter()
            .find(|s| s.symbol.eq_ignore_ascii_case(symbol))
            .ok_or_else(|| RestError::Missing(symbol.to_owned()))
    }

    /// `exchangeInfo` for every symbol.
    pub async fn all_symbols(&self) -> Result<Vec<SymbolInfo>, RestError> {
        let url = format!("{}/api/v3/exchangeInfo", self.base);
        self.get(&url, None).await
    }

    async fn get(&self, url: &str, symbol: Option<&str>) -> Result<Vec<SymbolInfo>, RestError> {
        let transport = |source: reqwest::Error| RestError::Transport {
            url: crate::manager::redact(url),
            cause: transport_cause(&source, self.timeout),
            source,
        };
        let response = self.http.get(url).send().await.map_err(transport)?;
        let status = response.status();
        let body = response.text().await.map_err(transport)?;
        if !status.is_success() {
            let shown = crate::manager::redact(url);
            return Err(decode_error(status.as_u16(), &body, symbol, &shown));
        }
        Ok(decode_exchange_info(&body)?)
    }
}

/// Why a request did not complete, in a few words, from reqwest's error and its sources
/// (reqwest's own text, "error sending request for url (...)", names no cause):
/// `connection refused`, `timed out (no answer within 30s)`,
/// `TLS handshake failed: invalid peer certificate: UnknownIssuer`, otherwise the deepest
/// cause the chain gives. Never the URL: the caller names it, redacted.
fn transport_cause(e: &reqwest::Error, timeout: Duration) -> String {
    use std::error::Error;
    use std::io::ErrorKind;
    // The sources, plus what an `io::Error` wraps (its `source()` skips the wrapped error
    // itself, and TLS failures come as a rustls error inside one or two `io::Error`s).
    let mut chain: Vec<&(dyn Error + 'static)> = Vec::new();
    let mut next: Option<&(dyn Error + 'static)> = Some(e);
    while let Some(err) = next {
        chain.push(err);
        next = match err
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
        {
            Some(inner) => Some(inner as &(dyn Error + 'static)),
            None => err.source(),
        };
    }
    for err in &chain {
        if let Some(tls) = err.downcast_ref::<rustls::Error>() {
            return format!("TLS handshake failed: {tls}");
        }
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            match io.kind() {
                ErrorKind::ConnectionRefused => return "connection refused".to_owned(),
                ErrorKind::ConnectionReset => return "connection reset by the server".to_owned(),
                ErrorKind::TimedOut => return format!("timed out ({io})"),
                _ => {}
            }
        }
    }
    if e.is_timeout() {
        return format!("timed out (no answer within {timeout:?})");
    }
    let doing = if e.is_connect() {
        "could not connect"
    } else if e.is_body() || e.is_decode() {
        "reading the answer failed"
    } else {
        "no answer"
    };
    let deepest = chain.last().map(|err| err.to_string()).unwrap_or_default();
    // reqwest's own text carries the URL, which may hold a secret: cut it off.
    match deepest.split(" for url (").next() {
        Some(text) if !text.is_empty() => format!("{doing}: {text}"),
        _ => doing.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIXTURE: &str = include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../fixtures/binance_rest_exchangeInfo_3symbols_2021-03-02.json"
    ));

    #[test]
    fn decodes_the_captured_payload() {
        let symbols = decode_exchange_info(FIXTURE).unwrap();
        let got: Vec<(&str, &SymbolStatus, &str, &str)> = symbols
            .iter()
            .map(|s| {
                (
                    s.symbol.as_str(),
                    &s.status,
                    s.base_asset.as_str(),
                    s.quote_asset.as_str(),
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![
                ("ETHBTC", &SymbolStatus::Trading, "ETH", "BTC"),
                ("LTCBTC", &SymbolStatus::Trading, "LTC", "BTC"),
                ("BNBBTC", &SymbolStatus::Trading, "BNB", "BTC"),
            ]
        );
    }

    #[test]
    fn decodes_statuses_and_rejects_bad_bodies() {
        let one = |status: &str| {
            format!(
                r#"{{"symbols":[{{"symbol":"X","status":"{status}","baseAsset":"A","quoteAsset":"B"}}]}}"#
            )
        };
        let cases = [
            ("TRADING", SymbolStatus::Trading, true),
            ("BREAK", SymbolStatus::Break, false),
            ("HALT", SymbolStatus::Halt, false),
            (
                "END_OF_DAY",
                SymbolStatus::Other("END_OF_DAY".into()),
                false,
            ),
        ];
        for (text, status, trading) in cases {
            let s = decode_exchange_info(&one(text)).unwrap();
            assert_eq!(s[0].status, status);
            assert_eq!(s[0].status.is_trading(), trading);
            assert_eq!(s[0].status.to_string(), text);
        }
        let bad = [
            "",
            "{",
            &FIXTURE[..FIXTURE.len() / 2],
            r#"{"symbols":{}}"#,
            r#"{"symbols":[{"symbol":"X"}]}"#,
            r#"{"code":-1121,"msg":"Invalid symbol."}"#,
        ];
        for body in bad {
            assert!(decode_exchange_info(body).is_err(), "{body:?}");
        }
    }

    #[test]
    fn maps_error_bodies() {
        let url = "http://x/api/v3/exchangeInfo?symbol=NOPE";
        let unknown = decode_error(
            400,
            r#"{"code":-1121,"msg":"Invalid symbol."}"#,
            Some("NOPE"),
            url,
        );
        assert!(matches!(unknown, RestError::UnknownSymbol(ref s) if s == "NOPE"));
        assert_eq!(unknown.to_string(), "unknown symbol NOPE");
        let api = decode_error(
            429,
            r#"{"code":-1003,"msg":"Too many requests."}"#,
            Some("X"),
            url,
        );
        assert!(matches!(
            api,
            RestError::Api {
                status: 429,
                code: -1003,
                ..
            }
        ));
        let plain = decode_error(502, "<html>bad gateway</html>", Some("X"), url);
        assert!(matches!(plain, RestError::Status { status: 502, .. }));
        let truncated = decode_error(400, r#"{"code":-1121,"ms"#, Some("X"), url);
        assert!(matches!(truncated, RestError::Status { status: 400, .. }));
    }

    #[test]
    fn refuses_bad_base_urls() {
        for url in ["", "api.binance.com", "ftp://x"] {
            assert!(
                matches!(RestClient::new(url), Err(RestError::BadUrl { .. })),
                "{url}"
            );
        }
        assert!(RestClient::new("http://127.0.0.1:1/").is_ok());
    }

    /// Serves canned answers on 127.0.0.1: the fixture for `symbol=ETHBTC`, a BREAK symbol,
    /// `-1121` for anything else; returns the base URL.
    async fn canned_server() -> String {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move {
            while let Ok((mut sock, _)) = listener.accept().await {
                let mut req = vec![0u8; 4096];
                let n = sock.read(&mut req).await.unwrap_or(0);
                let head = String::from_utf8_lossy(&req[..n]).to_string();
                let path = head.split_whitespace().nth(1).unwrap_or("").to_owned();
                let (status, body) = if path == "/api/v3/exchangeInfo?symbol=ETHBTC" {
                    ("200 OK", FIXTURE.to_owned())
                } else if path
                    == "/api/v3/exchangeInfo?symbol=%E5%B8%81%E5%AE%89%E4%BA%BA%E7%94%9FUSDT"
                {
                    ("200 OK", r#"{"symbols":[{"symbol":"币安人生USDT","status":"TRADING","baseAsset":"币安人生","quoteAsset":"USDT"}]}"#.to_owned())
                } else if path.contains("%2F") {
                    (
                        "400 Bad Request",
                        r#"{"code":-1100,"msg":"Illegal characters found in parameter 'symbol'; legal range is '^[A-Z0-9-_.]{1,20}$'."}"#.to_owned(),
                    )
                } else if path == "/api/v3/exchangeInfo?symbol=OLDCOIN" {
                    ("200 OK", r#"{"symbols":[{"symbol":"OLDCOIN","status":"BREAK","baseAsset":"OLD","quoteAsset":"BTC"}]}"#.to_owned())
                } else {
                    (
                        "400 Bad Request",
                        r#"{"code":-1121,"msg":"Invalid symbol."}"#.to_owned(),
                    )
                };
                let reply = format!(
                    "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = sock.write_all(reply.as_bytes()).await;
            }
        });
        base
    }

    #[tokio::test]
    async fn asks_exchange_info_over_http() {
        let client = RestClient::new(&canned_server().await).unwrap();
        let info = client.symbol_info("ETHBTC").await.unwrap();
        assert_eq!(
            (info.symbol.as_str(), info.status.is_trading()),
            ("ETHBTC", true)
        );
        // Any name goes to exchangeInfo, percent-encoded; its answer decides.
        let utf8 = client.symbol_info("币安人生USDT").await.unwrap();
        assert_eq!(
            (
                utf8.symbol.as_str(),
                utf8.base_asset.as_str(),
                utf8.status.is_trading()
            ),
            ("币安人生USDT", "币安人生", true)
        );
        let illegal = client.symbol_info("BTC/USDT").await.unwrap_err();
        assert!(
            matches!(illegal, RestError::UnknownSymbol(ref s) if s == "BTC/USDT"),
            "{illegal:?}"
        );
        let old = client.symbol_info("OLDCOIN").await.unwrap();
        assert_eq!(old.status, SymbolStatus::Break);
        let unknown = client.symbol_info("NOPE").await.unwrap_err();
        assert!(
            matches!(unknown, RestError::UnknownSymbol(ref s) if s == "NOPE"),
            "{unknown:?}"
        );
        let refused = RestClient::new("http://127.0.0.1:9")
            .unwrap()
            .symbol_info("ETHBTC")
            .await;
        assert!(
            matches!(refused, Err(RestError::Transport { .. })),
            "{refused:?}"
        );
    }

    /// A listener that accepts and then answers `reply` (or nothing) to whatever comes.
    async fn answering(reply: Option<&'static [u8]>) -> std::net::SocketAddr {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let mut open = Vec::new();
            while let Ok((mut sock, _)) = listener.accept().await {
                let mut buf = vec![0u8; 4096];
                let _ = sock.read(&mut buf).await;
                if let Some(reply) = reply {
                    let _ = sock.write_all(reply).await;
                }
                open.push(sock);
            }
        });
        addr
    }

    #[tokio::test]
    async fn transport_errors_name_their_cause_and_no_secret() {
        crate::ensure_crypto_provider();
        let refused = {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            let addr = listener.local_addr().unwrap();
            drop(listener);
            format!("http://user:hunter2@{addr}")
        };
        let silent = format!("http://{}", answering(None).await);
        let not_tls = format!(
            "https://{}",
            answering(Some(b"HTTP/1.1 200 OK\r\n\r\n")).await
        );
        // Only the silent server is meant to reach the (short) timeout.
        let cases = [
            (refused, Duration::from_secs(30), "connection refused"),
            (silent, Duration::from_millis(300), "timed out"),
            (not_tls, Duration::from_secs(30), "TLS handshake failed"),
        ];
        for (base, timeout, cause) in cases {
            let client = RestClient::with_timeouts(&base, timeout, timeout).unwrap();
            let err = client.symbol_info("ETHBTC").await.unwrap_err();
            let text = err.to_string();
            assert!(
                matches!(err, RestError::Transport { .. }),
                "{base}: {err:?}"
            );
            assert!(
                text.contains(cause),
                "{base}: {text:?} does not say {cause:?}"
            );
            assert!(!text.contains("error sending request"), "{base}: {text:?}");
            assert!(!text.contains("hunter2"), "{base}: {text:?}");
            assert!(text.contains("/api/v3/exchangeInfo"), "{base}: {text:?}");
        }
    }
}
