//! Durability end to end: the real `recorder` binary killed, restarted, with redundant
//! connections and with connection renewal, against the in-process simulated exchange.

mod common;

use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use record::gaps::GapReason;

use common::{
    assert_exactly_once, dataset_keys, journal_keys, recorded_keys, sent_keys, spawn_recorder,
    stop_cleanly, stop_when_recorded, wait_recorded, wait_until, Sim,
};

fn market(max_connection_age: Duration) -> sim::SimConfig {
    sim::SimConfig {
        seed: 11,
        symbols: 1500,
        interval: Duration::from_millis(50),
        max_connection_age,
        ..sim::SimConfig::default()
    }
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// Stops the feed, lets in-flight frames arrive, then stops the recorder cleanly.
/// Journal segment files in the dataset directory.
fn journal_segments(out: &Path) -> usize {
    out.join("_journal")
        .read_dir()
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "wal")
        })
        .count()
}

/// Reasons of the gaps dataset other than the start-up gap of each run.
fn gaps_other_than_startup(out: &Path) -> Vec<String> {
    dataset::gaps::read_gaps(out)
        .unwrap()
        .into_iter()
        .filter(|g| g.reason != GapReason::Startup)
        .map(|g| g.reason.to_string())
        .collect()
}

/// Whether an event sent at `at` falls in a kill's window: from 100 ms before the moment
/// chosen to the restart (`downs`: (moment chosen, last journaled receive, restart)).
fn in_a_kill(downs: &[(i64, i64, i64)], at: i64) -> bool {
    downs
        .iter()
        .any(|&(mark, _, restart)| at > mark - 100 && at <= restart)
}

