//! The subject layout: where each symbol's events live on the bus.
//!
//! | what | subject |
//! |---|---|
//! | a symbol's mini-ticker events | `binance.spot.miniticker.<TOKEN>` |
//! | the recorder's gaps (feed lost / regained) | `binance.spot.miniticker._gaps` |
//!
//! all in the JetStream stream [`STREAM_NAME`] (`BINANCE_MINITICKER`), which captures
//! `binance.spot.miniticker.>`.
//!
//! `<TOKEN>` is the symbol itself when it is a safe subject token: one or more ASCII letters,
//! digits or `-` (every Binance symbol so far, e.g. `BTCUSDT`). Anything else (a UTF-8
//! name such as `币安人生USDT`, a `.`, `*`, `>`, whitespace, `_`, an empty name) would split the
//! subject, act as a wildcard or collide with `_gaps`, so it is written as `_x` followed by
//! the lower-case hex of the symbol's UTF-8 bytes: `币安人生USDT` → `_xe5b881e5ae89e4babae7949f55534454`.
//! A plain token never starts with `_`, so the encoding is reversible and unambiguous
//! ([`decode_symbol`]).
//!
//! A token is at most [`MAX_TOKEN`] (128) bytes. A longer one (a symbol of more than 128
//! ASCII characters, or of more than 63 bytes that need the hex form) is replaced by `_h`
//! followed by the lower-case hex SHA-256 of the symbol's UTF-8 bytes (66 bytes): stable,
//! so every recorder and alerter computes the same subject, but not reversible (the
//! payload carries the symbol). Without the cap, one absurd symbol (Binance never listed
//! one longer than 20 bytes, but a frame can carry anything) would make a subject longer
//! than the server's control line (4,096 bytes): the server then closes the connection,
//! and every other event in flight with it.
//!
//! NATS' rules for subjects: <https://docs.nats.io/nats-concepts/subjects#characters-allowed-and-recommended-for-subject-names>

/// The JetStream stream holding every subject below.
pub const STREAM_NAME: &str = "BINANCE_MINITICKER";
/// Prefix of every subject of the stream (without the trailing `.`).
pub const SUBJECT_PREFIX: &str = "binance.spot.miniticker";
/// The subject filter the stream captures.
pub const STREAM_SUBJECTS: &str = "binance.spot.miniticker.>";
/// The recorder's gap messages.
pub const GAPS_SUBJECT: &str = "binance.spot.miniticker._gaps";

/// Marks an encoded (hex) token.
const HEX_MARK: &str = "_x";
/// Marks a hashed token (a symbol whose token would be longer than [`MAX_TOKEN`]).
const HASH_MARK: &str = "_h";
/// The longest subject token, in bytes; a longer one is hashed (see the [module docs](self)).
pub const MAX_TOKEN: usize = 128;

/// The subject of `symbol`'s events.
///
/// ```
/// assert_eq!(bus::subject_for("BTCUSDT"), "binance.spot.miniticker.BTCUSDT");
/// assert_eq!(bus::subject_for("A.B"), "binance.spot.miniticker._x412e42");
/// ```
pub fn subject_for(symbol: &str) -> String {
    format!("{SUBJECT_PREFIX}.{}", encode_symbol(symbol))
}

/// The subject token of `symbol` (see the [module docs](self)).
pub fn encode_symbol(symbol: &str) -> String {
    let mut out = String::with_capacity(HEX_MARK.len() + symbol.len() * 2);
    push_token(&mut out, symbol);
    out
}

/// Appends the subject token of `symbol` to `out` (no allocation of its own).
pub fn push_token(out: &mut String, symbol: &str) {
    let safe = !symbol.is_empty()
        && symbol
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-');
    let (mark, bytes): (&str, &[u8]) = if safe && symbol.len() <= MAX_TOKEN {
        out.push_str(symbol);
        return;
    } else if !safe && HEX_MARK.len() + 2 * symbol.len() <= MAX_TOKEN {
        (HEX_MARK, symbol.as_bytes())
    } else {
        use sha2::Digest;
        out.push_str(HASH_MARK);
        push_hex(out, &sha2::Sha256::digest(symbol.as_bytes()));
        return;
    };
    out.push_str(mark);
    push_hex(out, bytes);
}

