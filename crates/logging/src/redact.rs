//! Masking of secrets in text that is about to be logged or shown in an error.

/// Query parameter and header names whose values are secrets (compared case-insensitively).
const SECRET_KEYS: &[&str] = &[
    "x_cg_demo_api_key",
    "x_cg_pro_api_key",
    "x-cg-demo-api-key",
    "x-cg-pro-api-key",
    "api_key",
    "apikey",
    "password",
    "secret",
    "token",
];

const MASK: &str = "***";

/// Masks the password of a URL (`mysql://bot:pw@host/db` → `mysql://bot:***@host/db`) and the
/// values of secret query parameters (`?x_cg_demo_api_key=...`).
///
/// ```
/// assert_eq!(
///     logging::redact_url("mysql://root:pw@127.0.0.1:3306/trader"),
///     "mysql://root:***@127.0.0.1:3306/trader"
/// );
/// assert_eq!(logging::redact_url("storage/trader.db"), "storage/trader.db");
/// ```
pub fn redact_url(url: &str) -> String {
    redact(url)
}

/// Masks every URL password and every `key=value` / `key: value` secret found anywhere in
/// `text`. Text without secrets comes back unchanged.
pub fn redact(text: &str) -> String {
    mask_secret_params(&mask_userinfo(text))
}

/// `scheme://user:password@` → `scheme://user:***@`, for every URL in the text.
fn mask_userinfo(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(pos) = rest.find("://") {
        let (head, tail) = rest.split_at(pos + 3);
        out.push_str(head);
        // The authority ends at the first '/', '?', '#' or whitespace.
        let end = tail
            .find(|c: char| c == '/' || c == '?' || c == '#' || c.is_whitespace())
            .unwrap_or(tail.len());
        let authority = &tail[..end];
        match (authority.rfind('@'), authority.find(':')) {
            (Some(at), Some(colon)) if colon < at => {
                out.push_str(&authority[..=colon]);
                out.push_str(MASK);
                out.push_str(&authority[at..]);
            }
            _ => out.push_str(authority),
        }
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
}

/// `api_key=value`, `api_key: value` → `api_key=***` for the names in [`SECRET_KEYS`].
fn mask_secret_params(text: &str) -> String {
    let lower = text.to_ascii_lowercase();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < text.len() {
        let hit = SECRET_KEYS.iter().find_map(|key| {
            let end = i + key.len();
            if !lower[i..].starts_with(key) || !is_boundary(&lower, i) {
                return None;
            }
            let sep = lower[end..]
                .char_indices()
                .take_while(|&(_, c)| c == '=' || c == ':' || c == ' ' || c == '"')
                .last()
                .map(|(j, c)| end + j + c.len_utf8())?;
            lower[end..sep].contains(['=', ':']).then_some((end, sep))
        });
        match hit {
            Some((key_end, value_start)) => {
                out.push_str(&text[i..value_start]);
                let value_len = text[value_start..]
                    .find(|c: char| {
                        c == '&' || c == '"' || c == ',' || c == ';' || c.is_whitespace()
                    })
                    .unwrap_or(text.len() - value_start);
                if value_len > 0 {
                    out.push_str(MASK);
                }
                i = value_start + value_len;
                debug_assert!(key_end <= value_start);
            }
            None => {
                // Advance by one whole character.
                let c = text[i..].chars().next().map_or(1, char::len_utf8);
                out.push_str(&text[i..i + c]);
                i += c;
            }
        }
    }
    out
}

/// A key only counts at the start of a word (`?api_key=`, not `myapi_key=`).
fn is_boundary(lower: &str, i: usize) -> bool {
    lower[..i]
        .chars()
        .next_back()
        .is_none_or(|c| !c.is_ascii_alphanumeric() && c != '_' && c != '-')
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn table() {
        let cases = [
            ("plain text", "plain text"),
            ("storage/trader.db", "storage/trader.db"),
            (
                "mysql://root:pw@127.0.0.1:3306/db",
                "mysql://root:***@127.0.0.1:3306/db",
            ),
            ("mysql://root@127.0.0.1/db", "mysql://root@127.0.0.1/db"),
            (
                "error: mysql://a:b@h/db and mysql://c:d@h2/db2",
                "error: mysql://a:***@h/db and mysql://c:***@h2/db2",
            ),
            (
                "GET /coins?x_cg_demo_api_key=CG-abc&vs=usd",
                "GET /coins?x_cg_demo_api_key=***&vs=usd",
            ),
            (
                "header x-cg-pro-api-key: CG-secret sent",
                "header x-cg-pro-api-key: *** sent",
            ),
            ("{\"password\":\"hunter2\"}", "{\"password\":\"***\"}"),
            (
                "wss://stream.binance.com:9443/ws",
                "wss://stream.binance.com:9443/ws",
            ),
            ("tokens are fine, token=abc", "tokens are fine, token=***"),
            ("ünïcode api_key=ß!", "ünïcode api_key=***"),
            ("api_key=", "api_key="),
        ];
        for (input, want) in cases {
            assert_eq!(redact(input), want, "input: {input}");
        }
    }
}
