//! Binance spot WebSocket streams: the upgrade, per-tick frames and connection controls.
//!
//! Reference: <https://developers.binance.com/docs/binance-spot-api-docs/web-socket-streams>.
//! Raw streams at `/ws/<streamName>` (bare payloads; `/ws` alone then `SUBSCRIBE`), combined
//! streams at `/stream?streams=<a>/<b>` with events wrapped as
//! `{"stream":"<streamName>","data":<rawPayload>}`.

mod control;
mod session;

use std::sync::Arc;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::Role;
use tokio_tungstenite::tungstenite::Utf8Bytes;
use tokio_tungstenite::WebSocketStream;

use crate::market::{push_json_str, Market, NonAscii, Ticker};
use crate::Shared;

pub(crate) use control::ALL_MARKET;

/// One market tick, rendered once for every connection.
#[derive(Debug)]
pub(crate) struct TickFrame {
    pub(crate) tickers: Vec<Ticker>,
    /// `!miniTicker@arr` raw: the bare array.
    raw: Utf8Bytes,
    /// `!miniTicker@arr` combined: `{"stream":"!miniTicker@arr","data":[..]}`.
    combined: Utf8Bytes,
}

impl TickFrame {
    /// A frame of `tickers` followed by the raw JSON elements `extra`, as given.
    pub(crate) fn with_extra(tickers: Vec<Ticker>, non_ascii: NonAscii, extra: &[String]) -> Self {
        let mut raw = Market::frame_json_with(&tickers, non_ascii);
        if !extra.is_empty() {
            raw.pop(); // the closing `]`
            for element in extra {
                if raw.len() > 1 {
                    raw.push(',');
                }
                raw.push_str(element);
            }
            raw.push(']');
        }
        let combined = wrap(ALL_MARKET, &raw, non_ascii);
        TickFrame {
            tickers,
            raw: raw.into(),
            combined: combined.into(),
        }
    }
}

/// `{"stream":"<stream>","data":<payload>}`.
pub(crate) fn wrap(stream: &str, payload: &str, non_ascii: NonAscii) -> String {
    let mut out = String::with_capacity(payload.len() + stream.len() + 22);
    out.push_str(r#"{"stream":"#);
    push_json_str(&mut out, stream, non_ascii);
    out.push_str(r#","data":"#);
    out.push_str(payload);
    out.push('}');
    out
}

/// Resolves once shutdown is requested (or the handle is gone).
pub(crate) async fn stopped(shutdown: &mut tokio::sync::watch::Receiver<bool>) {
    // The guard `wait_for` returns is not `Send`: drop it before returning.
    let _ = shutdown.wait_for(|stop| *stop).await.map(|_| ());
}

/// Commands from the handle to every open connection.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Control {
    /// Close with a close frame (1001).
    Disconnect,
    /// Close one connection (by id) with a close frame (1001).
    DisconnectOne(u64),
    /// Drop the TCP connection without a close frame.
    Drop,
    /// Corrupt the next N data frames.
    Malformed(u32),
    /// Send `{"e":"serverShutdown","E":..}`.
    ServerShutdown,
}

/// Answers a WebSocket upgrade request with 101 and starts the session, or answers 400.
pub(crate) fn upgrade(shared: Arc<Shared>, req: Request<Incoming>) -> Response<Full<Bytes>> {
    let header = |name: &str| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    };
    let is_upgrade = header("upgrade").eq_ignore_ascii_case("websocket")
        && header("connection")
            .to_ascii_lowercase()
            .contains("upgrade");
    let key = header("sec-websocket-key").to_string();
    if !is_upgrade || key.is_empty() || header("sec-websocket-version") != "13" {
        return plain(400, "expected a WebSocket upgrade (version 13)");
    }
    let (streams, combined) = streams_of(req.uri().path(), req.uri().query());
    let accept = derive_accept_key(key.as_bytes());
    tokio::spawn(async move {
        match hyper::upgrade::on(req).await {
            Ok(upgraded) => {
                let ws =
                    WebSocketStream::from_raw_socket(TokioIo::new(upgraded), Role::Server, None)
                        .await;
                session::run(shared, ws, streams, combined).await;
            }
            Err(e) => log::debug!("websocket upgrade failed: {e}"),
        }
    });
    Response::builder()
        .status(101)
        .header("upgrade", "websocket")
        .header("connection", "Upgrade")
        .header("sec-websocket-accept", accept)
        .body(Full::new(Bytes::new()))
        .unwrap_or_else(|_| plain(500, "response")) // static, valid headers: not reachable
}

