//! Fixtures and helpers shared by the decode tests.
#![allow(dead_code)] // each test file uses part of them

use binance::{DecodeError, Message};

macro_rules! fixture {
    ($name:literal) => {
        include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../fixtures/",
            $name
        ))
    };
}

pub const ARR_RAW: &str = fixture!("binance_spot_miniTicker_arr_raw_2020-06-19.json");
pub const MINI_COMBINED: &str =
    fixture!("binance_spot_btcusdt_miniTicker_combined_2020-10-02.json");
pub const TICKER_COMBINED: &str = fixture!("binance_spot_btcusdt_ticker_combined_2020-06-19.json");

// Documented payloads (web-socket-streams.md: "Live Subscribing/Unsubscribing",
// "Error Messages", "Server Shutdown", "Individual Symbol Book Ticker Streams",
// "Aggregate Trade Streams").
pub const SUB_OK: &str = r#"{"result": null, "id": 1}"#;
pub const LIST_OK: &str = r#"{"result": ["btcusdt@aggTrade"], "id": 3}"#;
pub const PROPERTY_OK: &str = r#"{"result": true, "id": 2}"#;
pub const ERR_NO_ID: &str =
    r#"{"code": 2, "msg": "Invalid request: request ID must be an unsigned integer"}"#;
pub const ERR_WITH_ID: &str = r#"{"code": 0, "msg": "Unknown property","id": 5}"#;
pub const SHUTDOWN_RAW: &str = r#"{"e": "serverShutdown", "E": 1770123456789}"#;
pub const SHUTDOWN_COMBINED: &str =
    r#"{"stream": "!serverShutdown", "data": {"e": "serverShutdown", "E": 1770123456789}}"#;
pub const BOOK_TICKER: &str = r#"{"u":400900217,"s":"BNBUSDT","b":"25.35190000","B":"31.21000000","a":"25.36520000","A":"40.66000000"}"#;
pub const AGG_TRADE: &str = r#"{"e":"aggTrade","E":1672515782136,"s":"BNBBTC","a":12345,"p":"0.001","q":"100","f":100,"l":105,"T":1672515782136,"m":true,"M":true}"#;

/// A valid single mini ticker with one key's raw JSON value replaced.
pub fn mini_with(key: &str, value: &str) -> String {
    let fields = [
        ("e", r#""24hrMiniTicker""#),
        ("E", "1601628771865"),
        ("s", r#""BTCUSDT""#),
        ("c", r#""10456.56000000""#),
        ("o", r#""10884.90000000""#),
        ("h", r#""10912.83000000""#),
        ("l", r#""10385.02000000""#),
        ("v", r#""64483.09756200""#),
        ("q", r#""685180788.34970800""#),
    ];
    let body: Vec<String> = fields
        .iter()
        .filter_map(|(k, v)| {
            if *k == key {
                (!value.is_empty()).then(|| format!(r#""{k}":{value}"#))
            } else {
                Some(format!(r#""{k}":{v}"#))
            }
        })
        .collect();
    format!("{{{}}}", body.join(","))
}

pub fn tickers(message: Message) -> Vec<binance::MiniTicker> {
    match message {
        Message::MiniTickers(t) => t,
        other => panic!("expected mini tickers, got {other:?}"),
    }
}

pub fn kind(e: &DecodeError) -> String {
    match e {
        DecodeError::Json { .. } => "Json".into(),
        DecodeError::Truncated { .. } => "Truncated".into(),
        DecodeError::UnexpectedShape { .. } => "UnexpectedShape".into(),
        DecodeError::MissingField { field, .. } => format!("MissingField {field}"),
        DecodeError::WrongType { field, .. } => format!("WrongType {field}"),
        DecodeError::BadNumber { field, value, .. } => format!("BadNumber {field} {value}"),
        DecodeError::NotText { .. } => "NotText".into(),
    }
}
