//! Table-driven decode tests for today's Binance: any valid JSON string (raw UTF-8,
//! `\uXXXX` escapes including surrogate pairs, `\/`, `\"`) decodes to its text, and a bad
//! element of an `!miniTicker@arr` array costs only itself.

mod decode_support;

use std::borrow::Cow;

use binance::{
    decode, decode_elements, decode_elements_spanned, for_each_mini_ticker_element,
    for_each_raw_mini_ticker, DecodeError, Message,
};
use decode_support::*;

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
    let envelope =
        r#"{"stream":"\u5e01\u5b89\u4eba\u751fusdt@ticker","data":{"e":"24hr\u0054icker","E":1}}"#;
    assert_eq!(
        decode(envelope),
        Ok(Message::Other {
            stream: Some("币安人生usdt@ticker".into()),
            event_type: Some("24hrTicker".into()),
        })
    );
    let escaped_type = mini_with("e", r#""24hr\u004diniTicker""#);
    assert_eq!(tickers(decode(&escaped_type).unwrap()).len(), 1);
}

/// The kind of an element's error, as in [`kind`].
fn element_kind(e: &binance::ElementError) -> String {
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

/// Decode once: each kept ticker's span is its element in the frame, so an output that
/// forwards the element reads the same event; bad elements, wrappers and whitespace shift
/// nothing.
#[test]
fn each_kept_ticker_spans_its_own_element() {
    let good = |s: &str| mini(&format!("\"{s}\""), r#""0.1""#);
    let bad = mini(r#""\ud800""#, r#""0.1""#);
    let cases: Vec<(&str, String, usize)> = vec![
        // (case, frame, tickers kept)
        ("fixture array", ARR_RAW.to_owned(), 0),
        ("fixture combined", MINI_COMBINED.to_owned(), 0),
        (
            "one object, blanks around",
            format!("  {} \n", good("A")),
            1,
        ),
        (
            "array, blanks between",
            format!("[ {} ,\n {} ]", good("A"), good("B")),
            2,
        ),
        (
            "bad middle element",
            format!("[{},{bad},{}]", good("A"), good("C")),
            2,
        ),
        (
            "bad first element",
            format!("[{bad},{},{}]", good("B"), good("C")),
            2,
        ),
        ("bad last element", format!("[{},{bad}]", good("A")), 1),
        ("only bad elements", format!("[{bad},{bad}]"), 0),
        (
            "combined array",
            format!(
                r#"{{"stream":"!miniTicker@arr","data":[{},{}]}}"#,
                good("A"),
                good("币安人生USDT")
            ),
            2,
        ),
        (
            "escaped symbol",
            format!(
                "[{}]",
                mini(r#""\u5e01\u5b89\u4eba\u751fUSDT""#, r#""0.1""#)
            ),
            1,
        ),
    ];
    for (case, frame, kept) in &cases {
        let decoded = decode_elements_spanned(frame).unwrap_or_else(|e| panic!("{case}: {e}"));
        let plain = decode_elements(frame).unwrap();
        assert_eq!(plain.message, decoded.message, "{case}");
        assert!(plain.spans.is_empty(), "{case}: spans only when asked for");
        let Message::MiniTickers(tickers) = &decoded.message else {
            panic!("{case}: {:?}", decoded.message)
        };
        if *kept > 0 {
            assert_eq!(tickers.len(), *kept, "{case}");
        }
        assert_eq!(decoded.spans.len(), tickers.len(), "{case}");
        for (t, span) in tickers.iter().zip(&decoded.spans) {
            let element = span.of(frame).unwrap_or_else(|| panic!("{case}: {span:?}"));
            assert!(
                element.starts_with('{') && element.ends_with('}'),
                "{case}: {element}"
            );
            match decode(element) {
                Ok(Message::MiniTickers(again)) => {
                    assert_eq!(again, std::slice::from_ref(t), "{case}")
                }
                other => panic!("{case}: {element} reads as {other:?}"),
            }
        }
    }
    // Other messages have no spans.
    assert!(decode_elements_spanned(SUB_OK).unwrap().spans.is_empty());
}
