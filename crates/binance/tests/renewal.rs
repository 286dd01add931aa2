//! Zero-gap renewal: before a connection's age limit (or on `serverShutdown`)
//! a successor is opened while the old connection keeps delivering, and the
//! old one is closed only once the successor delivers. Hand-driven loopback
//! server tests for each path, then an end-to-end check against the simulated
//! exchange that no event is lost over several renewals.
//!
//! Every test runs on tokio's paused time: the age limits, backoffs and patience below are
//! virtual (no real seconds, no flake on a loaded machine). The sockets are real, on
//! loopback, and the servers (the hand-driven one, the simulator) are tasks of the test's own
//! runtime, so the runtime sees their data before it advances the clock.

use binance::{DisconnectReason, Message, StreamConfig, StreamItem};
use std::collections::HashSet;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;

mod manager_support;

use manager_support::*;

/// The next item that is not a failed connection attempt; also how many of
/// those were skipped.
async fn next_skipping_failures(rx: &mut mpsc::Receiver<StreamItem>) -> (StreamItem, usize) {
    let mut failures = 0;
    loop {
        match next_item(rx).await {
            StreamItem::Disconnected {
                reason: DisconnectReason::ConnectFailed(_),
                ..
            } => failures += 1,
            item => return (item, failures),
        }
    }
}

fn renewing_config(server: &Server, age: Duration) -> StreamConfig {
    let mut config = server.config(&["btcusdt@miniTicker", "ethusdt@miniTicker"]);
    config.max_connection_age = age;
    config
}

