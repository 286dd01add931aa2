//! Alert latency: from a frame arriving on the socket (the stream manager's `received_at`)
//! to its alert line being written, 100 watched symbols on ONE connection to the simulated
//! exchange, through the same code the binary runs (`open_stream`, `Feed::handle`).
//!
//! Run: `cargo bench -p alerting --bench latency` (release). Prints p50/p90/p99/p99.9/max.
//! Lines are written to `/dev/null`, so terminal speed is not measured.

use std::time::{Duration, SystemTime};

use alert::{Direction, Level, Mode, Watcher};
use alerting::feed::Feed;
use alerting::sinks::Sinks;
use stream::StreamItem;

const SYMBOLS: usize = 100;
const TICKS: usize = 200;
const INTERVAL: Duration = Duration::from_millis(20);

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let mut samples = runtime.block_on(measure());
    samples.sort_unstable();
    let pick = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize];
    let us = |d: Duration| d.as_secs_f64() * 1e6;
    println!(
        "alert latency, {SYMBOLS} symbols on one connection, {} alert frames: p50 {:.1} us, p90 {:.1} us, p99 {:.1} us, p99.9 {:.1} us, max {:.1} us",
        samples.len(),
        us(pick(0.50)),
        us(pick(0.90)),
        us(pick(0.99)),
        us(pick(0.999)),
        us(*samples.last().expect("samples")),
    );
}

async fn measure() -> Vec<Duration> {
    let names: Vec<String> = (0..SYMBOLS).map(|i| format!("LAT{i:03}USDT")).collect();
    // Alternate above / below the level: half the updates alert, half are quiet.
    let path: Vec<String> = (0..TICKS)
        .map(|t| {
            if t % 2 == 0 {
                "101.00000000"
            } else {
                "99.00000000"
            }
            .to_owned()
        })
        .collect();
    let config = sim::SimConfig {
        interval: INTERVAL,
        symbols: 10,
        record_sent: false,
        price_paths: names.iter().map(|n| (n.clone(), path.clone())).collect(),
        ..sim::SimConfig::default()
    };
    let sim = sim::start("127.0.0.1:0".parse().expect("addr"), config)
        .await
        .expect("sim starts");
    let levels = names
        .iter()
        .map(|n| Level::parse(n.parse().expect("symbol"), Direction::Above, "100").expect("level"));
    let watcher = Watcher::new(levels, Mode::EveryUpdate);
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
