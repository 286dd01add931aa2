//! Hourly compaction: the checkpoint files ("parts") of a closed hour merged into one file
//! by [`compact_closed_hours_with`] (the streaming k-way merge), in three shapes: the
//! default one-minute checkpoints (60 parts) with two sizes of part, and 10-second
//! checkpoints (360 parts, more than [`MERGE_FAN_IN`], so merged in two passes), the last
//! also in one pass of 360 inputs (no fan-in limit) for comparison.
//!
//! The parts are written as the recorder writes them: the simulator's market of 1,500
//! symbols, its `!miniTicker@arr` frames decoded by [`Recorder::ingest_frame`] and one
//! [`Recorder::checkpoint`] per part; the market ticks as often as needed for a part to
//! hold about the rows asked (the real market gives ~45,000 a minute).
//!
//! Each compaction runs in a fresh process (this binary again, with `--compact-child DIR`),
//! so that its peak RSS is its own: `VmHWM` of `/proc/self/status` cannot be reset, and the
//! parent's high-water mark includes generating the data. The parent checks that the merged
//! dataset is one file with exactly the rows of the parts (count and sum of event times),
//! and panics otherwise, so a broken run reports nothing. One run; prints a Markdown table.
//!
//! `cargo bench -p record --bench compact`

use std::collections::HashMap;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use arrow_array::TimestampMillisecondArray;
use chrono::{DateTime, Utc};
use dataset::{compact_closed_hours_with, Dataset, MergeLimits, MERGE_BATCH_ROWS, MERGE_FAN_IN};
use dataset::{list_files, stream_file};
use record::Recorder;
use sim::market::Market;

/// Argument that makes this binary compact the dataset directory that follows it.
const CHILD_ARG: &str = "--compact-child";
const SEED: u64 = 42;
const SYMBOLS: usize = 1500;
/// (parts in the hour, rows per part: approximately, parts hold whole frames, fan-in) of
/// the runs.
const SHAPES: [(i64, usize, usize); 4] = [
    (60, 20_000, MERGE_FAN_IN),
    (60, 80_000, MERGE_FAN_IN),
    (360, 3_333, MERGE_FAN_IN),
    (360, 3_333, usize::MAX),
];
/// 2024-03-01T10:00:00Z, the hour that is compacted.
const HOUR_MS: i64 = 1_709_287_200_000;
const MINUTE_MS: i64 = 60_000;
const HOUR_LEN_MS: i64 = 3_600_000;
/// Bytes per row of the tick columns decoded: i32 symbol key, i64 time, six f64.
const ROW_BYTES: u64 = 4 + 8 + 6 * 8;

fn at(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).expect("valid timestamp")
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == CHILD_ARG) {
        let dir = args
            .get(i + 1)
            .expect("a dataset directory after --compact-child");
        let fan_in = args
            .get(i + 2)
            .and_then(|f| f.parse().ok())
            .expect("a fan-in after the directory");
        compact_child(Path::new(dir), fan_in);
        return;
    }
    let per_tick = events_per_tick();
    let mut results = Vec::new();
    for (parts, rows_per_part, fan_in) in SHAPES {
        // On the target disk, not a tmpfs: the fsyncs must cost what they cost.
        let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("temp dir");
        let ticks = (rows_per_part as f64 / per_tick).round().max(1.0) as i64;
        let built = build(dir.path(), parts, ticks);
        let result = compact(dir.path(), parts, rows_per_part, fan_in, built);
        eprintln!("{parts} parts × {} rows: done", sep(rows_per_part as u64));
        results.push(result);
    }
    print_table(&results);
}

/// Mean events per tick of the market (60 ticks, one a second), to size the parts.
fn events_per_tick() -> f64 {
    let mut market = Market::new(SEED, SYMBOLS);
    let events: usize = (0..60).map(|i| market.tick(HOUR_MS + i * 1000).len()).sum();
    events as f64 / 60.0
}

/// What [`build`] wrote.
struct Built {
    rows: u64,
    /// Time spent in the checkpoints.
    checkpoint: Duration,
}

