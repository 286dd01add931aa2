//! The simulator as today's Binance: UTF-8 symbols (`币安人生USDT`) listed in
//! `exchangeInfo`, streamed raw or as `\uXXXX` escapes, and reachable through URL-encoded
//! stream names on `/ws/<name>` and `/stream?streams=`.

mod common;

use common::*;
use serde_json::Value;
use sim::market::NonAscii;
use sim::SimConfig;

const SYMBOL: &str = "币安人生USDT";
/// `币安人生usdt@miniTicker`, percent-encoded as UTF-8.
const ENCODED_STREAM: &str = "%E5%B8%81%E5%AE%89%E4%BA%BA%E7%94%9Fusdt%40miniTicker";
/// `币安人生USDT` as JSON escapes.
const ESCAPED: &str = r"\u5e01\u5b89\u4eba\u751fUSDT";

fn config(non_ascii: NonAscii) -> SimConfig {
    SimConfig {
        symbols: 60,
        non_ascii,
        ..fast()
    }
}

/// Reads text frames until one mentions the UTF-8 symbol (raw or escaped).
async fn frame_with_symbol(ws: &mut Client) -> String {
    loop {
        let text = next_text(ws).await;
        if text.contains(SYMBOL) || text.contains(ESCAPED) {
            return text;
        }
    }
}

#[tokio::test]
async fn all_market_frames_carry_utf8_symbols_raw_or_escaped() {
    for mode in [NonAscii::Raw, NonAscii::Escaped] {
        let sim = start(config(mode)).await;
        for path in ["/ws/!miniTicker@arr", "/stream?streams=!miniTicker@arr"] {
            let mut ws = connect(&sim, path).await;
            let text = frame_with_symbol(&mut ws).await;
            match mode {
                NonAscii::Raw => assert!(text.contains(SYMBOL) && !text.contains(ESCAPED)),
                NonAscii::Escaped => assert!(text.is_ascii() && text.contains(ESCAPED), "{text}"),
            }
            // Either spelling is the same JSON text.
            let v: Value = serde_json::from_str(&text).unwrap();
            let items = v.get("data").unwrap_or(&v).as_array().unwrap().clone();
            assert!(items.iter().any(|t| t["s"] == SYMBOL), "{mode:?} {path}");
        }
        assert!(sim.sent().iter().any(|t| t.symbol == SYMBOL));
        sim.shutdown().await;
    }
}

#[tokio::test]
async fn url_encoded_stream_names_select_the_utf8_symbol() {
    for mode in [NonAscii::Raw, NonAscii::Escaped] {
        let sim = start(config(mode)).await;
        // Raw endpoint: the bare event.
        let mut raw = connect(&sim, &format!("/ws/{ENCODED_STREAM}")).await;
        let v: Value = serde_json::from_str(&frame_with_symbol(&mut raw).await).unwrap();
        assert_eq!(
            (v["e"].as_str(), v["s"].as_str()),
            (Some("24hrMiniTicker"), Some(SYMBOL))
        );
        // Combined endpoint, next to an ASCII stream: the envelope names the stream decoded.
        let path = format!("/stream?streams={ENCODED_STREAM}/btcusdt@miniTicker");
        let mut combined = connect(&sim, &path).await;
        let mut streams = std::collections::HashSet::new();
        while streams.len() < 2 {
            let v = next_json(&mut combined).await;
            let stream = v["stream"].as_str().unwrap().to_owned();
            let symbol = v["data"]["s"].as_str().unwrap();
            match stream.as_str() {
                "币安人生usdt@miniTicker" => assert_eq!(symbol, SYMBOL),
                "btcusdt@miniTicker" => assert_eq!(symbol, "BTCUSDT"),
                other => panic!("unexpected stream {other}"),
            }
            streams.insert(stream);
        }
        let listed = request(&mut combined, r#"{"method":"LIST_SUBSCRIPTIONS","id":3}"#).await;
        assert_eq!(
            listed["result"],
            serde_json::json!(["币安人生usdt@miniTicker", "btcusdt@miniTicker"])
        );
        sim.shutdown().await;
    }
}

#[tokio::test]
async fn exchange_info_lists_the_utf8_symbols_and_answers_for_them() {
    let sim = start(config(NonAscii::Escaped)).await;
    let get = |query: String| {
        let url = format!("{}/api/v3/exchangeInfo{query}", sim.rest_base());
        async move {
            let r = reqwest::get(url).await.unwrap();
            let status = r.status().as_u16();
            (status, r.json::<Value>().await.unwrap())
        }
    };
    let (status, all) = get(String::new()).await;
    assert_eq!(status, 200);
    let names: Vec<&str> = all["symbols"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["symbol"].as_str().unwrap())
        .collect();
    assert_eq!(names.len(), 60);
    for (base, quote) in sim::market::UNICODE {
        assert!(
            names.contains(&format!("{base}{quote}").as_str()),
            "{base}{quote}"
        );
    }
    let encoded = "%E5%B8%81%E5%AE%89%E4%BA%BA%E7%94%9FUSDT";
    let (status, one) = get(format!("?symbol={encoded}")).await;
    assert_eq!(status, 200);
    let entry = &one["symbols"][0];
    assert_eq!(
        (entry["symbol"].as_str(), entry["status"].as_str()),
        (Some(SYMBOL), Some("TRADING"))
    );
    assert_eq!(entry["baseAsset"], "币安人生");
    let (status, many) = get(format!("?symbols=%5B%22{encoded}%22,%22BTCUSDT%22%5D")).await;
    assert_eq!(
        (status, many["symbols"].as_array().unwrap().len()),
        (200, 2)
    );
    let (status, unknown) = get("?symbol=%E5%B8%81USDT".to_owned()).await;
    assert_eq!((status, unknown["code"].as_i64()), (400, Some(-1121)));
    let (status, lower) = get("?symbol=%E5%B8%81usdt".to_owned()).await;
    assert_eq!((status, lower["code"].as_i64()), (400, Some(-1100)));
    sim.shutdown().await;
}
