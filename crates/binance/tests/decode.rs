//! Table-driven decode tests on real captured frames and the documented
//! control/error payloads, plus malformed, truncated and mutated input.

mod decode_support;

use binance::{
    decode, decode_elements, for_each_mini_ticker_element, for_each_raw_mini_ticker, ControlReply,
    DecodeError, Message, RawMiniTicker,
};
use decode_support::*;

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
        vec![binance::MiniTicker {
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
            assert!(excerpt.chars().count() <= binance::EXCERPT_CHARS);
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
