//! SIGKILL during compaction on an object store, with the real binary: the recorder
//! (`--compact-after-secs 1`) merges a closed hour of many checkpoint parts on a real
//! S3-compatible server (moto, see `tests/s3.rs`) and is killed twice while it does, at
//! seeded-random moments: once while it reads and merges the parts (in the first seconds
//! after its log line, or inside a seeded group of its first merge pass, seen by the pass's
//! temporary file in the spool), once while the merged object is out and the parts are
//! being deleted. Each restart recovers (deletes the parts a merged object lists and the
//! leftover temporary files, or merges again) and the last run completes.
//!
//! Asserted after every kill: every visible object is a complete, readable Parquet file
//! (no partial upload, no temporary name), no object ever changed its ETag (nothing is
//! overwritten), and only checkpoint parts ever disappeared. At the end: the closed hour
//! holds exactly the seeded rows (none lost, none twice) in one merged object, and the
//! live rows recorded meanwhile are there exactly once. The seed of the kill delays is
//! printed (`TEST_SEED=<seed>` repeats them) and in every failure message.

mod common;

use std::collections::HashMap;
use std::time::Duration;

use chrono::{DateTime, NaiveDateTime, Utc};
use common::s3::{assert_no_secret, s3_server, spawn_s3, Bucket};
use common::{stop_cleanly, wait_until, Running, Sim};
use dataset::{layout, DatasetWriter, OwnedTick, Tick, TickBuffer};
use sim::s3::S3Server;

/// Checkpoint parts of the seeded hour: a 15 s checkpoint interval's worth, enough that
/// merging them on moto (a footer and column chunks fetched per part, one DELETE per part
/// afterwards) takes seconds, not milliseconds.
const PARTS: usize = 240;
/// Symbols per part.
const SYMBOLS: usize = 80;
/// 2024-01-01 05:00 UTC: a closed hour of a day the live feed never writes into.
const HOUR_MS: i64 = 1_704_085_200_000;
const PREFIX: &str = "compact";
/// The longest any one step may take on a loaded machine (a wait, never an assertion on
/// how long something took).
const PATIENCE: Duration = Duration::from_secs(240);

fn hour() -> NaiveDateTime {
    DateTime::<Utc>::from_timestamp_millis(HOUR_MS)
        .unwrap()
        .naive_utc()
}

fn partition() -> String {
    format!("{PREFIX}/{}/", layout::partition(hour().date()))
}

/// A row, comparable exactly (prices by their bits).
type Row = (String, i64, [u64; 6]);

fn row(t: &OwnedTick) -> Row {
    let prices = [
        t.close,
        t.open,
        t.high,
        t.low,
        t.base_volume,
        t.quote_volume,
    ];
    (t.symbol.clone(), t.event_time, prices.map(f64::to_bits))
}

/// Writes the hour's parts through `dataset` as the recorder would (one checkpoint
/// every 15 s, tagged with its journal segment); returns their rows, sorted.
fn seed_hour(bucket: &Bucket, rng: &mut fastrand::Rng) -> Vec<Row> {
    let mut writer = DatasetWriter::for_dataset(bucket.dataset(PREFIX));
    let mut rows = Vec::new();
    let symbols: Vec<String> = (0..SYMBOLS).map(|i| format!("S{i:03}USDT")).collect();
    for part in 0..PARTS {
        let start = HOUR_MS + part as i64 * 15_000;
        let mut buf = TickBuffer::new();
        for (i, symbol) in symbols.iter().enumerate() {
            let price = 100.0 + rng.f64();
            let tick = Tick {
                symbol,
                event_time: start + i as i64 * 100,
                close: price,
                open: price - 0.5,
                high: price + 1.0,
                low: price - 1.0,
                base_volume: rng.f64() * 1e4,
                quote_volume: rng.f64() * 1e6,
            };
            buf.push(&tick);
            let owned = OwnedTick {
                symbol: symbol.clone(),
                event_time: tick.event_time,
                close: tick.close,
                open: tick.open,
                high: tick.high,
                low: tick.low,
                base_volume: tick.base_volume,
                quote_volume: tick.quote_volume,
            };
            rows.push(row(&owned));
        }
        let written_at = DateTime::<Utc>::from_timestamp_millis(start + 14_000).unwrap();
        // Segments of an earlier run (the live rows' journal replays into today's
        // partition only, so these never hide one of its segments).
        let tag = dataset::segments_tag(&[1_000_000 + part as u64]);
        writer
            .write_checkpoint_with(&buf, written_at, &[tag])
            .unwrap();
    }
    rows.sort();
    rows
}

/// The key the hour's merged object gets (the first free name: nothing else takes it).
fn merged_key() -> String {
    format!("{}{}", partition(), layout::merged_name(hour(), 0))
}

