//! End to end: the real `recorder` binary against the in-process simulated exchange.

mod common;

use std::collections::HashMap;
use std::time::Duration;

use common::{
    assert_exactly_once, dataset_keys, sent_keys, spawn_recorder, stop_cleanly, wait_until, Sim,
};

fn fast_market(faults: sim::Faults) -> sim::SimConfig {
    sim::SimConfig {
        seed: 7,
        symbols: 1500,
        interval: Duration::from_millis(50),
        faults,
        ..sim::SimConfig::default()
    }
}

/// Disconnects and malformed frames in the middle of a run: every event the simulator sent
/// is in the Parquet files exactly once, with the values it sent.
#[test]
fn records_every_event_exactly_once_across_disconnects_and_bad_frames() {
    let sim = Sim::start(fast_market(sim::Faults {
        close_after: Some(30),
        malformed_every: Some(9),
        ..sim::Faults::default()
    }));
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("data");
    let mut rec = spawn_recorder(&out, &sim.h().ws_base(), &[]);

    rec.wait_stdout(Duration::from_secs(20), |l| {
        l.contains("Total Symbols recorded:")
    });
    // Three connections means at least two disconnects survived.
    wait_until(Duration::from_secs(30), "three connections", || {
        sim.h().connection_count_total() >= 3
    });
    rec.wait_stderr_count(Duration::from_secs(20), "malformed", 1);
    // Stop the feed so nothing is in flight when the recorder shuts down.
    sim.h().set_stalled(true);
    std::thread::sleep(Duration::from_millis(500));
    rec.signal("TERM");
    let status = rec.wait(Duration::from_secs(30));
    assert_eq!(status.code(), Some(0), "stderr: {:#?}", rec.err);

    // The three shutdown lines, in order, after the status lines, then the run's files and
    // rows, then the coverage line.
    let exit_at = rec
        .out
        .iter()
        .position(|l| l == "Received exit, exiting")
        .expect("exit line");
    let tail: Vec<&str> = rec.out[exit_at..].iter().map(String::as_str).collect();
    assert_eq!(tail.len(), 5, "{tail:#?}");
    assert_eq!(tail[1], "saving data");
    let re_total = "Total no. of symbol data saved in file '";
    assert!(tail[2].starts_with(re_total), "{}", tail[2]);
    assert!(tail[3].starts_with("Saved in this run: "), "{}", tail[3]);
    assert!(tail[4].starts_with("Coverage: "), "{}", tail[4]);
    let status_line = rec
        .out
        .iter()
        .find(|l| l.contains("Total Symbols recorded:"))
        .unwrap();
    assert!(
        is_hms(&status_line[..8]) && status_line[8..].starts_with(" Total Symbols recorded: "),
        "{status_line}"
    );

    let sent = sim.h().sent();
    assert!(
        sent.len() > 10_000,
        "too little traffic to prove anything: {}",
        sent.len()
    );
    let keys = dataset_keys(&out);
    let duplicates: Vec<_> = keys.iter().filter(|(_, &n)| n > 1).collect();
    assert!(
        duplicates.is_empty(),
        "duplicated rows: {:?}",
        &duplicates[..duplicates.len().min(5)]
    );
    let missing: Vec<_> = sent
        .iter()
        .filter(|s| !keys.contains_key(&(s.symbol.clone(), s.event_time)))
        .collect();
    assert!(
        missing.is_empty(),
        "{} of {} sent events missing, e.g. {:?}",
        missing.len(),
        sent.len(),
        missing.first()
    );
    assert_eq!(keys.len(), sent.len(), "rows that were never sent");

    // N in the last line is the number of distinct symbols recorded.
    let symbols: std::collections::HashSet<&str> = sent.iter().map(|s| s.symbol.as_str()).collect();
    assert!(
        tail[2].ends_with(&format!("': {}", symbols.len())),
        "{}",
        tail[2]
    );

    // Values read back through the dataset reader are the ones sent.
    let sent_close: HashMap<(String, i64), f64> = sent
        .iter()
        .map(|s| ((s.symbol.clone(), s.event_time), s.close.parse().unwrap()))
        .collect();
    for (symbol, batch) in dataset::read_by_symbol(&out).unwrap() {
        let rows = dataset::rows(&batch).unwrap();
        assert!(
            rows.windows(2).all(|w| w[0].event_time < w[1].event_time),
            "{symbol} not sorted"
        );
        for row in rows {
            assert_eq!(row.symbol, symbol);
            assert_eq!(sent_close[&(row.symbol.clone(), row.event_time)], row.close);
            assert!(row.low <= row.high, "{row:?}");
        }
    }
}

/// SIGKILL after a few checkpoints: every file present reads cleanly, and every event up to
/// the last one on disk is there (checkpoints are whole prefixes of the feed).
#[test]
fn sigkill_leaves_only_complete_files_and_loses_nothing_before_the_last_checkpoint() {
    let sim = Sim::start(fast_market(sim::Faults::default()));
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("data");
    let mut rec = spawn_recorder(&out, &sim.h().ws_base(), &[]);
    rec.wait_stderr_count(Duration::from_secs(30), "checkpoint:", 3);
    rec.child.kill().unwrap(); // SIGKILL
    rec.wait(Duration::from_secs(10));

    let files = dataset::list_files(&out).unwrap();
    assert!(files.len() >= 3, "{files:?}");
    for f in &files {
        let name = f.file_name().unwrap().to_str().unwrap();
        assert!(
            name.starts_with("miniticker_") && name.ends_with(".parquet"),
            "{name}"
        );
    }
    let keys = dataset_keys(&out); // reads every file; a torn file would fail here
    assert!(keys.values().all(|&n| n == 1), "duplicates after SIGKILL");
    let sent = sim.h().sent();
    let last_on_disk = sent
        .iter()
        .rposition(|s| keys.contains_key(&(s.symbol.clone(), s.event_time)))
        .expect("some sent event is on disk");
    let lost: Vec<_> = sent[..=last_on_disk]
        .iter()
        .filter(|s| !keys.contains_key(&(s.symbol.clone(), s.event_time)))
        .collect();
    assert!(
        lost.is_empty(),
        "{} events before the last checkpoint lost",
        lost.len()
    );
    // The files hold what the recorder said it checkpointed.
    let reported: usize = rec
        .err
        .iter()
        .filter_map(|l| l.split("checkpoint: ").nth(1))
        .filter_map(|l| l.split(' ').next()?.parse::<usize>().ok())
        .sum();
    assert_eq!(reported, keys.len());
    // No temporary file is left where a reader would pick it up as data.
    assert!(files.iter().all(|f| !f.to_string_lossy().ends_with(".tmp")));
}

