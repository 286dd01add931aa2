//! End to end against the simulated exchange (`crates/sim`): pongs keep the
//! connection alive, a forced disconnect becomes a Gap, and every decoded
//! ticker is one the exchange really sent.

use binance::StreamItem;
use std::collections::HashSet;
use std::time::Duration;

mod manager_support;

use manager_support::{next_item, spawn_on_sim};

/// Paused time: the frame interval, pings and timeouts are virtual; the simulator is a task of
/// this runtime on loopback, so the runtime sees its frames before it advances the clock.
#[tokio::test(start_paused = true)]
async fn all_market_feed_survives_pings_and_reports_forced_disconnect() {
    let sim_config = sim::SimConfig {
        symbols: 20,
        interval: Duration::from_millis(50),
        ping_interval: Duration::from_millis(100),
        pong_timeout: Duration::from_millis(500),
        record_sent: true,
        ..sim::SimConfig::default()
    };
    let (sim, handle, mut rx) =
        spawn_on_sim(sim_config, |c| c.idle_timeout = Duration::from_secs(2)).await;

    let mut received = HashSet::new();
    let mut record = |raw: &str| {
        binance::for_each_raw_mini_ticker(raw, |t| {
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
