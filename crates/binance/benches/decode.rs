//! Decoding throughput on the real 26-element `!miniTicker@arr` capture.
//!
//! `cargo bench -p binance --bench decode`

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::hint::black_box;

const ARR: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../fixtures/binance_spot_miniTicker_arr_raw_2020-06-19.json"
));

fn bench_decode(c: &mut Criterion) {
    let elements = binance::for_each_raw_mini_ticker(ARR, |_| {}).expect("fixture decodes") as u64;
    let mut group = c.benchmark_group("miniTicker_arr_26");
    group.throughput(Throughput::Elements(elements));
    group.bench_function("decode", |b| {
        b.iter(|| binance::decode(black_box(ARR)).expect("fixture decodes"))
    });
    group.bench_function("for_each_raw_mini_ticker", |b| {
        b.iter(|| {
            let mut sum = 0usize;
            binance::for_each_raw_mini_ticker(black_box(ARR), |t| sum += t.close.len())
                .expect("fixture decodes");
            sum
        })
    });
    group.bench_function("for_each_raw_then_parse", |b| {
        b.iter(|| {
            let mut sum = 0.0;
            binance::for_each_raw_mini_ticker(black_box(ARR), |t| {
                sum += t.parse().map(|m| m.close).unwrap_or(0.0)
            })
            .expect("fixture decodes");
            sum
        })
    });
    group.finish();
}

criterion_group!(benches, bench_decode);
criterion_main!(benches);
