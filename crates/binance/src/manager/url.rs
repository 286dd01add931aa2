//! The URL of a connection, and its redacted form for logs.
//!
//! Stream names are percent-encoded as UTF-8 in the URL. Binance's spot changelog of
//! 2025-12-02 (<https://developers.binance.com/docs/binance-spot-api-docs/CHANGELOG>):
//!
//! > WebSocket Market Streams supports URL-encoded urls.
//!
//! so `币安人生usdt@miniTicker` goes out as
//! `/ws/%E5%B8%81%E5%AE%89%E4%BA%BA%E7%94%9Fusdt@miniTicker`. ASCII names come out
//! unchanged (`!` and `@` are legal in a path and a query).

use std::borrow::Cow;

/// `/stream?streams=a/b` or `/ws/a` (the rest of a raw set goes by `SUBSCRIBE`), each name
/// percent-encoded.
pub(super) fn stream_url(base: &str, streams: &[String], combined: bool) -> String {
    let base = base.trim_end_matches('/');
    match (combined, streams.first()) {
        (true, Some(_)) => {
            let names: Vec<Cow<'_, str>> = streams.iter().map(|s| percent_encode(s)).collect();
            format!("{base}/stream?streams={}", names.join("/"))
        }
        (true, None) => format!("{base}/stream"),
        (false, Some(first)) => format!("{base}/ws/{}", percent_encode(first)),
        (false, None) => format!("{base}/ws"),
    }
}

/// Percent-encodes (as UTF-8) every byte of `text` except ASCII letters, digits and
/// `-._~!@`, so that the result is one URL path segment or one query value. Text that
/// needs no encoding is returned borrowed.
///
/// The one encoder for names in URLs: stream names here, the `symbol` query parameter of
/// [`crate::rest`].
pub(crate) fn percent_encode(text: &str) -> Cow<'_, str> {
    let keep = |b: u8| b.is_ascii_alphanumeric() || b"-._~!@".contains(&b);
    if text.bytes().all(keep) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() * 3);
    for b in text.bytes() {
        if keep(b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    Cow::Owned(out)
}

/// `scheme://host:port/path` without user info, query or fragment, for logs.
pub(crate) fn redact(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    let rest = rest.split(['?', '#']).next().unwrap_or("");
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let host = authority.rsplit('@').next().unwrap_or(authority);
    format!("{scheme}://{host}{path}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_for_raw_and_combined_endpoints() {
        let two = vec![
            "btcusdt@miniTicker".to_owned(),
            "ethusdt@miniTicker".to_owned(),
        ];
        assert_eq!(
            stream_url("wss://h:9443/", &two, true),
            "wss://h:9443/stream?streams=btcusdt@miniTicker/ethusdt@miniTicker"
        );
        assert_eq!(
            stream_url("wss://h:9443", &two, false),
            "wss://h:9443/ws/btcusdt@miniTicker"
        );
        assert_eq!(stream_url("ws://h", &[], false), "ws://h/ws");
        assert_eq!(stream_url("ws://h", &[], true), "ws://h/stream");
        let utf8 = vec![
            "币安人生usdt@miniTicker".to_owned(),
            "!miniTicker@arr".to_owned(),
        ];
        assert_eq!(
            stream_url("ws://h", &utf8, true),
            "ws://h/stream?streams=%E5%B8%81%E5%AE%89%E4%BA%BA%E7%94%9Fusdt@miniTicker/!miniTicker@arr"
        );
        assert_eq!(
            stream_url("ws://h", &utf8, false),
            "ws://h/ws/%E5%B8%81%E5%AE%89%E4%BA%BA%E7%94%9Fusdt@miniTicker"
        );
    }

    #[test]
    fn percent_encoding_keeps_ascii_names_and_encodes_the_rest() {
        let cases = [
            ("BTCUSDT", "BTCUSDT"),
            ("!miniTicker@arr", "!miniTicker@arr"),
            ("币安人生USDT", "%E5%B8%81%E5%AE%89%E4%BA%BA%E7%94%9FUSDT"),
            ("a b&c=d+e/f?g#h%", "a%20b%26c%3Dd%2Be%2Ff%3Fg%23h%25"),
            ("", ""),
        ];
        for (text, encoded) in cases {
            assert_eq!(percent_encode(text), encoded, "{text}");
        }
        assert!(matches!(percent_encode("btcusdt"), Cow::Borrowed(_)));
    }

    #[test]
    fn redaction_drops_user_info_query_and_fragment() {
        assert_eq!(
            redact("wss://user:secret@h:9443/stream?streams=a/b&key=k#x"),
            "wss://h:9443/stream"
        );
        assert_eq!(redact("ws://127.0.0.1:1/ws/a@b"), "ws://127.0.0.1:1/ws/a@b");
        assert_eq!(redact("no-scheme?x"), "://no-scheme");
    }
}
