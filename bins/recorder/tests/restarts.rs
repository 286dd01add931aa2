//! Restarts of every kind over one date partition: clean stops, SIGKILLs before the first
//! checkpoint, and (on S3) a lease taken over by a recorder with another journal directory.
//!
//! Issue 20: segment numbers restarted at 0 whenever the journal directory was empty, which
//! it is after every clean stop, and recovery counted a segment as published when any file
//! of its date partition named the same number. A run killed after a clean stop was then
//! skipped whole at the next start. Each sequence below must end with every event the
//! simulator sent in the dataset exactly once. The feed is stalled around each stop and
//! kill, so that "sent" and "read" are the same set and nothing is left to timing.

mod common;

use std::path::Path;
use std::time::Duration;

use common::s3::{s3_server, spawn_s3, Bucket};
use common::{
    assert_exactly_once, assert_exactly_once_in, sent_keys, spawn_recorder, stop_cleanly,
    wait_recorded, Running, Sim,
};

fn market() -> sim::SimConfig {
    sim::SimConfig {
        seed: 21,
        symbols: 200,
        interval: Duration::from_millis(100),
        ..sim::SimConfig::default()
    }
}

/// Lets the feed run for a while once the recorder is connected; returns when the feed
/// started (ms since the Unix epoch).
fn record_a_while(sim: &Sim, rec: &mut Running) -> i64 {
    let started = chrono::Utc::now().timestamp_millis();
    sim.h().set_stalled(false);
    rec.wait_stdout(Duration::from_secs(60), |l| {
        l.contains("Total Symbols recorded:")
    });
    std::thread::sleep(Duration::from_millis(1500));
    started
}

/// Stalls the feed, waits until the journal under `journal_parent/_journal` holds every
/// event sent since `since_ms`, then SIGKILLs the recorder (whose checkpoints are too rare
/// to have run).
fn kill_when_journaled(sim: &Sim, rec: &mut Running, journal_parent: &Path, since_ms: i64) {
    sim.h().set_stalled(true);
    let due = |at: i64| at >= since_ms;
    wait_recorded(sim, journal_parent, due, Duration::from_secs(60));
    rec.child.kill().unwrap(); // SIGKILL
    rec.wait(Duration::from_secs(30));
}

/// No checkpoint before the kill: the killed run's rows are only in its journal.
const NO_CHECKPOINT: [&str; 2] = ["--checkpoint-secs", "3600"];

#[test]
fn local_clean_stop_then_crash_then_restart_loses_nothing() {
    let sim = Sim::start(market());
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("data");
    let ws = sim.h().ws_base();
    // (checkpoint flags, killed?) per run.
    let runs: [(&[&str], bool); 5] = [
        (&[], false),
        (&NO_CHECKPOINT, true),
        (&[], false),
        (&NO_CHECKPOINT, true),
        (&NO_CHECKPOINT, true),
    ];
    for (i, &(flags, killed)) in runs.iter().enumerate() {
        let mut rec = spawn_recorder(&out, &ws, flags);
        let started = record_a_while(&sim, &mut rec);
        if killed {
            kill_when_journaled(&sim, &mut rec, &out, started);
        } else {
            sim.h().set_stalled(true);
            let due = |at: i64| at >= started;
            wait_recorded(&sim, &out, due, Duration::from_secs(60));
            stop_cleanly(&sim, &mut rec);
        }
        eprintln!("run {i} done ({} events sent so far)", sim.h().sent().len());
    }
    // A last start replays what the last kills left, and stops cleanly.
    let mut rec = spawn_recorder(&out, &ws, &[]);
    rec.wait_stdout(Duration::from_secs(60), |l| {
        l.contains("Total Symbols recorded:")
    });
    stop_cleanly(&sim, &mut rec);
    let sent = sent_keys(&sim);
    assert!(sent.len() > 1_000, "too little traffic: {}", sent.len());
    assert_exactly_once(&out, &sent);
}

/// Makes the lease on `prefix` expired, as if its holder had been gone for its whole
/// validity (the lock object keeps its owner; only `expires_ms` changes).
fn expire_lease(bucket: &Bucket, prefix: &str) {
    use object_store::ObjectStoreExt;
    let key = format!("{prefix}/_lock");
    let text = String::from_utf8(bucket.get(&key)).unwrap();
    let expired: String = text
        .lines()
        .map(|l| match l.starts_with("expires_ms=") {
            true => "expires_ms=1\n".to_owned(),
            false => format!("{l}\n"),
        })
        .collect();
    assert_ne!(expired, text, "no expiry in the lock object: {text}");
    let key = object_store::path::Path::from(key);
    bucket
        .rt
        .block_on(bucket.store.put(&key, expired.into_bytes().into()))
        .unwrap();
}

#[test]
fn s3_clean_stops_crashes_and_takeovers_lose_nothing() {
    let s3 = s3_server();
    let sim = Sim::start(market());
    let dir = tempfile::tempdir().unwrap();
    let bucket = Bucket::new(&s3);
    let ws = sim.h().ws_base();
    // Two recorders' journals (two hosts, say); `journal_keys` reads `<parent>/_journal`.
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    let journal = |parent: &Path| parent.join("_journal");
    let prefix = "cycle";

    // A: a clean stop.
    let mut rec = spawn_s3(&s3, prefix, &journal(&a), &ws, &[]);
    record_a_while(&sim, &mut rec);
    stop_cleanly(&sim, &mut rec);
    // B: takes the released lease, is killed before its first checkpoint.
    let mut rec = spawn_s3(&s3, prefix, &journal(&b), &ws, &NO_CHECKPOINT);
    let started = record_a_while(&sim, &mut rec);
    kill_when_journaled(&sim, &mut rec, &b, started);
    // A: takes over B's lease once it has expired, is killed before its first checkpoint.
    expire_lease(&bucket, prefix);
    let mut rec = spawn_s3(&s3, prefix, &journal(&a), &ws, &NO_CHECKPOINT);
    let started = record_a_while(&sim, &mut rec);
    kill_when_journaled(&sim, &mut rec, &a, started);
    // B: takes over A's expired lease, replays its journal, stops cleanly.
    expire_lease(&bucket, prefix);
    let mut rec = spawn_s3(&s3, prefix, &journal(&b), &ws, &[]);
    record_a_while(&sim, &mut rec);
    stop_cleanly(&sim, &mut rec);
    // A: replays its journal, stops cleanly.
    let mut rec = spawn_s3(&s3, prefix, &journal(&a), &ws, &[]);
    rec.wait_stdout(Duration::from_secs(60), |l| {
        l.contains("Total Symbols recorded:")
    });
    stop_cleanly(&sim, &mut rec);

    for parent in [&a, &b] {
        let left = record::journal::segments(&journal(parent)).unwrap();
        assert!(left.is_empty(), "{}: {left:?}", parent.display());
    }
    let sent = sent_keys(&sim);
    assert!(sent.len() > 1_000, "too little traffic: {}", sent.len());
    assert_exactly_once_in(&bucket.dataset(prefix), &sent);
}
