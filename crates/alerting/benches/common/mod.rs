//! What the latency benches share: the scripted market and the percentile line.

use std::time::Duration;

/// Watched symbols.
pub const SYMBOLS: usize = 100;
/// Path length per symbol.
pub const TICKS: usize = 200;
/// Simulator tick.
pub const INTERVAL: Duration = Duration::from_millis(20);

/// `SYMBOLS` scripted symbols whose price alternates above / below 100 (half the updates
/// alert), on a small simulated market; returns their names and the simulator's config.
pub fn alternating_market() -> (Vec<String>, sim::SimConfig) {
    let names: Vec<String> = (0..SYMBOLS).map(|i| format!("LAT{i:03}USDT")).collect();
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
    (names, config)
}

/// A watcher alerting above 100 on every update of `names`.
pub fn watcher(names: &[String]) -> alert::Watcher {
    let levels = names.iter().map(|n| {
        alert::Level::parse(n.parse().expect("symbol"), alert::Direction::Above, "100")
            .expect("level")
    });
    alert::Watcher::new(levels, alert::Mode::EveryUpdate)
}

/// Prints `title` with p50/p90/p99/p99.9/max of `samples`.
pub fn print_percentiles(title: &str, mut samples: Vec<Duration>) {
    samples.sort_unstable();
    let pick = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize];
    let us = |d: Duration| d.as_secs_f64() * 1e6;
    println!(
        "{title}, {} alert frames: p50 {:.1} us, p90 {:.1} us, p99 {:.1} us, p99.9 {:.1} us, max {:.1} us",
        samples.len(),
        us(pick(0.50)),
        us(pick(0.90)),
        us(pick(0.99)),
        us(pick(0.999)),
        us(*samples.last().expect("samples")),
    );
}

/// Runs `measure` on a 2-worker runtime (as the alerter's) and prints its percentiles
/// under `title`.
pub fn run(title: &str, measure: impl std::future::Future<Output = Vec<Duration>>) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let samples = runtime.block_on(measure);
    print_percentiles(title, samples);
}

/// The simulated exchange running [`alternating_market`], with the market's symbol names.
pub async fn start_market() -> (Vec<String>, sim::SimHandle) {
    let (names, config) = alternating_market();
    let sim = sim::start("127.0.0.1:0".parse().expect("addr"), config)
        .await
        .expect("sim starts");
    (names, sim)
}