/// SIGKILL at seeded random moments under load (about 3,000 events/s), restart, recovery,
/// three times over: every event the simulator sent more than 100 ms before a kill is in
/// the dataset exactly once, and so is every event the killed recorder had read (its journal
/// and dataset just after the kill); the gaps dataset covers each down time from the last
/// journaled receive and still has each killed run's own gap rows; the last run's coverage
/// counts the down time.
///
/// No assertion depends on how fast the machine is: the kill waits, after its seeded random
/// delay, until the recorder has read what was sent up to 100 ms before (on a loaded machine
/// it may lag behind the simulator by more than that).
#[test]
fn sigkill_at_random_moments_loses_nothing_read_and_keeps_the_gaps() {
    // Seeded (testkit::seed): the kill moments of a run are repeated with its printed seed.
    let mut rng = testkit::seed::rng("sigkill kill delays");
    let seed = rng.get_seed();
    let delays: Vec<u64> = (0..3).map(|_| 100 + rng.u64(..4_000)).collect();
    let context = format!(
        "seed {seed}, kill delays {delays:?} ms after a reconnect \
         ({}={seed} repeats them)",
        testkit::seed::SEED_VAR
    );
    eprintln!("{context}");
    let sim = Sim::start(sim::SimConfig {
        seed: 11,
        symbols: 300,
        interval: Duration::from_millis(100),
        ..sim::SimConfig::default()
    });
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("data");
    let args = ["--checkpoint-secs", "3"];
    let mut rec = spawn_recorder(&out, &sim.h().ws_base(), &args);
    // (moment chosen, last journaled receive, restart) per kill.
    let mut downs = Vec::new();
    // Everything a killed recorder had read, as its disk showed just after the kill.
    let mut read_before_kills = std::collections::HashSet::new();
    for &delay in &delays {
        rec.wait_stdout(Duration::from_secs(60), |l| {
            l.contains("Total Symbols recorded:")
        });
        // A reconnect: a gap row of this run's own, besides its start-up.
        let before = sim.h().connection_count_total();
        sim.h().disconnect_all();
        wait_until(Duration::from_secs(60), "a reconnect", || {
            sim.h().connection_count_total() > before && sim.h().connections() == 1
        });
        std::thread::sleep(Duration::from_millis(delay));
        let mark_ms = now_ms();
        let due = |at: i64| at <= mark_ms - 100 && !in_a_kill(&downs, at);
        wait_recorded(&sim, &out, due, Duration::from_secs(60));
        rec.child.kill().unwrap(); // SIGKILL
        rec.wait(Duration::from_secs(30));
        assert!(journal_segments(&out) > 0, "{context}: no journal left");
        let (_, last_journaled) = journal_keys(&out);
        let last_journaled = last_journaled.expect("the journal holds records");
        read_before_kills.extend(recorded_keys(&out).expect("no recorder is running"));
        downs.push((mark_ms, last_journaled, now_ms()));
        rec = spawn_recorder(&out, &sim.h().ws_base(), &args);
    }
    rec.wait_stdout(Duration::from_secs(60), |l| {
        l.contains("Total Symbols recorded:")
    });
    stop_when_recorded(&sim, &mut rec, &out, |at| !in_a_kill(&downs, at));
    assert_eq!(
        journal_segments(&out),
        0,
        "{context}: a clean stop leaves no journal"
    );

    let keys = dataset_keys(&out);
    assert!(
        keys.values().all(|&n| n == 1),
        "{context}: duplicates after recovery"
    );
    let lost_read = read_before_kills
        .iter()
        .filter(|k| !keys.contains_key(*k))
        .count();
    assert_eq!(
        lost_read, 0,
        "{context}: events a killed recorder had read were lost"
    );
    let sent = sim.h().sent();
    let due: Vec<_> = sent
        .iter()
        .filter(|s| !in_a_kill(&downs, s.sent_at_ms))
        .collect();
    assert!(
        due.len() > 3_000,
        "{context}: too little traffic: {}",
        due.len()
    );
    let lost: Vec<_> = due
        .iter()
        .filter(|s| !keys.contains_key(&(s.symbol.clone(), s.event_time)))
        .collect();
    assert!(
        lost.is_empty(),
        "{context}: {} events sent > 100 ms before a kill were lost, e.g. {:?}",
        lost.len(),
        lost[0]
    );

    let gaps = dataset::gaps::read_gaps(&out).unwrap();
    for &(_, last, restart) in &downs {
        assert!(
            gaps.iter().any(|g| g.reason == GapReason::NotRunning
                && g.start_ms == last
                && g.end_ms >= restart),
            "{context}: no gap covers the down time {last}..{restart}: {gaps:#?}"
        );
    }
    let count = |reason: GapReason| gaps.iter().filter(|g| g.reason == reason).count();
    assert_eq!(
        count(GapReason::Startup),
        4,
        "{context}: every run's start-up gap: {gaps:#?}"
    );
    let others = gaps.len() - count(GapReason::Startup) - count(GapReason::NotRunning);
    assert!(
        others >= 3,
        "{context}: the killed runs' reconnect gaps: {gaps:#?}"
    );
    let coverage = rec.out.iter().find(|l| l.starts_with("Coverage:")).unwrap();
    // "Coverage: 93.10% of 5.2 s with a live feed (2 gaps, 0 duplicates dropped)"
    let counted: usize = coverage
        .split_once(" (")
        .and_then(|(_, rest)| rest.split_once(" gaps"))
        .and_then(|(n, _)| n.parse().ok())
        .unwrap_or_else(|| panic!("{coverage}"));
    assert!(
        counted >= 2,
        "{context}: the down time is not counted: {coverage}"
    );
}