/// The disk refuses the checkpoints for a while (the day's partition directory cannot be
/// created: a file has its name): the run of failures is one clear line (the retries, with
/// backoff, are logged at debug level only), the rows stay in memory, and once the disk is
/// back they are written and the end of the run is logged, so every event sent is on disk
/// exactly once.
#[test]
fn checkpoints_that_fail_are_reported_and_retried_until_the_disk_is_back() {
    // The blocked partition is today's (UTC): keep the run away from midnight.
    let secs_of_day = chrono::Utc::now().timestamp().rem_euclid(86_400);
    if secs_of_day > 86_400 - 30 {
        std::thread::sleep(Duration::from_secs((86_400 - secs_of_day + 1) as u64));
    }
    let sim = Sim::start(fast_market(sim::Faults::default()));
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("data");
    std::fs::create_dir_all(&out).unwrap();
    let today = chrono::Utc::now().format("date=%Y-%m-%d").to_string();
    let blocker = out.join(&today);
    std::fs::write(&blocker, b"not a directory").unwrap();

    let extra = ["--log-level", "debug", "--metrics-addr", "127.0.0.1:0"];
    let mut rec = spawn_recorder(&out, &sim.h().ws_base(), &extra);
    let metric = metrics_of(&mut rec);
    // The first failure, then two retries that failed too.
    rec.wait_stderr_count(Duration::from_secs(30), "kept in memory, retried", 1);
    rec.wait_stderr_count(
        Duration::from_secs(30),
        "of this run of failures failed too",
        2,
    );
    assert!(
        rec.child.try_wait().unwrap().is_none(),
        "the recorder gave up"
    );
    assert!(dataset::list_files(&out).unwrap().is_empty());
    let reported = |rec: &common::Running| -> Vec<String> {
        (rec.err.iter())
            .filter(|l| l.contains("ERROR") && l.contains("kept in memory, retried"))
            .cloned()
            .collect()
    };
    let failures = reported(&rec);
    assert_eq!(failures.len(), 1, "one line for the run: {:#?}", rec.err);
    assert!(failures[0].contains(&today), "{}", failures[0]);
    // The metrics say so meanwhile.
    assert_eq!(metric("recorder_checkpoint_failing"), Some(1.0));
    assert!(metric("recorder_checkpoint_retries_total").is_some_and(|n| n >= 2.0));
    assert!(metric("recorder_checkpoint_retry_delay_seconds").is_some_and(|s| s > 0.0));

    std::fs::remove_file(&blocker).unwrap();
    rec.wait_stderr_count(Duration::from_secs(30), "checkpoint:", 1);
    rec.wait_stderr_count(Duration::from_secs(30), "checkpoints work again after", 1);
    assert_eq!(reported(&rec).len(), 1, "{:#?}", rec.err);
    assert_eq!(metric("recorder_checkpoint_failing"), Some(0.0));
    assert_eq!(metric("recorder_checkpoint_retry_delay_seconds"), Some(0.0));
    stop_cleanly(&sim, &mut rec);
    assert!(
        !rec.err.iter().any(|l| l.contains("panicked")),
        "{:#?}",
        rec.err
    );
    assert_exactly_once(&out, &sent_keys(&sim));
}

#[test]
fn bad_configuration_exits_2_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a-file");
    std::fs::write(&file, "x").unwrap();
    for (args, needle) in [
        (vec!["--checkpoint-secs", "0"], "checkpoint-secs"),
        (
            vec!["--out-dir", file.to_str().unwrap()],
            "is a file, not a directory",
        ),
    ] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_recorder"))
            .args(&args)
            .env("BINANCE_WS_URL", "ws://127.0.0.1:9")
            .env("LOG_FILE", dir.path().join("log"))
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(needle), "{args:?}: {stderr}");
        assert_eq!(stderr.trim_end().lines().count(), 1, "one line: {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
}

fn is_hms(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 8
        && b[2] == b':'
        && b[5] == b':'
        && [0, 1, 3, 4, 6, 7].iter().all(|&i| b[i].is_ascii_digit())
}

/// A reader of the unlabelled samples the recorder serves (it was given
/// `--metrics-addr 127.0.0.1:0` and logs where it listens).
fn metrics_of(rec: &mut common::Running) -> impl Fn(&str) -> Option<f64> {
    rec.wait_stderr_count(Duration::from_secs(30), "serving /metrics and /health", 1);
    let line = (rec.err.iter())
        .find(|l| l.contains("serving /metrics and /health"))
        .unwrap();
    let addr: std::net::SocketAddr = line
        .rsplit("http://")
        .next()
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    move |name| {
        let (_, text) = ops::probe::get(addr, "/metrics", Duration::from_secs(10)).ok()?;
        text.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
    }
}
