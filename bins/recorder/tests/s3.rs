//! The recorder writing to `s3://…` end to end: the real binary against the in-process
//! simulated exchange and a real S3-compatible server (`sim::s3::S3Server`, moto_server
//! behind a cuttable endpoint).
//!
//! The objects are read back through `dataset` (`Dataset::object` over the bucket: every
//! object must be a complete Parquet file for that to read), and their ETags are compared
//! across kills: an object that is still there keeps its ETag, i.e. nothing is ever
//! overwritten.

mod common;

use std::time::Duration;

use common::s3::{
    assert_no_secret, assert_nothing_overwritten, s3_command, s3_server, spawn_s3, Bucket,
};
use common::{
    assert_exactly_once_in, dataset_keys_of, sent_keys, spawn, stop_cleanly, wait_until, Sim,
};

fn market() -> sim::SimConfig {
    sim::SimConfig {
        seed: 12,
        symbols: 300,
        interval: Duration::from_millis(100),
        ..sim::SimConfig::default()
    }
}

#[test]
fn every_event_sent_is_in_the_objects_exactly_once() {
    let s3 = s3_server();
    let sim = Sim::start(market());
    let dir = tempfile::tempdir().unwrap();
    let bucket = Bucket::new(&s3);
    let mut rec = spawn_s3(
        &s3,
        "run",
        &dir.path().join("journal"),
        &sim.h().ws_base(),
        &[],
    );
    rec.wait_stdout(Duration::from_secs(30), |l| {
        l.contains("Total Symbols recorded:")
    });
    wait_until(
        Duration::from_secs(30),
        "three checkpoints uploaded",
        || bucket.tick_objects("run") >= 3,
    );
    stop_cleanly(&sim, &mut rec);
    assert_no_secret(&rec);

    let dataset = bucket.dataset("run");
    let sent = sent_keys(&sim);
    assert!(sent.len() > 1_000, "too little traffic: {}", sent.len());
    assert_exactly_once_in(&dataset, &sent);
}

#[test]
fn an_outage_of_the_endpoint_loses_and_duplicates_nothing_and_is_reported() {
    let mut s3 = s3_server();
    let sim = Sim::start(market());
    let dir = tempfile::tempdir().unwrap();
    let bucket = Bucket::new(&s3);
    let mut rec = spawn_s3(
        &s3,
        "out",
        &dir.path().join("journal"),
        &sim.h().ws_base(),
        &[],
    );
    wait_until(Duration::from_secs(30), "a first checkpoint", || {
        bucket.tick_objects("out") >= 1
    });
    let before = bucket.etags("out");

    s3.stop();
    // At least two checkpoint intervals fail to upload: the recorder says so.
    rec.wait_stderr_count(Duration::from_secs(60), "s3://", 1);
    std::thread::sleep(Duration::from_secs(3));
    s3.restart().unwrap();
    wait_until(Duration::from_secs(60), "uploads after the outage", || {
        bucket.tick_objects("out") > before.len() + 1
    });
    stop_cleanly(&sim, &mut rec);
    assert_no_secret(&rec);
    assert_nothing_overwritten(&before, &bucket.etags("out"));

    let dataset = bucket.dataset("out");
    assert_exactly_once_in(&dataset, &sent_keys(&sim));
}

