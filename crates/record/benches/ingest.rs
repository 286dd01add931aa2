//! Ingest pipeline benchmark: frames as text -> decoded events -> Arrow-ready columns, against
//! decode-only on the same frames. Prints memory per buffered event.
//!
//! `cargo bench -p record --bench ingest`

use std::hint::black_box;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, Instant};

use binance::MiniTicker;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use record::Recorder;
use sim::market::NonAscii;

fn bench(c: &mut Criterion) {
    // 200 realistic frames (1,500 symbols, only changed tickers), as the recorder receives them.
    let (frames, events) = sim::market::sample_frames(42, 1500, 200);
    let dir = tempfile::tempdir().expect("temp dir");
    let mut group = c.benchmark_group("ingest");
    group.throughput(Throughput::Elements(events));
    group.measurement_time(Duration::from_secs(8));

    // Today's Binance: the same market, its UTF-8 symbols sent as `\uXXXX` escapes (a few
    // elements per frame take the escape path), and a worst case where every symbol is.
    let (escaped, escaped_events) =
        sim::market::sample_frames_with(42, 1500, 200, NonAscii::Escaped);
    assert_eq!(escaped_events, events, "same events, other spelling");
    let all_escaped: Vec<String> = frames.iter().map(|f| escape_every_symbol(f)).collect();
    let decoded = |f: &str| binance::decode(f).expect("valid frame");
    assert_eq!(
        decoded(&all_escaped[7]),
        decoded(&frames[7]),
        "same events, other spelling"
    );
    for (name, set) in [
        ("decode_only", &frames),
        ("decode_only_utf8_names_escaped", &escaped),
        ("decode_only_every_symbol_escaped", &all_escaped),
    ] {
        group.bench_function(name, |b| {
            let mut scratch: Vec<MiniTicker> = Vec::with_capacity(2000);
            b.iter(|| {
                for f in set {
                    scratch.clear();
                    binance::for_each_raw_mini_ticker(f, |raw| {
                        if let Ok(t) = raw.parse() {
                            scratch.push(t)
                        }
                    })
                    .expect("valid frame");
                    black_box(&scratch);
                }
            })
        });
    }

    group.bench_function("decode_and_buffer", |b| {
        b.iter_custom(|iters| {
            timed(iters, &frames, dir.path(), |rec, f| {
                rec.ingest_frame(f).expect("valid frame");
            })
        })
    });

    // The stream manager decodes with `decode_elements` (bad array elements skipped).
    group.bench_function("manager_path_decode_vec_then_buffer", |b| {
        b.iter_custom(|iters| {
            timed(iters, &frames, dir.path(), |rec, f| {
                if let Ok(binance::Decoded {
                    message: binance::Message::MiniTickers(t),
                    ..
                }) = binance::decode_elements(f)
                {
                    rec.ingest(&t);
                }
            })
        })
    });

    let mut cpu = CpuTimes::default();
    group.bench_function("recorder_path_dedup_journal_buffer", |b| {
        b.iter_custom(|iters| recorder_path(iters, &frames, None, &mut cpu.without))
    });

    // The same path with `recorder --publish`: every new event also handed to a
    // bus::Publisher on a local nats-server -js the bench starts itself. Publishing runs on
    // the runtime's thread, as in the recorder, at the same time as the timed ingest, and
    // nats-server stores every message: on this 2-core machine both compete with the
    // ingest thread for the CPU, which the wall time includes. The queue holds a whole
    // pass (the bench feeds ~150x Binance's rate), and after each pass, untimed, the bench
    // waits until every event is acknowledged: the publisher really publishes every event,
    // nothing is dropped.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let nats =
        sim::nats::NatsServer::start().expect("nats-server starts (apt-get install nats-server)");
    let bus_config = bus::BusConfig::from_url(&nats.url()).expect("url");
    let (publisher, publisher_task) = {
        let _enter = runtime.enter();
        bus::Publisher::start(bus_config, bus::StreamLimits::default(), 1 << 20)
    };
    let mut drained = Drained::default();
    group.bench_function("recorder_path_dedup_journal_buffer_publish", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                total += recorder_path(1, &frames, Some(&publisher), &mut cpu.with);
                let started = cpu.with.last_start.expect("one pass ran");
                drained.wait(&publisher, started);
            }
            total
        })
    });
    let stats = publisher.stats();
    drop(publisher);
    runtime.block_on(publisher_task.finish(Duration::from_secs(30)));
    println!(
        "publisher: {} of {} offered published, {} dropped, {} failed attempts",
        stats.published, stats.offered, stats.dropped, stats.failed_attempts
    );
    println!(
        "publisher: passes fully acknowledged {:.1} ms after their start on average ({:.0} K events/s through JetStream)",
        drained.mean_ms(),
        events as f64 / drained.mean_ms()
    );
    println!(
        "ingest thread CPU time per pass: {:.1} ms without, {:.1} ms with the publisher ({:.2}x)",
        cpu.without.mean_ms(),
        cpu.with.mean_ms(),
        cpu.with.mean_ms() / cpu.without.mean_ms()
    );
    // The same path with the Prometheus recorder installed (what `--metrics-addr` does):
    // the cost of the metrics, read against the first case in the same run.
    let metrics = ops::install().expect("first recorder of this process");
    record::metrics::describe();
    group.bench_function("recorder_path_dedup_journal_buffer_metrics_on", |b| {
        b.iter_custom(|iters| recorder_path(iters, &frames, None, &mut CpuTime::default()))
    });
    black_box(metrics.render().len());
    group.finish();

    let mut rec = Recorder::new(dir.path()).expect("recorder");
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

