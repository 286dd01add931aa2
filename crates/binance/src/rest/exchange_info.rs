//! The `exchangeInfo` payload: the symbol fields this toolkit reads, and how a success body
//! and an error body decode (pure functions, no I/O: the [`super::RestClient`] feeds them).
//!
//! A success body lists `symbols`; each element's `symbol`, `status`, `baseAsset` and
//! `quoteAsset` are kept (see the module docs of [`super`] for the payload). An error body is
//! Binance's `{"code":…,"msg":…}`; `-1121` (and `-1100` for the `symbol` parameter) means
//! the symbol does not exist.

use std::fmt;

use serde::Deserialize;

use super::RestError;

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
/// # Errors
///
/// serde_json's error when the body is not JSON, has no `symbols` array, or an element
/// lacks `symbol`, `status`, `baseAsset` or `quoteAsset`.
///
/// ```
/// let body = r#"{"symbols":[{"symbol":"ETHBTC","status":"BREAK","baseAsset":"ETH","quoteAsset":"BTC"}]}"#;
/// let symbols = binance::rest::decode_exchange_info(body).unwrap();
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
}
