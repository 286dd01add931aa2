//! The ingest bench's cases in a form that compiles against this tree and against the parent
//! of issue 9's first commit (c68e01f), so that `scripts/bench-ab.sh` can build both and run
//! them alternately in one session: only APIs both have (`for_each_raw_mini_ticker`,
//! `binance::decode`, `Recorder::{new, open, ingest_frame, sync_journal, checkpoint}`,
//! `sim::market::sample_frames`), and, for what changed (the recorder's decoder and
//! `Recorder::ingest_message`), the tree's own `ab_compat/new.rs` (see `compat`). A base
//! from before the venue crate's rename sees `stream::` for `binance::` (the script's
//! doing).
//!
//! `cargo bench -p record --bench ingest_ab` (alone it only prints the figures of this tree;
//! the ratios come from the script).
//!
//! With `INGEST_AB_COUNT=<case>` the executable runs that one case once, without criterion,
//! for an instruction count: `valgrind --tool=callgrind --toggle-collect='*counted*'`
//! counts exactly the work the case times (`scripts/bench-ab.sh` with `AB_COUNT=1`), a
//! figure that does not move with the machine's load.

use std::hint::black_box;
use std::time::{Duration, Instant};

use binance::MiniTicker;
use criterion::{criterion_group, Criterion, Throughput};
use record::Recorder;

/// What differs between the trees compared (the decoder's output, `ingest_message`'s
/// arguments): each tree's own `ab_compat/new.rs`; `scripts/bench-ab.sh` gives a base
/// that has none `ab_compat/old.rs`.
#[path = "ab_compat/new.rs"]
mod compat;

