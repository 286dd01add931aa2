//! Table-driven decode tests on real captured frames and the documented
//! control/error payloads, plus malformed, truncated and mutated input.

use std::borrow::Cow;

use stream::{
    decode, decode_elements, for_each_mini_ticker_element, for_each_raw_mini_ticker, ControlReply,
    DecodeError, Message, RawMiniTicker,
};

macro_rules! fixture {
    ($name:literal) => {
        include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../fixtures/",
            $name
        ))
    };
}

const ARR_RAW: &str = fixture!("binance_spot_miniTicker_arr_raw_2020-06-19.json");
const MINI_COMBINED: &str = fixture!("binance_spot_btcusdt_miniTicker_combined_2020-10-02.json");
const TICKER_COMBINED: &str = fixture!("binance_spot_btcusdt_ticker_combined_2020-06-19.json");

// Documented payloads (web-socket-streams.md: "Live Subscribing/Unsubscribing",
// "Error Messages", "Server Shutdown", "Individual Symbol Book Ticker Streams",
// "Aggregate Trade Streams").
const SUB_OK: &str = r#"{"result": null, "id": 1}"#;
const LIST_OK: &str = r#"{"result": ["btcusdt@aggTrade"], "id": 3}"#;
const PROPERTY_OK: &str = r#"{"result": true, "id": 2}"#;
const ERR_NO_ID: &str =
    r#"{"code": 2, "msg": "Invalid request: request ID must be an unsigned integer"}"#;
const ERR_WITH_ID: &str = r#"{"code": 0, "msg": "Unknown property","id": 5}"#;
const SHUTDOWN_RAW: &str = r#"{"e": "serverShutdown", "E": 1770123456789}"#;
const SHUTDOWN_COMBINED: &str =
    r#"{"stream": "!serverShutdown", "data": {"e": "serverShutdown", "E": 1770123456789}}"#;
const BOOK_TICKER: &str = r#"{"u":400900217,"s":"BNBUSDT","b":"25.35190000","B":"31.21000000","a":"25.36520000","A":"40.66000000"}"#;
const AGG_TRADE: &str = r#"{"e":"aggTrade","E":1672515782136,"s":"BNBBTC","a":12345,"p":"0.001","q":"100","f":100,"l":105,"T":1672515782136,"m":true,"M":true}"#;

