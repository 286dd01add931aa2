//! One mini-ticker event ([`Ticker`]) and how the simulator writes it: the payload object
//! with Binance's keys in Binance's order, every value a JSON string but `E`, and non-ASCII
//! text (UTF-8 symbol names) either raw or escaped ([`NonAscii`]), since a client must read
//! both spellings of the same text.

use std::sync::Arc;

/// One mini-ticker event.
#[derive(Clone, Debug, PartialEq)]
pub struct Ticker {
    /// `s`: upper-case symbol.
    pub symbol: Arc<str>,
    /// `E`: event time, ms since the Unix epoch.
    pub event_time: i64,
    /// `c`: close (last) price.
    pub close: String,
    /// `o`: open price of the rolling 24 h window.
    pub open: String,
    /// `h`: high price.
    pub high: String,
    /// `l`: low price.
    pub low: String,
    /// `v`: total traded base asset volume.
    pub base_volume: String,
    /// `q`: total traded quote asset volume.
    pub quote_volume: String,
}

/// How the simulator writes non-ASCII characters (UTF-8 symbol names such as `币安人生USDT`)
/// in its JSON: both are valid JSON for the same text, and a client must read both.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum NonAscii {
    /// As UTF-8 bytes: `"币安人生USDT"` (what Binance documents: "non-ASCII characters
    /// encoded in UTF-8").
    #[default]
    Raw,
    /// As `\uXXXX` escapes, with a surrogate pair above U+FFFF:
    /// `"\u5e01\u5b89\u4eba\u751fUSDT"`.
    Escaped,
}

impl Ticker {
    /// Appends the raw payload object, fields in Binance's order, non-ASCII text raw.
    pub fn write_json(&self, out: &mut String) {
        self.write_json_with(out, NonAscii::Raw);
    }

    /// Appends the raw payload object, fields in Binance's order, non-ASCII text written as
    /// `non_ascii` says.
    pub fn write_json_with(&self, out: &mut String, non_ascii: NonAscii) {
        use std::fmt::Write;
        // Writing into a String cannot fail.
        let _ = write!(
            out,
            r#"{{"e":"24hrMiniTicker","E":{},"s":"#,
            self.event_time
        );
        push_json_str(out, &self.symbol, non_ascii);
        for (key, value) in [
            ("c", &self.close),
            ("o", &self.open),
            ("h", &self.high),
            ("l", &self.low),
            ("v", &self.base_volume),
            ("q", &self.quote_volume),
        ] {
            let _ = write!(out, r#","{key}":"#);
            push_json_str(out, value, non_ascii);
        }
        out.push('}');
    }

    /// The raw payload object as a string, non-ASCII text written as `non_ascii` says.
    pub fn to_json_with(&self, non_ascii: NonAscii) -> String {
        let mut out = String::with_capacity(200);
        self.write_json_with(&mut out, non_ascii);
        out
    }

    /// The raw payload object as a string, non-ASCII text raw.
    pub fn to_json(&self) -> String {
        self.to_json_with(NonAscii::Raw)
    }
}

/// Appends `s` as a JSON string literal.
pub(crate) fn push_json_str(out: &mut String, s: &str, non_ascii: NonAscii) {
    use std::fmt::Write;
    out.push('"');
    for ch in s.chars() {
        match ch {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            // Writing into a String cannot fail.
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c if !c.is_ascii() && non_ascii == NonAscii::Escaped => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    let _ = write!(out, "\\u{unit:04x}");
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
}
