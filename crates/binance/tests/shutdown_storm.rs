//! A server that announces `serverShutdown` on every connection must not get a reconnect
//! storm: the first announcement is renewed at once, repeated ones back off (and every
//! attempt goes through the attempt limiter).

use binance::{StreamConfig, StreamItem};
use std::time::Duration;

/// Paused time: the 3 s run and the backoffs are virtual; the simulator is a task of this
/// runtime on loopback, so the runtime sees its frames before it advances the clock.
#[tokio::test(start_paused = true)]
async fn server_shutdown_on_every_connection_backs_off() {
    let sim_config = sim::SimConfig {
        symbols: 5,
        interval: Duration::from_millis(20),
        ..sim::SimConfig::default()
    };
    let sim = sim::start("127.0.0.1:0".parse().unwrap(), sim_config)
        .await
        .unwrap();
    let mut config = StreamConfig::new(sim.ws_base(), vec!["!miniTicker@arr".into()]);
    config.initial_backoff = Duration::from_millis(200);
    config.max_backoff = Duration::from_secs(2);
    let (handle, mut rx) = binance::spawn(config);
    let drain = tokio::spawn(async move {
        let mut connects = 0u64;
        while let Some(item) = rx.recv().await {
            if matches!(item, StreamItem::Connected { .. }) {
                connects += 1;
            }
        }
        connects
    });
    // Every connection, old or new, hears `serverShutdown` within 5 ms of opening, for a
    // bounded run of 600 rounds (about 3 s).
    for _ in 0..600 {
        sim.server_shutdown();
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let attempts = sim.connection_count_total();
    handle.shutdown().await;
    let connects = drain.await.unwrap();
    // Immediate renewals connect every few milliseconds (hundreds in this run); with a
    // backoff of 200 ms doubling to 2 s there is room for about ten.
    assert!(
        (2..=15).contains(&attempts),
        "{attempts} connections ({connects} reported) while every connection announced serverShutdown"
    );
    sim.shutdown().await;
}
