//! Journal overhead: the ingest pipeline (frame text -> decoded events -> columns) with and
//! without the write-ahead journal in front of it, on the same realistic frames, with one
//! journal sync per frame (each `!miniTicker@arr` frame is one second of market) and a
//! rotation + removal per batch of 200 frames (a checkpoint). Issue 5's target: the journal
//! costs at most 25% of ingest throughput.
//!
//! `cargo bench -p record --bench journal`

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use record::journal::JournalWriter;
use record::Recorder;

/// Times ingesting every frame `iters` times into a warmed-up recorder; `journal` runs
/// before each frame's ingest, `checkpoint` after each pass (untimed).
fn run(
    iters: u64,
    frames: &[String],
    data: &std::path::Path,
    mut journal: impl FnMut(usize, &str),
    mut checkpoint: impl FnMut(),
) -> Duration {
    let mut total = Duration::ZERO;
    for _ in 0..iters {
        let mut rec = Recorder::new(data).expect("recorder");
        rec.ingest_frame(&frames[0]).expect("valid frame");
        let start = Instant::now();
        for (i, f) in frames.iter().enumerate() {
            journal(i, f);
            rec.ingest_frame(f).expect("valid frame");
        }
        total += start.elapsed();
        black_box(rec.pending());
        checkpoint();
    }
    total
}

fn bench(c: &mut Criterion) {
    // 200 `!miniTicker@arr` frames of the simulator's market, one per simulated second.
    let (frames, events) = sim::market::sample_frames(42, 1500, 200);
    let bytes: usize = frames.iter().map(String::len).sum();
    // On the target disk, not a tmpfs: fdatasync must cost what it costs.
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("temp dir");
    let data = dir.path().join("data");
    let mut group = c.benchmark_group("journal");
    group.throughput(Throughput::Elements(events));
    group.measurement_time(Duration::from_secs(8));

    group.bench_function("ingest_without_journal", |b| {
        b.iter_custom(|iters| run(iters, &frames, &data, |_, _| {}, || {}))
    });

    let (journal, _) = JournalWriter::open(dir.path().join("_journal")).expect("journal");
    let journal = std::cell::RefCell::new(journal);
    group.bench_function("ingest_with_journal_sync_per_frame", |b| {
        b.iter_custom(|iters| {
            let append = |i: usize, f: &str| {
                let mut j = journal.borrow_mut();
                j.append(1, i as i64, f).expect("append");
                j.sync().expect("sync");
            };
            let checkpoint = || {
                let mut j = journal.borrow_mut();
                let closed = j.rotate().expect("rotate");
                j.remove(closed).expect("remove");
            };
            run(iters, &frames, &data, append, checkpoint)
        })
    });

    // The same without the fdatasync requests: what the ingest thread's own write costs.
    group.bench_function("ingest_with_journal_write_per_frame_no_sync", |b| {
        b.iter_custom(|iters| {
            let append = |i: usize, f: &str| {
                journal.borrow_mut().append(1, i as i64, f).expect("append");
            };
            let checkpoint = || {
                let mut j = journal.borrow_mut();
                j.sync_now().expect("sync");
                let closed = j.rotate().expect("rotate");
                j.remove(closed).expect("remove");
            };
            run(iters, &frames, &data, append, checkpoint)
        })
    });

    // The journal alone: appends without any fdatasync (page cache only), then with a sync
    // request per frame.
    for (name, sync) in [
        ("journal_append_only", false),
        ("journal_append_and_sync_only", true),
    ] {
        group.bench_function(name, |b| {
            b.iter_custom(|iters| {
                let mut j = journal.borrow_mut();
                let start = Instant::now();
                for _ in 0..iters {
                    for (i, f) in frames.iter().enumerate() {
                        j.append(1, i as i64, f).expect("append");
                        if sync {
                            j.sync().expect("sync");
                        }
                    }
                }
                let took = start.elapsed();
                j.sync_now().expect("sync");
                let closed = j.rotate().expect("rotate");
                j.remove(closed).expect("remove");
                took
            })
        });
    }
    group.finish();

    let mut j = journal.borrow_mut();
    let start = Instant::now();
    for (i, f) in frames.iter().enumerate() {
        j.append(1, i as i64, f).expect("append");
    }
    j.sync_now().expect("sync");
    println!(
        "journal: {events} events, {bytes} frame bytes (+{} header bytes) written and fdatasynced in {:.1} ms",
        28 * frames.len(),
        start.elapsed().as_secs_f64() * 1e3
    );
}

criterion_group!(benches, bench);
criterion_main!(benches);