/// Waits for `cond`, polling every half second (a listing of hundreds of objects is work
/// for moto: polled at full speed it would slow the very compaction it watches).
fn wait_slowly(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + PATIENCE;
    while !cond() {
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// The files in the recorder's spool directory (`<journal>/_spool`) now.
fn spool_names(journal: &std::path::Path) -> impl Iterator<Item = String> {
    (std::fs::read_dir(journal.join("_spool"))
        .into_iter()
        .flatten())
    .filter_map(|e| Some(e.ok()?.file_name().to_string_lossy().into_owned()))
}

/// (merged objects, parts) of the seeded hour now.
fn hour_files(bucket: &Bucket) -> (usize, usize) {
    let names: Vec<String> = (bucket.etags(PREFIX).into_keys())
        .filter_map(|k| k.strip_prefix(&partition()).map(str::to_owned))
        .collect();
    let merged = names.iter().filter(|n| layout::is_merged(n)).count();
    (merged, names.len() - merged)
}

/// Every snapshot of the bucket's ETags: an object never changes, and only parts vanish.
#[derive(Default)]
struct History {
    etags: HashMap<String, String>,
    seed: u64,
}

impl History {
    fn snapshot(&mut self, bucket: &Bucket, when: &str) -> HashMap<String, String> {
        let now = bucket.etags(PREFIX);
        for (key, etag) in &self.etags {
            if key.ends_with("_lock") {
                continue; // the lease object is rewritten by design (If-Match)
            }
            match now.get(key) {
                Some(now) => assert_eq!(
                    now, etag,
                    "{when}: {key} was overwritten (seed {})",
                    self.seed
                ),
                None => {
                    let name = key.rsplit('/').next().unwrap_or(key);
                    assert!(
                        !layout::is_merged(name) && !layout::is_gaps_day_file(name),
                        "{when}: {key}, a merged file, was deleted (seed {})",
                        self.seed
                    );
                }
            }
        }
        self.etags.extend(now.clone());
        now
    }
}

/// Every visible object under the prefix (but the lease) is a complete Parquet file that
/// reads back whole; the gaps dataset reads too.
fn assert_all_readable(bucket: &Bucket, keys: &HashMap<String, String>, when: &str, seed: u64) {
    let dir = tempfile::tempdir().unwrap();
    for key in keys.keys().filter(|k| !k.ends_with("_lock")) {
        let name = key.rsplit('/').next().unwrap_or(key);
        assert!(
            name.ends_with(".parquet") && !layout::is_hidden(name),
            "{when}: unexpected object {key} (seed {seed})"
        );
        if key.contains(&format!("/{}/", layout::GAPS_DIR)) {
            continue;
        }
        let local = dir.path().join(name);
        std::fs::write(&local, bucket.get(key)).unwrap();
        let batches = dataset::read_file(&local)
            .unwrap_or_else(|e| panic!("{when}: {key} does not read: {e} (seed {seed})"));
        assert!(
            batches.iter().map(|b| b.num_rows()).sum::<usize>() > 0,
            "{when}: {key} holds no rows (seed {seed})"
        );
    }
    let dataset = bucket.dataset(PREFIX);
    if let Err(e) = dataset::gaps::read_gaps_of(&dataset) {
        panic!("{when}: the gaps dataset does not read: {e} (seed {seed})");
    }
}

/// SIGKILL now, and what the hour looks like afterwards.
fn kill(rec: &mut Running, bucket: &Bucket, history: &mut History, when: &str) -> (usize, usize) {
    rec.child.kill().unwrap();
    rec.wait(Duration::from_secs(30));
    let keys = history.snapshot(bucket, when);
    assert_all_readable(bucket, &keys, when, history.seed);
    let state = hour_files(bucket);
    eprintln!(
        "{when}: the hour holds {} merged and {} parts",
        state.0, state.1
    );
    state
}

fn start(s3: &S3Server, journal: &std::path::Path, sim: &Sim) -> Running {
    spawn_s3(
        s3,
        PREFIX,
        journal,
        &sim.h().ws_base(),
        &["--compact-after-secs", "1"],
    )
}

#[test]
fn sigkill_during_compaction_then_restart_keeps_every_row_once_and_overwrites_nothing() {
    let mut rng = testkit::seed::rng("sigkill during compaction");
    let seed = rng.get_seed();
    let s3 = s3_server();
    let bucket = Bucket::new(&s3);
    let seeded = seed_hour(&bucket, &mut rng);
    let mut history = History {
        seed,
        ..History::default()
    };
    history.snapshot(&bucket, "seeded");
    assert_eq!(hour_files(&bucket), (0, PARTS));

    let sim = Sim::start(sim::SimConfig {
        seed: 21,
        symbols: 50,
        interval: Duration::from_millis(200),
        ..sim::SimConfig::default()
    });
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("journal");
    let now_ms = || Utc::now().timestamp_millis();
    let mut downs = Vec::new();
    let mut states = Vec::new();

    // 1. Killed while it reads and merges the parts (the merged object not out yet, or
    //    just out).
    let mut rec = start(&s3, &journal, &sim);
    let started = format!("compacting {PARTS} files of hour {}", hour());
    rec.wait_stderr_count(PATIENCE, &started, 1);
    // The merge of the hour takes 10-30 s on moto (the footers, then the column chunks of
    // each part fetched, merged in passes of MERGE_FAN_IN parts through temporary files in
    // the spool, the merged file uploaded, then one DELETE per part). The kill comes at
    // random either in its first 3 s (within it even on a fast machine), or just after
    // the first pass began one of its groups.
    let groups = PARTS.div_ceil(dataset::MERGE_FAN_IN);
    let (trigger, delay) = match rng.usize(0..=groups) {
        0 => ("the compaction started".to_owned(), rng.u64(0..=3_000)),
        g => {
            let temp = format!("{}p1_{}.parquet", layout::merged_stem(hour()), g - 1);
            wait_until(PATIENCE, &temp, || {
                spool_names(&journal).any(|n| n.contains(&temp))
            });
            // A group takes seconds: the kill lands in it (or the next).
            (format!("the merge pass began {temp}"), rng.u64(0..=500))
        }
    };
    let delay = Duration::from_millis(delay);
    std::thread::sleep(delay);
    let kill_ms = now_ms();
    let when = format!("killed {delay:?} after {trigger}");
    states.push((when.clone(), kill(&mut rec, &bucket, &mut history, &when)));
    assert_no_secret(&rec);

    // 2. Killed while the parts are deleted: the merged object is out (published by this
    //    run's compaction, or by the first one and being cleaned up by this start).
    let mut rec = start(&s3, &journal, &sim);
    downs.push((kill_ms, now_ms()));
    if states[0].1 .0 == 0 {
        // The merge starts over: how long it takes shows how wide the first kill's window
        // was (printed, not asserted).
        rec.wait_stderr_count(PATIENCE, &started, 1);
        let merging = std::time::Instant::now();
        wait_until(PATIENCE, "the merged object", || {
            bucket.exists(&merged_key())
        });
        eprintln!("the merge took {:?} to publish", merging.elapsed());
    }
    wait_until(PATIENCE, "the merged object", || {
        bucket.exists(&merged_key())
    });
    let delay = Duration::from_millis(rng.u64(0..=300));
    std::thread::sleep(delay);
    let kill_ms = now_ms();
    let when = format!("killed {delay:?} after the merged object appeared");
    states.push((when.clone(), kill(&mut rec, &bucket, &mut history, &when)));

    // 3. The last run finishes the job and records on.
    let mut rec = start(&s3, &journal, &sim);
    downs.push((kill_ms, now_ms()));
    wait_slowly("the hour compacted", || hour_files(&bucket) == (1, 0));
    rec.wait_stdout(PATIENCE, |l| l.contains("Total Symbols recorded:"));
    stop_cleanly(&sim, &mut rec);
    assert_no_secret(&rec);
    let keys = history.snapshot(&bucket, "after the last run");
    assert_all_readable(&bucket, &keys, "after the last run", seed);
    // The killed runs' temporary files were removed by the restarts.
    let left: Vec<String> = spool_names(&journal).collect();
    assert!(left.is_empty(), "left in the spool: {left:?} (seed {seed})");

    // At least one kill hit the compaction before it was done.
    assert!(
        states.iter().any(|(_, (_, parts))| *parts > 0),
        "no kill interrupted the compaction: {states:?} (seed {seed})"
    );
    let dataset = bucket.dataset(PREFIX);
    let (hour_start, hour_end) = (HOUR_MS, HOUR_MS + 3_600_000);
    let mut got: Vec<Row> = Vec::new();
    let mut live: HashMap<(String, i64), usize> = HashMap::new();
    for batch in dataset.read_all().unwrap() {
        for tick in dataset::rows(&batch).unwrap() {
            if (hour_start..hour_end).contains(&tick.event_time) {
                got.push(row(&tick));
            } else {
                *live.entry((tick.symbol, tick.event_time)).or_insert(0) += 1;
            }
        }
    }
    got.sort();
    assert_eq!(
        got.len(),
        seeded.len(),
        "rows of the hour after {states:?} (seed {seed})"
    );
    assert!(
        got == seeded,
        "the hour's rows differ from the seeded ones after {states:?} (seed {seed})"
    );
    assert_eq!(hour_files(&bucket), (1, 0));

    // The live rows: none twice, and every event sent outside the kills is there.
    assert!(
        live.values().all(|&n| n == 1),
        "duplicated live rows (seed {seed})"
    );
    let in_a_kill = |at: i64| downs.iter().any(|&(k, r)| at > k - 100 && at <= r);
    let due: Vec<_> = (sim.h().sent().into_iter())
        .filter(|s| !in_a_kill(s.sent_at_ms))
        .collect();
    assert!(!due.is_empty(), "no live traffic");
    let lost = (due.iter())
        .filter(|s| !live.contains_key(&(s.symbol.clone(), s.event_time)))
        .count();
    assert_eq!(
        lost,
        0,
        "{lost} of {} live events lost; down times {downs:?} (seed {seed})",
        due.len()
    );
}
