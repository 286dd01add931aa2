//! Binance WebSocket streams as a client sees them: payload shapes against the captured
//! fixtures, subscriptions, control messages and what `sent()` reports.

mod common;

use std::collections::HashSet;
use std::time::Duration;

use common::*;
use futures::SinkExt;
use serde_json::Value;
use sim::SimConfig;
use tokio_tungstenite::tungstenite::Message;

fn assert_mini_ticker(t: &Value, fixture_element: &Value) {
    assert_eq!(shape(t), shape(fixture_element), "{t}");
    assert_eq!(t["e"], "24hrMiniTicker");
    for key in ["c", "o", "h", "l", "v", "q"] {
        let text = t[key].as_str().unwrap();
        let (_, decimals) = text
            .split_once('.')
            .unwrap_or_else(|| panic!("{key}: {text}"));
        assert_eq!(decimals.len(), 8, "{key}: {text}");
        assert!(text.parse::<f64>().unwrap() >= 0.0);
    }
}

#[tokio::test]
async fn raw_all_market_frames_have_the_fixture_shape_and_only_changed_tickers() {
    let sim = start(SimConfig {
        symbols: 400,
        ..fast()
    })
    .await;
    let fixture = fixture("binance_spot_miniTicker_arr_raw_2020-06-19.json");
    let mut ws = connect(&sim, "/ws/!miniTicker@arr").await;
    let mut seen_sizes = Vec::new();
    for _ in 0..5 {
        let frame = next_json(&mut ws).await;
        let items = frame.as_array().expect("a bare JSON array");
        for t in items {
            assert_mini_ticker(t, &fixture[0]);
        }
        let symbols: HashSet<&str> = items.iter().map(|t| t["s"].as_str().unwrap()).collect();
        assert_eq!(
            symbols.len(),
            items.len(),
            "a symbol appears once per frame"
        );
        let times: HashSet<i64> = items.iter().map(|t| t["E"].as_i64().unwrap()).collect();
        assert!(times.len() > 1, "each element has its own E");
        seen_sizes.push(items.len());
    }
    // Only the ~30-60% of symbols that changed are in a frame.
    assert!(
        seen_sizes.iter().all(|&n| n > 40 && n < 320),
        "{seen_sizes:?}"
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn combined_single_symbol_frames_match_the_fixture_envelope() {
    let sim = start(fast()).await;
    let fixture = fixture("binance_spot_btcusdt_miniTicker_combined_2020-10-02.json");
    let mut ws = connect(&sim, "/stream?streams=btcusdt@miniTicker").await;
    let mut last_e = 0;
    for _ in 0..3 {
        let v = next_json(&mut ws).await;
        assert_eq!(shape(&v), shape(&fixture));
        assert_eq!(v["stream"], "btcusdt@miniTicker");
        assert_mini_ticker(&v["data"], &fixture["data"]);
        assert_eq!(v["data"]["s"], "BTCUSDT");
        let e = v["data"]["E"].as_i64().unwrap();
        assert!(e > last_e);
        last_e = e;
    }
    sim.shutdown().await;
}

#[tokio::test]
async fn subscribe_list_unsubscribe_and_errors_on_a_bare_connection() {
    let sim = start(fast()).await;
    let mut ws = connect(&sim, "/ws").await;
    let r = request(
        &mut ws,
        r#"{"method":"SUBSCRIBE","params":["ethbtc@miniTicker"],"id":1}"#,
    )
    .await;
    assert_eq!(r, serde_json::json!({"result": null, "id": 1}));
    let r = request(&mut ws, r#"{"method":"LIST_SUBSCRIPTIONS","id":2}"#).await;
    assert_eq!(
        r,
        serde_json::json!({"result": ["ethbtc@miniTicker"], "id": 2})
    );
    let data = loop {
        let v = next_json(&mut ws).await;
        if v.get("id").is_none() {
            break v;
        }
    };
    assert_eq!(data["s"], "ETHBTC", "raw endpoint: bare payload");
    let r = request(&mut ws, r#"{"method":"NOPE","id":3}"#).await;
    assert_eq!(r["code"], 2);
    assert!(r["msg"]
        .as_str()
        .unwrap()
        .starts_with("Invalid request: unknown variant `NOPE`"));
    // Five messages in all on this connection: within Binance's limit.
    ws.send(Message::text("{not json")).await.unwrap();
    let r = loop {
        let v = next_json(&mut ws).await;
        if v.get("code").is_some() {
            break v;
        }
    };
    assert_eq!(r["code"], 3);
    assert!(r["msg"].as_str().unwrap().starts_with("Invalid JSON: "));
    let r = request(
        &mut ws,
        r#"{"method":"UNSUBSCRIBE","params":["ethbtc@miniTicker"],"id":4}"#,
    )
    .await;
    assert_eq!(r["result"], Value::Null);
    sim.shutdown().await;
}

#[tokio::test]
async fn a_raw_stream_path_is_listed_and_set_property_switches_to_combined() {
    let sim = start(fast()).await;
    let mut ws = connect(&sim, "/ws/!miniTicker@arr").await;
    let r = request(&mut ws, r#"{"method":"LIST_SUBSCRIPTIONS","id":"a1"}"#).await;
    assert_eq!(
        r,
        serde_json::json!({"result": ["!miniTicker@arr"], "id": "a1"})
    );
    let r = request(
        &mut ws,
        r#"{"method":"SET_PROPERTY","params":["combined",true],"id":2}"#,
    )
    .await;
    assert_eq!(r, serde_json::json!({"result": null, "id": 2}));
    let v = next_json(&mut ws).await;
    assert_eq!(v["stream"], "!miniTicker@arr");
    assert!(v["data"].is_array());
    sim.shutdown().await;
}

#[tokio::test]
async fn more_than_five_messages_a_second_closes_the_connection() {
    let sim = start(fast()).await;
    let mut ws = connect(&sim, "/ws").await;
    for id in 0..6 {
        ws.send(Message::text(format!(
            r#"{{"method":"LIST_SUBSCRIPTIONS","id":{id}}}"#
        )))
        .await
        .unwrap();
    }
    let mut answers = 0;
    let code = loop {
        match next_message(&mut ws).await {
            Some(Ok(Message::Text(_))) => answers += 1,
            Some(Ok(Message::Close(frame))) => break frame.map(|f| u16::from(f.code)),
            Some(Ok(_)) => {}
            None | Some(Err(_)) => break None,
        }
    };
    assert_eq!(answers, 5);
    assert_eq!(code, Some(1008));
    eventually("connection gone", || sim.connections() == 0).await;
    sim.shutdown().await;
}

#[tokio::test]
async fn two_connections_see_identical_frames() {
    let sim = start(fast()).await;
    let mut a = connect(&sim, "/ws/!miniTicker@arr").await;
    let mut b = connect(&sim, "/ws/!miniTicker@arr").await;
    eventually("both registered", || sim.connections() == 2).await;
    let mut from_a = Vec::new();
    for _ in 0..6 {
        from_a.push(next_text(&mut a).await);
    }
    for _ in 0..3 {
        let frame = next_text(&mut b).await;
        assert!(from_a.contains(&frame), "b got a frame a never saw");
    }
    sim.shutdown().await;
}

#[tokio::test]
async fn sent_log_matches_what_the_client_received() {
    let sim = start(fast()).await;
    let mut ws = connect(&sim, "/ws/!miniTicker@arr").await;
    let mut received = Vec::new();
    for _ in 0..4 {
        for t in next_json(&mut ws).await.as_array().unwrap() {
            let close = t["c"].as_str().unwrap().to_string();
            received.push((
                t["s"].as_str().unwrap().to_string(),
                t["E"].as_i64().unwrap(),
                close,
            ));
        }
    }
    let sent: Vec<(String, i64, String)> = sim
        .sent()
        .into_iter()
        .map(|s| (s.symbol, s.event_time, s.close))
        .collect();
    assert!(sent.len() >= received.len());
    assert_eq!(
        &sent[..received.len()],
        &received[..],
        "received is a prefix of sent"
    );
    assert!(sim.sent().iter().all(|s| s.conn_id == 1));
    assert!(sim.sent_count() >= received.len());
    sim.shutdown().await;
}

#[tokio::test]
async fn the_same_seed_gives_the_same_first_frame() {
    let config = SimConfig {
        interval: Duration::from_millis(400),
        ..fast()
    };
    let strip = |v: Value| -> Vec<Value> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|t| {
                let mut t = t.clone();
                t.as_object_mut().unwrap().remove("E");
                t
            })
            .collect()
    };
    let mut frames = Vec::new();
    for seed in [11, 11, 12] {
        let sim = start(SimConfig {
            seed,
            ..config.clone()
        })
        .await;
        let mut ws = connect(&sim, "/ws/!miniTicker@arr").await;
        frames.push(strip(next_json(&mut ws).await));
        sim.shutdown().await;
    }
    assert_eq!(frames[0], frames[1]);
    assert_ne!(frames[0], frames[2]);
}

#[tokio::test]
async fn break_symbols_never_tick() {
    let sim = start(SimConfig {
        symbols: 400,
        ..fast()
    })
    .await;
    let info: Value = reqwest::get(format!("{}/api/v3/exchangeInfo", sim.rest_base()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let breaks: HashSet<String> = info["symbols"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["status"] == "BREAK")
        .map(|s| s["symbol"].as_str().unwrap().to_string())
        .collect();
    assert!(!breaks.is_empty());
    let mut ws = connect(&sim, "/ws/!miniTicker@arr").await;
    for _ in 0..10 {
        for t in next_json(&mut ws).await.as_array().unwrap() {
            assert!(!breaks.contains(t["s"].as_str().unwrap()));
        }
    }
    sim.shutdown().await;
}