/// SIGKILL while checkpoints cannot be uploaded (the endpoint cut: uploads in flight are
/// reset), then at a moment when they can; each time a restart recovers from the local
/// journal: rows identical to what was sent, nothing overwritten, every object readable.
#[test]
fn sigkill_during_uploads_then_restart_recovers_everything() {
    let mut s3 = s3_server();
    let sim = Sim::start(market());
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("journal");
    let bucket = Bucket::new(&s3);
    let ws = sim.h().ws_base();

    let now_ms = || chrono::Utc::now().timestamp_millis();
    let mut downs = Vec::new();

    let mut rec = spawn_s3(&s3, "kill", &journal, &ws, &[]);
    wait_until(Duration::from_secs(30), "a first checkpoint", || {
        bucket.tick_objects("kill") >= 1
    });
    s3.stop();
    std::thread::sleep(Duration::from_millis(2_500));
    let kill = now_ms();
    rec.child.kill().unwrap(); // SIGKILL with uploads failing
    rec.wait(Duration::from_secs(10));
    s3.restart().unwrap();
    let before = bucket.etags("kill");

    // The restart takes the lease of its dead predecessor at once and replays the journal.
    let mut rec = spawn_s3(&s3, "kill", &journal, &ws, &[]);
    downs.push((kill, now_ms()));
    wait_until(Duration::from_secs(30), "uploads after the restart", || {
        bucket.tick_objects("kill") > before.len()
    });
    let before = bucket.etags("kill");
    let kill = now_ms();
    rec.child.kill().unwrap(); // SIGKILL with uploads running every second
    rec.wait(Duration::from_secs(10));

    let mut rec = spawn_s3(&s3, "kill", &journal, &ws, &[]);
    downs.push((kill, now_ms()));
    rec.wait_stdout(Duration::from_secs(30), |l| {
        l.contains("Total Symbols recorded:")
    });
    stop_cleanly(&sim, &mut rec);
    assert_no_secret(&rec);
    assert_nothing_overwritten(&before, &bucket.etags("kill"));

    let dataset = bucket.dataset("kill");
    // Every event sent more than 100 ms before a kill or after the restart is there (a
    // killed run's rows come back from the journal), and nothing twice.
    let keys = dataset_keys_of(&dataset);
    assert!(keys.values().all(|&n| n == 1), "duplicates after recovery");
    let in_a_kill = |at: i64| downs.iter().any(|&(k, r)| at > k - 100 && at <= r);
    let sent = sim.h().sent();
    let due: Vec<_> = sent.iter().filter(|s| !in_a_kill(s.sent_at_ms)).collect();
    assert!(due.len() > 1_000, "too little traffic: {}", due.len());
    let lost: Vec<_> = due
        .iter()
        .filter(|s| !keys.contains_key(&(s.symbol.clone(), s.event_time)))
        .collect();
    let span =
        |f: fn(&&&sim::SentTicker) -> i64| lost.iter().map(f).min().zip(lost.iter().map(f).max());
    assert!(
        lost.is_empty(),
        "{} of {} events lost, sent at {:?} (connections {:?}); down times {downs:?}; \
         stderr of the last run: {:#?}",
        lost.len(),
        due.len(),
        span(|s| s.sent_at_ms),
        span(|s| s.conn_id as i64),
        rec.err
    );
}

#[test]
fn a_missing_bucket_or_an_unreachable_endpoint_is_exit_2_with_one_line() {
    let mut s3 = s3_server();
    let sim = Sim::start(market());
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("journal");

    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_recorder"));
    cmd.args(["--out-dir", "s3://no-such-bucket/p", "--journal-dir"])
        .arg(&journal)
        .envs(s3.env())
        .env("BINANCE_WS_URL", sim.h().ws_base())
        .env("LOG_FILE", journal.with_extension("log"));
    let mut missing = spawn(cmd);
    assert_eq!(missing.wait(Duration::from_secs(60)).code(), Some(2));
    assert_no_secret(&missing);
    assert!(
        missing.err.iter().any(|l| l.contains("no such bucket")),
        "{:#?}",
        missing.err
    );

    s3.stop();
    let mut down = spawn_s3(&s3, "p", &journal, &sim.h().ws_base(), &[]);
    assert_eq!(down.wait(Duration::from_secs(60)).code(), Some(2));
    assert_no_secret(&down);
    assert!(
        down.err.iter().any(|l| l.contains("unreachable")),
        "{:#?}",
        down.err
    );
}

#[test]
fn a_second_recorder_on_the_prefix_is_refused_naming_the_holder() {
    let s3 = s3_server();
    let sim = Sim::start(market());
    let dir = tempfile::tempdir().unwrap();
    let bucket = Bucket::new(&s3);
    let mut first = spawn_s3(&s3, "one", &dir.path().join("j1"), &sim.h().ws_base(), &[]);
    wait_until(
        Duration::from_secs(30),
        "the first recorder's checkpoint",
        || bucket.tick_objects("one") >= 1,
    );
    let mut second = spawn_s3(&s3, "one", &dir.path().join("j2"), &sim.h().ws_base(), &[]);
    assert_eq!(second.wait(Duration::from_secs(60)).code(), Some(2));
    let pid = first.child.id().to_string();
    assert!(
        second
            .err
            .iter()
            .any(|l| l.contains("is held by recorder") && l.contains(&pid)),
        "{:#?}",
        second.err
    );
    stop_cleanly(&sim, &mut first);
}

