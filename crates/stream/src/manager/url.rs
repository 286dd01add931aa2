//! The URL of a connection, and its redacted form for logs.

/// `/stream?streams=a/b` or `/ws/a` (the rest of a raw set goes by `SUBSCRIBE`).
pub(super) fn stream_url(base: &str, streams: &[String], combined: bool) -> String {
    let base = base.trim_end_matches('/');
    match (combined, streams.first()) {
        (true, Some(_)) => format!("{base}/stream?streams={}", streams.join("/")),
        (true, None) => format!("{base}/stream"),
        (false, Some(first)) => format!("{base}/ws/{first}"),
        (false, None) => format!("{base}/ws"),
    }
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