fn plain(status: u16, text: &'static str) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from_static(text.as_bytes())));
    *response.status_mut() =
        hyper::StatusCode::from_u16(status).unwrap_or(hyper::StatusCode::BAD_REQUEST);
    response
}

/// Streams named by the URL, and whether events are wrapped (combined endpoint).
fn streams_of(path: &str, query: Option<&str>) -> (Vec<String>, bool) {
    if path == "/stream" {
        let streams = query
            .map(|q| url::form_urlencoded::parse(q.as_bytes()))
            .into_iter()
            .flatten()
            .filter(|(k, _)| k == "streams")
            .flat_map(|(_, v)| v.split('/').map(str::to_string).collect::<Vec<_>>())
            .filter(|s| !s.is_empty())
            .collect();
        return (streams, true);
    }
    let rest = path.strip_prefix("/ws").unwrap_or("");
    let streams = rest
        .split('/')
        .filter(|s| !s.is_empty())
        .map(percent_decode)
        .collect();
    (streams, false)
}

/// Decodes `%XX` escapes (a client may escape `!` or `@` in the path, and must escape a
/// UTF-8 symbol: `/ws/%E5%B8%81%E5%AE%89%E4%BA%BA%E7%94%9Fusdt@miniTicker`; Binance's spot
/// changelog of 2025-12-02: "WebSocket Market Streams supports URL-encoded urls").
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok());
        match (bytes[i], hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_come_from_the_path_or_the_query() {
        let cases: &[(&str, Option<&str>, &[&str], bool)] = &[
            ("/ws/!miniTicker@arr", None, &["!miniTicker@arr"], false),
            ("/ws/%21miniTicker%40arr", None, &["!miniTicker@arr"], false),
            (
                "/ws/%E5%B8%81%E5%AE%89%E4%BA%BA%E7%94%9Fusdt%40miniTicker",
                None,
                &["币安人生usdt@miniTicker"],
                false,
            ),
            (
                "/stream",
                Some("streams=%E5%B8%81%E5%AE%89%E4%BA%BA%E7%94%9Fusdt%40miniTicker/btcusdt@miniTicker"),
                &["币安人生usdt@miniTicker", "btcusdt@miniTicker"],
                true,
            ),
            ("/ws", None, &[], false),
            ("/ws/", None, &[], false),
            (
                "/stream",
                Some("streams=btcusdt@miniTicker/ethbtc@miniTicker"),
                &["btcusdt@miniTicker", "ethbtc@miniTicker"],
                true,
            ),
            (
                "/stream",
                Some("streams=%21miniTicker%40arr"),
                &["!miniTicker@arr"],
                true,
            ),
            ("/stream", None, &[], true),
        ];
        for (path, query, streams, combined) in cases {
            assert_eq!(
                streams_of(path, *query),
                (streams.iter().map(|s| s.to_string()).collect(), *combined)
            );
        }
    }

    #[test]
    fn wrap_builds_the_combined_envelope() {
        let text = wrap(
            "btcusdt@miniTicker",
            r#"{"e":"24hrMiniTicker"}"#,
            NonAscii::Raw,
        );
        assert_eq!(
            text,
            r#"{"stream":"btcusdt@miniTicker","data":{"e":"24hrMiniTicker"}}"#
        );
    }
}