fn bench(c: &mut Criterion) {
    let frames = frames();
    let events: u64 = frames
        .iter()
        .map(|f| match binance::decode(f) {
            Ok(binance::Message::MiniTickers(t)) => t.len() as u64,
            other => panic!("not a valid frame: {other:?}"),
        })
        .sum();
    let dir = tempfile::tempdir().expect("temp dir");
    let mut group = c.benchmark_group("ingest_ab");
    group.throughput(Throughput::Elements(events));

    group.bench_function("decode_only", |b| {
        let mut scratch: Vec<MiniTicker> = Vec::with_capacity(2000);
        b.iter(|| decode_pass(&frames, &mut scratch))
    });

    group.bench_function("decode_and_buffer", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let mut rec = recorder(dir.path());
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

    // The recorder binary's path per frame: decode, de-duplicate, journal (and on this
    // tree write(2) at once), buffer, and a journal sync per frame (a frame is one second
    // of market); the checkpoint after each pass is not timed. The two cases after it take
    // the journal's parts away one at a time: the sync per frame (one sync at the end of
    // each pass instead), then the journal itself (`--no-journal`), which leaves the cost
    // of decoding, de-duplication and buffering on the recorder's own path.
    group.bench_function("recorder_path_dedup_journal_buffer", |b| {
        b.iter_custom(|iters| recorder_path(&frames, iters, Journal::SyncPerFrame))
    });
    group.bench_function("recorder_path_dedup_journal_buffer_sync_per_pass", |b| {
        b.iter_custom(|iters| recorder_path(&frames, iters, Journal::SyncPerPass))
    });
    group.bench_function("recorder_path_dedup_buffer_no_journal", |b| {
        b.iter_custom(|iters| recorder_path(&frames, iters, Journal::None))
    });
    group.finish();
}

/// 200 realistic frames (1,500 symbols, only changed tickers), no backslash in any: those of
/// the file `$INGEST_AB_FRAMES` (one per line) if it exists, else this tree's sample frames,
/// then written there (so the two trees of an A/B run read the same frames).
fn frames() -> Vec<String> {
    let file = std::env::var_os("INGEST_AB_FRAMES").map(std::path::PathBuf::from);
    if let Some(text) = file.as_ref().and_then(|f| std::fs::read_to_string(f).ok()) {
        return text.lines().map(str::to_owned).collect();
    }
    let (frames, _) = sim::market::sample_frames(42, 1500, 200);
    assert!(frames
        .iter()
        .all(|f| !f.contains('\\') && !f.contains('\n')));
    if let Some(file) = file {
        std::fs::write(&file, frames.join("\n")).expect("write the frames file");
    }
    frames
}

/// How the recorder path of a case journals.
#[derive(Clone, Copy, PartialEq)]
enum Journal {
    /// A journal, synced after every frame (the recorder binary: a frame is a second).
    SyncPerFrame,
    /// A journal, synced once at the end of each pass.
    SyncPerPass,
    /// No journal (`--no-journal`).
    None,
}

/// `iters` passes over `frames` through a fresh recorder, timed without the checkpoint
/// that ends each pass.
fn recorder_path(frames: &[String], iters: u64, journal: Journal) -> Duration {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut rec = match journal {
        Journal::None => recorder(dir.path()),
        _ => {
            Recorder::open(dir.path(), chrono::Utc::now())
                .expect("open")
                .0
        }
    };
    let mut total = Duration::ZERO;
    for pass in 1..=iters as i64 {
        let start = Instant::now();
        counted(|| {
            for f in frames {
                if let Some(mut decoded) = compat::decode(f) {
                    // Each pass replays the same market moved on in time, so nothing is
                    // a copy; received when it happened, so nothing is quarantined.
                    (decoded.tickers.iter_mut()).for_each(|t| t.event_time += pass * 1_000_000_000);
                    let received = decoded.tickers.first().map_or(0, |t| t.event_time);
                    compat::ingest_message(&mut rec, received, f, decoded);
                }
                if journal == Journal::SyncPerFrame {
                    rec.sync_journal().expect("sync");
                }
            }
            if journal == Journal::SyncPerPass {
                rec.sync_journal().expect("sync");
            }
        });
        total += start.elapsed();
        black_box(rec.pending());
        rec.checkpoint(chrono::Utc::now()).expect("checkpoint");
    }
    total
}

criterion_group!(benches, bench);

fn main() {
    if let Ok(case) = std::env::var("INGEST_AB_COUNT") {
        count(&case);
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}

/// Runs `case` once (two passes for the recorder path: the second without start-up
/// effects), its timed part inside [`counted`].
fn count(case: &str) {
    let frames = frames();
    let dir = tempfile::tempdir().expect("temp dir");
    match case {
        "decode_only" => {
            let mut scratch: Vec<MiniTicker> = Vec::with_capacity(2000);
            counted(|| decode_pass(&frames, &mut scratch));
        }
        "decode_and_buffer" => {
            let mut rec = recorder(dir.path());
            rec.ingest_frame(&frames[0]).expect("valid frame");
            counted(|| {
                for f in &frames {
                    rec.ingest_frame(f).expect("valid frame");
                }
            });
            black_box(rec.pending());
        }
        "recorder_path_dedup_journal_buffer" => {
            recorder_path(&frames, 2, Journal::SyncPerFrame);
        }
        "recorder_path_dedup_journal_buffer_sync_per_pass" => {
            recorder_path(&frames, 2, Journal::SyncPerPass);
        }
        "recorder_path_dedup_buffer_no_journal" => {
            recorder_path(&frames, 2, Journal::None);
        }
        other => panic!("unknown case {other}"),
    }
}

/// The `decode_only` case: every frame decoded into `scratch`, element by element.
fn decode_pass(frames: &[String], scratch: &mut Vec<MiniTicker>) {
    for f in frames {
        scratch.clear();
        binance::for_each_raw_mini_ticker(f, |raw| {
            if let Ok(t) = raw.parse() {
                scratch.push(t)
            }
        })
        .expect("valid frame");
        black_box(&scratch);
    }
}

/// The work an instruction count measures (see the module docs); never inlined, so that
/// callgrind can toggle on its name.
#[inline(never)]
fn counted<T>(work: impl FnOnce() -> T) -> T {
    black_box(work())
}

/// `Recorder::new` of either tree: the base returns the recorder, newer trees a `Result`
/// (it takes the directory's lock).
fn recorder(dir: &std::path::Path) -> Recorder {
    trait IntoRecorder {
        fn into_recorder(self) -> Recorder;
    }
    impl IntoRecorder for Recorder {
        fn into_recorder(self) -> Recorder {
            self
        }
    }
    impl<E: std::fmt::Debug> IntoRecorder for Result<Recorder, E> {
        fn into_recorder(self) -> Recorder {
            self.expect("recorder")
        }
    }
    Recorder::new(dir).into_recorder()
}