/// Two redundant connections, one of them forced closed again and again: no event lost, no
/// duplicate, and the gaps dataset shows no gap.
#[test]
fn redundant_connections_lose_nothing_when_one_keeps_dropping() {
    let sim = Sim::start(market(Duration::from_secs(86_400)));
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("data");
    // A patient idle watchdog: the stop below waits, feed stalled, until everything sent
    // is read, which on a loaded machine may take longer than the default 2 s.
    let args = ["--redundant", "2", "--status", "--idle-timeout-secs", "10"];
    let mut rec = spawn_recorder(&out, &sim.h().ws_base(), &args);
    rec.wait_stdout(Duration::from_secs(20), |l| {
        l.contains("Total Symbols recorded:")
    });
    wait_until(Duration::from_secs(10), "two connections", || {
        sim.h().open_connection_ids().len() == 2
    });
    for _ in 0..4 {
        std::thread::sleep(Duration::from_millis(700));
        let ids = sim.h().open_connection_ids();
        let victim = ids[0];
        sim.h().disconnect(victim);
        wait_until(
            Duration::from_secs(10),
            "the dropped connection replaced",
            || {
                let now = sim.h().open_connection_ids();
                now.len() == 2 && !now.contains(&victim)
            },
        );
    }
    assert!(sim.h().connection_count_total() >= 6);
    stop_when_recorded(&sim, &mut rec, &out, |_| true);

    assert_exactly_once(&out, &sent_keys(&sim));
    assert_eq!(gaps_other_than_startup(&out), Vec::<String>::new());
    let status = rec
        .out
        .iter()
        .rev()
        .find(|l| l.contains("duplicates"))
        .unwrap();
    assert!(
        !status.ends_with("duplicates 0"),
        "copies were not de-duplicated? {status}"
    );
}

/// Connections renewed before the exchange's cut-off (shortened to seconds): zero lost and
/// no gap. The cut-off (6 s) leaves a renewal (due after 1 s) ample time on a loaded
/// machine, and the idle watchdog is patient for the same reason: what is tested is that a
/// renewal loses nothing, not how fast the machine is.
#[test]
fn renewal_before_the_cutoff_loses_nothing() {
    let sim = Sim::start(market(Duration::from_secs(6)));
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("data");
    let args = ["--renew-after-secs", "1", "--idle-timeout-secs", "10"];
    let mut rec = spawn_recorder(&out, &sim.h().ws_base(), &args);
    rec.wait_stdout(Duration::from_secs(60), |l| {
        l.contains("Total Symbols recorded:")
    });
    wait_until(Duration::from_secs(60), "four renewals", || {
        sim.h().connection_count_total() >= 5
    });
    stop_when_recorded(&sim, &mut rec, &out, |_| true);

    assert_exactly_once(&out, &sent_keys(&sim));
    assert_eq!(gaps_other_than_startup(&out), Vec::<String>::new());
    assert!(
        !rec.err.iter().any(|l| l.contains("lost")),
        "{:#?}",
        rec.err
    );
}

/// The dataset lock holds without the journal too: a second recorder on the same directory
/// is refused with one clear line (exit 2), and the first goes on.
#[test]
fn two_recorders_with_no_journal_the_second_is_refused() {
    let sim = Sim::start(market(Duration::from_secs(86_400)));
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("data");
    let mut first = spawn_recorder(&out, &sim.h().ws_base(), &["--no-journal"]);
    first.wait_stdout(Duration::from_secs(20), |l| {
        l.contains("Total Symbols recorded:")
    });
    let mut second = spawn_recorder(&out, &sim.h().ws_base(), &["--no-journal"]);
    let status = second.wait(Duration::from_secs(20));
    assert_eq!(status.code(), Some(2), "stderr: {:#?}", second.err);
    let refusal: Vec<_> = second
        .err
        .iter()
        .filter(|l| l.starts_with("recorder:"))
        .collect();
    assert_eq!(refusal.len(), 1, "{:#?}", second.err);
    assert!(refusal[0].contains("another recorder"), "{refusal:?}");
    assert!(
        first.child.try_wait().unwrap().is_none(),
        "the first goes on"
    );
    stop_cleanly(&sim, &mut first);
    assert_exactly_once(&out, &sent_keys(&sim));
}