/// Writes the hour's `parts` into `out`: per part, `ticks` evenly spaced market ticks
/// decoded into a recorder, then one checkpoint stamped a second before the part's end.
fn build(out: &Path, parts: i64, ticks: i64) -> Built {
    let mut market = Market::new(SEED, SYMBOLS);
    let mut rec = Recorder::new(out).expect("recorder");
    let part_ms = HOUR_LEN_MS / parts;
    let step = part_ms / ticks;
    let mut built = Built {
        rows: 0,
        checkpoint: Duration::ZERO,
    };
    for part in 0..parts {
        let start_ms = HOUR_MS + part * part_ms;
        for k in 0..ticks {
            let frame = Market::frame_json(&market.tick(start_ms + k * step));
            rec.ingest_frame(&frame).expect("a simulator frame decodes");
        }
        built.rows += rec.pending() as u64;
        let start = Instant::now();
        let files = rec
            .checkpoint(at(start_ms + part_ms - 1000))
            .expect("checkpoint");
        built.checkpoint += start.elapsed();
        assert_eq!(files.len(), 1, "a part spans one date");
    }
    built
}

/// The figures of one size.
struct Run {
    parts: i64,
    rows_per_part: usize,
    fan_in: usize,
    rows: u64,
    checkpoint: Duration,
    took: Duration,
    peak_buffered_rows: u64,
    merge_passes: u64,
    rss_before_kb: u64,
    hwm_before_kb: u64,
    hwm_after_kb: u64,
    files_before: usize,
    files_after: usize,
    bytes_before: u64,
    bytes_after: u64,
}

/// Compacts `out` in a child process and checks the result against the parts.
fn compact(out: &Path, n_parts: i64, rows_per_part: usize, fan_in: usize, built: Built) -> Run {
    let parts = list_files(out).expect("list parts");
    let bytes_before = bytes(&parts);
    let (rows, times) = scan(&parts);
    assert_eq!(rows, built.rows, "rows in the parts");
    assert_eq!(parts.len(), n_parts as usize, "one file per checkpoint");

    let exe = std::env::current_exe().expect("path of this bench binary");
    let output = Command::new(exe)
        .arg(CHILD_ARG)
        .arg(out)
        .arg(fan_in.to_string())
        .output()
        .expect("run the compaction process");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "compaction process failed: {}\n{stdout}{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    let fields: HashMap<&str, &str> = stdout
        .split_whitespace()
        .filter_map(|kv| kv.split_once('='))
        .collect();
    let field = |key: &str| -> u64 {
        let value = fields
            .get(key)
            .unwrap_or_else(|| panic!("{key} in {stdout}"));
        value.parse().unwrap_or_else(|_| panic!("{key}={value}"))
    };

    let merged = list_files(out).expect("list merged");
    let (rows_after, times_after) = scan(&merged);
    assert_eq!((rows_after, times_after), (rows, times), "merged rows");
    assert_eq!(field("rows"), rows, "rows reported merged");
    assert_eq!(field("merged"), 1, "merged files reported");
    assert_eq!(field("parts_removed"), parts.len() as u64, "parts removed");
    assert_eq!(merged.len(), 1, "one file for the hour: {merged:?}");
    Run {
        parts: n_parts,
        rows_per_part,
        fan_in,
        rows,
        checkpoint: built.checkpoint,
        took: Duration::from_nanos(field("nanos")),
        peak_buffered_rows: field("peak_buffered_rows"),
        merge_passes: field("merge_passes"),
        rss_before_kb: field("rss_before_kb"),
        hwm_before_kb: field("hwm_before_kb"),
        hwm_after_kb: field("hwm_after_kb"),
        files_before: parts.len(),
        files_after: merged.len(),
        bytes_before,
        bytes_after: bytes(&merged),
    }
}

/// The child: compacts the hour of `out` and prints `key=value` figures for the parent.
fn compact_child(out: &Path, fan_in: usize) {
    let rss_before_kb = status_kb("VmRSS");
    let hwm_before_kb = status_kb("VmHWM");
    let start = Instant::now();
    let now = at(HOUR_MS + 2 * 60 * MINUTE_MS);
    let limits = MergeLimits {
        batch_rows: MERGE_BATCH_ROWS,
        fan_in,
    };
    let report = compact_closed_hours_with(
        &Dataset::local(out),
        now,
        Duration::from_secs(60),
        None,
        limits,
    )
    .expect("compaction");
    let nanos = start.elapsed().as_nanos();
    let hwm_after_kb = status_kb("VmHWM");
    println!(
        "rows={} merged={} parts_removed={} peak_buffered_rows={} merge_passes={} nanos={nanos} \
         rss_before_kb={rss_before_kb} hwm_before_kb={hwm_before_kb} hwm_after_kb={hwm_after_kb}",
        report.rows,
        report.merged.len(),
        report.parts_removed,
        report.peak_buffered_rows,
        report.merge_passes,
    );
}

/// A `kB` line of `/proc/self/status` (Linux).
fn status_kb(key: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    status
        .lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix(':'))
        .and_then(|v| v.trim().strip_suffix("kB")?.trim().parse().ok())
        .unwrap_or_else(|| panic!("{key} in /proc/self/status"))
}

