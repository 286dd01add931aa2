//! One recorder checkpoint (45,000 realistic events: a minute of the whole market, see
//! `common/synth.rs`) to a local S3-compatible server against the same checkpoint to local
//! disk, in one run:
//!
//! * `checkpoint_45k/local_disk`: [`DatasetWriter::write_checkpoint`] (Parquet, fsync,
//!   no-clobber link, directory fsync);
//! * `checkpoint_45k/s3_moto`: the same call on a [`Dataset::object`] over `moto_server`
//!   (`sim::s3::S3Server`) on 127.0.0.1, through the client of [`S3Config::build`]: the
//!   file is spooled locally, then uploaded whole with a create-only put
//!   (`If-None-Match: *`).
//!
//! And on a compacted day (1M events of one date in one file, sorted by symbol, with the
//! writer's row groups), local and on S3: `read_day/*_whole_day` ([`Dataset::read_all`])
//! against `read_day/*_one_symbol` ([`Dataset::read`] with [`Query::symbol`], which skips
//! the row groups whose statistics cannot hold the symbol; the counts are printed).
//!
//! Prints the bytes each one stores. moto is a Python server: its time is an upper bound
//! of the client's cost, not a forecast for AWS (whose latency is the network's).
//!
//! `cargo bench -p dataset --bench s3_checkpoint`

#[path = "common/synth.rs"]
mod synth;

use std::time::Duration;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use dataset::location::S3Config;
use dataset::{list_files, Dataset, DatasetWriter, Query, TickBuffer};

const EVENTS: usize = 45_000;
const START_MS: i64 = 1_704_067_200_000; // 2024-01-01T00:00:00Z

fn now() -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp(1_704_070_000, 0).expect("valid timestamp")
}

fn bytes_of(dataset: &Dataset) -> (usize, u64) {
    let mut files = 0;
    let mut bytes = 0;
    for partition in dataset.partitions().expect("partitions") {
        for f in dataset.files(&partition).expect("files") {
            files += 1;
            bytes += f.size;
        }
    }
    (files, bytes)
}

fn rows(batches: &[arrow_array::RecordBatch]) -> usize {
    batches.iter().map(|b| b.num_rows()).sum()
}

fn bench(c: &mut Criterion) {
    let mut synth = synth::Synth::new(1500, START_MS, 42);
    let names = synth.names();
    let events = synth.events(EVENTS);
    let mut buf = TickBuffer::new();
    synth::push_all(&mut buf, &names, &events);

    let s3 = sim::s3::S3Server::start().expect("S3 test server (run scripts/setup-test-env.sh)");
    let config = S3Config::from_vars(s3.bucket(), |name| s3.var(name)).expect("config");
    let store = config.build().expect("store");
    let spool = tempfile::tempdir().expect("spool");
    let on_s3 = |prefix: &str| {
        Dataset::object(store.clone(), prefix, s3.url(prefix)).with_spool(spool.path())
    };

    // Sizes, once.
    let dir = tempfile::tempdir().expect("tempdir");
    DatasetWriter::new(dir.path())
        .write_checkpoint(&buf, now())
        .expect("checkpoint");
    let disk: u64 = list_files(dir.path())
        .expect("list")
        .iter()
        .map(|p| std::fs::metadata(p).expect("stat").len())
        .sum();
    let sized = on_s3("size");
    DatasetWriter::for_dataset(sized.clone())
        .write_checkpoint(&buf, now())
        .expect("upload");
    let (objects, uploaded) = bytes_of(&sized);
    println!(
        "checkpoint of {EVENTS} events: local disk {disk} bytes ({:.2} B/event); \
         S3 {objects} object(s), {uploaded} bytes ({:.2} B/event)",
        disk as f64 / EVENTS as f64,
        uploaded as f64 / EVENTS as f64
    );

    let mut group = c.benchmark_group("checkpoint_45k");
    group.throughput(Throughput::Elements(EVENTS as u64));
    group.sample_size(20);
    group.measurement_time(Duration::from_secs(10));
    group.bench_function("local_disk", |b| {
        b.iter_batched(
            || tempfile::tempdir().expect("tempdir"),
            |dir| {
                DatasetWriter::new(dir.path())
                    .write_checkpoint(&buf, now())
                    .expect("checkpoint");
                dir // deleted outside the timed section
            },
            BatchSize::PerIteration,
        )
    });
    // One dataset: every iteration is a new checkpoint (a new, create-only name).
    let mut writer = DatasetWriter::for_dataset(on_s3("bench"));
    group.bench_function("s3_moto", |b| {
        b.iter(|| writer.write_checkpoint(&buf, now()).expect("upload").len())
    });
    group.finish();

    // A compacted day: one file for the date, locally and on S3.
    let day_events = synth.events(1_000_000); // the next ~22 minutes of the same day
    let mut day = TickBuffer::new();
    synth::push_all(&mut day, &names, &day_events);
    let day_dir = tempfile::tempdir().expect("tempdir");
    let local_day = Dataset::local(day_dir.path());
    let s3_day = on_s3("day");
    for dataset in [&local_day, &s3_day] {
        DatasetWriter::for_dataset(dataset.clone())
            .write_checkpoint(&day, now())
            .expect("day");
    }
    let symbol = names[names.len() / 2].clone();
    let one = Query::all().symbol(&symbol);
    let (whole, _) = local_day.read(&Query::all()).expect("read");
    let (picked, stats) = local_day.read(&one).expect("read symbol");
    println!(
        "compacted day: {:?} files/bytes, {} rows; {symbol}: {} rows, {stats:?}",
        bytes_of(&local_day),
        rows(&whole),
        rows(&picked)
    );
    let mut group = c.benchmark_group("read_day");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(8));
    for (name, dataset) in [("local", &local_day), ("s3", &s3_day)] {
        group.bench_function(format!("{name}_whole_day"), |b| {
            b.iter(|| rows(&dataset.read_all().expect("read")))
        });
        group.bench_function(format!("{name}_one_symbol"), |b| {
            b.iter(|| rows(&dataset.read(&one).expect("read symbol").0))
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
