//! Connection-manager tests against a tiny WebSocket server on 127.0.0.1 that
//! each test drives by hand (renewal: see `renewal.rs`).
//!
//! On tokio's paused time but for one test (said there): the idle timeouts, backoffs, the
//! control-request pacing and the close handshake's patience are virtual (no real seconds, no
//! flake on a loaded machine). The sockets are real, on loopback, with the server a task of
//! the test's own runtime, so the runtime sees their data before it advances the clock.

use binance::{DisconnectReason, Message, StreamConfig, StreamError, StreamItem};
use futures::{SinkExt, StreamExt};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::Message as Ws;

mod manager_support;

use manager_support::*;

#[tokio::test(start_paused = true)]
async fn server_ping_is_answered_with_its_payload() {
    let mut server = Server::start().await;
    let (handle, mut rx) = binance::spawn(server.config(&["btcusdt@miniTicker"]));
    let mut conn = server.accept().await;
    assert_eq!(conn.path, "/ws/btcusdt@miniTicker");
    expect_connected(&mut rx, 1).await;
    conn.ws
        .send(Ws::Ping(b"abc".to_vec().into()))
        .await
        .unwrap();
    let reply = tokio::time::timeout(WAIT, conn.ws.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(reply, Ws::Pong(b"abc".to_vec().into()));
    handle.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn pings_keep_the_idle_watchdog_quiet() {
    let mut server = Server::start().await;
    let mut config = server.config(&["btcusdt@miniTicker"]);
    config.idle_timeout = Duration::from_millis(400);
    let (handle, mut rx) = binance::spawn(config);
    let mut conn = server.accept().await;
    expect_connected(&mut rx, 1).await;
    // 1 s of pings only, 100 ms apart: longer than the idle timeout in total.
    for _ in 0..10 {
        conn.ws.send(Ws::Ping(Vec::new().into())).await.unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    conn.send(MINI_COMBINED).await;
    let (conn_id, _, message) = expect_message(&mut rx).await;
    assert_eq!(conn_id, 1);
    assert!(matches!(message, Message::MiniTickers(t) if t.len() == 1));
    handle.shutdown().await;
}

// Real time: the gap is measured on the wall clock (SystemTime), which paused time does not move.
#[tokio::test]
async fn silent_connection_is_dropped_and_the_gap_reported() {
    let mut server = Server::start().await;
    let mut config = server.config(&["!miniTicker@arr"]);
    config.idle_timeout = Duration::from_millis(300);
    let (handle, mut rx) = binance::spawn(config);
    let _silent = server.accept().await;
    expect_connected(&mut rx, 1).await;
    assert_eq!(
        expect_disconnected(&mut rx, 1).await,
        DisconnectReason::IdleTimeout(Duration::from_millis(300))
    );
    let _second = server.accept().await;
    expect_connected(&mut rx, 2).await;
    let (gap, reason) = expect_gap(&mut rx).await;
    assert_eq!(
        reason,
        DisconnectReason::IdleTimeout(Duration::from_millis(300))
    );
    // The feed was lost at the last frame, a full idle period before detection.
    assert!(gap >= Duration::from_millis(300), "{gap:?}");
    assert_eq!(handle.stats().connects, 2);
    handle.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn server_close_leads_to_reconnect_and_gap() {
    let mut server = Server::start().await;
    let (handle, mut rx) = binance::spawn(server.config(&["!miniTicker@arr"]));
    let mut first = server.accept().await;
    expect_connected(&mut rx, 1).await;
    let close = CloseFrame {
        code: CloseCode::Normal,
        reason: "bye".into(),
    };
    first.ws.close(Some(close)).await.unwrap();
    let closed = DisconnectReason::Closed {
        code: Some(1000),
        reason: "bye".into(),
    };
    assert_eq!(expect_disconnected(&mut rx, 1).await, closed);
    let _second = server.accept().await;
    expect_connected(&mut rx, 2).await;
    assert_eq!(expect_gap(&mut rx).await.1, closed);
    handle.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn subscriptions_are_acknowledged_and_resent_after_reconnect() {
    let mut server = Server::start().await;
    let mut config = server.config(&["btcusdt@miniTicker"]);
    config.combined = false;
    let (handle, mut rx) = binance::spawn(config);
    let handle = std::sync::Arc::new(handle);
    let mut first = server.accept().await;
    assert_eq!(first.path, "/ws/btcusdt@miniTicker");
    expect_connected(&mut rx, 1).await;

    let h = handle.clone();
    let call = tokio::spawn(async move { h.subscribe(vec!["ethusdt@miniTicker".into()]).await });
    let request = first.ack_next().await;
    assert_eq!(request["method"], "SUBSCRIBE");
    assert_eq!(request["params"], serde_json::json!(["ethusdt@miniTicker"]));
    assert_eq!(call.await.unwrap(), Ok(()));

    drop(first);
    let mut second = server.accept().await;
    assert_eq!(second.path, "/ws/btcusdt@miniTicker");
    let resent = second.ack_next().await;
    assert_eq!(resent["method"], "SUBSCRIBE");
    assert_eq!(resent["params"], serde_json::json!(["ethusdt@miniTicker"]));

    // A refused subscription is an error and is not remembered.
    let h = handle.clone();
    let call = tokio::spawn(async move { h.subscribe(vec!["nosuch@miniTicker".into()]).await });
    let request = second.next_json().await;
    let refusal = serde_json::json!({"code": 2, "msg": "Invalid request", "id": request["id"]});
    second.send(&refusal.to_string()).await;
    assert_eq!(
        call.await.unwrap(),
        Err(StreamError::Rejected {
            code: 2,
            msg: "Invalid request".into()
        })
    );

    let h = handle.clone();
    let call = tokio::spawn(async move { h.list_subscriptions().await });
    let request = second.next_json().await;
    assert_eq!(request["method"], "LIST_SUBSCRIPTIONS");
    let list = serde_json::json!({"result": ["btcusdt@miniticker", "ethusdt@miniticker"], "id": request["id"]});
    second.send(&list.to_string()).await;
    assert_eq!(call.await.unwrap().unwrap().len(), 2);

    assert_eq!(
        handle.subscribe(vec!["bad name".into()]).await,
        Err(StreamError::InvalidStreamName("bad name".into()))
    );
    drop(second);
    let mut third = server.accept().await;
    let resent = third.ack_next().await;
    assert_eq!(resent["params"], serde_json::json!(["ethusdt@miniTicker"]));
    std::sync::Arc::try_unwrap(handle).unwrap().shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn combined_url_follows_subscribe_and_unsubscribe() {
    let mut server = Server::start().await;
    let (handle, mut rx) = binance::spawn(server.config(&["a@miniTicker", "b@miniTicker"]));
    let handle = std::sync::Arc::new(handle);
    let mut first = server.accept().await;
    assert_eq!(first.path, "/stream?streams=a@miniTicker/b@miniTicker");
    expect_connected(&mut rx, 1).await;

    let h = handle.clone();
    let call = tokio::spawn(async move { h.subscribe(vec!["c@miniTicker".into()]).await });
    assert_eq!(first.ack_next().await["method"], "SUBSCRIBE");
    call.await.unwrap().unwrap();
    let h = handle.clone();
    let call = tokio::spawn(async move { h.unsubscribe(vec!["a@miniTicker".into()]).await });
    let request = first.ack_next().await;
    assert_eq!(request["method"], "UNSUBSCRIBE");
    assert_eq!(request["params"], serde_json::json!(["a@miniTicker"]));
    call.await.unwrap().unwrap();

    drop(first);
    let second = server.accept().await;
    assert_eq!(second.path, "/stream?streams=b@miniTicker/c@miniTicker");
    std::sync::Arc::try_unwrap(handle).unwrap().shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn control_requests_never_exceed_five_per_second() {
    let mut server = Server::start().await;
    let (handle, mut rx) = binance::spawn(server.config(&["a@miniTicker"]));
    let handle = std::sync::Arc::new(handle);
    let mut conn = server.accept().await;
    expect_connected(&mut rx, 1).await;
    let calls: Vec<_> = (0..6)
        .map(|i| {
            let h = handle.clone();
            tokio::spawn(async move { h.subscribe(vec![format!("s{i}@miniTicker")]).await })
        })
        .collect();
    let mut arrivals = Vec::new();
    for _ in 0..6 {
        conn.ack_next().await;
        arrivals.push(tokio::time::Instant::now());
    }
    for call in calls {
        call.await.unwrap().unwrap();
    }
    let span = arrivals[5] - arrivals[0];
    assert!(
        span >= Duration::from_millis(900),
        "6 requests within {span:?}"
    );
    std::sync::Arc::try_unwrap(handle).unwrap().shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn malformed_frame_is_reported_and_the_connection_kept() {
    let mut server = Server::start().await;
    let (handle, mut rx) = binance::spawn(server.config(&["btcusdt@miniTicker"]));
    let mut conn = server.accept().await;
    expect_connected(&mut rx, 1).await;
    conn.send(r#"{"stream":"btcusdt@miniTicker","data":{"e":"24hrMiniTicker""#)
        .await;
    conn.ws
        .send(Ws::Binary(vec![1, 2, 3].into()))
        .await
        .unwrap();
    conn.send(MINI_COMBINED).await;
    match next_item(&mut rx).await {
        StreamItem::Malformed { conn_id: 1, error } => {
            assert!(
                matches!(error, binance::DecodeError::Truncated { .. }),
                "{error}"
            )
        }
        other => panic!("expected Malformed, got {other:?}"),
    }
    assert!(matches!(
        next_item(&mut rx).await,
        StreamItem::Malformed {
            conn_id: 1,
            error: binance::DecodeError::NotText { len: 3 }
        }
    ));
    let (conn_id, raw, message) = expect_message(&mut rx).await;
    assert_eq!((conn_id, raw.as_str()), (1, MINI_COMBINED));
    assert!(matches!(message, Message::MiniTickers(t) if t[0].symbol == "BTCUSDT"));
    let stats = handle.stats();
    assert_eq!((stats.frames, stats.malformed, stats.connects), (3, 2, 1));
    handle.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn shutdown_closes_cleanly_and_ends_the_receiver() {
    let mut server = Server::start().await;
    let (handle, mut rx) = binance::spawn(server.config(&["btcusdt@miniTicker"]));
    let mut conn = server.accept().await;
    expect_connected(&mut rx, 1).await;
    let server_side = tokio::spawn(async move {
        loop {
            match conn.ws.next().await {
                Some(Ok(Ws::Close(frame))) => return frame.map(|f| f.code),
                Some(Ok(_)) => continue,
                _ => return None,
            }
        }
    });
    handle.shutdown().await;
    assert_eq!(
        expect_disconnected(&mut rx, 1).await,
        DisconnectReason::Shutdown
    );
    assert!(tokio::time::timeout(WAIT, rx.recv())
        .await
        .unwrap()
        .is_none());
    assert_eq!(server_side.await.unwrap(), Some(CloseCode::Normal));
}

#[tokio::test(start_paused = true)]
async fn slow_consumer_gets_backpressure_not_loss() {
    let mut server = Server::start().await;
    let mut config = server.config(&["btcusdt@miniTicker"]);
    config.channel_capacity = 2;
    let (handle, mut rx) = binance::spawn(config);
    let mut conn = server.accept().await;
    let frames: Vec<String> = (0..20)
        .map(|i| MINI_COMBINED.replace("1601628771865", &i.to_string()))
        .collect();
    for frame in &frames {
        conn.send(frame).await;
    }
    // Nothing is read until the manager has found the channel full.
    tokio::time::timeout(WAIT, async {
        while handle.stats().consumer_full == 0 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .expect("channel fills up");
    expect_connected(&mut rx, 1).await;
    for frame in &frames {
        assert_eq!(&expect_message(&mut rx).await.1, frame);
    }
    assert!(handle.stats().consumer_full >= 1);
    handle.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn failed_attempts_are_reported_without_a_gap() {
    let closed_port = {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        listener.local_addr().unwrap()
    };
    let mut config = StreamConfig::new(format!("ws://{closed_port}"), vec!["a@miniTicker".into()]);
    config.initial_backoff = Duration::from_millis(10);
    config.max_backoff = Duration::from_millis(20);
    let (handle, mut rx) = binance::spawn(config);
    for attempt in 1..=3 {
        let reason = expect_disconnected(&mut rx, attempt).await;
        assert!(
            matches!(reason, DisconnectReason::ConnectFailed(_)),
            "{reason}"
        );
    }
    handle.shutdown().await;
    while let Some(item) = tokio::time::timeout(WAIT, rx.recv()).await.unwrap() {
        assert!(
            matches!(
                item,
                StreamItem::Disconnected {
                    reason: DisconnectReason::ConnectFailed(_),
                    ..
                }
            ),
            "{item:?}"
        );
    }
}