/// A small tmpfs of our own (we run as root in `make test`); `None` where mounting is not
/// allowed, and the test then says so and passes without checking anything.
struct Tmpfs(std::path::PathBuf);

impl Tmpfs {
    fn mount(dir: &Path, size: &str) -> Option<Tmpfs> {
        let at = dir.join("tmpfs");
        std::fs::create_dir_all(&at).unwrap();
        let ok = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(&at)
            .status()
            .is_ok_and(|s| s.success());
        ok.then_some(Tmpfs(at))
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg(&self.0).status();
    }
}

/// Fills the file system of `dir` with one ballast file until it is full.
fn fill(dir: &Path) -> std::path::PathBuf {
    use std::io::Write;
    let path = dir.join("ballast");
    let mut f = std::fs::File::create(&path).unwrap();
    let chunk = vec![0x55u8; 64 << 10];
    while f.write_all(&chunk).is_ok() {}
    while f.write_all(&chunk[..512]).is_ok() {}
    path
}

/// The disk fills up mid-run (journal writes, segment creation and checkpoints all fail
/// with ENOSPC), then space comes back: every event sent is on disk exactly once, after a
/// clean stop and after a SIGKILL alike.
#[test]
fn disk_full_mid_run_loses_nothing_once_space_is_back() {
    let dir = tempfile::tempdir().unwrap();
    let Some(fs) = Tmpfs::mount(dir.path(), "24m") else {
        eprintln!("SKIPPED: cannot mount a tmpfs here (not root?)");
        return;
    };
    for kill in [false, true] {
        let sim = Sim::start(sim::SimConfig {
            seed: 5,
            symbols: 200,
            interval: Duration::from_millis(100),
            ..sim::SimConfig::default()
        });
        let out = fs.0.join(format!("data-{kill}"));
        let mut rec = spawn_recorder(&out, &sim.h().ws_base(), &["--log-level", "debug"]);
        rec.wait_stderr_count(Duration::from_secs(30), "checkpoint:", 1);
        let ballast = fill(&fs.0);
        // Long enough for journal writes, rotations and checkpoints to fail: the first
        // failure is reported, two retries (with backoff) fail too.
        rec.wait_stderr_count(Duration::from_secs(30), "retried at the next checkpoint", 1);
        rec.wait_stderr_count(
            Duration::from_secs(30),
            "of this run of failures failed too",
            2,
        );
        std::fs::remove_file(&ballast).unwrap();
        let done = rec.err.iter().filter(|l| l.contains("checkpoint:")).count();
        rec.wait_stderr_count(Duration::from_secs(30), "checkpoint:", done + 2);
        assert!(
            rec.child.try_wait().unwrap().is_none(),
            "the recorder gave up: {:#?}",
            rec.err
        );
        if !kill {
            stop_cleanly(&sim, &mut rec);
            assert_exactly_once(&out, &sent_keys(&sim));
            continue;
        }
        let kill_ms = now_ms();
        rec.child.kill().unwrap(); // SIGKILL
        rec.wait(Duration::from_secs(10));
        let restart_ms = now_ms();
        let mut again = spawn_recorder(&out, &sim.h().ws_base(), &[]);
        again.wait_stdout(Duration::from_secs(20), |l| {
            l.contains("Total Symbols recorded:")
        });
        stop_cleanly(&sim, &mut again);
        let keys = dataset_keys(&out);
        assert!(keys.values().all(|&n| n == 1), "duplicates after the kill");
        // What was in flight in the last 100 ms before the kill may be lost; nothing else.
        let lost = sim
            .h()
            .sent()
            .into_iter()
            .filter(|s| s.sent_at_ms <= kill_ms - 100 || s.sent_at_ms > restart_ms)
            .filter(|s| !keys.contains_key(&(s.symbol.clone(), s.event_time)))
            .count();
        assert_eq!(lost, 0, "events lost across the full disk and the kill");
    }
}
