//! Connection lifecycle and injected faults as a client sees them: pings, pong timeout,
//! connection age, close-after, stalls, malformed frames, server shutdown, scripted prices.

mod common;

use std::time::Duration;

use common::*;
use futures::StreamExt;
use serde_json::Value;
use sim::{Faults, SimConfig};
use tokio_tungstenite::tungstenite::Message;

fn with_faults(faults: Faults) -> SimConfig {
    SimConfig {
        faults: Faults {
            pong_check: true,
            ..faults
        },
        ..fast()
    }
}

/// Reads `n` data frames, returning whether each was valid JSON.
async fn data_frames(ws: &mut Client, n: usize) -> Vec<bool> {
    let mut out = Vec::new();
    while out.len() < n {
        let text = next_text(ws).await;
        out.push(serde_json::from_str::<Value>(&text).is_ok());
    }
    out
}

#[tokio::test]
async fn the_server_pings_and_a_ponging_client_stays_connected() {
    let config = SimConfig {
        ping_interval: Duration::from_millis(40),
        pong_timeout: Duration::from_millis(150),
        ..fast()
    };
    let sim = start(config).await;
    let mut ws = connect(&sim, "/ws").await; // no data: only pings arrive
    let mut pings = 0;
    while pings < 10 {
        match next_message(&mut ws).await {
            Some(Ok(Message::Ping(payload))) => {
                assert!(!payload.is_empty());
                pings += 1;
            }
            other => panic!("expected pings, got {other:?}"),
        }
    }
    // 10 pings at 40 ms is well past the 150 ms pong timeout: tungstenite answered them.
    assert_eq!(sim.connections(), 1);
    sim.shutdown().await;
}

#[tokio::test]
async fn a_client_that_never_pongs_is_closed_after_the_pong_timeout() {
    let config = SimConfig {
        ping_interval: Duration::from_millis(30),
        pong_timeout: Duration::from_millis(100),
        ..fast()
    };
    let sim = start(config).await;
    let ws = connect(&sim, "/ws").await;
    // The client does not read, so it never answers the pings.
    eventually("the silent client to be cut", || sim.connections() == 0).await;
    drop(ws);
    sim.shutdown().await;
}

#[tokio::test]
async fn without_pong_check_a_silent_client_stays() {
    let config = SimConfig {
        ping_interval: Duration::from_millis(20),
        pong_timeout: Duration::from_millis(50),
        faults: Faults {
            pong_check: false,
            ..Faults::default()
        },
        ..fast()
    };
    let sim = start(config).await;
    let mut ws = connect(&sim, "/ws").await;
    // Ten pings arrive while the client answers none of them (it reads no frame until now).
    tokio::time::sleep(Duration::from_millis(250)).await;
    assert_eq!(sim.connections(), 1);
    assert!(matches!(
        next_message(&mut ws).await,
        Some(Ok(Message::Ping(_)))
    ));
    sim.shutdown().await;
}

#[tokio::test]
async fn a_connection_is_cut_at_max_age() {
    let config = SimConfig {
        max_connection_age: Duration::from_millis(200),
        ..fast()
    };
    let sim = start(config).await;
    let mut ws = connect(&sim, "/ws/!miniTicker@arr").await;
    assert_eq!(until_closed(&mut ws).await, Some(1001));
    eventually("connection gone", || sim.connections() == 0).await;
    sim.shutdown().await;
}

#[tokio::test]
async fn close_after_n_data_messages() {
    let sim = start(with_faults(Faults {
        close_after: Some(3),
        ..Faults::default()
    }))
    .await;
    let mut ws = connect(&sim, "/ws/!miniTicker@arr").await;
    let mut data = 0;
    let code = loop {
        match next_message(&mut ws).await {
            Some(Ok(Message::Text(_))) => data += 1,
            Some(Ok(Message::Close(f))) => break f.map(|f| u16::from(f.code)),
            Some(Ok(_)) => {}
            None | Some(Err(_)) => break None,
        }
    };
    assert_eq!((data, code), (3, Some(1001)));
    // A new connection is served again (each connection has its own count).
    let mut again = connect(&sim, "/ws/!miniTicker@arr").await;
    next_json(&mut again).await;
    assert_eq!(sim.connection_count_total(), 2);
    sim.shutdown().await;
}

#[tokio::test]
async fn stall_after_n_keeps_the_socket_and_the_pings() {
    let config = SimConfig {
        ping_interval: Duration::from_millis(30),
        ..with_faults(Faults {
            stall_after: Some(2),
            ..Faults::default()
        })
    };
    let sim = start(config).await;
    let mut ws = connect(&sim, "/ws/!miniTicker@arr").await;
    assert_eq!(data_frames(&mut ws, 2).await, [true, true]);
    // Afterwards only pings: 8 pings (~240 ms, 8 ticks) without a single data frame.
    for _ in 0..8 {
        match next_message(&mut ws).await {
            Some(Ok(Message::Ping(_))) => {}
            other => panic!("stalled connection sent {other:?}"),
        }
    }
    assert_eq!(sim.connections(), 1);
    sim.shutdown().await;
}

#[tokio::test]
async fn set_stalled_stops_and_resumes_data() {
    let config = SimConfig {
        ping_interval: Duration::from_millis(30),
        ..fast()
    };
    let sim = start(config).await;
    let mut ws = connect(&sim, "/ws/!miniTicker@arr").await;
    next_json(&mut ws).await;
    sim.set_stalled(true);
    let stalled_at = sim.sent_count();
    // At most the frame in flight arrives; then pings only.
    let mut pings = 0;
    while pings < 6 {
        if let Some(Ok(Message::Ping(_))) = next_message(&mut ws).await {
            pings += 1;
        }
    }
    let frames_during_stall = sim.sent_count() - stalled_at;
    assert!(
        frames_during_stall <= 200,
        "data kept flowing: {frames_during_stall} tickers"
    );
    sim.set_stalled(false);
    next_json(&mut ws).await;
    assert!(sim.sent_count() > stalled_at);
    sim.shutdown().await;
}

