//! Control requests that get no reply: sent again with backoff, and after the last
//! attempt the connection is replaced (the next one carries the streams).
//!
//! On tokio's paused time: the reply timeouts are virtual (no real seconds, no flake on a
//! loaded machine); the sockets are real, on loopback, with the server a task of the test's
//! own runtime, so the runtime sees their data before it advances the clock.

use binance::{DisconnectReason, StreamItem};
use std::time::Duration;

mod manager_support;

use manager_support::*;

fn impatient(server: &Server, streams: &[&str], combined: bool) -> binance::StreamConfig {
    let mut config = server.config(streams);
    config.combined = combined;
    config.control_reply_timeout = Duration::from_millis(200);
    config.control_attempts = 3;
    config
}

#[tokio::test(start_paused = true)]
async fn an_unanswered_subscribe_is_sent_again_and_its_reply_settles_it() {
    let mut server = Server::start().await;
    let (handle, mut rx) = binance::spawn(impatient(&server, &["a@miniTicker"], false));
    let handle = std::sync::Arc::new(handle);
    let mut conn = server.accept().await;
    assert_eq!(conn.path, "/ws/a@miniTicker");
    expect_connected(&mut rx, 1).await;

    let h = handle.clone();
    let call = tokio::spawn(async move { h.subscribe(vec!["b@miniTicker".into()]).await });
    let first = conn.next_json().await; // not answered
    let again = conn.ack_next().await;
    assert_eq!(first["method"], "SUBSCRIBE");
    assert_eq!(again, first, "the same request, same id");
    assert_eq!(call.await.unwrap(), Ok(()));
    // The reply came in time: the connection is kept.
    match next_item(&mut rx).await {
        StreamItem::Message { conn_id: 1, .. } => {}
        other => panic!("expected the control reply, got {other:?}"),
    }
    assert_eq!(handle.stats().connects, 1);
    std::sync::Arc::try_unwrap(handle).unwrap().shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn a_subscribe_never_answered_replaces_the_connection_which_then_carries_the_stream() {
    let mut server = Server::start().await;
    let (handle, mut rx) = binance::spawn(impatient(&server, &["a@miniTicker"], true));
    let handle = std::sync::Arc::new(handle);
    let mut first = server.accept().await;
    assert_eq!(first.path, "/stream?streams=a@miniTicker");
    expect_connected(&mut rx, 1).await;

    let h = handle.clone();
    let call = tokio::spawn(async move { h.subscribe(vec!["b@miniTicker".into()]).await });
    for _ in 0..3 {
        let request = first.next_json().await;
        assert_eq!(request["method"], "SUBSCRIBE");
        assert_eq!(request["params"], serde_json::json!(["b@miniTicker"]));
    }
    assert_eq!(
        expect_disconnected(&mut rx, 1).await,
        DisconnectReason::ControlUnanswered {
            request: "SUBSCRIBE b@miniTicker".into(),
            attempts: 3
        }
    );
    // Remembered: the next connection names it in its URL.
    assert_eq!(call.await.unwrap(), Ok(()));
    let second = server.accept().await;
    assert_eq!(second.path, "/stream?streams=a@miniTicker/b@miniTicker");
    expect_connected(&mut rx, 2).await;
    std::sync::Arc::try_unwrap(handle).unwrap().shutdown().await;
}
