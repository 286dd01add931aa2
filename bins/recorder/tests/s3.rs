//! The recorder writing to `s3://…` end to end: the real binary against the in-process
//! simulated exchange and a real S3-compatible server (`sim::s3::S3Server`, moto_server
//! behind a cuttable endpoint).
//!
//! The objects are read back through `store::ticks` (`Dataset::object` over the bucket: every
//! object must be a complete Parquet file for that to read), and their ETags are compared
//! across kills: an object that is still there keeps its ETag, i.e. nothing is ever
//! overwritten.

mod common;

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use common::{
    assert_exactly_once_in, dataset_keys_of, sent_keys, spawn, stop_cleanly, wait_until, Running,
    Sim,
};
use object_store::path::Path as Key;
use object_store::ObjectStore;
use sim::s3::{S3Server, SECRET_ACCESS_KEY};

fn market() -> sim::SimConfig {
    sim::SimConfig {
        seed: 12,
        symbols: 300,
        interval: Duration::from_millis(100),
        ..sim::SimConfig::default()
    }
}

fn s3_server() -> S3Server {
    S3Server::start().expect("S3 test server (run scripts/setup-test-env.sh)")
}

/// The recorder on `s3.url(prefix)` with its journal in `journal`.
fn spawn_s3(s3: &S3Server, prefix: &str, journal: &Path, ws_url: &str, extra: &[&str]) -> Running {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_recorder"));
    cmd.arg("--out-dir")
        .arg(s3.url(prefix))
        .arg("--journal-dir")
        .arg(journal)
        .args(["--checkpoint-secs", "1", "--idle-timeout-secs", "2"])
        .args(extra)
        .envs(s3.env())
        .env("BINANCE_WS_URL", ws_url)
        .env("LOG_FILE", journal.with_extension("log"))
        .env_remove("RECORDER_OUT_DIR")
        .env_remove("RECORDER_JOURNAL_DIR")
        .env_remove("RECORDER_CHECKPOINT_SECS");
    spawn(cmd)
}

struct Bucket {
    store: Arc<dyn ObjectStore>,
    rt: tokio::runtime::Runtime,
}

impl Bucket {
    fn new(s3: &S3Server) -> Bucket {
        let config =
            store::ticks::location::S3Config::from_vars(s3.bucket(), |name| s3.var(name)).unwrap();
        Bucket {
            store: config.build().unwrap(),
            rt: tokio::runtime::Runtime::new().unwrap(),
        }
    }

    /// Key (below `prefix`) -> ETag of every object under it.
    fn etags(&self, prefix: &str) -> HashMap<String, String> {
        use futures::TryStreamExt;
        let metas: Vec<_> = self
            .rt
            .block_on(self.store.list(Some(&Key::from(prefix))).try_collect())
            .unwrap();
        metas
            .into_iter()
            .map(|m| (m.location.to_string(), m.e_tag.unwrap_or_default()))
            .collect()
    }

    /// The dataset under `prefix`, read through `store::ticks`.
    fn dataset(&self, prefix: &str) -> store::ticks::Dataset {
        let spool = std::env::temp_dir().join(format!("s3-test-spool-{}", std::process::id()));
        store::ticks::Dataset::object(self.store.clone(), prefix, format!("s3://test/{prefix}"))
            .with_spool(spool)
    }

    fn tick_objects(&self, prefix: &str) -> usize {
        self.etags(prefix)
            .keys()
            .filter(|k| k.contains("/date=") && k.ends_with(".parquet"))
            .count()
    }
}

/// No object seen before changed its ETag (it may have been removed by compaction).
fn assert_nothing_overwritten(before: &HashMap<String, String>, after: &HashMap<String, String>) {
    for (key, etag) in before {
        if key.ends_with("_lock") {
            continue; // the lease object is rewritten by design (If-Match)
        }
        if let Some(now) = after.get(key) {
            assert_eq!(now, etag, "{key} was overwritten");
        }
    }
}

fn assert_no_secret(rec: &Running) {
    for line in rec.out.iter().chain(&rec.err) {
        assert!(
            !line.contains(SECRET_ACCESS_KEY),
            "secret in output: {line}"
        );
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