/// A valid single mini ticker with one key's raw JSON value replaced.
fn mini_with(key: &str, value: &str) -> String {
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

fn tickers(message: Message) -> Vec<stream::MiniTicker> {
    match message {
        Message::MiniTickers(t) => t,
        other => panic!("expected mini tickers, got {other:?}"),
    }
}

#[test]
fn all_market_array_from_the_raw_endpoint() {
    let decoded = tickers(decode(ARR_RAW).unwrap());
    assert_eq!(decoded.len(), 26);
    let first = &decoded[0];
    assert_eq!(first.symbol, "ETHBTC");
    assert_eq!(first.event_time, 1592594715455);
    assert_eq!(
        (first.close, first.open, first.high, first.low),
        (0.024567, 0.024598, 0.024709, 0.024381)
    );
    assert_eq!(
        (first.base_volume, first.quote_volume),
        (163116.186, 4006.04936991)
    );
    assert!(decoded
        .iter()
        .all(|t| (1592594714915..=1592594715812).contains(&t.event_time)));
    assert_eq!(decoded[1].symbol, "BTCUSDT");
    assert_eq!(decoded[1].close, 9342.7);

    // The visitor sees the same events, with the exact strings.
    let mut raws: Vec<RawMiniTicker> = Vec::new();
    let n = for_each_raw_mini_ticker(ARR_RAW, |t| raws.push(t)).unwrap();
    assert_eq!(n, 26);
    assert_eq!(raws[0].close, "0.02456700");
    assert_eq!(raws[1].quote_volume, "446546826.58722200");
    let parsed: Vec<_> = raws.iter().map(|r| r.parse().unwrap()).collect();
    assert_eq!(parsed, decoded);
}

#[test]
fn all_market_array_inside_a_combined_envelope() {
    let wrapped = format!(
        r#"{{"stream":"!miniTicker@arr","data":{}}}"#,
        ARR_RAW.trim()
    );
    assert_eq!(tickers(decode(&wrapped).unwrap()).len(), 26);
    assert_eq!(for_each_raw_mini_ticker(&wrapped, |_| {}).unwrap(), 26);
}

#[test]
fn single_symbol_from_the_combined_endpoint() {
    let decoded = tickers(decode(MINI_COMBINED).unwrap());
    assert_eq!(
        decoded,
        vec![stream::MiniTicker {
            symbol: "BTCUSDT".into(),
            event_time: 1601628771865,
            close: 10456.56,
            open: 10884.9,
            high: 10912.83,
            low: 10385.02,
            base_volume: 64483.097562,
            quote_volume: 685180788.349708,
        }]
    );
    let mut seen = None;
    assert_eq!(
        for_each_raw_mini_ticker(MINI_COMBINED, |t| seen = Some(t)).unwrap(),
        1
    );
    assert_eq!(seen.unwrap().quote_volume, "685180788.34970800");
    // The same event on the raw endpoint.
    assert_eq!(tickers(decode(&mini_with("", "")).unwrap()), decoded);
}

#[test]
fn well_formed_frames_of_other_kinds() {
    let ticker_arr_raw = {
        let data_at = TICKER_COMBINED.find(r#""data":"#).unwrap() + 7;
        let data = TICKER_COMBINED.trim().trim_end_matches('}');
        format!("[{}}}]", &data[data_at..])
    };
    let cases: Vec<(&str, &str, Message)> = vec![
        (
            "24hrTicker combined",
            TICKER_COMBINED,
            Message::Other {
                stream: Some("btcusdt@ticker".into()),
                event_type: Some("24hrTicker".into()),
            },
        ),
        (
            "!ticker@arr raw",
            &ticker_arr_raw,
            Message::Other {
                stream: None,
                event_type: Some("24hrTicker".into()),
            },
        ),
        (
            "subscribe ok",
            SUB_OK,
            Message::ControlReply(ControlReply {
                id: 1,
                result: None,
            }),
        ),
        (
            "list subscriptions",
            LIST_OK,
            Message::ControlReply(ControlReply {
                id: 3,
                result: Some(vec!["btcusdt@aggTrade".into()]),
            }),
        ),
        (
            "get property",
            PROPERTY_OK,
            Message::Other {
                stream: None,
                event_type: None,
            },
        ),
        (
            "error without id",
            ERR_NO_ID,
            Message::ControlError {
                id: None,
                code: 2,
                msg: "Invalid request: request ID must be an unsigned integer".into(),
            },
        ),
        (
            "error with id",
            ERR_WITH_ID,
            Message::ControlError {
                id: Some(5),
                code: 0,
                msg: "Unknown property".into(),
            },
        ),
        (
            "shutdown raw",
            SHUTDOWN_RAW,
            Message::ServerShutdown {
                event_time: 1770123456789,
            },
        ),
        (
            "shutdown combined",
            SHUTDOWN_COMBINED,
            Message::ServerShutdown {
                event_time: 1770123456789,
            },
        ),
        (
            "bookTicker (no e)",
            BOOK_TICKER,
            Message::Other {
                stream: None,
                event_type: None,
            },
        ),
        (
            "aggTrade (integer l)",
            AGG_TRADE,
            Message::Other {
                stream: None,
                event_type: Some("aggTrade".into()),
            },
        ),
        ("empty array", "[]", Message::MiniTickers(vec![])),
        (
            "empty object",
            " {} ",
            Message::Other {
                stream: None,
                event_type: None,
            },
        ),
    ];
    for (name, text, expected) in cases {
        assert_eq!(decode(text).as_ref(), Ok(&expected), "{name}");
        assert_eq!(
            for_each_raw_mini_ticker(text, |_| panic!("{name}: no tickers")),
            Ok(0),
            "{name}"
        );
    }
}

fn kind(e: &DecodeError) -> String {
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

#[test]
fn malformed_frames_are_typed_errors() {
    let cases: Vec<(String, &str)> = vec![
        ("".into(), "Truncated"),
        ("  \n".into(), "Truncated"),
        ("not json".into(), "Json"),
        ("42".into(), "UnexpectedShape"),
        ("null".into(), "UnexpectedShape"),
        (r#""text""#.into(), "UnexpectedShape"),
        (format!("{SUB_OK} x"), "Json"),
        (mini_with("c", r#""abc""#), "BadNumber c abc"),
        (mini_with("o", r#""""#), "BadNumber o "),
        (mini_with("h", r#""NaN""#), "BadNumber h NaN"),
        (mini_with("l", r#""inf""#), "BadNumber l inf"),
        (mini_with("v", r#""1e999""#), "BadNumber v 1e999"),
        (mini_with("q", r#""1.2.3""#), "BadNumber q 1.2.3"),
        (
            mini_with("c", r#""-43000.10000000""#),
            "BadNumber c -43000.10000000",
        ),
        (mini_with("v", r#""-0.5""#), "BadNumber v -0.5"),
        (mini_with("q", ""), "MissingField q"),
        (mini_with("s", ""), "MissingField s"),
        (mini_with("E", ""), "MissingField E"),
        (mini_with("c", "1.5"), "WrongType c"),
        (mini_with("c", "null"), "WrongType c"),
        (mini_with("s", "[]"), "WrongType s"),
        (mini_with("s", r#""""#), "UnexpectedShape"),
        (mini_with("E", r#""1601628771865""#), "WrongType E"),
        (mini_with("E", "1.5"), "WrongType E"),
        (mini_with("E", "18446744073709551615"), "WrongType E"),
        (mini_with("e", "7"), "WrongType e"),
        (
            format!("[{},{AGG_TRADE}]", mini_with("", "")),
            "UnexpectedShape",
        ),
        (format!("[{},1]", mini_with("", "")), "UnexpectedShape"),
        ("[1]".into(), "UnexpectedShape"),
        (
            r#"[[null,null,"24hrMiniTicker",1,"S","1","1","1","1","1","1"]]"#.into(),
            "UnexpectedShape",
        ),
        (r#"{"result":null}"#.into(), "MissingField id"),
        (r#"{"result":null,"id":-1}"#.into(), "WrongType id"),
        (r#"{"result":null,"id":"abc"}"#.into(), "WrongType id"),
        (r#"{"code":2}"#.into(), "MissingField msg"),
        (r#"{"code":"2","msg":"x"}"#.into(), "WrongType code"),
        (r#"{"e":"serverShutdown"}"#.into(), "MissingField E"),
        (r#"{"stream":5,"data":{}}"#.into(), "WrongType stream"),
        (r#"{"stream":"a","data":5}"#.into(), "UnexpectedShape"),
        (r#"{"stream":"a","data":null}"#.into(), "UnexpectedShape"),
        (r#"{"e":"a","e":"b"}"#.into(), "UnexpectedShape"),
        (
            format!("{}{}", "[".repeat(5000), "]".repeat(5000)),
            "UnexpectedShape",
        ),
        (
            format!("{}{}", "{\"a\":".repeat(5000), "}".repeat(5000)),
            "UnexpectedShape",
        ),
    ];
    for (text, expected) in &cases {
        let err = decode(text).expect_err(text);
        // Recursion-limit errors are syntax errors in serde_json; either is fine there.
        let got = kind(&err);
        let deep = text.len() > 10_000;
        assert!(
            got == *expected || (deep && got == "Json"),
            "{text:.80}: expected {expected}, got {err}"
        );
        assert!(
            err.to_string().chars().count() < 400,
            "error message stays short"
        );
    }
    // The visitor reports the same errors, except numbers it does not parse.
    for (text, expected) in &cases {
        let result = for_each_raw_mini_ticker(text, |_| {});
        if expected.starts_with("BadNumber")
            || *expected == "UnexpectedShape" && text.contains(r#""s":"""#)
        {
            assert_eq!(result, Ok(1), "{text}");
        } else {
            assert!(result.is_err(), "{text:.80}");
        }
    }
}

#[test]
fn errors_carry_a_short_excerpt_of_the_frame() {
    let long_bad = ARR_RAW.replace(r#""c":"0.02456700""#, r#""c":0.02456700"#);
    match decode(&long_bad).unwrap_err() {
        DecodeError::WrongType {
            field: "c",
            excerpt,
            ..
        } => {
            // The excerpt is the bad element's own text.
            assert!(
                excerpt.starts_with(r#"{"e":"24hrMiniTicker""#) && excerpt.contains("ETHBTC"),
                "{excerpt}"
            );
            assert!(excerpt.chars().count() <= stream::EXCERPT_CHARS);
        }
        other => panic!("unexpected {other:?}"),
    }
    match decode(&mini_with("c", r#""abc""#)).unwrap_err() {
        DecodeError::BadNumber { excerpt, .. } => assert!(excerpt.contains("BTCUSDT"), "{excerpt}"),
        other => panic!("unexpected {other:?}"),
    }
}

/// Every strict prefix of every valid frame is an error, and none panics.
#[test]
fn every_prefix_of_a_valid_frame_is_truncated() {
    let wrapped_arr = format!(
        r#"{{"stream":"!miniTicker@arr","data":{}}}"#,
        ARR_RAW.trim()
    );
    let frames = [
        ARR_RAW,
        MINI_COMBINED,
        TICKER_COMBINED,
        SUB_OK,
        LIST_OK,
        ERR_NO_ID,
        ERR_WITH_ID,
        SHUTDOWN_RAW,
        SHUTDOWN_COMBINED,
        BOOK_TICKER,
        AGG_TRADE,
        &wrapped_arr,
    ];
    for frame in frames {
        let frame = frame.trim();
        assert!(decode(frame).is_ok());
        for cut in (0..frame.len()).filter(|&i| frame.is_char_boundary(i)) {
            let prefix = &frame[..cut];
            let err = decode(prefix).expect_err(prefix);
            assert_eq!(kind(&err), "Truncated", "{prefix}");
            assert!(
                for_each_raw_mini_ticker(prefix, |_| {}).is_err(),
                "{prefix}"
            );
        }
    }
}

/// Single-byte corruptions anywhere in the frames never panic.
#[test]
fn corrupted_frames_never_panic() {
    let two = format!("[{},{}]", mini_with("", ""), mini_with("s", r#""ETHBTC""#));
    let frames = [
        &two,
        MINI_COMBINED.trim(),
        TICKER_COMBINED.trim(),
        LIST_OK,
        ERR_WITH_ID,
    ];
    for frame in frames {
        let bytes = frame.as_bytes();
        for i in 0..bytes.len() {
            for replacement in [b'"', b'}', b']', b'x', b'0', b',', b'\\', b'-', b'{'] {
                let mut mutated = bytes.to_vec();
                mutated[i] = replacement;
                if let Ok(text) = std::str::from_utf8(&mutated) {
                    let _ = decode(text);
                    let _ = decode_elements(text);
                    let _ = for_each_raw_mini_ticker(text, |t| {
                        let _ = t.parse();
                    });
                    let _ = for_each_mini_ticker_element(text, |t| {
                        let _ = t.map(|t| t.parse());
                    });
                }
            }
        }
    }
}

/// A single mini ticker with `symbol` and `close` given as raw JSON string literals.
fn mini(symbol_json: &str, close_json: &str) -> String {
    format!(
        r#"{{"e":"24hrMiniTicker","E":1765800000000,"s":{symbol_json},"c":{close_json},"o":"0.10000000","h":"0.12000000","l":"0.09000000","v":"1000.00000000","q":"100.00000000"}}"#
    )
}

/// Any valid JSON string decodes to its text, raw or escaped, in any field; strings
/// without a backslash stay borrowed from the frame (the fast path).
#[test]
fn escaped_and_raw_strings_decode_to_their_text() {
    let cases: &[(&str, &str, &str, &str, &str)] = &[
        // (case, s as sent, c as sent, expected symbol, expected close)
        ("ascii", r#""BTCUSDT""#, r#""0.1""#, "BTCUSDT", "0.1"),
        (
            "raw UTF-8",
            r#""币安人生USDT""#,
            r#""0.1""#,
            "币安人生USDT",
            "0.1",
        ),
        (
            "escaped BMP",
            r#""\u5e01\u5b89\u4eba\u751fUSDT""#,
            r#""0.1""#,
            "币安人生USDT",
            "0.1",
        ),
        (
            "escaped upper-case hex",
            r#""\u5E01\u5B89\u4EBA\u751FUSDT""#,
            r#""0.1""#,
            "币安人生USDT",
            "0.1",
        ),
        (
            "mixed raw and escaped",
            r#""币\u5b89人生USDT""#,
            r#""0.1""#,
            "币安人生USDT",
            "0.1",
        ),
        (
            "surrogate pair",
            r#""\ud83d\ude80USDT""#,
            r#""0.1""#,
            "🚀USDT",
            "0.1",
        ),
        (
            "escaped solidus",
            r#""BTC\/USDT""#,
            r#""0.1""#,
            "BTC/USDT",
            "0.1",
        ),
        (
            "escaped quote",
            r#""BTC\"USDT""#,
            r#""0.1""#,
            "BTC\"USDT",
            "0.1",
        ),
        (
            "escaped backslash",
            r#""BTC\\USDT""#,
            r#""0.1""#,
            "BTC\\USDT",
            "0.1",
        ),
        (
            "escaped digits in a number",
            r#""BTCUSDT""#,
            r#""\u0030.\u0031""#,
            "BTCUSDT",
            "0.1",
        ),
    ];
    for (case, s, c, symbol, close) in cases {
        let one = mini(s, c);
        let arr = format!("[{},{one}]", mini(r#""ETHBTC""#, r#""0.02""#));
        let combined = format!(r#"{{"stream":"!miniTicker@arr","data":{arr}}}"#);
        for frame in [&one, &arr, &combined] {
            let decoded = tickers(decode(frame).unwrap_or_else(|e| panic!("{case}: {e}")));
            let last = decoded.last().unwrap();
            assert_eq!((last.symbol.as_str(), last.close), (*symbol, 0.1), "{case}");
            let lenient = decode_elements(frame).unwrap();
            assert!(lenient.rejected.is_empty(), "{case}");
            assert_eq!(tickers(lenient.message), decoded, "{case}");
            let mut raws = Vec::new();
            for_each_raw_mini_ticker(frame, |t| raws.push(t)).unwrap();
            let raw = raws.last().unwrap();
            assert_eq!((&*raw.symbol, &*raw.close), (*symbol, *close), "{case}");
            assert_eq!(
                matches!(raw.symbol, Cow::Borrowed(_)),
                !s.contains('\\'),
                "{case}: only escaped strings are copied"
            );
            if raws.len() == 2 {
                assert!(matches!(raws[0].symbol, Cow::Borrowed("ETHBTC")), "{case}");
            }
        }
    }
    // Escapes in the envelope and the event type too.
    let envelope = format!(
        r#"{{"stream":"\u5e01\u5b89\u4eba\u751fusdt@ticker","data":{{"e":"24hr\u0054icker","E":1}}}}"#
    );
    assert_eq!(
        decode(&envelope),
        Ok(Message::Other {
            stream: Some("币安人生usdt@ticker".into()),
            event_type: Some("24hrTicker".into()),
        })
    );
    let escaped_type = mini_with("e", r#""24hr\u004diniTicker""#);
    assert_eq!(tickers(decode(&escaped_type).unwrap()).len(), 1);
}

/// The kind of an element's error, as in [`kind`].
fn element_kind(e: &stream::ElementError) -> String {
    kind(&e.error)
}

/// A bad element among good ones costs only itself: the good ones are kept, the bad one is
/// a typed error with its index and an excerpt of its own text; the all-or-nothing rule
/// fails the frame with the same error. Nothing panics.
#[test]
fn a_bad_element_costs_only_itself() {
    let good_a = mini(r#""ETHBTC""#, r#""0.02""#);
    let good_b = mini(r#""\u5e01\u5b89\u4eba\u751fUSDT""#, r#""0.1""#);
    let cases: Vec<(&str, String, &str)> = vec![
        (
            "lone high surrogate",
            mini(r#""\ud800USDT""#, r#""0.1""#),
            "Json",
        ),
        (
            "lone low surrogate",
            mini(r#""\udc00USDT""#, r#""0.1""#),
            "Json",
        ),
        (
            "high surrogate then a letter",
            mini(r#""\ud800\u0041""#, r#""0.1""#),
            "Json",
        ),
        (
            "lone surrogate in a price",
            mini(r#""X""#, r#""0.\ud800""#),
            "Json",
        ),
        ("invalid escape", mini(r#""BTC\xUSDT""#, r#""0.1""#), "Json"),
        ("short hex escape", mini(r#""BTC\u12""#, r#""0.1""#), "Json"),
        ("bad hex escape", mini(r#""BTC\u12G4""#, r#""0.1""#), "Json"),
        (
            "raw control character",
            mini("\"BTC\tUSDT\"", r#""0.1""#),
            "Json",
        ),
        ("number as symbol", mini("42", r#""0.1""#), "WrongType s"),
        ("number as price", mini(r#""X""#, "0.1"), "WrongType c"),
        ("bad decimal", mini(r#""X""#, r#""abc""#), "BadNumber c abc"),
        (
            "negative price",
            mini(r#""X""#, r#""-1""#),
            "BadNumber c -1",
        ),
        ("empty symbol", mini(r#""""#, r#""0.1""#), "UnexpectedShape"),
        (
            "missing close",
            r#"{"e":"24hrMiniTicker","E":1,"s":"X","o":"1","h":"1","l":"1","v":"1","q":"1"}"#
                .into(),
            "MissingField c",
        ),
        (
            "event time as a string",
            mini(r#""X""#, r#""0.1""#).replace(r#""E":1765800000000"#, r#""E":"1""#),
            "WrongType E",
        ),
        ("another event", AGG_TRADE.into(), "UnexpectedShape"),
        ("a number", "1".into(), "UnexpectedShape"),
        ("an empty element", "".into(), "Truncated"),
    ];
    let invalid_json = [
        "invalid escape",
        "short hex escape",
        "bad hex escape",
        "raw control character",
        "an empty element",
    ];
    for (case, bad, expected) in &cases {
        for position in 0..3 {
            if *case == "another event" && position == 0 {
                // The first element decides what an array holds: that is an aggTrade array.
                continue;
            }
            let mut elements = vec![good_a.clone(), good_b.clone()];
            elements.insert(position, bad.clone());
            let frame = format!("[{}]", elements.join(","));
            let wrapped = format!(r#"{{"stream":"!miniTicker@arr","data":{frame}}}"#);
            // Invalid JSON inside an envelope fails the envelope's own read: only the raw
            // endpoint's frames can lose just the element.
            let frames: &[&str] = if invalid_json.contains(case) {
                &[&frame]
            } else {
                &[&frame, &wrapped]
            };
            for frame in frames {
                let decoded = decode_elements(frame)
                    .unwrap_or_else(|e| panic!("{case} at {position}: frame lost: {e}"));
                let kept: Vec<String> = tickers(decoded.message)
                    .into_iter()
                    .map(|t| t.symbol.to_string())
                    .collect();
                assert_eq!(kept, ["ETHBTC", "币安人生USDT"], "{case} at {position}");
                assert_eq!(decoded.rejected.len(), 1, "{case} at {position}");
                let rejected = &decoded.rejected[0];
                assert_eq!(rejected.index, position, "{case}");
                assert_eq!(
                    element_kind(rejected),
                    *expected,
                    "{case} at {position}: {rejected}"
                );
                let text = rejected.to_string();
                assert!(text.chars().count() < 400, "{case}: {text}");
                assert!(
                    !text.contains("[{"),
                    "{case}: the excerpt is the element's: {text}"
                );

                // The visitor sees the same, in order.
                let mut seen = Vec::new();
                let n = for_each_mini_ticker_element(frame, |t| {
                    seen.push(t.map(|t| t.symbol.into_owned()).map_err(|e| e.index))
                })
                .unwrap();
                let parse_level = expected.starts_with("BadNumber") || *case == "empty symbol";
                assert_eq!(n, if parse_level { 3 } else { 2 }, "{case}");
                if parse_level {
                    // Numbers and the empty symbol are checked by `parse`, after the visitor.
                    assert_eq!(seen.len(), 3, "{case}");
                } else {
                    assert_eq!(seen.iter().filter(|s| s.is_ok()).count(), 2, "{case}");
                    assert_eq!(seen[position], Err(position), "{case}");
                }

                // All or nothing: the frame fails with the element's error.
                let strict = decode(frame).expect_err(case);
                assert_eq!(kind(&strict), *expected, "{case} at {position}");
            }
        }
    }
}

/// A real-looking frame (the 26-element capture) with one broken symbol: 25 rows kept.
#[test]
fn one_broken_symbol_in_a_captured_frame_keeps_the_other_25() {
    let broken = ARR_RAW.replacen(r#""s":"BTCUSDT""#, r#""s":"\udfffBTCUSDT""#, 1);
    assert_ne!(broken, ARR_RAW);
    let decoded = decode_elements(&broken).unwrap();
    let kept = tickers(decoded.message);
    assert_eq!(kept.len(), 25);
    assert!(kept.iter().all(|t| t.symbol != "BTCUSDT"));
    assert_eq!(decoded.rejected.len(), 1);
    assert!(matches!(
        decoded.rejected[0].error,
        DecodeError::Json { .. }
    ));
    let complete = tickers(decode(ARR_RAW).unwrap());
    let index = complete.iter().position(|t| t.symbol == "BTCUSDT").unwrap();
    assert_eq!(decoded.rejected[0].index, index);
    let mut expected = complete.clone();
    expected.remove(index);
    assert_eq!(kept, expected);
}

/// A frame that is not valid JSON at all is still one error under the element rule.
#[test]
fn frames_that_are_not_json_are_still_errors_element_by_element() {
    let good = mini(r#""ETHBTC""#, r#""0.02""#);
    let cases: Vec<(String, &str)> = vec![
        (format!("[{good},{good}"), "Truncated"),
        (format!("[{good},{{\"e\":"), "Truncated"),
        (format!("[{good},\"\\ud800"), "Truncated"),
        (format!("[{good}] x"), "Json"),
        (format!("[{good},{{\"s\":\"\\x\"}}] x"), "Json"),
        (format!("[{good},}}]"), "Json"),
        ("not json".into(), "Json"),
    ];
    for (text, expected) in &cases {
        let err = decode_elements(text).expect_err(text);
        assert_eq!(kind(&err), *expected, "{text}");
        assert!(
            for_each_mini_ticker_element(text, |_| {}).is_err(),
            "{text}"
        );
    }
}
