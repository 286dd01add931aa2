//! End to end against the simulated exchange (`crates/sim`): pongs keep the
//! connection alive, a forced disconnect becomes a Gap, and every decoded
//! ticker is one the exchange really sent.

use std::collections::HashSet;
use std::time::Duration;
use stream::{StreamConfig, StreamItem};

const WAIT: Duration = Duration::from_secs(10);

async fn next_item(rx: &mut tokio::sync::mpsc::Receiver<StreamItem>) -> StreamItem {
    tokio::time::timeout(WAIT, rx.recv())
        .await
        .expect("item in time")
        .expect("manager running")
}

#[tokio::test]
async fn all_market_feed_survives_pings_and_reports_forced_disconnect() {
    let sim_config = sim::SimConfig {
        symbols: 20,
        interval: Duration::from_millis(50),
        ping_interval: Duration::from_millis(100),
        pong_timeout: Duration::from_millis(500),
        record_sent: true,
        ..sim::SimConfig::default()
    };
    let sim = sim::start("127.0.0.1:0".parse().unwrap(), sim_config)
        .await
        .unwrap();
    let mut config = StreamConfig::new(sim.ws_base(), vec!["!miniTicker@arr".into()]);
    config.idle_timeout = Duration::from_secs(2);
    config.initial_backoff = Duration::from_millis(20);
    let (handle, mut rx) = stream::spawn(config);

    let mut received = HashSet::new();
    let mut record = |raw: &str| {
        stream::for_each_raw_mini_ticker(raw, |t| {
            received.insert((t.symbol.into_owned(), t.event_time, t.close.into_owned()));
        })
        .expect("sim frames decode")
    };

    // 30 frames at 50 ms: several ping periods longer than the pong timeout.
    let mut frames = 0;
    while frames < 30 {
        match next_item(&mut rx).await {
            StreamItem::Connected { conn_id, .. } => assert_eq!(conn_id, 1),
            StreamItem::Message { raw, conn_id, .. } => {
                assert_eq!(conn_id, 1);
                assert!(record(raw.as_str()) > 0);
                frames += 1;
            }
            other => panic!("unexpected before the forced disconnect: {other:?}"),
        }
    }

    sim.disconnect_all();
    let mut saw = (false, false);
    while !(saw.0 && saw.1) {
        match next_item(&mut rx).await {
            StreamItem::Message { raw, .. } => {
                record(raw.as_str());
            }
            StreamItem::Disconnected { conn_id: 1, .. } => saw.0 = true,
            StreamItem::Connected { conn_id, .. } => assert!(saw.0 && conn_id >= 2),
            StreamItem::Gap { from, to, .. } => {
                assert!(from <= to);
                saw.1 = true;
            }
            other => panic!("unexpected around the forced disconnect: {other:?}"),
        }
    }
    for _ in 0..3 {
        if let StreamItem::Message { raw, .. } = next_item(&mut rx).await {
            record(raw.as_str());
        }
    }
    handle.shutdown().await;

    let sent: HashSet<_> = sim
        .sent()
        .into_iter()
        .map(|t| (t.symbol, t.event_time, t.close))
        .collect();
    assert!(!received.is_empty());
    let unknown: Vec<_> = received.difference(&sent).take(3).collect();
    assert!(
        unknown.is_empty(),
        "decoded tickers the sim never sent: {unknown:?}"
    );
    sim.shutdown().await;
}