/// Rows of `files`, decoded, and the wrapping sum of their event times.
fn scan(files: &[std::path::PathBuf]) -> (u64, i64) {
    let (mut rows, mut times) = (0u64, 0i64);
    for path in files {
        for batch in stream_file(path, MERGE_BATCH_ROWS).expect("open file") {
            let batch = batch.expect("decode batch");
            let column = batch.column(1).as_any();
            let time = column
                .downcast_ref::<TimestampMillisecondArray>()
                .expect("event_time column");
            rows += batch.num_rows() as u64;
            times = time.values().iter().fold(times, |s, t| s.wrapping_add(*t));
        }
    }
    (rows, times)
}

fn bytes(files: &[std::path::PathBuf]) -> u64 {
    let len = |p| std::fs::metadata(p).expect("stat").len();
    files.iter().map(len).sum()
}

fn print_table(runs: &[Run]) {
    let mb = |b: u64| b as f64 / 1e6;
    let row = |label: &str, cell: &dyn Fn(&Run) -> String| {
        let cells: Vec<String> = runs.iter().map(cell).collect();
        println!("| {label} | {} |", cells.join(" | "));
    };
    let heads: Vec<String> = runs
        .iter()
        .map(|r| {
            let fan_in = match r.fan_in {
                usize::MAX => "no fan-in limit".to_owned(),
                f => format!("fan-in {f}"),
            };
            format!(
                "{} parts × ~{} rows, {fan_in}",
                r.parts,
                sep(r.rows_per_part as u64)
            )
        })
        .collect();
    println!();
    println!("| | {} |", heads.join(" | "));
    println!("|---|{}", "---|".repeat(runs.len()));
    row("rows merged", &|r| sep(r.rows));
    row("compaction time", &|r| {
        format!("{:.2} s", r.took.as_secs_f64())
    });
    row("compaction rows/s", &|r| {
        format!("{:.2} M", r.rows as f64 / r.took.as_secs_f64() / 1e6)
    });
    row("merge passes", &|r| r.merge_passes.to_string());
    row("writing the parts (checkpoints) rows/s", &|r| {
        format!("{:.2} M", r.rows as f64 / r.checkpoint.as_secs_f64() / 1e6)
    });
    row("compaction time / checkpoint time", &|r| {
        format!("{:.2}×", r.took.as_secs_f64() / r.checkpoint.as_secs_f64())
    });
    row("`peak_buffered_rows`", &|r| sep(r.peak_buffered_rows));
    row("`peak_buffered_rows` / rows merged", &|r| {
        format!(
            "{:.1} %",
            100.0 * r.peak_buffered_rows as f64 / r.rows as f64
        )
    });
    row("decoded batches held at that peak (× 60 B)", &|r| {
        format!("{:.1} MB", mb(r.peak_buffered_rows * ROW_BYTES))
    });
    row("VmRSS / VmHWM before compaction", &|r| {
        format!(
            "{:.1} / {:.1} MB",
            mb(r.rss_before_kb * 1024),
            mb(r.hwm_before_kb * 1024)
        )
    });
    row("VmHWM after compaction", &|r| {
        format!("{:.1} MB", mb(r.hwm_after_kb * 1024))
    });
    row("peak RSS growth (VmHWM after − VmRSS before)", &|r| {
        let growth = r.hwm_after_kb.saturating_sub(r.rss_before_kb) * 1024;
        format!("{:.1} MB", mb(growth))
    });
    row("the hour's columns decoded (rows × 60 B)", &|r| {
        format!("{:.1} MB", mb(r.rows * ROW_BYTES))
    });
    row("peak RSS growth / the hour's columns", &|r| {
        let growth = r.hwm_after_kb.saturating_sub(r.rss_before_kb) * 1024;
        format!(
            "{:.1} %",
            100.0 * growth as f64 / (r.rows * ROW_BYTES) as f64
        )
    });
    row("files before → after", &|r| {
        format!("{} → {}", r.files_before, r.files_after)
    });
    row("bytes on disk before → after", &|r| {
        format!("{:.1} MB → {:.1} MB", mb(r.bytes_before), mb(r.bytes_after))
    });
    row("bytes/row before → after", &|r| {
        format!(
            "{:.2} → {:.2}",
            r.bytes_before as f64 / r.rows as f64,
            r.bytes_after as f64 / r.rows as f64
        )
    });
}

/// `1234567` as `1,234,567`.
fn sep(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}