/// The recorder's ingest path (de-duplication, journal, buffer, and the bus when
/// `publisher` is given) over every frame, `iters` times.
fn recorder_path(
    iters: u64,
    frames: &[String],
    publisher: Option<&bus::Publisher>,
    cpu: &mut CpuTime,
) -> Duration {
    let journal_dir = tempfile::tempdir().expect("temp dir");
    let (mut rec, _) = Recorder::open(journal_dir.path(), chrono::Utc::now()).expect("open");
    if let Some(p) = publisher {
        rec.set_sink(Box::new(p.clone()));
    }
    // As the recorder: its decoder notes each element's span only for a sink.
    let decode = match publisher {
        Some(_) => binance::decode_elements_spanned,
        None => binance::decode_elements,
    };
    let mut total = Duration::ZERO;
    for pass in 0..iters {
        // Each pass replays the same market moved on in time, so nothing is a copy (and
        // message ids do not repeat); shifted outside the timed part, exact text kept.
        static PASSES: AtomicI64 = AtomicI64::new(1);
        let offset = PASSES.fetch_add(1, Ordering::Relaxed) * 1_000_000_000 + pass as i64;
        let shifted: Vec<String> = frames.iter().map(|f| shift(f, offset)).collect();
        let cpu_start = thread_cpu_ns();
        let start = Instant::now();
        for (n, f) in shifted.iter().enumerate() {
            if let Ok(binance::Decoded {
                message: binance::Message::MiniTickers(t),
                spans,
                ..
            }) = decode(f)
            {
                // Received when it happened: no skew, nothing quarantined.
                let received = t.first().map_or(n as i64, |t| t.event_time);
                rec.ingest_message(1, received, f, t, spans)
                    .expect("ingest");
            }
            rec.sync_journal().expect("sync");
        }
        total += start.elapsed();
        cpu.add(thread_cpu_ns() - cpu_start, start);
        black_box(rec.pending());
        rec.checkpoint(chrono::Utc::now()).expect("checkpoint");
    }
    total
}

/// The ingest thread's CPU time in the timed part of each pass, per case.
#[derive(Default)]
struct CpuTimes {
    without: CpuTime,
    with: CpuTime,
}

#[derive(Default)]
struct CpuTime {
    ns: u64,
    passes: u64,
    /// When the timed part of the last pass began.
    last_start: Option<Instant>,
}

impl CpuTime {
    fn add(&mut self, ns: u64, start: Instant) {
        self.ns += ns;
        self.passes += 1;
        self.last_start = Some(start);
    }

    fn mean_ms(&self) -> f64 {
        self.ns as f64 / self.passes.max(1) as f64 / 1e6
    }
}

/// CPU time of the calling thread so far, in ns (the first field of
/// `/proc/thread-self/schedstat`).
fn thread_cpu_ns() -> u64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .expect("/proc/thread-self/schedstat (Linux)")
}

/// How long after a pass's first event the publisher had every event of it acknowledged.
#[derive(Default)]
struct Drained {
    total: Duration,
    passes: u32,
}

impl Drained {
    fn wait(&mut self, publisher: &bus::Publisher, started: Instant) {
        while publisher.stats().outstanding() > 0 {
            std::thread::sleep(Duration::from_millis(1));
        }
        self.total += started.elapsed();
        self.passes += 1;
    }

    fn mean_ms(&self) -> f64 {
        self.total.as_secs_f64() * 1e3 / f64::from(self.passes.max(1))
    }
}

/// `frame` with every event time moved on by `offset` ms, decimal strings untouched.
fn shift(frame: &str, offset: i64) -> String {
    let mut out = String::with_capacity(frame.len() + 64);
    out.push('[');
    binance::for_each_raw_mini_ticker(frame, |mut t| {
        if out.len() > 1 {
            out.push(',');
        }
        t.event_time += offset;
        bus::payload::encode_ticker(&t, &mut out);
    })
    .expect("valid frame");
    out.push(']');
    out
}

/// `frame` with every `"s":"NAME"` written as `"s":"\u00NN…"` escapes (the same text).
fn escape_every_symbol(frame: &str) -> String {
    let mut out = String::with_capacity(frame.len() * 2);
    let mut rest = frame;
    while let Some(at) = rest.find(r#""s":""#) {
        let (head, tail) = rest.split_at(at + 5);
        out.push_str(head);
        let end = tail.find('"').expect("closed symbol");
        for unit in tail[..end].encode_utf16() {
            out.push_str(&format!("\\u{unit:04x}"));
        }
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
}

/// Times `ingest` over every frame into a recorder whose symbol table already knows the
/// market (steady state), `iters` times.
fn timed(
    iters: u64,
    frames: &[String],
    dir: &std::path::Path,
    mut ingest: impl FnMut(&mut Recorder, &str),
) -> Duration {
    let mut total = Duration::ZERO;
    for _ in 0..iters {
        let mut rec = Recorder::new(dir).expect("recorder");
        rec.ingest_frame(&frames[0]).expect("valid frame");
        let start = Instant::now();
        for f in frames {
            ingest(&mut rec, f);
        }
        total += start.elapsed();
        black_box(rec.pending());
    }
    total
}

criterion_group!(benches, bench);
criterion_main!(benches);
