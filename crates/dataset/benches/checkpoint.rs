//! Tick store throughput and size on 1M realistic synthetic events (1,500 symbols, about half
//! of them changing each second; see `common/synth.rs`):
//!
//! * `push`: events/s into a [`TickBuffer`] (cleared and refilled each iteration);
//! * `to_batches`: splitting by date and sorting by (symbol, event_time);
//! * `checkpoint`: a whole [`DatasetWriter::write_checkpoint`] (batches, Parquet, fsync, link);
//! * `read_dataset`: reading the files back.
//!
//! Also prints bytes/event on disk (one 1M-event file, and 45k-event one-minute files as
//! the recorder writes them) and bytes/event of buffer memory.
//!
//! `cargo bench -p dataset --bench checkpoint`

#[path = "common/synth.rs"]
mod synth;

use std::hint::black_box;
use std::path::Path;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use dataset::{list_files, read_dataset, DatasetWriter, TickBuffer};

const EVENTS: usize = 1_000_000;
const START_MS: i64 = 1_704_067_200_000; // 2024-01-01T00:00:00Z

fn now() -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp(1_704_070_000, 0).expect("valid timestamp")
}

fn dataset_bytes(root: &Path) -> u64 {
    let files = list_files(root).expect("list files");
    files
        .iter()
        .map(|p| std::fs::metadata(p).expect("stat").len())
        .sum()
}

fn report_sizes(names: &[String], events: &[synth::Event], buf: &TickBuffer) {
    println!(
        "memory: {} bytes for {} buffered events = {:.2} bytes/event",
        buf.memory_bytes(),
        buf.len(),
        buf.memory_bytes() as f64 / buf.len() as f64
    );
    let dir = tempfile::tempdir().expect("tempdir");
    DatasetWriter::new(dir.path())
        .write_checkpoint(buf, now())
        .expect("checkpoint");
    let bytes = dataset_bytes(dir.path());
    println!(
        "disk, one file of {} events: {bytes} bytes = {:.2} bytes/event",
        buf.len(),
        bytes as f64 / buf.len() as f64
    );
    // The recorder's shape: one file per minute (~45k events with 1,500 symbols).
    let dir = tempfile::tempdir().expect("tempdir");
    let mut writer = DatasetWriter::new(dir.path());
    let mut minute = TickBuffer::new();
    for chunk in events.chunks(45_000) {
        synth::push_all(&mut minute, names, chunk);
        writer.write_checkpoint(&minute, now()).expect("checkpoint");
        minute.clear();
    }
    let bytes = dataset_bytes(dir.path());
    println!(
        "disk, {} files of 45,000 events: {bytes} bytes = {:.2} bytes/event",
        list_files(dir.path()).expect("list").len(),
        bytes as f64 / events.len() as f64
    );
}

fn bench(c: &mut Criterion) {
    let mut synth = synth::Synth::new(1500, START_MS, 42);
    let names = synth.names();
    let events = synth.events(EVENTS);
    let mut buf = TickBuffer::new();
    synth::push_all(&mut buf, &names, &events);
    report_sizes(&names, &events, &buf);

    let mut group = c.benchmark_group("ticks_1M");
    group.throughput(Throughput::Elements(EVENTS as u64));
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(8));

    let mut scratch = TickBuffer::new();
    group.bench_function("push", |b| {
        b.iter(|| {
            scratch.clear();
            synth::push_all(&mut scratch, &names, black_box(&events));
            scratch.len()
        })
    });
    group.bench_function("to_batches", |b| {
        b.iter(|| buf.to_batches().expect("batches").len())
    });
    group.bench_function("checkpoint", |b| {
        b.iter_batched(
            || tempfile::tempdir().expect("tempdir"),
            |dir| {
                let files = DatasetWriter::new(dir.path()).write_checkpoint(&buf, now());
                black_box(files.expect("checkpoint"));
                dir // dropped (deleted) outside the timed section
            },
            BatchSize::PerIteration,
        )
    });
    let dir = tempfile::tempdir().expect("tempdir");
    DatasetWriter::new(dir.path())
        .write_checkpoint(&buf, now())
        .expect("checkpoint");
    group.bench_function("read_dataset", |b| {
        b.iter(|| read_dataset(dir.path()).expect("read").len())
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
