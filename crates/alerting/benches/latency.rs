//! Alert latency: from a frame arriving on the socket (the stream manager's `received_at`)
//! to its alert line being written, 100 watched symbols on ONE connection to the simulated
//! exchange, through the same code the binary runs (`open_stream`, `Feed::handle`).
//!
//! Run: `cargo bench -p alerting --bench latency` (release). Prints p50/p90/p99/p99.9/max.
//! Lines are written to `/dev/null`, so terminal speed is not measured.

use std::time::{Duration, SystemTime};

mod common;

use alerting::feed::Feed;
use alerting::sinks::Sinks;
use binance::StreamItem;
use common::{start_market, watcher, SYMBOLS, TICKS};

fn main() {
    common::run(
        &format!("alert latency, {SYMBOLS} symbols on one connection"),
        measure(),
    );
}

async fn measure() -> Vec<Duration> {
    let (names, sim) = start_market().await;
    let watcher = watcher(&names);
    let (handle, mut items, later) =
        alerting::open_stream(&sim.ws_base(), &watcher, std::time::Duration::from_secs(10));
    let mut feed = Feed::new(watcher, false, Sinks::default());
    let mut out = std::fs::File::create("/dev/null").expect("/dev/null");
    let expected = SYMBOLS * TICKS / 2;
    let mut samples = Vec::with_capacity(expected);
    let collect = async {
        while samples.len() < expected {
            let Some(item) = items.recv().await else {
                break;
            };
            let lines = feed.handle(&item, &mut out).expect("write");
            if let (StreamItem::Message { received_at, .. }, true) = (&item, lines > 0) {
                let now = SystemTime::now();
                samples.push(now.duration_since(*received_at).unwrap_or_default());
            }
        }
    };
    tokio::select! {
        () = collect => {}
        never = alerting::subscribe_then_idle(&handle, later) => match never {},
        () = tokio::time::sleep(Duration::from_secs(120)) => eprintln!("timed out"),
    }
    handle.shutdown().await;
    samples
}
