//! Ingest pipeline benchmark: frames as text -> decoded events -> Arrow-ready columns, against
//! decode-only on the same frames. Prints memory per buffered event.
//!
//! `cargo bench -p record --bench ingest`

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use record::Recorder;
use stream::MiniTicker;

/// 200 realistic `!miniTicker@arr` frames from the simulator's market (1,500 symbols, only
/// changed tickers per frame), as the recorder receives them.
fn frames() -> (Vec<String>, u64) {
    let mut market = sim::market::Market::new(42, 1500);
    let mut now = 1_700_000_000_000i64;
    let mut frames = Vec::new();
    let mut events = 0u64;
    for _ in 0..200 {
        now += 1000;
        let tickers = market.tick(now);
        events += tickers.len() as u64;
        frames.push(sim::market::Market::frame_json(&tickers));
    }
    (frames, events)
}

fn bench(c: &mut Criterion) {
    let (frames, events) = frames();
    let dir = tempfile::tempdir().expect("temp dir");
    let mut group = c.benchmark_group("ingest");
    group.throughput(Throughput::Elements(events));
    group.measurement_time(Duration::from_secs(8));

    group.bench_function("decode_only", |b| {
        let mut scratch: Vec<MiniTicker> = Vec::with_capacity(2000);
        b.iter(|| {
            for f in &frames {
                scratch.clear();
                stream::for_each_raw_mini_ticker(f, |raw| {
                    if let Ok(t) = raw.parse() {
                        scratch.push(t)
                    }
                })
                .expect("valid frame");
                black_box(&scratch);
            }
        })
    });

    group.bench_function("decode_and_buffer", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                // Steady state: the symbol interner already knows the market.
                let mut rec = Recorder::new(dir.path());
                rec.ingest_frame(&frames[0]).expect("valid frame");
                let start = Instant::now();
                for f in &frames {
                    rec.ingest_frame(f).expect("valid frame");
                }
                total += start.elapsed();
                black_box(rec.pending());
            }
            total
        })
    });

    group.bench_function("manager_path_decode_vec_then_buffer", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let mut rec = Recorder::new(dir.path());
                rec.ingest_frame(&frames[0]).expect("valid frame");
                let start = Instant::now();
                for f in &frames {
                    if let Ok(stream::Message::MiniTickers(t)) = stream::decode(f) {
                        rec.ingest(&t);
                    }
                }
                total += start.elapsed();
                black_box(rec.pending());
            }
            total
        })
    });
    group.finish();

    let mut rec = Recorder::new(dir.path());
    for f in &frames {
        rec.ingest_frame(f).expect("valid frame");
    }
    println!(
        "memory: {} events buffered in {} bytes = {:.1} bytes/event",
        rec.pending(),
        rec.memory_bytes(),
        rec.memory_bytes() as f64 / rec.pending() as f64
    );
    let start = Instant::now();
    let files = rec.checkpoint(chrono::Utc::now()).expect("checkpoint");
    let took = start.elapsed();
    let bytes: u64 = files
        .iter()
        .map(|f| std::fs::metadata(f).map(|m| m.len()).unwrap_or(0))
        .sum();
    println!(
        "checkpoint: {events} events in {:.1} ms = {:.2} M events/s, {bytes} bytes on disk = {:.1} bytes/event",
        took.as_secs_f64() * 1e3,
        events as f64 / took.as_secs_f64() / 1e6,
        bytes as f64 / events as f64
    );
}

criterion_group!(benches, bench);
criterion_main!(benches);