#[tokio::test(start_paused = true)]
async fn age_limit_opens_the_successor_before_closing_the_old_connection() {
    let mut server = Server::start().await;
    let (handle, mut rx) = binance::spawn(renewing_config(&server, Duration::from_millis(300)));
    let mut first = server.accept().await;
    expect_connected(&mut rx, 1).await;

    let mut second = server.accept().await;
    assert_eq!(second.path, first.path, "same URL");
    expect_connected(&mut rx, 2).await;
    // The old connection still delivers while the successor has sent nothing.
    first.send(MINI_COMBINED).await;
    assert_eq!(expect_message(&mut rx).await.0, 1);

    // The successor's first data frame: the old connection is closed now...
    second.send(MINI_COMBINED).await;
    assert_eq!(expect_message(&mut rx).await.0, 2);
    // ...but what it sends until it answers the close still arrives.
    let late = MINI_COMBINED.replace("1601628771865", "1601628771999");
    first.send(&late).await;
    let closing = tokio::spawn(async move { first.close_code().await });
    let (conn_id, raw, _) = expect_message(&mut rx).await;
    assert_eq!((conn_id, raw), (1, late));
    assert_eq!(
        expect_disconnected(&mut rx, 1).await,
        DisconnectReason::Renewal
    );
    assert_eq!(closing.await.unwrap(), Some(1000), "closed cleanly");
    // No Gap: the next item is the successor's data.
    second.send(MINI_COMBINED).await;
    assert_eq!(expect_message(&mut rx).await.0, 2);
    assert_eq!(handle.stats().connects, 2);
    handle.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn server_shutdown_is_renewed_without_a_gap_or_backoff() {
    let mut server = Server::start().await;
    let mut config = server.config(&["btcusdt@miniTicker", "ethusdt@miniTicker"]);
    // Any backoff would outlast the test's patience (5 s, virtual: it fires first).
    config.initial_backoff = Duration::from_secs(60);
    config.max_backoff = Duration::from_secs(60);
    let (handle, mut rx) = binance::spawn(config);
    let mut first = server.accept().await;
    expect_connected(&mut rx, 1).await;
    first
        .send(r#"{"stream":"!serverShutdown","data":{"e":"serverShutdown","E":1770123456789}}"#)
        .await;
    let (conn_id, _, message) = expect_message(&mut rx).await;
    assert_eq!(
        (conn_id, message),
        (
            1,
            Message::ServerShutdown {
                event_time: 1770123456789
            }
        )
    );
    let mut second = server.accept().await;
    expect_connected(&mut rx, 2).await;
    first.send(MINI_COMBINED).await;
    assert_eq!(expect_message(&mut rx).await.0, 1);

    let closing = tokio::spawn(async move { first.close_code().await });
    second.send(MINI_COMBINED).await;
    assert_eq!(expect_message(&mut rx).await.0, 2);
    assert_eq!(
        expect_disconnected(&mut rx, 1).await,
        DisconnectReason::Renewal
    );
    assert_eq!(closing.await.unwrap(), Some(1000));
    handle.shutdown().await;
    assert_eq!(
        expect_disconnected(&mut rx, 2).await,
        DisconnectReason::Shutdown
    );
}

#[tokio::test(start_paused = true)]
async fn server_shutdown_then_close_before_a_successor_opens_is_a_gap() {
    let mut server = Server::start().await;
    let (handle, mut rx) = binance::spawn(server.config(&["!miniTicker@arr"]));
    let mut first = server.accept().await;
    expect_connected(&mut rx, 1).await;
    // No successor can open while the server goes away.
    server.refuse_handshakes(true);
    first
        .send(r#"{"e":"serverShutdown","E":1770123456789}"#)
        .await;
    expect_message(&mut rx).await;
    assert!(matches!(
        expect_disconnected(&mut rx, 2).await,
        DisconnectReason::ConnectFailed(_)
    ));
    let away = CloseFrame {
        code: CloseCode::Away,
        reason: "restart".into(),
    };
    first.ws.close(Some(away)).await.unwrap();
    let (item, _) = next_skipping_failures(&mut rx).await;
    assert!(
        matches!(
            item,
            StreamItem::Disconnected {
                conn_id: 1,
                reason: DisconnectReason::ServerShutdown,
                ..
            }
        ),
        "{item:?}"
    );
    server.refuse_handshakes(false);
    let _second = server.accept().await;
    let (item, _) = next_skipping_failures(&mut rx).await;
    assert!(matches!(item, StreamItem::Connected { .. }), "{item:?}");
    assert_eq!(
        expect_gap(&mut rx).await.1,
        DisconnectReason::ServerShutdown
    );
    handle.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn failed_successor_keeps_the_old_connection_until_it_dies() {
    let mut server = Server::start().await;
    let (handle, mut rx) = binance::spawn(renewing_config(&server, Duration::from_millis(300)));
    let mut first = server.accept().await;
    server.refuse_handshakes(true);
    expect_connected(&mut rx, 1).await;

    // The renewal attempt fails; the old connection is kept and still delivers.
    assert!(matches!(
        expect_disconnected(&mut rx, 2).await,
        DisconnectReason::ConnectFailed(_)
    ));
    first.send(MINI_COMBINED).await;
    let (item, _) = next_skipping_failures(&mut rx).await;
    assert!(
        matches!(item, StreamItem::Message { conn_id: 1, .. }),
        "{item:?}"
    );

    // Retried with backoff; once the server accepts again the renewal
    // completes without a gap.
    server.refuse_handshakes(false);
    let mut next = server.accept().await;
    server.refuse_handshakes(true);
    let (item, failures) = next_skipping_failures(&mut rx).await;
    let StreamItem::Connected {
        conn_id: next_id, ..
    } = item
    else {
        panic!("expected the successor's Connected, got {item:?}");
    };
    assert_eq!(next_id, 3 + failures as u64, "ids count attempts");
    next.send(MINI_COMBINED).await;
    assert_eq!(expect_message(&mut rx).await.0, next_id);
    assert_eq!(
        expect_disconnected(&mut rx, 1).await,
        DisconnectReason::Renewal
    );

    // Its own renewal fails too; when it then dies, the feed is lost:
    // reconnect, then a Gap.
    assert!(matches!(
        expect_disconnected(&mut rx, next_id + 1).await,
        DisconnectReason::ConnectFailed(_)
    ));
    let bye = CloseFrame {
        code: CloseCode::Normal,
        reason: "bye".into(),
    };
    next.ws.close(Some(bye)).await.unwrap();
    let closed = DisconnectReason::Closed {
        code: Some(1000),
        reason: "bye".into(),
    };
    let (item, _) = next_skipping_failures(&mut rx).await;
    match item {
        StreamItem::Disconnected {
            conn_id, reason, ..
        } => assert_eq!((conn_id, reason), (next_id, closed.clone())),
        other => panic!("expected Disconnected #{next_id}, got {other:?}"),
    }
    server.refuse_handshakes(false);
    let _last = server.accept().await;
    let (item, _) = next_skipping_failures(&mut rx).await;
    assert!(matches!(item, StreamItem::Connected { .. }), "{item:?}");
    assert_eq!(expect_gap(&mut rx).await.1, closed);
    handle.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn old_connection_ending_during_the_overlap_is_not_a_gap() {
    let mut server = Server::start().await;
    let (handle, mut rx) = binance::spawn(renewing_config(&server, Duration::from_millis(300)));
    let mut first = server.accept().await;
    expect_connected(&mut rx, 1).await;
    let mut second = server.accept().await;
    expect_connected(&mut rx, 2).await;
    first.ws.close(None).await.unwrap();
    assert_eq!(
        expect_disconnected(&mut rx, 1).await,
        DisconnectReason::Renewal
    );
    second.send(MINI_COMBINED).await;
    assert_eq!(expect_message(&mut rx).await.0, 2);
    handle.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn requests_during_the_overlap_go_to_the_successor_and_survive_its_failure() {
    let mut server = Server::start().await;
    let mut config = server.config(&["a@miniTicker", "b@miniTicker"]);
    config.combined = false;
    config.max_connection_age = Duration::from_millis(300);
    let (handle, _rx) = binance::spawn(config);
    let mut first = server.accept().await;
    assert_eq!(first.path, "/ws/a@miniTicker");
    assert_eq!(
        first.ack_next().await["params"],
        serde_json::json!(["b@miniTicker"])
    );
    // The successor gets the same streams: same URL, same SUBSCRIBE.
    let mut second = server.accept().await;
    assert_eq!(second.path, first.path);
    assert_eq!(
        second.ack_next().await["params"],
        serde_json::json!(["b@miniTicker"])
    );

    let handle = std::sync::Arc::new(handle);
    let h = handle.clone();
    let call = tokio::spawn(async move { h.subscribe(vec!["c@miniTicker".into()]).await });
    let request = second.ack_next().await;
    assert_eq!(request["params"], serde_json::json!(["c@miniTicker"]));
    assert_eq!(call.await.unwrap(), Ok(()));

    // The successor fails before delivering: the old connection, kept, is
    // brought up to date.
    drop(second);
    let request = first.ack_next().await;
    assert_eq!(
        (&request["method"], &request["params"]),
        (&"SUBSCRIBE".into(), &serde_json::json!(["c@miniTicker"]))
    );
    std::sync::Arc::try_unwrap(handle).unwrap().shutdown().await;
}

/// What the sim test saw: every ticker received, and the connection events. (The simulator
/// stamps events with the wall clock, so on paused time ticks may share an event time; the
/// close price, which every tick moves, still tells them apart.)
#[derive(Default)]
struct Tally {
    received: HashSet<(String, i64, String)>,
    connected: u64,
    renewals: u64,
}

impl Tally {
    fn take(&mut self, item: StreamItem) {
        match item {
            StreamItem::Message { raw, .. } => {
                binance::for_each_raw_mini_ticker(raw.as_str(), |t| {
                    self.received.insert((
                        t.symbol.into_owned(),
                        t.event_time,
                        t.close.into_owned(),
                    ));
                })
                .expect("sim frames decode");
            }
            StreamItem::Connected { .. } => self.connected += 1,
            StreamItem::Disconnected {
                reason: DisconnectReason::Renewal,
                ..
            } => self.renewals += 1,
            other => panic!("only renewals expected, got {other:?}"),
        }
    }
}

#[tokio::test(start_paused = true)]
async fn renewals_against_the_simulated_exchange_lose_no_event() {
    let sim_config = sim::SimConfig {
        symbols: 20,
        interval: Duration::from_millis(20),
        max_connection_age: Duration::from_secs(2),
        record_sent: true,
        ..sim::SimConfig::default()
    };
    // Renewed well before the sim's own 2 s cut-off.
    let (sim, handle, mut rx) = spawn_on_sim(sim_config, |c| {
        c.max_connection_age = Duration::from_millis(1200)
    })
    .await;

    let mut tally = Tally::default();
    // Midway between two renewals (every 1.2 s): on paused time the schedule is exact, and a
    // run ending as a successor opens would leave its Connected unread.
    let run_until = tokio::time::Instant::now() + Duration::from_millis(6_600);
    while tokio::time::Instant::now() < run_until {
        tally.take(next_item(&mut rx).await);
    }

    // No new events from now on; everything the sim sent must arrive.
    sim.set_stalled(true);
    loop {
        let sent: HashSet<(String, i64, String)> = sim
            .sent()
            .into_iter()
            .map(|t| (t.symbol, t.event_time, t.close))
            .collect();
        let missing: Vec<_> = sent.difference(&tally.received).collect();
        if missing.is_empty() {
            let unknown: Vec<_> = tally.received.difference(&sent).take(3).collect();
            assert!(unknown.is_empty(), "never sent: {unknown:?}");
            break;
        }
        match tokio::time::timeout(WAIT, rx.recv()).await {
            Ok(Some(item)) => tally.take(item),
            _ => panic!(
                "{} of {} events sent were never received, e.g. {:?}",
                missing.len(),
                sent.len(),
                &missing[..missing.len().min(3)]
            ),
        }
    }
    handle.shutdown().await;

    assert!(tally.renewals >= 3, "only {} renewals", tally.renewals);
    assert_eq!(tally.connected, tally.renewals + 1);
    assert_eq!(sim.connection_count_total(), tally.connected);
    sim.shutdown().await;
}
