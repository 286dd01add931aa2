//! One trader cycle against the in-process simulated CoinGecko on 127.0.0.1, with SQLite
//! in a temp dir: 1 `/coins/markets` + 3 `/market_chart` calls, the markets transaction,
//! up to 3 trade+position transactions, and the portfolio read. Each iteration is one
//! hour later than the previous one, so the buys really insert (no unique-key shortcut).
//!
//! The time includes the simulator's own work on loopback (an upper bound for "a cycle
//! excluding server latency"). Target: under 50 ms.
//!
//! `cargo bench -p trading --bench cycle`

// `criterion_group!` defines an undocumented `pub fn`; the crate's missing_docs lint is for
// its library.
#![allow(missing_docs)]

use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use ledger::Store;
use pricing::{ClientConfig, CoinGecko, RetryPolicy};

fn bench_cycle(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    // Default coins: prices drift around their averages, so some hours buy and some hold.
    let config = sim::SimConfig {
        symbols: 10,
        ..sim::SimConfig::default()
    };
    let sim = rt
        .block_on(sim::start("127.0.0.1:0".parse().expect("addr"), config))
        .expect("sim");
    let mut cg_config = ClientConfig::new(sim.coingecko_base());
    cg_config.retry = RetryPolicy::immediate(1);
    let cg = CoinGecko::new(cg_config).expect("client");
    let dir = tempfile::tempdir().expect("tempdir");
    let mut store =
        Store::open(dir.path().join("bench.db").to_str().expect("utf8")).expect("store");
    let mut hour = 0i64;
    let start = chrono::Utc::now();
    c.bench_function("trader cycle (sim + SQLite)", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                hour += 1;
                let now = start + chrono::Duration::hours(hour);
                let t = Instant::now();
                rt.block_on(trading::run_cycle(
                    &cg,
                    &mut store,
                    &trading::Account::default(),
                    now,
                ))
                .expect("cycle");
                total += t.elapsed();
            }
            total
        })
    });
}

criterion_group!(benches, bench_cycle);
criterion_main!(benches);