/// The address the recorder logged it serves `/metrics` and `/health` on (port 0 given).
fn served_addr(rec: &mut common::Running) -> std::net::SocketAddr {
    let needle = "serving /metrics and /health";
    rec.wait_stderr_count(Duration::from_secs(30), needle, 1);
    let line = rec.err.iter().find(|l| l.contains(needle)).unwrap();
    let addr = line.rsplit("http://").next().unwrap().trim();
    addr.parse().unwrap_or_else(|e| panic!("{e}: {line}"))
}

/// `/health`'s status and body.
fn health(addr: std::net::SocketAddr) -> (u16, serde_json::Value) {
    let (status, body) = ops::probe::get(addr, "/health", Duration::from_secs(10)).unwrap();
    (status, serde_json::from_str(&body).expect("health is JSON"))
}

/// `recorder_checkpoint_failing` as scraped now.
fn checkpoint_failing(addr: std::net::SocketAddr) -> Option<f64> {
    let (_, text) = ops::probe::get(addr, "/metrics", Duration::from_secs(10)).unwrap();
    text.lines().find_map(|l| {
        l.strip_prefix("recorder_checkpoint_failing ")?
            .trim()
            .parse()
            .ok()
    })
}

/// The endpoint turns into a black hole: connections accepted, requests read, nothing
/// ever answered. Every request is bounded (15 s, plus 1 s per MiB: checkpoints here are
/// far below 1 MiB), so the checkpoint caught in it fails within 16 s (after at most one
/// compaction request that times out too): `/health` says 503 and
/// `recorder_checkpoint_failing` 1 (before the bound, each request hung for the client's
/// 60 s timeout with /health at 200), and once the rows have waited longer than their
/// bound `/health` names that too. When the endpoint answers again, every event sent
/// is in the objects exactly once.
#[test]
fn a_black_holed_endpoint_is_unhealthy_within_the_bound_and_loses_nothing() {
    let mut s3 = s3_server();
    let sim = Sim::start(market());
    let dir = tempfile::tempdir().unwrap();
    let bucket = Bucket::new(&s3);
    let mut rec = spawn_s3(
        &s3,
        "hole",
        &dir.path().join("journal"),
        &sim.h().ws_base(),
        &["--metrics-addr", "127.0.0.1:0"],
    );
    let addr = served_addr(&mut rec);
    wait_until(Duration::from_secs(30), "a first checkpoint", || {
        bucket.tick_objects("hole") >= 1
    });
    wait_until(Duration::from_secs(30), "healthy while it works", || {
        health(addr).0 == 200
    });

    s3.black_hole();
    // Within the stated bounds: the compaction pass after the last checkpoint gives up at
    // its first request (15 s), the next checkpoint's upload fails at 16 s. 50 s leaves
    // room for a loaded machine and is well short of the 60 s one request used to hang.
    let deadline = std::time::Instant::now() + Duration::from_secs(50);
    loop {
        let (status, body) = health(addr);
        let failing = checkpoint_failing(addr);
        if status == 503 && failing == Some(1.0) {
            break;
        }
        let log = dir.path().join("journal.log");
        assert!(
            std::time::Instant::now() < deadline,
            "no 503 and recorder_checkpoint_failing 1 after 50 s in the black hole: \
             /health {status} {body}, failing {failing:?}; log:\n{}",
            std::fs::read_to_string(log).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    // Whatever the cause, rows waiting longer than 3 intervals + 30 s (33 s here) are a
    // reason of their own.
    wait_until(
        Duration::from_secs(60),
        "/health naming the rows waiting beyond their bound",
        || {
            let (_, body) = health(addr);
            let age = body["unpublished_age_seconds"].as_f64().unwrap_or(0.0);
            let named = body["reasons"].as_array().is_some_and(|r| {
                r.iter().any(|r| {
                    r.as_str()
                        .is_some_and(|r| r.starts_with("unpublished rows waiting for"))
                })
            });
            age > 33.0 && named
        },
    );

    s3.restart().unwrap();
    wait_until(
        Duration::from_secs(90),
        "healthy after the black hole",
        || health(addr).0 == 200 && checkpoint_failing(addr) == Some(0.0),
    );
    stop_cleanly(&sim, &mut rec);
    assert_no_secret(&rec);
    assert_exactly_once_in(&bucket.dataset("hole"), &sent_keys(&sim));
}

/// `unshare --pid --fork --mount-proc --kill-child`: a PID namespace of its own, the same
/// host name (the UTS namespace is shared), killed with the wrapper.
const OTHER_PID_NAMESPACE: &[&str] =
    &["unshare", "--pid", "--fork", "--mount-proc", "--kill-child"];

/// Two recorders on one prefix with the same host name, the newcomer in a PID namespace of
/// its own, where the live writer's pid is no process: the newcomer is refused (exit 2,
/// naming the holder) and the writer keeps its lease and publishing. A crash of the
/// writer, then a restart on its journal: the lease is taken over at once, through the
/// journal's `lease_owner` token (not by waiting for expiry), nothing published twice.
#[test]
fn a_recorder_in_another_pid_namespace_cannot_take_a_live_lease() {
    let ok = std::process::Command::new(OTHER_PID_NAMESPACE[0])
        .args(&OTHER_PID_NAMESPACE[1..])
        .arg("true")
        .status()
        .map(|s| s.success());
    assert!(
        matches!(ok, Ok(true)),
        "`unshare --pid` is needed (root, util-linux): {ok:?}"
    );
    let s3 = s3_server();
    let sim = Sim::start(market());
    let dir = tempfile::tempdir().unwrap();
    let bucket = Bucket::new(&s3);
    let ws = sim.h().ws_base();
    let journal = dir.path().join("j1");
    let mut first = spawn_s3(&s3, "ns", &journal, &ws, &[]);
    wait_until(
        Duration::from_secs(30),
        "the writer's first checkpoint",
        || bucket.tick_objects("ns") >= 1,
    );

    let newcomer = s3_command(
        OTHER_PID_NAMESPACE,
        &s3,
        "ns",
        &dir.path().join("j2"),
        &ws,
        &[],
    );
    let mut second = spawn(newcomer);
    assert_eq!(
        second.wait(Duration::from_secs(60)).code(),
        Some(2),
        "the newcomer must be refused: {:#?}",
        second.err
    );
    let pid = first.child.id().to_string();
    assert!(
        second
            .err
            .iter()
            .any(|l| l.contains("is held by recorder") && l.contains(&pid)),
        "{:#?}",
        second.err
    );
    // Nor can one that shares the writer's journal directory (a shared volume): the
    // journal's lock, which the `lease_owner` token relies on, is held by the live writer.
    let sharing = s3_command(OTHER_PID_NAMESPACE, &s3, "ns", &journal, &ws, &[]);
    let mut sharing = spawn(sharing);
    assert_eq!(sharing.wait(Duration::from_secs(60)).code(), Some(2));
    assert!(
        sharing
            .err
            .iter()
            .any(|l| l.contains("another recorder is already writing to it")),
        "{:#?}",
        sharing.err
    );
    // The writer still holds the prefix: it goes on publishing.
    let published = bucket.tick_objects("ns");
    wait_until(
        Duration::from_secs(30),
        "the writer's next checkpoints",
        || bucket.tick_objects("ns") > published + 1,
    );
    assert!(
        !first.err.iter().any(|l| l.contains("lease lost")),
        "{:#?}",
        first.err
    );

    // A crash; the restart on the same journal takes the dead writer's lease at once.
    first.child.kill().unwrap();
    first.wait(Duration::from_secs(10));
    let mut again = spawn_s3(&s3, "ns", &journal, &ws, &[]);
    again.wait_stderr_count(Duration::from_secs(30), "taking over the lease", 1);
    assert!(
        again.err.iter().any(|l| l.contains("taking over the lease")
            && l.contains("previous recorder of this journal")),
        "{:#?}",
        again.err
    );
    let published = bucket.tick_objects("ns");
    wait_until(Duration::from_secs(30), "uploads after the restart", || {
        bucket.tick_objects("ns") > published
    });
    stop_cleanly(&sim, &mut again);
    // (What was sent while no recorder ran is not there; what the crash left in the
    // journal is, once: `sigkill_during_uploads_then_restart_recovers_everything`.)
    let keys = dataset_keys_of(&bucket.dataset("ns"));
    assert!(keys.len() > 1_000, "too little recorded: {}", keys.len());
    assert!(
        keys.values().all(|&n| n == 1),
        "duplicates after the takeover"
    );
}