#[tokio::test]
async fn malformed_every_n_and_injected_frames_are_invalid_json() {
    let sim = start(with_faults(Faults {
        malformed_every: Some(3),
        ..Faults::default()
    }))
    .await;
    let mut ws = connect(&sim, "/ws/!miniTicker@arr").await;
    assert_eq!(
        data_frames(&mut ws, 6).await,
        [true, true, false, true, true, false]
    );
    // Malformed frames are not in the sent log: 4 good frames so far, at least.
    sim.shutdown().await;

    let sim = start(fast()).await;
    let mut ws = connect(&sim, "/ws/!miniTicker@arr").await;
    next_json(&mut ws).await;
    sim.inject_malformed(2);
    let frames = data_frames(&mut ws, 8).await;
    assert_eq!(frames.iter().filter(|ok| !**ok).count(), 2, "{frames:?}");
    sim.shutdown().await;
}

#[tokio::test]
async fn a_price_path_is_sent_verbatim_then_the_symbol_goes_silent() {
    let path: Vec<String> = ["100", "101.5", "99.00000000", "102.25"]
        .map(String::from)
        .into();
    let config = SimConfig {
        price_paths: vec![("BTCUSDT".into(), path.clone())],
        ..fast()
    };
    let sim = start(config).await;
    // Connect late: the path waits for a listener.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut ws = connect(&sim, "/stream?streams=btcusdt@miniTicker/!miniTicker@arr").await;
    let mut closes = Vec::new();
    let mut ticks_after = 0;
    while ticks_after < 15 {
        let v = next_json(&mut ws).await;
        match v["stream"].as_str().unwrap() {
            "btcusdt@miniTicker" => closes.push(v["data"]["c"].as_str().unwrap().to_string()),
            _ if closes.len() == path.len() => ticks_after += 1,
            _ => {}
        }
    }
    assert_eq!(closes, path, "exactly the path, verbatim, then nothing");
    let rest: Value = reqwest::get(format!(
        "{}/api/v3/ticker/price?symbol=BTCUSDT",
        sim.rest_base()
    ))
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert_eq!(rest["price"], "102.25");
    sim.shutdown().await;
}

#[tokio::test]
async fn server_shutdown_event_disconnect_all_and_drop_all() {
    let sim = start(fast()).await;
    let mut a = connect(&sim, "/ws").await;
    eventually("registered", || sim.connections() == 1).await;
    sim.server_shutdown();
    let v = next_json(&mut a).await;
    assert_eq!(v["e"], "serverShutdown");
    assert!(v["E"].as_i64().unwrap() > 1_600_000_000_000);

    sim.disconnect_all();
    assert_eq!(until_closed(&mut a).await, Some(1001));

    let mut b = connect(&sim, "/ws").await;
    eventually("registered", || sim.connections() == 1).await;
    sim.drop_all();
    let end = loop {
        match tokio::time::timeout(PATIENCE, b.next())
            .await
            .expect("the socket ends")
        {
            Some(Ok(Message::Ping(_))) => continue,
            other => break other,
        }
    };
    assert!(
        !matches!(end, Some(Ok(Message::Close(_)))),
        "no close frame: {end:?}"
    );
    eventually("all gone", || sim.connections() == 0).await;
    assert_eq!(sim.connection_count_total(), 2);
    sim.shutdown().await;
}

#[tokio::test]
async fn shutdown_closes_open_connections() {
    let sim = start(fast()).await;
    let mut ws = connect(&sim, "/ws/!miniTicker@arr").await;
    let reader = tokio::spawn(async move { until_closed(&mut ws).await });
    eventually("registered", || sim.connections() == 1).await;
    sim.shutdown().await;
    assert_eq!(reader.await.unwrap(), Some(1001));
}

#[tokio::test]
async fn ignored_subscribes_get_no_answer_and_change_nothing_then_work_again() {
    use futures::SinkExt;
    let sim = start(with_faults(Faults {
        ignore_subscribes: 1,
        ..Faults::default()
    }))
    .await;
    let mut ws = connect(&sim, "/ws").await;
    let send = |text: &'static str| Message::text(text);
    // The first SUBSCRIBE is swallowed: the next answer is the LIST's, and it is empty.
    ws.send(send(
        r#"{"method":"SUBSCRIBE","params":["btcusdt@miniTicker"],"id":1}"#,
    ))
    .await
    .unwrap();
    let list = request(&mut ws, r#"{"method":"LIST_SUBSCRIPTIONS","id":2}"#).await;
    assert_eq!(list, serde_json::json!({"result": [], "id": 2}));
    // The next one is answered and applied.
    let subscribe = r#"{"method":"SUBSCRIBE","params":["btcusdt@miniTicker"],"id":3}"#;
    assert_eq!(
        request(&mut ws, subscribe).await,
        serde_json::json!({"result": null, "id": 3})
    );
    // Set at run time, for every connection: the next N SUBSCRIBEs are swallowed.
    sim.ignore_subscribes(1);
    ws.send(send(
        r#"{"method":"SUBSCRIBE","params":["ethbtc@miniTicker"],"id":4}"#,
    ))
    .await
    .unwrap();
    let list = request(&mut ws, r#"{"method":"LIST_SUBSCRIPTIONS","id":5}"#).await;
    assert_eq!(
        list,
        serde_json::json!({"result": ["btcusdt@miniTicker"], "id": 5})
    );
    sim.shutdown().await;
}