fn push_hex(out: &mut String, bytes: &[u8]) {
    for &b in bytes {
        out.push(char::from(HEX[usize::from(b >> 4)]));
        out.push(char::from(HEX[usize::from(b & 0xf)]));
    }
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// The symbol a subject token stands for; `None` for a hashed token (`_h…`, see the
/// [module docs](self)) and for a token [`encode_symbol`] never makes (bad hex, bytes that
/// are not UTF-8, `_gaps`).
pub fn decode_symbol(token: &str) -> Option<String> {
    let Some(hex) = token.strip_prefix(HEX_MARK) else {
        let plain = !token.is_empty() && !token.starts_with('_');
        return plain.then(|| token.to_owned());
    };
    if hex.len() % 2 != 0 {
        return None;
    }
    let bytes = hex
        .as_bytes()
        .chunks(2)
        .map(|pair| {
            let digit = |c: u8| char::from(c).to_digit(16);
            // to_digit(16) is below 16, so the byte fits.
            Some((digit(pair[0])? * 16 + digit(pair[1])?) as u8)
        })
        .collect::<Option<Vec<u8>>>()?;
    String::from_utf8(bytes).ok()
}

/// The symbol of a subject of the stream; `None` for the gaps subject or a foreign one.
pub fn symbol_of_subject(subject: &str) -> Option<String> {
    let token = subject.strip_prefix(SUBJECT_PREFIX)?.strip_prefix('.')?;
    decode_symbol(token)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn symbols_map_to_tokens_and_back() {
        let cases = [
            ("BTCUSDT", "BTCUSDT"),
            ("1000SATSUSDT", "1000SATSUSDT"),
            ("BTC-USD", "BTC-USD"),
            ("btcusdt", "btcusdt"),
            ("币安人生USDT", "_xe5b881e5ae89e4babae7949f55534454"),
            ("A.B", "_x412e42"),
            ("BTC*", "_x4254432a"),
            ("BTC>", "_x4254433e"),
            (">", "_x3e"),
            ("BTC USDT", "_x4254432055534454"),
            ("BTC\tUSDT", "_x4254430955534454"),
            ("_gaps", "_x5f67617073"),
            ("_x41", "_x5f783431"),
            ("", "_x"),
        ];
        for (symbol, token) in cases {
            let got = encode_symbol(symbol);
            assert_eq!(got, token, "{symbol:?}");
            assert_eq!(decode_symbol(&got).as_deref(), Some(symbol), "{got}");
            let subject = subject_for(symbol);
            assert_eq!(subject.split('.').count(), 4, "one token: {subject}");
            assert!(!got.contains(['*', '>', ' ', '\t']), "{got}");
            assert_eq!(symbol_of_subject(&subject).as_deref(), Some(symbol));
        }
    }

    #[test]
    fn over_long_tokens_are_hashed_stably_and_short_ones_are_not() {
        let longest_plain = "A".repeat(MAX_TOKEN);
        assert_eq!(encode_symbol(&longest_plain), longest_plain);
        let longest_hex = "é".repeat((MAX_TOKEN - 2) / 4); // 2 bytes each, 4 hex digits
        assert!(encode_symbol(&longest_hex).starts_with("_xc3a9"));
        let symbols = [
            "A".repeat(MAX_TOKEN + 1),
            "A".repeat(5_004),
            "é".repeat((MAX_TOKEN - 2) / 4 + 1),
            "A.".repeat(40),
        ];
        for symbol in &symbols {
            let token = encode_symbol(symbol);
            assert!(token.len() <= MAX_TOKEN, "{token}");
            assert!(token.starts_with("_h"), "{token}");
            assert_eq!(token.len(), 66, "{token}");
            assert_eq!(encode_symbol(symbol), token, "stable");
            assert_eq!(decode_symbol(&token), None, "not reversible");
            assert_eq!(subject_for(symbol).split('.').count(), 4);
        }
        let tokens: std::collections::HashSet<String> =
            symbols.iter().map(|s| encode_symbol(s)).collect();
        assert_eq!(
            tokens.len(),
            symbols.len(),
            "distinct symbols, distinct tokens"
        );
        // SHA-256 of "A" × 129 (computed elsewhere): the token never changes between
        // versions, so recorders and alerters of different versions agree.
        assert_eq!(
            encode_symbol(&symbols[0]),
            "_he7118c3a89bf814ded2ab232303565239253f59fdea93e27d0206e175492e3a7"
        );
    }

    #[test]
    fn tokens_never_made_are_refused() {
        for token in ["_gaps", "_x4", "_xzz", "_xff", "_", "", "_y41", "_h00"] {
            assert_eq!(decode_symbol(token), None, "{token:?}");
        }
        assert_eq!(symbol_of_subject(GAPS_SUBJECT), None);
        assert_eq!(symbol_of_subject("other.BTCUSDT"), None);
        assert_eq!(symbol_of_subject("binance.spot.minitickerX.BTC"), None);
    }
}
