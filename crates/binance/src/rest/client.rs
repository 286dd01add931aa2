//! [`RestClient`]: the HTTP side of `exchangeInfo` (reqwest, timeouts, percent-encoded
//! symbols, log-safe URLs), and the few words that say why a request did not complete.
//!
//! A request that gets an answer is decoded by [`super::exchange_info`]; one that does not
//! becomes [`RestError::Transport`], whose `cause` names the failure (`connection refused`,
//! `timed out …`, `TLS handshake failed: …`) and never the URL's user info or query.

use std::time::Duration;

use super::exchange_info::{decode_error, decode_exchange_info, SymbolInfo};
use super::RestError;

/// The largest answer read, in bytes (64 MiB): Binance's full `exchangeInfo` (every
/// symbol with its filters) is some 20 MiB, one symbol's a few KiB. A larger answer is
/// refused with [`RestError::TooLarge`], before reading when its `Content-Length` says
/// so, else as soon as the chunks read pass the cap: never more than the cap (plus one
/// chunk) is held in memory.
pub const MAX_BODY_BYTES: usize = 64 << 20;

/// A small `exchangeInfo` client.
///
/// ```no_run
/// # async fn demo() -> Result<(), binance::rest::RestError> {
/// let client = binance::rest::RestClient::new("https://api.binance.com")?;
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
    ///
    /// # Errors
    ///
    /// [`RestError::BadUrl`] when the URL does not start with `http://` or `https://`, or
    /// the HTTP client cannot be built.
    pub fn new(base_url: &str) -> Result<Self, RestError> {
        Self::with_timeouts(base_url, Duration::from_secs(10), Duration::from_secs(30))
    }

    /// A client for `base_url` with the given connect and overall request timeouts.
    ///
    /// # Errors
    ///
    /// As [`Self::new`].
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
    ///
    /// # Errors
    ///
    /// [`RestError::UnknownSymbol`] (Binance's `-1121`, or `-1100` for a name no symbol
    /// can have, or an empty name); [`RestError::Transport`] when no answer came;
    /// [`RestError::Api`] / [`RestError::Status`] for other refusals;
    /// [`RestError::Decode`] for a body that is not `exchangeInfo`;
    /// [`RestError::Missing`] when the answer does not list the symbol.
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
    ///
    /// # Errors
    ///
    /// [`RestError::Transport`], [`RestError::Api`], [`RestError::Status`] or
    /// [`RestError::Decode`], as for [`Self::symbol_info`].
    pub async fn all_symbols(&self) -> Result<Vec<SymbolInfo>, RestError> {
        let url = format!("{}/api/v3/exchangeInfo", self.base);
        self.get(&url, None).await
    }

    async fn get(&self, url: &str, symbol: Option<&str>) -> Result<Vec<SymbolInfo>, RestError> {
        let transport = |error: reqwest::Error| RestError::Transport {
            url: crate::manager::redact(url),
            cause: transport_cause(&error, self.timeout),
            error,
        };
        let mut response = self.http.get(url).send().await.map_err(transport)?;
        let status = response.status();
        let mut body = Vec::new();
        // `body.len() <= cap` after a chunk: at most the cap plus one chunk is held.
        while response
            .content_length()
            .is_none_or(|n| n <= MAX_BODY_BYTES as u64)
        {
            match response.chunk().await.map_err(transport)? {
                Some(c) if body.len() + c.len() <= MAX_BODY_BYTES => body.extend_from_slice(&c),
                Some(_) => break,
                None => return decode(status, &String::from_utf8_lossy(&body), url, symbol),
            }
        }
        Err(RestError::TooLarge {
            url: crate::manager::redact(url),
            limit: MAX_BODY_BYTES,
        })
    }
}

/// An answer read whole: Binance's error, or the symbols of `exchangeInfo`.
fn decode(
    status: reqwest::StatusCode,
    body: &str,
    url: &str,
    symbol: Option<&str>,
) -> Result<Vec<SymbolInfo>, RestError> {
    if !status.is_success() {
        let shown = crate::manager::redact(url);
        return Err(decode_error(status.as_u16(), body, symbol, &shown));
    }
    Ok(decode_exchange_info(body)?)
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
    use crate::rest::SymbolStatus;

    const FIXTURE: &str = include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../fixtures/binance_rest_exchangeInfo_3symbols_2021-03-02.json"
    ));

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

    /// Issue 20: an answer over the cap is refused with the clear error, before reading
    /// it when Content-Length says so (here the 1 GiB body never comes: reading it would
    /// wait for the timeout), else after reading at most the cap of an endless body.
    #[tokio::test]
    async fn an_oversize_answer_is_refused_without_reading_it_whole() {
        use testkit::http::{oversize, CHUNKED, DECLARED_1_GIB};
        for (head, endless) in [(DECLARED_1_GIB, false), (CHUNKED, true)] {
            let base = format!("http://{}", oversize(head, endless));
            let client =
                RestClient::with_timeouts(&base, Duration::from_secs(5), Duration::from_secs(20))
                    .unwrap();
            let err = client.all_symbols().await.unwrap_err();
            assert!(matches!(err, RestError::TooLarge { .. }), "{err:?}");
            assert_eq!(
                err.to_string(),
                format!("answer from {base}/api/v3/exchangeInfo larger than 64 MiB: refused, not read whole")
            );
        }
    }
}
