//! One recorder checkpoint (45,000 realistic events: a minute of the whole market, see
//! `common/synth.rs`) to a local S3-compatible server against the same checkpoint to local
//! disk, in one run:
//!
//! * `checkpoint_45k/local_disk`: [`DatasetWriter::write_checkpoint`] (Parquet, fsync,
//!   no-clobber link, directory fsync);
//! * `checkpoint_45k/s3_moto`: the same rows encoded with the same [`writer_properties`]
//!   and uploaded whole with a create-only put (`If-None-Match: *`) to `moto_server`
//!   (`sim::s3::S3Server`) on 127.0.0.1, through the bounded-retry client of
//!   [`S3Config::build`].
//!
//! And on a compacted day (1M events of one date in one file, sorted by symbol, with the
//! writer's row groups), `read_day/whole_day` ([`read_dataset`]) against
//! `read_day/one_symbol` ([`read_symbol`], which skips the row groups whose statistics
//! cannot hold the symbol).
//!
//! Prints the bytes each one stores. moto is a Python server: its time is an upper bound
//! of the client's cost, not a forecast for AWS (whose latency is the network's).
//!
//! `cargo bench -p store --features ticks --bench s3_checkpoint`

#[path = "common/synth.rs"]
mod synth;

use std::sync::Arc;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use object_store::path::Path;
use object_store::{ObjectStore, PutMode, PutOptions};
use parquet::arrow::ArrowWriter;
use store::ticks::location::S3Config;
use store::ticks::{
    list_files, read_dataset, read_symbol, writer_properties, DatasetWriter, TickBuffer,
};

const EVENTS: usize = 45_000;
const START_MS: i64 = 1_704_067_200_000; // 2024-01-01T00:00:00Z

fn now() -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp(1_704_070_000, 0).expect("valid timestamp")
}

/// The checkpoint's objects: one Parquet file per date, as the disk writer makes them.
fn encode(buf: &TickBuffer) -> Vec<(String, Vec<u8>)> {
    let batches = buf.to_batches().expect("batches");
    batches
        .into_iter()
        .map(|(date, batch)| {
            let mut out = Vec::new();
            let mut writer =
                ArrowWriter::try_new(&mut out, batch.schema(), Some(writer_properties()))
                    .expect("parquet writer");
            writer.write(&batch).expect("write");
            writer.close().expect("close");
            (format!("date={date}"), out)
        })
        .collect()
}

/// Uploads one checkpoint under a fresh name (create-only: never replaces).
async fn upload(store: &Arc<dyn ObjectStore>, buf: &TickBuffer, seq: u64) -> u64 {
    let mut bytes = 0;
    for (partition, data) in encode(buf) {
        bytes += data.len() as u64;
        let key = Path::from(format!(
            "bench/{partition}/miniticker_20240101_004640_{seq}.parquet"
        ));
        store
            .put_opts(&key, data.into(), PutOptions::from(PutMode::Create))
            .await
            .expect("create-only put");
    }
    bytes
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
    let rt = tokio::runtime::Runtime::new().expect("runtime");

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
    let uploaded = rt.block_on(upload(&store, &buf, 0));
    let listed: u64 = rt.block_on(async {
        use futures::TryStreamExt;
        let metas: Vec<_> = store
            .list(Some(&Path::from("bench")))
            .try_collect()
            .await
            .expect("list");
        metas.iter().map(|m| m.size).sum()
    });
    println!(
        "checkpoint of {EVENTS} events: local disk {disk} bytes ({:.2} B/event), \
         S3 {uploaded} bytes uploaded, {listed} bytes listed ({:.2} B/event)",
        disk as f64 / EVENTS as f64,
        listed as f64 / EVENTS as f64
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
    let mut seq = 1;
    group.bench_function("s3_moto", |b| {
        b.iter(|| {
            seq += 1;
            rt.block_on(upload(&store, &buf, seq))
        })
    });
    group.finish();

    // A compacted day: one file for the date.
    let day_events = synth.events(1_000_000); // the next ~22 minutes of the same day
    let mut day = TickBuffer::new();
    synth::push_all(&mut day, &names, &day_events);
    let day_dir = tempfile::tempdir().expect("tempdir");
    DatasetWriter::new(day_dir.path())
        .write_checkpoint(&day, now())
        .expect("day");
    let symbol = &names[names.len() / 2];
    let rows = |batches: Vec<arrow_array::RecordBatch>| {
        batches.iter().map(|b| b.num_rows()).sum::<usize>()
    };
    println!(
        "compacted day: {} files, {} rows; {symbol}: {} rows",
        list_files(day_dir.path()).expect("list").len(),
        rows(read_dataset(day_dir.path()).expect("read")),
        rows(read_symbol(day_dir.path(), symbol).expect("read symbol"))
    );
    let mut group = c.benchmark_group("read_day");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(8));
    group.bench_function("whole_day", |b| {
        b.iter(|| rows(read_dataset(day_dir.path()).expect("read")))
    });
    group.bench_function("one_symbol", |b| {
        b.iter(|| rows(read_symbol(day_dir.path(), symbol).expect("read symbol")))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
